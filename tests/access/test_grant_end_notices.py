"""Notices before a time-limited grant ends: the right people, on the right day, once."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from tests.access.factories import AccountFactory, GrantFactory, RoleFactory
from tests.access.views_support import english, login
from tests.api.access_helpers import request_grant
from tests.factories import OrgUnitFactory, PersonFactory, make_user
from tugi.access.lifecycle import notice_tasks, notices
from tugi.access.lifecycle.plan import day_start
from tugi.access.models import AccessRequest, AccessRequestItem, Grant
from tugi.core.models import AuditEvent

TALLINN = ZoneInfo("Europe/Tallinn")
pytestmark = pytest.mark.django_db

# The last day with access is Monday 30.11.2026: the grant ends when it ends (midnight).
END = day_start(datetime.date(2026, 12, 1))


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TALLINN)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.TUGI_GRANT_END_NOTICE_DAYS = 14
    settings.TUGI_BASE_URL = "https://tugi.example"


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """One run of the notices at a moment; the mail goes out after commit."""

    def at_moment(moment: datetime.datetime) -> int:
        with (
            time_machine.travel(moment, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return notices.send_grant_end_notices()

    return at_moment


def filed_grant(**extra) -> Grant:
    """A grant on a fulfilled request, filed by a user with an address, ending at END."""
    with time_machine.travel(at(2026, 9, 1), tick=False):
        grant = request_grant(PersonFactory(), valid_to=END, **extra)
    filer = grant.basis_item.request.requested_by
    filer.email = "filer@sotsiaalkindlustusamet.ee"
    filer.save()
    return grant


def events() -> int:
    return AuditEvent.objects.filter(action=notices.ACTION).count()


def test_the_filer_is_told_on_the_right_day_and_once(run):
    grant = filed_grant()
    assert run(at(2026, 11, 15, 23, 59)) == 0  # 15 days before the last day: not yet
    assert mail.outbox == []
    assert run(at(2026, 11, 16, 8, 5)) == 1  # 14 days before it
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["filer@sotsiaalkindlustusamet.ee"]
    assert grant.role.name in message.subject and "30.11.2026" in message.subject
    link = (
        f"https://tugi.example{reverse('access:request_create')}"
        f"?person={grant.person_id}&role={grant.role_id}"
    )
    assert link in message.body
    assert f"access request {grant.basis_item.request_id}" in message.body
    event = AuditEvent.objects.get(action=notices.ACTION)
    assert event.object_id == str(grant.pk) and event.subject_person_id == grant.person_id
    assert event.actor is None and event.after["told"] == ["filer"]
    # Later runs, the same day and the days after, tell nobody again.
    assert run(at(2026, 11, 16, 9, 5)) == 0
    assert run(at(2026, 11, 25, 8, 5)) == 0
    assert len(mail.outbox) == 1 and events() == 1


def test_a_run_missed_is_made_up_by_the_next(run):
    filed_grant()
    assert run(at(2026, 11, 20, 10, 5)) == 1  # the worker was down for days
    assert len(mail.outbox) == 1


def test_nobody_is_told_after_the_grant_ended(run):
    filed_grant()
    assert run(at(2026, 12, 1, 8, 5)) == 0
    assert mail.outbox == []


def test_a_job_description_grant_tells_the_person_and_their_manager(run):
    manager = PersonFactory(email="juht@sotsiaalkindlustusamet.ee")
    person = PersonFactory(manager=manager, email="mari@sotsiaalkindlustusamet.ee")
    with time_machine.travel(at(2026, 9, 1), tick=False):
        grant = GrantFactory(account=AccountFactory(person=person), valid_to=END)
    assert run(at(2026, 11, 16, 8, 5)) == 1
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {person.email, manager.email}
    form = f"{reverse('access:request_create')}?person={person.pk}&role={grant.role_id}"
    assert "Your role" in by_address[person.email].body
    assert form in by_address[person.email].body
    access_page = reverse("access:person_access", args=[person.pk])
    assert access_page in by_address[manager.email].body
    assert str(person) in by_address[manager.email].body
    event = AuditEvent.objects.get(action=notices.ACTION)
    assert event.after["told"] == ["holder", "manager"]


def test_without_a_manager_the_unit_head_is_told(run):
    head = PersonFactory(email="pealik@sotsiaalkindlustusamet.ee")
    unit = OrgUnitFactory(head=head)
    person = PersonFactory(org_unit=unit)
    with time_machine.travel(at(2026, 9, 1), tick=False):
        GrantFactory(account=AccountFactory(person=person), valid_to=END)
    run(at(2026, 11, 16, 8, 5))
    assert {m.to[0] for m in mail.outbox} == {person.email, head.email}


def test_a_filer_without_an_address_is_replaced_by_the_person(run):
    grant = filed_grant()
    filer = grant.basis_item.request.requested_by
    filer.is_active = False
    filer.save()
    run(at(2026, 11, 16, 8, 5))
    assert [m.to for m in mail.outbox] == [[grant.person.email]]
    assert "Your role" in mail.outbox[0].body


def test_one_mail_for_several_grants_of_one_recipient(run):
    first = filed_grant()
    second = filed_grant()
    second.basis_item.request.requested_by = first.basis_item.request.requested_by
    second.basis_item.request.save()
    assert run(at(2026, 11, 16, 8, 5)) == 2
    assert len(mail.outbox) == 1
    assert "2 access rights end soon" in mail.outbox[0].subject
    body = mail.outbox[0].body
    assert first.role.name in body and second.role.name in body
    assert events() == 2


def test_who_is_not_told(run):
    # A substitution grant: its order has notices of its own.
    substitute = PersonFactory()
    with time_machine.travel(at(2026, 9, 1), tick=False):
        GrantFactory(
            account=AccountFactory(person=substitute),
            valid_to=END,
            basis=Grant.Basis.SUBSTITUTION,
            basis_duty=None,
            acting_for=PersonFactory(),
        )
        # Open-ended: nothing ends.
        GrantFactory()
    # Ended early on purpose.
    filed_grant(ended_reason="project over")
    # Ends because the employment ends.
    leaver = filed_grant()
    leaver.person.employment_end = datetime.date(2026, 11, 30)
    leaver.person.save()
    # Followed by another grant of the same role.
    followed = filed_grant()
    GrantFactory(
        account=followed.account,
        role=followed.role,
        valid_from=END - datetime.timedelta(days=1),
        valid_to=None,
    )
    # A request for the role is already open.
    asked = filed_grant()
    request = AccessRequest.objects.create(
        person=asked.person, requested_by=make_user("uus"), justification="Pikendus"
    )
    AccessRequestItem.objects.create(
        request=request,
        kind=AccessRequestItem.Kind.GRANT_ROLE,
        system=asked.role.system,
        role=asked.role,
    )
    assert run(at(2026, 11, 16, 8, 5)) == 0
    assert mail.outbox == [] and events() == 0


def test_a_grant_not_started_yet_is_not_told(run):
    with time_machine.travel(at(2026, 9, 1), tick=False):
        request_grant(
            PersonFactory(), valid_from=at(2026, 11, 20), valid_to=END, role=RoleFactory()
        )
    assert run(at(2026, 11, 16, 8, 5)) == 0


def test_the_link_opens_the_request_form_filled_in(run, client):
    person = PersonFactory()
    user = make_user("mari", person=person)
    with time_machine.travel(at(2026, 9, 1), tick=False):
        grant = request_grant(person, valid_to=END)
    request = grant.basis_item.request
    request.requested_by = user
    request.save()
    user.email = "mari@example.ee"
    user.save()
    run(at(2026, 11, 16, 8, 5))
    link = mail.outbox[0].body.split("https://tugi.example", 1)[1].split()[0]
    en = login(english(client), user)
    with time_machine.travel(at(2026, 11, 16, 9), tick=False):
        response = en.get(link)
    assert response.status_code == 200
    assert response.context["items"].forms[0].initial["role"] == str(grant.role_id)


def test_the_task_runs_in_office_hours_tallinn_time():
    validate = notice_tasks.send_grant_end_notices.s().validate_datetime
    # Huey checks the schedule with a naive UTC time; in November Tallinn is UTC+2.
    assert validate(datetime.datetime(2026, 11, 16, 6, 5))  # 08:05 in Tallinn
    assert not validate(datetime.datetime(2026, 11, 16, 6, 6))
    assert not validate(datetime.datetime(2026, 11, 16, 4, 5))  # 06:05 in Tallinn
    assert validate(datetime.datetime(2026, 11, 16, 15, 5))  # 17:05
    assert not validate(datetime.datetime(2026, 11, 16, 16, 5))  # 18:05


def test_the_task_sends(django_capture_on_commit_callbacks):
    filed_grant()
    with (
        time_machine.travel(at(2026, 11, 16, 8, 5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert notice_tasks.send_grant_end_notices.call_local() == 1
    assert len(mail.outbox) == 1


def test_the_task_is_registered_with_the_access_tasks():
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")  # what the worker does at start
    names = {f"{t.__module__}.{t.__name__}" for t in HUEY._registry._periodic_tasks}
    assert "tugi.access.lifecycle.notice_tasks.send_grant_end_notices" in names
