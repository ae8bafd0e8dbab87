"""Attachments: what files a case may carry, and how they are kept.

Every file is checked before anything is saved, all or nothing:

- size: at most `settings.TUGI_MAX_ATTACHMENT_BYTES` (default 20 MB) each; empty files are refused;
- type: only the allow-list below, decided by the file name's extension AND the bytes. The
  sender's declared content type is never trusted: the stored type is the canonical one for the
  extension, and the bytes must look like that type (a PDF starts with "%PDF-", a .docx is a ZIP
  container …). Programs are refused whatever they are called: content that starts like a Windows,
  Linux or macOS executable or a script ("#!") is refused even when named "invoice.pdf", and a
  ZIP that contains programs is refused. HTML and SVG are not allowed (they can carry scripts);
- name: reduced to a plain file name (no folders, no control characters, no characters Windows
  forbids), at most 255 characters with its extension kept. A file with no extension whose bytes
  are clearly a PDF or an image (mail clients send "image001") gets the extension of its type.

A kept file is stored under its SHA-256 (`Attachment.file`, see `attachment_path`), never under the
sender's name, so the same file sent twice is stored once. A transaction that rolls back may
leave a stored file no row points to; it is harmless (it is only ever reached through a row) and a
periodic clean-up may remove such files.
"""

import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from tugi.desk.models import Attachment, Message, attachment_path

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_NAME_LENGTH = 255

# How the bytes of a kind of file begin.
PDF = (b"%PDF-",)
PNG = (b"\x89PNG\r\n\x1a\n",)
JPEG = (b"\xff\xd8\xff",)
GIF = (b"GIF87a", b"GIF89a")
TIFF = (b"II*\x00", b"MM\x00*")
ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a container with files, or an empty one
OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)  # old Office files and Outlook .msg
RTF = (b"{\\rtf",)
TEXT = ()  # no signature: must be text (see _looks_like_text)


@dataclass(frozen=True)
class FileType:
    """One allowed kind of file: its canonical MIME type and how its bytes begin."""

    content_type: str
    signatures: tuple[bytes, ...]
    webp: bool = False


_OOXML = "application/vnd.openxmlformats-officedocument"
_ODF = "application/vnd.oasis.opendocument"

# The allow-list, by extension. Estonian digital-signature containers (.asice, .bdoc, .edoc) and
# encrypted documents (.cdoc) are everyday files in Estonian public administration.
ALLOWED: dict[str, FileType] = {
    "pdf": FileType("application/pdf", PDF),
    "png": FileType("image/png", PNG),
    "jpg": FileType("image/jpeg", JPEG),
    "jpeg": FileType("image/jpeg", JPEG),
    "gif": FileType("image/gif", GIF),
    "webp": FileType("image/webp", (b"RIFF",), webp=True),
    "tif": FileType("image/tiff", TIFF),
    "tiff": FileType("image/tiff", TIFF),
    "txt": FileType("text/plain", TEXT),
    "log": FileType("text/plain", TEXT),
    "csv": FileType("text/csv", TEXT),
    "eml": FileType("message/rfc822", TEXT),
    "xml": FileType("application/xml", TEXT),
    "json": FileType("application/json", TEXT),
    "cdoc": FileType("application/x-cdoc", TEXT),
    "rtf": FileType("application/rtf", RTF),
    "doc": FileType("application/msword", OLE),
    "xls": FileType("application/vnd.ms-excel", OLE),
    "ppt": FileType("application/vnd.ms-powerpoint", OLE),
    "msg": FileType("application/vnd.ms-outlook", OLE),
    "docx": FileType(f"{_OOXML}.wordprocessingml.document", ZIP),
    "xlsx": FileType(f"{_OOXML}.spreadsheetml.sheet", ZIP),
    "pptx": FileType(f"{_OOXML}.presentationml.presentation", ZIP),
    "odt": FileType(f"{_ODF}.text", ZIP),
    "ods": FileType(f"{_ODF}.spreadsheet", ZIP),
    "odp": FileType(f"{_ODF}.presentation", ZIP),
    "zip": FileType("application/zip", ZIP),
    "asice": FileType("application/vnd.etsi.asic-e+zip", ZIP),
    "bdoc": FileType("application/vnd.etsi.asic-e+zip", ZIP),
    "edoc": FileType("application/vnd.etsi.asic-e+zip", ZIP),
}

# Files whose bytes say what they are, for names that came without an extension.
_GUESSABLE = ("pdf", "png", "jpg", "gif")

# How programs begin: refused under any name.
_EXECUTABLE_SIGNATURES = (
    b"MZ",  # Windows (PE) and DOS
    b"\x7fELF",  # Linux
    b"\xfe\xed\xfa\xce",  # macOS (Mach-O), both byte orders, 32 and 64 bit, and universal
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # also Java classes
    b"#!",  # scripts
)

# Inside a ZIP: names of programs and scripts that open with a double click.
_EXECUTABLE_EXTENSIONS = frozenset(
    [
        "exe",
        "com",
        "scr",
        "pif",
        "bat",
        "cmd",
        "msi",
        "msp",
        "msc",
        "dll",
        "cpl",
        "sys",
        "drv",
        "ocx",
        "vbs",
        "vbe",
        "js",
        "jse",
        "wsf",
        "wsh",
        "ws",
        "hta",
        "ps1",
        "psm1",
        "psd1",
        "reg",
        "lnk",
        "inf",
        "jar",
        "apk",
        "app",
        "dmg",
        "sh",
        "bash",
        "csh",
        "ksh",
        "run",
        "bin",
        "elf",
        "py",
        "pyc",
        "pl",
        "rb",
        "php",
        "iso",
        "img",
        "vhd",
        "vhdx",
        "appx",
        "msix",
        "appref-ms",
        "application",
        "gadget",
        "scf",
        "url",
        "chm",
    ]
)

_FORBIDDEN_IN_NAMES = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


class FileLike(Protocol):
    """What an upload offers (Django's UploadedFile and File have these)."""

    name: str | None

    def read(self, size: int = ..., /) -> Any: ...


@dataclass(frozen=True)
class IncomingFile:
    """A file as it arrived: the sender's name and type, and the bytes (from mail or the API)."""

    filename: str
    content: bytes
    content_type: str = ""


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed every check, ready to store."""

    filename: str
    content_type: str
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def max_bytes() -> int:
    """The size limit for one file, in bytes."""
    return int(getattr(settings, "TUGI_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_BYTES))


def allowed_extensions() -> list[str]:
    """The extensions the desk accepts, for forms and help texts."""
    return sorted(ALLOWED)


def sanitise_filename(name: str) -> str:
    """A safe plain file name: no folders or control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]  # a path's last part only
    name = _FORBIDDEN_IN_NAMES.sub("_", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cf", "Cc"))
    name = re.sub(r"\s+", " ", name).strip(" .")  # Windows drops trailing dots; no hidden files
    if not name:
        return "attachment"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = f"{stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip()}.{ext}"
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def extension_of(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and stem else ""


def _is_executable(head: bytes) -> bool:
    return head.startswith(_EXECUTABLE_SIGNATURES)


def _looks_like_text(head: bytes) -> bool:
    # Any encoding is fine (UTF-8, cp1257, UTF-16 with its byte-order mark); text has no NUL bytes.
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return b"\x00" not in head


def _matches(file_type: FileType, head: bytes) -> bool:
    if file_type.signatures == TEXT:
        return _looks_like_text(head)
    if file_type.webp:
        return head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    return head.startswith(file_type.signatures)


def _programs_in_zip(content: bytes) -> list[str] | None:
    """Names of programs inside a ZIP; None if it cannot be read as a ZIP at all."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    return [n for n in names if extension_of(n.rsplit("/", 1)[-1]) in _EXECUTABLE_EXTENSIONS]


def _guess_extension(head: bytes) -> str:
    for ext in _GUESSABLE:
        if _matches(ALLOWED[ext], head):
            return ext
    return ""


def _read(upload: IncomingFile | FileLike, limit: int) -> tuple[str, bytes, bool]:
    """The name and bytes of an upload; reads at most limit + 1 bytes (flag: too big)."""
    if isinstance(upload, IncomingFile):
        return upload.filename, upload.content, len(upload.content) > limit
    size = getattr(upload, "size", None)
    name = upload.name or ""
    if isinstance(size, int) and size > limit:
        return name, b"", True
    if hasattr(upload, "seek"):
        upload.seek(0)
    content = upload.read(limit + 1)
    if isinstance(content, str):
        content = content.encode()
    return name, bytes(content), len(content) > limit


def check_file(upload: IncomingFile | FileLike) -> CheckedFile:
    """Check one file; ValidationError naming the file and the reason."""
    limit = max_bytes()
    raw_name, content, too_big = _read(upload, limit)
    filename = sanitise_filename(raw_name)
    names = {"name": filename, "limit": megabytes(limit)}
    if too_big:
        raise ValidationError(
            _("“%(name)s” is too large: files may be at most %(limit)s.") % names, code="too_big"
        )
    if not content:
        raise ValidationError(_("“%(name)s” is empty.") % names, code="empty")
    head = content[:8192]
    if _is_executable(head):
        raise ValidationError(
            _("“%(name)s” is a program; programs cannot be attached.") % names, code="executable"
        )
    ext = extension_of(filename)
    if not ext:
        ext = _guess_extension(head)
        if ext:
            filename = sanitise_filename(f"{filename}.{ext}")
    file_type = ALLOWED.get(ext)
    if file_type is None:
        raise ValidationError(
            _("“%(name)s”: this type of file is not accepted. Accepted are: %(types)s.")
            % {**names, "types": ", ".join(allowed_extensions())},
            code="type_not_allowed",
        )
    if not _matches(file_type, head):
        raise ValidationError(
            _("“%(name)s” is not a real .%(ext)s file: its content is of another type.")
            % {**names, "ext": ext},
            code="content_mismatch",
        )
    if file_type.signatures == ZIP:
        programs = _programs_in_zip(content)
        if programs is None:
            raise ValidationError(
                _("“%(name)s” is damaged: it cannot be opened.") % names, code="damaged"
            )
        if programs:
            raise ValidationError(
                _("“%(name)s” contains programs (%(programs)s); they cannot be attached.")
                % {**names, "programs": ", ".join(programs[:3])},
                code="executable",
            )
    return CheckedFile(
        filename=filename,
        content_type=file_type.content_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def check_files(uploads: Iterable[IncomingFile | FileLike]) -> list[CheckedFile]:
    """Check every file; one ValidationError on the `attachments` field listing every problem."""
    checked: list[CheckedFile] = []
    problems: list[ValidationError] = []
    for upload in uploads:
        try:
            checked.append(check_file(upload))
        except ValidationError as exc:
            problems.append(exc)
    if problems:
        raise ValidationError({"attachments": problems})
    return checked


def store(message: Message, checked: CheckedFile) -> Attachment:
    """Save the file under its hash (once per content) and its row on the message."""
    attachment = Attachment(
        message=message,
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
    )
    path = attachment_path(attachment, checked.filename)
    storage = attachment.file.storage
    if storage.exists(path):
        attachment.file.name = path  # the same bytes are already kept
    else:
        attachment.file.save(checked.filename, ContentFile(checked.content), save=False)
    attachment.save()
    return attachment


def store_all(message: Message, files: Iterable[CheckedFile]) -> list[Attachment]:
    return [store(message, f) for f in files]


def megabytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    return f"{n / 1024:g} KB" if n >= 1024 else f"{n} B"
