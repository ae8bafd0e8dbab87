"""Timed operations on people: the person list (page and API) and the person detail.

The filtered cases are chosen for their worst case at the scale, not at random: the department
with the most persons (the largest subtree to filter), the smallest unit (an index walk in name
order finds its few members last), the most common surname fragment, a single e-mail (a search
that matches one row must still look at every row unless an index serves it).
"""

import itertools
from collections.abc import Callable

from django.db.models import Count

from bench.generators import names
from bench.registry import BenchContext, OperationError, Skip, operation
from tugi.core.text import fold
from tugi.people.models import OrgUnit, Person

LIST_GOAL_MS = 50
DETAIL_GOAL_MS = 30
API_PEOPLE = "/api/v1/people/"
HTMX = {"HX-Request": "true"}
# The generator's most common surname, as a desk agent would type its start.
COMMON_FRAGMENT = fold(names.SURNAMES[0][0])[:4]
PERSON_ORDER = ("last_name", "first_name", "id")
# How far into the name order the "deep page" starts (a share of all persons).
DEEP_SHARE = 0.6


def largest_department() -> OrgUnit:
    """The department whose subtree holds the most persons."""
    departments = list(OrgUnit.objects.filter(kind=OrgUnit.Kind.DEPARTMENT))
    if not departments:
        raise OperationError("no departments: is the scale data loaded?")
    return max(
        departments,
        key=lambda d: Person.objects.filter(org_unit__path__startswith=d.path).count(),
    )


def smallest_unit() -> OrgUnit:
    """The leaf unit with the fewest (but some) members."""
    counts = (
        Person.objects.filter(org_unit__children__isnull=True)
        .values("org_unit")
        .annotate(n=Count("id"))
        .order_by("n", "org_unit")
    )
    first = counts.first()
    if first is None:
        raise OperationError("no units with members: is the scale data loaded?")
    return OrgUnit.objects.get(pk=first["org_unit"])


def deep_key() -> tuple[str, str, int]:
    """The (last name, first name, id) of the person DEEP_SHARE of the way down the list."""
    offset = int(Person.objects.count() * DEEP_SHARE)
    return Person.objects.order_by(*PERSON_ORDER).values_list(*PERSON_ORDER)[offset]


def person_after(key: tuple[str, str, int]) -> int:
    """The id of the first person after the key in list order (what a deep page starts with)."""
    last, first, pk = key
    return (
        Person.objects.filter(last_name__gte=last)
        .exclude(last_name=last, first_name__lt=first)
        .exclude(last_name=last, first_name=first, id__lte=pk)
        .order_by(*PERSON_ORDER)
        .values_list("id", flat=True)[0]
    )


# --- the page ---------------------------------------------------------------------------------


@operation("person list page", goal_ms=LIST_GOAL_MS)
def person_list_first_page(ctx: BenchContext) -> Callable[[], object]:
    """The person list as it opens: the first page, no filter."""
    url = ctx.url("people:person_list")
    ctx.get(url, expect='rel="next"')
    return lambda: ctx.get(url)


@operation("person list page, unit + q", goal_ms=LIST_GOAL_MS)
def person_list_unit_and_q(ctx: BenchContext) -> Callable[[], object]:
    """The largest department's subtree searched for the commonest surname fragment."""
    url = ctx.url("people:person_list")
    params = {"org_unit": largest_department().pk, "q": COMMON_FRAGMENT}
    # No check for rows: at the smallest scales the department may have no one of that name.
    return lambda: ctx.get(url, params)


@operation("person list page, small unit", goal_ms=LIST_GOAL_MS)
def person_list_small_unit(ctx: BenchContext) -> Callable[[], object]:
    """The unit with the fewest members: its rows are few but scattered over the name order."""
    url = ctx.url("people:person_list")
    params = {"org_unit": smallest_unit().pk}
    ctx.get(url, params, expect="<tbody>")
    return lambda: ctx.get(url, params)


@operation("person list page, one e-mail", goal_ms=LIST_GOAL_MS)
def person_list_one_email(ctx: BenchContext) -> Callable[[], object]:
    """A search for one person's full e-mail address: one match among every person."""
    url = ctx.url("people:person_list")
    people = list(Person.objects.filter(pk__in=itertools.islice(ctx.sample_ids(Person, 20), 20)))
    emails = [p.email for p in people]
    first = people[0]
    ctx.get(url, {"q": first.email}, expect=ctx.url("people:person_detail", pk=first.pk))
    queries = itertools.cycle(emails)
    return lambda: ctx.get(url, {"q": next(queries)})


@operation("person list page, deep cursor", goal_ms=LIST_GOAL_MS)
def person_list_deep_page(ctx: BenchContext) -> Callable[[], object]:
    """A page well past the middle of the list, reached by a keyset cursor (?cursor=…)."""
    url = ctx.url("people:person_list")
    try:
        from tugi.people.queries import encode_cursor
    except ImportError:
        raise Skip(
            "the person list has no keyset cursor (tugi.people.queries.encode_cursor)"
        ) from None
    key = deep_key()
    params = {"cursor": encode_cursor("n", key)}
    # The page must start right after the key, or the cursor was not understood.
    ctx.get(url, params, expect=ctx.url("people:person_detail", pk=person_after(key)))
    return lambda: ctx.get(url, params)


@operation("person list search, htmx results", goal_ms=LIST_GOAL_MS)
def person_list_htmx_search(ctx: BenchContext) -> Callable[[], object]:
    """What each keystroke in the search box asks for: the results fragment only."""
    url = ctx.url("people:person_list")
    params = {"q": COMMON_FRAGMENT}
    ctx.get(url, params, expect="<tbody>", headers=HTMX)
    return lambda: ctx.get(url, params, headers=HTMX)


@operation("person list search, rare surname", goal_ms=LIST_GOAL_MS)
def person_list_rare_surname(ctx: BenchContext) -> Callable[[], object]:
    """The results fragment for the rarest surname: few matches, so no early stop in name order."""
    url = ctx.url("people:person_list")
    rarest = (
        Person.objects.values("last_name").annotate(n=Count("id")).order_by("n", "last_name")
    ).first()
    if rarest is None:
        raise OperationError("no persons: is the scale data loaded?")
    params = {"q": fold(rarest["last_name"])}
    ctx.get(url, params, expect="<tbody>", headers=HTMX)
    return lambda: ctx.get(url, params, headers=HTMX)


@operation("person detail page", goal_ms=DETAIL_GOAL_MS)
def person_detail_page(ctx: BenchContext) -> Callable[[], object]:
    """One person's record, a different (random) person each time."""
    ids = ctx.sample_ids(Person, 200)
    first = next(ids)
    ctx.get(ctx.url("people:person_detail", pk=first), expect=Person.objects.get(pk=first).email)
    return lambda: ctx.get(ctx.url("people:person_detail", pk=next(ids)))


# --- the API ----------------------------------------------------------------------------------


@operation("person list API", goal_ms=LIST_GOAL_MS)
def person_list_api(ctx: BenchContext) -> Callable[[], object]:
    """GET /api/v1/people/: the first page of 50."""
    path = ctx.path(API_PEOPLE)
    if not ctx.get_api(path).get("results"):
        raise OperationError(f"{path} returned no results")
    return lambda: ctx.get(path, headers=ctx.api_headers)


@operation("person list API, unit + q", goal_ms=LIST_GOAL_MS)
def person_list_api_filtered(ctx: BenchContext) -> Callable[[], object]:
    """The API list filtered to the largest department and the commonest surname fragment."""
    path = ctx.path(API_PEOPLE)
    params = {"org_unit": largest_department().pk, "q": COMMON_FRAGMENT}
    if "results" not in ctx.get_api(path, params):
        raise OperationError(f"{path} {params} returned no result list")
    return lambda: ctx.get(path, params, headers=ctx.api_headers)


@operation("person list API, deep cursor", goal_ms=LIST_GOAL_MS)
def person_list_api_deep(ctx: BenchContext) -> Callable[[], object]:
    """The API list well past the middle, by a keyset cursor."""
    path = ctx.path(API_PEOPLE)
    try:
        from tugi.api.pagination import KeysetPagination
    except ImportError:
        raise Skip(
            "the API has no keyset pagination (tugi.api.pagination.KeysetPagination)"
        ) from None
    paginator = KeysetPagination()
    if not hasattr(paginator, "encode_cursor"):
        raise Skip("the API pagination has no encode_cursor")
    key = deep_key()
    params = {"cursor": paginator.encode_cursor(list(key), False)}
    results = ctx.get_api(path, params).get("results") or [{}]
    if results[0].get("id") != person_after(key):
        raise OperationError(f"{path} with a cursor did not start after the cursor's key")
    return lambda: ctx.get(path, params, headers=ctx.api_headers)


@operation("person detail API", goal_ms=DETAIL_GOAL_MS)
def person_detail_api(ctx: BenchContext) -> Callable[[], object]:
    """GET /api/v1/people/{id}/ for a random person each time."""
    ctx.path(f"{API_PEOPLE}1/")
    ids = ctx.sample_ids(Person, 200)
    ctx.get_api(f"{API_PEOPLE}{next(ids)}/")
    return lambda: ctx.get(f"{API_PEOPLE}{next(ids)}/", headers=ctx.api_headers)
