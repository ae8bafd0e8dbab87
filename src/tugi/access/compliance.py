"""Compliance evaluation: which grants and accounts break the access rules, stored as findings.

The rules (DESIGN.md §2), one finding kind each; "in force" means started, not ended and not
suspended at the moment of evaluation, "today" is that moment's date in Tallinn:

- UNJUSTIFIED_GRANT (key ``unjustified_grant:g<grant>``): a grant in force whose basis is not
  valid now. Job description: the holder has no position, or the position has no job description
  in force today, or that current job description has no duty that justifies the role, or the
  grant's duty belongs to a job description of another position. Request: the request item is not
  approved or fulfilled, or it is for another person or another role. Substitution: nobody is
  named as substituted, or the role is not delegable, or the substituted person no longer has a
  grant of the role of their own (started and not ended; a suspension does not count, because an
  exclusive substitution suspends it, and a substitution grant does not count: no chains).
- PAST_END (``past_end:g<grant>``): a grant whose end has passed without any action recording it
  (``ended_reason`` is empty: it lapsed on its own date, nobody ended it, so nobody removed it from
  the target system), whose account is still active, and which no other grant of the same role on
  the same account continues: one in force now (started and not ended), or a renewal, one that
  started by the lapsed grant's end and ended after it or not at all (a chain of renewed grants
  lapses link by link as each next link starts; only its last link can be overdue). Until the
  lifecycle engine and the connectors record when an end was applied and confirmed by the target,
  this is the evidence Tugi has that an end is overdue; those issues will sharpen it. Ending a
  grant through an action, closing the account, or a continuing grant resolves it.
- SOD_CONFLICT (``sod_conflict:p<person>:r<rule>``): a person holds in force both roles of an
  active SoD rule and has no exception to that rule valid now.
- LEAVER_ACCOUNT (``leaver_account:a<account>``): an account that is not closed, of a person
  whose status is "left" or whose employment ended before today.
- ABSENT_ACTIVE_GRANT (``absent_active_grant:g<grant>``): a grant in force of a role marked
  "suspend while the holder is absent", while the holder has an absence (not cancelled) covering
  today.

Findings are stored so that the list is fast and each finding's first sighting is known. An
evaluation opens the findings that are new, leaves those still true untouched, and resolves
those no longer true.

How it stays fast (100,000 persons, 1,000,000 grants): the rules are Python over rows, in one
class (`_Evaluation`) that two loaders feed. `evaluate_all` reads a fixed number of queries
whatever the number of persons: the small tables (job descriptions with their entitlements,
roles, SoD rules, suspensions, absences, request items, persons' positions) into dicts, the
lapsed grants no renewal continues, then one stream over the grants in force, reading the grant
table alone, because a join per row costs SQLite more than the whole scan.
`evaluate_person` fetches the same facts for one person with joins, in three indexed queries
(the person with their job descriptions and the SoD rules, the grants, the open findings), the
first two compiled once per process. Since both feed the same methods, the full and the
per-person evaluation cannot disagree on what a rule means.

Neither checks permissions: evaluating is reading, and the findings it writes are derived data;
callers (pages, API, commands) decide who may trigger or see it.
"""

import datetime
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Aggregate, Exists, F, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import JSONArray
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tugi.access.models import (
    AccessRequestItem,
    Account,
    Finding,
    Grant,
    GrantSuspension,
    Role,
    SodException,
    SodRule,
)
from tugi.access.queries import grant_open_at, suspension_open_at
from tugi.core import audit
from tugi.core.permissions import Actor
from tugi.people.models import Absence, JobDescription, Person

ACTION = "access.compliance.evaluate"
Kind = Finding.Kind

# Rows per round trip when streaming grants; large enough that the round trips do not dominate.
_CHUNK = 20_000
# Rows per write statement: below SQLite's bound-parameter limit for every column count we use.
_WRITE_BATCH = 500


class _Found(NamedTuple):
    """A finding as computed, before it is stored; `reason` and `args` make its detail text."""

    kind: str
    person_id: int
    grant_id: int | None = None
    account_id: int | None = None
    rule_id: int | None = None
    reason: str = ""
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Summary:
    """What an evaluation found, per finding kind: open afterwards, newly opened, resolved."""

    open: dict[str, int]
    opened: dict[str, int]
    resolved: dict[str, int]

    @property
    def total_open(self) -> int:
        return sum(self.open.values())

    @property
    def total_opened(self) -> int:
        return sum(self.opened.values())

    @property
    def total_resolved(self) -> int:
        return sum(self.resolved.values())

    @property
    def changed(self) -> bool:
        return bool(self.total_opened or self.total_resolved)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"open": self.open, "opened": self.opened, "resolved": self.resolved}


def _by_kind(counter: Counter[str]) -> dict[str, int]:
    """Counts for every kind, zeros included, so summaries always have the same shape."""
    return {kind: counter.get(kind, 0) for kind in Kind.values}


def grant_key(kind: str, grant_id: int) -> str:
    return f"{kind}:g{grant_id}"


def sod_key(person_id: int, rule_id: int) -> str:
    return f"{Kind.SOD_CONFLICT}:p{person_id}:r{rule_id}"


def account_key(account_id: int) -> str:
    return f"{Kind.LEAVER_ACCOUNT}:a{account_id}"


def _key(f: _Found) -> str:
    if f.kind == Kind.SOD_CONFLICT:
        assert f.rule_id is not None
        return sod_key(f.person_id, f.rule_id)
    if f.kind == Kind.LEAVER_ACCOUNT:
        assert f.account_id is not None
        return account_key(f.account_id)
    assert f.grant_id is not None
    return grant_key(f.kind, f.grant_id)


# --- computing: the rules over grant rows, fed for everyone or for one person ------------------


def _current(now: datetime.datetime) -> Q:
    """Grants that have started and not ended at `now` (suspensions aside)."""
    return Q(valid_from__lte=now) & grant_open_at(now)


def _absent_on(today: datetime.date) -> Q:
    """Absences (not cancelled) that cover `today`."""
    return Q(cancelled=False, starts_on__lte=today, ends_on__gte=today)


def _has_left(status: str, employment_end: datetime.date | None, today: datetime.date) -> bool:
    """A leaver: marked as left, or employment ended before today (HR may not have updated it)."""
    return status == Person.Status.LEFT or (employment_end is not None and employment_end < today)


def _left_by(today: datetime.date) -> Q:
    """`_has_left` as a filter on persons."""
    return Q(status=Person.Status.LEFT) | Q(employment_end__lt=today)


class _JobDescriptions(NamedTuple):
    """What job descriptions say, for all positions or one: the roles each position's current
    job description justifies, and which position each duty (of any version) belongs to."""

    justified: dict[int, frozenset[int]]
    duty_position: dict[int, int]


def _job_descriptions(
    rows: Iterable[tuple[int | None, int | None, datetime.date | None, int | None, int | None]],
    today: datetime.date,
) -> _JobDescriptions:
    """Read (position, job description, in force from, duty, entitled role) rows into dicts.

    The rows are job descriptions left-joined to their duties and entitlements, so one without
    entitlements still comes back (with null duty or role): if it is the latest in force, it is
    the current one all the same, and justifies nothing. Future versions come back too, only for
    their duties' positions. Positions number thousands, not millions, so each grant is then
    checked against dicts instead of a correlated subquery.
    """
    latest: dict[int, tuple[datetime.date, int]] = {}
    entitled: dict[int, set[int]] = defaultdict(set)  # job description → roles
    duty_position: dict[int, int] = {}
    for pos_id, jd_id, valid_from, duty_id, role_id in rows:
        if pos_id is None or jd_id is None or valid_from is None:
            continue  # a person without a position, or a position without job descriptions
        if duty_id is not None:
            duty_position[duty_id] = pos_id
        if valid_from > today:
            continue
        if pos_id not in latest or valid_from > latest[pos_id][0]:
            latest[pos_id] = (valid_from, jd_id)
        if role_id is not None:
            entitled[jd_id].add(role_id)
    justified = {
        pos_id: frozenset(entitled.get(jd_id, ())) for pos_id, (_d, jd_id) in latest.items()
    }
    return _JobDescriptions(justified, duty_position)


_APPROVED_ITEM = frozenset({AccessRequestItem.State.APPROVED, AccessRequestItem.State.FULFILLED})

# A request item as the rules see it: (state, role id, id of the person the request is for).
_Item = tuple[str, int | None, int] | None


def _job_description_reason(
    position_id: int | None,
    duty_position_id: int | None,
    role_id: int,
    justified: dict[int, frozenset[int]],
) -> str | None:
    """Why a job-description grant is not justified now, or None if it is."""
    if position_id is None:
        return "no_position"
    if duty_position_id != position_id:
        return "other_position"
    roles = justified.get(position_id)
    if roles is None:
        return "no_job_description"
    return None if role_id in roles else "not_entitled"


def _request_reason(item: _Item, role_id: int, person_id: int) -> str | None:
    """Why a request grant is not justified now, or None if its item backs it."""
    if item is None or item[0] not in _APPROVED_ITEM:
        return "request_not_approved"
    if item[1] != role_id or item[2] != person_id:
        return "request_mismatch"
    return None


class _Evaluation:
    """The rules, applied to the rows a loader feeds in; `finish` returns the findings by key.

    Both loaders (everyone, one person) feed the same methods, so the two evaluations cannot
    disagree on what a rule means; they differ only in how they fetch the rows.
    """

    def __init__(
        self,
        justified: dict[int, frozenset[int]],
        absent: set[int],
        sod_rules: Iterable[tuple[int, int, int]],
        excepted: set[tuple[int, int]],
    ) -> None:
        self.found: dict[str, _Found] = {}
        self.justified = justified
        self.absent = absent
        self.excepted = excepted  # (rule, person) with an exception valid now
        self.partners: dict[int, list[tuple[int, int]]] = defaultdict(list)  # a → (rule, b)
        for rule_id, role_a, role_b in sod_rules:
            self.partners[role_a].append((rule_id, role_b))
        self.sod_roles = frozenset(
            {*self.partners, *(b for pairs in self.partners.values() for _r, b in pairs)}
        )
        self.held_sod: dict[int, set[int]] = defaultdict(set)
        # Checked once every own grant is known: (grant, holder, role, substituted person).
        self.substitutions: list[tuple[int, int, int, int]] = []
        # Lapsed grants no renewal continues (`_renewed`), and the (account, role) pairs a
        # grant in force continues.
        self.lapsed: list[tuple[int, int, int, int, datetime.datetime | None]] = []
        self.continued: set[tuple[int, int]] = set()

    def add(self, found: _Found) -> None:
        self.found[_key(found)] = found

    def grant_in_force(
        self,
        grant_id: int,
        person_id: int,
        role_id: int,
        basis: str,
        position_id: int | None,
        duty_position_id: int | None,
        item: _Item,
        acting_for_id: int | None,
        delegable: bool,
        suspend_during_absence: bool,
    ) -> None:
        """One grant started, not ended and not suspended: its basis, absence and SoD rules."""
        reason: str | None
        if basis == Grant.Basis.JOB_DESCRIPTION:
            reason = _job_description_reason(position_id, duty_position_id, role_id, self.justified)
        elif basis == Grant.Basis.REQUEST:
            reason = _request_reason(item, role_id, person_id)
        elif acting_for_id is None:
            reason = "no_absentee"
        elif not delegable:
            reason = "not_delegable"
        else:
            reason = None
            self.substitutions.append((grant_id, person_id, role_id, acting_for_id))
        if reason is not None:
            state = item[0] if item else None
            self.add(
                _Found(
                    Kind.UNJUSTIFIED_GRANT,
                    person_id,
                    grant_id,
                    reason=reason,
                    args=(role_id, state),
                )
            )
        if suspend_during_absence and person_id in self.absent:
            self.add(
                _Found(
                    Kind.ABSENT_ACTIVE_GRANT, person_id, grant_id, reason="absent", args=(role_id,)
                )
            )
        if role_id in self.sod_roles:
            self.held_sod[person_id].add(role_id)

    def finish(self, absentee_holds: Container[tuple[int, int]]) -> dict[str, _Found]:
        """The rules that need every row first; `absentee_holds` has (person, role) pairs of
        own grants (not substitutions) started and not ended, suspended or not."""
        for grant_id, person_id, role_id, acting_for_id in self.substitutions:
            if (acting_for_id, role_id) not in absentee_holds:
                self.add(
                    _Found(
                        Kind.UNJUSTIFIED_GRANT,
                        person_id,
                        grant_id,
                        reason="absentee_lost_role",
                        args=(role_id, None),
                    )
                )
        for grant_id, person_id, role_id, account_id, valid_to in self.lapsed:
            if (account_id, role_id) not in self.continued:
                self.add(
                    _Found(
                        Kind.PAST_END,
                        person_id,
                        grant_id,
                        reason="past_end",
                        args=(role_id, valid_to),
                    )
                )
        for person_id, roles in self.held_sod.items():
            if len(roles) < 2:
                continue
            for role_a in roles:
                for rule_id, role_b in self.partners.get(role_a, ()):
                    if role_b in roles and (rule_id, person_id) not in self.excepted:
                        self.add(
                            _Found(
                                Kind.SOD_CONFLICT,
                                person_id,
                                rule_id=rule_id,
                                reason="sod",
                                args=(role_a, role_b),
                            )
                        )
        return self.found

    def leaver_account(
        self,
        account_id: int,
        person_id: int,
        system_name: str,
        state: str,
        employment_end: datetime.date | None,
    ) -> None:
        self.add(
            _Found(
                Kind.LEAVER_ACCOUNT,
                person_id,
                account_id=account_id,
                reason="leaver",
                args=(system_name, state, employment_end),
            )
        )


def _lapsed_unrecorded(now: datetime.datetime) -> Q:
    """Grants ended by `now` that no action ended (no reason recorded), on an active account."""
    return Q(valid_to__lte=now, ended_reason="", account__state=Account.State.ACTIVE)


def _renewed() -> Exists:
    """Whether a renewal continues the grant (the outer query's row): another grant of the same
    account and role that started by the grant's end and ends after it, or not at all.

    The role is compared as `role_id + 0`, which no index serves: SQLite would otherwise look
    up the renewal through the (role, valid_from) index, tens of thousands of entries for a
    common role, for each of a hundred thousand lapsed grants; through the account's index it
    reads a few rows each. Both the full and the per-person evaluation ask this.
    """
    return Exists(
        Grant.objects.order_by()
        .filter(account_id=OuterRef("account_id"), valid_from__lte=OuterRef("valid_to"))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=OuterRef("valid_to")))
        .alias(same_role=F("role_id") + 0)
        .filter(same_role=OuterRef("role_id"))
    )


def _stream(rows: QuerySet[Any, Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of a values_list of integer and text columns, read in chunks from a raw cursor.

    The ORM writes the SQL; reading it through Django's iterator would add per-row work (some
    half a second on a million rows) that such columns do not need. `chunked_cursor` is what the
    iterator uses too: a server-side cursor on PostgreSQL, so memory stays flat.
    """
    sql, params = rows.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(_CHUNK):
            yield from chunk


def _compute_all(now: datetime.datetime) -> dict[str, _Found]:
    """Every finding, for everyone: a fixed number of queries, one stream over grants in force.

    The stream reads the grant table alone (joins per row cost SQLite more than the whole scan);
    persons, duties, request items and roles are looked up in dicts loaded beforehand.
    """
    today = timezone.localdate(now)
    suspended = set(
        GrantSuspension.objects.order_by()
        .filter(Q(starts_at__lte=now) & suspension_open_at(now))
        .values_list("grant_id", flat=True)
    )
    rules = (
        SodRule.objects.order_by().filter(active=True).values_list("id", "role_a_id", "role_b_id")
    )
    excepted = set(
        SodException.objects.order_by().filter(valid_to__gt=now).values_list("rule_id", "person_id")
    )
    absent = set(
        Absence.objects.order_by().filter(_absent_on(today)).values_list("person_id", flat=True)
    )
    jds = _job_descriptions(
        JobDescription.objects.order_by().values_list(
            "position_id", "id", "valid_from", "duties__id", "duties__entitlements__role_id"
        ),
        today,
    )
    ev = _Evaluation(jds.justified, absent, rules, excepted)

    position_of = dict(Person.objects.order_by().values_list("id", "position_id").iterator(_CHUNK))
    duty_position = jds.duty_position
    items: dict[int, _Item] = {
        item_id: (state, role_id, person_id)
        for item_id, state, role_id, person_id in AccessRequestItem.objects.order_by()
        .values_list("id", "state", "role_id", "request__person_id")
        .iterator(_CHUNK)
    }
    role_flags = {
        role_id: (delegable, suspend)
        for role_id, delegable, suspend in Role.objects.order_by().values_list(
            "id", "delegable", "suspend_during_absence"
        )
    }
    delegable_roles = {role_id for role_id, (delegable, _s) in role_flags.items() if delegable}
    ev.lapsed = list(
        Grant.objects.order_by()
        .filter(_lapsed_unrecorded(now))
        .filter(~_renewed())
        .values_list("id", "person_id", "role_id", "account_id", "valid_to")
    )
    lapsed_pairs = {(account_id, role_id) for _g, _p, role_id, account_id, _t in ev.lapsed}
    # Own grants of delegable roles: what a substitute's grant can still be passed on from.
    own: set[tuple[int, int]] = set()

    rows = _stream(
        Grant.objects.order_by()
        .filter(_current(now))
        .values_list(
            "id",
            "person_id",
            "role_id",
            "basis",
            "basis_duty_id",
            "basis_item_id",
            "acting_for_id",
            "account_id",
        )
    )
    for grant_id, person_id, role_id, basis, duty_id, item_id, acting_for_id, account_id in rows:
        if (account_id, role_id) in lapsed_pairs:
            ev.continued.add((account_id, role_id))
        if acting_for_id is None and role_id in delegable_roles:
            own.add((person_id, role_id))
        if grant_id in suspended:
            continue
        delegable, suspend = role_flags[role_id]
        ev.grant_in_force(
            grant_id,
            person_id,
            role_id,
            basis,
            position_of.get(person_id),
            duty_position.get(duty_id) if duty_id is not None else None,
            items.get(item_id) if item_id is not None else None,
            acting_for_id,
            delegable,
            suspend,
        )

    for row in (
        Account.objects.order_by()
        .filter(person_id__in=Person.objects.order_by().filter(_left_by(today)).values("id"))
        .exclude(state=Account.State.CLOSED)
        .values_list("id", "person_id", "system__name", "state", "person__employment_end")
    ):
        ev.leaver_account(*row)
    return ev.finish(own)


class _Prepared:
    """A query the ORM writes once per process and database, then run for each person.

    `evaluate_person` asks the same few queries for every person, and Django took longer to
    build and compile them (some 1–2 ms each) than the database took to answer. `build` makes
    the queryset (a `values_list`) from a person's id, today and now; it is built once with
    marker values, each parameter of the SQL that equals a marker is filled in per person, and
    the rows are converted as the queryset's own iteration would.
    """

    # Two sets of marker values: the parameters that differ between the two compilations are
    # the per-person ones, and the SQL must not (else the query cannot be reused: an error).
    MARKERS: ClassVar[tuple[dict[str, Any], ...]] = tuple(
        {
            "person_id": -918_273_645 - n,
            "today": datetime.date(1111 + n, 11, 11),
            "now": datetime.datetime(1111 + n, 11, 11, 11, 11, 11, tzinfo=datetime.UTC),
        }
        for n in (0, 1)
    )

    def __init__(self, build: Callable[..., QuerySet[Any, Any]]) -> None:
        self.build = build
        self.compiled: dict[str, Any] = {}

    @staticmethod
    def _prepare(value: Any, how: str) -> Any:
        """A value as the ORM passes it to the database for a date or datetime column."""
        if how == "date":
            return connection.ops.adapt_datefield_value(value)
        if how == "datetime":
            return connection.ops.adapt_datetimefield_value(value)
        return value

    def _compile(self) -> Any:
        compilations = []
        for markers in self.MARKERS:
            compiler = self.build(**markers).query.get_compiler(connection=connection)
            compilations.append((compiler, *compiler.as_sql()))
        (compiler, sql, params), (_other, other_sql, other_params) = compilations
        if other_sql != sql:
            raise ValueError(f"{self.build.__name__}: the SQL depends on the values")
        forms = {}  # a marker as the ORM passes it to the database → (name, how)
        for name, value in self.MARKERS[0].items():
            how = (
                "datetime"
                if isinstance(value, datetime.datetime)
                else "date"
                if isinstance(value, datetime.date)
                else ""
            )
            forms[repr(self._prepare(value, how))] = (name, how)
        slots = [
            forms[repr(param)] if param != other else None
            for param, other in zip(params, other_params, strict=True)
        ]
        # The SELECT lists the values_list's names in their order (as `results_iter` reads it).
        converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
        return sql, list(params), slots, compiler, converters

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        key = f"{connection.alias}:{connection.vendor}"
        if key not in self.compiled:
            self.compiled[key] = self._compile()
        sql, params, slots, compiler, converters = self.compiled[key]
        params = [
            param if slot is None else self._prepare(values[slot[0]], slot[1])
            for param, slot in zip(params, slots, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows: Iterable[Any] = cursor.fetchall()
        if converters:
            rows = compiler.apply_converters(rows, converters)
        return [tuple(row) for row in rows]


class _JsonRows(Aggregate):
    """The rows of a subquery as one JSON array (of arrays), on SQLite and PostgreSQL."""

    function = "JSON_GROUP_ARRAY"
    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="JSON_AGG", **extra)


def _person_rows(person_id: int, today: datetime.date, now: datetime.datetime) -> QuerySet:
    """The person's own columns on the rows of their position's job descriptions, with the
    active SoD rules (rule, role a, role b, whether the person has an exception now) as JSON:
    a small table, read in the same round trip."""
    rules = (
        SodRule.objects.order_by()
        .filter(active=True)
        .values("active")
        .annotate(
            rows=_JsonRows(
                JSONArray(
                    "id",
                    "role_a_id",
                    "role_b_id",
                    Exists(
                        SodException.objects.filter(
                            rule_id=OuterRef("pk"), person_id=person_id, valid_to__gt=now
                        )
                    ),
                )
            )
        )
        .values("rows")
    )
    return (
        Person.objects.order_by()
        .filter(pk=person_id)
        .annotate(
            absent=Exists(Absence.objects.filter(_absent_on(today), person_id=OuterRef("pk"))),
            sod_rules=Subquery(rules),
        )
        .values_list(
            "status",
            "employment_end",
            "absent",
            "sod_rules",
            "position_id",
            "position__job_descriptions__id",
            "position__job_descriptions__valid_from",
            "position__job_descriptions__duties__id",
            "position__job_descriptions__duties__entitlements__role_id",
        )
    )


def _person_grants(person_id: int, today: datetime.date, now: datetime.datetime) -> QuerySet:
    """Every grant of the person with its account, role and request item, and whether it is
    suspended now and whether a renewal continues it (`_renewed`)."""
    suspended_now = GrantSuspension.objects.filter(
        Q(starts_at__lte=now) & suspension_open_at(now), grant_id=OuterRef("pk")
    )
    return (
        Grant.objects.order_by()
        .filter(person_id=person_id)
        .annotate(suspended=Exists(suspended_now), renewed=_renewed())
        .values_list(
            "id",
            "role_id",
            "account_id",
            "account__state",
            "valid_from",
            "valid_to",
            "ended_reason",
            "basis",
            "basis_duty_id",
            "basis_item__state",
            "basis_item__role_id",
            "basis_item__request__person_id",
            "acting_for_id",
            "role__delegable",
            "role__suspend_during_absence",
            "suspended",
            "renewed",
        )
    )


_PERSON_ROWS = _Prepared(_person_rows)
_PERSON_GRANTS = _Prepared(_person_grants)


def _compute_person(person_id: int, now: datetime.datetime) -> dict[str, _Found]:
    """Every finding of one person: the same rules, fed by two indexed queries (and one more
    for a substitute's absentees, one for a leaver's accounts).

    The person's own columns (position, status, absence today) and the SoD rules ride along on
    the rows of their position's job descriptions, and the grants are read with their account,
    role and request item: few queries, each with few joins (on PostgreSQL, planning a many-way
    join costs more than running it, and under load each round trip costs more than either),
    each written by the ORM once (`_Prepared`).
    """
    today = timezone.localdate(now)
    values = {"person_id": person_id, "today": today, "now": now}
    person_rows = _PERSON_ROWS.rows(**values)
    if not person_rows:
        return {}
    status, employment_end, absent, sod_rules, position_id = person_rows[0][:5]
    jds = _job_descriptions((row[4:] for row in person_rows), today)
    if isinstance(sod_rules, str):  # SQLite gives the JSON as text
        sod_rules = json.loads(sod_rules)
    rules, excepted = [], set()
    for rule_id, role_a, role_b, has_exception in sod_rules or ():
        rules.append((rule_id, role_a, role_b))
        if has_exception:
            excepted.add((rule_id, person_id))
    ev = _Evaluation(jds.justified, {person_id} if absent else set(), rules, excepted)
    grants = _PERSON_GRANTS.rows(**values)

    for (
        grant_id,
        role_id,
        account_id,
        account_state,
        valid_from,
        valid_to,
        ended_reason,
        basis,
        duty_id,
        item_state,
        item_role_id,
        item_person_id,
        acting_for_id,
        delegable,
        suspend,
        suspended,
        renewed,
    ) in grants:
        if valid_to is not None and valid_to <= now:
            if ended_reason == "" and account_state == Account.State.ACTIVE and not renewed:
                ev.lapsed.append((grant_id, person_id, role_id, account_id, valid_to))
            continue
        if valid_from > now:
            continue
        ev.continued.add((account_id, role_id))
        if suspended:
            continue
        ev.grant_in_force(
            grant_id,
            person_id,
            role_id,
            basis,
            position_id,
            jds.duty_position.get(duty_id) if duty_id is not None else None,
            (item_state, item_role_id, item_person_id) if item_state is not None else None,
            acting_for_id,
            delegable,
            suspend,
        )

    absentee_holds: set[tuple[int, int]] = set()
    if ev.substitutions:
        absentee_holds = set(
            Grant.objects.order_by()
            .filter(
                _current(now),
                acting_for__isnull=True,
                person_id__in={s[3] for s in ev.substitutions},
                role_id__in={s[2] for s in ev.substitutions},
            )
            .values_list("person_id", "role_id")
        )
    if _has_left(status, employment_end, today):
        for row in (
            Account.objects.order_by()
            .filter(person_id=person_id)
            .exclude(state=Account.State.CLOSED)
            .values_list("id", "person_id", "system__name", "state", "person__employment_end")
        ):
            ev.leaver_account(*row)
    return ev.finish(absentee_holds)


def compute(
    person_id: int | None = None, now: datetime.datetime | None = None
) -> dict[str, _Found]:
    """Every finding that holds at `now`, by key: for everyone, or for one person. Reads only."""
    now = now or timezone.now()
    return _compute_all(now) if person_id is None else _compute_person(person_id, now)


# --- detail text, made only for the findings that are new -------------------------------------


def _day(value: datetime.date | datetime.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value)
    return f"{value:%d.%m.%Y}"


def _details(new: list[_Found], today: datetime.date) -> list[str]:
    """The stored detail of each new finding, in the installation's language.

    Rendered in settings.LANGUAGE_CODE rather than the triggering user's language, so the same
    finding reads the same whoever's change happened to open it.
    """
    role_ids = {
        r
        for f in new
        if f.kind != Kind.LEAVER_ACCOUNT
        for r in (f.args[:2] if f.kind == Kind.SOD_CONFLICT else f.args[:1])
    }
    roles = (
        dict(Role.objects.order_by().filter(pk__in=role_ids).values_list("id", "name"))
        if role_ids
        else {}
    )
    rule_ids = {f.rule_id for f in new if f.rule_id is not None}
    rules = (
        dict(SodRule.objects.order_by().filter(pk__in=rule_ids).values_list("id", "name"))
        if rule_ids
        else {}
    )
    absent_ids = {f.person_id for f in new if f.kind == Kind.ABSENT_ACTIVE_GRANT}
    periods: dict[int, tuple[datetime.date, datetime.date]] = {}
    if absent_ids:
        for holder_id, starts_on, ends_on in Absence.objects.filter(
            person_id__in=absent_ids, cancelled=False, starts_on__lte=today, ends_on__gte=today
        ).values_list("person_id", "starts_on", "ends_on"):
            periods[holder_id] = (starts_on, ends_on)
    states = dict(Account.State.choices)
    item_states = dict(AccessRequestItem.State.choices)
    texts = []
    with translation.override(settings.LANGUAGE_CODE):
        for f in new:
            # Extra keys are ignored by %-formatting, so one dict serves every message.
            values: dict[str, Any] = {}
            if f.kind != Kind.LEAVER_ACCOUNT:
                values["role"] = roles.get(f.args[0], "")
            if f.reason == "no_position":
                text = _(
                    "“%(role)s” is granted by job description, but the person has no position."
                )
            elif f.reason == "other_position":
                text = _("“%(role)s” is justified by a duty of another position's job description.")
            elif f.reason == "no_job_description":
                text = _(
                    "“%(role)s” is granted by job description, but the position has none in force."
                )
            elif f.reason == "not_entitled":
                text = _("The current job description no longer justifies “%(role)s”.")
            elif f.reason == "request_not_approved":
                values["state"] = str(item_states.get(f.args[1], f.args[1] or "—"))
                text = _("The request item behind “%(role)s” is not approved (%(state)s).")
            elif f.reason == "request_mismatch":
                text = _("The request item behind “%(role)s” is for another person or role.")
            elif f.reason == "no_absentee":
                text = _("“%(role)s” is held as a substitute without naming whom for.")
            elif f.reason == "not_delegable":
                text = _("“%(role)s” cannot be passed to a substitute.")
            elif f.reason == "absentee_lost_role":
                text = _("“%(role)s” is held for someone who no longer has it.")
            elif f.reason == "past_end":
                values["day"] = _day(f.args[1])
                text = _(
                    "“%(role)s” ended on %(day)s, but its removal is not recorded and the account "
                    "is still active."
                )
            elif f.reason == "sod":
                values["other"] = roles.get(f.args[1], "")
                values["rule"] = rules.get(f.rule_id or 0, "")
                text = _(
                    "Holds both “%(role)s” and “%(other)s”, which rule “%(rule)s” keeps apart."
                )
            elif f.reason == "leaver":
                system_name, state, employment_end = f.args
                values["system"] = system_name
                values["state"] = str(states.get(state, state))
                if employment_end is not None and employment_end < today:
                    values["day"] = _day(employment_end)
                    text = _("Employment ended on %(day)s; the %(system)s account is %(state)s.")
                else:
                    text = _("The person has left; the %(system)s account is %(state)s.")
            elif f.reason == "absent":
                period = periods.get(f.person_id)
                values["start"] = _day(period[0]) if period else ""
                values["end"] = _day(period[1]) if period else ""
                text = _("“%(role)s” is in force while the person is absent (%(start)s–%(end)s).")
            else:  # pragma: no cover - every reason is above; a new one must be added there
                text = str(Kind(f.kind).label)
            texts.append((text % values)[:500])
    return texts


# --- storing: open the new, keep the known, resolve the gone ----------------------------------


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(new: list[_Found], texts: list[str]) -> None:
    """Insert new findings with one executemany.

    Not bulk_create: building a model instance per row costs it some 100 µs, which is seconds on
    a first evaluation that opens tens of thousands of findings. ON CONFLICT DO NOTHING (SQLite
    and PostgreSQL alike) because a concurrent evaluation may have opened the same finding
    meanwhile: the partial unique index on open keys keeps one, and this run need not fail.
    """
    meta = Finding._meta
    quote = connection.ops.quote_name
    names = ["kind", "person", "grant", "account", "rule", "key", "detail", "first_seen"]
    column = {field.name: str(field.column) for field in meta.concrete_fields}
    columns = ", ".join(quote(column[name]) for name in names)
    placeholders = ", ".join(["%s"] * len(names))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608 - names from the model
        "ON CONFLICT DO NOTHING"
    )
    first_seen = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (f.kind, f.person_id, f.grant_id, f.account_id, f.rule_id, _key(f), text, first_seen)
        for f, text in zip(new, texts, strict=True)
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            cursor.executemany(sql, rows[start : start + _CHUNK])


def _store(
    found: dict[str, _Found],
    open_keys: dict[str, tuple[int, str]],
    today: datetime.date,
) -> tuple[Counter[str], Counter[str]]:
    """Write the difference between what holds and what is open; the caller owns the transaction.

    Returns the counts opened and resolved, per kind. `first_seen` and `resolved_at` record when
    Tugi saw the change (the wall clock), whatever moment the rules were evaluated at.
    """
    new = [f for key, f in found.items() if key not in open_keys]
    gone = [(pk, kind) for key, (pk, kind) in open_keys.items() if key not in found]
    if new:
        _insert(new, _details(new, today))
    if gone:
        resolved_at = timezone.now()
        for chunk in _chunks([pk for pk, _kind in gone], _WRITE_BATCH):
            Finding.objects.filter(pk__in=chunk, resolved_at__isnull=True).update(
                resolved_at=resolved_at
            )
    return Counter(f.kind for f in new), Counter(kind for _pk, kind in gone)


def evaluate_all(now: datetime.datetime | None = None, *, actor: Actor = None) -> Summary:
    """Evaluate every rule for everyone, update the stored findings and return the counts.

    Records one audit event for the run, with the counts. The reads run outside the write
    transaction, so SQLite's single writer is held only for the short write at the end.
    """
    now = now or timezone.now()
    found = compute(None, now)
    open_keys = {
        key: (pk, kind)
        for key, pk, kind in Finding.objects.order_by()
        .filter(resolved_at__isnull=True)
        .values_list("key", "id", "kind")
        .iterator(chunk_size=_CHUNK)
    }
    with transaction.atomic():
        opened, resolved = _store(found, open_keys, timezone.localdate(now))
        summary = Summary(
            open=_by_kind(Counter(f.kind for f in found.values())),
            opened=_by_kind(opened),
            resolved=_by_kind(resolved),
        )
        audit.record(
            actor,
            ACTION,
            object_type=Finding._meta.label_lower,
            object_repr="compliance evaluation: everyone",
            after={"scope": "all", "at": now, **summary.as_dict()},
        )
    return summary


def _open_findings(person_id: int) -> list[Finding]:
    """The person's open findings, kind by kind.

    Sorted here, not in SQL: an ORDER BY kind would tempt SQLite into walking the index of all
    open findings (resolved_at, kind, id) instead of the person's own (person, resolved_at).
    """
    rows = Finding.objects.order_by().filter(person_id=person_id, resolved_at__isnull=True)
    return sorted(rows, key=lambda f: (f.kind, f.pk))


def evaluate_person(
    person: Person, now: datetime.datetime | None = None, *, actor: Actor = None
) -> list[Finding]:
    """Re-evaluate one person's findings and return those open, kind by kind.

    The same rules as `evaluate_all`, restricted to the person: a few indexed queries, no writes
    and no audit event when nothing changed. Findings of other persons that depend on this one
    (a substitute acting for them) are not re-evaluated here.
    """
    now = now or timezone.now()
    found = compute(person.pk, now)
    current = _open_findings(person.pk)
    open_keys = {f.key: (f.pk, f.kind) for f in current}
    if found.keys() == open_keys.keys():
        return current
    with transaction.atomic():
        opened, resolved = _store(found, open_keys, timezone.localdate(now))
        audit.record(
            actor,
            ACTION,
            person,
            subject_person_id=person.pk,
            after={
                "scope": "person",
                "at": now,
                "opened": {k: v for k, v in opened.items() if v},
                "resolved": {k: v for k, v in resolved.items() if v},
            },
        )
    return _open_findings(person.pk)


# --- the way to a fix -------------------------------------------------------------------------

# The fix pages that show one person's access: opening one is a logged read of the person.
PERSON_PAGES = frozenset({"access:grant_detail", "access:account_detail", "access:person_access"})


def fix_context(finding: Finding, url_name: str) -> str:
    """What a fix link adds to the page's address: `?ctx=finding-N` when the page shows the
    person's access, so that its read is logged with the finding as the purpose."""
    return f"?ctx=finding-{finding.pk}" if url_name in PERSON_PAGES else ""


def fix_hint(finding: Finding) -> tuple[str, dict[str, int], str]:
    """Where the desk fixes a finding: (URL name, its kwargs, a label for the link)."""
    if finding.kind == Kind.UNJUSTIFIED_GRANT and finding.grant_id:
        return (
            "access:grant_detail",
            {"pk": finding.grant_id},
            _("End the grant or give it a basis"),
        )
    if finding.kind == Kind.PAST_END and finding.grant_id:
        return "access:grant_detail", {"pk": finding.grant_id}, _("Remove the ended role")
    if finding.kind == Kind.ABSENT_ACTIVE_GRANT and finding.grant_id:
        return "access:grant_detail", {"pk": finding.grant_id}, _("Suspend the grant")
    if finding.kind == Kind.LEAVER_ACCOUNT and finding.account_id:
        return "access:account_detail", {"pk": finding.account_id}, _("Close the account")
    if finding.kind == Kind.SOD_CONFLICT and finding.rule_id:
        return (
            "access:sod_rule_detail",
            {"pk": finding.rule_id},
            _("End one of the roles or approve an exception"),
        )
    return "access:person_access", {"pk": finding.person_id}, _("Open the person's access")
