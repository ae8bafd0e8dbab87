"""The catalogue pages: systems, roles, "who had the role on date D", SoD rules."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.access.factories import (
    AccountFactory,
    EntitlementFactory,
    GrantFactory,
    RoleFactory,
    TargetSystemFactory,
)
from tests.access.views_support import DAY, english, justified_holder, later, login
from tests.factories import PersonFactory
from tugi.access import page_queries
from tugi.access.models import Finding, Grant, GrantSuspension, Role, SodException, SodRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client):
    return english(client)


def holders(response) -> list[Grant]:
    return response.context["page"].rows


def _at(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


# --- who may see what ---------------------------------------------------------------------------


def test_requester_cannot_browse_the_catalogue(en, requester_user):
    role = RoleFactory()
    login(en, requester_user)
    assert en.get(reverse("access:system_list")).status_code == 403
    assert en.get(reverse("access:system_detail", args=[role.system_id])).status_code == 403
    assert en.get(reverse("access:role_detail", args=[role.pk])).status_code == 403


def test_anonymous_goes_to_login(en):
    response = en.get(reverse("access:system_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


# --- systems ------------------------------------------------------------------------------------


def test_system_list_shows_kind_owner_connector_and_role_count(en, desk_user):
    owner = PersonFactory(first_name="Olev", last_name="Omanik")
    skais = TargetSystemFactory(name="SKAIS2", owner=owner)
    RoleFactory.create_batch(3, system=skais)
    TargetSystemFactory(name="Rahvastikuregister", kind="external")
    login(en, desk_user)
    response = en.get(reverse("access:system_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "SKAIS2" in html and "Olev Omanik" in html and "external register" in html
    counts = {s.name: s.role_count for s in response.context["systems"]}
    assert counts == {"SKAIS2": 3, "Rahvastikuregister": 0}


def test_system_list_empty_state(en, desk_user):
    login(en, desk_user)
    assert "No systems yet" in en.get(reverse("access:system_list")).content.decode()


def test_system_detail_shows_application_requirements_and_role_badges(en, auditor_user):
    system = TargetSystemFactory(
        name="SKAIS2",
        contact_channel="skais@sotsiaalkindlustusamet.ee",
        application_requirements="Taotluses peab olema menetletava teenuse nimi.",
    )
    RoleFactory(
        system=system,
        name="Pensionide menetleja",
        sensitivity=Role.Sensitivity.PENSION_INSURANCE,
        requires_end_date=True,
        max_duration_days=365,
        delegable=True,
    )
    login(en, auditor_user)
    html = en.get(reverse("access:system_detail", args=[system.pk])).content.decode()
    assert "Taotluses peab olema menetletava teenuse nimi." in html
    assert "mailto:skais@sotsiaalkindlustusamet.ee" in html
    for badge in ("pension-insurance register data", "end date required", "at most 365 days"):
        assert badge in html
    assert "delegable" in html


# --- roles and who held them --------------------------------------------------------------------


def test_role_detail_lists_justifying_duties_and_current_holders(en, desk_user):
    grant = justified_holder()
    role = grant.role
    login(en, desk_user)
    response = en.get(reverse("access:role_detail", args=[role.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Pensionitaotluste menetlemine" in html  # the duty that justifies it
    assert holders(response) == [grant]
    assert reverse("access:explain", args=[grant.person_id, role.pk]) in html
    assert reverse("people:position_detail", args=[grant.person.position_id]) in html


def test_who_had_the_role_answers_for_a_past_date(en, auditor_user):
    role = RoleFactory()
    ended = GrantFactory(
        role=role,
        account=AccountFactory(system=role.system),
        valid_from=timezone.now() - 10 * DAY,
        valid_to=timezone.now() - DAY,
    )
    current = GrantFactory(role=role, account=AccountFactory(system=role.system))
    url = reverse("access:role_detail", args=[role.pk])
    login(en, auditor_user)

    before_yesterday = en.get(url, {"at": _at(timezone.now() - 2 * DAY)})
    assert set(holders(before_yesterday)) == {ended, current}
    assert "Holders on" in before_yesterday.content.decode()
    today = en.get(url)
    assert holders(today) == [current]
    assert "Holders now" in today.content.decode()
    # A date alone means the start of that day.
    day = timezone.localdate() - 2 * DAY
    assert ended in holders(en.get(url, {"at": day.isoformat()}))


def test_who_had_leaves_out_suspended_and_future_grants(en, auditor_user):
    role = RoleFactory()
    suspended = GrantFactory(role=role, account=AccountFactory(system=role.system))
    GrantSuspension.objects.create(
        grant=suspended, starts_at=timezone.now() - DAY, reason="Puhkusel"
    )
    GrantFactory(role=role, account=AccountFactory(system=role.system), valid_from=later(5))
    login(en, auditor_user)
    url = reverse("access:role_detail", args=[role.pk])
    assert holders(en.get(url)) == []
    assert "Nobody holds this role now." in en.get(url).content.decode()
    assert holders(en.get(url, {"at": _at(timezone.now() - 2 * DAY)})) == [suspended]


def test_who_had_is_an_htmx_fragment_and_pages_longest_held_first(en, auditor_user):
    role = RoleFactory()
    people = [PersonFactory(last_name=f"Nimi{n:02d}") for n in range(page_queries.PAGE_SIZE + 3)]
    for person in people:
        GrantFactory(role=role, account=AccountFactory(system=role.system, person=person))
    login(en, auditor_user)
    url = reverse("access:role_detail", args=[role.pk])
    first = en.get(url, HTTP_HX_REQUEST="true")
    assert b"<html" not in first.content
    assert len(holders(first)) == page_queries.PAGE_SIZE
    cursor = first.context["page"].next_cursor
    second = en.get(url, {"cursor": cursor}, HTTP_HX_REQUEST="true")
    # Longest-held first (the people got the role in name order), every holder exactly once.
    names = [g.person.last_name for g in holders(first) + holders(second)]
    assert names == [p.last_name for p in people]


def test_holders_are_hidden_from_those_who_may_not_read_grants(en):
    grant = justified_holder()
    # A catalogue reader without access.view_grant (no app role is one: made from scratch).
    reader = User.objects.create_user("lugeja", password="x")
    group, _created = Group.objects.get_or_create(name="catalogue-only")
    group.permissions.set(
        Permission.objects.filter(codename__in=["view_role", "view_targetsystem"])
    )
    reader.groups.add(group)
    login(en, reader)
    response = en.get(reverse("access:role_detail", args=[grant.role_id]))
    assert response.status_code == 200
    assert response.context["page"] is None
    assert grant.person.last_name not in response.content.decode()


def test_role_holders_page_query_count_does_not_grow(en, auditor_user):
    role = RoleFactory()
    url = reverse("access:role_detail", args=[role.pk])
    login(en, auditor_user)

    def add_holders(n: int) -> None:
        for _ in range(n):
            grant = justified_holder(role)
            EntitlementFactory(duty=grant.basis_duty, role=RoleFactory(system=role.system))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert en.get(url).status_code == 200
        return len(ctx.captured_queries)

    add_holders(2)
    few = count()
    add_holders(20)
    many = count()
    assert many == few
    assert many <= 10


def test_role_page_pages_the_duties_that_justify_it(en, admin_user):
    role = RoleFactory()
    entitlements = [EntitlementFactory(role=role) for _ in range(page_queries.PAGE_SIZE + 2)]
    EntitlementFactory()  # another role's
    url = reverse("access:role_detail", args=[role.pk])
    login(en, admin_user)
    first = en.get(url)
    assert first.context["duty_count"] == len(entitlements)
    assert f"{len(entitlements)} duties justify this role." in first.content.decode()
    assert first.context["duties"].rows == entitlements[: page_queries.PAGE_SIZE]
    cursor = first.context["duties"].next_cursor
    # The pager's htmx request gets the duties part only, and the holders are not read.
    second = en.get(url, {"duties": cursor}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="role-duties")
    html = second.content.decode()
    assert "<html" not in html and 'id="holders-heading"' not in html
    assert "page" not in second.context
    assert second.context["duties"].rows == entitlements[page_queries.PAGE_SIZE :]
    assert "HX-Request" in second["Vary"]
    remove = reverse("access:entitlement_remove", args=[entitlements[-1].pk])
    assert remove in html
    assert (
        reverse("people:position_detail", args=[entitlements[-1].duty.job_description.position_id])
        in html
    )
    # Without htmx (no JavaScript) the whole page opens at that page of duties.
    assert en.get(url, {"duties": cursor}).context["duties"].rows == entitlements[50:]


def test_role_page_query_count_does_not_grow_with_its_duties(en, desk_user):
    role = RoleFactory()
    url = reverse("access:role_detail", args=[role.pk])
    login(en, desk_user)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert en.get(url).status_code == 200
        return len(ctx.captured_queries)

    EntitlementFactory(role=role)
    few = count()
    for _ in range(page_queries.PAGE_SIZE + 5):
        EntitlementFactory(role=role)
    assert count() == few


# --- SoD rules ----------------------------------------------------------------------------------


def test_sod_rule_detail_shows_roles_exceptions_and_conflicts(en, desk_user):
    a, b = RoleFactory(name="Maksja"), RoleFactory(name="Kinnitaja")
    rule = SodRule.objects.create(name="Maksmine ja kinnitamine lahus", role_a=a, role_b=b)
    person, excepted = PersonFactory(last_name="Konflikt"), PersonFactory(last_name="Erand")
    Finding.objects.create(kind=Finding.Kind.SOD_CONFLICT, person=person, rule=rule, key="k1")
    SodException.objects.create(
        rule=rule, person=excepted, valid_to=later(30), justification="Asendus"
    )
    login(en, desk_user)
    html = en.get(reverse("access:sod_rule_detail", args=[rule.pk])).content.decode()
    assert "Maksja" in html and "Kinnitaja" in html
    assert "Konflikt" in html and "Erand" in html
    role_html = en.get(reverse("access:role_detail", args=[a.pk])).content.decode()
    assert reverse("access:sod_rule_detail", args=[rule.pk]) in role_html


# --- every page, every visitor ------------------------------------------------------------------


def _urls() -> list[str]:
    grant = justified_holder()
    rule = SodRule.objects.create(name="Lahus", role_a=grant.role, role_b=RoleFactory())
    return [
        reverse("access:system_list"),
        reverse("access:system_detail", args=[grant.role.system_id]),
        reverse("access:role_detail", args=[grant.role_id]),
        reverse("access:sod_rule_detail", args=[rule.pk]),
        reverse("access:person_access", args=[grant.person_id]),
        reverse("access:explain", args=[grant.person_id, grant.role_id]),
        reverse("access:grant_detail", args=[grant.pk]),
        reverse("access:account_detail", args=[grant.account_id]),
        reverse("access:approvals"),
        reverse("access:fulfilment"),
        reverse("access:compliance"),
    ]


def test_anonymous_visitors_are_sent_to_login_everywhere(en):
    for url in [*_urls(), reverse("access:my_access"), reverse("access:my_requests")]:
        response = en.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_a_requester_is_refused_every_page_about_others(en, requester_user):
    urls = _urls()
    login(en, requester_user)
    for url in urls:
        assert en.get(url).status_code == 403, url
    for url in (
        reverse("access:my_access"),
        reverse("access:my_requests"),
        reverse("access:request_create"),
    ):
        assert en.get(url).status_code == 200, url


def test_staff_open_every_page(en, desk_user, auditor_user):
    urls = _urls()
    for user in (desk_user, auditor_user):
        login(en, user)
        for url in urls:
            if url == reverse("access:approvals") or (
                user == auditor_user and url == reverse("access:fulfilment")
            ):
                continue  # approving is the approvers', fulfilling the desk's
            assert en.get(url).status_code == 200, (user.username, url)
