"""The periodic reconciler: recompute the boundaries that fell due, repair, apply, alert.

Each pass reads only the window since the previous pass (with a small overlap): the grants that
started or ended in it, the suspensions that began or ended in it, the leavers whose last day or
closing day fell in it. Its cost follows the number of boundaries in the window and the number of
pending changes, never the size of the grant table.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tugi.access.lifecycle import alerts
from tugi.access.lifecycle.apply import Outcome, apply_due
from tugi.access.lifecycle.plan import sync_grants, sync_leavers
from tugi.access.models import Grant, GrantSuspension, ReconcilerRun
from tugi.people.models import Person

log = logging.getLogger(__name__)

# Re-read a little of the previous window: a boundary committed just as that pass ran is not lost.
OVERLAP = datetime.timedelta(minutes=2)
KEEP_RUNS = datetime.timedelta(days=7)


def _window_from(now: datetime.datetime) -> datetime.datetime:
    last = (
        ReconcilerRun.objects.filter(finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("window_to", flat=True)
        .first()
    )
    # The very first pass starts now: boundaries from before the engine ran are history.
    return (last or now) - OVERLAP


def _grants_with_boundaries(start: datetime.datetime, end: datetime.datetime) -> set[int]:
    in_window = Grant.objects.order_by()
    ids = set(
        in_window.filter(valid_from__gt=start, valid_from__lte=end).values_list("pk", flat=True)
    )
    ids |= set(in_window.filter(valid_to__gt=start, valid_to__lte=end).values_list("pk", flat=True))
    suspensions = GrantSuspension.objects.order_by().filter(
        Q(starts_at__gt=start, starts_at__lte=end) | Q(ends_at__gt=start, ends_at__lte=end)
    )
    ids |= set(suspensions.values_list("grant_id", flat=True))
    return ids


def _leavers_with_boundaries(start: datetime.datetime, end: datetime.datetime) -> set[int]:
    """Persons whose accounts are suspended (day after the last) or closed in the window."""
    first, last = timezone.localdate(start), timezone.localdate(end)
    day = datetime.timedelta(days=1)
    close = datetime.timedelta(days=settings.TUGI_LEAVER_CLOSE_AFTER_DAYS)
    persons = Person.objects.order_by().filter(
        Q(employment_end__gte=first - day, employment_end__lte=last - day)
        | Q(employment_end__gte=first - day - close, employment_end__lte=last - day - close)
    )
    return set(persons.values_list("pk", flat=True))


def reconcile(now: datetime.datetime | None = None) -> ReconcilerRun:
    """One pass; returns its record."""
    now = now or timezone.now()
    run = ReconcilerRun(started_at=now, window_from=_window_from(now), window_to=now)
    grant_ids = _grants_with_boundaries(run.window_from, now)
    person_ids = _leavers_with_boundaries(run.window_from, now)
    run.checked = len(grant_ids) + len(person_ids)
    run.repaired = sync_grants(grant_ids, not_before=run.window_from)
    run.repaired += sync_leavers(person_ids, not_before=run.window_from)
    if run.repaired:
        log.warning("lifecycle: %d changes were missing and are now scheduled", run.repaired)
    outcome: Outcome = apply_due(now)
    run.applied, run.failed = outcome.applied, outcome.failed
    alerts.tell_desk_of_trouble(now)
    run.finished_at = timezone.now()
    run.save()
    ReconcilerRun.objects.filter(finished_at__lt=now - KEEP_RUNS).delete()
    return run
