"""Proposals from the vacation schedule, their confirmation, and the notices (once each)."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied

from tests.access.substitution_support import World, acting_grants, at, build_world
from tugi.access.actions import substitution as actions
from tugi.access.lifecycle import substitution_notices as notices
from tugi.access.lifecycle import substitution_tasks
from tugi.access.models import Grant, Substitution
from tugi.core.models import AuditEvent
from tugi.people.actions import record_absence
from tugi.people.models import Absence

pytestmark = pytest.mark.django_db
NOW = at(2026, 10, 1, 10)
D = datetime.date


@pytest.fixture
def world() -> World:
    with time_machine.travel(NOW, tick=False):
        return build_world(at(2026, 1, 5))


def vacation(world, first, last, person=None) -> Absence:
    with time_machine.travel(NOW, tick=False):
        return record_absence(
            None,
            person or world.absentee,
            kind=Absence.Kind.VACATION,
            starts_on=first,
            ends_on=last,
            source=Absence.Source.SCHEDULE,
        )


TODAY = D(2026, 10, 1)


def propose(today=TODAY, moment=NOW) -> list[Substitution]:
    with time_machine.travel(moment, tick=False):
        return actions.propose_from_absences(None, today=today)


# --- proposals ---------------------------------------------------------------------------------


def proposal_for(absence: Absence) -> Substitution:
    return Substitution.objects.get(absence=absence, state=Substitution.State.PROPOSED)


def test_an_absence_coming_up_gets_a_proposal_from_the_job_description(
    world, django_capture_on_commit_callbacks
):
    far = vacation(world, D(2026, 11, 2), D(2026, 11, 6))  # too far ahead for now
    # Recorded within the proposal window: proposed at once, not by the next morning's run.
    with django_capture_on_commit_callbacks(execute=True):
        absence = vacation(world, D(2026, 10, 12), D(2026, 10, 16))
    proposal = proposal_for(absence)
    assert not Substitution.objects.filter(absence=far).exists()
    assert proposal.state == Substitution.State.PROPOSED and proposal.absence == absence
    # Kask before Pärn: the holders of the "substituted by" position, by name.
    assert proposal.substitute == world.substitute
    assert (proposal.starts_at, proposal.ends_at) == (at(2026, 10, 12), at(2026, 10, 17))
    assert {r.code for r in proposal.roles.all()} == {"PEN_PROC", "PKR_VIEW"}
    assert proposal.ordered_by is None
    assert not Grant.objects.filter(substitution=proposal).exists()  # nothing until confirmed
    # The manager is asked to confirm it.
    (message,) = mail.outbox
    assert message.to == [world.unit_head.email]
    assert message.subject == "Substitution for Mari Maasikas awaits your confirmation"
    assert "Mari Maasikas is absent 12.10.2026–16.10.2026 (vacation)." in message.body
    assert "The job description names Kati Kask as the substitute." in message.body
    assert f"/access/substitutions/{proposal.pk}/" in message.body
    event = AuditEvent.objects.get(action="access.substitution.propose")
    assert event.actor_label == "system" and event.basis == f"absence {absence.pk}"
    # Once per absence.
    assert propose() == []


def test_a_candidate_who_cannot_substitute_gives_way_to_the_next(world):
    vacation(world, D(2026, 10, 14), D(2026, 10, 15), person=world.substitute)
    absence = vacation(world, D(2026, 10, 12), D(2026, 10, 16))
    assert proposal_for(absence).substitute == world.colleague


def test_no_proposal_without_a_substitute_position_or_a_role_to_pass(world):
    world.lead_position.job_descriptions.get().substituted_by.clear()
    vacation(world, D(2026, 10, 12), D(2026, 10, 16))
    vacation(world, D(2026, 10, 12), D(2026, 10, 16), person=world.colleague)
    assert propose() == [] and not Substitution.objects.exists()


def test_the_manager_confirms_a_proposal_into_an_order(world):
    proposal = proposal_for(vacation(world, D(2026, 10, 12), D(2026, 10, 16)))
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(PermissionDenied):
            actions.confirm_proposal(world.other_head_user, proposal)
        # The desk records orders others give; confirming is giving one.
        with pytest.raises(PermissionDenied):
            actions.confirm_proposal(world.desk_user, proposal)
        order = actions.confirm_proposal(
            world.unit_head_user, proposal, directive="Käskkiri 1-3/27", exclusive=True
        )
    assert order.state == Substitution.State.ORDERED and order.ordered_by == world.unit_head
    assert order.exclusive and order.directive == "Käskkiri 1-3/27"
    assert {(g.valid_from, g.valid_to) for g in acting_grants(order)} == {
        (at(2026, 10, 12), at(2026, 10, 17))
    }
    assert AuditEvent.objects.get(action="access.substitution.confirm").actor_label == "jaan"


def test_an_order_made_by_hand_supersedes_the_proposal(world):
    proposal = proposal_for(vacation(world, D(2026, 10, 12), D(2026, 10, 16)))
    with time_machine.travel(NOW, tick=False):
        order = actions.order_substitution(
            world.hr_user,
            absentee=world.absentee,
            substitute=world.colleague,
            starts_at=at(2026, 10, 12),
            ends_at=at(2026, 10, 17),
            ordered_by=world.hr,
        )
    proposal.refresh_from_db()
    assert proposal.state == Substitution.State.CANCELLED
    assert proposal.cancel_reason == f"superseded by order {order.pk}"


def test_the_daily_task_makes_the_proposals(world):
    absence = vacation(world, D(2026, 11, 2), D(2026, 11, 6))
    assert not Substitution.objects.exists()
    with time_machine.travel(at(2026, 10, 18, 6, 30), tick=False):
        assert substitution_tasks.propose_substitutions.call_local() == 0  # 15 days ahead
    with time_machine.travel(at(2026, 10, 19, 6, 30), tick=False):
        assert substitution_tasks.propose_substitutions.call_local() == 1
        assert substitution_tasks.propose_substitutions.call_local() == 0
    assert proposal_for(absence).substitute == world.substitute


# --- notices before the start ------------------------------------------------------------------


def test_the_substitute_and_the_manager_are_told_once_before_the_start(
    world, settings, django_capture_on_commit_callbacks
):
    settings.TUGI_SUBSTITUTION_NOTICE_DAYS = 2
    with time_machine.travel(NOW, tick=False):
        order = actions.order_substitution(
            world.dept_head_user,
            absentee=world.absentee,
            substitute=world.substitute,
            starts_at=at(2026, 10, 12),
            ends_at=at(2026, 10, 17),
            ordered_by=world.dept_head,
            directive="Käskkiri 1-3/26",
            exclusive=True,
        )
    with time_machine.travel(at(2026, 10, 9, 23, 59), tick=False):
        assert notices.send_due_notices() == 0
    assert mail.outbox == []
    with (
        time_machine.travel(at(2026, 10, 10, 0, 5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert substitution_tasks.substitution_notices.call_local() == 1
        assert notices.send_due_notices() == 0
        assert notices.send_start_notice(order.pk) is False
    with time_machine.travel(at(2026, 10, 13), tick=False):
        assert notices.send_due_notices() == 0  # under way, and told already
    (message,) = mail.outbox
    assert sorted(message.to) == sorted([world.substitute.email, world.unit_head.email])
    assert message.subject == "Substitution 12.10.2026–16.10.2026: Kati Kask acts for Mari Maasikas"
    assert "Roles passed on: Pensionide menetleja (SKAIS2), Registri vaataja (SKAIS2)." in (
        message.body
    )
    assert "Ordered by: Käskkiri 1-3/26." in message.body
    assert "Exclusive:" in message.body
    (event,) = AuditEvent.objects.filter(action="access.substitution.notice")
    assert event.object_id == str(order.pk)
    assert sorted(event.after["to"]) == sorted([world.substitute.pk, world.unit_head.pk])


def test_an_order_starting_soon_is_told_at_once(
    world, settings, django_capture_on_commit_callbacks
):
    settings.TUGI_SUBSTITUTION_NOTICE_DAYS = 2
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        actions.order_substitution(
            world.unit_head_user,
            absentee=world.absentee,
            substitute=world.substitute,
            starts_at=at(2026, 10, 2),
            ends_at=at(2026, 10, 3),
            ordered_by=world.unit_head,
        )
    assert len(mail.outbox) == 1
    with time_machine.travel(NOW, tick=False):
        assert notices.send_due_notices() == 0


@pytest.mark.estonian
def test_notices_speak_the_agencys_language(world, settings, django_capture_on_commit_callbacks):
    settings.LANGUAGE_CODE = "et"
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        actions.order_substitution(
            world.unit_head_user,
            absentee=world.absentee,
            substitute=world.substitute,
            starts_at=at(2026, 10, 2),
            ends_at=at(2026, 10, 3),
            ordered_by=world.unit_head,
        )
        notices.send_due_notices()
    (message,) = mail.outbox
    assert "Kati Kask" in message.subject and "02.10.2026" in message.subject
