"""The mail settings, read with defaults so that Tugi runs with none of them set.

Outgoing mail uses Django's own EMAIL_* settings (EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT,
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, EMAIL_USE_SSL, EMAIL_TIMEOUT) and:

- TUGI_MAIL_FROM: the desk's sender, default "Tugi <tugi@localhost>";
- TUGI_MAIL_DOMAIN: the right-hand side of our Message-IDs, default the domain of TUGI_MAIL_FROM;
- TUGI_MAIL_OWN_ADDRESSES: more addresses that are Tugi itself (mail from them is a loop).

Incoming mail (IMAP polling, off while TUGI_IMAP_HOST is empty):

- TUGI_IMAP_HOST, TUGI_IMAP_PORT (default 993 with SSL, 143 without), TUGI_IMAP_USER,
  TUGI_IMAP_PASSWORD, TUGI_IMAP_FOLDER (default "INBOX"), TUGI_IMAP_SSL (default True),
  TUGI_IMAP_STARTTLS (default False), TUGI_IMAP_PROCESSED_FOLDER (default "": processed mail is
  flagged \\Seen and stays; when set, it is moved there), TUGI_IMAP_BATCH (default 50),
  TUGI_IMAP_TIMEOUT (seconds, default 30);
- TUGI_MAIL_RATE_LIMIT (default 30) mails from one sender within TUGI_MAIL_RATE_WINDOW_MINUTES
  (default 10): more are ignored (a runaway sender or a loop we could not recognise).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from django.conf import settings

from tugi.core import notices

DEFAULT_FROM = "Tugi <tugi@localhost>"


def _get(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def mail_from() -> str:
    """The From header of everything the desk sends."""
    return str(_get("TUGI_MAIL_FROM", "") or DEFAULT_FROM)


def mail_from_address() -> str:
    return parseaddr(mail_from())[1].lower()


def mail_domain() -> str:
    """The domain part of the Message-IDs we make (the notices' too)."""
    return notices.mail_domain()


def own_addresses() -> frozenset[str]:
    """Addresses that are Tugi itself: mail from them is our own mail coming back (a loop)."""
    addresses = {mail_from_address()}
    addresses.update(a.lower() for a in _get("TUGI_MAIL_OWN_ADDRESSES", ()) or ())
    user = str(_get("TUGI_IMAP_USER", "") or "")
    if "@" in user:
        addresses.add(user.lower())
    addresses.discard("")
    return frozenset(addresses)


def rate_limit() -> tuple[int, int]:
    """(at most this many mails, within this many minutes) from one sender."""
    return int(_get("TUGI_MAIL_RATE_LIMIT", 30)), int(_get("TUGI_MAIL_RATE_WINDOW_MINUTES", 10))


@dataclass(frozen=True)
class ImapSettings:
    """Where the desk's mailbox is and how to reach it."""

    host: str
    port: int
    user: str
    password: str
    folder: str
    ssl: bool
    starttls: bool
    processed_folder: str
    batch: int
    timeout: float

    @property
    def label(self) -> str:
        """How the mailbox is named in InboundMail.mailbox."""
        return f"{self.user}@{self.host}/{self.folder}"[:200]


def imap_enabled() -> bool:
    return bool(_get("TUGI_IMAP_HOST", ""))


def imap_settings() -> ImapSettings:
    use_ssl = bool(_get("TUGI_IMAP_SSL", True))
    return ImapSettings(
        host=str(_get("TUGI_IMAP_HOST", "")),
        port=int(_get("TUGI_IMAP_PORT", 0) or (993 if use_ssl else 143)),
        user=str(_get("TUGI_IMAP_USER", "")),
        password=str(_get("TUGI_IMAP_PASSWORD", "")),
        folder=str(_get("TUGI_IMAP_FOLDER", "") or "INBOX"),
        ssl=use_ssl,
        starttls=bool(_get("TUGI_IMAP_STARTTLS", False)),
        processed_folder=str(_get("TUGI_IMAP_PROCESSED_FOLDER", "") or ""),
        batch=max(1, int(_get("TUGI_IMAP_BATCH", 50))),
        timeout=float(_get("TUGI_IMAP_TIMEOUT", 30)),
    )
