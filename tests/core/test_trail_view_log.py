"""The auditor's trail of one person is a logged read of that person
(`core.audit.view_person_trail`), written at most once per auditor, person and purpose in ten
minutes: paging through the trail or filtering it further writes nothing more."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import PersonFactory, make_user
from tugi.core import audit
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole

pytestmark = pytest.mark.django_db

TRAIL = "core.audit.view_person_trail"
URL = reverse("core:audit_list")


def trail_reads() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=TRAIL).order_by("id"))


@pytest.fixture
def subject(admin_user):
    person = PersonFactory(first_name="Anne")
    for i in range(120):  # more than one page of the trail
        audit.record(admin_user, "test.bulk", person, subject_person_id=person.pk, after={"i": i})
    return person


def test_paging_through_a_trail_logs_one_read_with_the_auditors_duty(client, auditor_user, subject):
    client.force_login(auditor_user)
    response = client.get(URL, {"person": subject.pk})
    pages = 1
    while response.context["next_url"]:
        response = client.get(URL + response.context["next_url"], headers={"HX-Request": "true"})
        pages += 1
    assert pages >= 2
    [event] = trail_reads()
    assert (event.actor_id, event.subject_person_id) == (auditor_user.pk, subject.pk)
    assert (event.object_type, event.object_id) == ("people.person", str(subject.pk))
    assert event.purpose == "role duty: audit"


def test_the_window_is_ten_minutes_and_per_auditor_and_person(client, auditor_user, subject):
    other = PersonFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(auditor_user)
        client.get(URL, {"person": subject.pk})
        client.get(URL, {"person": subject.pk, "action": "test.bulk"})  # narrowed: the same read
        client.get(URL, {"person": other.pk})
        client.force_login(make_user("auditor2", AppRole.AUDITOR))
        client.get(URL, {"person": subject.pk})
        clock.shift(datetime.timedelta(minutes=9))
        client.get(URL, {"person": subject.pk})
        clock.shift(datetime.timedelta(minutes=2))  # 11 minutes after the first
        client.get(URL, {"person": subject.pk})
    rows = [(e.actor_label, e.subject_person_id) for e in trail_reads()]
    assert rows == [
        ("auditor", subject.pk),
        ("auditor", other.pk),
        ("auditor2", subject.pk),
        ("auditor2", subject.pk),
    ]


def test_the_auditors_own_trail_is_logged_too(client):
    """Unlike one's own person page: an auditor reading the trail about themselves is a read
    another auditor may want to see."""
    auditor = make_user("auditor", AppRole.AUDITOR)
    own = PersonFactory(user=auditor)
    client.force_login(auditor)
    client.get(URL, {"person": own.pk})
    assert [e.subject_person_id for e in trail_reads()] == [own.pk]


def test_a_trail_read_within_the_window_costs_one_select(client, auditor_user, subject):
    client.force_login(auditor_user)
    client.get(URL, {"person": subject.pk})
    table = AuditEvent._meta.db_table
    with CaptureQueriesContext(connection) as again:
        client.get(URL, {"person": subject.pk})
    statements = [q["sql"] for q in again.captured_queries if table in q["sql"]]
    assert not [s for s in statements if s.upper().startswith("INSERT")]
    # The page of events and the duplicate check.
    assert len(statements) == 2
    assert len(trail_reads()) == 1
