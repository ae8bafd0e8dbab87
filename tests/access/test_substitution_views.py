"""The substitution pages: list, detail, order form, proposals inbox, and the buttons."""

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.access.substitution_support import World, acting_grants, at, build_world
from tests.access.views_support import english, login
from tests.factories import make_user
from tugi.access import substitution_queries
from tugi.access.actions import substitution as actions
from tugi.access.models import Substitution
from tugi.core.roles import AppRole
from tugi.people.actions import record_absence
from tugi.people.models import Absence

pytestmark = pytest.mark.django_db
NOW = at(2026, 10, 1, 10)
D = datetime.date


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world() -> World:
    return build_world(at(2026, 1, 5))


@pytest.fixture
def en(client: Client) -> Client:
    return english(client)


def ordered(world: World, **kwargs) -> Substitution:
    values = {
        "absentee": world.absentee,
        "substitute": world.substitute,
        "starts_at": at(2026, 10, 12),
        "ends_at": at(2026, 10, 17),
        "ordered_by": world.unit_head,
    }
    values.update(kwargs)
    return actions.order_substitution(world.unit_head_user, **values)


def test_the_list_shows_orders_by_when_and_person(en, world):
    current = ordered(world, starts_at=at(2026, 9, 28), ends_at=at(2026, 10, 3))
    upcoming = ordered(
        world, substitute=world.colleague, starts_at=at(2026, 10, 12), ends_at=at(2026, 10, 17)
    )
    login(en, world.hr_user)
    page = en.get(reverse("access:substitution_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/access/substitutions/"' in html  # the nav entry
    assert f"/access/substitutions/{current.pk}/" in html
    assert f"/access/substitutions/{upcoming.pk}/" in html
    assert "28.09.2026–02.10.2026" in html
    only_now = en.get(reverse("access:substitution_list"), {"when": "current"}).content.decode()
    assert f"/access/substitutions/{current.pk}/" in only_now
    assert f"/access/substitutions/{upcoming.pk}/" not in only_now
    by_person = en.get(
        reverse("access:substitution_list"), {"when": "all", "person": world.colleague.email}
    ).content.decode()
    assert f"/access/substitutions/{upcoming.pk}/" in by_person
    assert f"/access/substitutions/{current.pk}/" not in by_person


def test_the_list_pages_by_key(en, world, monkeypatch):
    for day in range(5, 25, 2):
        ordered(
            world,
            roles=[world.pension],
            starts_at=at(2026, 10, day),
            ends_at=at(2026, 10, day + 1),
        )
    monkeypatch.setattr(substitution_queries, "PAGE_SIZE", 4)
    upcoming = substitution_queries.SubstitutionFilters(when="upcoming")
    pages = [substitution_queries.page(upcoming)]
    while pages[-1].next_cursor:
        pages.append(substitution_queries.page(upcoming, pages[-1].next_cursor or ""))
    seen = [o.starts_at for p in pages for o in p.rows]
    assert [len(p.rows) for p in pages] == [4, 4, 2]
    assert seen == sorted(seen) and len(set(seen)) == 10
    back = substitution_queries.page(upcoming, pages[-1].prev_cursor or "")
    assert [o.starts_at for o in back.rows] == seen[4:8]
    # Past, latest first.
    with time_machine.travel(at(2026, 11, 30), tick=False):
        past = substitution_queries.page(substitution_queries.SubstitutionFilters(when="past"))
        following = substitution_queries.page(
            substitution_queries.SubstitutionFilters(when="past"), past.next_cursor or ""
        )
    assert [o.starts_at for o in past.rows + following.rows] == sorted(seen, reverse=True)[:8]
    login(en, world.hr_user)
    page = en.get(reverse("access:substitution_list"), {"when": "upcoming"})
    assert page.status_code == 200 and 'rel="next"' in page.content.decode()


def test_a_requester_sees_only_substitutions_they_are_part_of(en, world):
    order = ordered(world)
    login(en, make_user("someone", AppRole.REQUESTER))
    assert en.get(reverse("access:substitution_list")).status_code == 403
    assert en.get(reverse("access:substitution_detail", args=[order.pk])).status_code == 403
    kati = make_user("kati2", AppRole.REQUESTER, person=world.substitute)
    login(en, kati)
    page = en.get(reverse("access:substitution_detail", args=[order.pk]))
    assert page.status_code == 200
    assert "Kati Kask for Mari Maasikas" in page.content.decode()


def test_the_detail_shows_the_grants_and_lets_the_manager_cancel(en, world):
    order = ordered(world, exclusive=True)
    login(en, world.unit_head_user)
    html = en.get(reverse("access:substitution_detail", args=[order.pk])).content.decode()
    assert "Pensionide menetleja" in html and "Registri vaataja" in html
    assert "The absent person's own rights, suspended for the period" in html
    assert 'id="cancel"' in html and 'id="period"' in html
    response = en.post(
        reverse("access:substitution_cancel", args=[order.pk]),
        {"cancel-reason": "Puhkus jääb ära"},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == Substitution.State.CANCELLED


def test_someone_without_authority_sees_no_buttons(en, world):
    order = ordered(world)
    login(en, world.other_head_user)
    html = en.get(reverse("access:substitution_detail", args=[order.pk])).content.decode()
    assert 'id="cancel"' not in html
    response = en.post(
        reverse("access:substitution_cancel", args=[order.pk]), {"cancel-reason": "x"}, follow=True
    )
    assert "Only the manager of Mari Maasikas" in response.content.decode()
    order.refresh_from_db()
    assert order.state == Substitution.State.ORDERED


def test_the_period_form_moves_the_order(en, world):
    order = ordered(world)
    login(en, world.unit_head_user)
    response = en.post(
        reverse("access:substitution_period", args=[order.pk]),
        {"period-first_day": "2026-10-12", "period-last_day": "2026-10-20"},
    )
    assert response.status_code == 302
    assert {g.valid_to for g in acting_grants(order)} == {at(2026, 10, 21)}
    bad = en.post(
        reverse("access:substitution_period", args=[order.pk]),
        {"period-first_day": "2026-10-12", "period-last_day": "2026-10-02"},
    )
    assert "The last day cannot be before the first day." in bad.content.decode()


def test_the_order_form_offers_the_absentees_roles_and_absences(en, world):
    absence = record_absence(
        None,
        world.absentee,
        kind=Absence.Kind.VACATION,
        starts_on=D(2026, 10, 12),
        ends_on=D(2026, 10, 16),
    )
    login(en, world.unit_head_user)
    url = reverse("access:substitution_create")
    assert "Absent person" in en.get(url).content.decode()
    page = en.get(url, {"absentee": world.absentee.email, "absence": absence.pk})
    html = page.content.decode()
    assert "Substitution for Mari Maasikas" in html
    form = page.context["form"]
    offered = {r.code for r in form.fields["roles"].queryset}
    assert offered == {"PEN_PROC", "PKR_VIEW", "HYV_PROC"}  # not the one that is not delegable
    assert set(form.initial["roles"]) == {world.pension.pk, world.register.pk}
    assert form.initial["first_day"] == D(2026, 10, 12) and form.initial["last_day"] == D(
        2026, 10, 16
    )
    response = en.post(
        f"{url}?absentee={world.absentee.email}&absence={absence.pk}",
        {
            "substitute": world.substitute.email,
            "absence": absence.pk,
            "first_day": "2026-10-12",
            "last_day": "2026-10-16",
            "roles": [world.pension.pk, world.benefits.pk],
            "exclusive": "on",
            "directive": "KK 1-3/26",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    # The absence was proposed a substitute when recorded; the order replaced the proposal.
    order = Substitution.objects.get(state=Substitution.State.ORDERED)
    assert response["Location"] == reverse("access:substitution_detail", args=[order.pk])
    assert order.exclusive and order.absence == absence and order.ordered_by == world.unit_head
    assert {r.code for r in order.roles.all()} == {"PEN_PROC", "HYV_PROC"}
    assert {(g.valid_from, g.valid_to) for g in acting_grants(order)} == {
        (at(2026, 10, 12), at(2026, 10, 17))
    }


def test_the_order_form_shows_what_the_action_refuses(en, world):
    record_absence(
        None,
        world.substitute,
        kind=Absence.Kind.SICK,
        starts_on=D(2026, 10, 14),
        ends_on=D(2026, 10, 14),
    )
    login(en, world.unit_head_user)
    response = en.post(
        reverse("access:substitution_create") + f"?absentee={world.absentee.email}",
        {
            "substitute": world.substitute.email,
            "first_day": "2026-10-12",
            "last_day": "2026-10-16",
            "roles": [world.pension.pk],
        },
    )
    assert response.status_code == 200
    assert "Kati Kask is absent themselves from 14.10.2026 to 14.10.2026" in (
        response.content.decode()
    )
    assert not Substitution.objects.exists()


def test_the_proposals_inbox_and_confirming(en, world):
    record_absence(
        None,
        world.absentee,
        kind=Absence.Kind.VACATION,
        starts_on=D(2026, 10, 12),
        ends_on=D(2026, 10, 16),
    )
    proposal = Substitution.objects.get(state=Substitution.State.PROPOSED)  # made at once
    login(en, world.other_head_user)
    assert (
        "No proposals await you"
        in en.get(reverse("access:substitution_proposals")).content.decode()
    )
    login(en, world.unit_head_user)
    inbox = en.get(reverse("access:substitution_proposals")).content.decode()
    assert f"/access/substitutions/{proposal.pk}/" in inbox
    assert "Kati Kask for Mari Maasikas" in inbox
    login(en, world.hr_user)
    assert (
        f"/access/substitutions/{proposal.pk}/"
        in en.get(reverse("access:substitution_proposals")).content.decode()
    )
    login(en, world.unit_head_user)
    detail = en.get(reverse("access:substitution_detail", args=[proposal.pk])).content.decode()
    assert 'id="confirm"' in detail
    response = en.post(
        reverse("access:substitution_confirm", args=[proposal.pk]),
        {"confirm-directive": "KK 2/26"},
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.state == Substitution.State.ORDERED and proposal.directive == "KK 2/26"
    assert len(acting_grants(proposal)) == 2
