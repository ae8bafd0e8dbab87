"""POST /api/v1/hr/persons: the HR system pushes persons; same checks as the file import, all
or nothing, with per-record results and the project's error shape."""

import json

import pytest
import time_machine

from tests.api.conftest import token_client
from tests.factories import make_user
from tests.people.imports_support import JAAN, MARI, NEW_1, NEW_2, NOW, at, build_world
from tugi.access.models import Change, Grant
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import DataImport, Person

pytestmark = pytest.mark.django_db

URL = "/api/v1/hr/persons"


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TUGI_JOINER_POLICY = "grant"
    with time_machine.travel(NOW, tick=False):
        yield build_world()


@pytest.fixture
def hr_api(world):
    return token_client(world.hr)


def joiner(code: str = NEW_1, **changes) -> dict:
    record = {
        "personal_code": code,
        "first_name": "Peeter",
        "last_name": "Pärn",
        "email": "peeter.parn@sotsiaalkindlustusamet.ee",
        "unit_code": "PENS",
        "position_code": "PENS-SPEC",
        "employment_start": "2026-11-16",
        "manager_personal_code": MARI,
    }
    record.update(changes)
    return record


def post(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


def test_one_joiner_is_applied_with_its_access(hr_api, world):
    with time_machine.travel(NOW, tick=False):
        response = post(hr_api, joiner())
    assert response.status_code == 200, response.content
    body = response.json()
    peeter = Person.objects.get(personal_code=NEW_1)
    assert body["results"] == [{"index": 0, "person": peeter.pk, "outcome": "joiner"}]
    assert body["counts"] == {"joiner": 1}
    assert body["access"]["grants_started"] == 2 and body["access"]["problems"] == []
    assert peeter.manager == world.mari
    assert {g.valid_from for g in Grant.objects.filter(person=peeter)} == {at(2026, 11, 16)}
    data_import = DataImport.objects.get(pk=body["data_import"])
    assert data_import.state == "applied" and data_import.applied_by == world.hr
    assert AuditEvent.objects.filter(action="people.import.push").count() == 1


def test_a_batch_of_joiner_mover_leaver_and_unchanged(hr_api, world):
    mari = {
        "personal_code": MARI,
        "first_name": "Mari",
        "last_name": "Maasikas",
        "email": world.mari.email,
        "unit_code": "AREN",
        "position_code": "AREN-SPEC",
        "employment_start": "2020-01-01",
    }
    jaan = {**mari, "personal_code": JAAN, "first_name": "Jaan", "last_name": "Tamm"}
    jaan.update(email=world.jaan.email, unit_code="PENS", position_code="PENS-SPEC")
    jaan["employment_end"] = "30.11.2026"
    same = {**jaan, "employment_end": "2026-11-30"}
    with time_machine.travel(NOW, tick=False):
        response = post(hr_api, {"persons": [joiner(), mari, jaan]})
        assert response.status_code == 200, response.content
        assert [r["outcome"] for r in response.json()["results"]] == ["joiner", "mover", "leaver"]
        again = post(hr_api, [same])  # a bare array works too
    assert again.json()["results"][0]["outcome"] == "unchanged"
    assert Change.objects.filter(person=world.jaan, kind="account_suspend").count() == 2


def test_any_refused_record_refuses_the_push_and_names_each_record(hr_api, world):
    persons = Person.objects.count()
    response = post(
        hr_api,
        [
            joiner(),
            joiner(NEW_2, email="not an address", unit_code="XXX"),
            joiner("12345", email="teine@sotsiaalkindlustusamet.ee", colour="blue"),
        ],
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["persons[1].email"] == ["“not an address” is not an e-mail address."]
    assert errors["persons[1].unit_code"] == ["No unit has the code “XXX”."]
    assert errors["persons[2].personal_code"] == ["A personal code has 11 digits; this one has 5."]
    assert errors["persons[2].colour"] == ["This field is not known."]
    assert "persons[0].email" not in errors
    assert Person.objects.count() == persons
    assert not DataImport.objects.exists()


def test_a_single_object_has_plain_field_names_in_errors(hr_api, world):
    response = post(hr_api, joiner(employment_start="homme"))
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "employment_start": ["“homme” is not a date: write it as 31.12.2026 or 2026-12-31."]
        }
    }


def test_a_record_must_say_its_position_even_if_none(hr_api, world):
    record = joiner()
    del record["position_code"]
    response = post(hr_api, record)
    assert response.status_code == 400
    assert "position_code" in response.json()["errors"]
    ok = post(hr_api, joiner(position_code=None))
    assert ok.status_code == 200
    assert Person.objects.get(personal_code=NEW_1).position is None


def test_the_slash_form_of_the_path_works_too(hr_api, world):
    response = hr_api.post(URL + "/", json.dumps(joiner()), content_type="application/json")
    assert response.status_code == 200


@pytest.mark.parametrize("role", [AppRole.DESK_AGENT, AppRole.ADMINISTRATOR, AppRole.REQUESTER])
def test_without_the_import_permission_the_push_is_forbidden(world, role):
    client = token_client(make_user(f"api-{role}", role))
    response = post(client, joiner())
    assert response.status_code == 403
    assert "detail" in response.json()["errors"]
    assert not Person.objects.filter(personal_code=NEW_1).exists()


def test_without_a_token_the_push_is_unauthorised(anon, world):
    assert post(anon, joiner()).status_code == 401


def test_an_empty_push_is_refused(hr_api, world):
    response = post(hr_api, [])
    assert response.status_code == 400
    assert response.json()["errors"]["persons"] == ["Send at least one person."]


def test_the_push_is_in_the_openapi_document(anon):
    schema = anon.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/hr/persons"]["post"]
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    assert "/api/v1/hr/persons/" not in schema["paths"]
