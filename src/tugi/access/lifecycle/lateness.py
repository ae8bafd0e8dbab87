"""Lateness as data: how late the engine applied changes, and which changes need the desk.

The figures are computed in the database, never by loading the rows. Percentiles are nearest-rank:
the value at rank ⌈p/100 · n⌉ of the n values in ascending order, so every figure is a lateness
that really occurred. The period narrows the rows through the `change_applied` index on
`applied_at`. Rather than a count and then one `ORDER BY … LIMIT 1 OFFSET rank − 1` per
percentile and kind (fifteen sorts of the period's changes), one query numbers the rows with
window functions, overall and within each kind, and returns only the rows at the wanted ranks:
two sorts in all (at 100,000 changes in the period, about 0.7 s instead of 3 s on SQLite).

The lists (late, failed, overdue, to confirm, all) are paged by key on `(due_at, id)`, never by
OFFSET: the work lists oldest first, the history lists newest first.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BigIntegerField, Count, F, Func, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tugi.access.models import Change, ReconcilerRun
from tugi.people.queries import KeysetPage, keyset_page

State = Change.State

# The periods the figures can be asked for; the key is what the page and the API take.
PERIODS: dict[str, tuple[datetime.timedelta, Any]] = {
    "24h": (datetime.timedelta(hours=24), gettext_lazy("last 24 hours")),
    "7d": (datetime.timedelta(days=7), gettext_lazy("last 7 days")),
    "30d": (datetime.timedelta(days=30), gettext_lazy("last 30 days")),
}
DEFAULT_PERIOD = "7d"
# A change applied later than this after its due time counts as late.
LATE_AFTER_MS = 60_000
# The reconciler runs every minute; three minutes without a finished pass means it is not running.
HEALTHY_WITHIN = datetime.timedelta(minutes=3)
PAGE_SIZE = 50

# The lists of the Changes page (and the API's shortcuts for them).
LISTS: dict[str, Any] = {
    "all": gettext_lazy("All"),
    "late": gettext_lazy("Late"),
    "failed": gettext_lazy("Failed"),
    "overdue": gettext_lazy("Overdue"),
    "confirm": gettext_lazy("To confirm"),
}
# Work lists are read oldest first; the history lists newest first.
NEWEST_FIRST = {"all", "late"}


def period_start(period: str, now: datetime.datetime) -> datetime.datetime:
    """The start of a named period ending at `now` (the default period for an unknown name)."""
    length, _label = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    return now - length


# --- the distribution -----------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """A distribution of lateness in milliseconds; the figures are None when count is 0."""

    count: int
    median_ms: int | None = None
    p95_ms: int | None = None
    max_ms: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return {
            "count": self.count,
            "median_ms": self.median_ms,
            "p95_ms": self.p95_ms,
            "max_ms": self.max_ms,
        }


def nearest_rank(percent: int, count: int) -> int:
    """The 1-based rank of the `percent` percentile among `count` values (nearest rank)."""
    return max(1, -(-percent * count // 100))


class MillisecondsBetween(Func):
    """`end − start` in whole milliseconds, computed natively by each database.

    Django's own datetime subtraction on SQLite calls a Python function per row, which costs a
    second per 100,000 rows; `julianday` is SQLite's own (its double keeps about 10 µs).
    """

    output_field = BigIntegerField()

    def __init__(self, end: str, start: str) -> None:
        super().__init__(F(end), F(start))

    # PostgreSQL; the narrower signature is Django's own pattern for vendor-specific SQL.
    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        return self.as_sql_template(
            compiler, connection, "CAST(ROUND(EXTRACT(EPOCH FROM (%s - %s)) * 1000) AS BIGINT)"
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql_template(
            compiler,
            connection,
            "CAST(ROUND((julianday(%s) - julianday(%s)) * 86400000.0) AS INTEGER)",
        )

    def as_sql_template(self, compiler: Any, connection: Any, template: str) -> Any:
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        return template % (end_sql, start_sql), [*end_params, *start_params]


def applied_between(
    since: datetime.datetime,
    until: datetime.datetime,
    *,
    kind: str = "",
    system_id: int | None = None,
) -> QuerySet[Change]:
    """Changes applied in [since, until), optionally of one kind and in one system."""
    qs = Change.objects.filter(applied_at__gte=since, applied_at__lt=until, late_ms__isnull=False)
    if kind:
        qs = qs.filter(kind=kind)
    if system_id is not None:
        qs = qs.filter(account__system_id=system_id)
    return qs.order_by()


@dataclass
class _Ranked:
    """Figures being assembled from the rows at the wanted ranks."""

    count: int = 0
    median_ms: int | None = None
    p95_ms: int | None = None
    max_ms: int | None = None

    def take(self, rank: int, count: int, value: int) -> None:
        self.count = count
        if rank == nearest_rank(50, count):
            self.median_ms = value
        if rank == nearest_rank(95, count):
            self.p95_ms = value
        if rank == count:
            self.max_ms = value

    def figures(self, floor: int | None) -> Figures:
        def clamp(v: int | None) -> int | None:
            return v if v is None or floor is None else max(floor, v)

        return Figures(self.count, clamp(self.median_ms), clamp(self.p95_ms), clamp(self.max_ms))


def _at_rank(rank: str, count: str, percent: int) -> Q:
    # ⌈count · percent / 100⌉ in integer arithmetic, as `nearest_rank`.
    return Q(**{rank: (F(count) * percent + 99) / 100})


def distribution(
    changes: QuerySet[Change], value: Any, *, floor: int | None = None
) -> tuple[Figures, dict[str, Figures]]:
    """The distribution of `value` (milliseconds) over `changes`, overall and by kind.

    One query: window functions number the rows by value, overall and within each kind, and
    count them; only the rows at the median, p95 and maximum ranks come back (at most three per
    kind and three overall). `floor` clamps the figures (a confirmation before the due time is
    0 late, not negative); clamping commutes with taking a rank.
    """
    order = [F("value").asc(), F("id").asc()]
    by_kind = [F("kind")]
    ranked = changes.annotate(value=value).annotate(
        rank_kind=Window(RowNumber(), partition_by=by_kind, order_by=order),
        count_kind=Window(Count("id"), partition_by=by_kind),
        rank_all=Window(RowNumber(), order_by=order),
        count_all=Window(Count("id")),
    )
    wanted = Q()
    for rank, count in (("rank_kind", "count_kind"), ("rank_all", "count_all")):
        wanted |= _at_rank(rank, count, 50) | _at_rank(rank, count, 95)
        wanted |= Q(**{rank: F(count)})
    overall = _Ranked()
    kinds: dict[str, _Ranked] = {}
    rows = ranked.filter(wanted).values_list(
        "kind", "value", "rank_kind", "count_kind", "rank_all", "count_all"
    )
    for kind, ms, rank_kind, count_kind, rank_all, count_all in rows:
        kinds.setdefault(kind, _Ranked()).take(rank_kind, count_kind, int(ms))
        overall.take(rank_all, count_all, int(ms))
    return overall.figures(floor), {k: r.figures(floor) for k, r in kinds.items()}


@dataclass(frozen=True)
class KindFigures:
    """The lateness of one kind of change."""

    kind: str
    label: Any
    figures: Figures


@dataclass(frozen=True)
class LatenessReport:
    """Lateness of the changes applied in a period: overall, by kind, and of confirmation."""

    period: str
    since: datetime.datetime
    until: datetime.datetime
    applied: Figures
    by_kind: list[KindFigures]
    confirmed: Figures
    late_count: int
    late_after_ms: int = LATE_AFTER_MS


def lateness_report(
    period: str = DEFAULT_PERIOD,
    *,
    now: datetime.datetime | None = None,
    kind: str = "",
    system_id: int | None = None,
) -> LatenessReport:
    """The figures for the Changes page and the API: three queries whatever the number of
    changes (applying, confirming, and the count of late ones)."""
    now = now or timezone.now()
    period = period if period in PERIODS else DEFAULT_PERIOD
    since = period_start(period, now)
    changes = applied_between(since, now, kind=kind, system_id=system_id)
    applied, per_kind = distribution(changes, F("late_ms"))
    confirmed, _by_kind = distribution(
        changes.filter(confirmed_at__isnull=False),
        MillisecondsBetween("confirmed_at", "due_at"),
        floor=0,
    )
    return LatenessReport(
        period=period,
        since=since,
        until=now,
        applied=applied,
        by_kind=[
            KindFigures(value, label, per_kind.get(value, Figures(0)))
            for value, label in Change.Kind.choices
        ],
        confirmed=confirmed,
        late_count=changes.filter(late_ms__gt=LATE_AFTER_MS).count(),
    )


# --- the engine's health --------------------------------------------------------------------


@dataclass(frozen=True)
class EngineHealth:
    """The reconciler's last finished pass, and whether it is recent enough to trust."""

    last_run: ReconcilerRun | None
    healthy: bool
    checked_at: datetime.datetime
    healthy_within: datetime.timedelta = HEALTHY_WITHIN


def engine_health(now: datetime.datetime | None = None) -> EngineHealth:
    """Healthy when a reconciler pass finished in the last three minutes (one indexed read)."""
    now = now or timezone.now()
    last = ReconcilerRun.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()
    healthy = (
        last is not None
        and last.finished_at is not None
        and (last.finished_at >= now - HEALTHY_WITHIN)
    )
    return EngineHealth(last_run=last, healthy=healthy, checked_at=now)


# --- the lists ------------------------------------------------------------------------------


def late_q(now: datetime.datetime, since: datetime.datetime | None = None) -> Q:
    """Changes not put into effect on time: applied more than LATE_AFTER_MS after their due
    time (in the period, when `since` is given), failed, or still pending that long after it."""
    threshold = datetime.timedelta(milliseconds=LATE_AFTER_MS)
    applied_late = Q(state=State.APPLIED, late_ms__gt=LATE_AFTER_MS)
    if since is not None:
        applied_late &= Q(applied_at__gte=since)
    return applied_late | Q(state=State.FAILED) | Q(state=State.PENDING, due_at__lt=now - threshold)


def list_q(show: str, now: datetime.datetime, since: datetime.datetime) -> Q:
    """The condition of one of the page's lists (`LISTS`)."""
    if show == "late":
        return late_q(now, since)
    if show == "failed":
        return Q(state=State.FAILED)
    if show == "overdue":
        return Q(state=State.PENDING, due_at__lt=now)
    if show == "confirm":
        return Q(state=State.APPLIED, confirmed_at__isnull=True)
    # All: every change due in the period, whatever became of it.
    return Q(due_at__gte=since, due_at__lt=now)


@dataclass
class ChangeQuery:
    """What the change list is narrowed by; empty values mean "no filter"."""

    show: str = "all"
    period: str = DEFAULT_PERIOD
    kind: str = ""
    system_id: int | None = None
    person_id: int | None = None
    # A subquery of person ids (a search by name), or None.
    persons: QuerySet[Any] | None = None
    states: Sequence[str] = field(default_factory=tuple)


def with_related(changes: QuerySet[Change]) -> QuerySet[Change]:
    """Changes with what a row shows (person, system, role), in the same query."""
    return changes.select_related(
        "person__org_unit", "account__system", "grant__role", "confirmed_by"
    )


def change_queryset(query: ChangeQuery, now: datetime.datetime) -> QuerySet[Change]:
    """The changes the query asks for, not yet ordered nor cut."""
    since = period_start(query.period, now)
    qs = Change.objects.filter(list_q(query.show, now, since))
    if query.kind:
        qs = qs.filter(kind=query.kind)
    if query.system_id is not None:
        qs = qs.filter(account__system_id=query.system_id)
    if query.person_id is not None:
        qs = qs.filter(person_id=query.person_id)
    if query.persons is not None:
        qs = qs.filter(person_id__in=query.persons)
    if query.states:
        qs = qs.filter(state__in=list(query.states))
    return with_related(qs)


def due_page(
    changes: QuerySet[Change], cursor: str, *, newest_first: bool = False, size: int = PAGE_SIZE
) -> KeysetPage[Change]:
    """One page of `changes` in (due_at, id) order, by key (never OFFSET)."""
    order = ("-due_at", "-id") if newest_first else ("due_at", "id")
    return keyset_page(changes, cursor, order=order, size=size)


def change_page(
    query: ChangeQuery, cursor: str = "", now: datetime.datetime | None = None
) -> KeysetPage[Change]:
    """One page of the list `query.show`, in that list's order."""
    now = now or timezone.now()
    return due_page(change_queryset(query, now), cursor, newest_first=query.show in NEWEST_FIRST)


def list_counts(now: datetime.datetime | None = None) -> dict[str, int]:
    """How many changes wait in each work list (small, indexed counts)."""
    now = now or timezone.now()
    since = now  # the work lists do not depend on the period
    return {
        show: Change.objects.filter(list_q(show, now, since)).count()
        for show in ("failed", "overdue", "confirm")
    }


def late_by_ms(change: Change, now: datetime.datetime) -> int | None:
    """How late a change was applied, or how late it is so far when it is still not applied."""
    if change.late_ms is not None:
        return change.late_ms
    if change.state in (State.PENDING, State.FAILED) and change.due_at < now:
        return int((now - change.due_at).total_seconds() * 1000)
    return None


def human_duration(ms: int | None) -> str:
    """A lateness for people: "250 ms", "2 s", "3 min", "1 h 5 min", "2 d 3 h"."""
    if ms is None:
        return ""
    if ms < 1000:
        return _("%(n)d ms") % {"n": ms}
    seconds = ms // 1000
    if seconds < 60:
        return _("%(n)d s") % {"n": seconds}
    minutes = seconds // 60
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if not minutes:
            return _("%(h)d h") % {"h": hours}
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    if not hours:
        return _("%(d)d d") % {"d": days}
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
