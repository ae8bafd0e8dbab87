"""Sending notices by mail: the one queue every app's notices go through.

A notice is a plain-text mail in the agency's language (settings.LANGUAGE_CODE, Estonian by
default) sent by a Huey task; queueing it never raises into the action that caused it. The apps
compose their own texts (`access.notify`, `desk.notify`, the lifecycle notices).

A send that fails is retried after 1, 2, 4, 8 and 16 minutes (like the desk's own mail), so a mail
server may be away for half an hour; when the last try fails too, the notice is written to the
audit log as `core.notice.failed` (its subject, how many recipients, the error) for the desk to
see, and the task fails. Notices say `Auto-Submitted: auto-generated` (RFC 3834), so well-behaved
out-of-office replies are not sent back, and their Message-IDs are on Tugi's mail domain.
"""

from __future__ import annotations

import logging
import secrets
from email.utils import parseaddr

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from huey.api import Task
from huey.contrib.djhuey import db_task

from tugi.core import audit

logger = logging.getLogger(__name__)

SEND_RETRIES = 5
SEND_RETRY_DELAY = 60  # seconds; doubled after each attempt
SEND_RETRY_BACKOFF = 2
FAILED_AUDIT_ACTION = "core.notice.failed"


def base_url() -> str:
    """The address the links in notices start with (no trailing slash)."""
    return str(getattr(settings, "TUGI_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")


def notice_language() -> str:
    return str(getattr(settings, "LANGUAGE_CODE", "et") or "et")


def user_email(user: User) -> str:
    """A user's address: the account's own, else their person record's."""
    if user.email:
        return user.email
    person = getattr(user, "person", None)
    return getattr(person, "email", "") or ""


def mail_domain() -> str:
    """The right-hand side of Tugi's Message-IDs: TUGI_MAIL_DOMAIN, else TUGI_MAIL_FROM's domain."""
    configured = str(getattr(settings, "TUGI_MAIL_DOMAIN", "") or "")
    if configured:
        return configured
    address = parseaddr(str(getattr(settings, "TUGI_MAIL_FROM", "") or ""))[1]
    return address.rpartition("@")[2].lower() or "localhost"


def send_notice(subject: str, body: str, recipients: list[str]) -> None:
    """Send one notice now (raises when the mail server refuses or cannot be reached)."""
    EmailMessage(
        subject,
        body,
        settings.TUGI_MAIL_FROM,
        recipients,
        headers={
            "Auto-Submitted": "auto-generated",
            # Short, so that the header is never folded: <tugi.notice.<16 hex>@domain>.
            "Message-ID": f"<tugi.notice.{secrets.token_hex(8)}@{mail_domain()}>",
        },
    ).send(fail_silently=False)


@db_task(
    retries=SEND_RETRIES,
    retry_delay=SEND_RETRY_DELAY,
    retry_backoff=SEND_RETRY_BACKOFF,
    context=True,
)
def send_notice_task(
    subject: str, body: str, recipients: list[str], task: Task | None = None
) -> None:
    """Send one notice; an exception makes Huey retry it, the last one is audited."""
    try:
        send_notice(subject, body, recipients)
    except Exception as exc:
        if task is None or not task.retries:
            audit.record(
                None,
                FAILED_AUDIT_ACTION,
                object_type="notice",
                object_repr=subject[:300],
                after={"subject": subject, "recipients": len(recipients), "error": str(exc)},
            )
        raise


def queue_notice(subject: str, body: str, recipients: list[str]) -> bool:
    """Queue a notice to the (deduplicated) recipients; False when there was nobody or it failed."""
    to = sorted({address.strip().lower() for address in recipients if address and address.strip()})
    if not to:
        logger.warning("notice %r has no recipients; not sent", subject)
        return False
    try:
        send_notice_task(subject, body, to)
    except Exception:
        logger.exception("notice %r to %s could not be queued", subject, ", ".join(to))
        return False
    return True
