"""Access requests (taotlus): filing, the approval chain (kooskõlastus), fulfilment and expiry.

A request asks for changes to one person's access. Its life:

    SUBMITTED ── every step approves ──> APPROVED ── the desk fulfils every item ──> FULFILLED
    SUBMITTED ── a step rejects ──> REJECTED
    SUBMITTED ── a step returns it ──> RETURNED ── the filer resubmits ──> SUBMITTED (chain anew)
    SUBMITTED / RETURNED ── the filer cancels ──> CANCELLED
    SUBMITTED / RETURNED ── past `expires_at` ──> EXPIRED  (expire_stale_requests)

Who may do what: anyone files for themselves; filing for someone else needs
`access.file_for_others` (the desk). Only the approver named on the current step, holding
`access.approve_accessrequest`, decides it; nobody decides on a request they filed or that is for
them. The desk (`access.fulfil_accessrequest`) carries out approved items with the grant
primitives; nobody fulfils an item for themselves. The chain is `tugi.access.policy`; the
segregation-of-duties checks and exceptions are `tugi.access.actions.sod`.

Items are given as dicts (`ItemData`). The fields each kind uses:

    create_account  system
    close_account   system (the person's open account there)
    grant_role      role, system (optional, must be the role's), valid_from (default: when
                    fulfilled), valid_to (required where the role says so),
                    sod_exception_until (asks for an SoD exception until then)
    suspend_role    grant (in force, the person's), valid_from (default: when fulfilled),
                    valid_to (resume then; open when empty)
    end_role        grant (in force, the person's), valid_to (when it ends; default: when fulfilled)

Every action validates everything first and raises one ValidationError whose keys name the item
and field (``items[1].valid_to``), so nothing is saved when anything is wrong. Each state change is
audited in the same transaction; `request_event` is sent after commit for notifications and
provisioning to hook into.
"""

import datetime
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Required, TypedDict, cast

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.access import policy
from tugi.access.actions import grants, sod
from tugi.access.models import (
    AccessRequest,
    AccessRequestItem,
    Account,
    Approval,
    Grant,
    Role,
    TargetSystem,
)
from tugi.access.queries import grant_open_at
from tugi.access.rules import check_person_can_hold_access, check_role_period
from tugi.core import audit
from tugi.core.permissions import Actor, require
from tugi.people.models import Person

DEFAULT_EXPIRY_DAYS = 30
# A start a few minutes old is "now" typed into a form, not a wish to backdate access.
_PAST_TOLERANCE = datetime.timedelta(minutes=5)

Kind = AccessRequestItem.Kind
OPEN_STATES = (AccessRequest.State.SUBMITTED, AccessRequest.State.RETURNED)

# Sent after commit: sender=AccessRequest, request=<AccessRequest>, event=<str>, where event is one
# of filed, resubmitted, step_approved, approved, rejected, returned, cancelled, expired,
# item_fulfilled, fulfilled.
request_event = Signal()


class ItemData(TypedDict, total=False):
    """One change asked for, as views and the API pass it to `file_request` and `resubmit`."""

    kind: Required[str]
    system: TargetSystem | None
    role: Role | None
    grant: Grant | None
    valid_from: datetime.datetime | None
    valid_to: datetime.datetime | None
    sod_exception_until: datetime.datetime | None


_ITEM_FIELDS = set(ItemData.__annotations__)
_ITEM_AUDIT_FIELDS = [
    "id",
    "kind",
    "system_id",
    "role_id",
    "grant_id",
    "valid_from",
    "valid_to",
    "sod_conflicts",
]


# --- helpers -----------------------------------------------------------------------------------


def _announce(request: AccessRequest, event: str) -> None:
    transaction.on_commit(
        functools.partial(request_event.send, sender=AccessRequest, request=request, event=event)
    )


def _messages(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "error_dict"):
        return {field: " ".join(msgs) for field, msgs in exc.message_dict.items()}
    return {"__all__": " ".join(exc.messages)}


def _person_of(user: Actor) -> Person | None:
    if user is None or not user.is_authenticated:
        return None
    return Person.objects.filter(user_id=user.pk).first()


def _check_may_file(actor: Actor, person: Person) -> User:
    """Anyone files for themselves; for someone else only with access.file_for_others."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(_("You do not have permission to do this."))
    if person.user_id != actor.pk:
        require(actor, "access.file_for_others")
    return cast(User, actor)


def _snapshot_items(items: Sequence[AccessRequestItem]) -> list[dict[str, Any]]:
    return [audit.snapshot(item, _ITEM_AUDIT_FIELDS) for item in items]


def _snapshot_chain(request: AccessRequest) -> list[dict[str, Any]]:
    return [
        {
            "order": a.order,
            "step": a.step,
            "approver": a.approver_id,
            "system": a.system_id,
            "decision": a.decision,
        }
        for a in request.approvals.order_by("order")
    ]


# --- validation --------------------------------------------------------------------------------


def _role_of(item: AccessRequestItem) -> Role:
    """The role of a grant_role item, which validation has made sure it names."""
    assert item.role is not None
    return item.role


@dataclass
class _Prepared:
    """A request's items and approval chain, validated and ready to save."""

    items: list[AccessRequestItem]
    chain: list[policy.PlannedStep]


def _check_times(data: ItemData, errors: dict[str, str]) -> None:
    for name in ("valid_from", "valid_to", "sod_exception_until"):
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, datetime.datetime) or timezone.is_naive(value):
            errors[name] = _("Give a date and time with its time zone.")


def _prepare_item(
    person: Person, data: ItemData, now: datetime.datetime
) -> tuple[AccessRequestItem, dict[str, str]]:
    """One item built from its data, and what is wrong with it (field → message)."""
    errors: dict[str, str] = {}
    for name in set(data) - _ITEM_FIELDS:
        errors[name] = _("This field cannot be set here.")
    kind = data.get("kind")
    if kind not in Kind.values:
        errors["kind"] = _("Choose what to change: %(kinds)s.") % {"kinds": ", ".join(Kind.values)}
    _check_times(data, errors)
    item = AccessRequestItem(kind=kind or "")
    if errors:
        return item, errors

    system, role, grant = data.get("system"), data.get("role"), data.get("grant")
    valid_from, valid_to = data.get("valid_from"), data.get("valid_to")
    if valid_from is not None and valid_from < now - _PAST_TOLERANCE:
        errors["valid_from"] = _("The start cannot be in the past.")

    if kind in (Kind.CREATE_ACCOUNT, Kind.CLOSE_ACCOUNT):
        role, grant, valid_from, valid_to = None, None, None, None
        if system is None:
            errors["system"] = _("Choose the system.")
        else:
            has_account = (
                Account.objects.filter(person=person, system=system)
                .exclude(state=Account.State.CLOSED)
                .exists()
            )
            names = {"person": person, "system": system}
            if kind == Kind.CREATE_ACCOUNT and not system.active:
                errors["system"] = _("%(system)s is no longer in use.") % names
            elif kind == Kind.CREATE_ACCOUNT and has_account:
                errors["system"] = (
                    _("%(person)s already has an open account in %(system)s.") % names
                )
            elif kind == Kind.CLOSE_ACCOUNT and not has_account:
                errors["system"] = _("%(person)s has no open account in %(system)s.") % names

    elif kind == Kind.GRANT_ROLE:
        grant = None
        if role is None:
            errors["role"] = _("Choose the role.")
        else:
            system = system or role.system
            try:
                check_role_period(role, system, valid_from, valid_to)
            except ValidationError as exc:
                errors.update(_messages(exc))
            if not system.active:
                errors["system"] = _("%(system)s is no longer in use.") % {"system": system}
            if valid_from is not None:  # leaving before today is the request-wide check
                try:
                    check_person_can_hold_access(person, valid_from)
                except ValidationError as exc:
                    errors.setdefault("valid_from", " ".join(exc.messages))
            if "role" not in errors and "valid_to" not in errors:
                start = valid_from or now
                held = Grant.objects.filter(
                    person=person, role=role, acting_for__isnull=True
                ).filter(grant_open_at(start))
                if valid_to is not None:
                    held = held.filter(valid_from__lt=valid_to)
                if held.exists():
                    errors["role"] = _("%(person)s already holds “%(role)s” in that period.") % {
                        "person": person,
                        "role": role.name,
                    }

    elif kind in (Kind.SUSPEND_ROLE, Kind.END_ROLE):
        if grant is None:
            errors["grant"] = _("Choose the grant to change.")
        elif grant.person_id != person.pk:
            errors["grant"] = _("This grant is not %(person)s's.") % {"person": person}
        elif grant.valid_to is not None and grant.valid_to <= now:
            errors["grant"] = _("This grant has already ended.")
        else:
            grant_system = grant.account.system
            if system is not None and system.pk != grant_system.pk:
                errors["system"] = _("The grant is in %(other)s, not in %(system)s.") % {
                    "other": grant_system,
                    "system": system,
                }
            system, role = grant_system, grant.role
            if kind == Kind.END_ROLE:
                if valid_from is not None:
                    errors["valid_from"] = _("Ending a role needs only the time it ends (“until”).")
                elif (
                    valid_to is not None
                    and grant.valid_to is not None
                    and (valid_to >= grant.valid_to)
                ):
                    errors["valid_to"] = _("The grant already ends on %(end)s.") % {
                        "end": timezone.localtime(grant.valid_to).strftime("%d.%m.%Y %H:%M")
                    }
            elif valid_from and valid_to and valid_to <= valid_from:
                errors["valid_to"] = _("The end must be after the start.")

    if valid_to is not None and valid_to <= now and "valid_to" not in errors:
        errors["valid_to"] = _("The end must be in the future.")
    if data.get("sod_exception_until") is not None and kind != Kind.GRANT_ROLE:
        errors["sod_exception_until"] = _("Only a role grant can ask for an SoD exception.")

    item.system, item.role, item.grant = system, role, grant  # type: ignore[assignment]
    item.valid_from, item.valid_to = valid_from, valid_to
    return item, errors


def _check_across_items(items: list[AccessRequestItem], errors: dict[str, str]) -> None:
    """Items of one request must not repeat or undo each other."""
    seen_roles: dict[int, int] = {}
    seen_grants: dict[int, int] = {}
    seen_accounts: dict[tuple[str, int], int] = {}
    closing = {item.system_id: i for i, item in enumerate(items) if item.kind == Kind.CLOSE_ACCOUNT}
    for i, item in enumerate(items):
        if item.kind == Kind.GRANT_ROLE and item.role_id is not None:
            if item.role_id in seen_roles:
                errors.setdefault(
                    f"items[{i}].role",
                    _("Item %(n)d already asks for this role.")
                    % {"n": seen_roles[item.role_id] + 1},
                )
            seen_roles.setdefault(item.role_id, i)
        if item.kind in (Kind.SUSPEND_ROLE, Kind.END_ROLE) and item.grant_id is not None:
            if item.grant_id in seen_grants:
                errors.setdefault(
                    f"items[{i}].grant",
                    _("Item %(n)d already changes this grant.")
                    % {"n": seen_grants[item.grant_id] + 1},
                )
            seen_grants.setdefault(item.grant_id, i)
        if item.kind in (Kind.CREATE_ACCOUNT, Kind.CLOSE_ACCOUNT) and item.system_id is not None:
            key = (item.kind, item.system_id)
            if key in seen_accounts:
                errors.setdefault(
                    f"items[{i}].system",
                    _("Item %(n)d already asks for this.") % {"n": seen_accounts[key] + 1},
                )
            seen_accounts.setdefault(key, i)
        if item.kind in (Kind.CREATE_ACCOUNT, Kind.GRANT_ROLE) and item.system_id in closing:
            errors.setdefault(
                f"items[{i}].system",
                _("Item %(n)d closes the account in this system.")
                % {"n": closing[item.system_id] + 1},
            )


def _prepare(
    actor: User,
    person: Person,
    items: Sequence[ItemData],
    justification: str,
) -> _Prepared:
    """Validate a whole request and plan its approval chain; raise one error naming every fault."""
    now = timezone.now()
    errors: dict[str, str] = {}
    if not justification.strip():
        errors["justification"] = _("Say why the access is needed.")
    try:
        check_person_can_hold_access(person)
    except ValidationError as exc:
        errors.update(_messages(exc))
    if not items:
        errors["items"] = _("A request needs at least one change.")
    prepared: list[AccessRequestItem] = []
    for i, data in enumerate(items):
        item, item_errors = _prepare_item(person, data, now)
        prepared.append(item)
        errors.update({f"items[{i}].{field}": msg for field, msg in item_errors.items()})
    if errors:
        raise ValidationError(errors)
    _check_across_items(prepared, errors)
    for i, item in enumerate(prepared):
        if item.kind != Kind.GRANT_ROLE:
            continue
        role = _role_of(item)
        if role.is_sensitive and item.system.owner_id is None:
            errors[f"items[{i}].role"] = _(
                "“%(role)s” is sensitive and %(system)s has no owner to approve it; ask the "
                "administrator to name one."
            ) % {"role": role.name, "system": item.system}
    if errors:
        raise ValidationError(errors)

    _find_conflicts(person, prepared, items, now, errors)
    if errors:
        raise ValidationError(errors)

    owner_systems = [
        item.system
        for item in prepared
        if item.kind == Kind.GRANT_ROLE
        and (_role_of(item).is_sensitive or any(c["exception_until"] for c in item.sod_conflicts))
    ]
    chain = policy.approval_chain(person, owner_systems=owner_systems, filer=_person_of(actor))
    return _Prepared(prepared, chain)


def _find_conflicts(
    person: Person,
    prepared: list[AccessRequestItem],
    items: Sequence[ItemData],
    now: datetime.datetime,
    errors: dict[str, str],
) -> None:
    """Store each grant item's SoD conflicts on it, with the exception it asks for, if any."""
    grant_items = [i for i, item in enumerate(prepared) if item.kind == Kind.GRANT_ROLE]
    wanted = [
        sod.Wanted(_role_of(prepared[i]), prepared[i].valid_from or now, prepared[i].valid_to)
        for i in grant_items
    ]
    ending = {
        item.grant_id: item.valid_to or now
        for item in prepared
        if item.kind == Kind.END_ROLE and item.grant_id is not None
    }
    conflicts = sod.conflicts_for(person, wanted, now, ending=ending)
    for i in grant_items:
        prepared[i].sod_conflicts = []
    for conflict in conflicts:
        i = grant_items[conflict.index]
        entry = conflict.as_json(items[i].get("sod_exception_until"))
        if conflict.other_index is not None:
            entry["other_item"] = grant_items[conflict.other_index]
        prepared[i].sod_conflicts.append(entry)
    for i in grant_items:
        until = items[i].get("sod_exception_until")
        if until is None:
            continue
        if not any(not c["exception"] for c in prepared[i].sod_conflicts):
            errors[f"items[{i}].sod_exception_until"] = _(
                "There is no segregation-of-duties conflict to make an exception for."
            )
        elif until <= now:
            errors[f"items[{i}].sod_exception_until"] = _("The exception must end in the future.")


def _save_items_and_chain(request: AccessRequest, prepared: _Prepared) -> None:
    for item in prepared.items:
        item.request = request
        item.save()
    Approval.objects.bulk_create(
        Approval(
            request=request, order=n, step=step.step, approver=step.approver, system=step.system
        )
        for n, step in enumerate(prepared.chain, start=1)
    )


# --- filing ------------------------------------------------------------------------------------


def file_request(
    actor: Actor,
    person: Person,
    items: Sequence[ItemData],
    justification: str,
    *,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
) -> AccessRequest:
    """File an access request for `person`, with its approval chain."""
    user = _check_may_file(actor, person)
    with transaction.atomic():
        prepared = _prepare(user, person, items, justification)
        request = AccessRequest.objects.create(
            person=person,
            requested_by=user,
            justification=justification.strip(),
            expires_at=timezone.now() + datetime.timedelta(days=expires_in_days),
        )
        _save_items_and_chain(request, prepared)
        audit.record(
            actor,
            "access.request.file",
            request,
            after={
                "justification": request.justification,
                "items": _snapshot_items(prepared.items),
                "approvals": _snapshot_chain(request),
                "expires_at": request.expires_at,
            },
            basis=request.justification,
            subject_person_id=person.pk,
        )
        _announce(request, "filed")
    return request


def _item_data(item: AccessRequestItem) -> ItemData:
    """A stored item as input again, so a resubmitted request is validated afresh."""
    data: ItemData = {
        "kind": item.kind,
        "system": item.system,
        "role": item.role,
        "grant": item.grant,
        "valid_from": item.valid_from,
        "valid_to": item.valid_to,
    }
    untils = [c["exception_until"] for c in item.sod_conflicts if c.get("exception_until")]
    if untils:
        data["sod_exception_until"] = datetime.datetime.fromisoformat(max(untils))
    return data


def resubmit(
    actor: Actor,
    request: AccessRequest,
    *,
    items: Sequence[ItemData] | None = None,
    justification: str | None = None,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
) -> AccessRequest:
    """The filer sends a returned request again, changed; the approval chain starts anew."""
    request = AccessRequest.objects.select_related("person").get(pk=request.pk)
    user = _check_may_file(actor, request.person)
    if request.requested_by_id != user.pk:
        raise PermissionDenied(_("Only the person who filed the request can resubmit it."))
    if request.state != AccessRequest.State.RETURNED:
        raise ValidationError(
            {"request": _("Only a request returned for changes can be resubmitted.")}
        )
    if items is None:
        items = [
            _item_data(item) for item in request.items.select_related("system", "role", "grant")
        ]
    if justification is None:
        justification = request.justification
    with transaction.atomic():
        request = AccessRequest.objects.select_for_update().get(pk=request.pk)
        if request.state != AccessRequest.State.RETURNED:
            raise ValidationError({"request": _("The request has changed meanwhile.")})
        prepared = _prepare(user, request.person, items, justification)
        before = {
            "justification": request.justification,
            "items": _snapshot_items(list(request.items.all())),
            "approvals": _snapshot_chain(request),
        }
        # The previous round's decisions stay in the audit log; the new round starts clean.
        request.approvals.all().delete()
        request.items.all().delete()
        _save_items_and_chain(request, prepared)
        request.justification = justification.strip()
        request.state = AccessRequest.State.SUBMITTED
        request.expires_at = timezone.now() + datetime.timedelta(days=expires_in_days)
        request.save(update_fields=["justification", "state", "expires_at"])
        audit.record(
            actor,
            "access.request.resubmit",
            request,
            before=before,
            after={
                "justification": request.justification,
                "items": _snapshot_items(prepared.items),
                "approvals": _snapshot_chain(request),
                "expires_at": request.expires_at,
            },
            basis=request.justification,
            subject_person_id=request.person_id,
        )
        _announce(request, "resubmitted")
    return request


def cancel_request(actor: Actor, request: AccessRequest, *, reason: str = "") -> AccessRequest:
    """The filer withdraws a request that has not been decided."""
    if actor is None or not actor.is_authenticated or request.requested_by_id != actor.pk:
        raise PermissionDenied(_("Only the person who filed the request can cancel it."))
    with transaction.atomic():
        request = AccessRequest.objects.select_for_update().get(pk=request.pk)
        if request.state not in OPEN_STATES:
            raise ValidationError(
                {
                    "request": _("The request has been decided already (%(state)s).")
                    % {"state": request.get_state_display()}
                }
            )
        before = request.state
        request.state = AccessRequest.State.CANCELLED
        request.decision_comment = reason.strip()
        request.save(update_fields=["state", "decision_comment"])
        request.items.update(state=AccessRequestItem.State.CANCELLED)
        audit.record(
            actor,
            "access.request.cancel",
            request,
            before={"state": before},
            after={"state": request.state},
            basis=reason.strip(),
            subject_person_id=request.person_id,
        )
        _announce(request, "cancelled")
    return request


def expire_stale_requests(now: datetime.datetime | None = None) -> int:
    """Expire requests still open past `expires_at`; returns how many. Safe to run repeatedly."""
    now = now or timezone.now()
    stale = AccessRequest.objects.filter(state__in=OPEN_STATES, expires_at__lte=now)
    expired = 0
    for pk in list(stale.values_list("pk", flat=True)):
        # One transaction each: a decision racing the expiry wins or loses cleanly, per request.
        with transaction.atomic():
            request = stale.select_for_update().filter(pk=pk).first()
            if request is None:
                continue
            before = request.state
            request.state = AccessRequest.State.EXPIRED
            request.decided_at = now
            request.save(update_fields=["state", "decided_at"])
            request.items.update(state=AccessRequestItem.State.CANCELLED)
            audit.record(
                None,
                "access.request.expire",
                request,
                before={"state": before},
                after={"state": request.state, "expires_at": request.expires_at},
                subject_person_id=request.person_id,
            )
            _announce(request, "expired")
            expired += 1
    return expired


# --- decisions ---------------------------------------------------------------------------------


def _begin_decision(actor: Actor, approval: Approval) -> tuple[User, AccessRequest, Approval]:
    """Lock the request and check that `actor` may decide this step now (call inside atomic)."""
    require(actor, "access.approve_accessrequest")
    user = cast(User, actor)
    request = (
        AccessRequest.objects.select_for_update()
        .select_related("person")
        .get(pk=approval.request_id)
    )
    approval = Approval.objects.select_related("approver").get(pk=approval.pk)
    if approval.approver.user_id != user.pk:
        raise PermissionDenied(
            _("Only %(approver)s can decide this step.") % {"approver": approval.approver}
        )
    if request.requested_by_id == user.pk or request.person.user_id == user.pk:
        raise ValidationError(
            _("You cannot decide on a request you filed or that is for you: another approver must.")
        )
    if request.state != AccessRequest.State.SUBMITTED:
        raise ValidationError(
            {
                "request": _("The request is not awaiting approval (it is %(state)s).")
                % {"state": request.get_state_display()}
            }
        )
    if approval.decision != Approval.Decision.PENDING:
        raise ValidationError({"approval": _("This step has been decided already.")})
    current = policy.current_approval(request)
    if current is None or current.pk != approval.pk:
        raise ValidationError(
            {
                "approval": _("It is not this step's turn: %(approver)s (%(step)s) decides first.")
                % {
                    "approver": current.approver if current else "—",
                    "step": current.get_step_display() if current else "—",
                }
            }
        )
    return user, request, approval


_DECISION_ACTIONS: dict[str, str] = {
    Approval.Decision.APPROVED: "access.approval.approve",
    Approval.Decision.REJECTED: "access.approval.reject",
    Approval.Decision.RETURNED: "access.approval.return",
}


def _record_decision(
    user: User, request: AccessRequest, approval: Approval, decision: str, comment: str
) -> None:
    approval.decision = decision
    approval.comment = comment
    approval.decided_by = user
    approval.decided_at = timezone.now()
    approval.save(update_fields=["decision", "comment", "decided_by", "decided_at"])
    audit.record(
        user,
        _DECISION_ACTIONS[decision],
        approval,
        before={"decision": Approval.Decision.PENDING},
        after={
            "decision": decision,
            "comment": comment,
            "step": approval.step,
            "request": request.pk,
        },
        basis=comment,
        subject_person_id=request.person_id,
    )


def approve(actor: Actor, approval: Approval, comment: str = "") -> Approval:
    """Approve the current step; the last approval makes the request and its items APPROVED."""
    with transaction.atomic():
        user, request, approval = _begin_decision(actor, approval)
        items = list(request.items.order_by("id"))
        blocked = sod.unresolved_conflicts(items)
        if blocked:
            raise ValidationError(
                {
                    f"items[{index}].role": _(
                        "“%(role)s” conflicts with %(others)s (segregation of duties) and no "
                        "exception is asked for: reject the request or return it for changes."
                    )
                    % {
                        "role": item.role.name if item.role else "",
                        "others": ", ".join(
                            f"“{c['other_role_name']}” ({c['rule_name']})" for c in conflicts
                        ),
                    }
                    for index, item, conflicts in blocked
                }
            )
        _record_decision(user, request, approval, Approval.Decision.APPROVED, comment.strip())
        if request.approvals.filter(decision=Approval.Decision.PENDING).exists():
            _announce(request, "step_approved")
            return approval
        request.state = AccessRequest.State.APPROVED
        request.decided_at = timezone.now()
        request.decision_comment = comment.strip()
        request.save(update_fields=["state", "decided_at", "decision_comment"])
        request.items.filter(state=AccessRequestItem.State.PENDING).update(
            state=AccessRequestItem.State.APPROVED
        )
        sod.grant_requested_exceptions(user, request)
        audit.record(
            user,
            "access.request.approve",
            request,
            before={"state": AccessRequest.State.SUBMITTED},
            after={"state": request.state},
            basis=request.justification,
            subject_person_id=request.person_id,
        )
        _announce(request, "approved")
    return approval


def reject(actor: Actor, approval: Approval, reason: str) -> Approval:
    """Reject the request at the current step, with the reason the filer will see."""
    require(actor, "access.approve_accessrequest")
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the request is rejected.")})
    with transaction.atomic():
        user, request, approval = _begin_decision(actor, approval)
        _record_decision(user, request, approval, Approval.Decision.REJECTED, reason.strip())
        request.state = AccessRequest.State.REJECTED
        request.decided_at = timezone.now()
        request.decision_comment = reason.strip()
        request.save(update_fields=["state", "decided_at", "decision_comment"])
        request.items.update(state=AccessRequestItem.State.REJECTED)
        audit.record(
            user,
            "access.request.reject",
            request,
            before={"state": AccessRequest.State.SUBMITTED},
            after={"state": request.state},
            basis=reason.strip(),
            subject_person_id=request.person_id,
        )
        _announce(request, "rejected")
    return approval


def return_for_changes(actor: Actor, approval: Approval, comment: str) -> Approval:
    """Send the request back to its filer, saying what to change."""
    require(actor, "access.approve_accessrequest")
    if not comment.strip():
        raise ValidationError({"comment": _("Say what should change.")})
    with transaction.atomic():
        user, request, approval = _begin_decision(actor, approval)
        _record_decision(user, request, approval, Approval.Decision.RETURNED, comment.strip())
        request.state = AccessRequest.State.RETURNED
        request.decision_comment = comment.strip()
        request.save(update_fields=["state", "decision_comment"])
        audit.record(
            user,
            "access.request.return",
            request,
            before={"state": AccessRequest.State.SUBMITTED},
            after={"state": request.state},
            basis=comment.strip(),
            subject_person_id=request.person_id,
        )
        _announce(request, "returned")
    return approval


# --- fulfilment --------------------------------------------------------------------------------


def _open_account(person: Person, system: TargetSystem) -> Account | None:
    return (
        Account.objects.filter(person=person, system=system)
        .exclude(state=Account.State.CLOSED)
        .first()
    )


def _fulfil_grant(
    user: User, item: AccessRequestItem, person: Person, username: str, now: datetime.datetime
) -> Grant:
    role = _role_of(item)
    start = max(item.valid_from, now) if item.valid_from else now
    if item.valid_to is not None and item.valid_to <= start:
        raise ValidationError(
            {"valid_to": _("The period asked for has passed; a new request is needed.")}
        )
    # The person's grants may have changed since filing: check again, with exceptions in force.
    clashes = [
        c
        for c in sod.conflicts_for(person, [sod.Wanted(role, start, item.valid_to)], now)
        if c.exception is None
    ]
    if clashes:
        raise ValidationError(
            {
                "role": _("“%(role)s” now conflicts with %(others)s (segregation of duties).")
                % {
                    "role": role.name,
                    "others": ", ".join(f"“{c.other_role}” ({c.rule})" for c in clashes),
                }
            }
        )
    account = _open_account(person, item.system) or grants.open_account(
        user, person, item.system, username=username
    )
    return grants.grant_role(
        user,
        account,
        role,
        valid_from=start,
        valid_to=item.valid_to,
        basis=Grant.Basis.REQUEST,
        basis_item=item,
    )


def fulfil_item(actor: Actor, item: AccessRequestItem, *, username: str = "") -> AccessRequestItem:
    """The desk carries out one approved item; when all are done, the request is FULFILLED.

    `username` is the account's name in the target system, used when an account is opened.
    """
    require(actor, "access.fulfil_accessrequest")
    user = cast(User, actor)
    with transaction.atomic():
        item = (
            # `of=self`: PostgreSQL cannot lock the nullable side of the outer joins.
            AccessRequestItem.objects.select_for_update(of=("self",))
            .select_related("request__person", "system", "role", "grant")
            .get(pk=item.pk)
        )
        request = item.request
        person = request.person
        if person.user_id == user.pk:
            raise ValidationError(
                _("You cannot fulfil a change of your own access: another desk agent must.")
            )
        if item.state != AccessRequestItem.State.APPROVED or (
            request.state != AccessRequest.State.APPROVED
        ):
            raise ValidationError(
                {
                    "item": _("Only an approved item can be fulfilled; this one is %(state)s.")
                    % {"state": item.get_state_display()}
                }
            )
        now = timezone.now()
        reason = _("Access request %(id)s") % {"id": request.pk}
        result: dict[str, Any] = {}
        if item.kind == Kind.CREATE_ACCOUNT:
            account = grants.open_account(user, person, item.system, username=username)
            result["account"] = account.pk
        elif item.kind == Kind.CLOSE_ACCOUNT:
            open_account = _open_account(person, item.system)
            if open_account is not None:  # closed meanwhile: the change holds already
                grants.close_account(user, open_account, reason=reason)
                result["account"] = open_account.pk
        elif item.kind == Kind.GRANT_ROLE:
            result["grant"] = _fulfil_grant(user, item, person, username, now).pk
        elif item.kind == Kind.SUSPEND_ROLE:
            assert item.grant is not None  # validated at filing
            if item.valid_to is not None and item.valid_to <= now:
                raise ValidationError(
                    {"valid_to": _("The period asked for has passed; a new request is needed.")}
                )
            starts = max(item.valid_from, now) if item.valid_from else None
            suspension = grants.suspend_grant(
                user,
                item.grant,
                reason=reason,
                starts_at=starts,
                ends_at=item.valid_to,
                basis_item=item,
            )
            result["suspension"] = suspension.pk
        elif item.kind == Kind.END_ROLE:
            assert item.grant is not None  # validated at filing
            at = max(item.valid_to, now) if item.valid_to else None
            grants.end_grant(user, item.grant, reason=reason, at=at)
            result["grant"] = item.grant.pk
        item.state = AccessRequestItem.State.FULFILLED
        item.fulfilled_by = user
        item.fulfilled_at = now
        item.save(update_fields=["state", "fulfilled_by", "fulfilled_at"])
        audit.record(
            user,
            "access.request_item.fulfil",
            item,
            before={"state": AccessRequestItem.State.APPROVED},
            after={"state": item.state, "request": request.pk, **result},
            basis=f"request {request.pk}",
            subject_person_id=person.pk,
        )
        remaining = request.items.exclude(
            state__in=[AccessRequestItem.State.FULFILLED, AccessRequestItem.State.CANCELLED]
        )
        if remaining.exists():
            _announce(request, "item_fulfilled")
        else:
            request.state = AccessRequest.State.FULFILLED
            request.save(update_fields=["state"])
            audit.record(
                user,
                "access.request.fulfil",
                request,
                before={"state": AccessRequest.State.APPROVED},
                after={"state": request.state},
                subject_person_id=person.pk,
            )
            _announce(request, "fulfilled")
    return item
