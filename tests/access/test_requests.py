"""Access requests: filing, the approval chain, decisions, fulfilment, expiry; every refusal
leaves nothing saved."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tests.access.factories import (
    AccountFactory,
    GrantFactory,
    RequestWorld,
    RoleFactory,
    request_world,
)
from tests.factories import OrgUnitFactory, PersonFactory, make_user
from tugi.access import policy
from tugi.access.actions import requests
from tugi.access.models import (
    AccessRequest,
    AccessRequestItem,
    Account,
    Approval,
    Change,
    Grant,
    GrantSuspension,
    Role,
)
from tugi.core.audit import verify_chain
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import Person

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def w(requester_user, desk_user) -> RequestWorld:
    return request_world(requester_user, desk_user)


def _later(days: float) -> datetime.datetime:
    return timezone.now() + days * DAY


def _pension(w: RequestWorld, **extra) -> requests.ItemData:
    item: requests.ItemData = {
        "kind": "grant_role",
        "system": w.skais,
        "role": w.pension_role,
        "valid_to": _later(90),
    }
    item.update(extra)
    return item


def _benefits(w: RequestWorld) -> requests.ItemData:
    return {"kind": "grant_role", "role": w.benefits_role}


def _file(w: RequestWorld, *items: requests.ItemData, actor=None, person=None) -> AccessRequest:
    return requests.file_request(
        actor or w.requester,
        person or w.person,
        list(items),
        "Asun menetlema vanaduspensioni taotlusi.",
    )


def _steps(request: AccessRequest) -> list[tuple[str, Person]]:
    return [(a.step, a.approver) for a in request.approvals.order_by("order")]


def _assert_nothing_saved() -> None:
    assert not AccessRequest.objects.exists()
    assert not AccessRequestItem.objects.exists()
    assert not Approval.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="access.").exists()


# --- the whole way -------------------------------------------------------------------------


def test_happy_path_file_approve_approve_fulfil(w, django_capture_on_commit_callbacks):
    events: list[str] = []

    def listen(sender, request, event, **kwargs):
        events.append(event)

    requests.request_event.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            request = _file(w, {"kind": "create_account", "system": w.skais}, _pension(w))
        assert request.state == AccessRequest.State.SUBMITTED
        assert request.requested_by == w.requester
        assert request.expires_at > _later(29)
        assert _steps(request) == [
            (Approval.Step.UNIT_HEAD, w.unit_head),
            (Approval.Step.SYSTEM_OWNER, w.owner),
        ]
        head_step, owner_step = request.approvals.order_by("order")
        assert owner_step.system == w.skais
        assert list(policy.awaiting_decision(w.unit_head)) == [head_step]
        assert not policy.awaiting_decision(w.owner).exists()

        with django_capture_on_commit_callbacks(execute=True):
            requests.approve(w.unit_head_user, head_step, "Nõustun.")
        request.refresh_from_db()
        assert request.state == AccessRequest.State.SUBMITTED
        assert list(policy.awaiting_decision(w.owner)) == [owner_step]

        with django_capture_on_commit_callbacks(execute=True):
            requests.approve(w.owner_user, owner_step)
        request.refresh_from_db()
        assert request.state == AccessRequest.State.APPROVED
        assert request.decided_at is not None
        assert set(request.items.values_list("state", flat=True)) == {"approved"}

        account_item, grant_item = request.items.order_by("id")
        with django_capture_on_commit_callbacks(execute=True):
            requests.fulfil_item(w.desk, account_item, username="mari.maasikas")
        request.refresh_from_db()
        assert request.state == AccessRequest.State.APPROVED  # one item still to do
        with django_capture_on_commit_callbacks(execute=True):
            requests.fulfil_item(w.desk, grant_item)
    finally:
        requests.request_event.disconnect(listen)

    request.refresh_from_db()
    assert request.state == AccessRequest.State.FULFILLED
    grant_item.refresh_from_db()
    assert grant_item.state == AccessRequestItem.State.FULFILLED
    assert grant_item.fulfilled_by == w.desk and grant_item.fulfilled_at is not None
    account = Account.objects.get(person=w.person, system=w.skais)
    assert account.username == "mari.maasikas" and account.state == Account.State.ACTIVE
    grant = Grant.objects.get(person=w.person, role=w.pension_role)
    assert grant.basis == Grant.Basis.REQUEST and grant.basis_item == grant_item
    assert grant.account == account
    assert grant.valid_to == grant_item.valid_to

    assert events == ["filed", "step_approved", "approved", "item_fulfilled", "fulfilled"]
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == [
        "access.request.file",
        "access.approval.approve",
        "access.approval.approve",
        "access.request.approve",
        "access.account.open",
        "access.request_item.fulfil",
        "access.grant.create",
        "access.request_item.fulfil",
        "access.request.fulfil",
        # The grant starts now: the lifecycle engine applies its start after the commit (and,
        # the desk having made it in the target already, records it as confirmed).
        "access.change.apply",
    ]
    start = Change.objects.get(grant=grant, kind=Change.Kind.GRANT_START)
    assert start.state == Change.State.APPLIED and start.confirmed_at is not None
    assert set(
        AuditEvent.objects.filter(action__startswith="access.request").values_list(
            "subject_person_id", flat=True
        )
    ) == {w.person.pk}
    assert verify_chain().ok


def test_an_ordinary_role_needs_only_the_unit_head(w):
    request = _file(w, _benefits(w))
    assert _steps(request) == [(Approval.Step.UNIT_HEAD, w.unit_head)]
    item = request.items.get()
    assert item.system == w.skais  # taken from the role
    requests.approve(w.unit_head_user, request.approvals.get())
    request.refresh_from_db()
    assert request.state == AccessRequest.State.APPROVED


def test_grant_starts_when_asked_not_when_fulfilled(w):
    start = _later(10)
    request = _file(w, {"kind": "grant_role", "role": w.benefits_role, "valid_from": start})
    requests.approve(w.unit_head_user, request.approvals.get())
    requests.fulfil_item(w.desk, request.items.get())
    assert Grant.objects.get(person=w.person).valid_from == start


# --- the policy ----------------------------------------------------------------------------


def test_a_unit_without_a_head_goes_to_the_parent_units_head(w):
    w.unit.head = None
    w.unit.save(update_fields=["head"])
    request = _file(w, _benefits(w))
    assert _steps(request) == [(Approval.Step.UNIT_HEAD, w.dept_head)]


def test_the_unit_head_is_approved_by_the_head_above(w):
    w.unit_head.user = None
    w.unit_head.save(update_fields=["user"])
    head_user = make_user("juhataja2", AppRole.REQUESTER, person=w.unit_head)
    request = requests.file_request(head_user, w.unit_head, [_benefits(w)], "Vajan ligipääsu.")
    assert _steps(request) == [(Approval.Step.UNIT_HEAD, w.dept_head)]


def test_a_head_who_files_for_a_report_does_not_approve_it(w):
    w.unit_head_user.groups.add(*w.desk.groups.all())  # the head may file for others
    request = _file(w, _benefits(w), actor=w.unit_head_user)
    assert _steps(request) == [(Approval.Step.UNIT_HEAD, w.dept_head)]


def test_a_system_owner_asking_for_their_own_system_is_approved_by_their_head(w):
    w.owner.org_unit = w.unit
    w.owner.save(update_fields=["org_unit"])
    owner_as_requester = make_user("omanik2", AppRole.REQUESTER)
    w.owner.user = owner_as_requester
    w.owner.save(update_fields=["user"])
    request = requests.file_request(
        owner_as_requester, w.owner, [_pension(w)], "Kontrollin pensionide menetlust."
    )
    # Step 1 is the owner's unit head; the owner step escalates to the next head up.
    assert _steps(request) == [
        (Approval.Step.UNIT_HEAD, w.unit_head),
        (Approval.Step.SYSTEM_OWNER, w.unit_head),
    ]


def test_a_head_who_has_left_is_skipped(w):
    w.unit_head.status = Person.Status.LEFT
    w.unit_head.employment_end = datetime.date(2024, 1, 1)
    w.unit_head.save(update_fields=["status", "employment_end"])
    assert _steps(_file(w, _benefits(w)))[0] == (Approval.Step.UNIT_HEAD, w.dept_head)


def test_no_head_anywhere_is_refused(w):
    w.unit.head = None
    w.unit.save(update_fields=["head"])
    w.department.head = None
    w.department.save(update_fields=["head"])
    with pytest.raises(ValidationError) as exc:
        _file(w, _benefits(w))
    assert "person" in exc.value.message_dict
    _assert_nothing_saved()


def test_one_owner_step_per_system_with_a_sensitive_role(w):
    w.star.owner = w.dept_head
    w.star.save(update_fields=["owner"])
    star_admin = RoleFactory(
        system=w.star, name="Administraator", sensitivity=Role.Sensitivity.ADMINISTRATION
    )
    request = _file(w, _pension(w), {"kind": "grant_role", "role": star_admin}, _benefits(w))
    assert _steps(request) == [
        (Approval.Step.UNIT_HEAD, w.unit_head),
        (Approval.Step.SYSTEM_OWNER, w.owner),  # SKAIS2 sorts before STAR
        (Approval.Step.SYSTEM_OWNER, w.dept_head),
    ]


# --- refusals at filing: a clear message, nothing saved ------------------------------------


@pytest.mark.parametrize(
    ("make_item", "key", "words"),
    [
        (
            lambda w: _pension(w, valid_from=_later(10), valid_to=_later(5)),
            "items[0].valid_to",
            "after the start",
        ),
        (
            lambda w: {"kind": "grant_role", "system": w.star, "role": w.benefits_role},
            "items[0].role",
            "belongs to",
        ),
        (lambda w: _pension(w, valid_to=None), "items[0].valid_to", "only with an end date"),
        (lambda w: _pension(w, valid_to=_later(400)), "items[0].valid_to", "at most 366 days"),
        (lambda w: _pension(w, valid_from=_later(-3)), "items[0].valid_from", "past"),
        (lambda w: {"kind": "grant_role"}, "items[0].role", "Choose the role"),
        (lambda w: {"kind": "promote"}, "items[0].kind", "Choose what to change"),
        (lambda w: {"kind": "create_account"}, "items[0].system", "Choose the system"),
        (
            lambda w: {"kind": "close_account", "system": w.star},
            "items[0].system",
            "no open account",
        ),
        (lambda w: {"kind": "end_role"}, "items[0].grant", "Choose the grant"),
        (lambda w: _pension(w, colour="blue"), "items[0].colour", "cannot be set"),
        (
            lambda w: _pension(w, valid_to=datetime.datetime(2030, 1, 1)),
            "items[0].valid_to",
            "time zone",
        ),
        (
            lambda w: {**_benefits(w), "sod_exception_until": _later(30)},
            "items[0].sod_exception_until",
            "no segregation-of-duties conflict",
        ),
    ],
    ids=[
        "end-before-start",
        "role-of-another-system",
        "missing-required-end",
        "past-max-duration",
        "start-in-the-past",
        "no-role",
        "unknown-kind",
        "no-system",
        "close-missing-account",
        "no-grant",
        "unknown-field",
        "naive-datetime",
        "exception-without-conflict",
    ],
)
def test_a_bad_item_is_refused_naming_item_and_field(w, make_item, key, words):
    with pytest.raises(ValidationError) as exc:
        _file(w, make_item(w))
    assert key in exc.value.message_dict, exc.value.message_dict
    assert words in exc.value.message_dict[key][0]
    _assert_nothing_saved()


def test_errors_name_the_index_of_the_bad_item_and_nothing_is_saved(w):
    with pytest.raises(ValidationError) as exc:
        _file(w, _benefits(w), _pension(w, valid_to=None), {"kind": "create_account"})
    assert set(exc.value.message_dict) == {"items[1].valid_to", "items[2].system"}
    _assert_nothing_saved()


def test_a_request_for_a_person_who_has_left_is_refused(w):
    w.person.status = Person.Status.LEFT
    w.person.employment_end = timezone.localdate() - DAY
    w.person.save(update_fields=["status", "employment_end"])
    with pytest.raises(ValidationError) as exc:
        _file(w, _benefits(w), actor=w.desk)
    assert "has left" in exc.value.message_dict["person"][0]
    _assert_nothing_saved()


def test_access_from_after_the_employment_ends_is_refused(w):
    w.person.employment_end = timezone.localdate() + 5 * DAY
    w.person.save(update_fields=["employment_end"])
    with pytest.raises(ValidationError) as exc:
        _file(w, {**_benefits(w), "valid_from": _later(10)})
    assert "items[0].valid_from" in exc.value.message_dict
    _assert_nothing_saved()


def test_justification_is_required(w):
    with pytest.raises(ValidationError) as exc:
        requests.file_request(w.requester, w.person, [_benefits(w)], "   ")
    assert "justification" in exc.value.message_dict
    _assert_nothing_saved()


def test_a_request_needs_items(w):
    with pytest.raises(ValidationError) as exc:
        requests.file_request(w.requester, w.person, [], "Vajan.")
    assert "items" in exc.value.message_dict
    _assert_nothing_saved()


def test_a_role_already_held_is_refused(w):
    GrantFactory(account=AccountFactory(person=w.person, system=w.skais), role=w.benefits_role)
    with pytest.raises(ValidationError) as exc:
        _file(w, _benefits(w))
    assert "already holds" in exc.value.message_dict["items[0].role"][0]


def test_the_same_role_twice_in_one_request_is_refused(w):
    with pytest.raises(ValidationError) as exc:
        _file(w, _benefits(w), _benefits(w))
    assert "Item 1 already asks" in exc.value.message_dict["items[1].role"][0]
    _assert_nothing_saved()


def test_an_open_account_cannot_be_created_twice(w):
    AccountFactory(person=w.person, system=w.skais)
    with pytest.raises(ValidationError) as exc:
        _file(w, {"kind": "create_account", "system": w.skais})
    assert "already has an open account" in exc.value.message_dict["items[0].system"][0]


def test_a_sensitive_role_of_a_system_without_owner_is_refused(w):
    star_admin = RoleFactory(system=w.star, sensitivity=Role.Sensitivity.ADMINISTRATION)
    with pytest.raises(ValidationError) as exc:
        _file(w, {"kind": "grant_role", "role": star_admin})
    assert "no owner" in exc.value.message_dict["items[0].role"][0]
    _assert_nothing_saved()


def test_suspend_or_end_must_name_a_current_grant_of_the_person(w):
    someone_elses = GrantFactory(role=w.benefits_role, account__system=w.skais)
    ended = GrantFactory(
        account=AccountFactory(person=w.person, system=w.skais),
        role=w.benefits_role,
        valid_from=_later(-60),
        valid_to=_later(-1),
    )
    with pytest.raises(ValidationError) as exc:
        _file(
            w,
            {"kind": "suspend_role", "grant": someone_elses},
            {"kind": "end_role", "grant": ended},
        )
    assert "not Mari" in exc.value.message_dict["items[0].grant"][0]
    assert "already ended" in exc.value.message_dict["items[1].grant"][0]
    _assert_nothing_saved()


def test_filing_for_someone_else_needs_permission(w):
    colleague = PersonFactory(org_unit=w.unit)
    with pytest.raises(PermissionDenied):
        _file(w, _benefits(w), person=colleague)
    _assert_nothing_saved()
    request = _file(w, _benefits(w), person=colleague, actor=w.desk)
    assert request.requested_by == w.desk and request.person == colleague


def test_an_anonymous_actor_cannot_file(w):
    with pytest.raises(PermissionDenied):
        requests.file_request(AnonymousUser(), w.person, [_benefits(w)], "Vajan.")
    with pytest.raises(PermissionDenied):
        requests.file_request(None, w.person, [_benefits(w)], "Vajan.")


# --- decisions -----------------------------------------------------------------------------


def test_only_the_named_approver_decides(w):
    request = _file(w, _pension(w))
    head_step = request.approvals.get(order=1)
    for outsider in (w.dept_head_user, w.owner_user, w.desk):
        with pytest.raises(PermissionDenied):
            requests.approve(outsider, head_step)
    assert not AuditEvent.objects.filter(action__startswith="access.approval").exists()
    head_step.refresh_from_db()
    assert head_step.decision == Approval.Decision.PENDING


def test_the_approver_needs_the_approver_permission(w):
    w.unit_head_user.groups.clear()
    request = _file(w, _benefits(w))
    with pytest.raises(PermissionDenied):
        requests.approve(w.unit_head_user, request.approvals.get())


def test_steps_are_decided_in_order(w):
    request = _file(w, _pension(w))
    owner_step = request.approvals.get(order=2)
    with pytest.raises(ValidationError) as exc:
        requests.approve(w.owner_user, owner_step)
    assert "not this step's turn" in exc.value.message_dict["approval"][0]
    with pytest.raises(ValidationError):
        requests.reject(w.owner_user, owner_step, "Ei.")
    owner_step.refresh_from_db()
    assert owner_step.decision == Approval.Decision.PENDING
    requests.approve(w.unit_head_user, request.approvals.get(order=1))
    with pytest.raises(ValidationError, match="decided already"):
        requests.approve(w.unit_head_user, request.approvals.get(order=1))


def test_nobody_approves_their_own_request(w):
    # The policy never names the filer; if the data change under it (the filer becomes the head
    # after filing), the decision itself still refuses.
    request = _file(w, _benefits(w))
    step = request.approvals.get()
    step.approver = w.person
    step.save(update_fields=["approver"])
    w.requester.groups.add(*w.unit_head_user.groups.all())
    with pytest.raises(ValidationError, match="request you filed or that is for you"):
        requests.approve(w.requester, step)
    request.refresh_from_db()
    assert request.state == AccessRequest.State.SUBMITTED


def test_a_filer_cannot_approve_what_they_filed_for_someone_else(w):
    request = _file(w, _benefits(w), actor=w.desk)
    step = request.approvals.get()
    step.approver = w.desk_person
    step.save(update_fields=["approver"])
    w.desk.groups.add(*w.unit_head_user.groups.all())
    desk = User.objects.get(pk=w.desk.pk)  # without the permission cache of before
    with pytest.raises(ValidationError, match="request you filed"):
        requests.approve(desk, step)


def test_reject_needs_a_reason_and_ends_the_request(w, django_capture_on_commit_callbacks):
    request = _file(w, _pension(w))
    head_step = request.approvals.get(order=1)
    with pytest.raises(ValidationError) as exc:
        requests.reject(w.unit_head_user, head_step, " ")
    assert "reason" in exc.value.message_dict
    requests.reject(w.unit_head_user, head_step, "Tööülesanded seda ei nõua.")
    request.refresh_from_db()
    assert request.state == AccessRequest.State.REJECTED
    assert request.decision_comment == "Tööülesanded seda ei nõua."
    assert set(request.items.values_list("state", flat=True)) == {"rejected"}
    with pytest.raises(ValidationError, match="not awaiting approval"):
        requests.approve(w.owner_user, request.approvals.get(order=2))
    assert not policy.awaiting_decision(w.owner).exists()
    with pytest.raises(ValidationError, match="approved item"):
        requests.fulfil_item(w.desk, request.items.get())
    assert AuditEvent.objects.filter(action="access.request.reject").count() == 1


def test_return_for_changes_and_resubmit_restarts_the_chain(w):
    request = _file(w, _pension(w))
    requests.approve(w.unit_head_user, request.approvals.get(order=1))
    owner_step = request.approvals.get(order=2)
    with pytest.raises(ValidationError) as exc:
        requests.return_for_changes(w.owner_user, owner_step, "")
    assert "comment" in exc.value.message_dict
    requests.return_for_changes(w.owner_user, owner_step, "Lühem periood, palun.")
    request.refresh_from_db()
    assert request.state == AccessRequest.State.RETURNED
    assert request.decision_comment == "Lühem periood, palun."
    assert not policy.awaiting_decision(w.owner).exists()

    # Only the filer resubmits, and what they send is validated again.
    with pytest.raises(PermissionDenied):
        requests.resubmit(w.desk, request, items=[_pension(w, valid_to=_later(30))])
    with pytest.raises(ValidationError) as exc:
        requests.resubmit(w.requester, request, items=[_pension(w, valid_to=None)])
    assert "items[0].valid_to" in exc.value.message_dict
    request.refresh_from_db()
    assert request.state == AccessRequest.State.RETURNED

    new_end = _later(30)
    requests.resubmit(
        w.requester,
        request,
        items=[_pension(w, valid_to=new_end)],
        justification="Asendan kolleegi kuu aega.",
    )
    request.refresh_from_db()
    assert request.state == AccessRequest.State.SUBMITTED
    assert request.justification == "Asendan kolleegi kuu aega."
    assert request.items.get().valid_to == new_end
    assert list(request.approvals.values_list("decision", flat=True)) == ["pending", "pending"]
    event = AuditEvent.objects.get(action="access.request.resubmit")
    assert [a["decision"] for a in event.before["approvals"]] == ["approved", "returned"]

    requests.approve(w.unit_head_user, request.approvals.get(order=1))
    requests.approve(w.owner_user, request.approvals.get(order=2))
    request.refresh_from_db()
    assert request.state == AccessRequest.State.APPROVED
    with pytest.raises(ValidationError, match="returned for changes"):
        requests.resubmit(w.requester, request)


def test_resubmit_with_only_a_new_justification_keeps_the_items(w):
    request = _file(w, _benefits(w))
    requests.return_for_changes(w.unit_head_user, request.approvals.get(), "Põhjenda paremini.")
    requests.resubmit(w.requester, request, justification="Menetlen toetusi alates 1. märtsist.")
    request.refresh_from_db()
    assert request.state == AccessRequest.State.SUBMITTED
    assert request.items.get().role == w.benefits_role


# --- cancel and expiry ---------------------------------------------------------------------


def test_the_filer_cancels_an_undecided_request(w):
    request = _file(w, _benefits(w))
    with pytest.raises(PermissionDenied):
        requests.cancel_request(w.desk, request)
    requests.cancel_request(w.requester, request, reason="Ei ole enam vaja.")
    request.refresh_from_db()
    assert request.state == AccessRequest.State.CANCELLED
    assert set(request.items.values_list("state", flat=True)) == {"cancelled"}
    assert not policy.awaiting_decision(w.unit_head).exists()


def test_a_decided_request_cannot_be_cancelled(w):
    request = _file(w, _benefits(w))
    requests.approve(w.unit_head_user, request.approvals.get())
    with pytest.raises(ValidationError, match="decided already"):
        requests.cancel_request(w.requester, request)


def test_stale_requests_expire_once_audited_as_the_system(w):
    stale = _file(w, _benefits(w))
    returned = _file(w, {"kind": "grant_role", "role": w.star_role})
    requests.return_for_changes(w.unit_head_user, returned.approvals.get(), "Täpsusta.")
    decided = _file(w, {"kind": "create_account", "system": w.star})
    requests.approve(w.unit_head_user, decided.approvals.get())
    fresh = requests.file_request(
        w.requester,
        w.person,
        [{"kind": "create_account", "system": w.skais}],
        "Vajan.",
        expires_in_days=60,
    )

    assert requests.expire_stale_requests(timezone.now() + 10 * DAY) == 0
    assert requests.expire_stale_requests(timezone.now() + 31 * DAY) == 2
    assert requests.expire_stale_requests(timezone.now() + 31 * DAY) == 0
    states = {r.pk: r.state for r in AccessRequest.objects.all()}
    assert states == {
        stale.pk: "expired",
        returned.pk: "expired",
        decided.pk: "approved",
        fresh.pk: "submitted",
    }
    events = AuditEvent.objects.filter(action="access.request.expire")
    assert events.count() == 2
    assert all(e.actor_id is None and e.actor_label == "system" for e in events)
    assert verify_chain().ok


# --- fulfilment ----------------------------------------------------------------------------


def _approved(w: RequestWorld, *items: requests.ItemData, person=None, actor=None):
    request = _file(w, *items, person=person, actor=actor)
    for step in request.approvals.order_by("order"):
        user = step.approver.user
        requests.approve(user, step)
    request.refresh_from_db()
    assert request.state == AccessRequest.State.APPROVED
    return request


def test_nobody_fulfils_their_own_item(w):
    other_desk = make_user("desk2", AppRole.DESK_AGENT)
    request = _approved(w, _benefits(w), person=w.desk_person, actor=other_desk)
    item = request.items.get()
    with pytest.raises(ValidationError, match="your own access"):
        requests.fulfil_item(w.desk, item)
    item.refresh_from_db()
    assert item.state == AccessRequestItem.State.APPROVED
    assert not Grant.objects.exists() and not Account.objects.exists()
    requests.fulfil_item(other_desk, item)
    assert Grant.objects.get().person == w.desk_person


def test_fulfilment_needs_the_desk_permission(w):
    request = _approved(w, _benefits(w))
    with pytest.raises(PermissionDenied):
        requests.fulfil_item(w.unit_head_user, request.items.get())
    with pytest.raises(PermissionDenied):
        requests.fulfil_item(w.requester, request.items.get())


def test_an_item_not_yet_approved_cannot_be_fulfilled(w):
    request = _file(w, _benefits(w))
    with pytest.raises(ValidationError, match="approved item"):
        requests.fulfil_item(w.desk, request.items.get())


def test_suspend_end_and_close_are_fulfilled_with_the_primitives(w):
    account = AccountFactory(person=w.person, system=w.skais)
    to_suspend = GrantFactory(account=account, role=w.benefits_role)
    to_end = GrantFactory(account=account, role=RoleFactory(system=w.skais))
    star_account = AccountFactory(person=w.person, system=w.star)
    star_grant = GrantFactory(account=star_account, role=w.star_role)
    back_on = _later(14)
    end_at = _later(3)
    request = _approved(
        w,
        {"kind": "suspend_role", "grant": to_suspend, "valid_to": back_on},
        {"kind": "end_role", "grant": to_end, "valid_to": end_at},
        {"kind": "close_account", "system": w.star},
    )
    for item in request.items.order_by("id"):
        requests.fulfil_item(w.desk, item)
    suspension = GrantSuspension.objects.get(grant=to_suspend)
    assert suspension.ends_at == back_on and suspension.basis_item.kind == "suspend_role"
    to_end.refresh_from_db()
    assert to_end.valid_to == end_at
    star_account.refresh_from_db()
    star_grant.refresh_from_db()
    assert star_account.state == Account.State.CLOSED
    assert star_grant.valid_to is not None and star_grant.valid_to <= timezone.now()
    request.refresh_from_db()
    assert request.state == AccessRequest.State.FULFILLED
    assert verify_chain().ok


def test_a_period_that_passed_before_fulfilment_is_refused(w, time_machine):
    request = _approved(w, {"kind": "grant_role", "role": w.benefits_role, "valid_to": _later(2)})
    time_machine.move_to(timezone.now() + 3 * DAY)
    with pytest.raises(ValidationError, match="has passed"):
        requests.fulfil_item(w.desk, request.items.get())
    assert not Grant.objects.exists()


def test_a_fulfilled_item_is_not_fulfilled_twice(w):
    request = _approved(w, _benefits(w), {"kind": "grant_role", "role": w.star_role})
    first = request.items.order_by("id").first()
    requests.fulfil_item(w.desk, first)
    with pytest.raises(ValidationError, match="approved item"):
        requests.fulfil_item(w.desk, first)
    assert Grant.objects.count() == 1


def test_unit_tree_walk_uses_the_nearest_head(w):
    # A unit two levels below the department with no heads in between.
    deep = OrgUnitFactory(parent=OrgUnitFactory(parent=w.department))
    colleague = PersonFactory(org_unit=deep)
    assert policy.head_above(colleague) == w.dept_head
