"""A person's access page, "why?", and the grant and account pages with their desk actions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.access.factories import (
    AccountFactory,
    DutyFactory,
    EntitlementFactory,
    GrantFactory,
    RoleFactory,
    request_world,
)
from tests.access.views_support import DAY, english, justified_holder, later, login
from tests.factories import PersonFactory, PositionFactory
from tugi.access.actions import requests
from tugi.access.models import Account, Finding, Grant, GrantSuspension
from tugi.core.models import AuditEvent
from tugi.people.models import Duty

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client):
    return english(client)


def _page(client, person):
    return client.get(reverse("access:person_access", args=[person.pk]))


# --- who may see it -----------------------------------------------------------------------------


def test_requester_sees_only_their_own_access(en, requester_user):
    own = justified_holder(person=PersonFactory(position=PositionFactory(), user=requester_user))
    other = justified_holder()
    login(en, requester_user)
    assert en.get(reverse("access:my_access")).status_code == 200
    assert _page(en, own.person).status_code == 200
    assert _page(en, other.person).status_code == 403
    assert en.get(reverse("access:person_access", args=[99999])).status_code == 403
    why = reverse("access:explain", args=[other.person_id, other.role_id])
    assert en.get(why).status_code == 403
    assert en.get(reverse("access:grant_detail", args=[other.pk])).status_code == 403
    assert en.get(reverse("access:grant_detail", args=[own.pk])).status_code == 200
    assert en.get(reverse("access:account_detail", args=[other.account_id])).status_code == 403


def test_desk_gets_404_for_a_person_who_does_not_exist(en, desk_user):
    login(en, desk_user)
    assert en.get(reverse("access:person_access", args=[99999])).status_code == 404


def test_my_access_without_a_linked_person(en, requester_user):
    login(en, requester_user)
    response = en.get(reverse("access:my_access"))
    assert response.status_code == 200
    assert "not linked to a person record" in response.content.decode()


def test_person_record_links_to_the_access_page(en, desk_user, requester_user):
    person = PersonFactory(user=requester_user)
    link = reverse("access:person_access", args=[person.pk])
    login(en, desk_user)
    assert link in en.get(reverse("people:person_detail", args=[person.pk])).content.decode()
    login(en, requester_user)
    assert link in en.get(reverse("people:me")).content.decode()


# --- what it shows ------------------------------------------------------------------------------


def test_page_shows_current_grants_timeline_gaps_and_findings(en, desk_user):
    current = justified_holder()
    person = current.person
    account = current.account
    past_role = RoleFactory(system=account.system, name="Vana roll")
    past = GrantFactory(
        account=account,
        role=past_role,
        valid_from=timezone.now() - 400 * DAY,
        valid_to=timezone.now() - 30 * DAY,
        ended_reason="Ülesanded muutusid",
    )
    future = GrantFactory(
        account=account,
        role=RoleFactory(system=account.system, name="Tulevane roll"),
        valid_from=later(10),
    )
    GrantSuspension.objects.create(
        grant=current, starts_at=later(20), ends_at=later(30), reason="Puhkus"
    )
    missing = RoleFactory(name="Puuduv roll")
    EntitlementFactory(duty=current.basis_duty, role=missing)
    finding = Finding.objects.create(
        kind=Finding.Kind.PAST_END, person=person, grant=past, key="past", detail="Lõppenud"
    )
    login(en, desk_user)
    response = _page(en, person)
    assert response.status_code == 200
    data = response.context["data"]
    assert [r.grant for r in data.current] == [current]
    states = {r.grant: r.state for r in data.timeline.rows}
    assert states == {current: "in_force", past: "ended", future: "scheduled"}
    suspended_row = next(r for r in data.timeline.rows if r.grant == current)
    assert len(suspended_row.suspensions) == 1
    assert [g.role for g in data.gaps] == [missing]
    assert [f.finding for f in data.findings] == [finding]
    html = response.content.decode()
    assert "Puuduv roll" in html and "Vana roll" in html and "Tulevane roll" in html
    assert reverse("access:explain", args=[person.pk, current.role_id]) in html
    assert reverse("access:grant_detail", args=[past.pk]) in html  # the finding's fix link
    assert reverse("access:grant_detail", args=[current.pk]) + "#end" in html


def test_auditor_reads_but_gets_no_buttons(en, auditor_user):
    grant = justified_holder()
    login(en, auditor_user)
    html = _page(en, grant.person).content.decode()
    assert "#end" not in html
    response = en.post(reverse("access:grant_end", args=[grant.pk]), {"end-reason": "x"})
    assert response.status_code == 403


def test_own_page_offers_no_changes_to_the_desk(en, desk_user):
    person = PersonFactory(position=PositionFactory(), user=desk_user)
    grant = justified_holder(person=person)
    login(en, desk_user)
    html = en.get(reverse("access:my_access")).content.decode()
    assert reverse("access:grant_detail", args=[grant.pk]) + "#end" not in html


def _grant_of_every_basis(person, duty_of_own_position) -> None:
    """Three more grants of the person, each with a basis chain of its own: a duty of another
    job description, a request (item and request), a substitution for another person; each
    with a suspension and a finding, and a gap."""
    from tugi.access.models import AccessRequest, AccessRequestItem

    roles = [RoleFactory(delegable=True) for _ in range(3)]
    accounts = [AccountFactory(person=person, system=role.system) for role in roles]
    by_duty = GrantFactory(account=accounts[0], role=roles[0], basis_duty=DutyFactory())
    request = AccessRequest.objects.create(
        person=person,
        requested_by=desk_user_of(person),
        justification="Tööks",
        state=AccessRequest.State.FULFILLED,
    )
    item = AccessRequestItem.objects.create(
        request=request,
        kind=AccessRequestItem.Kind.GRANT_ROLE,
        system=roles[1].system,
        role=roles[1],
        state=AccessRequestItem.State.FULFILLED,
    )
    by_request = GrantFactory(
        account=accounts[1],
        role=roles[1],
        basis=Grant.Basis.REQUEST,
        basis_duty=None,
        basis_item=item,
    )
    by_substitution = GrantFactory(
        account=accounts[2],
        role=roles[2],
        basis=Grant.Basis.SUBSTITUTION,
        basis_duty=None,
        acting_for=PersonFactory(),
    )
    for grant in (by_duty, by_request, by_substitution):
        GrantSuspension.objects.create(
            grant=grant, starts_at=later(1), ends_at=later(2), reason="Puhkus"
        )
        Finding.objects.create(
            kind=Finding.Kind.UNJUSTIFIED_GRANT, person=person, grant=grant, key=f"f{grant.pk}"
        )
    EntitlementFactory(duty=duty_of_own_position, role=RoleFactory())  # a gap


def desk_user_of(person):
    from tests.factories import make_user

    return make_user(f"filer-{person.pk}-{Grant.objects.count()}")


def test_person_access_page_query_count_does_not_grow(en, desk_user):
    """A grant more, of any basis, costs no query more: an N+1 anywhere on the page fails it."""
    first = justified_holder()
    person = first.person
    login(en, desk_user)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert _page(en, person).status_code == 200
        return len(ctx.captured_queries)

    _grant_of_every_basis(person, first.basis_duty)
    # The first view is logged (access.person.view): the duplicate check, the chain's head and the
    # insert. The views counted below fall in its ten-minute window: the duplicate check only.
    logged = count()
    few = count()
    assert logged == few + 2 + (connection.vendor == "postgresql")  # + the chain's advisory lock
    for _ in range(5):
        _grant_of_every_basis(person, first.basis_duty)
    many = count()
    assert Grant.objects.filter(person=person).count() == 19
    assert many == few
    # Session, user, permissions (2), the person, the view-log duplicate check; accounts, grants,
    # suspensions, duties, request items, substituted persons; job description, entitlements,
    # gap roles, findings.
    assert many <= 16


def test_each_basis_is_written_once_per_grant_with_links_the_viewer_may_follow():
    """with_basis_cells: the duty links its position, the request its page, the substitution
    the absentee's access page, each only for viewers who may open it; text is escaped."""
    from django.utils.html import conditional_escape

    from tugi.access import page_queries

    own = justified_holder()
    Duty.objects.filter(pk=own.basis_duty_id).update(description="<b>" + "x" * 70)
    absentee = PersonFactory(first_name="Puuduja")
    role = RoleFactory(delegable=True)
    substitution = GrantFactory(
        account=AccountFactory(system=role.system),
        role=role,
        basis="substitution",
        basis_duty=None,
        acting_for=absentee,
    )
    grants = list(page_queries.grant_rows(Grant.objects.filter(pk__in=[own.pk, substitution.pk])))
    page_queries.with_basis_cells(grants, link_positions=True, link_access=True)
    cells = {g.pk: str(conditional_escape(g.basis_cell)) for g in grants}
    position = reverse("people:position_detail", args=[own.person.position_id])
    assert cells[own.pk] == (
        '<span class="basis basis--job_description">Job description</span>: '
        f'<a href="{position}">&lt;b&gt;{"x" * 56}…</a>'
    )
    access = reverse("access:person_access", args=[absentee.pk])
    assert cells[substitution.pk] == (
        '<span class="basis basis--substitution">Substitution</span>: '
        f'acting for <a href="{access}">{absentee.full_name}</a>'
    )
    page_queries.with_basis_cells(grants, link_positions=False, link_access=False)
    assert "<a " not in "".join(str(conditional_escape(g.basis_cell)) for g in grants)


# --- why? ------------------------------------------------------------------------------------


def test_explain_shows_the_duty_and_its_job_description(en, desk_user):
    grant = justified_holder(directive="Käskkiri nr 1-2/77")
    login(en, desk_user)
    response = en.get(reverse("access:explain", args=[grant.person_id, grant.role_id]))
    html = response.content.decode()
    assert "Pensionitaotluste menetlemine" in html
    assert "Käskkiri nr 1-2/77" in html
    assert grant.person.position.title in html
    assert "no longer justifies" not in html


def test_explain_shows_the_request_and_each_approval(en, requester_user, desk_user):
    w = request_world(requester_user, desk_user)
    request = requests.file_request(
        w.requester, w.person, [{"kind": "grant_role", "role": w.benefits_role}], "Vajan tööks."
    )
    requests.approve(w.unit_head_user, request.approvals.get(), "Nõustun, tööks vajalik.")
    requests.fulfil_item(w.desk, request.items.get(), username="mari")
    login(en, requester_user)  # the person themselves may ask why
    html = en.get(
        reverse("access:explain", args=[w.person.pk, w.benefits_role.pk])
    ).content.decode()
    assert reverse("access:request_detail", args=[request.pk]) in html
    assert "Vajan tööks." in html
    assert "Nõustun, tööks vajalik." in html
    assert w.unit_head.full_name in html


def test_explain_shows_a_substitution(en, desk_user):
    absentee = PersonFactory(first_name="Puuduja")
    role = RoleFactory(delegable=True)
    account = AccountFactory(system=role.system)
    GrantFactory(
        account=account,
        role=role,
        basis="substitution",
        basis_duty=None,
        acting_for=absentee,
    )
    login(en, desk_user)
    html = en.get(reverse("access:explain", args=[account.person_id, role.pk])).content.decode()
    assert f"Acting for {absentee.full_name}" in html


def test_explain_when_the_role_is_not_held(en, desk_user):
    grant = justified_holder()
    GrantFactory(
        account=grant.account,
        role=RoleFactory(system=grant.account.system),
    )
    other_role = RoleFactory()
    login(en, desk_user)
    html = en.get(reverse("access:explain", args=[grant.person_id, other_role.pk])).content.decode()
    assert "does not hold this role now" in html


def test_explain_at_a_past_moment(en, desk_user):
    grant = justified_holder()
    Grant.objects.filter(pk=grant.pk).update(
        valid_from=timezone.now() - 10 * DAY, valid_to=timezone.now() - DAY
    )
    url = reverse("access:explain", args=[grant.person_id, grant.role_id])
    login(en, desk_user)
    assert len(en.get(url).context["chains"]) == 0
    at = timezone.localtime(timezone.now() - 5 * DAY).strftime("%Y-%m-%dT%H:%M")
    assert len(en.get(url, {"at": at}).context["chains"]) == 1


# --- ending and suspending ----------------------------------------------------------------------


def test_desk_ends_a_grant_through_the_page(en, desk_user):
    grant = justified_holder()
    login(en, desk_user)
    response = en.post(
        reverse("access:grant_end", args=[grant.pk]), {"end-reason": "Ülesanded muutusid"}
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.valid_to is not None and grant.ended_reason == "Ülesanded muutusid"
    assert AuditEvent.objects.filter(action="access.grant.end").exists()


def test_ending_without_a_reason_is_refused_and_changes_nothing(en, desk_user):
    grant = justified_holder()
    login(en, desk_user)
    response = en.post(reverse("access:grant_end", args=[grant.pk]), {"end-reason": ""})
    assert response.status_code == 200
    assert response.context["end_form"].errors
    assert "There is a problem" in response.content.decode()
    grant.refresh_from_db()
    assert grant.valid_to is None


def test_ending_in_the_past_shows_the_actions_error(en, desk_user):
    grant = justified_holder()
    login(en, desk_user)
    yesterday = timezone.localtime(timezone.now() - DAY).strftime("%Y-%m-%dT%H:%M")
    response = en.post(
        reverse("access:grant_end", args=[grant.pk]),
        {"end-reason": "Viga", "end-at": yesterday},
    )
    assert "A grant cannot be ended in the past." in response.content.decode()
    grant.refresh_from_db()
    assert grant.valid_to is None


def test_desk_suspends_and_resumes_a_grant(en, desk_user):
    grant = justified_holder()
    login(en, desk_user)
    response = en.post(
        reverse("access:grant_suspend", args=[grant.pk]), {"suspend-reason": "Puhkusel"}
    )
    assert response.status_code == 302
    suspension = GrantSuspension.objects.get(grant=grant)
    assert suspension.reason == "Puhkusel" and suspension.ends_at is None
    page = en.get(reverse("access:grant_detail", args=[grant.pk]))
    assert page.context["state"] == "suspended"
    assert reverse("access:grant_resume", args=[grant.pk]) in page.content.decode()
    en.post(reverse("access:grant_resume", args=[grant.pk]), {"resume-reason": "Tagasi tööl"})
    suspension.refresh_from_db()
    assert suspension.ends_at is not None


def test_four_eyes_refusal_is_shown_as_an_error(en, desk_user):
    person = PersonFactory(position=PositionFactory(), user=desk_user)
    grant = justified_holder(person=person)
    login(en, desk_user)
    response = en.post(reverse("access:grant_end", args=[grant.pk]), {"end-reason": "Proovin"})
    assert response.status_code == 200
    assert "You cannot change your own access" in response.content.decode()
    grant.refresh_from_db()
    assert grant.valid_to is None
    response = en.post(
        reverse("access:grant_suspend", args=[grant.pk]), {"suspend-reason": "Proovin"}
    )
    assert "You cannot change your own access" in response.content.decode()
    assert not GrantSuspension.objects.exists()


# --- accounts and gaps --------------------------------------------------------------------------


def test_desk_closes_a_leavers_account(en, desk_user):
    grant = justified_holder()
    account = grant.account
    Finding.objects.create(
        kind=Finding.Kind.LEAVER_ACCOUNT, person=account.person, account=account, key="leaver"
    )
    login(en, desk_user)
    page = en.get(reverse("access:account_detail", args=[account.pk]))
    assert page.status_code == 200
    assert reverse("access:account_close", args=[account.pk]) in page.content.decode()
    response = en.post(
        reverse("access:account_close", args=[account.pk]), {"close-reason": "Lahkus"}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    grant.refresh_from_db()
    assert account.state == Account.State.CLOSED
    assert grant.valid_to is not None


def test_desk_grants_a_role_the_job_description_justifies(en, desk_user):
    grant = justified_holder()
    person = grant.person
    missing = RoleFactory(name="Puuduv roll")
    duty = DutyFactory(job_description=grant.basis_duty.job_description)
    EntitlementFactory(duty=duty, role=missing)
    login(en, desk_user)
    response = en.post(
        reverse("access:grant_entitled", args=[person.pk, missing.pk]), {"username": "mari.m"}
    )
    assert response.status_code == 302
    new = Grant.objects.get(person=person, role=missing)
    assert new.basis == Grant.Basis.JOB_DESCRIPTION and new.basis_duty == duty
    assert new.account.username == "mari.m"
    assert _page(en, person).context["data"].gaps == []


def test_granting_a_role_the_job_description_does_not_justify_is_refused(en, desk_user):
    grant = justified_holder()
    role = RoleFactory()
    login(en, desk_user)
    response = en.post(
        reverse("access:grant_entitled", args=[grant.person_id, role.pk]), follow=True
    )
    assert "does not justify" in response.content.decode()
    assert not Grant.objects.filter(role=role).exists()


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("requester_user", {"My access", "Requests"}, {"Approvals", "Fulfilment", "Compliance"}),
        ("desk_user", {"My access", "Fulfilment", "Compliance", "Catalogue"}, {"Approvals"}),
        ("auditor_user", {"Compliance", "Catalogue"}, {"Fulfilment", "Approvals"}),
    ],
)
def test_navigation_shows_the_access_areas_each_role_may_use(en, request, role, shown, hidden):
    login(en, request.getfixturevalue(role))
    labels = {str(item["label"]) for item in en.get(reverse("home")).context["nav_items"]}
    assert shown <= labels
    assert not hidden & labels


def test_approver_sees_the_inbox_in_the_navigation(en):
    from tests.factories import make_user
    from tugi.core.roles import AppRole

    login(en, make_user("kinnitaja", AppRole.APPROVER))
    response = en.get(reverse("access:approvals"))
    current = [str(i["label"]) for i in response.context["nav_items"] if i["current"]]
    assert current == ["Approvals"]
    assert "not linked to a person record" in response.content.decode()
