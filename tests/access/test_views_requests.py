"""The request pages: the form, the request page with decisions, the inbox, the fulfilment queue.

Every change goes through the request actions; a refusal shows on the page and saves nothing.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.access.factories import AccountFactory, GrantFactory, RequestWorld, request_world
from tests.access.views_support import english, later, login
from tests.factories import PersonFactory
from tugi.access.actions import requests
from tugi.access.models import AccessRequest, AccessRequestItem, Approval, Grant, SodRule
from tugi.people.models import Person

pytestmark = pytest.mark.django_db

NEW = reverse("access:request_create")


@pytest.fixture
def en(client):
    return english(client)


@pytest.fixture
def w(requester_user, desk_user) -> RequestWorld:
    return request_world(requester_user, desk_user)


def _day(days: float) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


def _form(*rows: dict, justification: str = "Asun menetlema pensionitaotlusi.") -> dict:
    data: dict = {"item_count": str(len(rows)), "justification": justification}
    for i, row in enumerate(rows):
        data[f"item-{i}-kind"] = row.get("kind", "grant_role")
        for name, value in row.items():
            if name != "kind":
                data[f"item-{i}-{name}"] = value
    return data


def _file(w: RequestWorld, *items, actor=None) -> AccessRequest:
    return requests.file_request(actor or w.requester, w.person, list(items), "Tööks vajalik.")


# --- the form -----------------------------------------------------------------------------------


def test_requester_files_a_request_through_the_form(en, w):
    login(en, w.requester)
    page = en.get(NEW)
    assert page.status_code == 200
    assert w.benefits_role.name in page.content.decode()
    response = en.post(NEW, _form({"role": str(w.benefits_role.pk)}))
    request = AccessRequest.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("access:request_detail", args=[request.pk])
    assert request.person == w.person and request.requested_by == w.requester
    item = request.items.get()
    assert item.role == w.benefits_role and item.valid_from is None
    detail = en.get(response.url)
    html = detail.content.decode()
    assert detail.status_code == 200
    assert w.benefits_role.name in html and "awaiting approval" in html
    assert w.unit_head.full_name in html  # the current step
    assert "Filed" in html  # the history from the audit log


def test_dates_become_local_day_boundaries(en, w):
    login(en, w.requester)
    en.post(
        NEW,
        _form(
            {"role": str(w.pension_role.pk), "valid_from": _day(3), "valid_to": _day(40)},
        ),
    )
    item = AccessRequestItem.objects.get()
    assert timezone.localtime(item.valid_from).time() == datetime.time(0, 0)
    assert timezone.localdate(item.valid_from) == timezone.localdate() + datetime.timedelta(3)
    # "Until" is inclusive: the access lasts through that day.
    assert timezone.localdate(item.valid_to) == timezone.localdate() + datetime.timedelta(41)


def test_picker_marks_roles_already_justified_or_held(en, w):
    from tests.access.factories import DutyFactory, EntitlementFactory, JobDescriptionFactory
    from tests.factories import PositionFactory

    w.person.position = PositionFactory()
    w.person.save(update_fields=["position"])
    duty = DutyFactory(job_description=JobDescriptionFactory(position=w.person.position))
    EntitlementFactory(duty=duty, role=w.benefits_role)
    GrantFactory(
        account=AccountFactory(person=w.person, system=w.star),
        role=w.star_role,
        basis_duty=duty,
    )
    login(en, w.requester)
    html = en.get(NEW).content.decode()
    assert (
        f"{w.benefits_role.name} — already justified by your job description, no request needed"
        in html
    )
    assert f"{w.star_role.name} — you hold this" in html


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"valid_from": _day(10), "valid_to": _day(5)},
            "The end must be after the start.",
        ),
        ({}, "is granted only with an end date"),
        ({"valid_to": _day(800)}, "may be granted for at most 366 days"),
    ],
    ids=["end-before-start", "missing-end-date", "too-long"],
)
def test_bad_period_is_shown_on_the_item_and_nothing_is_saved(en, w, row, message):
    login(en, w.requester)
    response = en.post(NEW, _form({"role": str(w.pension_role.pk), **row}))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "There is a problem" in html
    assert "Item 1" in html
    assert not AccessRequest.objects.exists()
    # What was typed is still there.
    assert response.context["items"].forms[0]["role"].value() == str(w.pension_role.pk)


def test_role_of_another_system_is_refused(en, w):
    login(en, w.requester)
    response = en.post(NEW, _form({"role": str(w.star_role.pk), "system": str(w.skais.pk)}))
    assert response.status_code == 200
    assert "belongs to STAR, not to SKAIS2" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_missing_justification_and_empty_items(en, w):
    login(en, w.requester)
    response = en.post(NEW, _form({}, justification=""))
    assert response.status_code == 200
    assert response.context["form"].errors["justification"]
    assert not AccessRequest.objects.exists()
    response = en.post(NEW, _form({}))
    assert "A request needs at least one change." in response.content.decode()


def test_error_of_a_later_item_lands_on_its_row(en, w):
    login(en, w.requester)
    response = en.post(
        NEW, _form({"role": str(w.benefits_role.pk)}, {}, {"role": str(w.pension_role.pk)})
    )
    rows = response.context["items"].forms
    assert not rows[0].errors and not rows[1].errors
    assert "valid_to" in rows[2].errors  # the third row, though the action called it item 2
    assert not AccessRequest.objects.exists()


def test_add_and_remove_item_rows_keep_what_was_typed(en, w):
    login(en, w.requester)
    data = _form({"role": str(w.benefits_role.pk)}, justification="Põhjus")
    response = en.post(NEW, {**data, "add_item": "1"})
    items = response.context["items"]
    assert len(items) == 2
    assert items.forms[0]["role"].value() == str(w.benefits_role.pk)
    assert response.context["form"]["justification"].value() == "Põhjus"
    assert not response.context["form"].errors
    assert not AccessRequest.objects.exists()
    two = _form({"role": str(w.benefits_role.pk)}, {"role": str(w.star_role.pk)})
    response = en.post(NEW, {**two, "remove_item": "0"})
    items = response.context["items"]
    assert len(items) == 1 and items.forms[0]["role"].value() == str(w.star_role.pk)


def test_account_items(en, w):
    login(en, w.requester)
    en.post(NEW, _form({"kind": "create_account", "system": str(w.star.pk)}))
    item = AccessRequestItem.objects.get()
    assert item.kind == "create_account" and item.system == w.star and item.role is None


def test_end_role_item_names_an_existing_grant(en, w):
    grant = GrantFactory(account=AccountFactory(person=w.person, system=w.star), role=w.star_role)
    login(en, w.requester)
    page = en.get(NEW)
    assert f'value="{grant.pk}"' in page.content.decode()
    en.post(NEW, _form({"kind": "end_role", "grant": str(grant.pk)}))
    item = AccessRequestItem.objects.get()
    assert item.kind == "end_role" and item.grant == grant


def test_sod_conflict_is_flagged_before_filing(en, w):
    SodRule.objects.create(
        name="Vaatamine ja töö lahus", role_a=w.benefits_role, role_b=w.star_role
    )
    GrantFactory(account=AccountFactory(person=w.person, system=w.star), role=w.star_role)
    login(en, w.requester)
    data = _form({"role": str(w.benefits_role.pk)})
    response = en.post(NEW, data)
    html = response.content.decode()
    assert "Segregation-of-duties conflict" in html
    assert "Vaatamine ja töö lahus" in html
    assert 'name="conflicts_checked"' in html
    assert "item-0-sod_exception_until" in html  # the exception can now be asked for
    assert not AccessRequest.objects.exists()

    # Asking for an exception files it; the owner must then approve the exception.
    response = en.post(NEW, {**data, "item-0-sod_exception_until": _day(30)})
    assert response.status_code == 302
    item = AccessRequestItem.objects.get()
    assert item.sod_conflicts and item.sod_conflicts[0]["exception_until"]
    detail = en.get(response.url).content.decode()
    assert "an exception is asked for until" in detail


def test_sod_conflict_can_be_filed_as_it_is_and_blocks_approval(en, w):
    SodRule.objects.create(name="Lahus", role_a=w.benefits_role, role_b=w.star_role)
    GrantFactory(account=AccountFactory(person=w.person, system=w.star), role=w.star_role)
    login(en, w.requester)
    response = en.post(NEW, {**_form({"role": str(w.benefits_role.pk)}), "conflicts_checked": "1"})
    request = AccessRequest.objects.get()
    login(en, w.unit_head_user)
    detail = en.get(response.url).content.decode()
    assert "approval is blocked" in detail
    response = en.post(reverse("access:request_decide", args=[request.pk]), {"decision": "approve"})
    assert response.status_code == 200
    assert "segregation of duties" in response.content.decode()
    request.refresh_from_db()
    assert request.state == AccessRequest.State.SUBMITTED


def test_desk_files_on_someones_behalf(en, w):
    login(en, w.desk)
    chooser = en.get(NEW)
    assert chooser.status_code == 200 and "Whose access" in chooser.content.decode()
    response = en.get(NEW, {"email": w.person.email})
    assert response.status_code == 302
    assert response.url == f"{NEW}?person={w.person.pk}"
    page = en.get(response.url)
    assert page.status_code == 200 and w.person.full_name in page.content.decode()
    en.post(response.url, _form({"role": str(w.benefits_role.pk)}))
    request = AccessRequest.objects.get()
    assert request.person == w.person and request.requested_by == w.desk


def test_chooser_refuses_an_unknown_email(en, w):
    login(en, w.desk)
    response = en.get(NEW, {"email": "keegi@example.ee"})
    assert response.status_code == 200
    assert "No person has this e-mail address." in response.content.decode()


def test_requester_files_only_for_themselves(en, w):
    other = PersonFactory()
    login(en, w.requester)
    assert en.get(NEW, {"person": other.pk}).status_code == 403
    assert en.post(f"{NEW}?person={other.pk}", _form({})).status_code == 403
    assert en.get(NEW, {"person": w.person.pk}).status_code == 200


def test_filing_for_a_person_who_has_left_is_refused(en, w):
    w.person.status = Person.Status.LEFT
    w.person.save(update_fields=["status"])
    login(en, w.desk)
    response = en.post(f"{NEW}?person={w.person.pk}", _form({"role": str(w.benefits_role.pk)}))
    assert "has left the agency" in response.content.decode()
    assert not AccessRequest.objects.exists()


# --- the request page and decisions -------------------------------------------------------------


def test_others_requests_are_hidden_from_a_requester(en, w):
    other_person = PersonFactory(org_unit=w.unit)
    request = requests.file_request(
        w.desk, other_person, [{"kind": "grant_role", "role": w.benefits_role}], "Tööks."
    )
    login(en, w.requester)
    assert en.get(reverse("access:request_detail", args=[request.pk])).status_code == 403
    assert en.get(reverse("access:request_detail", args=[99999])).status_code == 403
    mine = en.get(reverse("access:my_requests"), {"scope": "all"})
    assert mine.context["page"].rows == []


def test_approve_through_the_page(en, w):
    request = _file(w, {"kind": "grant_role", "role": w.pension_role, "valid_to": later(60)})
    head_step, _owner_step = request.approvals.order_by("order")
    url = reverse("access:request_decide", args=[request.pk])
    # The owner cannot decide before the head's step.
    login(en, w.owner_user)
    assert en.post(url, {"decision": "approve"}).status_code == 403
    login(en, w.unit_head_user)
    detail = en.get(reverse("access:request_detail", args=[request.pk])).content.decode()
    assert 'id="decide"' in detail and "current step" in detail
    response = en.post(url, {"decision": "approve", "comment": "Tööks vajalik."})
    assert response.status_code == 302
    head_step.refresh_from_db()
    assert head_step.decision == Approval.Decision.APPROVED
    assert head_step.comment == "Tööks vajalik."
    login(en, w.owner_user)
    en.post(url, {"decision": "approve"})
    request.refresh_from_db()
    assert request.state == AccessRequest.State.APPROVED


def test_reject_needs_a_reason(en, w):
    request = _file(w, {"kind": "grant_role", "role": w.benefits_role})
    url = reverse("access:request_decide", args=[request.pk])
    login(en, w.unit_head_user)
    response = en.post(url, {"decision": "reject", "comment": ""})
    assert response.status_code == 200
    assert "Say why the request is rejected." in response.content.decode()
    request.refresh_from_db()
    assert request.state == AccessRequest.State.SUBMITTED
    en.post(url, {"decision": "reject", "comment": "Ei ole tööks vaja."})
    request.refresh_from_db()
    assert request.state == AccessRequest.State.REJECTED
    login(en, w.requester)
    html = en.get(reverse("access:request_detail", args=[request.pk])).content.decode()
    assert "Ei ole tööks vaja." in html and "rejected" in html


def test_return_change_and_resubmit(en, w):
    request = _file(w, {"kind": "grant_role", "role": w.benefits_role})
    login(en, w.unit_head_user)
    en.post(
        reverse("access:request_decide", args=[request.pk]),
        {"decision": "return", "comment": "Lisa ka STAR-i roll."},
    )
    request.refresh_from_db()
    assert request.state == AccessRequest.State.RETURNED
    login(en, w.requester)
    url = reverse("access:request_resubmit", args=[request.pk])
    page = en.get(url)
    assert page.status_code == 200
    assert page.context["items"].forms[0]["role"].value() == str(w.benefits_role.pk)
    response = en.post(url, _form({"role": str(w.benefits_role.pk)}, {"role": str(w.star_role.pk)}))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == AccessRequest.State.SUBMITTED
    assert {i.role for i in request.items.all()} == {w.benefits_role, w.star_role}
    # Only the filer may resubmit.
    login(en, w.unit_head_user)
    assert en.get(url).status_code == 403


def test_filer_withdraws_a_request(en, w):
    request = _file(w, {"kind": "grant_role", "role": w.benefits_role})
    login(en, w.requester)
    response = en.post(
        reverse("access:request_cancel", args=[request.pk]), {"cancel-reason": "Pole vaja"}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == AccessRequest.State.CANCELLED


# --- inbox, queue, lists ------------------------------------------------------------------------


def test_inbox_shows_only_current_steps_oldest_first(en, w):
    older = _file(w, {"kind": "grant_role", "role": w.pension_role, "valid_to": later(60)})
    newer = _file(w, {"kind": "grant_role", "role": w.benefits_role})
    login(en, w.unit_head_user)
    response = en.get(reverse("access:approvals"))
    assert [a.request for a in response.context["page"].rows] == [older, newer]
    login(en, w.owner_user)
    assert en.get(reverse("access:approvals")).context["page"].rows == []
    requests.approve(w.unit_head_user, older.approvals.get(order=1))
    rows = en.get(reverse("access:approvals")).context["page"].rows
    assert [a.request for a in rows] == [older]


def test_inbox_flags_sod_conflicts(en, w):
    SodRule.objects.create(name="Lahus", role_a=w.benefits_role, role_b=w.star_role)
    _file(
        w,
        {"kind": "grant_role", "role": w.benefits_role},
        {"kind": "grant_role", "role": w.star_role},
    )
    login(en, w.unit_head_user)
    html = en.get(reverse("access:approvals")).content.decode()
    assert "SoD conflict" in html and "approval is blocked" in html


def test_inbox_and_queue_are_refused_to_a_requester(en, w):
    login(en, w.requester)
    assert en.get(reverse("access:approvals")).status_code == 403
    assert en.get(reverse("access:fulfilment")).status_code == 403
    item = AccessRequestItem.objects.create(
        request=_file(w, {"kind": "grant_role", "role": w.benefits_role}),
        kind="create_account",
        system=w.star,
    )
    assert en.post(reverse("access:item_fulfil", args=[item.pk])).status_code == 403


def test_fulfil_through_the_queue(en, w):
    request = _file(
        w, {"kind": "create_account", "system": w.star}, {"kind": "grant_role", "role": w.star_role}
    )
    requests.approve(w.unit_head_user, request.approvals.get())
    login(en, w.desk)
    queue = en.get(reverse("access:fulfilment"))
    items = [row[0] for row in queue.context["rows"]]
    assert [i.request_id for i in items] == [request.pk, request.pk]
    assert all(needs for _item, needs, _own in queue.context["rows"])
    account_item, grant_item = items
    response = en.post(
        reverse("access:item_fulfil", args=[account_item.pk]),
        {"username": "mari.maasikas", "next": reverse("access:fulfilment")},
    )
    assert response.status_code == 302 and response.url == reverse("access:fulfilment")
    queue = en.get(reverse("access:fulfilment"))
    assert [(row[0], row[1]) for row in queue.context["rows"]] == [(grant_item, False)]
    en.post(reverse("access:item_fulfil", args=[grant_item.pk]))
    request.refresh_from_db()
    assert request.state == AccessRequest.State.FULFILLED
    grant = Grant.objects.get(person=w.person, role=w.star_role)
    assert grant.account.username == "mari.maasikas"
    assert "Nothing to fulfil" in en.get(reverse("access:fulfilment")).content.decode()


def test_fulfil_from_the_request_page_and_a_refusal(en, w):
    request = _file(w, {"kind": "grant_role", "role": w.benefits_role})
    item = request.items.get()
    login(en, w.desk)
    response = en.post(reverse("access:item_fulfil", args=[item.pk]), {"username": "x"})
    assert response.status_code == 200
    assert "Only an approved item can be fulfilled" in response.content.decode()
    requests.approve(w.unit_head_user, request.approvals.get())
    detail = en.get(reverse("access:request_detail", args=[request.pk])).content.decode()
    assert reverse("access:item_fulfil", args=[item.pk]) in detail
    next_url = reverse("access:request_detail", args=[request.pk])
    response = en.post(
        reverse("access:item_fulfil", args=[item.pk]), {"username": "mari", "next": next_url}
    )
    assert response.status_code == 302 and response.url == next_url
    item.refresh_from_db()
    assert item.state == AccessRequestItem.State.FULFILLED


def test_nobody_fulfils_their_own_access(en, w):
    # The desk agent's own request, approved by the head above them.
    request = requests.file_request(
        w.desk, w.desk_person, [{"kind": "grant_role", "role": w.benefits_role}], "Tööks."
    )
    requests.approve(w.dept_head_user, request.approvals.get())
    login(en, w.desk)
    queue = en.get(reverse("access:fulfilment"))
    assert [own for _i, _n, own in queue.context["rows"]] == [True]
    response = en.post(reverse("access:item_fulfil", args=[request.items.get().pk]))
    assert "another desk agent must" in response.content.decode()


def test_my_requests_lists_own_and_staff_see_everyones(en, w):
    mine = _file(w, {"kind": "grant_role", "role": w.benefits_role})
    other = requests.file_request(
        w.desk,
        PersonFactory(org_unit=w.unit),
        [{"kind": "grant_role", "role": w.benefits_role}],
        "Tööks.",
    )
    login(en, w.requester)
    assert en.get(reverse("access:my_requests")).context["page"].rows == [mine]
    login(en, w.desk)
    assert en.get(reverse("access:my_requests")).context["page"].rows == [other]
    everyone = en.get(reverse("access:my_requests"), {"scope": "all"})
    assert everyone.context["page"].rows == [other, mine]
    fragment = en.get(
        reverse("access:my_requests"), {"scope": "all", "state": "returned"}, HTTP_HX_REQUEST="true"
    )
    assert b"<html" not in fragment.content and "No requests match" in fragment.content.decode()
