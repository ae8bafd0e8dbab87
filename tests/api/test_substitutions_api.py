"""The substitution resources: list, order, confirm, cancel, and what the actions refuse."""

import datetime
import json

import pytest
import time_machine
from django.urls import reverse

from tests.access.substitution_support import World, at, build_world
from tests.api.conftest import token_client
from tests.factories import make_user
from tugi.access.actions import substitution as actions
from tugi.access.models import Grant, Substitution
from tugi.core.roles import AppRole
from tugi.people.actions import record_absence
from tugi.people.models import Absence

pytestmark = pytest.mark.django_db
NOW = at(2026, 10, 1, 10)
LIST = "/api/v1/substitutions/"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world() -> World:
    return build_world(at(2026, 1, 5))


def iso(value: datetime.datetime) -> str:
    return value.isoformat()


def test_ordering_through_the_api(world):
    client = token_client(world.unit_head_user)
    response = client.post(
        LIST,
        {
            "absentee": world.absentee.pk,
            "substitute": world.substitute.pk,
            "starts_at": iso(at(2026, 10, 12)),
            "ends_at": iso(at(2026, 10, 17)),
            "exclusive": True,
            "directive": "KK 1-3/26",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "ordered" and body["ordered_by"] == world.unit_head.pk
    assert sorted(body["roles"]) == sorted([world.pension.pk, world.register.pk])
    assert {(g["valid_from"], g["valid_to"]) for g in body["grants"]} == {
        ("2026-10-12T00:00:00+03:00", "2026-10-17T00:00:00+03:00")
    }
    assert body["absentee_name"] == "Mari Maasikas" and body["substitute_name"] == "Kati Kask"
    detail = client.get(f"{LIST}{body['id']}/")
    assert detail.status_code == 200 and detail.json()["exclusive"] is True


def test_refusals_come_back_as_field_errors(world):
    client = token_client(world.unit_head_user)
    response = client.post(
        LIST,
        {
            "absentee": world.absentee.pk,
            "substitute": world.substitute.pk,
            "roles": [world.decide.pk],
            "starts_at": iso(at(2026, 10, 12)),
            "ends_at": iso(at(2026, 10, 17)),
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"roles": ["“Otsuste kinnitaja” cannot be passed to a substitute."]}
    }
    reversed_ = client.post(
        LIST,
        {
            "absentee": world.absentee.pk,
            "substitute": world.substitute.pk,
            "starts_at": iso(at(2026, 10, 17)),
            "ends_at": iso(at(2026, 10, 12)),
        },
        format="json",
    )
    assert reversed_.json() == {"errors": {"ends_at": ["The end must be after the start."]}}


def test_no_authority_is_a_403_with_the_reason(world):
    response = token_client(world.other_head_user).post(
        LIST,
        {
            "absentee": world.absentee.pk,
            "substitute": world.substitute.pk,
            "starts_at": iso(at(2026, 10, 12)),
            "ends_at": iso(at(2026, 10, 17)),
        },
        format="json",
    )
    assert response.status_code == 403
    assert "Only the manager of Mari Maasikas" in response.json()["errors"]["detail"][0]
    requester = token_client(make_user("someone", AppRole.REQUESTER))
    assert requester.post(LIST, {}, format="json").status_code == 403
    assert not Substitution.objects.exists()


def test_the_desk_records_an_order_given_by_the_manager(world):
    response = token_client(world.desk_user).post(
        LIST,
        {
            "absentee": world.absentee.pk,
            "substitute": world.substitute.pk,
            "roles": [world.benefits.pk],
            "starts_at": iso(at(2026, 10, 12)),
            "ends_at": iso(at(2026, 10, 17)),
            "ordered_by": world.unit_head.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["ordered_by_name"] == "Jaan Jõgi"


def test_list_filters_and_visibility(world):
    now_order = actions.order_substitution(
        world.unit_head_user,
        absentee=world.absentee,
        substitute=world.substitute,
        starts_at=at(2026, 9, 28),
        ends_at=at(2026, 10, 3),
        ordered_by=world.unit_head,
    )
    later = actions.order_substitution(
        world.unit_head_user,
        absentee=world.absentee,
        substitute=world.colleague,
        starts_at=at(2026, 10, 12),
        ends_at=at(2026, 10, 17),
        ordered_by=world.unit_head,
    )
    hr = token_client(world.hr_user)
    assert [o["id"] for o in hr.get(LIST).json()["results"]] == [later.pk, now_order.pk]
    assert [o["id"] for o in hr.get(LIST, {"when": "current"}).json()["results"]] == [now_order.pk]
    assert [o["id"] for o in hr.get(LIST, {"person": world.colleague.pk}).json()["results"]] == [
        later.pk
    ]
    paged = hr.get(LIST, {"page_size": 1}).json()
    assert len(paged["results"]) == 1 and paged["next"]
    assert [o["id"] for o in hr.get(paged["next"]).json()["results"]] == [now_order.pk]
    # A requester sees only their own.
    kati = token_client(make_user("kati2", AppRole.REQUESTER, person=world.colleague))
    assert [o["id"] for o in kati.get(LIST).json()["results"]] == [later.pk]
    assert kati.get(f"{LIST}{now_order.pk}/").status_code == 404


def test_cancel_and_confirm(world):
    record_absence(
        None,
        world.absentee,
        kind=Absence.Kind.VACATION,
        starts_on=datetime.date(2026, 10, 12),
        ends_on=datetime.date(2026, 10, 16),
    )
    proposal = Substitution.objects.get(state=Substitution.State.PROPOSED)
    client = token_client(world.unit_head_user)
    confirmed = client.post(
        f"{LIST}{proposal.pk}/confirm/", {"directive": "KK 3/26"}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["state"] == "ordered" and len(confirmed.json()["grants"]) == 2
    no_reason = client.post(f"{LIST}{proposal.pk}/cancel/", {"reason": ""}, format="json")
    assert no_reason.json() == {"errors": {"reason": ["Say why the substitution is cancelled."]}}
    cancelled = client.post(f"{LIST}{proposal.pk}/cancel/", {"reason": "Ei lähe"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    # The grants had not started: they are gone.
    assert not Grant.objects.filter(substitution=proposal).exists()


def test_the_document_describes_the_resource(anon):
    schema = json.loads(anon.get(reverse("api-schema")).content)
    paths = schema["paths"]
    assert set(paths[LIST]) - {"parameters"} == {"get", "post"}
    assert set(paths[f"{LIST}{{id}}/"]) - {"parameters"} == {"get"}
    assert set(paths[f"{LIST}{{id}}/cancel/"]) == {"post"}
    assert set(paths[f"{LIST}{{id}}/confirm/"]) == {"post"}
    params = {p["name"] for p in paths[LIST]["get"]["parameters"]}
    assert {"state", "when", "person", "absentee", "substitute", "cursor", "page_size"} <= params
