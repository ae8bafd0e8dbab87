"""The people API gives personal data only as far as needed.

- The foreign id's number is write-only like the personal code: `has_foreign_id` says whether
  there is one, and the logged reveal (`POST /people/{id}/personal-code/`) answers it.
- The list (not logged) holds `phone` only for callers who keep person data
  (`people.change_person`); one person's representation (logged) always has it.
"""

import json

import pytest
from django.urls import reverse

from tests.factories import PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import Person

PEOPLE = "/api/v1/people/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreigner(org) -> Person:
    return PersonFactory(
        org_unit=org.unit,
        personal_code=None,
        foreign_id_country="LV",
        foreign_id_code="120387-11223",
        phone="+371 2000 0000",
    )


def row_of(response, person: Person) -> dict:
    assert response.status_code == 200, response.content
    [row] = [r for r in response.json()["results"] if r["id"] == person.pk]
    return row


@pytest.mark.parametrize("role", [AppRole.DESK_AGENT, AppRole.AUDITOR, AppRole.APPROVER])
def test_no_representation_carries_the_foreign_id_number(client_for, foreigner, role):
    client = client_for(make_user("reader", role))
    for response in (client.get(PEOPLE), client.get(f"{PEOPLE}{foreigner.pk}/")):
        assert "120387-11223" not in response.content.decode()
    row = row_of(client.get(PEOPLE), foreigner)
    assert "foreign_id_code" not in row
    assert row["has_foreign_id"] is True and row["foreign_id_country"] == "LV"
    assert row["has_personal_code"] is False


@pytest.mark.parametrize(
    ("role", "with_phone"),
    [
        (AppRole.DESK_AGENT, True),
        (AppRole.HR_SPECIALIST, True),
        (AppRole.ADMINISTRATOR, True),
        (AppRole.APPROVER, False),
        (AppRole.SYSTEM_OWNER, False),
        (AppRole.AUDITOR, False),
        (AppRole.DOMAIN_SPECIALIST, False),
    ],
)
def test_the_list_carries_phones_only_for_those_who_keep_the_data(
    client_for, foreigner, role, with_phone
):
    client = client_for(make_user("reader", role))
    response = client.get(PEOPLE)
    assert ("phone" in row_of(response, foreigner)) is with_phone
    assert ("+371 2000 0000" in response.content.decode()) is with_phone
    # One person's representation is a logged read: it has the phone for everyone allowed.
    assert client.get(f"{PEOPLE}{foreigner.pk}/").json()["phone"] == "+371 2000 0000"
    assert AuditEvent.objects.filter(
        action="people.person.view", subject_person_id=foreigner.pk
    ).exists()


def test_a_requester_listing_themselves_gets_no_phone_in_the_list(client_for, requester_user):
    own = PersonFactory(user=requester_user, phone="+372 5000 0000")
    client = client_for(requester_user)
    assert "phone" not in row_of(client.get(PEOPLE), own)
    assert client.get(f"{PEOPLE}{own.pk}/").json()["phone"] == "+372 5000 0000"


def test_the_foreign_id_is_still_written_and_the_answer_does_not_echo_it(client_for, desk_user):
    person = PersonFactory(personal_code=None, foreign_id_country="LV", foreign_id_code="1")
    response = client_for(desk_user).patch(
        f"{PEOPLE}{person.pk}/",
        {"foreign_id_country": "LT", "foreign_id_code": "38501010000"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert "38501010000" not in response.content.decode()
    assert response.json()["has_foreign_id"] is True
    person.refresh_from_db()
    assert (person.foreign_id_country, person.foreign_id_code) == ("LT", "38501010000")


def test_the_reveal_answers_the_foreign_id_with_a_purpose_and_logs_it(client_for, foreigner):
    desk = make_user("desk", AppRole.DESK_AGENT)
    url = f"{PEOPLE}{foreigner.pk}/personal-code/"
    assert client_for(desk).post(url, {"purpose": ""}, format="json").status_code == 400
    response = client_for(desk).post(url, {"purpose": "Pöördumine 2024-7"}, format="json")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert response.json() == {
        "personal_code": None,
        "foreign_id_country": "LV",
        "foreign_id_code": "120387-11223",
    }
    [event] = AuditEvent.objects.filter(action="people.person.view_personal_code")
    assert (event.actor_id, event.subject_person_id) == (desk.pk, foreigner.pk)
    assert event.purpose == "Pöördumine 2024-7"


def test_the_reveal_needs_the_personal_code_permission(client_for, foreigner):
    approver = make_user("approver", AppRole.APPROVER)  # reads people, not identifiers
    url = f"{PEOPLE}{foreigner.pk}/personal-code/"
    assert client_for(approver).post(url, {"purpose": "Kontroll"}, format="json").status_code == 403
    assert not AuditEvent.objects.filter(action="people.person.view_personal_code").exists()


def test_the_schema_says_so(anon):
    schema = json.loads(anon.get(reverse("api-schema")).content)
    components = schema["components"]["schemas"]
    person = components["Person"]["properties"]
    assert "foreign_id_code" not in person and person["has_foreign_id"]["readOnly"] is True
    assert "foreign_id_code" in components["PersonRequest"]["properties"]
    assert "phone" not in components["Person"].get("required", [])
    assert "people.change_person" in person["phone"]["description"]
    revealed = components["PersonalCode"]["properties"]
    assert set(revealed) == {"personal_code", "foreign_id_country", "foreign_id_code"}
    listing = schema["paths"]["/api/v1/people/"]["get"]["description"]
    assert "phone" in listing and "identifiers" in listing
