"""Pieces behind the people pages: duty parsing, cursors, the fast select, the unit tree."""

import pytest
from django.urls import reverse

from tests.factories import OrgUnitFactory, PersonFactory
from tugi.people import queries
from tugi.people.forms import FastSelect, PersonFilterForm, parse_duties
from tugi.people.models import Person


def test_parse_duties_reads_one_duty_per_line_with_optional_result():
    text = (
        "  Vastab pöördumistele — pöördumised on lahendatud  \n"
        "\n"
        "Haldab õigusi | õigused on õigel alusel\n"
        "Kirjutab juhendeid\n"
        "Jagab teadmisi — kõik teavad — ka uued\n"
        "Kasutab sidekriipsu-sõnu ilma tühikuteta—nii\n"
    )
    assert parse_duties(text) == [
        {"description": "Vastab pöördumistele", "expected_result": "pöördumised on lahendatud"},
        {"description": "Haldab õigusi", "expected_result": "õigused on õigel alusel"},
        {"description": "Kirjutab juhendeid", "expected_result": ""},
        # Only the first separator splits; the result may itself contain a dash.
        {"description": "Jagab teadmisi", "expected_result": "kõik teavad — ka uued"},
        {"description": "Kasutab sidekriipsu-sõnu ilma tühikuteta—nii", "expected_result": ""},
    ]
    assert parse_duties(" \n\n ") == []


@pytest.mark.parametrize(
    "cursor",
    ["", "x", "!!!", "WyJuIl0", "eyJhIjoxfQ", "WyJ4IiwiYSIsImIiLDFd", "WyJuIix0cnVlLCJiIiwxXQ"],
)
def test_malformed_cursors_mean_the_first_page(cursor):
    assert queries.decode_cursor(cursor, 3) is None


def test_cursor_round_trip_keeps_estonian_letters():
    token = queries.encode_cursor("p", ["Õun", "Ülle", 42])
    assert "=" not in token and "/" not in token
    assert queries.decode_cursor(token, 3) == ("p", ["Õun", "Ülle", 42])


def test_fast_select_renders_like_a_select_and_escapes():
    widget = FastSelect(choices=[("", "All"), (1, "<b>Üks</b>"), (2, "Kaks & kolm")])
    html = widget.render("unit", 2, attrs={"id": "id_unit", "aria-invalid": "true"})
    assert html.startswith('<select name="unit" aria-invalid="true" id="id_unit">')
    assert '<option value="1">&lt;b&gt;Üks&lt;/b&gt;</option>' in html
    assert '<option value="2" selected>Kaks &amp; kolm</option>' in html
    assert html.endswith("</select>")


@pytest.mark.django_db
def test_filter_form_drops_ids_that_name_nothing(django_assert_num_queries):
    unit = OrgUnitFactory()
    form = PersonFilterForm({"org_unit": str(unit.pk), "position": "999", "status": "bogus"})
    filters = form.filters()
    assert filters.org_unit == unit and filters.position_id is None and filters.status == ""
    # Redrawing only the results must not load the option lists.
    with django_assert_num_queries(0):
        PersonFilterForm({"q": "mari"}).filters()


@pytest.mark.django_db
def test_org_tree_and_member_counts():
    root = OrgUnitFactory(name="Amet")
    dept = OrgUnitFactory(name="Osakond", parent=root)
    unit = OrgUnitFactory(name="Talitus", parent=dept)
    PersonFactory(org_unit=unit)
    PersonFactory(org_unit=unit, status=Person.Status.ON_LEAVE)
    PersonFactory(org_unit=unit, status=Person.Status.LEFT, employment_end="2023-01-01")
    tree = queries.org_tree()
    assert [n.unit for n in tree] == [root]
    assert tree[0].children[0].children[0].unit == unit
    assert tree[0].children[0].children[0].members == 2
    assert queries.ancestors(unit) == [root, dept]


@pytest.mark.django_db
def test_filtering_by_the_only_root_filters_nothing(client, desk_user):
    root = OrgUnitFactory()
    child = OrgUnitFactory(parent=root)
    PersonFactory(org_unit=child)
    client.force_login(desk_user)
    response = client.get(reverse("people:person_list"), {"org_unit": root.pk})
    assert len(response.context["page"].rows) == 1


@pytest.mark.django_db
def test_home_for_a_user_without_a_person_record(client, requester_user):
    client.force_login(requester_user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "not linked" in response.content.decode()


@pytest.mark.django_db
def test_htmx_history_restore_gets_the_whole_page(client, desk_user):
    client.force_login(desk_user)
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = client.get(reverse("people:person_list"), headers=headers).content.decode()
    assert "<html" in html
