"""Background work of the desk: the SLA check that runs every minute.

The check finds the cases that need a warning or have breached through range scans on the
indexed ``sla_due`` (`sla.find_due_warnings`, `sla.find_breaches`), so each run costs in
proportion to the cases that are due, not to all cases. Marking is idempotent: a case is marked
once per target, with one audit event, and a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from tugi.core import audit
from tugi.core.periodic import local_crontab
from tugi.desk import actions, notify, sla
from tugi.desk.mail import tasks as mail_tasks
from tugi.desk.models import Case

log = logging.getLogger(__name__)

# The Huey consumer imports only `<app>.tasks`; importing the mail tasks here registers them too
# (sending with retries, polling the mailbox); likewise the notices' sending task.
__all__ = ["auto_close_resolved", "check_sla", "mail_tasks", "notify", "run_sla_check"]

# Cases marked per transaction: keeps a catch-up after downtime from holding the write lock long.
BATCH_SIZE = 500

_KINDS = {
    # kind: (flag field, audit action, finder)
    "breach": ("sla_breached_at", "desk.case.sla_breach", sla.find_breaches),
    "warning": ("sla_warned_at", "desk.case.sla_warning", sla.find_due_warnings),
}


@dataclass
class SlaCheckResult:
    """The cases one SLA check marked, by kind."""

    breached: list[int] = field(default_factory=list)
    warned: list[int] = field(default_factory=list)


def _mark(kind: str, now: dt.datetime) -> list[int]:
    flag, action, finder = _KINDS[kind]
    marked: list[int] = []
    while True:
        with transaction.atomic():
            due: QuerySet[Case] = finder(now)
            # Skip rows an action holds locked (PostgreSQL): they are picked up next minute rather
            # than making the check wait. SQLite serialises writers at BEGIN instead.
            cases = list(
                due.select_for_update(skip_locked=True)
                .only("id", "subject", "sla_due", "sla_policy_id")
                .order_by("sla_due", "id")[:BATCH_SIZE]
            )
            if not cases:
                break
            ids = [case.pk for case in cases]
            Case.objects.filter(pk__in=ids, **{f"{flag}__isnull": True}).update(**{flag: now})
            for case in cases:
                audit.record(
                    None,
                    action,
                    case,
                    before={flag: None},
                    after={flag: now, "sla_due": case.sla_due},
                )
            transaction.on_commit(
                functools.partial(sla.sla_event.send, sender=Case, kind=kind, case_ids=ids, at=now)
            )
        marked.extend(ids)
        if len(cases) < BATCH_SIZE:
            break
    return marked


def run_sla_check(now: dt.datetime) -> SlaCheckResult:
    """Mark breaches, then warnings, as of `now`; each marked case gets one audit event."""
    result = SlaCheckResult(breached=_mark("breach", now), warned=_mark("warning", now))
    if result.breached or result.warned:
        log.info("SLA check: %d breached, %d warned", len(result.breached), len(result.warned))
    return result


@db_periodic_task(crontab(minute="*"))
def check_sla() -> None:
    """Every minute: warn before SLA targets fall due and record breaches."""
    run_sla_check(timezone.now())


def run_auto_close(now: dt.datetime) -> int:
    """Close the cases resolved more than `auto_close_days()` before `now`; how many."""
    closed = actions.close_resolved_before(now - dt.timedelta(days=actions.auto_close_days()))
    if closed:
        log.info("auto-close: %d resolved cases closed", closed)
    return closed


@db_periodic_task(local_crontab(hour="3", minute="0"))
def auto_close_resolved() -> None:
    """Daily at 03:00: close the cases resolved longer ago than TUGI_DESK_AUTO_CLOSE_DAYS."""
    run_auto_close(timezone.now())
