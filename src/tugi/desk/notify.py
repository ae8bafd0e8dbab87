"""Mail notices of the desk: SLA warnings and breaches, to the assignee or the queue.

Connected to `sla.sla_event` in `DeskConfig.ready`. One mail per case: to its assignee, or, when
nobody is assigned, to the queue's members and the queue's own address. Mails go out through a
Huey task (with retries); a failure is logged and never raises into the SLA check.

The text is in the agency's language (settings.LANGUAGE_CODE, Estonian by default); the English
source strings are translated with gettext.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from huey.contrib.djhuey import db_task

from tugi.desk.models import Case

logger = logging.getLogger(__name__)

SEND_RETRIES = 5
SEND_RETRY_DELAY = 60  # seconds


def base_url() -> str:
    """The address the links in notices start with (no trailing slash)."""
    return str(getattr(settings, "TUGI_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")


def absolute(path: str) -> str:
    return base_url() + path


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


# --- SLA ---------------------------------------------------------------------------------------


def case_recipients(case: Case) -> list[str]:
    """The assignee; if nobody is assigned, the queue's active members and the queue's address."""
    if case.assignee is not None:
        return [user_email(case.assignee)]
    if case.queue is None:
        return []
    recipients = [user_email(u) for u in case.queue.members.filter(is_active=True)]
    if case.queue.email:
        recipients.append(case.queue.email)
    return recipients


def _sla_text(case: Case, kind: str) -> tuple[str, str]:
    target = _("first response") if case.first_responded_at is None else _("resolution")
    due = case.sla_due
    due_text = formats.date_format(timezone.localtime(due), "DATETIME_FORMAT") if due else "—"
    values: dict[str, Any] = {
        "case": case.reference,
        "subject": case.subject,
        "target": target,
        "policy": case.sla_policy.name if case.sla_policy is not None else "",
        "due": due_text,
        "url": absolute(reverse("desk:case", kwargs={"pk": case.pk})),
    }
    if kind == "breach":
        subject = _("SLA breached: %(case)s %(subject)s") % values
        intro = _("The %(target)s target of case %(case)s was missed.") % values
    else:
        subject = _("SLA warning: %(case)s %(subject)s") % values
        intro = _("The %(target)s target of case %(case)s falls due soon.") % values
    body = "\n".join(
        [
            intro,
            "",
            _("Case: %(case)s “%(subject)s”") % values,
            _("SLA target: %(target)s (%(policy)s)") % values,
            _("Due: %(due)s") % values,
            "",
            values["url"],
        ]
    )
    return subject, body


def notify_sla(kind: str, case_ids: list[int]) -> int:
    """One mail per case about an SLA warning or breach; how many were queued."""
    sent = 0
    cases = Case.objects.filter(pk__in=case_ids).select_related(
        "assignee__person", "queue", "sla_policy"
    )
    for case in cases.order_by("id"):
        try:
            with translation.override(notice_language()):
                subject, body = _sla_text(case, kind)
            sent += queue_notice(subject, body, case_recipients(case))
        except Exception:
            logger.exception("SLA %s notice for case %s failed", kind, case.pk)
    return sent


def on_sla_event(sender: Any, *, kind: str, case_ids: list[int], **kwargs: Any) -> None:
    """Receiver of `sla.sla_event`; never raises into the check."""
    if kind not in ("warning", "breach"):
        return
    try:
        notify_sla(kind, list(case_ids))
    except Exception:
        logger.exception("SLA %s notices failed", kind)


def connect() -> None:
    from tugi.desk import sla

    sla.sla_event.connect(on_sla_event, dispatch_uid="tugi.desk.notify.sla")
