"""Segregation of duties: rules, the conflicts a request would create, blocking, exceptions."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tests.access.factories import (
    AccountFactory,
    GrantFactory,
    RequestWorld,
    RoleFactory,
    request_world,
)
from tugi.access.actions import requests, sod
from tugi.access.models import (
    AccessRequest,
    Approval,
    Grant,
    SodException,
    SodRule,
)
from tugi.core.audit import verify_chain
from tugi.core.models import AuditEvent

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _later(days: float) -> datetime.datetime:
    return timezone.now() + days * DAY


@pytest.fixture
def w(requester_user, desk_user) -> RequestWorld:
    return request_world(requester_user, desk_user)


@pytest.fixture
def payer(w):
    """A role that must not be held with the benefits role: who decides must not also pay."""
    return RoleFactory(system=w.skais, name="Väljamaksete kinnitaja")


@pytest.fixture
def rule(w, payer, admin_user):
    return sod.create_sod_rule(
        admin_user,
        name="Otsustaja ei kinnita väljamakset",
        role_a=payer,  # stored one way round; it applies both ways
        role_b=w.benefits_role,
        description="Toetuse määraja ja väljamakse kinnitaja peavad olema eri inimesed.",
    )


def _held(w: RequestWorld, role, **extra) -> Grant:
    account = AccountFactory(person=w.person, system=role.system)
    return GrantFactory(account=account, role=role, **extra)


def _file(w: RequestWorld, *items: requests.ItemData) -> AccessRequest:
    return requests.file_request(w.requester, w.person, list(items), "Asendan kolleegi.")


def _approve_all(request: AccessRequest) -> None:
    for step in request.approvals.order_by("order"):
        requests.approve(step.approver.user, step)


# --- rules ---------------------------------------------------------------------------------


def test_a_rule_is_created_by_the_administrator_and_audited(w, payer, admin_user, desk_user):
    with pytest.raises(PermissionDenied):
        sod.create_sod_rule(desk_user, name="X", role_a=payer, role_b=w.benefits_role)
    rule = sod.create_sod_rule(admin_user, name="X", role_a=payer, role_b=w.benefits_role)
    event = AuditEvent.objects.get(action="access.sod_rule.create")
    assert event.object_id == str(rule.pk)
    assert event.after["role_a_id"] == payer.pk


def test_a_rule_needs_a_name_and_two_different_roles_once(w, payer, rule, admin_user):
    with pytest.raises(ValidationError) as exc:
        sod.create_sod_rule(admin_user, name=" ", role_a=payer, role_b=payer)
    assert set(exc.value.message_dict) == {"name", "role_b"}
    with pytest.raises(ValidationError, match="already exists"):
        sod.create_sod_rule(admin_user, name="Sama", role_a=w.benefits_role, role_b=payer)
    assert SodRule.objects.count() == 1


def test_a_rule_can_be_switched_off(rule, admin_user, w, payer):
    _held(w, payer)
    assert sod.conflicts_for(w.person, [w.benefits_role])
    sod.set_sod_rule_active(admin_user, rule, active=False)
    assert sod.conflicts_for(w.person, [w.benefits_role]) == []
    assert AuditEvent.objects.filter(action="access.sod_rule.update").count() == 1


# --- conflicts_for -------------------------------------------------------------------------


def test_conflicts_for_finds_a_held_grant_either_way_round(w, payer, rule):
    grant = _held(w, payer)
    [conflict] = sod.conflicts_for(w.person, [w.benefits_role])
    assert conflict.rule == rule and conflict.other_grant == grant
    assert conflict.other_role == payer and conflict.exception is None
    _held(w, RoleFactory(system=w.star))  # unrelated roles do not matter
    assert len(sod.conflicts_for(w.person, [w.benefits_role])) == 1


def test_conflicts_for_compares_periods(w, payer, rule):
    _held(w, payer, valid_from=_later(-30), valid_to=_later(10))
    after = sod.Wanted(w.benefits_role, _later(10), _later(40))
    overlapping = sod.Wanted(w.benefits_role, _later(5), _later(40))
    assert sod.conflicts_for(w.person, [after]) == []
    [conflict] = sod.conflicts_for(w.person, [overlapping])
    assert conflict.starts == overlapping.valid_from
    assert conflict.ends is not None and conflict.ends > conflict.starts


def test_a_scheduled_grant_conflicts_too(w, payer, rule):
    _held(w, payer, valid_from=_later(20))
    assert sod.conflicts_for(w.person, [w.benefits_role])
    assert sod.conflicts_for(w.person, [sod.Wanted(w.benefits_role, _later(1), _later(19))]) == []


def test_conflicts_for_finds_clashes_among_the_wanted_roles(w, payer, rule):
    conflicts = sod.conflicts_for(w.person, [w.benefits_role, payer])
    assert {(c.index, c.other_index) for c in conflicts} == {(0, 1), (1, 0)}


def test_an_exception_in_force_covers_the_conflict(w, payer, rule):
    _held(w, payer)
    exception = SodException.objects.create(
        rule=rule, person=w.person, valid_to=_later(30), justification="Väike talitus."
    )
    [conflict] = sod.conflicts_for(w.person, [w.benefits_role])
    assert conflict.exception == exception
    [later] = sod.conflicts_for(w.person, [sod.Wanted(w.benefits_role, _later(31))])
    assert later.exception is None


# --- requests ------------------------------------------------------------------------------


def test_a_conflict_is_flagged_on_the_item_and_blocks_approval(w, payer, rule):
    grant = _held(w, payer)
    request = _file(w, {"kind": "grant_role", "role": w.benefits_role})
    item = request.items.get()
    [entry] = item.sod_conflicts
    assert entry["rule"] == rule.pk and entry["rule_name"] == rule.name
    assert entry["other_role"] == payer.pk and entry["other_grant"] == grant.pk
    assert entry["exception"] is None and entry["exception_until"] is None

    head_step = request.approvals.get()
    with pytest.raises(ValidationError) as exc:
        requests.approve(w.unit_head_user, head_step)
    message = exc.value.message_dict["items[0].role"][0]
    assert "Väljamaksete kinnitaja" in message and rule.name in message
    head_step.refresh_from_db()
    assert head_step.decision == Approval.Decision.PENDING
    # Rejecting or returning stays possible.
    requests.return_for_changes(w.unit_head_user, head_step, "Lõpeta enne väljamaksete roll.")
    request.refresh_from_db()
    assert request.state == AccessRequest.State.RETURNED


def test_an_approved_exception_lets_it_pass_and_is_recorded(w, payer, rule):
    _held(w, payer)
    until = _later(60)
    request = _file(
        w, {"kind": "grant_role", "role": w.benefits_role, "sod_exception_until": until}
    )
    # The owner of the system decides the exception, even for an ordinary role.
    assert [(a.step, a.approver) for a in request.approvals.order_by("order")] == [
        (Approval.Step.UNIT_HEAD, w.unit_head),
        (Approval.Step.SYSTEM_OWNER, w.owner),
    ]
    head_step, owner_step = request.approvals.order_by("order")
    requests.approve(w.unit_head_user, head_step)
    assert not SodException.objects.exists()  # only once the whole chain approves
    requests.approve(w.owner_user, owner_step)

    exception = SodException.objects.get()
    assert exception.rule == rule and exception.person == w.person
    assert exception.valid_to == until and exception.request == request
    assert exception.justification == request.justification
    item = request.items.get()
    assert item.sod_conflicts[0]["exception"] == exception.pk

    requests.fulfil_item(w.desk, item)
    assert Grant.objects.filter(person=w.person, role=w.benefits_role).exists()
    assert AuditEvent.objects.filter(action="access.sod_exception.create").count() == 1
    assert verify_chain().ok


def test_a_conflict_within_the_same_request(w, payer, rule):
    request = _file(
        w,
        {"kind": "grant_role", "role": w.benefits_role},
        {"kind": "grant_role", "role": payer},
    )
    first, second = request.items.order_by("id")
    assert (
        first.sod_conflicts[0]["other_item"] == 1 and first.sod_conflicts[0]["other_grant"] is None
    )
    assert second.sod_conflicts[0]["other_item"] == 0
    with pytest.raises(ValidationError) as exc:
        requests.approve(w.unit_head_user, request.approvals.get())
    assert set(exc.value.message_dict) == {"items[0].role", "items[1].role"}


def test_one_exception_asked_on_one_item_covers_the_rule_for_the_request(w, payer, rule):
    request = _file(
        w,
        {"kind": "grant_role", "role": w.benefits_role},
        {"kind": "grant_role", "role": payer, "sod_exception_until": _later(30)},
    )
    _approve_all(request)
    assert SodException.objects.count() == 1
    for item in request.items.order_by("id"):
        requests.fulfil_item(w.desk, item)
    request.refresh_from_db()
    assert request.state == AccessRequest.State.FULFILLED


def test_swapping_one_role_for_the_other_is_no_conflict(w, payer, rule):
    old = _held(w, payer)
    switch = _later(7)
    request = _file(
        w,
        {"kind": "end_role", "grant": old, "valid_to": switch},
        {"kind": "grant_role", "role": w.benefits_role, "valid_from": switch},
    )
    assert all(item.sod_conflicts == [] for item in request.items.all())
    _approve_all(request)
    assert request.approvals.count() == 1


def test_an_existing_exception_means_no_block(w, payer, rule):
    _held(w, payer)
    SodException.objects.create(
        rule=rule, person=w.person, valid_to=_later(30), justification="Väike talitus."
    )
    request = _file(w, {"kind": "grant_role", "role": w.benefits_role, "valid_to": _later(20)})
    assert request.items.get().sod_conflicts[0]["exception"] is not None
    _approve_all(request)
    request.refresh_from_db()
    assert request.state == AccessRequest.State.APPROVED


def test_a_conflict_arising_after_approval_stops_fulfilment(w, payer, rule):
    request = _file(w, {"kind": "grant_role", "role": w.benefits_role})
    _approve_all(request)
    _held(w, payer)  # granted meanwhile, by another route
    with pytest.raises(ValidationError, match="now conflicts"):
        requests.fulfil_item(w.desk, request.items.get())
    assert not Grant.objects.filter(role=w.benefits_role).exists()


def test_an_exception_must_end_in_the_future(w, payer, rule):
    _held(w, payer)
    with pytest.raises(ValidationError) as exc:
        _file(w, {"kind": "grant_role", "role": w.benefits_role, "sod_exception_until": _later(-1)})
    assert "future" in exc.value.message_dict["items[0].sod_exception_until"][0]
    assert not AccessRequest.objects.exists()
