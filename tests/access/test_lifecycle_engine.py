"""The lifecycle engine: boundaries become `Change` rows, applied on time and exactly once.

Time is controlled with time-machine; the Huey tasks are not involved here (the reconciler and
`apply_due` are called as the tasks call them). The worker processes themselves are exercised in
tests/integration/test_lifecycle_worker.py.
"""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from tests.access.factories import AccountFactory, GrantFactory, RoleFactory
from tests.factories import PersonFactory
from tugi.access.actions import grants as grant_actions
from tugi.access.lifecycle import apply, plan, reconcile
from tugi.access.models import Account, Change, Grant, ReconcilerRun
from tugi.core import audit
from tugi.core.models import AuditEvent

TALLINN = ZoneInfo("Europe/Tallinn")
pytestmark = pytest.mark.django_db


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TALLINN)


def applied_events(change: Change) -> int:
    return AuditEvent.objects.filter(action="access.change.apply", object_id=str(change.pk)).count()


def test_a_future_end_is_planned_and_applied_when_due(settings) -> None:
    settings.TUGI_DESK_EMAIL = "desk@tugi.example"
    with time_machine.travel(at(2026, 11, 2, 10), tick=False):
        grant = GrantFactory()
        grant_actions.end_grant(None, grant, reason="project over", at=at(2026, 11, 30, 17))
        change = Change.objects.get(grant=grant, kind=Change.Kind.GRANT_END)
        assert change.state == Change.State.PENDING
        assert change.due_at == at(2026, 11, 30, 17)
        assert apply.apply_due().applied == 0  # not yet due
    with time_machine.travel(at(2026, 11, 30, 17, 0, 2), tick=False):
        assert apply.apply_due().applied == 1
    change.refresh_from_db()
    assert change.state == Change.State.APPLIED
    assert change.late_ms == 2000
    assert change.confirmed_at is None  # a manual system: the desk confirms it was done
    assert applied_events(change) == 1
    with time_machine.travel(at(2026, 11, 30, 17, 1), tick=False):
        assert apply.apply_due().applied == 0  # a second run changes nothing
    assert applied_events(change) == 1
    assert audit.verify_chain().ok


def test_a_moved_end_cancels_the_old_change() -> None:
    with time_machine.travel(at(2026, 11, 2, 10), tick=False):
        grant = GrantFactory()
        grant_actions.end_grant(None, grant, reason="x", at=at(2026, 12, 31))
        grant_actions.end_grant(None, grant, reason="earlier", at=at(2026, 12, 15))
    states = dict(
        Change.objects.filter(grant=grant, kind=Change.Kind.GRANT_END).values_list(
            "due_at", "state"
        )
    )
    assert states == {at(2026, 12, 31): "cancelled", at(2026, 12, 15): "pending"}


def test_a_grant_starting_later_activates_its_requested_account() -> None:
    with time_machine.travel(at(2026, 11, 2, 10), tick=False):
        account = AccountFactory(state=Account.State.REQUESTED, opened_at=None)
        role = RoleFactory(system=account.system)
        grant = grant_actions.grant_role(
            None,
            account,
            role,
            valid_from=at(2026, 11, 3, 8),
            basis=Grant.Basis.SUBSTITUTION,
            acting_for=PersonFactory(),
        )
    with time_machine.travel(at(2026, 11, 3, 8, 0, 1), tick=False):
        reconcile.reconcile()
    account.refresh_from_db()
    assert account.state == Account.State.ACTIVE
    change = Change.objects.get(grant=grant, kind=Change.Kind.GRANT_START)
    assert change.state == Change.State.APPLIED and change.late_ms == 1000


def test_the_reconciler_repairs_a_boundary_nobody_planned() -> None:
    """A grant written without the action (a lost hook) still ends on time."""
    with time_machine.travel(at(2026, 11, 30, 16, 59), tick=False):
        reconcile.reconcile()  # the previous pass: the window starts here
        grant = GrantFactory(valid_to=at(2026, 11, 30, 17))
        assert not Change.objects.filter(grant=grant).exists()
    with time_machine.travel(at(2026, 11, 30, 17, 0, 30), tick=False):
        run = reconcile.reconcile()
    assert run.repaired == 1 and run.applied == 1
    change = Change.objects.get(grant=grant)
    assert change.kind == Change.Kind.GRANT_END and change.late_ms == 30_000


def test_the_reconciler_reads_only_its_window() -> None:
    """Old boundaries are history: the reconciler neither counts nor plans them."""
    with time_machine.travel(at(2026, 1, 1), tick=False):
        GrantFactory.create_batch(20, valid_to=at(2026, 6, 1))
    with time_machine.travel(at(2026, 11, 30, 16), tick=False):
        reconcile.reconcile()
        GrantFactory(valid_to=at(2026, 11, 30, 16, 1))
    with time_machine.travel(at(2026, 11, 30, 16, 2), tick=False):
        run = reconcile.reconcile()
    assert run.checked == 1
    assert Change.objects.count() == 1
    assert ReconcilerRun.objects.count() == 2


def test_a_month_end_burst_applies_every_change_once() -> None:
    month_end = at(2026, 12, 1)
    with time_machine.travel(at(2026, 11, 20), tick=False):
        accounts = AccountFactory.create_batch(60)
        grants = [GrantFactory(account=accounts[n % 60], valid_to=month_end) for n in range(1200)]
        assert plan.sync_grants([g.pk for g in grants]) == 1200
    with time_machine.travel(month_end + datetime.timedelta(seconds=1), tick=False):
        outcome = apply.apply_due()
        assert outcome.applied == 1200
        assert apply.apply_due().applied == 0
    assert Change.objects.filter(state=Change.State.APPLIED).count() == 1200
    events = AuditEvent.objects.filter(action="access.change.apply")
    assert events.count() == 1200
    assert events.values("object_id").distinct().count() == 1200
    assert audit.verify_chain().ok


def test_a_leaver_is_suspended_after_the_last_day_and_closed_later(settings) -> None:
    settings.TUGI_LEAVER_CLOSE_AFTER_DAYS = 30
    # The last day is just before the spring daylight-saving change (28.03.2027, 03:00 → 04:00).
    with time_machine.travel(at(2027, 3, 1), tick=False):
        grant = GrantFactory()
        person = grant.person
        person.employment_end = datetime.date(2027, 3, 27)
        person.save()
        assert plan.sync_leavers([person.pk]) == 2
    suspend = Change.objects.get(kind=Change.Kind.ACCOUNT_SUSPEND)
    assert suspend.due_at == at(2027, 3, 28, 0)
    assert suspend.due_at == datetime.datetime(2027, 3, 27, 22, tzinfo=datetime.UTC)
    with time_machine.travel(at(2027, 3, 27, 23, 59), tick=False):
        reconcile.reconcile()
    grant.account.refresh_from_db()
    assert grant.account.state == Account.State.ACTIVE
    with time_machine.travel(at(2027, 3, 28, 0, 0, 5), tick=False):
        reconcile.reconcile()
    grant.account.refresh_from_db()
    assert grant.account.state == Account.State.SUSPENDED
    with time_machine.travel(at(2027, 4, 27, 0, 0, 5), tick=False):
        reconcile.reconcile()
    grant.account.refresh_from_db()
    grant.refresh_from_db()
    assert grant.account.state == Account.State.CLOSED
    assert grant.valid_to == at(2027, 4, 27, 0, 0, 5)


def test_a_corrected_leaving_date_replaces_the_planned_changes() -> None:
    with time_machine.travel(at(2026, 11, 2), tick=False):
        account = AccountFactory()
        person = account.person
        person.employment_end = datetime.date(2026, 11, 30)
        person.save()
        plan.sync_leavers([person.pk])
        person.employment_end = None
        person.save()
        plan.sync_leavers([person.pk])
    assert set(Change.objects.values_list("state", flat=True)) == {"cancelled"}


def test_a_failing_change_is_retried_then_failed_and_reported(settings, monkeypatch) -> None:
    settings.TUGI_DESK_EMAIL = "desk@tugi.example"

    def broken(*args, **kwargs):
        raise RuntimeError("target unreachable")

    with time_machine.travel(at(2026, 11, 2), tick=False):
        grant = GrantFactory(valid_to=at(2026, 11, 2, 12))
        plan.sync_grants([grant.pk])
    monkeypatch.setattr(apply, "_TOUCHES_ACCOUNT", {Change.Kind.GRANT_END})
    monkeypatch.setattr(apply.Account.objects, "select_for_update", broken)
    now = at(2026, 11, 2, 12)
    for attempt in range(1, apply.MAX_ATTEMPTS + 1):
        with time_machine.travel(now, tick=False):
            outcome = apply.apply_due()
        change = Change.objects.get(grant=grant)
        assert change.attempts == attempt
        assert "target unreachable" in change.error
        now = change.next_try_at
    assert change.state == Change.State.FAILED and outcome.failed == 1
    with time_machine.travel(now, tick=False):
        reconcile.reconcile()
        reconcile.reconcile()  # told once, not every minute
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["desk@tugi.example"]
    assert "target unreachable" in mail.outbox[0].body


def test_an_overdue_change_is_reported_to_the_desk_once(settings) -> None:
    settings.TUGI_DESK_EMAIL = "desk@tugi.example"
    settings.TUGI_CHANGE_OVERDUE_MINUTES = 5
    with time_machine.travel(at(2026, 11, 2), tick=False):
        grant = GrantFactory(valid_to=at(2026, 11, 2, 12))
        plan.sync_grants([grant.pk])
    from tugi.access.lifecycle import alerts

    assert alerts.tell_desk_of_trouble(at(2026, 11, 2, 12, 4)) == 0
    assert alerts.tell_desk_of_trouble(at(2026, 11, 2, 12, 6)) == 1
    assert alerts.tell_desk_of_trouble(at(2026, 11, 2, 12, 7)) == 0
    assert len(mail.outbox) == 1 and grant.person.last_name in mail.outbox[0].body


def test_changes_are_due_in_tallinn_time_across_the_autumn_change() -> None:
    """A grant ending at midnight after the last October Sunday ends at 22:00 UTC, not 21:00."""
    with time_machine.travel(at(2026, 10, 20), tick=False):
        grant = GrantFactory()
        midnight = plan.day_start(datetime.date(2026, 10, 26))
        grant_actions.end_grant(None, grant, reason="x", at=midnight)
    change = Change.objects.get(grant=grant, kind=Change.Kind.GRANT_END)
    assert change.due_at == datetime.datetime(2026, 10, 25, 22, tzinfo=datetime.UTC)
    with time_machine.travel(datetime.datetime(2026, 10, 25, 21, 30, tzinfo=datetime.UTC)):
        assert apply.apply_due().applied == 0
    with time_machine.travel(datetime.datetime(2026, 10, 25, 22, 0, 1, tzinfo=datetime.UTC)):
        assert apply.apply_due().applied == 1
    assert timezone.localtime(change.due_at).hour == 0
