"""Timed operations on access governance: who held a role when, a person's access, compliance.

The goals are issue 3's: with 100,000 persons and 1,000,000 grants, "who had R on date D" under
100 ms, the full compliance evaluation under 10 s, re-evaluating one person under 10 ms, a
person's access page under 50 ms of server time (the grant list of one person in the API too).

Inputs are chosen for their worst case: the role with the most grants (the most holders on any
date), and for the query also the rarest role and one in the middle (each defeats another
plan); a date two years back (mid-history: every kind of grant, ended ones included, is in the
index range the query walks); the persons with the most grants. Compliance is evaluated at the
data's own "now" (`bench.generators.access.AS_OF`), so that its work and findings are the same
whenever the benchmark runs.
"""

import datetime
import itertools
import math
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Count

from bench.generators.access import AS_OF, TALLINN
from bench.registry import BenchContext, OperationError, Skip, operation
from tugi.access.models import Finding, Grant, Role
from tugi.people.models import Person

HOLDERS_GOAL_MS = 100
PAGE_GOAL_MS = 50
EVALUATE_ALL_GOAL_MS = 10_000
EVALUATE_PERSON_GOAL_MS = 10
# "Who had R on D": two years before the data's now, a working morning.
HISTORY_AT = datetime.datetime(2024, 3, 1, 10, 0, tzinfo=TALLINN)
HTMX = {"HX-Request": "true"}
# The full evaluation takes seconds: a few timed calls (after the runner's three warm-ups).
EVALUATE_ALL_REPEAT = 3
# How many of the persons with the most grants the per-person operations cycle over.
HEAVY_PERSONS = 20


def popular_role() -> Role:
    """The role with the most grants: the most holders on any date."""
    top = Grant.objects.order_by().values("role").annotate(n=Count("id")).order_by("-n", "role")
    first = top.first()
    if first is None:
        raise OperationError("no grants: is the access scale data loaded?")
    return Role.objects.select_related("system").get(pk=first["role"])


def holder_counts() -> list[tuple[int, int]]:
    """(role id, holders at HISTORY_AT) for every role held then, most held first."""
    held = _queries().held_at(HISTORY_AT)
    rows = (
        Grant.objects.order_by()
        .filter(held)
        .values("role")
        .annotate(n=Count("id"))
        .order_by("-n", "role")
        .values_list("role", "n")
    )
    counts = list(rows)
    if not counts:
        raise OperationError(f"nobody held any role at {HISTORY_AT}: is the data loaded?")
    return counts


def rare_role() -> Role:
    """The role with the fewest holders at HISTORY_AT (but some): a needle in the name order."""
    return Role.objects.get(pk=holder_counts()[-1][0])


def middle_role() -> Role:
    """The role whose holders at HISTORY_AT number about sqrt(50 × persons) (2,236 at `full`).

    There finding the first 50 by name costs the most whichever way it is done: sorting all
    the holders, or walking the persons in name order until 50 holders turned up.
    """
    target = math.sqrt(50 * Person.objects.count())
    role_id, _n = min(holder_counts(), key=lambda rn: (abs(rn[1] - target), rn[0]))
    return Role.objects.get(pk=role_id)


def heavy_persons(k: int = HEAVY_PERSONS) -> list[int]:
    """Ids of the k persons with the most grants (the longest timelines)."""
    rows = (
        Grant.objects.order_by()
        .values("person")
        .annotate(n=Count("id"))
        .order_by("-n", "person")
        .values_list("person", flat=True)[:k]
    )
    ids = list(rows)
    if not ids:
        raise OperationError("no grants: is the access scale data loaded?")
    return ids


def _queries() -> Any:
    try:
        from tugi.access import queries
    except ImportError:
        raise Skip("tugi.access.queries does not exist yet") from None
    return queries


def _compliance() -> Any:
    try:
        from tugi.access import compliance
    except ImportError:
        raise Skip("tugi.access.compliance does not exist yet") from None
    for name in ("evaluate_all", "evaluate_person"):
        if not hasattr(compliance, name):
            raise Skip(f"tugi.access.compliance.{name} does not exist yet")
    return compliance


def ensure_evaluated() -> None:
    """Findings stored as a settled installation has them (untimed; once per fresh database)."""
    if not Finding.objects.filter(resolved_at__isnull=True).exists():
        _compliance().evaluate_all(AS_OF)


# --- who held a role when -----------------------------------------------------------------------


def _first_holder(role: Role) -> Grant:
    first = _queries().holders_of(role, HISTORY_AT).first()
    if first is None:
        raise OperationError(f"nobody held {role} at {HISTORY_AT}: is the data loaded?")
    return first


@operation("who had R at D, page", goal_ms=HOLDERS_GOAL_MS)
def holders_page(ctx: BenchContext) -> Callable[[], object]:
    """The role page asked who held the most-granted role two years ago (?at=): first 50."""
    role = popular_role()
    url = ctx.url("access:role_detail", pk=role.pk)
    params = {"at": HISTORY_AT.strftime("%Y-%m-%dT%H:%M")}
    # The page lists holders by name: the first must be the query's first.
    expect = ctx.url("access:person_access", pk=_first_holder(role).person_id)
    ctx.get(url, params, expect=expect)
    return lambda: ctx.get(url, params)


@operation("who had R at D, htmx holders", goal_ms=HOLDERS_GOAL_MS)
def holders_fragment(ctx: BenchContext) -> Callable[[], object]:
    """The same question as the date form asks it: the holders fragment only (htmx)."""
    role = popular_role()
    url = ctx.url("access:role_detail", pk=role.pk)
    params = {"at": HISTORY_AT.strftime("%Y-%m-%dT%H:%M")}
    expect = ctx.url("access:person_access", pk=_first_holder(role).person_id)
    ctx.get(url, params, expect=expect, headers=HTMX)
    return lambda: ctx.get(url, params, headers=HTMX)


@operation("who had R at D, API", goal_ms=HOLDERS_GOAL_MS)
def holders_api(ctx: BenchContext) -> Callable[[], object]:
    """GET /api/v1/roles/{id}/holders/?at=…: the first page of the most-granted role's holders."""
    role = popular_role()
    path = ctx.path(f"/api/v1/roles/{role.pk}/holders/")
    params = {"at": HISTORY_AT.isoformat()}
    results = ctx.get_api(path, params).get("results")
    if not results:
        raise OperationError(f"{path} {params} returned no holders")
    held = _queries().held_at(HISTORY_AT)
    if not Grant.objects.filter(held, pk=results[0]["grant"], role=role).exists():
        raise OperationError(f"{path} {params} answered a grant not in force at {HISTORY_AT}")
    return lambda: ctx.get(path, params, headers=ctx.api_headers)


def _holders_query(role: Role) -> Callable[[], object]:
    holders_of = _queries().holders_of

    def first_page() -> list[Grant]:
        return list(holders_of(role, HISTORY_AT)[:50])

    if not first_page():
        raise OperationError(f"holders_of({role}, {HISTORY_AT}) is empty")
    return first_page


@operation("who had R at D, query", goal_ms=HOLDERS_GOAL_MS)
def holders_query(ctx: BenchContext) -> Callable[[], object]:
    """holders_of(role, D) itself: its first 50 rows (a page), with their related rows."""
    return _holders_query(popular_role())


@operation("who had R at D, query, middle role", goal_ms=HOLDERS_GOAL_MS)
def holders_query_middle(ctx: BenchContext) -> Callable[[], object]:
    """holders_of for a role with about 2,200 holders at D: the worst case of either plan."""
    return _holders_query(middle_role())


@operation("who had R at D, query, rare role", goal_ms=HOLDERS_GOAL_MS)
def holders_query_rare(ctx: BenchContext) -> Callable[[], object]:
    """holders_of for the role with the fewest holders at D (a dozen at `full`)."""
    return _holders_query(rare_role())


# --- a person's access --------------------------------------------------------------------------


@operation("person access page", goal_ms=PAGE_GOAL_MS)
def person_access_page(ctx: BenchContext) -> Callable[[], object]:
    """A person's access page, cycling over the 20 persons with the most grants."""
    ids = heavy_persons()
    urls = itertools.cycle([ctx.url("access:person_access", pk=pk) for pk in ids])
    ensure_evaluated()
    first = Person.objects.get(pk=ids[0])
    ctx.get(ctx.url("access:person_access", pk=first.pk), expect=first.last_name)
    return lambda: ctx.get(next(urls))


@operation("grants API by person", goal_ms=PAGE_GOAL_MS)
def grants_api_by_person(ctx: BenchContext) -> Callable[[], object]:
    """GET /api/v1/grants/?person=…: the first page, for the 20 persons with the most grants."""
    path = ctx.path("/api/v1/grants/")
    ids = heavy_persons()
    results = ctx.get_api(path, {"person": ids[0]}).get("results")
    if not results or any(r.get("person") != ids[0] for r in results):
        raise OperationError(f"{path}?person={ids[0]} did not list that person's grants")
    people = itertools.cycle(ids)
    return lambda: ctx.get(path, {"person": next(people)}, headers=ctx.api_headers)


# --- compliance ---------------------------------------------------------------------------------


@operation(
    "compliance: full evaluation, first",
    goal_ms=EVALUATE_ALL_GOAL_MS,
    repeat=EVALUATE_ALL_REPEAT,
)
def evaluate_all_first(ctx: BenchContext) -> Callable[[], object]:
    """evaluate_all with no findings stored: it opens every finding (inserts with their texts).

    Every call runs in a transaction that is rolled back at its end, so each starts with no
    findings, as the first evaluation of an installation does. (So its reads run inside a
    transaction, where evaluate_all alone runs them outside its write transaction.) The setup
    deletes the stored findings; the steady-state operation, which follows, evaluates again.
    """
    compliance = _compliance()
    Finding.objects.all().delete()

    def first() -> Any:
        with transaction.atomic():
            summary = compliance.evaluate_all(AS_OF)
            transaction.set_rollback(True)
        return summary

    summary = first()
    if not summary.total_opened:
        raise OperationError("the first evaluation opened no findings: is the data loaded?")
    return first


@operation(
    "compliance: full evaluation, steady state",
    goal_ms=EVALUATE_ALL_GOAL_MS,
    repeat=EVALUATE_ALL_REPEAT,
)
def evaluate_all_steady(ctx: BenchContext) -> Callable[[], object]:
    """evaluate_all once the findings are stored: every finding is already open, none changes.

    This is the goal's case: the evaluation as it runs every night (or on the button) on an
    installation that has been evaluated before.
    """
    compliance = _compliance()
    compliance.evaluate_all(AS_OF)  # opens what is not stored yet
    again = compliance.evaluate_all(AS_OF)
    if again.changed:
        raise OperationError(f"a second evaluation at the same moment changed findings: {again}")
    if not again.total_open:
        raise OperationError("no open findings: is the data loaded?")
    return lambda: compliance.evaluate_all(AS_OF)


@operation("compliance: one person", goal_ms=EVALUATE_PERSON_GOAL_MS)
def evaluate_person(ctx: BenchContext) -> Callable[[], object]:
    """evaluate_person, cycling over the persons with the most grants and persons with findings.

    In the steady state (findings stored), so a call reads and compares, and writes nothing.
    """
    compliance = _compliance()
    ensure_evaluated()
    with_findings = list(
        Finding.objects.filter(resolved_at__isnull=True)
        .order_by()
        .values_list("person_id", flat=True)
        .distinct()
    )
    sample = ctx.rng.sample(with_findings, min(HEAVY_PERSONS, len(with_findings)))
    persons = list(Person.objects.filter(pk__in=[*heavy_persons(), *sample]).order_by("pk"))
    cycle = itertools.cycle(persons)
    found = {p.pk: compliance.evaluate_person(p, AS_OF) for p in persons}
    if not any(found.values()):
        raise OperationError("evaluate_person found nothing for persons with findings")
    return lambda: compliance.evaluate_person(next(cycle), AS_OF)
