"""Accounts, grants with their basis, ending and suspending grants, and explain."""

import datetime
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from tests.access.factories import (
    AccountFactory,
    DutyFactory,
    EntitlementFactory,
    GrantFactory,
    JobDescriptionFactory,
    RoleFactory,
    TargetSystemFactory,
)
from tests.api.access_helpers import (
    DAY,
    ids,
    later,
    query_count,
    request_grant,
    substitution_grant,
    walk,
    walk_back,
)
from tests.factories import PersonFactory, PositionFactory, make_user
from tugi.access.models import Account, Grant, GrantSuspension
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/accounts/"
GRANTS = "/api/v1/grants/"


def grant_url(grant, action: str = "") -> str:
    return f"{GRANTS}{grant.pk}/{action + '/' if action else ''}"


# --- accounts ---------------------------------------------------------------------------------


def test_accounts_list_with_filters(client_for, desk_user):
    skais = TargetSystemFactory(code="SKAIS", name="SKAIS")
    mari = PersonFactory(first_name="Mari", last_name="Mets")
    a = AccountFactory(person=mari, system=skais, username="mari.mets")
    b = AccountFactory(person=mari, state=Account.State.SUSPENDED)
    c = AccountFactory(system=skais, state=Account.State.CLOSED)
    client = client_for(desk_user)
    assert ids(client.get(ACCOUNTS)) == [a.pk, b.pk, c.pk]
    assert ids(client.get(ACCOUNTS, {"person": mari.pk})) == [a.pk, b.pk]
    assert ids(client.get(ACCOUNTS, {"system": skais.pk})) == [a.pk, c.pk]
    assert ids(client.get(f"{ACCOUNTS}?state=suspended&state=closed")) == [b.pk, c.pk]
    body = client.get(f"{ACCOUNTS}{a.pk}/").json()
    assert body["person_name"] == "Mari Mets" and body["system_code"] == "SKAIS"
    assert body["username"] == "mari.mets" and body["state"] == "active"


def test_accounts_pages_cover_every_account_once(client_for, auditor_user):
    accounts = AccountFactory.create_batch(7)
    client = client_for(auditor_user)
    pages = walk(client, f"{ACCOUNTS}?page_size=3")
    assert [pk for page in pages for pk in page] == [a.pk for a in accounts]
    assert walk_back(client, f"{ACCOUNTS}?page_size=3") == pages[::-1]


def test_a_requester_sees_only_their_own_accounts(client_for, requester_user):
    me = PersonFactory(user=requester_user)
    mine = AccountFactory(person=me)
    theirs = AccountFactory()
    client = client_for(requester_user)
    assert ids(client.get(ACCOUNTS)) == [mine.pk]
    # Someone else's id is not one the caller may name: refused like an id that does not exist.
    assert client.get(ACCOUNTS, {"person": theirs.person_id}).status_code == 400
    assert ids(client.get(ACCOUNTS, {"person": me.pk})) == [mine.pk]
    assert client.get(f"{ACCOUNTS}{mine.pk}/").status_code == 200
    assert client.get(f"{ACCOUNTS}{theirs.pk}/").status_code == 404


def test_accounts_are_read_only(client_for, desk_user):
    account = AccountFactory()
    client = client_for(desk_user)
    assert client.post(ACCOUNTS, {}, format="json").status_code == 405
    assert client.patch(f"{ACCOUNTS}{account.pk}/", {}, format="json").status_code == 405


# --- grants: reading --------------------------------------------------------------------------


def test_a_grant_names_its_basis(client_for, desk_user):
    by_duty = GrantFactory()
    by_request = request_grant(PersonFactory())
    absentee = PersonFactory(first_name="Aino", last_name="Puudub")
    by_substitution = substitution_grant(PersonFactory(), absentee)
    client = client_for(desk_user)

    duty = client.get(grant_url(by_duty)).json()
    assert duty["basis"] == "job_description"
    assert duty["basis_duty"] == by_duty.basis_duty_id
    assert duty["basis_job_description"] == by_duty.basis_duty.job_description_id
    assert duty["basis_item"] is duty["basis_request"] is duty["acting_for"] is None
    assert duty["role"] == by_duty.role_id and duty["role_name"] == by_duty.role.name
    assert duty["system"] == by_duty.role.system_id
    assert duty["system_code"] == by_duty.role.system.code
    assert duty["account"] == by_duty.account_id and duty["person"] == by_duty.person_id
    assert duty["valid_to"] is None and duty["suspensions"] == []

    request = client.get(grant_url(by_request)).json()
    assert request["basis"] == "request"
    assert request["basis_item"] == by_request.basis_item_id
    assert request["basis_request"] == by_request.basis_item.request_id
    assert request["basis_duty"] is request["basis_job_description"] is None

    substitution = client.get(grant_url(by_substitution)).json()
    assert substitution["basis"] == "substitution"
    assert substitution["acting_for"] == absentee.pk
    assert substitution["acting_for_name"] == "Aino Puudub"


def test_grants_filters(client_for, auditor_user):
    now = timezone.now()
    role = RoleFactory()
    mari = PersonFactory()
    current = GrantFactory(role=role, account=AccountFactory(person=mari, system=role.system))
    ended = GrantFactory(valid_from=now - 10 * DAY, valid_to=now - DAY)
    future = GrantFactory(valid_from=now + 5 * DAY)
    suspended = GrantFactory()
    GrantSuspension.objects.create(grant=suspended, starts_at=now - DAY, reason="Puhkus")
    by_request = request_grant(mari)
    client = client_for(auditor_user)

    def listed(**params) -> set[int]:
        return set(ids(client.get(GRANTS, params)))

    everything = {current.pk, ended.pk, future.pk, suspended.pk, by_request.pk}
    assert listed() == everything
    assert listed(person=mari.pk) == {current.pk, by_request.pk}
    assert listed(role=role.pk) == {current.pk}
    assert listed(system=role.system_id) == {current.pk}
    assert listed(basis="request") == {by_request.pk}
    assert listed(ended="true") == {ended.pk}
    assert listed(ended="false") == everything - {ended.pk}
    assert listed(in_force_at=now.isoformat()) == {current.pk, by_request.pk}
    assert listed(in_force_at=(now - 5 * DAY).isoformat()) == {
        current.pk,
        ended.pk,
        suspended.pk,
        by_request.pk,
    }
    assert listed(in_force_at=(now + 6 * DAY).isoformat()) == {
        current.pk,
        future.pk,
        by_request.pk,
    }


def test_a_bad_grant_filter_is_a_400_naming_it(client_for, desk_user):
    response = client_for(desk_user).get(GRANTS, {"in_force_at": "üleeile", "basis": "magic"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"in_force_at", "basis"}


def test_grants_newest_first_and_pages_cover_every_grant_once(client_for, desk_user):
    grants = [GrantFactory() for _ in range(7)]
    expected = [g.pk for g in reversed(grants)]
    client = client_for(desk_user)
    pages = walk(client, f"{GRANTS}?page_size=3")
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [pk for page in pages for pk in page] == expected
    assert walk_back(client, f"{GRANTS}?page_size=3") == pages[::-1]


def test_filtered_pages_keep_the_filter(client_for, desk_user):
    mari = PersonFactory()
    mine = [request_grant(mari) for _ in range(5)]
    GrantFactory.create_batch(3)
    params = urlencode({"person": mari.pk, "page_size": 2, "in_force_at": timezone.now()})
    pages = walk(client_for(desk_user), f"{GRANTS}?{params}")
    assert [pk for page in pages for pk in page] == [g.pk for g in reversed(mine)]


def test_the_grant_list_costs_the_same_queries_however_many(client_for, desk_user):
    client = client_for(desk_user)

    def add(n: int) -> None:
        for _ in range(n):
            grant = GrantFactory()
            GrantSuspension.objects.create(grant=grant, starts_at=later(1), reason="Puhkus")
            request_grant(PersonFactory())
            substitution_grant(PersonFactory(), PersonFactory())

    client.get(GRANTS)  # the first request also records when the token was used
    add(1)
    few = query_count(client, GRANTS)
    add(15)
    many = query_count(client, GRANTS)
    assert few == many
    # Authentication (3), the page, then one query per relation shown (7).
    assert many <= 11


def test_a_requester_sees_only_their_own_grants(client_for, requester_user):
    me = PersonFactory(user=requester_user)
    mine = request_grant(me)
    theirs = GrantFactory()
    client = client_for(requester_user)
    assert ids(client.get(GRANTS)) == [mine.pk]
    assert client.get(grant_url(mine)).status_code == 200
    assert client.get(grant_url(theirs)).status_code == 404


# --- grants: ending, suspending, resuming -----------------------------------------------------


def test_end_a_grant_now(client_for, desk_user):
    grant = GrantFactory()
    response = client_for(desk_user).post(
        grant_url(grant, "end"), {"reason": "Tööülesanded muutusid"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == grant.pk and body["ended_reason"] == "Tööülesanded muutusid"
    grant.refresh_from_db()
    assert grant.valid_to is not None and grant.valid_to <= timezone.now()
    assert datetime.datetime.fromisoformat(body["valid_to"]) == grant.valid_to
    event = AuditEvent.objects.get(action="access.grant.end")
    assert event.actor == desk_user and event.request_id == response["X-Request-ID"]


def test_end_a_grant_later(client_for, desk_user):
    grant = GrantFactory()
    at = later(14)
    response = client_for(desk_user).post(
        grant_url(grant, "end"), {"reason": "Lahkub", "at": at.isoformat()}, format="json"
    )
    assert response.status_code == 200
    grant.refresh_from_db()
    assert grant.valid_to == at


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "  "}, "reason"),
        ({}, "reason"),
        ({"reason": "x", "at": "homme"}, "at"),
        ({"reason": "x", "at": "2020-01-01T00:00:00+02:00"}, "at"),  # the past: the action's
    ],
)
def test_ending_with_bad_input_is_a_400_naming_the_field(client_for, desk_user, body, field):
    grant = GrantFactory()
    response = client_for(desk_user).post(grant_url(grant, "end"), body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    grant.refresh_from_db()
    assert grant.valid_to is None
    assert not AuditEvent.objects.filter(action="access.grant.end").exists()


def test_nobody_ends_their_own_grant(client_for, desk_user):
    grant = GrantFactory(account=AccountFactory(person=PersonFactory(user=desk_user)))
    response = client_for(desk_user).post(grant_url(grant, "end"), {"reason": "x"}, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["errors"]
    grant.refresh_from_db()
    assert grant.valid_to is None


@pytest.mark.parametrize("role", [AppRole.REQUESTER, AppRole.AUDITOR, AppRole.APPROVER])
def test_ending_and_suspending_need_the_permission(client_for, role):
    user = make_user("someone", role)
    grant = GrantFactory(account=AccountFactory(person=PersonFactory(user=user)))
    client = client_for(user)
    for action in ("end", "suspend", "resume"):
        response = client.post(grant_url(grant, action), {"reason": "x"}, format="json")
        assert response.status_code == 403, action
    assert not Grant.objects.filter(valid_to__isnull=False).exists()
    assert not GrantSuspension.objects.exists()


def test_suspend_and_resume_a_grant(client_for, desk_user):
    grant = GrantFactory()
    client = client_for(desk_user)
    response = client.post(grant_url(grant, "suspend"), {"reason": "Pikk puhkus"}, format="json")
    assert response.status_code == 200, response.content
    [suspension] = response.json()["suspensions"]
    assert suspension["reason"] == "Pikk puhkus" and suspension["ends_at"] is None
    assert grant.pk not in ids(client.get(GRANTS, {"in_force_at": later(0.01).isoformat()}))

    response = client.post(grant_url(grant, "resume"), {"reason": "Tagasi"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["suspensions"][0]["ends_at"] is not None
    assert grant.pk in ids(client.get(GRANTS, {"in_force_at": later(0.01).isoformat()}))
    actions = AuditEvent.objects.filter(action__startswith="access.grant.").values_list(
        "action", flat=True
    )
    assert list(actions.order_by("id")) == ["access.grant.suspend", "access.grant.resume"]


def test_suspend_for_a_period(client_for, desk_user):
    grant = GrantFactory()
    starts, ends = later(2), later(9)
    response = client_for(desk_user).post(
        grant_url(grant, "suspend"),
        {"reason": "Puhkus", "starts_at": starts.isoformat(), "ends_at": ends.isoformat()},
        format="json",
    )
    assert response.status_code == 200
    suspension = GrantSuspension.objects.get(grant=grant)
    assert (suspension.starts_at, suspension.ends_at) == (starts, ends)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x", "starts_at": "2020-01-01T00:00:00Z"}, "starts_at"),
        ({"reason": "x", "starts_at": "+5d", "ends_at": "+3d"}, "ends_at"),
        ({"reason": ""}, "reason"),
    ],
)
def test_suspending_with_bad_input_is_a_400(client_for, desk_user, body, field):
    grant = GrantFactory()
    relative = {"+5d": later(5).isoformat(), "+3d": later(3).isoformat()}
    body = {k: relative.get(v, v) for k, v in body.items()}
    response = client_for(desk_user).post(grant_url(grant, "suspend"), body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not GrantSuspension.objects.exists()


def test_resuming_a_grant_that_is_not_suspended_is_a_400(client_for, desk_user):
    grant = GrantFactory()
    response = client_for(desk_user).post(
        grant_url(grant, "resume"), {"reason": "x"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["non_field_errors"]


def test_changing_a_grant_nobody_may_see_is_a_404_not_a_403(client_for, desk_user):
    assert client_for(desk_user).post(f"{GRANTS}99999/end/", {"reason": "x"}).status_code == 404


# --- explain ----------------------------------------------------------------------------------


def explain_url(person, role, **params) -> str:
    return f"/api/v1/people/{person.pk}/explain/?{urlencode({'role': role.pk, **params})}"


def test_explain_a_job_description_grant(client_for, auditor_user):
    position = PositionFactory(title="Pensionispetsialist")
    jd = JobDescriptionFactory(position=position, directive="KK 1-1/24")
    duty = DutyFactory(job_description=jd, description="Menetleb pensionitaotlusi")
    role = RoleFactory()
    EntitlementFactory(duty=duty, role=role)
    person = PersonFactory(position=position)
    grant = GrantFactory(
        account=AccountFactory(person=person, system=role.system), role=role, basis_duty=duty
    )
    response = client_for(auditor_user).get(explain_url(person, role))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["person"] == person.pk and body["role"] == role.pk
    [chain] = body["chains"]
    assert chain["grant"]["id"] == grant.pk and chain["grant"]["basis"] == "job_description"
    assert chain["duty"] == {
        "id": duty.pk,
        "description": "Menetleb pensionitaotlusi",
        "expected_result": "",
    }
    assert chain["job_description"]["id"] == jd.pk
    assert chain["job_description"]["position_title"] == "Pensionispetsialist"
    assert chain["job_description"]["directive"] == "KK 1-1/24"
    assert chain["request"] is None and chain["still_justified"] is True


def test_explain_says_when_the_job_description_no_longer_justifies(client_for, auditor_user):
    grant = GrantFactory()  # its duty is of another position's job description
    body = client_for(auditor_user).get(explain_url(grant.person, grant.role)).json()
    assert body["chains"][0]["still_justified"] is False


def test_explain_a_grant_on_request_shows_the_request_and_its_approvals(client_for, desk_user):
    grant = request_grant(PersonFactory())
    body = client_for(desk_user).get(explain_url(grant.person, grant.role)).json()
    [chain] = body["chains"]
    assert chain["duty"] is None and chain["job_description"] is None
    assert chain["request"]["id"] == grant.basis_item.request_id
    assert chain["request"]["justification"] == "Tööülesanded"
    assert [i["id"] for i in chain["request"]["items"]] == [grant.basis_item_id]
    assert chain["request"]["approvals"] == []


def test_explain_at_a_past_moment_and_when_nothing_is_held(client_for, desk_user):
    now = timezone.now()
    grant = GrantFactory(valid_from=now - 30 * DAY, valid_to=now - 10 * DAY)
    client = client_for(desk_user)
    assert client.get(explain_url(grant.person, grant.role)).json()["chains"] == []
    past = client.get(explain_url(grant.person, grant.role, at=(now - 20 * DAY).isoformat()))
    assert [c["grant"]["id"] for c in past.json()["chains"]] == [grant.pk]


def test_explain_needs_a_role(client_for, desk_user):
    person = PersonFactory()
    client = client_for(desk_user)
    response = client.get(f"/api/v1/people/{person.pk}/explain/")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["role"]
    response = client.get(f"/api/v1/people/{person.pk}/explain/?role=99999&at=x")
    assert set(response.json()["errors"]) == {"role", "at"}


def test_a_requester_may_ask_only_about_themselves(client_for, requester_user):
    me = PersonFactory(user=requester_user)
    mine = request_grant(me)
    theirs = GrantFactory()
    client = client_for(requester_user)
    assert client.get(explain_url(me, mine.role)).status_code == 200
    assert client.get(explain_url(theirs.person, theirs.role)).status_code == 404
