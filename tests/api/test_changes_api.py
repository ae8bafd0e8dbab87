"""The lifecycle engine's changes through the API: the list and its filters, keyset pages,
confirming one or many (four eyes), retrying, the lateness figures, and who may do what."""

import datetime

import pytest
from django.utils import timezone

from tests.access.factories import AccountFactory, GrantFactory
from tests.access.test_changes_lateness import make_change
from tests.api.access_helpers import ids, query_count, walk, walk_back
from tests.factories import PersonFactory
from tugi.access.models import Change, ReconcilerRun
from tugi.core.models import AuditEvent

pytestmark = pytest.mark.django_db

CHANGES = "/api/v1/changes/"
LATENESS = "/api/v1/changes/lateness/"
BULK = "/api/v1/changes/confirm/"
State, Kind = Change.State, Change.Kind


def ago(**delta: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def confirm(change: Change) -> str:
    return f"{CHANGES}{change.pk}/confirm/"


def test_who_may_read_and_act(client_for, requester_user, auditor_user, desk_user, anon):
    change = make_change(due_at=ago(hours=1))
    assert anon.get(CHANGES).status_code == 401
    requester = client_for(requester_user)
    for url in (CHANGES, f"{CHANGES}{change.pk}/", LATENESS):
        assert requester.get(url).status_code == 403
    assert requester.post(confirm(change)).status_code == 403
    auditor = client_for(auditor_user)
    assert ids(auditor.get(CHANGES)) == [change.pk]
    assert auditor.get(LATENESS).status_code == 200
    response = auditor.post(confirm(change))
    assert response.status_code == 403
    assert "errors" in response.json()
    assert client_for(desk_user).post(confirm(change)).status_code == 200


def test_a_change_shows_its_times_and_lateness(client_for, desk_user):
    change = make_change(due_at=ago(hours=1), late_ms=1500)
    data = client_for(desk_user).get(f"{CHANGES}{change.pk}/").json()
    assert data["id"] == change.pk and data["state"] == "applied"
    assert data["late_ms"] == 1500 and data["confirmed_at"] is None
    assert data["system_code"] == change.account.system.code
    assert data["role"] is None and data["role_name"] is None  # no grant: an account's change
    assert data["person_name"] == change.person.full_name


def test_filters(client_for, desk_user):
    person = PersonFactory()
    mine = make_change(account=AccountFactory(person=person), due_at=ago(hours=1))
    late = make_change(kind=Kind.GRANT_START, due_at=ago(hours=2), late_ms=120_000)
    failed = make_change(state=State.FAILED, due_at=ago(hours=3))
    pending = make_change(state=State.PENDING, due_at=ago(hours=4))
    confirmed = make_change(due_at=ago(hours=5), confirmed_at=ago(hours=4))
    client = client_for(desk_user)
    # The latest recorded first.
    assert ids(client.get(CHANGES)) == [confirmed.pk, pending.pk, failed.pk, late.pk, mine.pk]
    assert ids(client.get(CHANGES, {"person": person.pk})) == [mine.pk]
    assert ids(client.get(CHANGES, {"state": ["failed", "pending"]})) == [pending.pk, failed.pk]
    assert ids(client.get(CHANGES, {"kind": "grant_start"})) == [late.pk]
    assert ids(client.get(CHANGES, {"late": "true"})) == [pending.pk, failed.pk, late.pk]
    assert ids(client.get(CHANGES, {"late": "false"})) == [confirmed.pk, mine.pk]
    assert ids(client.get(CHANGES, {"confirmed": "false"})) == [late.pk, mine.pk]
    due = {"due_after": ago(hours=3, minutes=30).isoformat(), "due_before": ago(hours=1.5)}
    assert ids(client.get(CHANGES, {**due, "due_before": due["due_before"].isoformat()})) == [
        failed.pk,
        late.pk,
    ]
    assert ids(client.get(CHANGES, {"confirmed": "true"})) == [confirmed.pk]
    system = mine.account.system_id
    assert ids(client.get(CHANGES, {"system": system})) == [mine.pk]
    assert client.get(CHANGES, {"state": "nonsense"}).status_code == 400


def test_keyset_pages_both_ways(client_for, desk_user):
    account = AccountFactory()
    made = [make_change(account=account, due_at=ago(minutes=n // 2)) for n in range(7)]
    expected = sorted((c.pk for c in made), reverse=True)
    client = client_for(desk_user)
    pages = walk(client, f"{CHANGES}?page_size=3")
    assert [pk for page in pages for pk in page] == expected
    assert walk_back(client, f"{CHANGES}?page_size=3") == pages[::-1]


def test_confirm_records_who_and_is_audited(client_for, desk_user):
    change = make_change(due_at=ago(hours=1))
    response = client_for(desk_user).post(confirm(change), {"note": "pilet 77"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["confirmed_by"] == "desk" and data["confirmed_at"] is not None
    event = AuditEvent.objects.get(action="access.change.confirm")
    assert event.basis == "pilet 77" and event.object_id == str(change.pk)
    again = client_for(desk_user).post(confirm(change), format="json")
    assert again.status_code == 400
    assert "already confirmed" in again.json()["errors"]["non_field_errors"][0]


def test_four_eyes(client_for, desk_user):
    own = make_change(account=AccountFactory(person=PersonFactory(user=desk_user)))
    response = client_for(desk_user).post(confirm(own), format="json")
    assert response.status_code == 400
    assert "your own access" in response.json()["errors"]["non_field_errors"][0]
    own.refresh_from_db()
    assert own.confirmed_at is None


def test_only_an_applied_change_is_confirmed(client_for, desk_user):
    pending = make_change(state=State.PENDING, due_at=ago(minutes=1))
    response = client_for(desk_user).post(confirm(pending), format="json")
    assert response.status_code == 400


def test_confirm_many(client_for, desk_user):
    changes = [make_change(due_at=ago(hours=n + 1)) for n in range(3)]
    client = client_for(desk_user)
    response = client.post(BULK, {"ids": [c.pk for c in changes[:2]]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"confirmed": [changes[0].pk, changes[1].pk], "already": []}
    response = client.post(BULK, {"ids": [c.pk for c in changes]}, format="json")
    assert response.json() == {
        "confirmed": [changes[2].pk],
        "already": [changes[0].pk, changes[1].pk],
    }
    assert client.post(BULK, {"ids": []}, format="json").status_code == 400
    missing = client.post(BULK, {"ids": [999_999]}, format="json")
    assert missing.status_code == 400


def test_retry(client_for, desk_user):
    failed = make_change(state=State.FAILED, due_at=ago(hours=1), attempts=5, error="Viga")
    response = client_for(desk_user).post(f"{CHANGES}{failed.pk}/retry/", format="json")
    assert response.status_code == 200, response.content
    # Not planned by any grant (a test row): the engine cancels it on its run after commit.
    failed.refresh_from_db()
    assert failed.state in (State.PENDING, State.CANCELLED)
    assert AuditEvent.objects.filter(action="access.change.retry").count() == 1
    applied = make_change(due_at=ago(hours=1))
    assert client_for(desk_user).post(f"{CHANGES}{applied.pk}/retry/").status_code == 400


def test_lateness_figures(client_for, auditor_user):
    account = AccountFactory()
    for n, late in enumerate([100, 200, 300, 400, 90_000]):
        make_change(account=account, due_at=ago(hours=n + 1), late_ms=late)
    make_change(account=account, due_at=ago(days=10), late_ms=5)
    finished = ago(minutes=1)
    ReconcilerRun.objects.create(
        started_at=finished,
        finished_at=finished,
        window_from=ago(minutes=2),
        window_to=finished,
        checked=3,
        applied=2,
    )
    client = client_for(auditor_user)
    data = client.get(LATENESS).json()
    assert data["period"] == "7d"
    assert data["applied"] == {"count": 5, "median_ms": 300, "p95_ms": 90_000, "max_ms": 90_000}
    assert data["by_kind"]["grant_end"]["count"] == 5
    assert data["by_kind"]["account_close"] == {
        "count": 0,
        "median_ms": None,
        "p95_ms": None,
        "max_ms": None,
    }
    assert data["late_count"] == 1 and data["late_after_ms"] == 60_000
    assert data["engine"]["healthy"] is True
    assert data["engine"]["last_run"]["checked"] == 3
    assert client.get(LATENESS, {"period": "30d"}).json()["applied"]["count"] == 6
    assert client.get(LATENESS, {"kind": "grant_start"}).json()["applied"]["count"] == 0
    assert client.get(LATENESS, {"period": "1y"}).status_code == 400


def test_lateness_when_nothing_happened(client_for, desk_user):
    data = client_for(desk_user).get(LATENESS).json()
    assert data["applied"]["count"] == 0 and data["applied"]["median_ms"] is None
    assert data["engine"] == {"healthy": False, "last_run": None}


def test_the_document_describes_the_resources(anon):
    import json

    from django.urls import reverse

    schema = json.loads(anon.get(reverse("api-schema")).content)
    paths = schema["paths"]
    assert set(paths[CHANGES]) - {"parameters"} == {"get"}
    assert set(paths["/api/v1/changes/{id}/confirm/"]) - {"parameters"} == {"post"}
    assert set(paths["/api/v1/changes/{id}/retry/"]) - {"parameters"} == {"post"}
    assert set(paths[BULK]) - {"parameters"} == {"post"}
    assert set(paths[LATENESS]) - {"parameters"} == {"get"}
    params = {p["name"] for p in paths[CHANGES]["get"]["parameters"]}
    assert {"state", "kind", "late", "person", "system", "cursor", "page_size"} <= params
    lateness_params = {p["name"] for p in paths[LATENESS]["get"]["parameters"]}
    assert lateness_params == {"period", "kind", "system"}


def test_a_page_costs_the_same_queries_whatever_its_rows(client_for, desk_user):
    client = client_for(desk_user)

    def add(n: int) -> None:
        for _ in range(n):
            grant = GrantFactory()
            make_change(account=grant.account, grant=grant, due_at=ago(hours=1))

    add(2)
    query_count(client, CHANGES)  # the token's first use of the minute writes `last used`
    few = query_count(client, CHANGES)
    add(20)
    assert query_count(client, CHANGES) == few
