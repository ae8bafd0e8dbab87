"""Reads for the people pages: the person list with keyset pagination, the unit tree, positions.

Every function here returns a bounded amount of data in a constant number of queries, so the pages
stay fast at 100,000 persons: lists are paged by key (never OFFSET, never COUNT(*) of the table),
related rows come with `select_related`, and per-row figures come from one aggregated query.
"""

import base64
import binascii
import datetime
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as UserModel
from django.db import connections
from django.db.models import Count, F, Model, Q, QuerySet
from django.db.models.expressions import RawSQL

from tugi.core import fts
from tugi.core.text import fold
from tugi.people.models import OrgUnit, Person, Position

PAGE_SIZE = 50
# The list order, and the columns of the `person_name_keyset` index that serves it.
PERSON_ORDER = ("last_name", "first_name", "id")
# More words than this in a search box is not a name; the rest are ignored to bound the query.
MAX_SEARCH_TERMS = 5
PERSONAL_CODE_RE = re.compile(r"^\d{11}$")
# The shortest word that the trigram index on search_text (PostgreSQL) can narrow a search by.
MIN_TRIGRAM_TERM = 3

M = TypeVar("M", bound=Model)
User = UserModel | AnonymousUser


# --- keyset pagination ----------------------------------------------------------------------------


@dataclass
class KeysetPage(Generic[M]):
    """One page of rows and the opaque cursors of its neighbours (None where there is none)."""

    rows: list[M]
    next_cursor: str | None = None
    prev_cursor: str | None = None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.prev_cursor)


def _iso(value: Any) -> str:
    if isinstance(value, datetime.date):  # datetime is a date too
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def encode_cursor(direction: str, key: Sequence[Any]) -> str:
    """An opaque, URL-safe token for "the page after/before this row's key"."""
    # Dates and times travel as ISO text; the ORM parses them back when the cursor is used.
    raw = json.dumps([direction, *key], separators=(",", ":"), ensure_ascii=False, default=_iso)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> tuple[str, list[Any]] | None:
    """The direction and key of a cursor, or None for anything malformed (then: the first page)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if (
        not isinstance(data, list)
        or len(data) != width + 1
        or data[0] not in ("n", "p")
        or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in data[1:])
    ):
        return None
    return data[0], data[1:]


def _beyond(order: Sequence[str], key: Sequence[Any], after: bool) -> Q:
    """Rows whose key in `order` comes strictly after (or before) the cursor's key.

    A field named "-field" is in descending order. Written as `f1 >= v1 AND (f1 > v1 OR (f1 = v1
    AND …))` (with < for descending fields) rather than a plain OR chain: the leading range
    condition on the first index column is what lets the database start an index range scan at
    the cursor instead of filtering the whole table.
    """
    fields = [name.lstrip("-") for name in order]
    ops = ["gt" if name.startswith("-") != after else "lt" for name in order]

    def strictly(i: int) -> Q:
        here = Q(**{f"{fields[i]}__{ops[i]}": key[i]})
        if i == len(fields) - 1:
            return here
        return here | (Q(**{fields[i]: key[i]}) & strictly(i + 1))

    return Q(**{f"{fields[0]}__{ops[0]}e": key[0]}) & strictly(0)


def keyset_page(
    queryset: QuerySet[M],
    cursor: str,
    order: Sequence[str] = PERSON_ORDER,
    size: int = PAGE_SIZE,
    sort_matches: bool = False,
) -> KeysetPage[M]:
    """The page of `queryset` (in `order`) that `cursor` points at; the first page without one.

    `order` names the key's fields, the last one unique (the id); "-field" is descending.

    One query per page: it asks for one row more than a page to learn whether there is a further
    page in the direction of travel; the other direction is known from having come from there.

    `sort_matches` is for a queryset that an index other than the order's narrows (a search): the
    page's rows are then chosen by sorting the matches, not by walking the order's index.
    """

    def key_of(row: M) -> list[Any]:
        return [getattr(row, name.lstrip("-")) for name in order]

    def rows_in(qs: QuerySet[M], ordering: Sequence[str]) -> list[M]:
        """The first size + 1 rows of qs in `ordering`."""
        if sort_matches:
            # Choose the page's ids by sorting the matching rows' keys alone, then load the
            # rows with what they join. The NULLS FIRST/LAST (the columns are NOT NULL, so the
            # order is the same) keeps PostgreSQL from walking the name index in the hope of
            # meeting matches early: a surname's matches all lie in one stretch of that order,
            # which it may reach only after most of the table (100–500 ms at 100,000 persons).
            sorted_keys = [
                F(name[1:]).desc(nulls_last=True)
                if name.startswith("-")
                else F(name).asc(nulls_first=True)
                for name in ordering
            ]
            ids = qs.order_by(*sorted_keys).values("pk")[: size + 1]
            qs = qs.filter(pk__in=ids)
        return list(qs.order_by(*ordering)[: size + 1])

    decoded = decode_cursor(cursor, len(order))
    if decoded is None:
        rows = rows_in(queryset, order)
        more = len(rows) > size
        rows = rows[:size]
        return KeysetPage(rows, encode_cursor("n", key_of(rows[-1])) if more else None, None)

    direction, key = decoded
    if direction == "n":
        rows = rows_in(queryset.filter(_beyond(order, key, after=True)), order)
        more = len(rows) > size
        rows = rows[:size]
        return KeysetPage(
            rows,
            encode_cursor("n", key_of(rows[-1])) if more else None,
            encode_cursor("p", key_of(rows[0])) if rows else None,
        )

    backwards = [name[1:] if name.startswith("-") else f"-{name}" for name in order]
    rows = rows_in(queryset.filter(_beyond(order, key, after=False)), backwards)
    more = len(rows) > size
    rows = rows[:size][::-1]
    return KeysetPage(
        rows,
        encode_cursor("n", key_of(rows[-1])) if rows else None,
        encode_cursor("p", key_of(rows[0])) if more else None,
    )


# --- persons --------------------------------------------------------------------------------------


@dataclass
class PersonFilters:
    """What the person list is narrowed by; empty values mean "no filter"."""

    q: str = ""
    org_unit: OrgUnit | None = None
    status: str = ""
    position_id: int | None = None


def is_personal_code_query(q: str) -> bool:
    return bool(PERSONAL_CODE_RE.match(q.strip()))


def subtree_ids(unit: OrgUnit) -> QuerySet[OrgUnit, int]:
    """The ids of a unit and everything below it, as a subquery (one indexed prefix scan)."""
    return OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", flat=True)


def _is_whole_tree(unit: OrgUnit) -> bool:
    """Whether the unit is the only root, so "in its subtree" means everyone.

    Filtering the whole agency by unit would make the database sort every person (160 ms at
    100,000); without the filter the name index serves the page directly.
    """
    if unit.parent_id is not None:
        return False
    return not OrgUnit.objects.filter(parent__isnull=True).exclude(pk=unit.pk).exists()


def in_subtree(unit: OrgUnit, field: str = "org_unit") -> Q:
    """Rows whose unit (the id in `field`) is `unit` or any unit below it.

    As `field IN (subtree ids)` on the row's own column, never a join to the unit's path: that
    join makes SQLite walk the whole name index testing each row's unit (120 ms at 100,000
    persons). The whole tree is no filter at all.
    """
    if _is_whole_tree(unit):
        return Q()
    return Q(**{f"{field}__in": subtree_ids(unit)})


def _search_terms(user: User, filters: PersonFilters) -> list[str]:
    """The folded words to find in search_text; none for no query or a personal-code search."""
    q = filters.q.strip()
    if not q or (is_personal_code_query(q) and user.has_perm("people.view_personal_code")):
        return []
    # search_text is folded at write time, so folding the query makes "jogi" find "Jõgi".
    return fold(q).split()[:MAX_SEARCH_TERMS]


PERSON_FTS = "people_person_fts"


def _fts_ready(alias: str) -> bool:
    return fts.ready(PERSON_FTS, alias)


def _fts_matches(terms: Sequence[str]) -> RawSQL:
    """The ids of the persons whose search text contains every term (three letters or more)."""
    # The table name is a constant and the words travel as a parameter.
    sql = "SELECT rowid FROM people_person_fts WHERE people_person_fts MATCH %s"
    return RawSQL(sql, (fts.match(terms),))  # noqa: S611


def search_persons(user: User, filters: PersonFilters) -> QuerySet[Person]:
    """Persons matching the filters, with what the list shows joined in (not yet ordered or cut).

    An 11-digit query is an exact personal-code match, but only for those allowed to see codes:
    for anyone else it is plain text, so the list cannot be used to test whose code a number is.
    """
    qs = Person.objects.select_related("org_unit", "position")
    in_unit = in_subtree(filters.org_unit) if filters.org_unit is not None else Q()
    q = filters.q.strip()
    terms = _search_terms(user, filters)
    if q and not terms:  # an 11-digit code, from someone who may see codes
        qs = qs.filter(personal_code=q)
    elif terms:
        words = Q()
        for term in terms:
            words &= Q(search_text__contains=term)
        narrowed = bool(in_unit) or filters.position_id is not None
        indexed = [t for t in terms if len(t) >= MIN_TRIGRAM_TERM]
        if connections[qs.db].vendor == "postgresql" or narrowed:
            # PostgreSQL finds the words through the trigram index (migration 0003); SQLite
            # tests them on the rows of the unit or position, which its index finds first.
            qs = qs.filter(words)
        elif indexed and _fts_ready(qs.db):
            # SQLite's trigram table (migration 0006) names the persons with the longer words;
            # the rows it names are read by id and tested for every word (the short ones too).
            qs = qs.filter(id__in=_fts_matches(indexed)).filter(words)
        else:
            # As a subquery of ids: a substring match cannot use an index on SQLite, and it
            # would otherwise walk the name index fetching every row to test it (300 ms at
            # 100,000 persons for a name that is not there). Scanning the table once and sorting
            # the matches is bounded (about 40 ms at that size) whether the term is rare or common.
            qs = qs.filter(id__in=Person.objects.filter(words).values("id"))
    qs = qs.filter(in_unit)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.position_id is not None:
        qs = qs.filter(position_id=filters.position_id)
    return qs


def person_page(user: User, filters: PersonFilters, cursor: str = "") -> KeysetPage[Person]:
    """One page of the person list.

    On PostgreSQL a search for a word of three letters or more (what the trigram index can look
    up) sorts its matches rather than walking the name index: see `keyset_page`. Shorter words
    are left to the planner, as the index cannot narrow them.
    """
    qs = search_persons(user, filters)
    sort_matches = connections[qs.db].vendor == "postgresql" and any(
        len(term) >= MIN_TRIGRAM_TERM for term in _search_terms(user, filters)
    )
    return keyset_page(qs, cursor, sort_matches=sort_matches)


def person_for_detail(pk: int) -> Person | None:
    """A person with unit, position, manager and the unit's head in one query."""
    return (
        Person.objects.select_related("org_unit", "position", "position__org_unit", "manager")
        .filter(pk=pk)
        .first()
    )


def person_of_user(user: User) -> Person | None:
    """The person record linked to a user account, loaded as for the detail page."""
    if not user.is_authenticated:
        return None
    return (
        Person.objects.select_related("org_unit", "position", "position__org_unit", "manager")
        .filter(user=user)
        .first()
    )


def reports_of(person: Person, limit: int = PAGE_SIZE) -> list[Person]:
    """Direct reports, by name, at most `limit` of them (a page needs no more)."""
    return list(
        person.reports.select_related("position")
        .exclude(status=Person.Status.LEFT)
        # Ordering by the keyset columns keeps the manager_id index + sort small.
        .order_by(*PERSON_ORDER)[:limit]
    )


def manager_candidates(limit: int = 300) -> list[Person]:
    """People likely to be chosen as a manager or unit head: those who already head or manage.

    The form accepts any person's e-mail; this list only feeds the suggestions, so it is kept
    small whatever the size of the organisation.
    """
    heads = OrgUnit.objects.exclude(head=None).values_list("head_id", flat=True)
    managers = Person.objects.exclude(manager=None).values_list("manager_id", flat=True).distinct()
    return list(
        Person.objects.filter(Q(pk__in=heads) | Q(pk__in=managers))
        .exclude(status=Person.Status.LEFT)
        .order_by(*PERSON_ORDER)
        .only("first_name", "last_name", "email")[:limit]
    )


# --- org units ------------------------------------------------------------------------------------


@dataclass
class UnitNode:
    """A unit in the org chart with its member count and its sub-units."""

    unit: OrgUnit
    members: int = 0
    children: list["UnitNode"] = field(default_factory=list)


def member_counts(unit_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Current (not departed) members per unit, from two GROUP BY queries.

    Counted as everyone minus those who left, because each of those two counts is served by an
    existing index (the org_unit index covers the first, `person_status` narrows the second),
    whereas filtering on status directly makes SQLite read every row: 30 ms against 140 ms at
    100,000 persons.
    """
    everyone = Person.objects.all()
    if unit_ids is not None:
        everyone = everyone.filter(org_unit_id__in=list(unit_ids))
    departed = everyone.filter(status=Person.Status.LEFT)

    def per_unit(qs: QuerySet[Person]) -> dict[int, int]:
        rows = qs.values("org_unit_id").annotate(n=Count("id")).values_list("org_unit_id", "n")
        return dict(rows)

    counts = per_unit(everyone)
    for unit_id, n in per_unit(departed).items():
        counts[unit_id] -= n
    return counts


def org_tree(include_inactive: bool = False) -> list[UnitNode]:
    """The whole unit tree as nested nodes, in three queries (units with heads, member counts)."""
    units = OrgUnit.objects.select_related("head").order_by("path")
    if not include_inactive:
        units = units.filter(active=True)
    counts = member_counts()
    roots: list[UnitNode] = []
    by_id: dict[int, UnitNode] = {}
    for unit in units:
        node = UnitNode(unit, counts.get(unit.pk, 0))
        by_id[unit.pk] = node
        parent = by_id.get(unit.parent_id) if unit.parent_id else None
        # Ordered by path, a parent always comes before its children; an inactive (hidden)
        # parent makes its active child a root of what is shown.
        (parent.children if parent else roots).append(node)
    return roots


def ancestors(unit: OrgUnit) -> list[OrgUnit]:
    """The units above `unit`, from the root down, read from its materialised path."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part.isdigit()]
    ids = [i for i in ids if i != unit.pk]
    by_id = OrgUnit.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


# --- positions ------------------------------------------------------------------------------------


def search_positions(q: str = "", org_unit: OrgUnit | None = None) -> QuerySet[Position]:
    """Positions whose title contains `q`, optionally within a unit's subtree."""
    qs = Position.objects.select_related("org_unit").order_by("title", "id")
    q = q.strip()
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(title_en__icontains=q) | Q(code__iexact=q))
    if org_unit is not None:
        qs = qs.filter(org_unit_id__in=subtree_ids(org_unit))
    return qs


def holder_counts(positions: Iterable[Position]) -> dict[int, int]:
    """Current holders per position for one page of positions, in one query."""
    ids = [p.pk for p in positions]
    if not ids:
        return {}
    rows = (
        Person.objects.filter(position_id__in=ids)
        .exclude(status=Person.Status.LEFT)
        .values("position_id")
        .annotate(n=Count("id"))
        .values_list("position_id", "n")
    )
    return dict(rows)
