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

from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from tugi.core.notices import base_url, notice_language, queue_notice, user_email
from tugi.desk.models import Case

logger = logging.getLogger(__name__)


def absolute(path: str) -> str:
    return base_url() + path


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
