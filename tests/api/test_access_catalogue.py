"""The access catalogue resources: systems, roles, and who held a role when (holders)."""

import datetime
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from tests.access.factories import (
    AccountFactory,
    GrantFactory,
    RoleFactory,
    TargetSystemFactory,
)
from tests.api.access_helpers import (
    DAY,
    ids,
    query_count,
    request_grant,
    substitution_grant,
    walk,
    walk_back,
)
from tests.factories import PersonFactory, make_user
from tugi.access.models import GrantSuspension, Role, TargetSystem
from tugi.core.roles import AppRole

pytestmark = pytest.mark.django_db

SYSTEMS = "/api/v1/systems/"
ROLES = "/api/v1/roles/"


def holders_url(role) -> str:
    return f"{ROLES}{role.pk}/holders/"


# --- systems ----------------------------------------------------------------------------------


def test_systems_list_by_name_with_filters(client_for, desk_user):
    owner = PersonFactory(first_name="Olev", last_name="Omanik")
    star = TargetSystemFactory(code="STAR", name="STAR", owner=owner)
    rr = TargetSystemFactory(code="RR", name="Rahvastikuregister", kind=TargetSystem.Kind.EXTERNAL)
    old = TargetSystemFactory(code="OLD", name="Arhiiv", active=False)
    client = client_for(desk_user)
    assert ids(client.get(SYSTEMS)) == [old.pk, rr.pk, star.pk]
    assert ids(client.get(SYSTEMS, {"kind": "external"})) == [rr.pk]
    assert ids(client.get(SYSTEMS, {"active": "false"})) == [old.pk]
    body = client.get(f"{SYSTEMS}{star.pk}/").json()
    assert body["owner"] == owner.pk and body["owner_name"] == "Olev Omanik"
    assert body["code"] == "STAR" and body["connector_kind"] == "manual"


def test_systems_are_read_only(client_for, admin_user):
    system = TargetSystemFactory()
    client = client_for(admin_user)
    assert client.post(SYSTEMS, {"code": "X"}, format="json").status_code == 405
    assert client.patch(f"{SYSTEMS}{system.pk}/", {"name": "Y"}).status_code == 405


# --- roles ------------------------------------------------------------------------------------


def test_roles_ordered_by_system_then_name_with_filters(client_for, auditor_user):
    skais = TargetSystemFactory(name="SKAIS")
    star = TargetSystemFactory(name="STAR")
    pension = RoleFactory(
        system=skais,
        name="Pensionide menetleja",
        code="PENS",
        sensitivity=Role.Sensitivity.PENSION_INSURANCE,
        requires_end_date=True,
        max_duration_days=366,
    )
    viewer = RoleFactory(system=skais, name="Toetuste vaataja", delegable=True)
    worker = RoleFactory(
        system=star, name="Sotsiaaltöötaja", sensitivity=Role.Sensitivity.SPECIAL_CATEGORY
    )
    client = client_for(auditor_user)
    assert ids(client.get(ROLES)) == [pension.pk, viewer.pk, worker.pk]
    assert ids(client.get(ROLES, {"system": star.pk})) == [worker.pk]
    assert ids(client.get(ROLES, {"delegable": "true"})) == [viewer.pk]
    sensitive = client.get(f"{ROLES}?sensitivity=pension_insurance&sensitivity=special_category")
    assert ids(sensitive) == [pension.pk, worker.pk]
    assert ids(client.get(ROLES, {"q": "MENETLEJA"})) == [pension.pk]
    assert ids(client.get(ROLES, {"q": "pens menetleja"})) == [pension.pk]
    assert ids(client.get(ROLES, {"q": "pens vaataja"})) == []
    body = client.get(f"{ROLES}{pension.pk}/").json()
    assert body["system"] == skais.pk and body["system_name"] == "SKAIS"
    assert body["requires_end_date"] is True and body["max_duration_days"] == 366


def test_roles_pages_cover_every_role_once(client_for, desk_user):
    systems = [TargetSystemFactory(name=name) for name in ("B", "A", "B")]  # two named alike
    roles = [RoleFactory(system=s, name=n) for s in systems for n in ("x", "y", "x")]
    expected = [r.pk for r in sorted(roles, key=lambda r: (r.system.name, r.name, r.pk))]
    client = client_for(desk_user)
    pages = walk(client, f"{ROLES}?page_size=4")
    assert [len(p) for p in pages] == [4, 4, 1]
    assert [pk for page in pages for pk in page] == expected
    assert walk_back(client, f"{ROLES}?page_size=4") == pages[::-1]


def test_a_bad_role_filter_is_a_400(client_for, desk_user):
    response = client_for(desk_user).get(ROLES, {"system": 99999, "sensitivity": "secret"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"system", "sensitivity"}


@pytest.mark.parametrize("url", [SYSTEMS, ROLES])
def test_a_requester_cannot_read_the_catalogue(client_for, requester_user, url):
    assert client_for(requester_user).get(url).status_code == 403


@pytest.mark.parametrize("role", [AppRole.APPROVER, AppRole.SYSTEM_OWNER, AppRole.ADMINISTRATOR])
def test_every_staff_role_reads_the_catalogue(client_for, role):
    TargetSystemFactory()
    client = client_for(make_user("someone", role))
    assert client.get(SYSTEMS).status_code == 200
    assert client.get(ROLES).status_code == 200


# --- holders ----------------------------------------------------------------------------------


@pytest.fixture
def history():
    """One role's grants over time; "now" minus days: A −100…−50, B −30…, C −100… suspended
    −80…−60, D starts in ten days."""
    now = timezone.now()
    role = RoleFactory(name="Pensionide menetleja")
    people = {
        name: PersonFactory(first_name=name, last_name=f"{name}-perenimi")
        for name in ("Aadu", "Berit", "Cärol", "Daisy")
    }

    def grant(name, start, end=None, **extra):
        account = AccountFactory(person=people[name], system=role.system)
        return GrantFactory(
            account=account,
            role=role,
            valid_from=now + start * DAY,
            valid_to=None if end is None else now + end * DAY,
            **extra,
        )

    grants = {
        "A": grant("Aadu", -100, -50),
        "B": grant("Berit", -30),
        "C": grant("Cärol", -100),
        "D": grant("Daisy", 10),
    }
    GrantSuspension.objects.create(
        grant=grants["C"], starts_at=now - 80 * DAY, ends_at=now - 60 * DAY, reason="Puhkus"
    )
    return role, grants, now


def _at(moment: datetime.datetime) -> dict[str, str]:
    return {"at": moment.isoformat()}


def test_holders_now_and_at_past_moments(client_for, auditor_user, history):
    role, g, now = history
    client = client_for(auditor_user)
    url = holders_url(role)
    # The latest grant first; A and C started at the same moment, so the later id comes first.
    assert ids(client.get(url), "grant") == [g["B"].pk, g["C"].pk]
    assert ids(client.get(url, _at(now - 90 * DAY)), "grant") == [g["C"].pk, g["A"].pk]
    assert ids(client.get(url, _at(now - 70 * DAY)), "grant") == [g["A"].pk]  # C suspended
    assert ids(client.get(url, _at(now - 40 * DAY)), "grant") == [g["C"].pk]
    assert ids(client.get(url, _at(now + 11 * DAY)), "grant") == [g["D"].pk, g["B"].pk, g["C"].pk]
    assert ids(client.get(url, _at(now - 365 * DAY)), "grant") == []
    # The end is exclusive: at the very moment A ends, A no longer holds.
    assert ids(client.get(url, _at(now - 50 * DAY)), "grant") == [g["C"].pk]


def test_the_moment_can_be_given_in_tallinn_time_without_an_offset(client_for, desk_user, history):
    role, g, now = history
    local = timezone.localtime(now - 90 * DAY).replace(tzinfo=None)
    response = client_for(desk_user).get(holders_url(role), {"at": local.isoformat()})
    assert ids(response, "grant") == [g["C"].pk, g["A"].pk]


def test_each_holder_names_the_basis(client_for, desk_user):
    role = RoleFactory(delegable=True)
    by_duty = GrantFactory(role=role, account=AccountFactory(system=role.system))
    by_request = request_grant(PersonFactory(), role)
    absentee = by_duty.person
    by_substitution = substitution_grant(PersonFactory(), absentee, role)
    rows = {
        row["grant"]: row for row in client_for(desk_user).get(holders_url(role)).json()["results"]
    }
    duty = rows[by_duty.pk]
    assert duty["basis"] == "job_description"
    assert duty["basis_duty"] == by_duty.basis_duty_id
    assert duty["basis_job_description"] == by_duty.basis_duty.job_description_id
    assert duty["basis_item"] is None and duty["acting_for"] is None
    assert duty["person"] == by_duty.person_id
    assert duty["person_name"] == by_duty.person.full_name
    assert duty["org_unit"] == by_duty.person.org_unit_id
    request = rows[by_request.pk]
    assert request["basis"] == "request"
    assert request["basis_item"] == by_request.basis_item_id
    assert request["basis_request"] == by_request.basis_item.request_id
    assert request["basis_duty"] is None and request["basis_job_description"] is None
    substitute = rows[by_substitution.pk]
    assert substitute["basis"] == "substitution"
    assert substitute["acting_for"] == absentee.pk
    assert substitute["acting_for_name"] == absentee.full_name


def test_holders_pages_cover_every_holder_once(client_for, desk_user):
    role = RoleFactory()
    start = timezone.now() - 10 * DAY
    # Three grants per start moment, so the order rests on the id within each.
    grants = [
        GrantFactory(
            role=role, account=AccountFactory(system=role.system), valid_from=start - n * DAY
        )
        for n in (2, 0, 1, 2, 0, 1, 2, 0, 1, 3)
    ]
    GrantFactory()  # another role's grant is never listed
    expected = [g.pk for g in sorted(grants, key=lambda g: (g.valid_from, g.pk), reverse=True)]
    client = client_for(desk_user)
    url = f"{holders_url(role)}?page_size=3"
    pages = walk(client, url, "grant")
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [pk for page in pages for pk in page] == expected
    assert walk_back(client, url, "grant") == pages[::-1]
    # The moment asked about stays in the links.
    at = start - 1.5 * DAY
    past = walk(client, f"{url}&{urlencode({'at': at.isoformat()})}", "grant")
    assert [len(p) for p in past] == [3, 1]
    assert [pk for page in past for pk in page] == [
        g.pk
        for g in sorted(grants, key=lambda g: (g.valid_from, g.pk), reverse=True)
        if g.valid_from <= at
    ]


def test_holders_cost_the_same_queries_however_many(client_for, desk_user):
    role = RoleFactory(delegable=True)
    client = client_for(desk_user)
    url = holders_url(role)

    def add(n: int) -> None:
        for _ in range(n):
            GrantFactory(role=role, account=AccountFactory(system=role.system))
            request_grant(PersonFactory(), role)
            substitution_grant(PersonFactory(), PersonFactory(), role)

    client.get(url)  # the first request also records when the token was used
    add(1)
    few = query_count(client, url)
    add(15)
    many = query_count(client, url)
    assert few == many
    # Authentication (token, user, permissions) and the role, then the one query of holders.
    assert many <= 6


def test_holders_use_one_query_on_the_grant_table(client_for, desk_user):
    """The holders' grants, persons, units and bases come in a single SELECT on the grant table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    role = RoleFactory()
    for _ in range(3):
        GrantFactory(role=role, account=AccountFactory(system=role.system))
    client = client_for(desk_user)
    client.get(holders_url(role))
    with CaptureQueriesContext(connection) as queries:
        client.get(holders_url(role))
    on_grants = [q["sql"] for q in queries if 'FROM "access_grant"' in q["sql"]]
    assert len(on_grants) == 1
    assert "LIMIT" in on_grants[0]


def test_a_bad_moment_is_a_400(client_for, desk_user):
    role = RoleFactory()
    response = client_for(desk_user).get(holders_url(role), {"at": "eile"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["at"]


def test_the_role_filters_do_not_apply_to_holders(client_for, desk_user):
    grant = GrantFactory()
    response = client_for(desk_user).get(holders_url(grant.role), {"q": "no such words"})
    assert ids(response, "grant") == [grant.pk]


def test_holders_of_an_unknown_role_is_a_404(client_for, desk_user):
    assert client_for(desk_user).get(f"{ROLES}99999/holders/").status_code == 404


@pytest.mark.parametrize("role", [AppRole.REQUESTER, AppRole.DOMAIN_SPECIALIST])
def test_holders_need_the_grant_permission(client_for, role):
    grant = GrantFactory()
    assert client_for(make_user("x", role)).get(holders_url(grant.role)).status_code == 403
