"""Substitution orders: who may order them, what they refuse, and the grants they make.

Time is controlled with time-machine; the lifecycle engine is run as its tasks run it
(`apply.apply_due` at the due time), so "the grant starts and ends exactly with the period" is
checked on the `Change` rows and on what is in force at each moment, across both daylight-saving
changes of Tallinn (2026-10-25 and 2027-03-28).
"""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from tests.access.factories import AccountFactory, GrantFactory, RoleFactory
from tests.access.substitution_support import World, acting_grants, at, build_world
from tests.factories import make_user
from tugi.access.actions import grants as grant_actions
from tugi.access.actions import substitution as actions
from tugi.access.lifecycle import apply
from tugi.access.lifecycle.plan import day_start
from tugi.access.models import (
    Account,
    Change,
    Grant,
    GrantSuspension,
    SodException,
    SodRule,
    Substitution,
)
from tugi.access.queries import held_at
from tugi.core import audit
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.actions import record_absence
from tugi.people.models import Absence, Person

pytestmark = pytest.mark.django_db
NOW = at(2026, 10, 1, 10)
UTC = datetime.UTC


@pytest.fixture
def world() -> World:
    with time_machine.travel(NOW, tick=False):
        return build_world(at(2026, 1, 5))


def order(world: World, **kwargs):
    """An order by Mari's manager Jaan, 12–16 October, unless told otherwise."""
    values = {
        "absentee": world.absentee,
        "substitute": world.substitute,
        "starts_at": at(2026, 10, 12),
        "ends_at": at(2026, 10, 17),
        "ordered_by": world.unit_head,
        "directive": "Käskkiri 1-3/26",
    }
    values.update(kwargs)
    actor = values.pop("actor", world.unit_head_user)
    with time_machine.travel(values.pop("now", NOW), tick=False):
        return actions.order_substitution(actor, **values)


def in_force(person: Person, moment: datetime.datetime) -> set[str]:
    return set(
        Grant.objects.filter(person=person)
        .filter(held_at(moment))
        .values_list("role__code", flat=True)
    )


def messages(exc: pytest.ExceptionInfo) -> str:
    return " ".join(exc.value.messages)


# --- what an order does ------------------------------------------------------------------------


def test_an_order_passes_the_pension_roles_for_exactly_the_period(world):
    sub = order(world)
    assert sub.state == Substitution.State.ORDERED and sub.ordered_at == NOW
    # The default roles: Mari's delegable pension-insurance roles, not the ordinary one, not the
    # one that is not delegable.
    assert {r.code for r in sub.roles.all()} == {"PEN_PROC", "PKR_VIEW"}
    grants = acting_grants(sub)
    assert [(g.role.code, g.valid_from, g.valid_to) for g in grants] == [
        ("PEN_PROC", at(2026, 10, 12), at(2026, 10, 17)),
        ("PKR_VIEW", at(2026, 10, 12), at(2026, 10, 17)),
    ]
    for g in grants:
        assert g.basis == Grant.Basis.SUBSTITUTION and g.acting_for == world.absentee
        assert g.person == world.substitute
    # Kati had no SKAIS2 account: one is opened as requested, to become active at the start.
    account = grants[0].account
    assert account.person == world.substitute and account.state == Account.State.REQUESTED
    due = sorted((c.kind, c.due_at) for c in Change.objects.filter(grant__in=grants).order_by("id"))
    assert due == sorted(
        [(Change.Kind.GRANT_START, at(2026, 10, 12))] * 2
        + [(Change.Kind.GRANT_END, at(2026, 10, 17))] * 2
    )
    event = AuditEvent.objects.get(action="access.substitution.order")
    assert event.actor_label == "jaan" and event.after["created"] == [g.pk for g in grants]
    assert event.basis == "Käskkiri 1-3/26"
    assert audit.verify_chain().ok

    with time_machine.travel(at(2026, 10, 12, 0, 0, 1), tick=False):
        assert apply.apply_due().applied == 2
        assert in_force(world.substitute, at(2026, 10, 12, 0, 0, 1)) == {"PEN_PROC", "PKR_VIEW"}
    account.refresh_from_db()
    assert account.state == Account.State.ACTIVE
    assert in_force(world.substitute, at(2026, 10, 11, 23, 59, 59)) == set()
    assert in_force(world.substitute, at(2026, 10, 16, 23, 59, 59)) == {"PEN_PROC", "PKR_VIEW"}
    assert in_force(world.substitute, at(2026, 10, 17)) == set()


def test_an_existing_account_is_reused_and_chosen_roles_pass(world):
    account = AccountFactory(person=world.substitute, system=world.skais)
    sub = order(world, roles=[world.benefits])
    assert [(g.role, g.account) for g in acting_grants(sub)] == [(world.benefits, account)]


@pytest.mark.parametrize(
    ("first", "last", "start_utc", "end_utc"),
    [
        # Autumn: the clocks go back at 04:00 on 25 October 2026 (EEST → EET): 6 days + 1 hour.
        (
            datetime.date(2026, 10, 20),
            datetime.date(2026, 10, 25),
            datetime.datetime(2026, 10, 19, 21, tzinfo=UTC),
            datetime.datetime(2026, 10, 25, 22, tzinfo=UTC),
        ),
        # Spring: forward at 03:00 on 28 March 2027 (EET → EEST): 6 days - 1 hour.
        (
            datetime.date(2027, 3, 28),
            datetime.date(2027, 4, 2),
            datetime.datetime(2027, 3, 27, 22, tzinfo=UTC),
            datetime.datetime(2027, 4, 2, 21, tzinfo=UTC),
        ),
    ],
)
def test_the_period_holds_to_the_minute_across_a_daylight_saving_change(
    world, first, last, start_utc, end_utc
):
    with time_machine.travel(NOW, tick=False):
        absence = record_absence(
            None, world.absentee, kind=Absence.Kind.VACATION, starts_on=first, ends_on=last
        )
    start, end = day_start(first), day_start(last + datetime.timedelta(days=1))
    sub = order(world, starts_at=start, ends_at=end, absence=absence)
    (grant, _) = acting_grants(sub)
    # Midnight in Tallinn at both ends, whatever the offset that day.
    assert grant.valid_from == start_utc and grant.valid_to == end_utc
    ends = Change.objects.filter(grant=grant, kind=Change.Kind.GRANT_END).get()
    assert ends.due_at == end
    with time_machine.travel(end - datetime.timedelta(seconds=1), tick=False):
        apply.apply_due()
        assert "PEN_PROC" in in_force(world.substitute, end - datetime.timedelta(seconds=1))
    with time_machine.travel(end, tick=False):
        assert apply.apply_due().applied >= 2
    ends.refresh_from_db()
    assert ends.state == Change.State.APPLIED and ends.late_ms == 0
    assert in_force(world.substitute, end) == set()


def test_a_start_already_past_is_kept_on_the_order_but_grants_begin_now(world):
    sub = order(world, starts_at=at(2026, 9, 28), ends_at=at(2026, 10, 3))
    assert sub.starts_at == at(2026, 9, 28)
    assert {g.valid_from for g in acting_grants(sub)} == {NOW}


# --- authority ---------------------------------------------------------------------------------


def test_the_head_of_a_unit_above_and_hr_may_order(world):
    by_dept = order(world, actor=world.dept_head_user, ordered_by=world.dept_head)
    assert by_dept.ordered_by == world.dept_head
    by_hr = order(
        world,
        actor=world.hr_user,
        ordered_by=world.hr,
        starts_at=at(2026, 11, 2),
        ends_at=at(2026, 11, 6),
    )
    assert by_hr.ordered_by == world.hr and len(acting_grants(by_hr)) == 2


def test_the_desk_records_an_order_given_by_someone_with_authority(world):
    sub = order(world, actor=world.desk_user, ordered_by=world.unit_head)
    event = AuditEvent.objects.get(action="access.substitution.order", object_id=str(sub.pk))
    assert event.actor_label == "kalle" and sub.ordered_by == world.unit_head
    with pytest.raises(ValidationError) as exc:
        order(
            world,
            actor=world.desk_user,
            ordered_by=world.other_head,
            starts_at=at(2026, 11, 2),
            ends_at=at(2026, 11, 6),
        )
    assert "has no authority" in messages(exc)
    assert "ordered_by" in exc.value.message_dict


def test_someone_without_authority_is_refused(world):
    with pytest.raises(PermissionDenied) as exc:
        order(world, actor=world.other_head_user, ordered_by=world.other_head)
    assert "Only the manager of Mari Maasikas" in str(exc.value)
    # An approver cannot pass off an order as another head's.
    with pytest.raises(PermissionDenied, match="only the substitutions you order yourself"):
        order(world, actor=world.other_head_user, ordered_by=world.unit_head)
    requester = make_user("mari", AppRole.REQUESTER)
    with pytest.raises(PermissionDenied):
        order(world, actor=requester, ordered_by=world.unit_head)
    assert (
        not Substitution.objects.exists()
        and not Grant.objects.filter(substitution__isnull=False).exists()
    )


def test_authority_is_as_configured(world, settings):
    settings.TUGI_SUBSTITUTION_AUTHORITY = ("hr",)
    with pytest.raises(PermissionDenied):
        order(world)
    assert order(world, actor=world.hr_user, ordered_by=world.hr).pk


def test_nobody_orders_a_substitution_they_are_part_of(world):
    with pytest.raises(
        PermissionDenied, match="in which you are the absent person or the substitute"
    ):
        order(world, actor=world.substitute_user, ordered_by=world.substitute)
    with pytest.raises(ValidationError, match="Nobody orders their own substitution"):
        order(world, actor=world.desk_user, ordered_by=world.substitute)


# --- refusals ----------------------------------------------------------------------------------


def test_a_reversed_or_past_period_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        order(world, starts_at=at(2026, 10, 17), ends_at=at(2026, 10, 12))
    assert exc.value.message_dict == {"ends_at": ["The end must be after the start."]}
    with pytest.raises(ValidationError, match="already ended"):
        order(world, starts_at=at(2026, 9, 1), ends_at=at(2026, 9, 30))


def test_an_overlapping_order_for_the_same_role_is_refused(world):
    first = order(world)
    with pytest.raises(ValidationError) as exc:
        order(
            world,
            substitute=world.colleague,
            roles=[world.register],
            starts_at=at(2026, 10, 16),
            ends_at=at(2026, 10, 20),
        )
    assert exc.value.message_dict["roles"] == [
        f"“Registri vaataja” of Mari Maasikas is already passed to Kati Kask from 12.10.2026 "
        f"00:00 to 17.10.2026 00:00 (order {first.pk})."
    ]
    # Touching, not overlapping: the next period may start when the first ends.
    assert order(
        world, substitute=world.colleague, starts_at=at(2026, 10, 17), ends_at=at(2026, 10, 20)
    )


def test_a_substitute_who_is_away_or_gone_is_refused(world):
    with time_machine.travel(NOW, tick=False):
        record_absence(
            None,
            world.substitute,
            kind=Absence.Kind.SICK,
            starts_on=datetime.date(2026, 10, 16),
            ends_on=datetime.date(2026, 10, 20),
        )
    with pytest.raises(ValidationError) as exc:
        order(world)
    assert exc.value.message_dict["substitute"] == [
        "Kati Kask is absent themselves from 16.10.2026 to 20.10.2026 (sick leave)."
    ]
    world.colleague.employment_end = datetime.date(2026, 10, 14)
    world.colleague.save()
    with pytest.raises(ValidationError, match=r"works here only until 14\.10\.2026"):
        order(world, substitute=world.colleague)
    world.colleague.status = Person.Status.LEFT
    world.colleague.employment_end = datetime.date(2026, 9, 30)
    world.colleague.save()
    with pytest.raises(ValidationError, match="has left the agency"):
        order(world, substitute=world.colleague)


def test_nobody_substitutes_for_themselves(world):
    with pytest.raises(ValidationError) as exc:
        order(world, actor=world.desk_user, substitute=world.absentee)
    assert exc.value.message_dict["substitute"] == ["Nobody substitutes for themselves."]


def test_only_delegable_roles_the_absentee_holds_pass(world):
    other = RoleFactory(system=world.skais, delegable=True, name="Keegi teine")
    with pytest.raises(ValidationError) as exc:
        order(world, roles=[world.decide, other])
    assert exc.value.message_dict["roles"] == [
        "“Otsuste kinnitaja” cannot be passed to a substitute.",
        "Mari Maasikas does not hold “Keegi teine” of their own in that period (a role held as "
        "a substitute is never passed on).",
    ]
    # Held, but ending before the period: nothing to pass.
    with time_machine.travel(NOW, tick=False):
        grant_actions.end_grant(None, world.grants["benefits"], reason="moved")
    with pytest.raises(ValidationError, match="does not hold “Hüvitiste menetleja”"):
        order(world, roles=[world.benefits])


def test_the_absentees_own_grant_end_cuts_the_acting_grant(world):
    with time_machine.travel(NOW, tick=False):
        grant_actions.end_grant(None, world.grants["pension"], reason="x", at=at(2026, 10, 14, 12))
    sub = order(world)
    pension = next(g for g in acting_grants(sub) if g.role == world.pension)
    assert (pension.valid_from, pension.valid_to) == (at(2026, 10, 12), at(2026, 10, 14, 12))


def test_no_chains_a_substitutes_grant_is_never_passed_on(world):
    first = order(world)
    assert acting_grants(first)
    # Kati holds PEN_PROC only as Mari's substitute: her own substitute gets nothing from it.
    with pytest.raises(ValidationError) as exc:
        order(
            world,
            absentee=world.substitute,
            substitute=world.colleague,
            roles=[world.pension],
            starts_at=at(2026, 10, 13),
            ends_at=at(2026, 10, 15),
        )
    assert "does not hold “Pensionide menetleja” of their own" in messages(exc)
    # And without roles given, there is no default to take.
    with pytest.raises(ValidationError, match="holds no delegable pension-insurance role"):
        order(
            world,
            absentee=world.substitute,
            substitute=world.colleague,
            starts_at=at(2026, 10, 13),
            ends_at=at(2026, 10, 15),
        )


def test_a_segregation_of_duties_conflict_is_refused_unless_excepted(world):
    payments = RoleFactory(system=world.skais, name="Väljamaksete kinnitaja")
    rule = SodRule.objects.create(name="Otsus ja väljamakse", role_a=world.pension, role_b=payments)
    GrantFactory(
        account=AccountFactory(person=world.substitute, system=world.skais),
        role=payments,
        valid_from=at(2026, 1, 5),
    )
    with pytest.raises(ValidationError) as exc:
        order(world)
    assert exc.value.message_dict["substitute"] == [
        "Kati Kask would hold “Pensionide menetleja” together with “Väljamaksete kinnitaja”, "
        "which “Otsus ja väljamakse” forbids (segregation of duties), and no exception covers "
        "it."
    ]
    assert not Substitution.objects.exists()
    SodException.objects.create(
        rule=rule, person=world.substitute, valid_to=at(2026, 12, 31), justification="Puhkus"
    )
    assert order(world).state == Substitution.State.ORDERED


# --- exclusive mode ----------------------------------------------------------------------------


def test_exclusive_mode_suspends_the_absentees_grants_for_exactly_the_period(world):
    sub = order(world, exclusive=True)
    suspensions = list(
        GrantSuspension.objects.filter(grant__person=world.absentee).order_by("grant__role__code")
    )
    assert [(s.grant.role.code, s.starts_at, s.ends_at) for s in suspensions] == [
        ("PEN_PROC", at(2026, 10, 12), at(2026, 10, 17)),
        ("PKR_VIEW", at(2026, 10, 12), at(2026, 10, 17)),
    ]
    assert suspensions[0].reason == f"exclusive substitution order {sub.pk}"
    kinds = set(Change.objects.filter(grant__person=world.absentee).values_list("kind", "due_at"))
    assert kinds == {
        (Change.Kind.GRANT_SUSPEND, at(2026, 10, 12)),
        (Change.Kind.GRANT_RESUME, at(2026, 10, 17)),
    }
    middle = at(2026, 10, 14, 9)
    assert in_force(world.absentee, middle) == {"HYV_PROC", "PEN_DECIDE"}
    assert in_force(world.substitute, middle) == {"PEN_PROC", "PKR_VIEW"}
    # It resumes by itself when the period ends.
    assert {"PEN_PROC", "PKR_VIEW"} <= in_force(world.absentee, at(2026, 10, 17))


def test_exclusive_mode_works_around_a_suspension_already_there(world):
    with time_machine.travel(NOW, tick=False):
        grant_actions.suspend_grant(
            None,
            world.grants["pension"],
            reason="Puhkus: õigus on peatatud",
            starts_at=at(2026, 10, 12),
            ends_at=at(2026, 10, 14),
        )
    sub = order(world, exclusive=True)
    mine = GrantSuspension.objects.filter(
        grant=world.grants["pension"], reason=f"exclusive substitution order {sub.pk}"
    ).get()
    assert (mine.starts_at, mine.ends_at) == (at(2026, 10, 14), at(2026, 10, 17))


# --- cancelling and moving ---------------------------------------------------------------------


def test_cancelling_ends_running_grants_now_and_removes_future_ones(world):
    sub = order(world, exclusive=True, starts_at=at(2026, 9, 30), ends_at=at(2026, 10, 9))
    later = order(
        world,
        exclusive=True,
        substitute=world.colleague,
        starts_at=at(2026, 10, 19),
        ends_at=at(2026, 10, 24),
    )
    future_ids = [g.pk for g in acting_grants(later)]
    cancel_at = at(2026, 10, 2, 15)
    with time_machine.travel(cancel_at, tick=False):
        actions.cancel_substitution(world.unit_head_user, sub, reason="Mari tuli tagasi")
        actions.cancel_substitution(world.unit_head_user, later, reason="Puhkus jääb ära")
        # A second cancel changes nothing.
        actions.cancel_substitution(world.unit_head_user, later, reason="Puhkus jääb ära")
    sub.refresh_from_db()
    assert sub.state == Substitution.State.CANCELLED and sub.cancel_reason == "Mari tuli tagasi"
    assert {g.valid_to for g in acting_grants(sub)} == {cancel_at}
    # The grants that had not started are gone; their planned changes are cancelled.
    assert not Grant.objects.filter(pk__in=future_ids).exists()
    assert not Change.objects.filter(
        key__in=[f"grant_start:{pk}" for pk in future_ids], state=Change.State.PENDING
    ).exists()
    # The exclusive suspensions are lifted: the running one ends now, the future one is gone.
    own = GrantSuspension.objects.filter(grant__person=world.absentee)
    assert {(s.starts_at, s.ends_at) for s in own} == {(NOW, cancel_at)}
    assert in_force(world.absentee, cancel_at) >= {"PEN_PROC", "PKR_VIEW"}
    assert AuditEvent.objects.filter(action="access.substitution.cancel").count() == 2
    assert AuditEvent.objects.filter(action="access.grant.remove").count() == 2
    assert audit.verify_chain().ok


def test_changing_the_period_moves_the_grants_at_once(world):
    sub = order(world, exclusive=True, starts_at=at(2026, 9, 30), ends_at=at(2026, 10, 9))
    running = {g.role_id: g.pk for g in acting_grants(sub)}
    with time_machine.travel(at(2026, 10, 2), tick=False):
        actions.change_substitution_period(
            world.unit_head_user, sub, starts_at=at(2026, 9, 30), ends_at=at(2026, 10, 14)
        )
    grants = acting_grants(sub)
    # The running grants keep their start; only their end moved.
    assert {g.role_id: g.pk for g in grants} == running
    assert {g.valid_to for g in grants} == {at(2026, 10, 14)}
    assert {s.ends_at for s in GrantSuspension.objects.filter(grant__person=world.absentee)} == {
        at(2026, 10, 14)
    }
    assert set(
        Change.objects.filter(grant__in=grants, state=Change.State.PENDING).values_list(
            "kind", "due_at"
        )
    ) == {(Change.Kind.GRANT_END, at(2026, 10, 14))}
    with time_machine.travel(at(2026, 10, 3), tick=False):
        actions.change_substitution_period(
            world.unit_head_user, sub, starts_at=at(2026, 9, 30), ends_at=at(2026, 10, 5)
        )
    assert {g.valid_to for g in acting_grants(sub)} == {at(2026, 10, 5)}


def test_moving_a_future_order_makes_its_grants_anew(world):
    sub = order(world)
    old = {g.pk for g in acting_grants(sub)}
    with time_machine.travel(NOW, tick=False):
        actions.change_substitution_period(
            world.unit_head_user, sub, starts_at=at(2026, 10, 10), ends_at=at(2026, 10, 15)
        )
    grants = acting_grants(sub)
    assert not old & {g.pk for g in grants}
    assert {(g.valid_from, g.valid_to) for g in grants} == {(at(2026, 10, 10), at(2026, 10, 15))}
    assert set(Change.objects.filter(grant__in=grants).values_list("kind", "due_at")) == {
        (Change.Kind.GRANT_START, at(2026, 10, 10)),
        (Change.Kind.GRANT_END, at(2026, 10, 15)),
    }


def test_a_change_is_checked_like_an_order(world):
    sub = order(world)
    with time_machine.travel(NOW, tick=False):
        record_absence(
            None,
            world.substitute,
            kind=Absence.Kind.VACATION,
            starts_on=datetime.date(2026, 10, 19),
            ends_on=datetime.date(2026, 10, 23),
        )
        with pytest.raises(ValidationError, match="Kati Kask is absent themselves"):
            actions.change_substitution_period(
                world.unit_head_user, sub, starts_at=at(2026, 10, 12), ends_at=at(2026, 10, 21)
            )
        with pytest.raises(PermissionDenied):
            actions.change_substitution_period(
                world.other_head_user, sub, starts_at=at(2026, 10, 12), ends_at=at(2026, 10, 14)
            )
    assert {g.valid_to for g in acting_grants(sub)} == {at(2026, 10, 17)}
