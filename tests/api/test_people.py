"""The people resources: listing, filtering, reading, creating and changing persons."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import PersonFactory, PositionFactory, make_user, personal_code
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import Person

PEOPLE = "/api/v1/people/"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def payload(org, **overrides):
    data = {
        "first_name": "Õie",
        "last_name": "Ülevainu",
        "email": "oie.ulevainu@sotsiaalkindlustusamet.ee",
        "personal_code": personal_code(),
        "org_unit": org.unit.pk,
        "position": org.unit_position.pk,
        "employment_start": "2024-03-01",
    }
    data.update(overrides)
    return data


# --- reading ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_is_ordered_by_name_and_hides_the_personal_code(client_for, desk_user, org):
    b = PersonFactory(first_name="Anu", last_name="Tamm", org_unit=org.unit)
    a = PersonFactory(first_name="Mati", last_name="Kask", org_unit=org.unit)
    c = PersonFactory(first_name="Aili", last_name="Tamm", org_unit=org.unit)
    response = client_for(desk_user).get(PEOPLE)
    assert ids(response) == [a.pk, c.pk, b.pk]
    body = response.json()
    assert body["next"] is None and body["previous"] is None
    row = body["results"][0]
    assert "personal_code" not in row and row["has_personal_code"] is True
    assert a.personal_code not in response.content.decode()
    assert row["org_unit_name"] == "Talitus" and row["full_name"] == "Mati Kask"


@pytest.mark.django_db
def test_retrieve(client_for, desk_user, person):
    response = client_for(desk_user).get(f"{PEOPLE}{person.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["last_name"] == "Jõgi" and "personal_code" not in body
    assert body["position"] is None and body["position_title"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["jogi", "JÕGI", "jõgi", "jüri jogi", "JURI"])
def test_search_folds_estonian_letters(client_for, desk_user, person, org, query):
    PersonFactory(first_name="Mari", last_name="Mets", org_unit=org.unit)
    assert ids(client_for(desk_user).get(PEOPLE, {"q": query})) == [person.pk]


@pytest.mark.django_db
def test_search_words_must_all_match(client_for, desk_user, person):
    assert ids(client_for(desk_user).get(PEOPLE, {"q": "jõgi mets"})) == []


@pytest.mark.django_db
def test_org_unit_filter_takes_the_subtree(client_for, desk_user, org):
    in_unit = PersonFactory(org_unit=org.unit)
    in_department = PersonFactory(org_unit=org.department)
    elsewhere = PersonFactory()
    client = client_for(desk_user)
    assert set(ids(client.get(PEOPLE, {"org_unit": org.department.pk}))) == {
        in_unit.pk,
        in_department.pk,
    }
    assert ids(client.get(PEOPLE, {"org_unit": org.unit.pk})) == [in_unit.pk]
    assert elsewhere.pk not in ids(client.get(PEOPLE, {"org_unit": org.agency.pk}))


@pytest.mark.django_db
def test_org_unit_filter_with_a_search(client_for, desk_user, org):
    tamm = PersonFactory(last_name="Tamm", org_unit=org.unit)
    PersonFactory(last_name="Tamm")  # elsewhere
    PersonFactory(last_name="Saar", org_unit=org.unit)
    client = client_for(desk_user)
    assert ids(client.get(PEOPLE, {"org_unit": org.department.pk, "q": "tamm"})) == [tamm.pk]
    # The agency is the root of its tree: filtering by it is everyone in that tree.
    in_agency = Person.objects.filter(org_unit__path__startswith=org.agency.path)
    found = ids(client.get(PEOPLE, {"org_unit": org.agency.pk, "page_size": 200}))
    assert set(found) == set(in_agency.values_list("pk", flat=True))


@pytest.mark.django_db
def test_status_and_position_filters(client_for, desk_user, org):
    active = PersonFactory(org_unit=org.unit, position=org.unit_position)
    on_leave = PersonFactory(org_unit=org.unit, status=Person.Status.ON_LEAVE)
    PersonFactory(org_unit=org.unit, status=Person.Status.LEFT, employment_end="2024-01-01")
    client = client_for(desk_user)
    assert ids(client.get(PEOPLE, {"status": "on_leave"})) == [on_leave.pk]
    both = client.get(f"{PEOPLE}?status=active&status=on_leave")
    assert set(ids(both)) == {active.pk, on_leave.pk}
    assert ids(client.get(PEOPLE, {"position": org.unit_position.pk})) == [active.pk]


@pytest.mark.django_db
def test_a_bad_filter_value_is_a_400_naming_it(client_for, desk_user, org):
    response = client_for(desk_user).get(PEOPLE, {"org_unit": 999999, "status": "retired"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"org_unit", "status"}


@pytest.mark.django_db
def test_list_queries_do_not_grow_with_rows(client_for, desk_user, org):
    """Unit, position and manager come in the same query: no query per row."""
    client = client_for(desk_user)
    boss = PersonFactory(org_unit=org.department, position=org.dept_position)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PEOPLE).status_code == 200
        return len(queries)

    client.get(PEOPLE)  # the first request also records when the token was used
    PersonFactory.create_batch(3, org_unit=org.unit, position=org.unit_position, manager=boss)
    few = count()
    PersonFactory.create_batch(40, org_unit=org.unit, position=org.unit_position, manager=boss)
    many = count()
    assert few == many
    assert many <= 6


# --- pagination -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_cover_every_person_once_forward_and_back(client_for, desk_user, org):
    # Equal names, so the order rests on the later keys (first name, then id).
    people = [
        PersonFactory(first_name=first, last_name=last, org_unit=org.unit)
        for last in ("Kask", "Kask", "Tamm", "Kask", "Aas")
        for first in ("Mari", "Anu")
    ]
    expected = [p.pk for p in sorted(people, key=lambda p: (p.last_name, p.first_name, p.pk))]
    client = client_for(desk_user)
    pages: list[list[int]] = []
    url: str | None = f"{PEOPLE}?page_size=3"
    while url:
        response = client.get(url)
        pages.append(ids(response))
        url = response.json()["next"]
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [pk for page in pages for pk in page] == expected

    # Back from the last page through the previous links: the same pages in reverse.
    last = client.get(f"{PEOPLE}?page_size=3")
    while last.json()["next"]:
        last = client.get(last.json()["next"])
    back: list[list[int]] = [ids(last)]
    url = last.json()["previous"]
    while url:
        response = client.get(url)
        back.append(ids(response))
        url = response.json()["previous"]
    assert back == pages[::-1]


@pytest.mark.django_db
def test_a_row_added_between_pages_is_not_shown_twice(client_for, desk_user, org):
    for name in ("Aas", "Kask", "Lepp", "Mets"):
        PersonFactory(last_name=name, org_unit=org.unit)
    client = client_for(desk_user)
    first = client.get(PEOPLE, {"page_size": 2})
    PersonFactory(last_name="Aabits", org_unit=org.unit)  # sorts before the whole first page
    second = client.get(first.json()["next"])
    seen = ids(first) + ids(second)
    assert len(seen) == len(set(seen)) == 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJ2IjpbMV0sImIiOmZhbHNlfQ"}, "cursor"),  # {"v":[1],"b":false}: too short
    ],
)
def test_bad_page_parameters_are_a_400(client_for, desk_user, params, field):
    response = client_for(desk_user).get(PEOPLE, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.django_db
def test_the_page_size_is_capped(rf):
    from rest_framework.request import Request

    from tugi.api.pagination import KeysetPagination

    request = Request(rf.get(PEOPLE, {"page_size": "5000"}))
    assert KeysetPagination().get_page_size(request) == 200
    assert KeysetPagination().get_page_size(Request(rf.get(PEOPLE))) == 50


# --- the requester sees only themselves --------------------------------------------------------


@pytest.mark.django_db
def test_a_requester_sees_only_their_own_person(client_for, requester_user, person, org):
    own = PersonFactory(org_unit=org.unit, user=requester_user)
    client = client_for(requester_user)
    assert ids(client.get(PEOPLE)) == [own.pk]
    assert ids(client.get(PEOPLE, {"q": "jõgi"})) == []
    assert client.get(f"{PEOPLE}{own.pk}/").status_code == 200
    assert client.get(f"{PEOPLE}{person.pk}/").status_code == 404


@pytest.mark.django_db
def test_a_requester_without_a_person_sees_nothing(client_for, requester_user, person):
    assert ids(client_for(requester_user).get(PEOPLE)) == []


@pytest.mark.django_db
def test_a_requester_cannot_read_org_units_or_positions(client_for, requester_user, org):
    client = client_for(requester_user)
    assert client.get("/api/v1/org-units/").status_code == 403
    assert client.get("/api/v1/positions/").status_code == 403


# --- creating ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_goes_through_the_action(client_for, desk_user, org):
    data = payload(org)
    response = client_for(desk_user).post(PEOPLE, data, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert "personal_code" not in body and body["has_personal_code"] is True
    person = Person.objects.get(pk=body["id"])
    assert person.personal_code == data["personal_code"]
    assert person.search_text == "oie ulevainu oie.ulevainu@sotsiaalkindlustusamet.ee"
    event = AuditEvent.objects.get(action="people.person.create")
    assert event.actor == desk_user and event.subject_person_id == person.pk
    assert data["personal_code"] not in str(event.after)


@pytest.mark.django_db
def test_a_bad_personal_code_is_a_400_naming_the_field_and_saves_nothing(
    client_for, desk_user, org
):
    good = personal_code()
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    response = client_for(desk_user).post(PEOPLE, payload(org, personal_code=bad), format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["personal_code"]
    assert "check digit" in errors["personal_code"][0]
    assert not Person.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="people.").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["email", "personal_code"])
def test_a_duplicate_is_a_400(client_for, desk_user, org, field):
    existing = PersonFactory(org_unit=org.unit, email="sama@sotsiaalkindlustusamet.ee")
    data = payload(org, **{field: getattr(existing, field)})
    response = client_for(desk_user).post(PEOPLE, data, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Person.objects.count() == 1


@pytest.mark.django_db
def test_action_rules_come_back_as_field_errors(client_for, desk_user, org):
    data = payload(org, position=org.dept_position.pk, status="left")
    response = client_for(desk_user).post(PEOPLE, data, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"position", "employment_end"}


@pytest.mark.django_db
def test_type_errors_are_400s_before_the_action(client_for, desk_user, org):
    data = payload(org, employment_start="yesterday", org_unit=999999)
    del data["email"]
    response = client_for(desk_user).post(PEOPLE, data, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"employment_start", "org_unit", "email"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", [AppRole.REQUESTER, AppRole.AUDITOR])
def test_create_needs_the_permission(client_for, org, role):
    client = client_for(make_user("someone", role))
    # Even invalid input gets the 403: the caller learns nothing about validation.
    response = client.post(PEOPLE, {"first_name": ""}, format="json")
    assert response.status_code == 403
    assert response.json()["errors"]["detail"]
    assert not Person.objects.exists()


# --- changing ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_patch_changes_and_writes_an_audit_event(client_for, desk_user, person):
    response = client_for(desk_user).patch(
        f"{PEOPLE}{person.pk}/", {"phone": "+372 5555 1234", "last_name": "Järv"}, format="json"
    )
    assert response.status_code == 200, response.content
    person.refresh_from_db()
    assert person.last_name == "Järv" and person.search_text.startswith("juri jarv")
    event = AuditEvent.objects.get(action="people.person.update")
    assert event.actor == desk_user and event.subject_person_id == person.pk
    assert event.before == {"last_name": "Jõgi", "phone": ""}
    assert event.after == {"last_name": "Järv", "phone": "+372 5555 1234"}


@pytest.mark.django_db
def test_changing_the_personal_code_is_logged_without_the_code(client_for, desk_user, person):
    new_code = personal_code()
    response = client_for(desk_user).patch(
        f"{PEOPLE}{person.pk}/", {"personal_code": new_code}, format="json"
    )
    assert response.status_code == 200
    assert new_code not in response.content.decode()
    event = AuditEvent.objects.get(action="people.person.update")
    assert event.after == {"personal_code": "changed"} and new_code not in str(event.after)


@pytest.mark.django_db
def test_put_replaces_the_required_fields(client_for, desk_user, person, org):
    data = payload(org, email=person.email)
    del data["personal_code"]  # omitted: kept, not erased
    response = client_for(desk_user).put(f"{PEOPLE}{person.pk}/", data, format="json")
    assert response.status_code == 200, response.content
    person.refresh_from_db()
    assert person.first_name == "Õie" and person.position == org.unit_position
    assert person.personal_code


@pytest.mark.django_db
def test_patch_with_a_bad_value_changes_nothing(client_for, desk_user, person, org):
    response = client_for(desk_user).patch(
        f"{PEOPLE}{person.pk}/",
        {"last_name": "Uus", "position": org.dept_position.pk},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["position"]
    person.refresh_from_db()
    assert person.last_name == "Jõgi"
    assert not AuditEvent.objects.filter(action="people.person.update").exists()


@pytest.mark.django_db
def test_a_requester_cannot_change_even_themselves(client_for, requester_user, org):
    own = PersonFactory(org_unit=org.unit, user=requester_user)
    response = client_for(requester_user).patch(
        f"{PEOPLE}{own.pk}/", {"phone": "123"}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_delete_is_not_offered(client_for, admin_user, person):
    assert client_for(admin_user).delete(f"{PEOPLE}{person.pk}/").status_code == 405
    assert Person.objects.filter(pk=person.pk).exists()


# --- the personal code ------------------------------------------------------------------------


def code_url(person) -> str:
    return f"{PEOPLE}{person.pk}/personal-code/"


@pytest.mark.django_db
def test_personal_code_is_revealed_with_a_purpose_and_logged(client_for, desk_user, person):
    response = client_for(desk_user).post(
        code_url(person), {"purpose": "Pöördumine 2024-118"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "personal_code": person.personal_code,
        "foreign_id_country": None,
        "foreign_id_code": None,
    }
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(action="people.person.view_personal_code")
    assert event.actor == desk_user and event.subject_person_id == person.pk
    assert event.purpose == "Pöördumine 2024-118"
    assert event.request_id == response["X-Request-ID"]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"purpose": ""}, {"purpose": " x "}])
def test_personal_code_needs_a_purpose(client_for, desk_user, person, body):
    response = client_for(desk_user).post(code_url(person), body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["purpose"]
    assert not AuditEvent.objects.filter(action="people.person.view_personal_code").exists()


@pytest.mark.django_db
def test_personal_code_needs_the_permission(client_for, requester_user, org):
    own = PersonFactory(org_unit=org.unit, user=requester_user)
    response = client_for(requester_user).post(
        code_url(own), {"purpose": "tahan näha"}, format="json"
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="people.person.view_personal_code").exists()


@pytest.mark.django_db
def test_personal_code_of_someone_without_one_is_null(client_for, desk_user, org):
    foreigner = PersonFactory(
        org_unit=org.unit, personal_code=None, foreign_id_country="LV", foreign_id_code="123"
    )
    response = client_for(desk_user).post(
        code_url(foreigner), {"purpose": "kontroll"}, format="json"
    )
    # The reveal answers both identifiers: this person's is the foreign id.
    assert response.json() == {
        "personal_code": None,
        "foreign_id_country": "LV",
        "foreign_id_code": "123",
    }


@pytest.mark.django_db
def test_personal_code_is_not_readable_by_get(client_for, desk_user, person):
    assert client_for(desk_user).get(code_url(person)).status_code == 405


# --- org units and positions ------------------------------------------------------------------


@pytest.mark.django_db
def test_org_units_with_tree_filters(client_for, desk_user, org):
    client = client_for(desk_user)
    rows = client.get("/api/v1/org-units/").json()["results"]
    by_id = {r["id"]: r for r in rows}
    unit = by_id[org.unit.pk]
    assert unit["parent"] == org.department.pk and unit["depth"] == 2
    assert unit["path"] == f"/{org.agency.pk}/{org.department.pk}/{org.unit.pk}/"
    assert ids(client.get("/api/v1/org-units/", {"parent": "null"})) == [org.agency.pk]
    assert ids(client.get("/api/v1/org-units/", {"parent": org.agency.pk})) == [org.department.pk]
    within = ids(client.get("/api/v1/org-units/", {"within": org.department.pk}))
    assert within == [org.department.pk, org.unit.pk]
    assert client.get(f"/api/v1/org-units/{org.unit.pk}/").json()["name"] == "Talitus"


@pytest.mark.django_db
def test_positions_with_unit_filter(client_for, desk_user, org):
    other = PositionFactory(title="Analüütik")
    client = client_for(desk_user)
    assert ids(client.get("/api/v1/positions/")) == [
        other.pk,
        org.dept_position.pk,
        org.unit_position.pk,
    ]
    in_department = ids(client.get("/api/v1/positions/", {"org_unit": org.department.pk}))
    assert in_department == [org.dept_position.pk, org.unit_position.pk]
    body = client.get(f"/api/v1/positions/{org.unit_position.pk}/").json()
    assert body["org_unit"] == org.unit.pk


@pytest.mark.django_db
def test_org_units_and_positions_are_read_only(client_for, admin_user, org):
    client = client_for(admin_user)
    assert client.post("/api/v1/org-units/", {"name": "x"}, format="json").status_code == 405
    assert client.patch(f"/api/v1/positions/{org.unit_position.pk}/", {}).status_code == 405
