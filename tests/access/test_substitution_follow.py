"""Substitutions follow what they depend on: the absence, and the absentee's own grants."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from tests.access.substitution_support import World, acting_grants, at, build_world
from tugi.access.actions import grants as grant_actions
from tugi.access.actions import substitution as actions
from tugi.access.lifecycle import substitution as engine
from tugi.access.models import Change, Grant, GrantSuspension, Substitution
from tugi.core import audit
from tugi.core.models import AuditEvent
from tugi.people.actions import cancel_absence, change_absence, record_absence
from tugi.people.models import Absence

pytestmark = pytest.mark.django_db
NOW = at(2026, 10, 1, 10)
D = datetime.date


@pytest.fixture
def world() -> World:
    with time_machine.travel(NOW, tick=False):
        return build_world(at(2026, 1, 5))


def vacation(world: World, first: datetime.date, last: datetime.date, person=None) -> Absence:
    with time_machine.travel(NOW, tick=False):
        return record_absence(
            world.hr_user,
            person or world.absentee,
            kind=Absence.Kind.VACATION,
            starts_on=first,
            ends_on=last,
            source=Absence.Source.SCHEDULE,
        )


def order_for(world: World, absence: Absence, **kwargs) -> Substitution:
    period = engine.absence_period(absence)
    with time_machine.travel(kwargs.pop("now", NOW), tick=False):
        return actions.order_substitution(
            world.unit_head_user,
            absentee=world.absentee,
            substitute=world.substitute,
            starts_at=kwargs.pop("starts_at", period.start),
            ends_at=kwargs.pop("ends_at", period.end),
            ordered_by=world.unit_head,
            absence=absence,
            **kwargs,
        )


def periods(order: Substitution) -> set[tuple[datetime.datetime, datetime.datetime | None]]:
    return {(g.valid_from, g.valid_to) for g in acting_grants(order)}


# --- the absence -------------------------------------------------------------------------------


def test_a_moved_absence_moves_its_order_and_grants_at_once(world):
    absence = vacation(world, D(2026, 10, 12), D(2026, 10, 16))
    order = order_for(world, absence, exclusive=True)
    with time_machine.travel(NOW, tick=False):
        change_absence(world.hr_user, absence, starts_on=D(2026, 10, 14), ends_on=D(2026, 10, 21))
    order.refresh_from_db()
    assert (order.starts_at, order.ends_at) == (at(2026, 10, 14), at(2026, 10, 22))
    assert periods(order) == {(at(2026, 10, 14), at(2026, 10, 22))}
    assert {
        (s.starts_at, s.ends_at)
        for s in GrantSuspension.objects.filter(grant__person=world.absentee)
    } == {(at(2026, 10, 14), at(2026, 10, 22))}
    event = AuditEvent.objects.get(action="access.substitution.period")
    assert event.actor_label == "system" and event.basis == f"absence {absence.pk} changed"
    assert audit.verify_chain().ok


def test_a_boundary_the_order_set_itself_stays(world):
    absence = vacation(world, D(2026, 10, 12), D(2026, 10, 23))
    # The manager ordered a substitute for the first week only.
    order = order_for(world, absence, ends_at=at(2026, 10, 17))
    with time_machine.travel(NOW, tick=False):
        change_absence(world.hr_user, absence, starts_on=D(2026, 10, 13), ends_on=D(2026, 10, 30))
    order.refresh_from_db()
    assert (order.starts_at, order.ends_at) == (at(2026, 10, 13), at(2026, 10, 17))
    # Shortened to before the order's own end: the order ends with the absence.
    with time_machine.travel(NOW, tick=False):
        change_absence(world.hr_user, absence, starts_on=D(2026, 10, 13), ends_on=D(2026, 10, 14))
    order.refresh_from_db()
    assert periods(order) == {(at(2026, 10, 13), at(2026, 10, 15))}


def test_an_absence_cut_short_ends_the_running_grants_now(world):
    absence = vacation(world, D(2026, 9, 28), D(2026, 10, 9))
    order = order_for(world, absence)
    assert periods(order) == {(NOW, at(2026, 10, 10))}
    # Mari came back on Monday; HR records it on Tuesday afternoon.
    with time_machine.travel(at(2026, 10, 6, 14), tick=False):
        change_absence(world.hr_user, absence, starts_on=D(2026, 9, 28), ends_on=D(2026, 10, 4))
    assert periods(order) == {(NOW, at(2026, 10, 6, 14))}
    order.refresh_from_db()
    assert order.ends_at == at(2026, 10, 5) and order.state == Substitution.State.ORDERED


def test_a_cancelled_absence_cancels_its_orders(world):
    absence = vacation(world, D(2026, 10, 12), D(2026, 10, 16))
    order = order_for(world, absence)
    ids = [g.pk for g in acting_grants(order)]
    with time_machine.travel(NOW, tick=False):
        cancel_absence(world.hr_user, absence, reason="Puhkus lükkus edasi")
    order.refresh_from_db()
    assert order.state == Substitution.State.CANCELLED
    assert order.cancel_reason == f"absence {absence.pk} cancelled"
    assert not Grant.objects.filter(pk__in=ids).exists()


def test_an_absence_change_the_order_cannot_follow_is_refused_whole(world):
    absence = vacation(world, D(2026, 10, 12), D(2026, 10, 16))
    order = order_for(world, absence)
    vacation(world, D(2026, 10, 19), D(2026, 10, 23), person=world.substitute)
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError) as exc:
        change_absence(world.hr_user, absence, starts_on=D(2026, 10, 12), ends_on=D(2026, 10, 20))
    assert (
        f"The substitution of Mari Maasikas by Kati Kask (order {order.pk}) cannot follow this "
        "change: Kati Kask is absent themselves from 19.10.2026 to 23.10.2026 (vacation)."
    ) in " ".join(exc.value.messages)
    absence.refresh_from_db()
    assert absence.ends_on == D(2026, 10, 16)
    assert periods(order) == {(at(2026, 10, 12), at(2026, 10, 17))}
    assert not AuditEvent.objects.filter(action="people.absence.update").exists()


# --- the absentee's own grants -----------------------------------------------------------------


def test_when_the_absentees_grant_ends_the_acting_grant_ends_with_it(world):
    absence = vacation(world, D(2026, 9, 28), D(2026, 10, 16))
    order = order_for(world, absence)
    # Mari's pension role ends on the 8th (she moves to another post after her vacation).
    with time_machine.travel(at(2026, 10, 2), tick=False):
        grant_actions.end_grant(
            world.desk_user, world.grants["pension"], reason="Üleviimine", at=at(2026, 10, 8)
        )
    by_role = {g.role.code: g for g in acting_grants(order)}
    assert by_role["PEN_PROC"].valid_to == at(2026, 10, 8)
    assert by_role["PKR_VIEW"].valid_to == at(2026, 10, 17)
    assert Change.objects.get(
        grant=by_role["PEN_PROC"], kind=Change.Kind.GRANT_END, state=Change.State.PENDING
    ).due_at == at(2026, 10, 8)
    sync = AuditEvent.objects.get(action="access.substitution.sync")
    assert sync.basis == f"the absent person's grant {world.grants['pension'].pk} changed"
    # Now: the acting grant ends at once.
    with time_machine.travel(at(2026, 10, 3, 9), tick=False):
        grant_actions.end_grant(world.desk_user, world.grants["register"], reason="Viga")
    by_role = {g.role.code: g for g in acting_grants(order)}
    assert by_role["PKR_VIEW"].valid_to == at(2026, 10, 3, 9)


def test_a_suspension_beyond_the_absence_is_shared_and_lifted_with_it(world):
    absence = vacation(world, D(2026, 9, 28), D(2026, 10, 16))
    order = order_for(world, absence)
    pension = next(g for g in acting_grants(order) if g.role == world.pension)
    # The desk suspends Mari's right until further notice (an incident): the right itself is
    # withdrawn, so her substitute does not keep it.
    with time_machine.travel(at(2026, 10, 2), tick=False):
        source = grant_actions.suspend_grant(
            world.desk_user, world.grants["pension"], reason="Intsident"
        )
    mirror = GrantSuspension.objects.get(grant=pension)
    assert mirror.reason == f"suspended with the absent person's grant (suspension {source.pk})"
    # For as long as the acting grant lasts.
    assert (mirror.starts_at, mirror.ends_at) == (at(2026, 10, 2), at(2026, 10, 17))
    with time_machine.travel(at(2026, 10, 5, 8), tick=False):
        grant_actions.resume_grant(world.desk_user, world.grants["pension"], reason="Selgitatud")
    mirror.refresh_from_db()
    assert mirror.ends_at == at(2026, 10, 5, 8)


def test_a_suspension_for_the_absence_itself_is_not_shared(world):
    absence = vacation(world, D(2026, 10, 12), D(2026, 10, 16))
    order = order_for(world, absence)
    with time_machine.travel(NOW, tick=False):
        grant_actions.suspend_grant(
            world.desk_user,
            world.grants["pension"],
            reason="Puhkus: tundlik õigus on peatatud",
            starts_at=at(2026, 10, 12),
            ends_at=at(2026, 10, 17),
        )
    assert not GrantSuspension.objects.filter(grant__substitution=order).exists()


def test_the_repair_pass_catches_what_changed_without_an_action(world):
    absence = vacation(world, D(2026, 10, 12), D(2026, 10, 16))
    order = order_for(world, absence)
    # The engine closed Mari's account (a leaver's): its grants ended by a bulk update.
    Grant.objects.filter(pk=world.grants["pension"].pk).update(valid_to=at(2026, 10, 14))
    with time_machine.travel(at(2026, 10, 2), tick=False):
        assert engine.sync_all() == 1
        assert engine.sync_all() == 0  # idempotent
    by_role = {g.role.code: g for g in acting_grants(order)}
    assert by_role["PEN_PROC"].valid_to == at(2026, 10, 14)
