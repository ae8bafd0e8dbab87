"""The people pages: list, search, pagination, detail, personal code, forms and permissions."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import OrgUnitFactory, PersonFactory, PositionFactory, make_user, personal_code
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people import forms
from tugi.people.models import JobDescription, OrgUnit, Person
from tugi.people.queries import PERSON_ORDER

pytestmark = pytest.mark.django_db

LIST = reverse("people:person_list")


@pytest.fixture
def specialist_user(db):
    """Sees people but may not see personal codes."""
    return make_user("specialist", AppRole.DOMAIN_SPECIALIST)


def rows_of(response) -> list[Person]:
    return response.context["page"].rows


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        LIST,
        reverse("people:me"),
        reverse("people:person_detail", args=[1]),
        reverse("people:person_create"),
        reverse("people:org_chart"),
        reverse("people:position_list"),
        reverse("people:person_personal_code", args=[1]),
        reverse("home"),
    ],
)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")


def test_requester_sees_only_their_own_record(client, requester_user):
    own = PersonFactory(first_name="Liis", last_name="Lepik")
    own.user = requester_user
    own.save()
    other = PersonFactory(last_name="Võõras")
    client.force_login(requester_user)

    me = client.get(reverse("people:me"))
    assert me.status_code == 200
    assert "Lepik" in me.content.decode()
    assert client.get(reverse("people:person_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("people:person_detail", args=[other.pk])).status_code == 403
    # A requester cannot probe which ids exist either.
    assert client.get(reverse("people:person_detail", args=[99999])).status_code == 403
    for name in ("person_list", "org_chart", "position_list", "person_create"):
        assert client.get(reverse(f"people:{name}")).status_code == 403
    assert client.get(reverse("people:person_edit", args=[own.pk])).status_code == 403


def test_requester_page_hides_what_they_cannot_use(client, requester_user):
    own = PersonFactory()
    own.user = requester_user
    own.save()
    client.force_login(requester_user)
    html = client.get(reverse("people:me")).content.decode()
    assert reverse("people:person_edit", args=[own.pk]) not in html
    assert reverse("people:person_personal_code", args=[own.pk]) not in html
    assert reverse("people:org_unit_detail", args=[own.org_unit_id]) not in html


def test_me_without_a_linked_person(client, requester_user):
    client.force_login(requester_user)
    response = client.get(reverse("people:me"))
    assert response.status_code == 200
    assert "not linked" in response.content.decode()


def test_desk_cannot_change_the_org_tree(client, desk_user):
    unit = OrgUnitFactory()
    client.force_login(desk_user)
    assert client.get(reverse("people:org_unit_create")).status_code == 403
    assert client.get(reverse("people:org_unit_edit", args=[unit.pk])).status_code == 403
    html = client.get(reverse("people:org_chart")).content.decode()
    assert reverse("people:org_unit_create") not in html


# --- list, search, filters, pagination ------------------------------------------------------------


def test_search_folds_estonian_letters(client, desk_user):
    PersonFactory(first_name="Jüri", last_name="Jõgi")
    PersonFactory(first_name="Mari", last_name="Tamm")
    client.force_login(desk_user)

    names = [p.last_name for p in rows_of(client.get(LIST, {"q": "jogi"}))]
    assert names == ["Jõgi"]
    names = [p.last_name for p in rows_of(client.get(LIST, {"q": "JÕGI jüri"}))]
    assert names == ["Jõgi"]
    response = client.get(LIST, {"q": "nobody"})
    assert rows_of(response) == []
    assert "No one matches" in response.content.decode()


def test_personal_code_search_only_for_those_who_may_see_codes(client, desk_user, specialist_user):
    person = PersonFactory(last_name="Kask")
    PersonFactory(last_name="Mänd")
    client.force_login(desk_user)
    assert rows_of(client.get(LIST, {"q": person.personal_code})) == [person]
    client.force_login(specialist_user)
    assert rows_of(client.get(LIST, {"q": person.personal_code})) == []


def test_filter_by_unit_includes_its_subtree(client, desk_user):
    department = OrgUnitFactory(name="Osakond")
    unit = OrgUnitFactory(name="Talitus", parent=department)
    elsewhere = OrgUnitFactory(name="Muu")
    in_department = PersonFactory(org_unit=department, last_name="A")
    in_unit = PersonFactory(org_unit=unit, last_name="B")
    PersonFactory(org_unit=elsewhere, last_name="C")
    client.force_login(desk_user)

    assert rows_of(client.get(LIST, {"org_unit": department.pk})) == [in_department, in_unit]
    assert rows_of(client.get(LIST, {"org_unit": unit.pk})) == [in_unit]


def test_search_within_a_unit_or_a_position(client, desk_user):
    department = OrgUnitFactory()
    unit = OrgUnitFactory(parent=department)
    position = PositionFactory(org_unit=unit)
    tamm = PersonFactory(org_unit=unit, last_name="Tamm", position=position)
    PersonFactory(org_unit=unit, last_name="Saar", position=position)
    PersonFactory(org_unit=OrgUnitFactory(), last_name="Tamm")
    client.force_login(desk_user)
    assert rows_of(client.get(LIST, {"org_unit": department.pk, "q": "tamm"})) == [tamm]
    assert rows_of(client.get(LIST, {"position": position.pk, "q": "tamm"})) == [tamm]


def test_filter_by_status_and_position(client, desk_user):
    position = PositionFactory()
    holder = PersonFactory(org_unit=position.org_unit, position=position, last_name="A")
    on_leave = PersonFactory(status=Person.Status.ON_LEAVE, last_name="B")
    client.force_login(desk_user)
    assert rows_of(client.get(LIST, {"status": "on_leave"})) == [on_leave]
    assert rows_of(client.get(LIST, {"position": position.pk})) == [holder]
    # A filter value that does not exist is dropped, not an error.
    assert len(rows_of(client.get(LIST, {"position": 99999}))) == 2


def position_options(html: str) -> set[str]:
    """The labels of the position filter's options, but the empty one."""
    select = html[html.index('<select name="position"') :]
    select = select[: select.index("</select>")]
    return set(re.findall(r'<option value="\d+"(?: selected)?>([^<]*)</option>', select))


def test_position_filter_offers_only_the_chosen_units_positions(client, desk_user):
    department = OrgUnitFactory(name="Osakond")
    unit = OrgUnitFactory(name="Talitus", parent=department)
    elsewhere = OrgUnitFactory(name="Muu")
    PositionFactory(title="Juhataja", org_unit=department)
    PositionFactory(title="Nõunik", org_unit=unit)
    PositionFactory(title="Jurist", org_unit=elsewhere)
    client.force_login(desk_user)

    # No unit chosen: no positions (the agency may have thousands), only a hint in their place.
    html = client.get(LIST).content.decode()
    assert position_options(html) == set()
    assert '<option value="" selected>Choose a unit first</option>' in html
    # A unit: its own positions and those of the units below it, and no others.
    html = client.get(LIST, {"org_unit": department.pk}).content.decode()
    assert position_options(html) == {"Juhataja (Osakond)", "Nõunik (Talitus)"}
    assert "Choose a unit first" not in html
    html = client.get(LIST, {"org_unit": unit.pk}).content.decode()
    assert position_options(html) == {"Nõunik (Talitus)"}


def test_position_filter_keeps_a_position_in_force_in_view(client, desk_user):
    position = PositionFactory(title="Nõunik", org_unit=OrgUnitFactory(name="Talitus"))
    other_unit = OrgUnitFactory(name="Muu")
    holder = PersonFactory(org_unit=position.org_unit, position=position)
    PersonFactory(org_unit=other_unit)
    client.force_login(desk_user)

    # A link naming a position but no unit: the filter is in force, so the select shows it.
    response = client.get(LIST, {"position": position.pk})
    assert rows_of(response) == [holder]
    assert f'<option value="{position.pk}" selected>' in response.content.decode()
    # A position outside the chosen unit (left over from the unit chosen before) is dropped.
    response = client.get(LIST, {"org_unit": other_unit.pk, "position": position.pk})
    assert len(rows_of(response)) == 1 and rows_of(response) != [holder]
    assert position_options(response.content.decode()) == set()


def test_position_filter_of_a_unit_with_too_many_positions(client, desk_user, monkeypatch):
    monkeypatch.setattr(forms, "POSITION_CHOICES_MAX", 2)
    unit = OrgUnitFactory()
    PositionFactory.create_batch(3, org_unit=unit)
    client.force_login(desk_user)
    html = client.get(LIST, {"org_unit": unit.pk}).content.decode()
    assert position_options(html) == set()
    assert '<option value="" selected>Too many to list: choose a smaller unit</option>' in html


def test_choosing_a_unit_with_htmx_also_replaces_the_position_filter(client, desk_user):
    unit = OrgUnitFactory(name="Talitus")
    PositionFactory(title="Nõunik", org_unit=unit)
    PositionFactory(title="Jurist")
    PersonFactory(org_unit=unit, last_name="Kask")
    client.force_login(desk_user)

    headers = {"HX-Request": "true", "HX-Trigger-Name": "org_unit"}
    html = client.get(LIST, {"org_unit": unit.pk}, headers=headers).content.decode()
    assert "<html" not in html and "Kask" in html
    assert 'id="position-filter" hx-swap-oob="true"' in html
    assert position_options(html) == {"Nõunik (Talitus)"}
    # Any other change (the search box, status, position) redraws only the results.
    headers = {"HX-Request": "true", "HX-Trigger-Name": "status"}
    html = client.get(LIST, {"org_unit": unit.pk}, headers=headers).content.decode()
    assert "Kask" in html and "position-filter" not in html
    # Each select asks for the results itself, so a replaced position select keeps working.
    full = client.get(LIST).content.decode()
    for name in ("org_unit", "status", "position"):
        select = full[full.index(f'<select name="{name}"') :]
        assert f'hx-get="{LIST}"' in select[: select.index(">")]


def test_search_pages_forward_and_back(client, desk_user):
    # On PostgreSQL a search sorts its matches instead of walking the name index: the pages must
    # still follow the list order without gaps or repeats.
    unit = OrgUnitFactory()
    for i in range(90):
        PersonFactory(org_unit=unit, last_name=["Tamm", "Saar", "Tammik"][i % 3], first_name="Mari")
    PersonFactory(org_unit=unit, last_name="Kask", first_name="Jüri")
    expected = list(Person.objects.filter(last_name__startswith="Tamm").order_by(*PERSON_ORDER))
    client.force_login(desk_user)

    first = client.get(LIST, {"q": "tamm"}).context["page"]
    second = client.get(LIST, {"q": "tamm", "cursor": first.next_cursor}).context["page"]
    assert len(first.rows) == 50 and first.rows + second.rows == expected
    assert second.next_cursor is None
    back = client.get(LIST, {"q": "tamm", "cursor": second.prev_cursor}).context["page"]
    assert back.rows == first.rows and back.prev_cursor is None


def test_keyset_pagination_walks_forward_and_back_without_gaps(client, desk_user):
    # Few distinct names, so the (last_name, first_name, id) tie-breaks are exercised.
    unit = OrgUnitFactory()
    for i in range(123):
        PersonFactory(org_unit=unit, last_name=["Saar", "Õun", "Kask"][i % 3], first_name="Mari")
    expected = list(Person.objects.order_by("last_name", "first_name", "id"))
    client.force_login(desk_user)

    pages, cursor = [], ""
    while True:
        page = client.get(LIST, {"cursor": cursor} if cursor else {}).context["page"]
        pages.append(page.rows)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert [len(p) for p in pages] == [50, 50, 23]
    assert [p for rows in pages for p in rows] == expected

    # And back from the last page, keeping the filter in the links.
    back = client.get(LIST, {"cursor": page.prev_cursor}).context["page"]
    assert back.rows == pages[1]
    first = client.get(LIST, {"cursor": back.prev_cursor}).context["page"]
    assert first.rows == pages[0]
    assert first.prev_cursor is None


def test_pager_links_keep_the_filters(client, desk_user):
    unit = OrgUnitFactory()
    for _ in range(55):
        PersonFactory(org_unit=unit)
    client.force_login(desk_user)
    html = client.get(LIST, {"org_unit": unit.pk, "q": "mari"}).content.decode()
    assert f"org_unit={unit.pk}" in html and "q=mari" in html and "cursor=" in html


def test_a_broken_cursor_gives_the_first_page(client, desk_user):
    PersonFactory()
    client.force_login(desk_user)
    response = client.get(LIST, {"cursor": "not-a-cursor!"})
    assert response.status_code == 200
    assert len(rows_of(response)) == 1


def test_list_query_count_does_not_grow_with_rows(client, desk_user):
    client.force_login(desk_user)
    position = PositionFactory()
    PersonFactory(org_unit=position.org_unit, position=position)
    client.get(LIST)  # warm the session and permission caches like a real second request
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for _ in range(60):
        PersonFactory(org_unit=position.org_unit, position=position)
    with CaptureQueriesContext(connection) as many:
        response = client.get(LIST)
    assert len(rows_of(response)) == 50
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(many.captured_queries) <= 8


def test_htmx_request_gets_only_the_results(client, desk_user):
    PersonFactory(last_name="Jõgi")
    client.force_login(desk_user)
    response = client.get(LIST, {"q": "jogi"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and "Jõgi" in html
    assert "HX-Request" in response["Vary"]
    full = client.get(LIST, {"q": "jogi"}).content.decode()
    assert "<html" in full and 'hx-target="#person-results"' in full


# --- detail and the personal code -----------------------------------------------------------------


@pytest.mark.estonian
def test_detail_shows_the_record_with_the_code_masked(client, desk_user):
    manager = PersonFactory(first_name="Tõnu", last_name="Juht")
    person = PersonFactory(
        manager=manager,
        org_unit=manager.org_unit,
        phone="+372 5555 1234",
        employment_start=datetime.date(2021, 3, 1),
    )
    PersonFactory(manager=person, org_unit=manager.org_unit, first_name="Alluv")
    client.force_login(desk_user)
    html = client.get(reverse("people:person_detail", args=[person.pk])).content.decode()
    assert person.personal_code not in html
    assert person.personal_code[:7] + "••••" in html
    assert "01.03.2021" in html  # Estonian short date
    assert "Tõnu Juht" in html and "Alluv" in html and "+372 5555 1234" in html
    assert reverse("people:person_personal_code", args=[person.pk]) in html


def test_foreign_id_is_shown_masked_with_its_country(client, desk_user):
    # Personal data like the personal code: masked, revealed only with a purpose (see
    # tests/people/test_personal_data_minimised.py).
    person = PersonFactory(
        personal_code=None, foreign_id_country="LV", foreign_id_code="123456-12345"
    )
    client.force_login(desk_user)
    html = client.get(reverse("people:person_detail", args=[person.pk])).content.decode()
    assert "123456-12345" not in html
    assert "LV ·········345".replace("·", "•") in html


def test_revealing_the_code_is_logged_with_its_purpose(client, desk_user):
    person = PersonFactory()
    url = reverse("people:person_personal_code", args=[person.pk])
    client.force_login(desk_user)

    form = client.get(url, headers={"HX-Request": "true"})
    assert (
        'name="purpose"' in form.content.decode()
        and person.personal_code not in form.content.decode()
    )

    response = client.post(url, {"purpose": "Pöördumine 2024-117"}, headers={"HX-Request": "true"})
    assert person.personal_code in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="people.person.view_personal_code")
    assert event.purpose == "Pöördumine 2024-117"
    assert event.subject_person_id == person.pk
    assert event.actor_id == desk_user.pk


@pytest.mark.parametrize("purpose", ["", "  ", "ab"])
def test_revealing_the_code_needs_a_purpose(client, desk_user, purpose):
    person = PersonFactory()
    client.force_login(desk_user)
    response = client.post(
        reverse("people:person_personal_code", args=[person.pk]), {"purpose": purpose}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert person.personal_code not in html
    assert "field__error" in html
    assert not AuditEvent.objects.filter(action="people.person.view_personal_code").exists()


def test_revealing_the_code_needs_the_permission(client, specialist_user):
    person = PersonFactory()
    client.force_login(specialist_user)
    detail = client.get(reverse("people:person_detail", args=[person.pk])).content.decode()
    url = reverse("people:person_personal_code", args=[person.pk])
    assert url not in detail
    assert client.post(url, {"purpose": "Uudishimu"}).status_code == 403
    # Opening the page is a logged view of the record; the refused reveal writes nothing.
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["people.person.view"]


# --- person forms ---------------------------------------------------------------------------------


def _person_data(unit: OrgUnit, **overrides) -> dict:
    data = {
        "first_name": "Õie",
        "last_name": "Ööbik",
        "email": "oie.oobik@sotsiaalkindlustusamet.ee",
        "phone": "",
        "personal_code": personal_code(901),
        "foreign_id_country": "",
        "foreign_id_code": "",
        "org_unit": unit.pk,
        "position": "",
        "manager": "",
        "employment_start": "2024-02-01",
        "employment_end": "",
        "status": "active",
    }
    data.update(overrides)
    return data


def test_create_person(client, desk_user):
    unit = OrgUnitFactory()
    manager = PersonFactory(org_unit=unit)
    client.force_login(desk_user)
    response = client.post(
        reverse("people:person_create"), _person_data(unit, manager=manager.email.upper())
    )
    person = Person.objects.get(last_name="Ööbik")
    assert response.status_code == 302
    assert response.url == reverse("people:person_detail", args=[person.pk])
    assert person.manager == manager and person.search_text.startswith("oie oobik")
    assert AuditEvent.objects.filter(action="people.person.create").count() == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("3760503027", "has 11 digits"),
        ("37605030290", "check digit"),
        ("3760503A029", "only digits"),
    ],
)
def test_create_with_a_bad_personal_code_saves_nothing(client, desk_user, code, message):
    unit = OrgUnitFactory()
    client.force_login(desk_user)
    response = client.post(reverse("people:person_create"), _person_data(unit, personal_code=code))
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html and "error-summary" in html
    assert (
        'aria-invalid="true"' in html
        and 'aria-describedby="id_personal_code_helptext id_personal_code_error"' in html
    )
    assert not Person.objects.exists()


def test_create_with_a_duplicate_code_or_email_saves_nothing(client, desk_user):
    existing = PersonFactory()
    client.force_login(desk_user)
    data = _person_data(existing.org_unit, personal_code=existing.personal_code)
    html = client.post(reverse("people:person_create"), data).content.decode()
    assert "A person with this personal code already exists." in html
    data = _person_data(existing.org_unit, email=existing.email)
    html = client.post(reverse("people:person_create"), data).content.decode()
    assert "A person with this e-mail address already exists." in html
    assert Person.objects.count() == 1


def test_unknown_org_unit_or_manager_is_refused(client, desk_user):
    unit = OrgUnitFactory()
    client.force_login(desk_user)
    data = _person_data(unit, org_unit=99999, manager="nobody@example.ee")
    response = client.post(reverse("people:person_create"), data)
    errors = response.context["form"].errors
    assert set(errors) == {"org_unit", "manager"}
    assert "No person has this e-mail address." in response.content.decode()
    assert not Person.objects.exists()


def test_edit_refuses_a_manager_cycle(client, desk_user):
    boss = PersonFactory(first_name="Boss")
    worker = PersonFactory(org_unit=boss.org_unit, manager=boss)
    client.force_login(desk_user)
    data = _person_data(
        boss.org_unit,
        first_name=boss.first_name,
        last_name=boss.last_name,
        email=boss.email,
        personal_code=boss.personal_code,
        manager=worker.email,
    )
    response = client.post(reverse("people:person_edit", args=[boss.pk]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "managers would form a cycle" in html
    boss.refresh_from_db()
    assert boss.manager_id is None
    assert not AuditEvent.objects.exists()


def test_edit_form_shows_current_values(client, desk_user):
    boss = PersonFactory()
    person = PersonFactory(manager=boss, org_unit=boss.org_unit)
    client.force_login(desk_user)
    html = client.get(reverse("people:person_edit", args=[person.pk])).content.decode()
    assert f'value="{boss.email}"' in html
    assert 'type="date"' in html and 'value="2020-01-01"' in html


# --- org units ------------------------------------------------------------------------------------


def test_org_chart_nests_units_with_heads_and_counts(client, admin_user):
    root = OrgUnitFactory(name="Amet", kind=OrgUnit.Kind.AGENCY)
    department = OrgUnitFactory(name="Osakond", parent=root)
    head = PersonFactory(org_unit=department, first_name="Pea", last_name="Juht")
    department.head = head
    department.save()
    PersonFactory(org_unit=department)
    PersonFactory(org_unit=department, status=Person.Status.LEFT, employment_end="2023-01-01")
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("people:org_chart")).content.decode()
    assert html.index("Amet") < html.index("Osakond")
    assert "Pea Juht" in html and "2 people" in html
    assert html.count('class="org-tree__list') == 2
    assert len(queries.captured_queries) <= 7


def test_org_unit_detail(client, admin_user):
    parent = OrgUnitFactory(name="Osakond")
    unit = OrgUnitFactory(name="Talitus", parent=parent)
    PositionFactory(org_unit=unit, title="Nõunik")
    PersonFactory(org_unit=unit, last_name="Liige")
    client.force_login(admin_user)
    html = client.get(reverse("people:org_unit_detail", args=[unit.pk])).content.decode()
    assert "Osakond" in html and "Nõunik" in html and "Liige" in html


def test_create_and_move_org_unit(client, admin_user):
    parent = OrgUnitFactory()
    client.force_login(admin_user)
    data = {"name": "Uus talitus", "name_en": "", "code": "UT", "kind": "unit", "parent": parent.pk}
    data |= {"head": "", "active": "on"}
    response = client.post(reverse("people:org_unit_create"), data)
    unit = OrgUnit.objects.get(code="UT")
    assert response.status_code == 302
    assert unit.path == f"{parent.path}{unit.pk}/"


def test_org_unit_cycle_is_refused_on_the_parent_field(client, admin_user):
    parent = OrgUnitFactory(name="Ülem")
    child = OrgUnitFactory(name="Alam", parent=parent)
    client.force_login(admin_user)
    data = {"name": "Ülem", "name_en": "", "code": parent.code, "kind": "unit"}
    data |= {"parent": child.pk, "head": "", "active": "on"}
    response = client.post(reverse("people:org_unit_edit", args=[parent.pk]), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert "cycle" in " ".join(form.errors["parent"])
    parent.refresh_from_db()
    assert parent.parent_id is None and parent.path == f"/{parent.pk}/"


# --- positions and job descriptions ---------------------------------------------------------------


def test_position_list_search_and_filter(client, admin_user):
    unit = OrgUnitFactory()
    PositionFactory(title="Peaspetsialist", org_unit=unit)
    PositionFactory(title="Nõunik")
    client.force_login(admin_user)
    titles = [
        p.title
        for p, _ in client.get(reverse("people:position_list"), {"q": "peasp"}).context["rows"]
    ]
    assert titles == ["Peaspetsialist"]
    rows = client.get(reverse("people:position_list"), {"org_unit": unit.pk}).context["rows"]
    assert [p.title for p, _ in rows] == ["Peaspetsialist"]


def test_job_description_create_and_position_detail(client, admin_user):
    position = PositionFactory(title="Rakendustoe spetsialist")
    other = PositionFactory(title="Asendaja")
    client.force_login(admin_user)
    data = {
        "valid_from": "2024-01-01",
        "directive": "1-1/24/5",
        "purpose": "Toetab kasutajaid.",
        "duties": "Vastab pöördumistele — pöördumised on lahendatud SLA piires\n\n"
        "Haldab kasutajaõigusi | õigused vastavad ametijuhendile\nKirjutab juhendeid",
        "substituted_by": [other.pk],
    }
    response = client.post(reverse("people:job_description_create", args=[position.pk]), data)
    assert response.status_code == 302
    jd = JobDescription.objects.get(position=position)
    duties = [(d.description, d.expected_result) for d in jd.duties.all()]
    assert duties == [
        ("Vastab pöördumistele", "pöördumised on lahendatud SLA piires"),
        ("Haldab kasutajaõigusi", "õigused vastavad ametijuhendile"),
        ("Kirjutab juhendeid", ""),
    ]
    assert list(jd.substituted_by.all()) == [other]

    html = client.get(reverse("people:position_detail", args=[position.pk])).content.decode()
    assert "job-description--current" in html and "Asendaja" in html
    assert "pöördumised on lahendatud SLA piires" in html

    edit = client.get(reverse("people:job_description_edit", args=[jd.pk])).content.decode()
    assert "Vastab pöördumistele — pöördumised on lahendatud SLA piires" in edit


def test_job_description_needs_a_duty(client, admin_user):
    position = PositionFactory()
    client.force_login(admin_user)
    data = {"valid_from": "2024-01-01", "duties": "  \n "}
    response = client.post(reverse("people:job_description_create", args=[position.pk]), data)
    assert response.status_code == 200
    assert not JobDescription.objects.exists()


# --- shell: home, login, language -----------------------------------------------------------------


def test_home_shows_own_record_and_allowed_areas(client, requester_user):
    person = PersonFactory(first_name="Kadri", last_name="Kuusk")
    person.user = requester_user
    person.save()
    client.force_login(requester_user)
    html = client.get(reverse("home")).content.decode()
    assert "Kadri Kuusk" in html
    assert reverse("people:me") in html
    assert f'href="{reverse("people:person_list")}"' not in html


def test_login_page(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html and 'name="password"' in html
    bad = client.post(reverse("login"), {"username": "x", "password": "y"}).content.decode()
    assert "error-summary" in bad


@pytest.mark.estonian
def test_estonian_by_default_and_english_after_switching(client, desk_user):
    client.force_login(desk_user)
    # An English browser still gets Estonian until the user switches.
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-GB,en").content.decode()
    assert '<html lang="et"' in html and "Logi välja" in html and "Sign out" not in html
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    assert response.status_code == 302
    html = client.get(reverse("home")).content.decode()
    assert '<html lang="en"' in html and "Sign out" in html
