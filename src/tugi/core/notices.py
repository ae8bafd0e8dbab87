"""Sending notices by mail: the one queue every app's notices go through.

A notice is a plain-text mail in the agency's language (settings.LANGUAGE_CODE, Estonian by
default) sent by a Huey task with retries; queueing it never raises into the action that caused
it. The apps compose their own texts (`access.notify`, `desk.notify`, the lifecycle notices).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from huey.contrib.djhuey import db_task

logger = logging.getLogger(__name__)

SEND_RETRIES = 5
SEND_RETRY_DELAY = 60  # seconds


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


@db_task(retries=SEND_RETRIES, retry_delay=SEND_RETRY_DELAY)
def send_notice_task(subject: str, body: str, recipients: list[str]) -> None:
    """Send one notice; an exception makes Huey retry it."""
    send_mail(subject, body, settings.TUGI_MAIL_FROM, recipients, fail_silently=False)


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
