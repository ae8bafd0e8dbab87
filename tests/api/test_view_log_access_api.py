"""What shows one person's access through the API is a logged read of that person
(`access.person.view`), as on the access pages: explain, one grant, one account, and the grant and
account lists filtered by `person`. The purpose is `?purpose=` (a context token is expanded),
else the caller's role duty; at most once per caller, person and purpose in ten minutes."""

import json
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.access.factories import AccountFactory, GrantFactory
from tests.factories import PersonFactory, make_user
from tugi.access.models import Grant
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole

pytestmark = pytest.mark.django_db

ACCESS_VIEW = "access.person.view"
GRANTS = "/api/v1/grants/"
ACCOUNTS = "/api/v1/accounts/"


@pytest.fixture
def grant() -> Grant:
    return GrantFactory()


def explain(grant: Grant, **params: str) -> str:
    query = urlencode({"role": grant.role_id, **params})
    return f"/api/v1/people/{grant.person_id}/explain/?{query}"


def views() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=ACCESS_VIEW).order_by("id"))


def reads(grant: Grant) -> dict[str, str]:
    """Each way to read the person's access, by name."""
    return {
        "explain": explain(grant),
        "grant": f"{GRANTS}{grant.pk}/",
        "account": f"{ACCOUNTS}{grant.account_id}/",
        "grants of the person": f"{GRANTS}?person={grant.person_id}",
        "accounts of the person": f"{ACCOUNTS}?person={grant.person_id}",
    }


@pytest.mark.parametrize(
    "name", ["explain", "grant", "account", "grants of the person", "accounts of the person"]
)
def test_each_read_of_one_persons_access_is_logged(client_for, desk_user, grant, name):
    response = client_for(desk_user).get(reads(grant)[name])
    assert response.status_code == 200, response.content
    [event] = views()
    assert (event.actor_id, event.subject_person_id) == (desk_user.pk, grant.person_id)
    assert (event.object_type, event.object_id) == ("people.person", str(grant.person_id))
    assert event.purpose == "role duty: access administration"


def test_all_of_them_for_the_same_purpose_within_ten_minutes_are_one_event(
    client_for, desk_user, grant
):
    client = client_for(desk_user)
    for url in reads(grant).values():
        assert client.get(url).status_code == 200
    assert len(views()) == 1


def test_the_given_purpose_is_logged_and_a_context_token_expanded(client_for, desk_user, grant):
    client = client_for(desk_user)
    assert client.get(explain(grant, purpose="Pöördumine\n2024-118")).status_code == 200
    url = f"{GRANTS}?{urlencode({'person': grant.person_id, 'purpose': 'request-45'})}"
    assert client.get(url).status_code == 200
    assert [e.purpose for e in views()] == ["Pöördumine 2024-118", "access request #45"]


@pytest.mark.parametrize("name", ["explain", "grant", "grants of the person"])
def test_a_too_long_purpose_is_a_400_and_nothing_is_logged(client_for, desk_user, grant, name):
    url = reads(grant)[name]
    url += ("&" if "?" in url else "?") + urlencode({"purpose": "x" * 301})
    response = client_for(desk_user).get(url)
    assert response.status_code == 400
    assert "purpose" in response.json()["errors"]
    assert not views()


def test_lists_across_people_are_not_logged(client_for, desk_user, grant):
    client = client_for(desk_user)
    assert client.get(GRANTS).status_code == 200
    assert client.get(ACCOUNTS).status_code == 200
    assert client.get(GRANTS, {"role": grant.role_id}).status_code == 200
    assert client.get(ACCOUNTS, {"system": grant.account.system_id}).status_code == 200
    assert not views()


def test_an_empty_list_of_one_person_is_still_a_read_of_them(client_for, desk_user):
    nobody_yet = PersonFactory()
    assert client_for(desk_user).get(GRANTS, {"person": nobody_yet.pk}).json()["results"] == []
    [event] = views()
    assert event.subject_person_id == nobody_yet.pk


def test_own_access_is_not_logged(client_for, requester_user):
    me = PersonFactory(user=requester_user)
    mine = GrantFactory(account=AccountFactory(person=me))
    client = client_for(requester_user)
    for url in reads(mine).values():
        assert client.get(url).status_code == 200, url
    assert not views()


def test_a_requester_filtering_by_someone_else_learns_nothing_and_logs_nothing(
    client_for, requester_user, grant
):
    client = client_for(requester_user)
    # Someone else's id answers as an id that does not exist: the same 400 on `person`.
    for url in (GRANTS, ACCOUNTS):
        other = client.get(url, {"person": grant.person_id})
        missing = client.get(url, {"person": 999_999})
        assert other.status_code == missing.status_code == 400
        assert set(other.json()["errors"]) == set(missing.json()["errors"]) == {"person"}
    assert client.get(f"{GRANTS}{grant.pk}/").status_code == 404
    assert client.get(explain(grant)).status_code == 404
    assert not views()


def test_a_bad_question_logs_nothing(client_for, desk_user, grant):
    client = client_for(desk_user)
    assert client.get(f"/api/v1/people/{grant.person_id}/explain/?role=99999").status_code == 400
    assert client.get(GRANTS, {"person": 99999}).status_code == 400
    assert not views()


def test_the_duty_of_an_auditor(client_for, auditor_user, grant):
    assert client_for(auditor_user).get(explain(grant)).status_code == 200
    assert [e.purpose for e in views()] == ["role duty: audit"]


@pytest.mark.parametrize("name", ["explain", "grant", "grants of the person"])
def test_a_read_in_the_window_costs_one_select_more(client_for, grant, name, monkeypatch):
    from tugi.people import view_log

    client = client_for(make_user("desk2", AppRole.DESK_AGENT))
    url = reads(grant)[name]
    client.get(url)  # logged, the token's first use recorded: the reads below are in the window

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    logged = count()
    monkeypatch.setattr(view_log, "log_view", lambda *args, **kwargs: None)
    assert logged == count() + 1


def test_the_schema_documents_the_purpose(anon):
    schema = json.loads(anon.get(reverse("api-schema")).content)
    for path in (
        "/api/v1/grants/",
        "/api/v1/grants/{id}/",
        "/api/v1/accounts/",
        "/api/v1/accounts/{id}/",
        "/api/v1/people/{id}/explain/",
    ):
        operation = schema["paths"][path]["get"]
        assert "purpose" in {p["name"] for p in operation["parameters"]}, path
        assert "audit log" in operation["description"], path
