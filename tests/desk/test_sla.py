"""The SLA engine: priority, policy choice, the clock of a case, and the periodic SLA check.

Times are Tallinn wall-clock times in March–April 2026 unless said otherwise: Monday 2 March,
Thursday 5 March, Friday 6 March, Monday 9 March. Office hours are the default 08:30–17:00, so a
full working day is 8.5 hours.
"""

import datetime as dt

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.desk.factories import CaseFactory, SlaPolicyFactory
from tugi.core import audit
from tugi.core.models import AuditEvent
from tugi.desk import calendar, sla
from tugi.desk.calendar import TALLINN
from tugi.desk.models import Case
from tugi.desk.tasks import SlaCheckResult, check_sla, run_sla_check

HOUR = 3600
HIGH, MEDIUM, LOW = Case.Level.HIGH, Case.Level.MEDIUM, Case.Level.LOW


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TALLINN)


def mar(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return at(2026, 3, day, hour, minute)


@pytest.fixture
def p4(db):
    """Low priority: first response in 4 working hours, resolution in 40, warning 1 hour before."""
    return SlaPolicyFactory(
        priority=4, first_response_minutes=240, resolution_minutes=2400, warn_before_minutes=60
    )


@pytest.fixture
def p1(db):
    """Critical: first response in 30 working minutes, resolution in 8 hours."""
    return SlaPolicyFactory(
        priority=1, first_response_minutes=30, resolution_minutes=480, warn_before_minutes=15
    )


def new_case(now: dt.datetime, **fields) -> Case:
    """A case saved with its SLA started at `now`, as the intake action leaves it."""
    fields.setdefault("requester", None)
    case = CaseFactory(**fields)
    sla.start(case, now)
    case.save()
    return case


# --- priority and policy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "impact, urgency, priority",
    [
        (HIGH, HIGH, 1),
        (HIGH, MEDIUM, 2),
        (HIGH, LOW, 3),
        (MEDIUM, HIGH, 2),
        (MEDIUM, MEDIUM, 3),
        (MEDIUM, LOW, 4),
        (LOW, HIGH, 3),
        (LOW, MEDIUM, 4),
        (LOW, LOW, 4),
    ],
)
def test_priority_matrix(impact, urgency, priority):
    assert sla.priority_from(impact, urgency) == priority


@pytest.mark.parametrize("impact, urgency", [(0, 1), (1, 4), (None, 1)])
def test_priority_refuses_levels_outside_the_matrix(impact, urgency):
    with pytest.raises((ValueError, TypeError)):
        sla.priority_from(impact, urgency)


@pytest.mark.django_db
def test_policy_exact_category_first_then_priority_alone():
    general = SlaPolicyFactory(priority=2, category="")
    access = SlaPolicyFactory(priority=2, category=Case.Category.ACCESS)
    SlaPolicyFactory(priority=3, category=Case.Category.QUESTION)
    case = Case(priority=2, category=Case.Category.ACCESS)
    assert sla.choose_policy(case) == access
    case.category = Case.Category.MALFUNCTION
    assert sla.choose_policy(case) == general
    case.priority, case.category = 4, Case.Category.QUESTION
    assert sla.choose_policy(case) is None


# --- the clock ---------------------------------------------------------------------------------


def test_start_sets_priority_policy_and_due_times(p4, p1):
    case = new_case(mar(2, 10), impact=LOW, urgency=LOW)
    assert case.priority == 4 and case.sla_policy == p4
    assert case.sla_clock_started_at == mar(2, 10) and case.sla_used_seconds == 0
    assert case.first_response_due == mar(2, 14)
    # 40 h: Monday 7 h, Tuesday to Thursday 3 × 8.5 h, Friday 7.5 h.
    assert case.resolution_due == mar(6, 16)
    assert case.sla_due == case.first_response_due
    state = sla.state(case, mar(2, 13))
    assert state.status == "running" and state.target == "first_response"
    assert state.remaining_seconds == HOUR and state.due == mar(2, 14)
    assert not state.breached

    critical = new_case(mar(2, 10), impact=HIGH, urgency=HIGH)
    assert critical.priority == 1 and critical.sla_policy == p1
    assert critical.sla_due == mar(2, 10, 30)


def test_due_times_across_a_weekend_a_holiday_and_a_daylight_saving_change(db):
    SlaPolicyFactory(priority=2, first_response_minutes=480, resolution_minutes=960)
    # Opened Friday 16:00 before the clocks go forward on Sunday 29 March.
    case = new_case(mar(27, 16), impact=HIGH, urgency=MEDIUM)
    assert case.first_response_due == mar(30, 15, 30)
    assert case.first_response_due.utcoffset() == dt.timedelta(hours=3)
    # 16 h: Friday 1 h, Monday 8.5 h, Tuesday 6.5 h.
    assert case.resolution_due == mar(31, 15)
    # Opened the Thursday before Good Friday: Friday is a holiday, Easter Monday is worked.
    easter = new_case(at(2026, 4, 2, 16), impact=HIGH, urgency=MEDIUM)
    assert easter.first_response_due == at(2026, 4, 6, 15, 30)
    # Opened before the autumn change (Sunday 25 October).
    autumn = new_case(at(2026, 10, 23, 16), impact=HIGH, urgency=MEDIUM)
    assert autumn.first_response_due == at(2026, 10, 26, 15, 30)
    assert autumn.first_response_due.utcoffset() == dt.timedelta(hours=2)


def test_lifecycle_pause_over_a_weekend_moves_the_due_time_by_the_paused_working_time(p4):
    case = new_case(mar(5, 9))  # Thursday 09:00
    assert case.first_response_due == mar(5, 13)
    assert case.resolution_due == mar(11, 15)  # Thu 8 + Fri 8.5 + Mon 8.5 + Tue 8.5 + Wed 6.5

    sla.record_first_response(case, mar(5, 10))
    assert case.first_responded_at == mar(5, 10)
    assert case.sla_due == case.resolution_due == mar(11, 15)
    assert not sla.state(case, mar(5, 10)).first_response_breached

    # Friday 15:00: the desk asks the requester something; the clock stops over the weekend.
    sla.pause(case, mar(6, 15))
    assert case.sla_clock_started_at is None and case.sla_due is None
    assert case.sla_used_seconds == int(14.5 * HOUR)
    paused = sla.state(case, mar(8, 12))  # Sunday
    assert paused.status == "paused" and paused.due is None
    assert paused.target == "resolution"
    assert paused.remaining_seconds == 40 * HOUR - int(14.5 * HOUR)
    assert sla.state(case, mar(9, 10)).remaining_seconds == paused.remaining_seconds

    # Monday 11:00 the requester answers.
    old_due = case.resolution_due
    sla.resume(case, mar(9, 11))
    assert case.sla_clock_started_at == mar(9, 11)
    assert case.resolution_due == case.sla_due == mar(12, 11)
    paused_working_time = calendar.working_seconds_between(mar(6, 15), mar(9, 11))
    assert paused_working_time == int(4.5 * HOUR)
    assert calendar.working_seconds_between(old_due, case.resolution_due) == paused_working_time

    # Resolved on Wednesday 12:00: the used time is frozen, nothing is due any more.
    sla.stop(case, mar(11, 12))
    assert case.sla_clock_started_at is None and case.sla_due is None
    assert case.sla_used_seconds == int(14.5 * HOUR) + int(18 * HOUR)
    case.status = Case.Status.RESOLVED
    for later in (mar(11, 12), mar(20, 12)):
        stopped = sla.state(case, later)
        assert stopped.status == "stopped" and stopped.remaining_seconds is None
        assert stopped.used_seconds == int(32.5 * HOUR)
        assert not stopped.breached


def test_pause_resume_and_first_response_are_idempotent(p4):
    case = new_case(mar(2, 10))
    sla.record_first_response(case, mar(2, 11))
    sla.record_first_response(case, mar(2, 12))
    assert case.first_responded_at == mar(2, 11)
    sla.pause(case, mar(2, 13))
    sla.pause(case, mar(2, 15))
    assert case.sla_used_seconds == 3 * HOUR
    sla.resume(case, mar(3, 9))
    due = case.sla_due
    sla.resume(case, mar(3, 10))
    assert case.sla_clock_started_at == mar(3, 9) and case.sla_due == due


def test_missed_targets_show_in_the_state(p4):
    case = new_case(mar(2, 10))
    overdue = sla.state(case, mar(9, 10))
    # Used: Monday 7 h, Tuesday to Friday 4 × 8.5 h, Monday 1.5 h = 42.5 h.
    assert overdue.used_seconds == int(42.5 * HOUR)
    assert overdue.first_response_breached and overdue.resolution_breached
    assert overdue.remaining_seconds == 4 * HOUR - int(42.5 * HOUR)

    late = new_case(mar(2, 10))
    sla.record_first_response(late, mar(2, 15))
    assert sla.state(late, mar(2, 15)).first_response_breached
    assert not sla.state(late, mar(2, 15)).resolution_breached


def test_an_overdue_target_keeps_its_real_due_time_across_a_pause(p4):
    case = new_case(mar(2, 10))
    case.sla_breached_at = mar(2, 14, 1)  # as the SLA check marks it
    sla.pause(case, mar(2, 15))
    sla.resume(case, mar(3, 10))
    assert case.first_response_due == case.sla_due == mar(2, 14)
    # Still the same breached target: the flag stays and no second breach is announced.
    assert case.sla_breached_at == mar(2, 14, 1)


def test_a_reply_while_paused_is_on_time_if_time_was_left(p4):
    case = new_case(mar(2, 10))  # first response due Monday 14:00
    sla.pause(case, mar(2, 11))  # one hour used
    sla.record_first_response(case, mar(3, 16))  # Tuesday, clock stopped
    assert not sla.state(case, mar(3, 16)).first_response_breached
    assert case.first_response_due == mar(4, 10, 30)  # where it would be now: 3 h left
    sla.resume(case, mar(4, 9))
    assert case.sla_due == case.resolution_due


def test_reprioritise_keeps_the_used_time(p4, p1):
    case = new_case(mar(2, 10))
    case.impact = case.urgency = HIGH
    sla.reprioritise(case, mar(2, 11))
    assert case.priority == 1 and case.sla_policy == p1
    assert case.sla_used_seconds == HOUR and case.sla_clock_started_at == mar(2, 11)
    # 30 minutes were due and one hour is used: overdue since 10:30.
    assert case.first_response_due == case.sla_due == mar(2, 10, 30)
    assert case.resolution_due == mar(3, 9, 30)  # 7 h left: Monday 6 h, Tuesday 1 h
    case.sla_warned_at = case.sla_breached_at = mar(2, 11, 1)  # the check marks it

    case.impact = case.urgency = LOW
    sla.reprioritise(case, mar(2, 11, 30))
    assert case.priority == 4 and case.sla_policy == p4
    assert case.first_response_due == case.sla_due == mar(2, 14)  # as if never raised
    # The current target is no longer breached nor within its warning window.
    assert case.sla_breached_at is None and case.sla_warned_at is None


def test_reprioritise_with_the_same_policy_changes_nothing(p4):
    case = new_case(mar(2, 10))
    before = (case.first_response_due, case.resolution_due, case.sla_due)
    sla.reprioritise(case, mar(2, 16))
    assert (case.first_response_due, case.resolution_due, case.sla_due) == before
    assert sla.state(case, mar(2, 16)).used_seconds == 6 * HOUR


def test_reprioritise_while_paused_takes_effect_on_resume(p4, p1):
    case = new_case(mar(2, 10))
    sla.pause(case, mar(2, 10, 10))
    case.impact = case.urgency = HIGH
    sla.reprioritise(case, mar(2, 12))
    assert case.sla_policy == p1 and case.sla_due is None
    sla.resume(case, mar(2, 13))
    assert case.first_response_due == case.sla_due == mar(2, 13, 20)


def test_a_policy_created_later_counts_the_time_already_used(db):
    case = new_case(mar(2, 10))
    assert case.sla_policy is None and sla.state(case, mar(2, 11)).status == "none"
    assert case.sla_due is None
    SlaPolicyFactory(priority=4, first_response_minutes=240, resolution_minutes=2400)
    sla.reprioritise(case, mar(2, 12))
    assert case.first_response_due == case.sla_due == mar(2, 14)


def test_naive_times_are_refused(p4):
    case = new_case(mar(2, 10))
    with pytest.raises(ValueError, match="naive"):
        sla.pause(case, dt.datetime(2026, 3, 2, 11))


# --- the periodic check ------------------------------------------------------------------------


def _events(action: str) -> list[str]:
    return list(AuditEvent.objects.filter(action=action).values_list("object_id", flat=True))


def _scene() -> dict[str, Case]:
    """Cases as they stand on Monday 9 March at 13:30 (first response due 4 working hours on)."""
    cases = {
        "warn": new_case(mar(9, 10)),  # due 14:00: within the hour
        "breach": new_case(mar(9, 9)),  # due 13:00: past
        "later": new_case(mar(9, 13)),  # due 17:00
        "paused": new_case(mar(9, 9)),
        "resolved": new_case(mar(9, 8, 30)),
    }
    sla.pause(cases["paused"], mar(9, 12))
    cases["paused"].status = Case.Status.WAITING_REQUESTER
    sla.stop(cases["resolved"], mar(9, 12))
    cases["resolved"].status = Case.Status.RESOLVED
    for case in cases.values():
        case.save()
    return cases


def test_check_sla_marks_warnings_and_breaches_once(p4, django_capture_on_commit_callbacks):
    cases = _scene()
    sent: list[tuple[str, list[int]]] = []

    def receiver(sender, kind, case_ids, at, **kwargs):
        sent.append((kind, case_ids))

    sla.sla_event.connect(receiver)
    try:
        now = mar(9, 13, 30)
        with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
            check_sla.call_local()
        fresh = {name: Case.objects.get(pk=case.pk) for name, case in cases.items()}
        assert fresh["warn"].sla_warned_at == now and fresh["warn"].sla_breached_at is None
        assert fresh["breach"].sla_breached_at == now and fresh["breach"].sla_warned_at is None
        for name in ("later", "paused", "resolved"):
            assert (fresh[name].sla_warned_at, fresh[name].sla_breached_at) == (None, None), name
        assert _events("desk.case.sla_warning") == [str(cases["warn"].pk)]
        assert _events("desk.case.sla_breach") == [str(cases["breach"].pk)]
        assert sorted(sent) == [("breach", [cases["breach"].pk]), ("warning", [cases["warn"].pk])]

        # A second run a minute later changes nothing and says nothing.
        sent.clear()
        with (
            time_machine.travel(mar(9, 13, 31), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            check_sla.call_local()
        assert Case.objects.get(pk=cases["warn"].pk).sla_warned_at == now
        assert len(_events("desk.case.sla_warning")) == len(_events("desk.case.sla_breach")) == 1
        assert sent == []

        # Past its due time the warned case breaches, once; the warning is not repeated.
        result = run_sla_check(mar(9, 14, 1))
        assert result.breached == [cases["warn"].pk] and result.warned == []
        assert sorted(_events("desk.case.sla_breach")) == sorted(
            [str(cases["breach"].pk), str(cases["warn"].pk)]
        )
    finally:
        sla.sla_event.disconnect(receiver)
    assert audit.verify_chain().ok


def test_the_warning_window_is_working_time(p4):
    # Due Monday 09:00: 3.5 h on Friday from 13:30, then 30 minutes on Monday.
    case = new_case(mar(6, 13, 30))
    assert case.sla_due == mar(9, 9)
    assert run_sla_check(mar(6, 16)).warned == []  # 1.5 working hours before
    # Friday 16:30 is 64 wall-clock hours before but one working hour: warn now.
    assert run_sla_check(mar(6, 16, 30)).warned == [case.pk]


def test_each_target_gets_its_own_warning(p4):
    case = new_case(mar(2, 10))
    assert run_sla_check(mar(2, 13, 15)).warned == [case.pk]
    case.refresh_from_db()
    sla.record_first_response(case, mar(2, 13, 20))
    case.save()
    assert case.sla_warned_at is None and case.sla_due == mar(6, 16)
    assert run_sla_check(mar(6, 14, 59)).warned == []
    assert run_sla_check(mar(6, 15)).warned == [case.pk]
    assert run_sla_check(mar(6, 16, 1)).breached == [case.pk]
    assert len(_events("desk.case.sla_warning")) == 2


class _Rollback(Exception):
    pass


def _queries_of_a_check(now: dt.datetime) -> tuple[int, SlaCheckResult]:
    """Run the check inside a transaction that is rolled back, so it can be run again."""
    with CaptureQueriesContext(connection) as queries:
        try:
            with transaction.atomic():
                result = run_sla_check(now)
                raise _Rollback
        except _Rollback:
            pass
    return len(queries), result


def test_the_check_costs_the_same_whatever_the_number_of_cases_not_due(p4, p1):
    now = mar(9, 13, 30)
    cases = _scene()
    count, result = _queries_of_a_check(now)
    assert (result.breached, result.warned) == ([cases["breach"].pk], [cases["warn"].pk])

    # Thirty more cases of every kind that is not due now: open and later, paused, resolved,
    # already marked, without a policy.
    for _ in range(6):
        new_case(mar(9, 13))
        marked = new_case(mar(9, 9))
        marked.sla_breached_at = mar(9, 13, 1)
        marked.save()
        paused = new_case(mar(9, 9))
        sla.pause(paused, mar(9, 10))
        paused.save()
        resolved = new_case(mar(9, 9))
        sla.stop(resolved, mar(9, 10))
        resolved.status = Case.Status.CLOSED
        resolved.save()
        new_case(mar(9, 9), impact=MEDIUM, urgency=MEDIUM)  # priority 3: no policy
    assert Case.objects.count() == 35

    count_with_more, result_with_more = _queries_of_a_check(now)
    assert count_with_more == count
    assert result_with_more == result


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite query plan")
def test_the_check_queries_use_the_due_index(p4):
    now = mar(9, 13, 30)
    for queryset in (sla.find_breaches(now), sla.find_due_warnings(now)):
        plan = queryset.explain()
        assert "case_status_due" in plan, plan


def test_check_sla_is_scheduled_every_minute():
    task = check_sla.s()
    for hour, minute in [(0, 0), (13, 37), (23, 59)]:
        assert task.validate_datetime(dt.datetime(2026, 3, 2, hour, minute))
