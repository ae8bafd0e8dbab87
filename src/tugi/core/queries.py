"""Reads of the audit log for the auditor's page: filters and keyset pagination by id."""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from tugi.core.models import AuditEvent

PAGE_SIZE = 50


@dataclass
class AuditFilter:
    """The auditor's filters; empty fields do not filter."""

    person: int | None = None
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def filtered_events(f: AuditFilter) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.all()
    if f.person is not None:
        qs = qs.filter(subject_person_id=f.person)
    if f.actor:
        qs = qs.filter(actor_label=f.actor)
    if f.action:
        qs = qs.filter(action__startswith=f.action)
    if f.object_type:
        qs = qs.filter(object_type=f.object_type)
        if f.object_id:
            qs = qs.filter(object_id=f.object_id)
    # Days are Tallinn days: the period the auditor means, not UTC's.
    if f.date_from:
        qs = qs.filter(at__gte=_day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(at__lt=_day_start(f.date_to + datetime.timedelta(days=1)))
    return qs


def page(qs: QuerySet[AuditEvent], before_id: int | None) -> tuple[list[AuditEvent], int | None]:
    """One page, newest first, and the id to continue before (None on the last page)."""
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    rows = list(qs.order_by("-id")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1].pk if more else None)
