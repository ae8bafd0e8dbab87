"""One record that shows a person's access is a logged read of that person through the API
(`access.person.view`), as one grant or account is: an access request and one of its items (a
read of the person the request is for, not of the filer), a finding, a change, a substitution (a
read of the absent person and of the substitute, one event each); and the item list narrowed to
one request. The purpose is `?purpose=`, else the caller's role duty; nothing for the caller's own
person; at most once per caller, person and purpose in ten minutes."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.access.factories import AccountFactory, GrantFactory
from tests.access.test_changes_lateness import make_change
from tests.api.test_access_findings import finding_for
from tests.api.test_view_log_lists_api import access_request, substitution
from tests.factories import PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import Person

pytestmark = pytest.mark.django_db

ACCESS_VIEW = "access.person.view"
REQUESTS = "/api/v1/access-requests/"
ITEMS = "/api/v1/access-request-items/"
FINDINGS = "/api/v1/findings/"
CHANGES = "/api/v1/changes/"
SUBSTITUTIONS = "/api/v1/substitutions/"

# The reads of one person's record, each naming the person it reads.
ONE_PERSON = ["request", "request item", "items of the request", "finding", "change"]


def views() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=ACCESS_VIEW).order_by("id"))


def records_of(person: Person, filer) -> dict[str, str]:
    """Each read of one record of `person`, by name: its address."""
    request = access_request(person, filer)
    item = request.items.get()
    finding = finding_for(GrantFactory(account=AccountFactory(person=person)))
    return {
        "request": f"{REQUESTS}{request.pk}/",
        "request item": f"{ITEMS}{item.pk}/",
        "items of the request": f"{ITEMS}?request={request.pk}",
        "finding": f"{FINDINGS}{finding.pk}/",
        "change": f"{CHANGES}{make_change(account=AccountFactory(person=person)).pk}/",
    }


def with_purpose(url: str, purpose: str) -> str:
    return url + ("&" if "?" in url else "?") + f"purpose={purpose}"


@pytest.fixture
def mari(db) -> Person:
    return PersonFactory(first_name="Mari", last_name="Maasikas")


@pytest.fixture
def filer(db):
    return make_user("filer", AppRole.REQUESTER, person=PersonFactory(first_name="Filer"))


@pytest.mark.parametrize("name", ONE_PERSON)
def test_one_record_is_one_logged_read_of_its_person(client_for, desk_user, mari, filer, name):
    url = records_of(mari, filer)[name]
    client = client_for(desk_user)
    assert client.get(url).status_code == 200
    [event] = views()
    assert (event.actor_id, event.subject_person_id) == (desk_user.pk, mari.pk)
    assert (event.object_type, event.object_id) == ("people.person", str(mari.pk))
    assert event.purpose == "role duty: access administration"
    # Again within ten minutes: nothing more.
    assert client.get(url).status_code == 200
    assert len(views()) == 1


@pytest.mark.parametrize("name", ONE_PERSON)
def test_the_given_purpose_is_logged(client_for, auditor_user, mari, filer, name):
    url = records_of(mari, filer)[name]
    client = client_for(auditor_user)
    assert client.get(with_purpose(url, "request-45")).status_code == 200
    assert client.get(url).status_code == 200
    assert [e.purpose for e in views()] == ["access request #45", "role duty: audit"]


@pytest.mark.parametrize("name", ONE_PERSON)
def test_a_too_long_purpose_is_a_400_and_nothing_is_logged(
    client_for, desk_user, mari, filer, name
):
    url = with_purpose(records_of(mari, filer)[name], "x" * 301)
    response = client_for(desk_user).get(url)
    assert response.status_code == 400
    assert "purpose" in response.json()["errors"]
    assert not views()


def test_a_substitution_is_a_read_of_both_its_persons(client_for, desk_user, mari):
    kati = PersonFactory(first_name="Kati")
    order = substitution(mari, kati)
    client = client_for(desk_user)
    assert (
        client.get(f"{SUBSTITUTIONS}{order.pk}/?purpose=substitution-{order.pk}").status_code == 200
    )
    assert (
        client.get(f"{SUBSTITUTIONS}{order.pk}/?purpose=substitution-{order.pk}").status_code == 200
    )
    assert [(e.subject_person_id, e.purpose) for e in views()] == [
        (mari.pk, f"substitution order #{order.pk}"),
        (kati.pk, f"substitution order #{order.pk}"),
    ]


def test_the_substitute_reading_their_order_logs_the_absent_person_only(client_for, mari):
    kati_user = make_user("kati", AppRole.REQUESTER)
    kati = PersonFactory(first_name="Kati", user=kati_user)
    order = substitution(mari, kati)
    assert client_for(kati_user).get(f"{SUBSTITUTIONS}{order.pk}/").status_code == 200
    [event] = views()
    assert (event.actor_id, event.subject_person_id) == (kati_user.pk, mari.pk)
    assert event.purpose == "role duty: no role"  # a requester has no duty of reading others


def test_a_request_is_a_read_of_its_person_not_of_the_filer(client_for, mari, filer):
    """The filer of someone else's request reads that person's access in it: logged. The person
    the request is for reading it: their own, not logged."""
    urls = records_of(mari, filer)
    client = client_for(filer)
    for name in ("request", "request item"):
        assert client.get(urls[name]).status_code == 200, name
    [event] = views()
    assert (event.actor_id, event.subject_person_id) == (filer.pk, mari.pk)
    mari_user = make_user("mari", AppRole.REQUESTER)
    mari.user = mari_user
    mari.save(update_fields=["user"])
    mari_client = client_for(mari_user)
    for name in ("request", "request item", "items of the request"):
        assert mari_client.get(urls[name]).status_code == 200, name
    assert len(views()) == 1


def test_ones_own_records_are_not_logged(client_for, desk_user):
    me = PersonFactory(user=desk_user)
    urls = records_of(me, make_user("filer2"))
    client = client_for(desk_user)
    for url in urls.values():
        assert client.get(url).status_code == 200, url
    assert not views()


def test_without_permission_others_records_are_404_and_nothing_is_logged(
    client_for, requester_user, mari, filer
):
    urls = records_of(mari, filer)
    order = substitution(mari, PersonFactory())
    client = client_for(requester_user)
    for name in ("request", "request item"):
        assert client.get(urls[name]).status_code == 404, name
    assert client.get(f"{SUBSTITUTIONS}{order.pk}/").status_code == 404
    # Findings and changes need the permission at all.
    assert client.get(urls["finding"]).status_code == 403
    assert client.get(urls["change"]).status_code == 403
    # Someone else's request answers as one that does not exist: the same 400 on `request`.
    other = client.get(urls["items of the request"])
    missing = client.get(f"{ITEMS}?request=999999")
    assert other.status_code == missing.status_code == 400
    assert set(other.json()["errors"]) == set(missing.json()["errors"]) == {"request"}
    assert not views()


def test_the_items_of_a_request_and_of_its_person_are_one_read(client_for, desk_user, mari, filer):
    request_id = records_of(mari, filer)["request"].rstrip("/").rsplit("/", 1)[1]
    response = client_for(desk_user).get(ITEMS, {"request": request_id, "person": mari.pk})
    assert response.status_code == 200
    assert [e.subject_person_id for e in views()] == [mari.pk]


def test_lists_across_people_are_still_not_logged(client_for, desk_user, mari, filer):
    records_of(mari, filer)
    client = client_for(desk_user)
    for url in (REQUESTS, ITEMS, FINDINGS, CHANGES, SUBSTITUTIONS):
        assert client.get(url).status_code == 200
    assert not views()


@pytest.mark.parametrize("name", [*ONE_PERSON, "substitution"])
def test_a_read_in_the_window_costs_one_select_more_per_person(
    client_for, mari, filer, name, monkeypatch
):
    from tugi.people import view_log

    urls = records_of(mari, filer)
    urls["substitution"] = f"{SUBSTITUTIONS}{substitution(mari, PersonFactory()).pk}/"
    persons = 2 if name == "substitution" else 1
    client = client_for(make_user("desk2", AppRole.DESK_AGENT))
    url = urls[name]
    client.get(url)  # logged, the token's first use recorded: the reads below are in the window

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    logged = count()
    monkeypatch.setattr(view_log, "log_view", lambda *args, **kwargs: None)
    assert logged == count() + persons


def test_the_schema_documents_the_purpose(anon):
    schema = json.loads(anon.get(reverse("api-schema")).content)
    for path in (
        "/api/v1/access-requests/{id}/",
        "/api/v1/access-request-items/{id}/",
        "/api/v1/findings/{id}/",
        "/api/v1/changes/{id}/",
        "/api/v1/substitutions/{id}/",
    ):
        operation = schema["paths"][path]["get"]
        assert "purpose" in {p["name"] for p in operation["parameters"]}, path
        assert "audit log" in operation["description"], path
    items = schema["paths"]["/api/v1/access-request-items/"]["get"]
    assert "`request`" in items["description"]
