"""Mail about substitutions, in the agency's language (settings.LANGUAGE_CODE).

- **Before the start.** The substitute and the absentee's manager are told
  settings.TUGI_SUBSTITUTION_NOTICE_DAYS days before an order starts (or at once, for an order
  made later than that): who acts for whom, when, in which roles. Once per order: sending records
  the audit event `access.substitution.notice` in the same transaction as the check for it, so a
  second run, or two workers at once, send nothing more. The hourly task
  (`substitution_tasks.substitution_notices`) finds the orders due; ordering or confirming one
  that starts soon sends its notice after commit.
- **A proposal.** The absentee's manager is asked to confirm or cancel a proposal when it is made.

The absentee's manager is `Person.manager`, else the nearest unit head above (as for access
requests). Mail goes out through `tugi.access.notify` (a Huey task with retries); a failure to
compose or queue is logged and never raises into the action.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tugi.access import notify, policy
from tugi.access.models import Substitution
from tugi.core import audit
from tugi.core.models import AuditEvent

log = logging.getLogger(__name__)

NOTICE_ACTION = "access.substitution.notice"
PROPOSAL_NOTICE_ACTION = "access.substitution.proposal_notice"
State = Substitution.State


def period_text(starts_at: datetime.datetime, ends_at: datetime.datetime) -> str:
    """A period as people say it: whole Tallinn days as "20.10.2026–25.10.2026" (the last day
    included), otherwise with the times."""
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    if start.time() == datetime.time.min and end.time() == datetime.time.min:
        last = end.date() - datetime.timedelta(days=1)
        if last == start.date():
            return f"{start:%d.%m.%Y}"
        return f"{start:%d.%m.%Y}–{last:%d.%m.%Y}"
    return f"{start:%d.%m.%Y %H:%M} – {end:%d.%m.%Y %H:%M}"


def _url(order: Substitution) -> str:
    return notify.base_url() + reverse("access:substitution_detail", kwargs={"pk": order.pk})


def _roles_text(order: Substitution) -> str:
    return ", ".join(f"{r.name} ({r.system.code})" for r in order.roles.all())


def _load(pk: int) -> Substitution:
    return (
        Substitution.objects.select_related(
            "absentee__manager", "absentee__org_unit", "substitute", "absence"
        )
        .prefetch_related("roles__system")
        .get(pk=pk)
    )


def _notice_sent(order_ids: list[int]) -> set[int]:
    return {
        int(pk)
        for pk in AuditEvent.objects.filter(
            action=NOTICE_ACTION,
            object_type="access.substitution",
            object_id__in=[str(pk) for pk in order_ids],
        ).values_list("object_id", flat=True)
    }


def send_start_notice(pk: int, now: datetime.datetime | None = None) -> bool:
    """Tell the substitute and the absentee's manager that the order starts soon; at most once
    per order. Whether a notice was queued."""
    now = now or timezone.now()
    soon = now + datetime.timedelta(days=settings.TUGI_SUBSTITUTION_NOTICE_DAYS)
    with transaction.atomic():
        # The row lock makes a second sender wait here and then find the event below.
        Substitution.objects.select_for_update().filter(pk=pk).first()
        order = _load(pk)
        if order.state != State.ORDERED or order.starts_at > soon or order.ends_at <= now:
            return False
        if _notice_sent([order.pk]):
            return False
        manager = policy.manager_of(order.absentee)
        recipients = [p for p in (order.substitute, manager) if p is not None]
        values = {
            "substitute": str(order.substitute),
            "absentee": str(order.absentee),
            "period": period_text(order.starts_at, order.ends_at),
            "roles": _roles_text(order),
        }
        with translation.override(notify.notice_language()):
            subject = _("Substitution %(period)s: %(substitute)s acts for %(absentee)s") % values
            lines = [
                _("%(substitute)s substitutes for %(absentee)s: %(period)s.") % values,
                _("Roles passed on: %(roles)s.") % values,
            ]
            if order.directive:
                lines.append(_("Ordered by: %(directive)s.") % {"directive": order.directive})
            if order.exclusive:
                lines.append(
                    _("Exclusive: the absent person's own rights are suspended for the period.")
                )
            lines += ["", _("The order and its rights:"), _url(order)]
        audit.record(
            None,
            NOTICE_ACTION,
            order,
            after={"to": [p.pk for p in recipients], "starts_at": order.starts_at},
            subject_person_id=order.absentee_id,
        )
        addresses = [p.email for p in recipients]
        transaction.on_commit(lambda: notify.queue_notice(subject, "\n".join(lines), addresses))
    return True


def send_start_notice_safely(pk: int) -> None:
    """`send_start_notice` for an on-commit hook: logs instead of raising."""
    try:
        send_start_notice(pk)
    except Exception:
        log.exception("substitution notice for order %s failed", pk)


def send_due_notices(now: datetime.datetime | None = None) -> int:
    """Every order starting within the notice period (or under way) not yet told; how many."""
    now = now or timezone.now()
    soon = now + datetime.timedelta(days=settings.TUGI_SUBSTITUTION_NOTICE_DAYS)
    told = AuditEvent.objects.filter(
        action=NOTICE_ACTION,
        object_type="access.substitution",
        object_id=Cast(OuterRef("pk"), output_field=CharField()),
    )
    due = (
        Substitution.objects.filter(state=State.ORDERED, starts_at__lte=soon, ends_at__gt=now)
        .exclude(Exists(told))
        .order_by("starts_at", "id")
        .values_list("pk", flat=True)
    )
    sent = 0
    for pk in list(due):
        try:
            sent += send_start_notice(pk, now)
        except Exception:
            log.exception("substitution notice for order %s failed", pk)
    return sent


def send_proposal_notice(pk: int) -> bool:
    """Ask the absentee's manager to confirm or cancel a proposal; whether one was queued."""
    order = _load(pk)
    if order.state != State.PROPOSED:
        return False
    manager = policy.manager_of(order.absentee)
    if manager is None:
        log.warning("substitution proposal %s: nobody to ask", pk)
        return False
    values = {
        "absentee": str(order.absentee),
        "substitute": str(order.substitute),
        "period": period_text(order.starts_at, order.ends_at),
        "kind": order.absence.get_kind_display() if order.absence else "",
        "roles": _roles_text(order),
    }
    with translation.override(notify.notice_language()):
        subject = _("Substitution for %(absentee)s awaits your confirmation") % values
        lines = [
            _("%(absentee)s is absent %(period)s (%(kind)s).") % values,
            _("The job description names %(substitute)s as the substitute.") % values,
            _("Roles to pass on: %(roles)s.") % values,
            "",
            _("Confirm the substitution, or cancel it and order another:"),
            _url(order),
        ]
    with transaction.atomic():
        audit.record(
            None,
            PROPOSAL_NOTICE_ACTION,
            order,
            after={"to": [manager.pk]},
            subject_person_id=order.absentee_id,
        )
    return notify.queue_notice(subject, "\n".join(lines), [manager.email])


def send_proposal_notice_safely(pk: int) -> None:
    """`send_proposal_notice` for an on-commit hook: logs instead of raising."""
    try:
        send_proposal_notice(pk)
    except Exception:
        log.exception("substitution proposal notice for order %s failed", pk)
