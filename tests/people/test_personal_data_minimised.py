"""Personal data on the people pages shown only as far as needed.

- The foreign id is personal data like the Estonian personal code: masked on the person's page
  and revealed only with a purpose, by the same logged reveal (`people.person.view_personal_code`),
  to holders of `people.view_personal_code`.
- A search that may be a personal code is never pushed into the address (history, bookmarks,
  the Referer of the next page) and is not cached.
"""

import pytest
from django.urls import reverse

from tests.factories import OrgUnitFactory, PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import Person
from tugi.people.views import mask_foreign_id

pytestmark = pytest.mark.django_db

LIST = reverse("people:person_list")
REVEAL = "people.person.view_personal_code"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def foreigner() -> Person:
    return PersonFactory(
        first_name="Jānis",
        last_name="Bērziņš",
        personal_code=None,
        foreign_id_country="LV",
        foreign_id_code="120387-11223",
    )


def detail(person: Person) -> str:
    return reverse("people:person_detail", args=[person.pk])


def reveal_url(person: Person) -> str:
    return reverse("people:person_personal_code", args=[person.pk])


# --- the foreign id -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "masked"),
    [
        ("120387-11223", "•••••••••223"),
        ("AB1234", "•••234"),
        ("12345", "•••••"),  # too short to show any of it
        ("", ""),
    ],
)
def test_a_foreign_id_is_masked_but_for_its_last_characters(code, masked):
    assert mask_foreign_id(code) == masked


def test_the_person_page_shows_the_foreign_id_masked_and_offers_the_reveal(
    client, desk_user, foreigner
):
    client.force_login(desk_user)
    html = client.get(detail(foreigner)).content.decode()
    assert "120387-11223" not in html
    assert "LV •••••••••223" in html
    assert reveal_url(foreigner) in html  # the same reveal as for a personal code
    # Opening the page is logged as a view of the record; nothing was revealed.
    assert not AuditEvent.objects.filter(action=REVEAL).exists()


def test_the_reveal_shows_the_foreign_id_with_a_purpose_and_logs_it(client, desk_user, foreigner):
    client.force_login(desk_user)
    form = client.get(reveal_url(foreigner), headers=HTMX).content.decode()
    assert 'name="purpose"' in form and "120387-11223" not in form
    assert "Why do you need to see the foreign id?" in form

    refused = client.post(reveal_url(foreigner), {"purpose": "x"}, headers=HTMX)
    assert "120387-11223" not in refused.content.decode()
    assert not AuditEvent.objects.filter(action=REVEAL).exists()

    shown = client.post(reveal_url(foreigner), {"purpose": "Pöördumine 2024-7"}, headers=HTMX)
    html = shown.content.decode()
    assert "LV 120387-11223" in html and "no-store" in shown["Cache-Control"]
    [event] = AuditEvent.objects.filter(action=REVEAL)
    assert (event.actor_id, event.subject_person_id) == (desk_user.pk, foreigner.pk)
    assert event.purpose == "Pöördumine 2024-7"
    assert "120387-11223" not in f"{event.object_repr} {event.purpose} {event.after}"


def test_one_reveal_shows_both_identifiers_of_a_person_who_has_both(client, desk_user):
    person = PersonFactory(foreign_id_country="FI", foreign_id_code="010190-123A")
    client.force_login(desk_user)
    page = client.get(detail(person)).content.decode()
    assert person.personal_code not in page and "010190-123A" not in page
    html = client.post(reveal_url(person), {"purpose": "Kontroll"}, headers=HTMX).content.decode()
    assert person.personal_code in html and "FI 010190-123A" in html
    assert AuditEvent.objects.filter(action=REVEAL).count() == 1


def test_without_the_permission_the_foreign_id_stays_masked(client, foreigner):
    specialist = make_user("specialist", AppRole.DOMAIN_SPECIALIST)  # sees people, not codes
    client.force_login(specialist)
    html = client.get(detail(foreigner)).content.decode()
    assert "120387-11223" not in html and "LV •••••••••223" in html
    assert reveal_url(foreigner) not in html
    assert client.post(reveal_url(foreigner), {"purpose": "Uudishimu"}).status_code == 403
    assert not AuditEvent.objects.filter(action=REVEAL).exists()


def test_a_person_without_any_identifier_has_nothing_to_reveal(client, desk_user):
    person = PersonFactory(personal_code=None)
    client.force_login(desk_user)
    assert reveal_url(person) not in client.get(detail(person)).content.decode()
    assert client.get(reveal_url(person)).status_code == 404


# --- a personal code in the search ----------------------------------------------------------------


def test_an_htmx_search_by_name_is_pushed_as_usual(client, desk_user):
    PersonFactory(last_name="Jõgi")
    client.force_login(desk_user)
    response = client.get(LIST, {"q": "jogi"}, headers=HTMX)
    assert "Jõgi" in response.content.decode()
    # No header: htmx pushes the request's own address (hx-push-url on the form and the box).
    assert "HX-Push-Url" not in response
    assert "no-store" not in response.get("Cache-Control", "")
    full = client.get(LIST).content.decode()
    assert full.count('hx-push-url="true"') == 2


def test_a_search_by_a_full_personal_code_is_not_pushed_into_the_address(client, desk_user):
    person = PersonFactory()
    client.force_login(desk_user)
    response = client.get(LIST, {"q": person.personal_code}, headers=HTMX)
    assert [p.pk for p in response.context["page"].rows] == [person.pk]
    assert response["HX-Push-Url"] == LIST
    assert person.personal_code not in response["HX-Push-Url"]
    assert "no-store" in response["Cache-Control"]
    assert person.personal_code not in response.content.decode()


def test_the_other_filters_stay_in_the_address_without_the_code(client, desk_user):
    person = PersonFactory()
    client.force_login(desk_user)
    query = {"q": f" {person.personal_code} ", "status": "active", "cursor": "x"}
    # Whichever element asked (here the status select), the code is left out.
    headers = {**HTMX, "HX-Trigger-Name": "status"}
    response = client.get(LIST, query, headers=headers)
    assert response["HX-Push-Url"] == f"{LIST}?status=active"


@pytest.mark.parametrize("q", ["3", "4850412", "4850412000", "EE48504120007", "mari 485"])
def test_the_beginning_of_a_code_typed_digit_by_digit_is_not_pushed_either(client, desk_user, q):
    client.force_login(desk_user)
    response = client.get(LIST, {"q": q}, headers=HTMX)
    assert response["HX-Push-Url"] == LIST


def test_a_code_search_without_htmx_is_answered_and_not_cached(client, desk_user):
    """The plain GET form (no JavaScript) carries the code in its address, as any GET form does:
    the user guide says so. The answer is at least not stored by the browser or a proxy."""
    person = PersonFactory()
    client.force_login(desk_user)
    response = client.get(LIST, {"q": person.personal_code})
    assert response.status_code == 200 and "<html" in response.content.decode()
    assert "HX-Push-Url" not in response
    assert "no-store" in response["Cache-Control"]


def test_someone_who_may_not_search_by_code_is_not_pushed_either(client):
    """For them 11 digits are plain text that finds no one, but still possibly someone's code."""
    specialist = make_user("specialist", AppRole.DOMAIN_SPECIALIST)
    person = PersonFactory()
    client.force_login(specialist)
    response = client.get(LIST, {"q": person.personal_code}, headers=HTMX)
    assert list(response.context["page"].rows) == []
    assert response["HX-Push-Url"] == LIST


# --- the edit form and the audit log never show the identifiers -----------------------------------


def test_the_edit_form_hides_the_codes_and_an_empty_field_keeps_them(client):
    hr = make_user("personal", AppRole.HR_SPECIALIST)
    person = PersonFactory(
        org_unit=OrgUnitFactory(),
        personal_code="37605030299",
        foreign_id_country="LV",
        foreign_id_code="LV123456-12345",
    )
    client.force_login(hr)
    url = reverse("people:person_edit", args=[person.pk])
    html = client.get(url).content.decode()
    assert "37605030299" not in html and "LV123456-12345" not in html
    form = client.get(url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["phone"] = "+372 5555 1234"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    person.refresh_from_db()
    assert (person.personal_code, person.foreign_id_code) == ("37605030299", "LV123456-12345")
    assert person.phone == "+372 5555 1234"
    # A new foreign id replaces the old; the audit log says that it changed, never the values.
    data["foreign_id_code"] = "LV999999-99999"
    assert client.post(url, data).status_code == 302
    person.refresh_from_db()
    assert person.foreign_id_code == "LV999999-99999"
    event = AuditEvent.objects.filter(action="people.person.update").latest("id")
    assert event.before["foreign_id_code"] == "•" and event.after["foreign_id_code"] == "changed"
    logged = str(list(AuditEvent.objects.values_list("before", "after")))
    assert "LV123456" not in logged and "LV999999" not in logged and "37605030299" not in logged
    assert Person.objects.filter(personal_code="37605030299").count() == 1
