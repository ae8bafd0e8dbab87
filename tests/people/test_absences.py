"""Absences: the actions (which the HR import calls too), their signal, and the pages."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from tests.access.views_support import english, login
from tests.factories import OrgUnitFactory, PersonFactory, make_user
from tugi.core import audit
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people import absence_queries
from tugi.people.actions import cancel_absence, change_absence, record_absence
from tugi.people.models import Absence, Person
from tugi.people.signals import absence_changed

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = datetime.datetime(2026, 10, 1, 10, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def hr(db):
    return make_user("helle", AppRole.HR_SPECIALIST)


@pytest.fixture
def mari(db) -> Person:
    return PersonFactory(first_name="Mari", last_name="Maasikas")


@pytest.fixture
def heard():
    events: list[tuple[str, dict | None]] = []

    def receiver(sender, *, absence, event, before, actor, **kwargs):
        events.append((event, before))

    absence_changed.connect(receiver, dispatch_uid="test-absences")
    yield events
    absence_changed.disconnect(dispatch_uid="test-absences")


def vacation(actor, person, first, last, **kwargs) -> Absence:
    return record_absence(
        actor, person, kind=Absence.Kind.VACATION, starts_on=first, ends_on=last, **kwargs
    )


# --- the actions -------------------------------------------------------------------------------


def test_recording_changing_and_cancelling_an_absence(hr, mari, heard):
    absence = vacation(hr, mari, D(2026, 10, 12), D(2026, 10, 16), note=" Põhipuhkus ")
    assert (absence.starts_on, absence.ends_on, absence.note) == (
        D(2026, 10, 12),
        D(2026, 10, 16),
        "Põhipuhkus",
    )
    assert absence.source == Absence.Source.MANUAL
    change_absence(hr, absence, starts_on=D(2026, 10, 12), ends_on=D(2026, 10, 19))
    change_absence(hr, absence, starts_on=D(2026, 10, 12), ends_on=D(2026, 10, 19), note="x")
    cancel_absence(hr, absence, reason="Puhkus lükkus edasi")
    cancel_absence(hr, absence, reason="Puhkus lükkus edasi")  # twice: nothing more
    absence.refresh_from_db()
    assert absence.cancelled
    assert heard == [
        ("recorded", None),
        ("changed", {"starts_on": D(2026, 10, 12), "ends_on": D(2026, 10, 16)}),
        ("cancelled", {"starts_on": D(2026, 10, 12), "ends_on": D(2026, 10, 19)}),
    ]
    events = list(
        AuditEvent.objects.filter(object_type="people.absence")
        .order_by("id")
        .values_list("action", "actor_label", "subject_person_id")
    )
    assert events == [
        ("people.absence.create", "helle", mari.pk),
        ("people.absence.update", "helle", mari.pk),
        ("people.absence.update", "helle", mari.pk),
        ("people.absence.cancel", "helle", mari.pk),
    ]
    assert AuditEvent.objects.get(action="people.absence.cancel").basis == "Puhkus lükkus edasi"
    assert audit.verify_chain().ok
    with pytest.raises(ValidationError, match="cancelled and cannot be changed"):
        change_absence(hr, absence, starts_on=D(2026, 10, 12), ends_on=D(2026, 10, 13))


def test_the_system_records_without_a_permission_check(mari):
    """The HR import runs as the system (actor None), as the API's operator commands do."""
    absence = vacation(None, mari, D(2026, 10, 12), D(2026, 10, 16), source="schedule")
    assert absence.source == Absence.Source.SCHEDULE
    assert AuditEvent.objects.get(action="people.absence.create").actor_label == "system"


def test_permissions(mari):
    approver = make_user("jaan", AppRole.APPROVER)  # reads absences, does not keep them
    with pytest.raises(PermissionDenied):
        vacation(approver, mari, D(2026, 10, 12), D(2026, 10, 16))
    absence = vacation(None, mari, D(2026, 10, 12), D(2026, 10, 16))
    with pytest.raises(PermissionDenied):
        cancel_absence(approver, absence, reason="x")
    desk = make_user("kalle", AppRole.DESK_AGENT)
    assert change_absence(desk, absence, starts_on=D(2026, 10, 13), ends_on=D(2026, 10, 16))


def test_bad_input_gets_a_clear_message_and_saves_nothing(hr, mari):
    with pytest.raises(ValidationError) as exc:
        vacation(hr, mari, D(2026, 10, 16), D(2026, 10, 12))
    assert exc.value.message_dict == {
        "ends_on": ["The last day (12.10.2026) is before the first day (16.10.2026)."]
    }
    first = vacation(hr, mari, D(2026, 10, 12), D(2026, 10, 16))
    with pytest.raises(ValidationError) as exc:
        record_absence(
            hr, mari, kind=Absence.Kind.SICK, starts_on=D(2026, 10, 16), ends_on=D(2026, 10, 20)
        )
    assert exc.value.message_dict == {
        "starts_on": [
            "Mari Maasikas is already absent from 12.10.2026 to 16.10.2026 (vacation): change "
            "or cancel that absence first."
        ]
    }
    second = vacation(hr, mari, D(2026, 10, 19), D(2026, 10, 20))
    with pytest.raises(ValidationError, match=r"already absent from 12\.10\.2026"):
        change_absence(hr, second, starts_on=D(2026, 10, 15), ends_on=D(2026, 10, 20))
    # A cancelled absence is no obstacle.
    cancel_absence(hr, first, reason="x")
    assert change_absence(hr, second, starts_on=D(2026, 10, 15), ends_on=D(2026, 10, 20))
    with pytest.raises(ValidationError) as exc:
        record_absence(hr, mari, kind="holiday", starts_on=D(2026, 11, 2), ends_on=D(2026, 11, 2))
    assert "kind" in exc.value.message_dict
    assert Absence.objects.count() == 2


def test_no_absence_for_someone_who_has_left(hr):
    left = PersonFactory(
        first_name="Endine",
        last_name="Töötaja",
        status=Person.Status.LEFT,
        employment_end=D(2026, 9, 30),
    )
    with pytest.raises(ValidationError) as exc:
        vacation(hr, left, D(2026, 10, 12), D(2026, 10, 16))
    assert exc.value.message_dict == {
        "person": ["Endine Töötaja has left the agency: no absence can be recorded."]
    }
    leaving = PersonFactory(first_name="Lahkuv", employment_end=D(2026, 10, 14))
    with pytest.raises(ValidationError, match=r"works here only until 14\.10\.2026"):
        vacation(hr, leaving, D(2026, 10, 12), D(2026, 10, 16))


# --- the list ----------------------------------------------------------------------------------


def test_the_list_filters_and_pages_by_key(hr, monkeypatch):
    unit = OrgUnitFactory(name="Pensionide talitus")
    other = OrgUnitFactory(name="Arendustalitus")
    people = [PersonFactory(org_unit=unit if i % 2 else other) for i in range(7)]
    for i, person in enumerate(people):
        vacation(None, person, D(2026, 10, 2 + i), D(2026, 10, 4 + i))
    past = vacation(None, people[0], D(2026, 9, 1), D(2026, 9, 5))
    monkeypatch.setattr(absence_queries, "PAGE_SIZE", 3)
    pages = [absence_queries.absence_page(absence_queries.AbsenceFilters())]
    while pages[-1].next_cursor:
        pages.append(
            absence_queries.absence_page(absence_queries.AbsenceFilters(), pages[-1].next_cursor)
        )
    seen = [a.starts_on for p in pages for a in p.rows]
    assert [len(p.rows) for p in pages] == [3, 3, 1] and seen == sorted(seen)
    in_unit = absence_queries.absence_page(absence_queries.AbsenceFilters(org_unit=unit))
    assert {a.person.org_unit_id for a in in_unit.rows} == {unit.pk}
    (row,) = absence_queries.absence_page(absence_queries.AbsenceFilters(when="past")).rows
    assert row == past

    client = english(login(Client(), hr))
    page = client.get(reverse("people:absence_list"), {"when": "active"})
    assert page.status_code == 200
    assert 'rel="next"' in page.content.decode()
    assert 'href="/people/absences/"' in page.content.decode()  # the nav entry


def test_a_requester_cannot_see_the_list(client, mari):
    login(client, make_user("someone", AppRole.REQUESTER))
    assert client.get(reverse("people:absence_list")).status_code == 403


# --- entering by hand --------------------------------------------------------------------------


def test_recording_changing_and_cancelling_by_hand(client, hr, mari):
    english(login(client, hr))
    form = client.get(reverse("people:absence_create"), {"person": mari.pk})
    assert mari.email in form.content.decode()
    response = client.post(
        reverse("people:absence_create"),
        {
            "person": mari.email,
            "kind": "sick",
            "starts_on": "2026-10-05",
            "ends_on": "2026-10-07",
            "note": "",
        },
    )
    assert response.status_code == 302
    absence = Absence.objects.get()
    person_page = client.get(reverse("people:person_detail", args=[mari.pk])).content.decode()
    assert "Absences" in person_page and "05.10.2026" in person_page
    assert reverse("people:absence_edit", args=[absence.pk]) in person_page

    bad = client.post(
        reverse("people:absence_edit", args=[absence.pk]),
        {"kind": "sick", "starts_on": "2026-10-07", "ends_on": "2026-10-05"},
    )
    assert "The last day (05.10.2026) is before the first day (07.10.2026)." in (
        bad.content.decode()
    )
    ok = client.post(
        reverse("people:absence_edit", args=[absence.pk]),
        {"kind": "sick", "starts_on": "2026-10-05", "ends_on": "2026-10-09"},
    )
    assert ok.status_code == 302
    absence.refresh_from_db()
    assert absence.ends_on == D(2026, 10, 9)
    assert client.get(reverse("people:absence_cancel", args=[absence.pk])).status_code == 200
    assert (
        client.post(reverse("people:absence_cancel", args=[absence.pk]), {"reason": ""}).status_code
        == 200
    )
    done = client.post(reverse("people:absence_cancel", args=[absence.pk]), {"reason": "Viga"})
    assert done.status_code == 302
    absence.refresh_from_db()
    assert absence.cancelled
