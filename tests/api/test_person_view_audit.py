"""GET /api/v1/people/{id}/ is an audit event with a purpose, like the person page."""

import json

import pytest
from django.urls import reverse

from tests.factories import PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole

PEOPLE = "/api/v1/people/"
VIEW = "people.person.view"

pytestmark = pytest.mark.django_db


def views() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=VIEW).order_by("id"))


def test_reading_a_person_logs_who_whose_and_the_role_duty(client_for, desk_user, person):
    response = client_for(desk_user).get(f"{PEOPLE}{person.pk}/")
    assert response.status_code == 200 and response.json()["last_name"] == "Jõgi"
    [event] = views()
    assert (event.actor_id, event.subject_person_id) == (desk_user.pk, person.pk)
    assert (event.object_type, event.object_id) == ("people.person", str(person.pk))
    assert event.purpose == "role duty: desk work"


def test_a_given_purpose_is_logged_and_a_context_token_is_expanded(client_for, desk_user, person):
    client = client_for(desk_user)
    url = f"{PEOPLE}{person.pk}/"
    assert client.get(url, {"purpose": " Pöördumine\n2024-118 "}).status_code == 200
    assert client.get(url, {"purpose": "case-12"}).status_code == 200
    assert [e.purpose for e in views()] == ["Pöördumine 2024-118", "case #12"]


def test_the_same_read_within_ten_minutes_is_logged_once(client_for, desk_user, person):
    client = client_for(desk_user)
    for _ in range(3):
        assert client.get(f"{PEOPLE}{person.pk}/").status_code == 200
    assert len(views()) == 1


def test_own_person_and_the_list_are_not_logged(client_for, requester_user, desk_user, person):
    own = PersonFactory(user=requester_user)
    assert client_for(requester_user).get(f"{PEOPLE}{own.pk}/").status_code == 200
    assert client_for(desk_user).get(PEOPLE).status_code == 200
    assert client_for(desk_user).get(PEOPLE, {"q": "jogi"}).status_code == 200
    assert not AuditEvent.objects.filter(action=VIEW).exists()


def test_someone_else_is_a_404_for_a_requester_and_nothing_is_logged(
    client_for, requester_user, person
):
    response = client_for(requester_user).get(f"{PEOPLE}{person.pk}/", {"purpose": "uudishimu"})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=VIEW).exists()


def test_a_too_long_purpose_is_a_400_naming_it(client_for, desk_user, person):
    response = client_for(desk_user).get(f"{PEOPLE}{person.pk}/", {"purpose": "x" * 301})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["purpose"]
    assert not views()


def test_the_duty_of_an_hr_specialist(client_for, person):
    hr = make_user("hr", AppRole.HR_SPECIALIST)
    assert client_for(hr).get(f"{PEOPLE}{person.pk}/").status_code == 200
    assert [e.purpose for e in views()] == ["role duty: HR work"]


def test_the_schema_documents_the_purpose_parameter(anon):
    schema = json.loads(anon.get(reverse("api-schema")).content)
    operation = schema["paths"]["/api/v1/people/{id}/"]["get"]
    assert "purpose" in {p["name"] for p in operation["parameters"]}
    assert "audit log" in operation["description"]
