"""Reading a raw e-mail into what the desk needs, whatever state the mail is in.

Mail from the outside is often broken: wrong or unknown charsets, 8-bit bytes in headers, missing
headers, bad base64, HTML with scripts. Nothing here raises on such mail: every header is decoded
from its raw form with a chain of charsets (declared, UTF-8, Latin-1; the last always succeeds), the
body is taken from the parts the stdlib parser finds (modern policy first, the lenient compat32
policy if the modern one fails), and HTML is reduced to text and sanitised with nh3.

Attachments are only collected here; whether a file may be kept is decided by
`tugi.desk.attachments.check_file` in the inbound step.
"""

from __future__ import annotations

import email
import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import Message as EmailMessage
from email.utils import getaddresses
from html.parser import HTMLParser

import nh3

logger = logging.getLogger(__name__)

# Longer text is cut (a case message is read by people); the raw mail is never altered.
MAX_BODY_CHARS = 200_000
# Field sizes of the models the values end up in (PostgreSQL enforces them).
MESSAGE_ID_MAX = 300
SUBJECT_MAX = 300

_FALLBACK_CHARSETS = ("utf-8", "latin-1")
_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_ADDRESS_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class MailPart:
    """A file found in the mail: the sender's name and type, the bytes, or why it was not read."""

    filename: str
    content_type: str
    content: bytes
    size: int
    # Set when the bytes were not taken at all (too large to even decode).
    refused: str = ""


@dataclass
class ParsedMail:
    """The parts of a mail the desk uses; every string is decoded and safe to store."""

    message_id: str
    message_id_synthesised: bool
    sender_email: str
    sender_name: str
    subject: str
    body: str
    body_html: str
    in_reply_to: list[str]
    references: list[str]
    attachments: list[MailPart]
    # Lower-cased header name → decoded value, for the loop and auto-reply guards.
    headers: dict[str, str]
    content_type: str
    language: str = ""
    defects: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, the most specific first (In-Reply-To, then References
        from the newest back to the root)."""
        seen: dict[str, None] = {}
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(mid, None)
        return list(seen)


def clean_text(value: str) -> str:
    """Text without NUL and other control characters (PostgreSQL refuses NUL in text)."""
    return _CONTROL_RE.sub("", value.replace("\x00", ""))


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Bytes as text: the declared charset, then UTF-8, then Latin-1 (which never fails)."""
    for charset in (declared, *_FALLBACK_CHARSETS):
        if not charset:
            continue
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError, TypeError):
            continue
    return data.decode("latin-1", errors="replace")  # pragma: no cover - latin-1 never fails


def _unescape_raw(value: str) -> str:
    """A raw header value as real text: 8-bit bytes the parser kept as surrogates are decoded."""
    try:
        data = value.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # pragma: no cover - surrogateescape covers every str
        return value
    return decode_bytes(data)


def decode_header_value(value: str | None) -> str:
    """An RFC 2047 header (encoded words, raw 8-bit, unknown charsets) as one line of text."""
    if value is None:
        return ""
    text = _unescape_raw(str(value))
    text = re.sub(r"\r?\n[ \t]+", " ", text).replace("\r", "").replace("\n", "")
    if "=?" not in text:
        return clean_text(text).strip()
    try:
        pieces = decode_header(text)
    except Exception:  # a broken encoded word: keep the text as it came
        return clean_text(text).strip()
    out: list[str] = []
    for chunk, charset in pieces:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            # decode_header gives unencoded runs back as raw-unicode-escape bytes
            out.append(chunk.decode("raw-unicode-escape", errors="replace"))
        else:
            out.append(decode_bytes(chunk, charset))
    return clean_text("".join(out)).strip()


def normalise_message_id(value: str) -> str:
    """One Message-ID in its <…> form; a bare id gets its brackets; '' when there is none."""
    value = value.strip()
    found = _MSGID_RE.search(value)
    if found:
        return f"<{found.group(1)}>"
    token = value.split()[0] if value.split() else ""
    token = token.strip("<>")
    return f"<{token}>" if token and "@" in token else ""


def message_ids(value: str) -> list[str]:
    """All Message-IDs in an In-Reply-To or References header, in order, each once."""
    ids: dict[str, None] = {}
    for found in _MSGID_RE.finditer(value or ""):
        mid = f"<{found.group(1)}>"
        if len(mid) <= MESSAGE_ID_MAX:
            ids.setdefault(mid, None)
    return list(ids)


def synthesised_message_id(raw: bytes) -> str:
    """A stable Message-ID for a mail that has none: the same bytes always give the same id."""
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@tugi.invalid>"


class _TextFromHtml(HTMLParser):
    """Visible text of an HTML mail, with line breaks where blocks end."""

    _SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
    _BLOCK = frozenset(
        {
            "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5",
            "h6", "blockquote", "pre", "hr", "section", "article", "header", "footer",
        }
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(markup: str) -> str:
    """The readable text of an HTML document (scripts and styles left out)."""
    parser = _TextFromHtml()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # pragma: no cover - HTMLParser is lenient; a last resort
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# No images: a remote image in a mail tells its sender when (and that) the desk read it.
_SAFE_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}


def sanitise_html(markup: str) -> str:
    """HTML safe to show: no scripts, event handlers, javascript: links, styles or images."""
    return nh3.clean(markup, tags=_SAFE_TAGS, link_rel="noopener noreferrer nofollow")


def _payload_bytes(part: EmailMessage) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="surrogateescape")
    return b""


def _encoded_size(part: EmailMessage) -> int:
    """About how many bytes the part decodes to, without decoding it."""
    raw = part.get_payload()
    if not isinstance(raw, str):
        return 0
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    return len(raw) * 3 // 4 if cte == "base64" else len(raw)


def _filename(part: EmailMessage) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        try:
            name = part.get_param("name")  # type: ignore[assignment]
        except Exception:
            name = None
        if isinstance(name, tuple):  # RFC 2231 value (charset, language, text)
            name = email.utils.collapse_rfc2231_value(name)
    return decode_header_value(str(name)) if name else ""


def _content_type(part: EmailMessage) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _charset(part: EmailMessage) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _disposition(part: EmailMessage) -> str:
    try:
        return part.get_content_disposition() or ""
    except Exception:
        return ""


@dataclass
class _Collected:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    files: list[MailPart] = field(default_factory=list)


def _collect(part: EmailMessage, into: _Collected, max_file_bytes: int, depth: int = 0) -> None:
    ctype = _content_type(part)
    if depth > 20:  # a mail nested deeper than any real one: stop, keep what we have
        return
    if ctype == "message/rfc822" or (part.is_multipart() and not ctype.startswith("multipart/")):
        # A forwarded mail is kept whole, as an .eml file, not mixed into the text.
        inner = part.get_payload()
        data = b""
        if isinstance(inner, list) and inner and isinstance(inner[0], EmailMessage):
            try:
                data = inner[0].as_bytes()
            except Exception:
                data = str(inner[0]).encode("utf-8", errors="replace")
        if ctype == "message/rfc822":
            name = _filename(part) or "forwarded.eml"
            into.files.append(MailPart(name, ctype, data, len(data)))
        else:  # a delivery or read report's machine part: kept as text
            report = data or str(part.get_payload()).encode("utf-8", errors="replace")
            name = f"{ctype.partition('/')[2] or 'part'}.txt"
            into.files.append(MailPart(name, "text/plain", report, len(report)))
        return
    if part.is_multipart():
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, EmailMessage):
                _collect(sub, into, max_file_bytes, depth + 1)
        return
    filename = _filename(part)
    disposition = _disposition(part)
    is_text_body = (
        ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename
    )
    if is_text_body:
        text = decode_bytes(_payload_bytes(part), _charset(part))
        (into.plain if ctype == "text/plain" else into.html).append(text)
        return
    estimated = _encoded_size(part)
    if estimated > max_file_bytes:
        # Refused before decoding: a 200 MB attachment is never held in memory twice.
        into.files.append(
            MailPart(filename or "attachment", ctype, b"", estimated, refused="too_big")
        )
        return
    data = _payload_bytes(part)
    into.files.append(MailPart(filename or "attachment", ctype, data, len(data)))


def _headers(msg: EmailMessage) -> dict[str, list[str]]:
    """Every header as decoded text; raw_items gives the values as they came, never raising."""
    found: dict[str, list[str]] = {}
    try:
        items = list(msg.raw_items())
    except Exception:  # pragma: no cover - raw_items only reads a list
        items = []
    for name, value in items:
        found.setdefault(name.lower(), []).append(str(value))
    return found


def _sender(raw_from: list[str]) -> tuple[str, str]:
    """(address, display name) of the first usable From address; ('', '') if there is none."""
    for value in raw_from:
        text = _unescape_raw(value)
        try:
            pairs = getaddresses([text])
        except Exception:
            pairs = []
        for name, address in pairs:
            address = address.strip().strip("<>")
            if address and "@" in address:
                return address.lower(), decode_header_value(name)
        found = _ADDRESS_RE.search(text)
        if found:
            return found.group(0).lower(), ""
    return "", ""


def _guess_language(headers: dict[str, str], subject: str, body: str) -> str:
    declared = headers.get("content-language", "").lower()
    if declared.startswith("en"):
        return "en"
    if declared.startswith("et"):
        return "et"
    sample = f"{subject}\n{body[:2000]}"
    if re.search(r"[õäöüÕÄÖÜ]", sample):
        return "et"
    english = re.findall(
        r"\b(the|please|hello|dear|thank|thanks|regards|cannot|error|would|could)\b",
        sample,
        re.IGNORECASE,
    )
    return "en" if len(english) >= 2 else ""


def _parse_message(raw: bytes, use_compat32: bool) -> EmailMessage:
    chosen = policy.compat32 if use_compat32 else policy.default
    return email.message_from_bytes(raw, policy=chosen)


def parse(raw: bytes, *, max_file_bytes: int) -> ParsedMail:
    """Read a raw mail; never raises for bad mail (the worst case is an empty body)."""
    defects: list[str] = []
    msg = _parse_message(raw, use_compat32=False)
    collected = _Collected()
    try:
        _collect(msg, collected, max_file_bytes)
    except Exception as exc:
        # The modern policy gave up on this MIME structure: the lenient one reads what it can.
        defects.append(f"MIME read with compat32 after {type(exc).__name__}: {exc}")
        logger.info("mail: falling back to compat32 (%s)", exc)
        msg = _parse_message(raw, use_compat32=True)
        collected = _Collected()
        try:
            _collect(msg, collected, max_file_bytes)
        except Exception as exc2:  # pragma: no cover - compat32 never structures strictly
            defects.append(f"MIME unreadable: {exc2}")
    defects.extend(type(d).__name__ for d in getattr(msg, "defects", ()))

    raw_headers = _headers(msg)

    def first(name: str) -> str:
        values = raw_headers.get(name)
        return decode_header_value(values[0]) if values else ""

    headers: dict[str, str] = {
        name: first(name)
        for name in (
            "auto-submitted",
            "precedence",
            "x-autoreply",
            "x-autorespond",
            "x-auto-response-suppress",
            "return-path",
            "list-id",
            "content-language",
            "x-loop",
        )
        if name in raw_headers
    }

    message_id = normalise_message_id(first("message-id"))
    synthesised = not message_id or len(message_id) > MESSAGE_ID_MAX
    if synthesised:
        if raw_headers.get("message-id"):
            defects.append("unusable Message-ID")
        message_id = synthesised_message_id(raw)

    sender_email, sender_name = _sender(raw_headers.get("from", []))
    subject = first("subject")[:SUBJECT_MAX]

    html_source = "\n".join(collected.html)
    body = "\n\n".join(t.strip("\r\n") for t in collected.plain if t.strip())
    if not body and html_source:
        body = html_to_text(html_source)
    body = clean_text(body.replace("\r\n", "\n").replace("\r", "\n"))
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS] + "\n[…]"
        defects.append("body cut")
    body_html = clean_text(sanitise_html(html_source)) if html_source.strip() else ""
    if len(body_html) > MAX_BODY_CHARS:
        body_html = ""  # too large to show; the text version stays

    return ParsedMail(
        message_id=message_id,
        message_id_synthesised=synthesised,
        sender_email=sender_email,
        sender_name=sender_name[:200],
        subject=subject,
        body=body,
        body_html=body_html,
        in_reply_to=message_ids(first("in-reply-to")),
        references=message_ids(
            " ".join(decode_header_value(v) for v in raw_headers.get("references", []))
        ),
        attachments=collected.files,
        headers=headers,
        content_type=_content_type(msg),
        language=_guess_language(headers, subject, body),
        defects=defects,
    )
