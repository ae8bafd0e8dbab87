"""Helpers for the mail tests: the .eml fixtures, a builder for mails, and the mail settings."""

from __future__ import annotations

import email.utils
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "mail_fixtures"
DESK_ADDRESS = "tugi@tugi.example"
DESK_FROM = f"Tugi <{DESK_ADDRESS}>"
MARI = "mari.maasikas@sotsiaalkindlustusamet.ee"
# The reply id the reply fixtures answer; tests put the real one in its place.
FIXTURE_REPLY_ID = b"<tugi.case1.msg2@tugi.example>"


def eml(name: str) -> bytes:
    """The raw bytes of a fixture mail."""
    return (FIXTURES / name).read_bytes()


def answering(raw: bytes, message_id: str, subject_case: int | None = None) -> bytes:
    """A reply fixture made to answer our mail `message_id` (and name case N in its subject)."""
    raw = raw.replace(FIXTURE_REPLY_ID, message_id.encode())
    if subject_case is not None:
        raw = raw.replace(b"[Tugi #1]", f"[Tugi #{subject_case}]".encode())
        raw = raw.replace(b"[Tugi_#1]", f"[Tugi_#{subject_case}]".encode())
    return raw


def make_mail(
    *,
    sender: str = MARI,
    sender_name: str = "Mari Maasikas",
    subject: str = "SKAIS2 pensioni moodul ei avane",
    body: str = "Tere! SKAIS2 pensioni moodul ei avane.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    to: str = DESK_ADDRESS,
) -> bytes:
    """A well-formed mail as a mail client would send it."""
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr((sender_name, sender)) if sender_name else sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="sotsiaalkindlustusamet.ee")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, content_type, content in attachments:
        maintype, subtype = content_type.split("/", 1)
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>"
    b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def configure(settings: Any, tmp_path: Path) -> None:
    """The settings every mail test runs with: our address, uploads in a temporary folder."""
    settings.TUGI_MAIL_FROM = DESK_FROM
    settings.TUGI_MAIL_DOMAIN = "tugi.example"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.TUGI_MAIL_RATE_LIMIT = 1000


@contextmanager
def huey_immediate() -> Iterator[None]:
    """Huey runs tasks at once, in memory (never in the real queue file)."""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    try:
        yield
    finally:
        HUEY.immediate = before
