"""Attachments: the allow-list, content sniffing, size limit, file names, storage under the hash."""

import hashlib
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.desk.factories import CaseFactory
from tugi.desk import attachments
from tugi.desk.attachments import IncomingFile
from tugi.desk.models import Attachment, Message

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 40
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 40


def _zip(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


DOCX = _zip(**{"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("otsus.pdf", PDF, "application/pdf"),
        ("kuvatõmmis.PNG", PNG, "image/png"),
        ("foto.jpeg", JPEG, "image/jpeg"),
        ("foto.jpg", JPEG, "image/jpeg"),
        (
            "taotlus.docx",
            DOCX,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("väljavõte.csv", "isikukood;nimi\n1;Jõgi\n".encode(), "text/csv"),
        ("logi.txt", "Viga: ühendus katkes".encode("cp1257"), "text/plain"),
        ("kiri.eml", b"From: a@b.ee\r\nSubject: Tere\r\n\r\nTere!\r\n", "message/rfc822"),
        (
            "leping.asice",
            _zip(mimetype=b"application/vnd.etsi.asic-e+zip"),
            "application/vnd.etsi.asic-e+zip",
        ),
        ("vana.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 30, "application/msword"),
        ("failid.zip", _zip(**{"a.txt": b"tere", "b/c.pdf": PDF}), "application/zip"),
    ],
)
def test_allowed_files_pass_with_the_canonical_type(name, content, content_type):
    checked = attachments.check_file(IncomingFile(name, content, "application/octet-stream"))
    assert checked.filename == name
    assert checked.content_type == content_type
    assert checked.size == len(content)
    assert checked.sha256 == hashlib.sha256(content).hexdigest()


def test_the_senders_declared_type_is_never_trusted():
    ok = attachments.check_file(IncomingFile("otsus.pdf", PDF, "application/x-msdownload"))
    assert ok.content_type == "application/pdf"
    with pytest.raises(ValidationError) as exc:
        attachments.check_file(IncomingFile("otsus.pdf", EXE, "application/pdf"))
    assert exc.value.code == "executable"
    assert "program" in exc.value.messages[0]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("arve.pdf", EXE),  # Windows program named as a PDF
        ("pilt.png", ELF),  # Linux program named as an image
        ("märkmed.txt", b"#!/bin/sh\nrm -rf /\n"),  # a script named as text
        ("arve", EXE),  # a program without a name
    ],
)
def test_executables_are_refused_under_any_name(name, content):
    with pytest.raises(ValidationError) as exc:
        attachments.check_file(IncomingFile(name, content))
    assert exc.value.code == "executable"
    assert name in exc.value.messages[0]


@pytest.mark.parametrize(
    "name",
    ["programm.exe", "skript.js", "leht.html", "joonis.svg", "makro.docm", "pakett.msi"],
)
def test_types_off_the_allow_list_are_refused(name):
    with pytest.raises(ValidationError) as exc:
        attachments.check_file(IncomingFile(name, b"some harmless looking text"))
    assert exc.value.code == "type_not_allowed"
    assert "pdf" in exc.value.messages[0]  # the message lists what is accepted


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("otsus.pdf", b"<html><script>alert(1)</script></html>"),
        ("pilt.png", JPEG),
        ("taotlus.docx", PDF),
        ("tabel.csv", b"\x00\x01\x02binary"),
    ],
)
def test_content_must_be_what_the_name_says(name, content):
    with pytest.raises(ValidationError) as exc:
        attachments.check_file(IncomingFile(name, content))
    assert exc.value.code == "content_mismatch"


def test_a_zip_with_programs_inside_is_refused():
    with pytest.raises(ValidationError) as exc:
        attachments.check_file(IncomingFile("arved.zip", _zip(**{"arve.pdf.exe": EXE})))
    assert exc.value.code == "executable"
    assert "arve.pdf.exe" in exc.value.messages[0]


def test_a_broken_zip_is_refused():
    with pytest.raises(ValidationError) as exc:
        attachments.check_file(IncomingFile("arved.zip", b"PK\x03\x04 not really a zip"))
    assert exc.value.code == "damaged"


def test_oversize_and_empty_files_are_refused(settings):
    settings.TUGI_MAX_ATTACHMENT_BYTES = 1024
    with pytest.raises(ValidationError) as exc:
        attachments.check_file(IncomingFile("suur.pdf", PDF + b"x" * 1024))
    assert exc.value.code == "too_big"
    assert "1 KB" in exc.value.messages[0]
    upload = SimpleUploadedFile("suur.pdf", PDF + b"x" * 2048, content_type="application/pdf")
    with pytest.raises(ValidationError):
        attachments.check_file(upload)
    with pytest.raises(ValidationError) as exc:
        attachments.check_file(IncomingFile("tühi.txt", b""))
    assert exc.value.code == "empty"


def test_default_limit_is_20_megabytes(settings):
    del settings.TUGI_MAX_ATTACHMENT_BYTES
    assert attachments.max_bytes() == 20 * 1024 * 1024


def test_an_upload_is_read_like_incoming_bytes():
    upload = SimpleUploadedFile("otsus.pdf", PDF, content_type="text/html")
    checked = attachments.check_file(upload)
    assert (checked.filename, checked.content_type, checked.content) == (
        "otsus.pdf",
        "application/pdf",
        PDF,
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\mari\\Desktop\\otsus.pdf", "otsus.pdf"),
        ('a<b>c:"d"|e?f*.pdf', "a_b_c__d__e_f_.pdf"),
        ("  .peidetud.txt  ", "peidetud.txt"),
        ("rea\nvahe\t.txt", "rea_vahe_.txt"),
        ("arve\u202egpj.pdf", "arvegpj.pdf"),  # a right-to-left override hiding the real name
        ("", "attachment"),
        ("...", "attachment"),
        ("Jõgi ja Šokk.pdf", "Jõgi ja Šokk.pdf"),
    ],
)
def test_file_names_are_sanitised(raw, clean):
    assert attachments.sanitise_filename(raw) == clean


def test_a_long_name_keeps_its_extension():
    name = attachments.sanitise_filename("ä" * 400 + ".pdf")
    assert len(name) == 255
    assert name.endswith(".pdf")


def test_a_nameless_image_gets_the_extension_its_bytes_show():
    checked = attachments.check_file(IncomingFile("image001", PNG, "application/octet-stream"))
    assert (checked.filename, checked.content_type) == ("image001.png", "image/png")
    with pytest.raises(ValidationError):
        attachments.check_file(IncomingFile("teadmata", b"just text"))


def test_check_files_names_every_problem_in_one_error():
    with pytest.raises(ValidationError) as exc:
        attachments.check_files(
            [
                IncomingFile("hea.pdf", PDF),
                IncomingFile("arve.pdf", EXE),
                IncomingFile("leht.html", b"<p>"),
            ]
        )
    problems = exc.value.message_dict["attachments"]
    assert len(problems) == 2
    assert "arve.pdf" in problems[0]
    assert "leht.html" in problems[1]


@pytest.mark.django_db
def test_stored_under_the_hash_once_per_content(tmp_path):
    case = CaseFactory()
    first = Message.objects.create(case=case, kind=Message.Kind.FROM_REQUESTER, body="a")
    second = Message.objects.create(case=case, kind=Message.Kind.FROM_REQUESTER, body="b")
    checked = attachments.check_file(IncomingFile("../otsus.pdf", PDF))
    a = attachments.store(first, checked)
    b = attachments.store(second, attachments.check_file(IncomingFile("koopia.pdf", PDF)))
    digest = hashlib.sha256(PDF).hexdigest()
    assert a.file.name == b.file.name == f"attachments/{digest[:2]}/{digest}"
    assert (tmp_path / "attachments" / digest[:2] / digest).read_bytes() == PDF
    assert len(list((tmp_path / "attachments" / digest[:2]).iterdir())) == 1
    assert Attachment.objects.filter(sha256=digest).count() == 2
    assert [a.filename, b.filename] == ["otsus.pdf", "koopia.pdf"]
    assert (a.size, a.content_type) == (len(PDF), "application/pdf")
