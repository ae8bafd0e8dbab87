"""Lists narrowed to one person through the API are logged reads of that person
(`access.person.view`), as the grant and account lists are: access requests and their items,
findings and changes filtered by `person`, substitutions by `person`, `absentee` or `substitute`.
Only callers who may read everyone's rows are logged; the others may name only the persons of
their own rows, and any other id answers as one that does not exist."""

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.access.factories import AccountFactory, GrantFactory, TargetSystemFactory
from tests.access.test_changes_lateness import make_change
from tests.api.access_helpers import ids
from tests.api.test_access_findings import finding_for
from tests.factories import PersonFactory, make_user
from tugi.access.models import AccessRequest, AccessRequestItem, Substitution
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
MISSING = 999_999

# Each list narrowed to one person: its address and the parameter that names the person.
LISTS = {
    "requests": (REQUESTS, "person"),
    "request items": (ITEMS, "person"),
    "findings": (FINDINGS, "person"),
    "changes": (CHANGES, "person"),
    "substitutions by person": (SUBSTITUTIONS, "person"),
    "substitutions by absentee": (SUBSTITUTIONS, "absentee"),
    "substitutions by substitute": (SUBSTITUTIONS, "substitute"),
}
# The lists a caller without the read permission may still ask for (their own rows).
OPEN_TO_ALL = {n for n, (url, _p) in LISTS.items() if url not in (FINDINGS, CHANGES)}


def views() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=ACCESS_VIEW).order_by("id"))


def substitution(absentee: Person, substitute: Person) -> Substitution:
    now = timezone.now()
    return Substitution.objects.create(
        absentee=absentee,
        substitute=substitute,
        starts_at=now,
        ends_at=now + datetime.timedelta(days=5),
        state=Substitution.State.ORDERED,
    )


def access_request(person: Person, filer) -> AccessRequest:
    request = AccessRequest.objects.create(person=person, requested_by=filer, justification="Tööks")
    AccessRequestItem.objects.create(
        request=request, kind=AccessRequestItem.Kind.CREATE_ACCOUNT, system=TargetSystemFactory()
    )
    return request


def give_rows(person: Person, filer) -> None:
    """A row of `person` in every list: a request with an item, a finding, a change, and
    substitutions in which they are the absent person and the substitute."""
    access_request(person, filer)
    finding_for(GrantFactory(account=AccountFactory(person=person)))
    make_change(account=AccountFactory(person=person))
    substitution(person, PersonFactory())
    substitution(PersonFactory(), person)


@pytest.fixture
def someone(db) -> Person:
    person = PersonFactory(first_name="Mari", last_name="Maasikas")
    give_rows(person, make_user("filer"))
    return person


def url_of(name: str, person_id: int, **params: str) -> str:
    url, param = LISTS[name]
    query = "&".join(f"{k}={v}" for k, v in {param: person_id, **params}.items())
    return f"{url}?{query}"


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize(
    ("role", "duty"),
    [
        (AppRole.DESK_AGENT, "role duty: access administration"),
        (AppRole.AUDITOR, "role duty: audit"),
    ],
)
def test_a_list_of_one_person_is_one_logged_read(client_for, someone, name, role, duty):
    viewer = make_user("viewer", role)
    client = client_for(viewer)
    assert ids(client.get(url_of(name, someone.pk)))  # their rows are shown
    [event] = views()
    assert (event.actor_id, event.subject_person_id) == (viewer.pk, someone.pk)
    assert (event.object_type, event.object_id) == ("people.person", str(someone.pk))
    assert event.purpose == duty
    # Again, and the next page, within ten minutes: the same read.
    assert client.get(url_of(name, someone.pk)).status_code == 200
    assert client.get(url_of(name, someone.pk, page_size="1")).status_code == 200
    assert len(views()) == 1


@pytest.mark.parametrize("name", LISTS)
def test_the_given_purpose_is_logged(client_for, desk_user, someone, name):
    client = client_for(desk_user)
    assert client.get(url_of(name, someone.pk, purpose="request-45")).status_code == 200
    assert client.get(url_of(name, someone.pk, purpose="Pöördumine 2024-118")).status_code == 200
    assert [e.purpose for e in views()] == ["access request #45", "Pöördumine 2024-118"]


@pytest.mark.parametrize("name", LISTS)
def test_a_too_long_purpose_is_a_400_and_nothing_is_logged(client_for, desk_user, someone, name):
    response = client_for(desk_user).get(url_of(name, someone.pk, purpose="x" * 301))
    assert response.status_code == 400
    assert "purpose" in response.json()["errors"]
    assert not views()


@pytest.mark.parametrize("url", sorted({url for url, _param in LISTS.values()}))
def test_lists_across_people_are_not_logged(client_for, desk_user, someone, url):
    response = client_for(desk_user).get(url)
    assert response.status_code == 200
    assert response.json()["results"]
    assert not views()


@pytest.mark.parametrize("name", LISTS)
def test_ones_own_rows_are_not_logged(client_for, name):
    desk = make_user("desk2", AppRole.DESK_AGENT, person=PersonFactory())
    give_rows(desk.person, desk)
    assert ids(client_for(desk).get(url_of(name, desk.person.pk)))
    assert not views()


@pytest.mark.parametrize("name", LISTS)
def test_a_requester_filtering_by_their_own_person_is_not_logged(client_for, name):
    me = PersonFactory()
    requester = make_user("mina", AppRole.REQUESTER, person=me)
    give_rows(me, requester)
    response = client_for(requester).get(url_of(name, me.pk))
    if name in OPEN_TO_ALL:
        assert ids(response)
    else:
        assert response.status_code == 403  # findings and changes are not theirs to list
    assert not views()


@pytest.mark.parametrize("name", LISTS)
def test_a_requester_naming_someone_else_learns_nothing_and_logs_nothing(
    client_for, requester_user, someone, name
):
    PersonFactory(user=requester_user)
    client = client_for(requester_user)
    other = client.get(url_of(name, someone.pk))
    missing = client.get(url_of(name, MISSING))
    assert other.status_code == missing.status_code
    assert other.json() == missing.json()
    if name in OPEN_TO_ALL:
        assert other.status_code == 400
        assert set(other.json()["errors"]) == {LISTS[name][1]}
    else:
        assert other.status_code == 403
    assert not views()


def test_a_filer_names_whom_they_filed_for_and_is_not_logged(client_for, someone):
    # HR files requests for joiners (`access.file_for_others`) but does not read everyone's.
    hr = make_user("helle", AppRole.HR_SPECIALIST)
    joiner = PersonFactory()
    filed = access_request(joiner, hr)
    client = client_for(hr)
    assert ids(client.get(REQUESTS, {"person": joiner.pk})) == [filed.pk]
    assert len(ids(client.get(ITEMS, {"person": joiner.pk}))) == 1
    for url in (REQUESTS, ITEMS):
        other = client.get(url, {"person": someone.pk})
        missing = client.get(url, {"person": MISSING})
        assert other.status_code == missing.status_code == 400
        assert other.json() == missing.json()
    assert not views()


def test_a_substitute_names_whom_they_stand_in_for_and_is_not_logged(client_for, someone):
    kati = make_user("kati", AppRole.REQUESTER, person=PersonFactory())
    order = substitution(someone, kati.person)
    client = client_for(kati)
    assert ids(client.get(SUBSTITUTIONS, {"absentee": someone.pk})) == [order.pk]
    assert ids(client.get(SUBSTITUTIONS, {"person": someone.pk})) == [order.pk]
    stranger = PersonFactory()
    substitution(stranger, PersonFactory())
    other = client.get(SUBSTITUTIONS, {"person": stranger.pk})
    missing = client.get(SUBSTITUTIONS, {"person": MISSING})
    assert other.status_code == missing.status_code == 400
    assert other.json() == missing.json()
    assert not views()


def test_a_requester_cannot_name_someone_elses_request_either(client_for, requester_user):
    mine = access_request(PersonFactory(user=requester_user), requester_user)
    theirs = access_request(PersonFactory(), make_user("filer"))
    client = client_for(requester_user)
    assert len(ids(client.get(ITEMS, {"request": mine.pk}))) == 1
    other = client.get(ITEMS, {"request": theirs.pk})
    missing = client.get(ITEMS, {"request": MISSING})
    assert other.status_code == missing.status_code == 400
    assert other.json() == missing.json()


def test_each_person_named_is_one_read(client_for, desk_user, someone):
    kati = PersonFactory()
    substitution(someone, kati)
    client = client_for(desk_user)
    both = f"{SUBSTITUTIONS}?absentee={someone.pk}&substitute={kati.pk}"
    assert client.get(both).status_code == 200
    assert [e.subject_person_id for e in views()] == [someone.pk, kati.pk]
    same = f"{SUBSTITUTIONS}?person={someone.pk}&absentee={someone.pk}&purpose=case-1"
    assert client.get(same).status_code == 200
    assert [e.subject_person_id for e in views()[2:]] == [someone.pk]


def test_a_bad_filter_logs_nothing(client_for, desk_user, someone):
    client = client_for(desk_user)
    for url in (REQUESTS, ITEMS, FINDINGS, CHANGES, SUBSTITUTIONS):
        bad = "kind" if url == FINDINGS else "state"
        response = client.get(url, {"person": someone.pk, bad: "no-such-thing"})
        assert response.status_code == 400, url
        assert set(response.json()["errors"]) == {bad}
    assert not views()


@pytest.mark.parametrize("name", LISTS)
def test_a_read_in_the_window_costs_one_select_more(client_for, someone, name, monkeypatch):
    from tugi.people import view_log

    client = client_for(make_user("desk2", AppRole.DESK_AGENT))
    url = url_of(name, someone.pk)
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
    for url in sorted({url for url, _param in LISTS.values()}):
        operation = schema["paths"][url]["get"]
        assert "purpose" in {p["name"] for p in operation["parameters"]}, url
        assert "audit log" in operation["description"], url
