"""A desk agent's path through the people pages in a real browser, in Estonian and English."""

import pytest

from tests.e2e.conftest import sign_in
from tests.factories import OrgUnitFactory, PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole

pytestmark = [pytest.mark.e2e, pytest.mark.estonian, pytest.mark.django_db(transaction=True)]


def test_search_reveal_and_switch_language(page):
    unit = OrgUnitFactory(name="Arendustalitus")
    PersonFactory(first_name="Jüri", last_name="Jõgi", org_unit=unit, personal_code="37605030299")
    PersonFactory(first_name="Mari", last_name="Maasikas", org_unit=unit)
    make_user("desk", AppRole.DESK_AGENT)

    sign_in(page, "desk")
    assert page.locator("html").get_attribute("lang") == "et"

    page.click("nav >> text=Teenistujad")
    page.fill("input[name=q]", "jogi")  # typed without õ, still finds Jõgi (htmx, no reload)
    page.wait_for_function(
        "!document.querySelector('#person-results').innerText.includes('Maasikas')"
    )
    assert "Jõgi" in page.inner_text("#person-results")

    page.click("#person-results >> text=Jõgi")
    assert "3760503••••" in page.inner_text("main")
    page.click("#personal-code >> text=Näita")
    page.click("#personal-code button[type=submit]")  # no purpose: refused, nothing shown
    page.wait_for_selector("#personal-code .field__error")
    assert "37605030299" not in page.inner_text("main")
    page.fill("#personal-code input[name=purpose]", "pöördumine 2026-118")
    page.click("#personal-code button[type=submit]")
    page.wait_for_selector("text=37605030299")
    assert AuditEvent.objects.filter(
        action="people.person.view_personal_code", purpose="pöördumine 2026-118"
    ).exists()

    page.click("button[name=language][value=en]")
    page.wait_for_selector("html[lang=en]")
    assert "People" in page.inner_text("nav")
