"""Reads for the absence pages: the list of absences (current, upcoming, past) with filters and
keyset pagination, and a person's absences.

As everywhere in the people pages, a list is paged by key, never by OFFSET or COUNT: in force
or to come soonest first on (starts_on, id), the past latest first, both served by the
`absence_period` index; narrowed to a person, by `absence_person`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Model, QuerySet
from django.utils import timezone

from tugi.people.models import Absence, OrgUnit, Person
from tugi.people.queries import KeysetPage, in_subtree, keyset_page

PAGE_SIZE = 50
CURRENT, UPCOMING, ACTIVE, PAST, ALL = "current", "upcoming", "active", "past", "all"

M = TypeVar("M", bound=Model)


@dataclass
class AbsenceFilters:
    """What the absence list is narrowed by; empty values mean "no filter"."""

    when: str = ACTIVE
    kind: str = ""
    source: str = ""
    org_unit: OrgUnit | None = None
    person: Person | None = None
    cancelled: bool = False


def search_absences(filters: AbsenceFilters, today: datetime.date) -> QuerySet[Absence]:
    qs = Absence.objects.select_related("person__org_unit")
    if filters.when == CURRENT:
        qs = qs.filter(starts_on__lte=today, ends_on__gte=today)
    elif filters.when == UPCOMING:
        qs = qs.filter(starts_on__gt=today)
    elif filters.when == ACTIVE:
        qs = qs.filter(ends_on__gte=today)
    elif filters.when == PAST:
        qs = qs.filter(ends_on__lt=today)
    if not filters.cancelled:
        qs = qs.filter(cancelled=False)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.person is not None:
        qs = qs.filter(person=filters.person)
    if filters.org_unit is not None:
        qs = qs.filter(in_subtree(filters.org_unit, "person__org_unit"))
    return qs


def absence_page(
    filters: AbsenceFilters, cursor: str = "", today: datetime.date | None = None
) -> KeysetPage[Absence]:
    """One page of the absence list."""
    today = today or timezone.localdate()
    order = (
        ("starts_on", "id")
        if filters.when in (CURRENT, UPCOMING, ACTIVE)
        else ("-starts_on", "-id")
    )
    return keyset_page(search_absences(filters, today), cursor, order=order, size=PAGE_SIZE)


def absences_of(
    person: Person, today: datetime.date | None = None, limit: int = 20
) -> list[Absence]:
    """A person's absences not over yet (for the person page), soonest first."""
    today = today or timezone.localdate()
    return list(
        Absence.objects.filter(person=person, cancelled=False, ends_on__gte=today).order_by(
            "starts_on", "id"
        )[:limit]
    )
