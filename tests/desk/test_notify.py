"""SLA notices, the desk's periodic jobs and the rating link in the resolution mail."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from huey.contrib.djhuey import HUEY

from tests.desk.factories import CaseFactory, QueueFactory, SlaPolicyFactory
from tests.desk.mail_support import configure
from tests.factories import PersonFactory, make_user
from tugi.core.roles import AppRole
from tugi.desk import actions, notify, sla
from tugi.desk.calendar import TALLINN
from tugi.desk.models import Case, Message
from tugi.desk.tasks import auto_close_resolved, local_crontab, run_auto_close, run_sla_check

pytestmark = pytest.mark.django_db


def mar(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=TALLINN)


@pytest.fixture
def policy(db):
    return SlaPolicyFactory(
        priority=4, first_response_minutes=240, resolution_minutes=2400, warn_before_minutes=60
    )


def _breached_case(policy, **fields) -> Case:
    """A case started on Monday 9:00 whose first response fell due at 13:00."""
    fields.setdefault("requester", None)
    case = CaseFactory(**fields)
    sla.start(case, mar(9, 9))
    case.save()
    return case


def _check(now: dt.datetime, capture) -> None:
    with time_machine.travel(now, tick=False), capture(execute=True):
        run_sla_check(now)


def test_a_breach_mails_the_assignee(policy, django_capture_on_commit_callbacks):
    agent = make_user("agent", AppRole.DESK_AGENT)
    agent.email = "agent@example.ee"
    agent.save(update_fields=["email"])
    member = make_user("member", AppRole.DESK_AGENT)
    member.email = "member@example.ee"
    member.save(update_fields=["email"])
    case = _breached_case(policy, assignee=agent, queue=QueueFactory(members=[member]))
    _check(mar(9, 14), django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["agent@example.ee"]]
    message = mail.outbox[0]
    assert message.subject == f"SLA breached: {case.reference} {case.subject}"
    assert "first response" in message.body
    assert "P4" in message.body
    assert notify.base_url() + reverse("desk:case", kwargs={"pk": case.pk}) in message.body


def test_an_unassigned_breach_mails_the_queue(policy, django_capture_on_commit_callbacks):
    members = [make_user(f"m{i}", AppRole.DESK_AGENT) for i in range(2)]
    for i, user in enumerate(members):
        PersonFactory(email=f"liige{i}@example.ee", user=user)
    queue = QueueFactory(members=members, email="jarjekord@example.ee")
    _breached_case(policy, queue=queue)
    _check(mar(9, 14), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == [
        "jarjekord@example.ee",
        "liige0@example.ee",
        "liige1@example.ee",
    ]


def test_a_warning_mails_once_per_case(policy, django_capture_on_commit_callbacks):
    agent = make_user("agent", AppRole.DESK_AGENT)
    agent.email = "agent@example.ee"
    agent.save(update_fields=["email"])
    _breached_case(policy, assignee=agent)
    _breached_case(policy, assignee=agent)
    _check(mar(9, 12, 30), django_capture_on_commit_callbacks)
    _check(mar(9, 12, 31), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    assert all(m.subject.startswith("SLA warning") for m in mail.outbox)


def test_periodic_jobs_are_registered():
    autodiscover_modules("tasks")  # what `manage.py run_huey` does at start
    names = {f"{t.__module__}.{t.__name__}" for t in HUEY._registry._periodic_tasks}
    assert {
        "tugi.desk.tasks.check_sla",
        "tugi.desk.tasks.auto_close_resolved",
        "tugi.access.tasks.expire_requests",
        "tugi.access.tasks.evaluate_compliance",
    } <= names


def test_auto_close_runs_at_three_in_tallinn():
    validate = local_crontab(hour="3", minute="0")
    # Huey hands periodic tests naive UTC times: 01:00 UTC is 03:00 in Tallinn in winter.
    assert validate(dt.datetime(2026, 1, 15, 1, 0)) is True
    assert validate(dt.datetime(2026, 1, 15, 3, 0)) is False
    assert validate(dt.datetime(2026, 7, 15, 0, 0)) is True  # summer time, UTC+3


def test_auto_close_closes_old_resolved_cases(settings):
    settings.TUGI_DESK_AUTO_CLOSE_DAYS = 14
    now = timezone.now()
    old = CaseFactory(status=Case.Status.RESOLVED, resolved_at=now - dt.timedelta(days=15))
    recent = CaseFactory(status=Case.Status.RESOLVED, resolved_at=now - dt.timedelta(days=2))
    assert run_auto_close(now) == 1
    auto_close_resolved.call_local()
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == Case.Status.CLOSED
    assert recent.status == Case.Status.RESOLVED


def test_the_resolution_mail_carries_a_working_rating_link(
    client, settings, tmp_path, django_capture_on_commit_callbacks
):
    configure(settings, tmp_path)
    agent = make_user("agent", AppRole.DESK_AGENT)
    requester = PersonFactory(email="mari@example.ee")
    case = CaseFactory(requester=requester)
    with django_capture_on_commit_callbacks(execute=True):
        actions.reply(agent, case, "Vaatame üle.")
    with django_capture_on_commit_callbacks(execute=True):
        actions.resolve(agent, case, resolution="Parandatud.")
    assert len(mail.outbox) == 2
    assert all("mari@example.ee" in m.to[0] for m in mail.outbox)
    assert "/rate/" not in mail.outbox[0].body
    body = mail.outbox[1].body
    link = next(word for word in body.split() if "/rate/" in word)
    assert link.startswith(notify.base_url())
    assert Message.objects.filter(case=case, kind=Message.Kind.REPLY).count() == 2
    response = client.get(urlsplit(link).path)
    assert response.status_code == 200
