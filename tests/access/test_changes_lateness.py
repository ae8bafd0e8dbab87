"""Lateness as data: the distribution of lateness (nearest-rank percentiles, computed in the
database), the lists of the Changes page and the engine's health."""

import datetime
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from tests.access.factories import AccountFactory, GrantFactory
from tugi.access.lifecycle import lateness
from tugi.access.models import Account, Change, ReconcilerRun

TALLINN = ZoneInfo("Europe/Tallinn")
NOW = datetime.datetime(2026, 11, 30, 12, tzinfo=TALLINN)
Kind, State = Change.Kind, Change.State
_keys = itertools.count(1)

pytestmark = pytest.mark.django_db


def ago(**delta: float) -> datetime.datetime:
    return NOW - datetime.timedelta(**delta)


def make_change(
    *,
    account: Account | None = None,
    kind: str = Kind.GRANT_END,
    state: str = State.APPLIED,
    due_at: datetime.datetime | None = None,
    late_ms: int | None = None,
    confirmed_at: datetime.datetime | None = None,
    **extra,
) -> Change:
    """A change row written directly (test setup); applied ones get applied_at = due + late."""
    account = account or AccountFactory()
    due_at = due_at or ago(hours=1)
    applied_at = None
    if state == State.APPLIED:
        late_ms = 0 if late_ms is None else late_ms
        applied_at = due_at + datetime.timedelta(milliseconds=late_ms)
    return Change.objects.create(
        key=f"test:{next(_keys)}",
        kind=kind,
        account=account,
        person=account.person,
        due_at=due_at,
        next_try_at=due_at,
        state=state,
        applied_at=applied_at,
        late_ms=late_ms if state == State.APPLIED else None,
        confirmed_at=confirmed_at,
        **extra,
    )


# The hand-computed set: ten values, sorted as listed.
VALUES = [0, 50, 120, 400, 1000, 1500, 2000, 60_000, 61_000, 3_600_000]


def test_nearest_rank() -> None:
    assert lateness.nearest_rank(50, 1) == 1
    assert lateness.nearest_rank(50, 2) == 1
    assert lateness.nearest_rank(50, 3) == 2
    assert lateness.nearest_rank(50, 10) == 5
    assert lateness.nearest_rank(95, 10) == 10  # ⌈9.5⌉
    assert lateness.nearest_rank(95, 20) == 19
    assert lateness.nearest_rank(95, 21) == 20  # ⌈19.95⌉
    assert lateness.nearest_rank(95, 100) == 95


def test_the_distribution_of_a_hand_computed_set() -> None:
    account = AccountFactory()
    for n, late in enumerate(VALUES):
        # Half of them grant ends, the other half grant starts.
        kind = Kind.GRANT_END if n % 2 else Kind.GRANT_START
        make_change(account=account, kind=kind, due_at=ago(hours=2 + n), late_ms=late)
    report = lateness.lateness_report("7d", now=NOW)
    # Nearest rank: the median is the 5th of 10 values (not the 1250 an interpolation gives),
    # the 95th percentile the 10th.
    assert report.applied == lateness.Figures(
        count=10, median_ms=1000, p95_ms=3_600_000, max_ms=3_600_000
    )
    by_kind = {k.kind: k.figures for k in report.by_kind}
    # Starts: 0, 120, 1000, 2000, 61 000; ends: 50, 400, 1500, 60 000, 3 600 000.
    assert by_kind[Kind.GRANT_START] == lateness.Figures(5, 1000, 61_000, 61_000)
    assert by_kind[Kind.GRANT_END] == lateness.Figures(5, 1500, 3_600_000, 3_600_000)
    assert by_kind[Kind.ACCOUNT_CLOSE] == lateness.Figures(0)
    assert report.late_count == 2  # above 60 s: 61 000 and 3 600 000; 60 000 is not above it


def test_p95_of_twenty_one_values_is_the_twentieth() -> None:
    account = AccountFactory()
    for n in range(1, 22):  # 1000, 2000, … 21 000 ms
        make_change(account=account, due_at=ago(hours=n), late_ms=n * 1000)
    figures = lateness.lateness_report(now=NOW).applied
    assert figures == lateness.Figures(21, 11_000, 20_000, 21_000)


def test_only_changes_applied_in_the_period_count() -> None:
    account = AccountFactory()
    make_change(account=account, due_at=ago(hours=2), late_ms=100)
    make_change(account=account, due_at=ago(days=3), late_ms=200)
    make_change(account=account, due_at=ago(days=20), late_ms=300)
    make_change(account=account, due_at=ago(days=40), late_ms=400)
    make_change(account=account, state=State.PENDING, due_at=ago(hours=1))
    make_change(account=account, state=State.FAILED, due_at=ago(hours=1))
    make_change(account=account, state=State.CANCELLED, due_at=ago(hours=1))
    counts = {p: lateness.lateness_report(p, now=NOW).applied.count for p in lateness.PERIODS}
    assert counts == {"24h": 1, "7d": 2, "30d": 3}
    assert lateness.lateness_report("nonsense", now=NOW).period == "7d"


def test_by_kind_and_by_system() -> None:
    skais, star = AccountFactory(), AccountFactory()
    make_change(account=skais, kind=Kind.GRANT_END, late_ms=10)
    make_change(account=skais, kind=Kind.GRANT_START, late_ms=20)
    make_change(account=star, kind=Kind.GRANT_END, late_ms=30)
    only_skais = lateness.lateness_report(now=NOW, system_id=skais.system_id)
    assert only_skais.applied == lateness.Figures(2, 10, 20, 20)
    only_ends = lateness.lateness_report(now=NOW, kind=Kind.GRANT_END)
    assert only_ends.applied == lateness.Figures(2, 10, 30, 30)


def test_the_empty_state() -> None:
    report = lateness.lateness_report(now=NOW)
    assert report.applied == lateness.Figures(0, None, None, None)
    assert report.confirmed == lateness.Figures(0)
    assert all(k.figures.count == 0 for k in report.by_kind)
    assert report.late_count == 0


def test_confirmation_lateness_runs_from_the_due_time() -> None:
    account = AccountFactory()
    for minutes in (1, 5, 30):
        due = ago(hours=3)
        make_change(
            account=account,
            due_at=due,
            late_ms=500,
            confirmed_at=due + datetime.timedelta(minutes=minutes),
        )
    early = ago(hours=2)  # done in the target before it was due: not late at all
    make_change(account=account, due_at=early, confirmed_at=early - datetime.timedelta(hours=1))
    make_change(account=account, due_at=ago(hours=1))  # not confirmed: not counted
    confirmed = lateness.lateness_report(now=NOW).confirmed
    assert confirmed == lateness.Figures(4, 60_000, 1_800_000, 1_800_000)


def test_the_figures_cost_the_same_queries_whatever_the_number_of_changes() -> None:
    account = AccountFactory()

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            lateness.lateness_report(now=NOW)
        return len(ctx.captured_queries)

    for n in range(5):
        make_change(account=account, kind=Kind.GRANT_END, due_at=ago(hours=n + 1), late_ms=n)
        make_change(account=account, kind=Kind.GRANT_START, due_at=ago(hours=n + 1), late_ms=n)
    few = queries()
    for n in range(60):
        make_change(account=account, kind=Kind.GRANT_END, due_at=ago(minutes=n + 1), late_ms=n)
        make_change(account=account, kind=Kind.GRANT_START, due_at=ago(minutes=n + 1), late_ms=n)
    assert queries() == few == 3
    with CaptureQueriesContext(connection) as ctx:
        lateness.lateness_report(now=NOW)
    # The percentiles come from numbered rows; only the rows at the wanted ranks come back.
    assert any("ROW_NUMBER" in q["sql"].upper() for q in ctx.captured_queries)


def test_only_the_rows_at_the_wanted_ranks_are_read(monkeypatch) -> None:
    account = AccountFactory()
    for n in range(40):
        make_change(account=account, kind=Kind.GRANT_END, due_at=ago(minutes=n + 1), late_ms=n)
    changes = lateness.applied_between(ago(days=7), NOW)
    fetched = []
    original = lateness._Ranked.take

    def spy(self, rank, count, value):
        fetched.append(rank)
        return original(self, rank, count, value)

    monkeypatch.setattr(lateness._Ranked, "take", spy)
    overall, by_kind = lateness.distribution(changes, F("late_ms"))
    # Ranks 20 (median), 38 (p95), 40 (max), each row once per grouping (overall and kind).
    assert sorted(set(fetched)) == [20, 38, 40] and len(fetched) == 6
    assert overall == by_kind[Kind.GRANT_END] == lateness.Figures(40, 19, 37, 39)


def test_milliseconds_between_is_exact_to_the_millisecond() -> None:
    account = AccountFactory()
    due = ago(hours=2)
    for ms in (1, 999, 1_001, 86_400_123):
        make_change(
            account=account,
            due_at=due,
            late_ms=0,
            confirmed_at=due + datetime.timedelta(milliseconds=ms),
        )
    values = sorted(
        Change.objects.annotate(
            lag=lateness.MillisecondsBetween("confirmed_at", "due_at")
        ).values_list("lag", flat=True)
    )
    assert values == [1, 999, 1_001, 86_400_123]


# --- the lists ------------------------------------------------------------------------------


@pytest.fixture
def assorted() -> dict[str, Change]:
    account = AccountFactory()
    grant = GrantFactory(account=account)
    return {
        "on_time": make_change(account=account, grant=grant, due_at=ago(hours=5), late_ms=900),
        "late": make_change(account=account, due_at=ago(hours=4), late_ms=120_000),
        "failed": make_change(account=account, state=State.FAILED, due_at=ago(hours=3)),
        "overdue": make_change(account=account, state=State.PENDING, due_at=ago(minutes=10)),
        "just_due": make_change(account=account, state=State.PENDING, due_at=ago(seconds=5)),
        "future": make_change(
            account=account, state=State.PENDING, due_at=NOW + datetime.timedelta(days=1)
        ),
        "confirmed": make_change(
            account=account, due_at=ago(hours=6), late_ms=10, confirmed_at=ago(hours=5)
        ),
        "old_late": make_change(account=account, due_at=ago(days=20), late_ms=500_000),
    }


def _ids(show: str, period: str = "7d") -> list[str]:
    return [
        c.key
        for c in lateness.change_page(lateness.ChangeQuery(show=show, period=period), "", NOW).rows
    ]


def test_the_lists(assorted) -> None:
    name = {c.key: n for n, c in assorted.items()}

    def names(show: str, period: str = "7d") -> list[str]:
        return [name[k] for k in _ids(show, period)]

    # Late: applied late in the period, failed, or pending over a minute past due; latest first.
    assert names("late") == ["overdue", "failed", "late"]
    assert names("late", "30d") == ["overdue", "failed", "late", "old_late"]
    assert names("failed") == ["failed"]
    assert names("overdue") == ["overdue", "just_due"]  # oldest first
    assert names("confirm") == ["old_late", "on_time", "late"]  # oldest first
    assert names("all") == ["just_due", "overdue", "failed", "late", "on_time", "confirmed"]
    counts = lateness.list_counts(NOW)
    assert counts == {"failed": 1, "overdue": 2, "confirm": 3}


def test_lists_are_paged_by_key_both_ways() -> None:
    account = AccountFactory()
    same_time = ago(hours=1)
    made = [make_change(account=account, due_at=same_time, late_ms=5) for _ in range(3)]
    made += [make_change(account=account, due_at=ago(hours=2 + n), late_ms=5) for n in range(4)]
    expected = sorted(made, key=lambda c: (c.due_at, c.pk), reverse=True)
    query = lateness.ChangeQuery(show="all")
    qs = lateness.change_queryset(query, NOW)
    pages, cursor = [], ""
    while True:
        page = lateness.due_page(qs, cursor, newest_first=True, size=3)
        pages.append([c.pk for c in page.rows])
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert [pk for p in pages for pk in p] == [c.pk for c in expected]
    assert pages[0] == [c.pk for c in expected[:3]]  # the three of the same due time, by id
    back = lateness.due_page(qs, page.prev_cursor or "", newest_first=True, size=3)
    assert [c.pk for c in back.rows] == pages[-2]
    assert lateness.due_page(qs, "not a cursor", newest_first=True, size=3).rows[0] == expected[0]


def test_late_by_is_running_for_what_is_not_applied(assorted) -> None:
    assert lateness.late_by_ms(assorted["late"], NOW) == 120_000
    assert lateness.late_by_ms(assorted["overdue"], NOW) == 600_000
    assert lateness.late_by_ms(assorted["future"], NOW) is None


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0 ms"),
        (250, "250 ms"),
        (2_000, "2 s"),
        (59_999, "59 s"),
        (180_000, "3 min"),
        (3_600_000, "1 h"),
        (3_900_000, "1 h 5 min"),
        (86_400_000, "1 d"),
        (2 * 86_400_000 + 3 * 3_600_000, "2 d 3 h"),
    ],
)
def test_lateness_for_people(ms: int, text: str) -> None:
    assert lateness.human_duration(ms) == text


# --- the engine's health ----------------------------------------------------------------------


def _run(finished: datetime.datetime) -> ReconcilerRun:
    return ReconcilerRun.objects.create(
        started_at=finished - datetime.timedelta(seconds=1),
        finished_at=finished,
        window_from=finished - datetime.timedelta(minutes=3),
        window_to=finished,
    )


def test_the_engine_is_healthy_when_the_reconciler_ran_in_the_last_three_minutes() -> None:
    health = lateness.engine_health(NOW)
    assert health.last_run is None and not health.healthy
    _run(ago(minutes=10))
    assert not lateness.engine_health(NOW).healthy
    latest = _run(ago(minutes=2))
    health = lateness.engine_health(NOW)
    assert health.healthy and health.last_run == latest
    assert not lateness.engine_health(NOW + datetime.timedelta(minutes=2)).healthy
