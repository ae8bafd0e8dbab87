"""Reads for the substitution pages: the list (filtered, keyset-paged), an order with its grants,
the proposals inbox, and what the order form offers.

Lists are paged by key, never by OFFSET or COUNT: the list's order is (starts_at, id), soonest
first for what is in force or to come, latest first for the past, served by the
`substitution_state` and `substitution_absentee`/`substitution_substitute` indexes.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from tugi.access.lifecycle import substitution as engine
from tugi.access.models import Grant, GrantSuspension, Role, Substitution
from tugi.people.models import Absence, Person
from tugi.people.queries import KeysetPage, keyset_page

PAGE_SIZE = 50
State = Substitution.State

CURRENT, UPCOMING, ACTIVE, PAST, ALL = "current", "upcoming", "active", "past", "all"


@dataclass
class SubstitutionFilters:
    """What the list is narrowed by; `when` is one of the constants above."""

    when: str = ACTIVE
    state: str = ""
    person: Person | None = None


def _related(qs: QuerySet[Substitution]) -> QuerySet[Substitution]:
    return qs.select_related(
        "absentee__org_unit", "substitute", "ordered_by", "absence"
    ).prefetch_related("roles__system")


def search(filters: SubstitutionFilters, now: datetime.datetime) -> QuerySet[Substitution]:
    """The orders and proposals matching the filters (not yet ordered or cut)."""
    qs = Substitution.objects.all()
    if filters.when == CURRENT:
        qs = qs.filter(starts_at__lte=now, ends_at__gt=now)
    elif filters.when == UPCOMING:
        qs = qs.filter(starts_at__gt=now)
    elif filters.when == ACTIVE:
        qs = qs.filter(ends_at__gt=now)
    elif filters.when == PAST:
        qs = qs.filter(ends_at__lte=now)
    if filters.state:
        qs = qs.filter(state=filters.state)
    elif filters.when in (CURRENT, UPCOMING, ACTIVE):
        qs = qs.exclude(state=State.CANCELLED)
    if filters.person is not None:
        qs = qs.filter(Q(absentee=filters.person) | Q(substitute=filters.person))
    return _related(qs)


def keyset(
    qs: QuerySet[Substitution], cursor: str, order: Sequence[str], size: int | None = None
) -> KeysetPage[Substitution]:
    """One page of `qs` in `order` (two fields, the last the id; either may be descending)."""
    return keyset_page(qs, cursor, order=order, size=size or PAGE_SIZE)


def list_order(filters: SubstitutionFilters) -> tuple[str, str]:
    """Soonest first for what is in force or to come; latest first otherwise."""
    if filters.when in (CURRENT, UPCOMING, ACTIVE):
        return ("starts_at", "id")
    return ("-starts_at", "-id")


def page(
    filters: SubstitutionFilters, cursor: str = "", now: datetime.datetime | None = None
) -> KeysetPage[Substitution]:
    now = now or timezone.now()
    return keyset(search(filters, now), cursor, list_order(filters))


def proposals_for(user: Any, person: Person | None) -> QuerySet[Substitution]:
    """The proposals awaiting the user's confirmation: every one for HR, otherwise those whose
    absentee the person has authority over; soonest first."""
    now = timezone.now()
    qs = Substitution.objects.filter(state=State.PROPOSED, ends_at__gt=now)
    if not (user.has_perm("access.order_any_substitution") and "hr" in engine.authority_rules()):
        if person is None:
            return Substitution.objects.none()
        qs = qs.filter(engine.authority_over(person))
    return _related(qs)


def for_detail(pk: int) -> Substitution | None:
    return _related(Substitution.objects.filter(pk=pk)).first()


def grants_of(order: Substitution) -> list[Grant]:
    """The acting grants the order made, oldest first, with their suspensions."""
    return list(
        Grant.objects.filter(substitution=order)
        .select_related("role__system", "account")
        .prefetch_related("suspensions")
        .order_by("valid_from", "role__name", "id")
    )


def exclusive_suspensions(order: Substitution) -> list[GrantSuspension]:
    """The absentee's own grants' suspensions made by this order's exclusive mode."""
    return list(
        GrantSuspension.objects.filter(
            grant__person_id=order.absentee_id,
            reason=engine.EXCLUSIVE_REASON.format(order=order.pk),
        )
        .select_related("grant__role__system")
        .order_by("starts_at", "id")
    )


def delegable_roles_of(absentee: Person, now: datetime.datetime) -> list[Role]:
    """What the order form offers: the absentee's own delegable roles, held now or later."""
    return engine.delegable_roles_held(
        absentee, engine.Window(now, engine.FOREVER), pension_only=False
    )


def absences_to_cover(absentee: Person, today: datetime.date) -> list[Absence]:
    """The absentee's absences not over yet, to fill in the order's period from."""
    return list(
        Absence.objects.filter(person=absentee, cancelled=False, ends_on__gte=today).order_by(
            "starts_on"
        )[:20]
    )
