"""Reads for the absence pages: the list of absences (current, upcoming, past) with filters and
keyset pagination, and a person's absences.

As everywhere in the people pages, a list is paged by key, never by OFFSET or COUNT: in force
or to come soonest first on (starts_on, id), the past latest first, both served by the
`absence_period` index; narrowed to a person, by `absence_person`.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from tugi.people.models import Absence, OrgUnit, Person
from tugi.people.queries import KeysetPage, decode_cursor, encode_cursor, in_subtree

PAGE_SIZE = 50
CURRENT, UPCOMING, ACTIVE, PAST, ALL = "current", "upcoming", "active", "past", "all"

M = TypeVar("M", bound=Model)


def ordered_keyset_page(
    qs: QuerySet[M], cursor: str, order: Sequence[str], size: int
) -> KeysetPage[M]:
    """One page of `qs` in a two-field `order` whose last field is the id, either field
    ascending or descending ("-field"); the cursor is `tugi.people.queries`'s."""
    first, second = order
    names = [first.lstrip("-"), second.lstrip("-")]

    def key_of(row: M) -> list[Any]:
        return [getattr(row, name) for name in names]

    def beyond(key: Sequence[Any], forward: bool) -> Q:
        def op(field: str) -> str:
            return "lt" if field.startswith("-") == forward else "gt"

        return Q(**{f"{names[0]}__{op(first)}": key[0]}) | Q(
            **{names[0]: key[0], f"{names[1]}__{op(second)}": key[1]}
        )

    decoded = decode_cursor(cursor, 2)
    if decoded is None:
        rows = list(qs.order_by(*order)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        return KeysetPage(rows, encode_cursor("n", key_of(rows[-1])) if more else None, None)
    direction, key = decoded
    if direction == "n":
        rows = list(qs.filter(beyond(key, True)).order_by(*order)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        return KeysetPage(
            rows,
            encode_cursor("n", key_of(rows[-1])) if more else None,
            encode_cursor("p", key_of(rows[0])) if rows else None,
        )
    backwards = [f[1:] if f.startswith("-") else f"-{f}" for f in order]
    rows = list(qs.filter(beyond(key, False)).order_by(*backwards)[: size + 1])
    more = len(rows) > size
    rows = rows[:size][::-1]
    return KeysetPage(
        rows,
        encode_cursor("n", key_of(rows[-1])) if rows else None,
        encode_cursor("p", key_of(rows[0])) if more else None,
    )


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
    return ordered_keyset_page(search_absences(filters, today), cursor, order, PAGE_SIZE)


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
