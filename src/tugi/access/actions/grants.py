"""Actions on accounts and grants: open and close accounts, grant, end, suspend and resume roles.

These are the primitives; requests, the lifecycle engine and the connectors call them. Validity
changes only ever reach into the future, so the grant table stays a truthful history.

`actor=None` is the system itself (the lifecycle engine, an HR import run by the operator on the
server): it passes the permission check, as in `tugi.api.actions`; the audit event then names
"system". Web and API code always passes the signed-in user. Every change of a grant's
boundaries is handed to the lifecycle engine (`lifecycle.plan`) in the same transaction.
"""

import datetime
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.access.lifecycle import substitution as substitution_engine
from tugi.access.lifecycle.plan import sync_grants
from tugi.access.models import (
    AccessRequestItem,
    Account,
    Grant,
    GrantSuspension,
    Role,
    Substitution,
    TargetSystem,
)
from tugi.access.queries import grant_open_at, suspension_open_at
from tugi.access.rules import check_person_can_hold_access, check_role_period
from tugi.core import audit
from tugi.core.permissions import Actor, require
from tugi.people.models import Duty, Person

# (action, object, keyword arguments of audit.record), as audit.record_many takes them.
AuditEntry = tuple[str, Any, dict[str, Any]]

_GRANT_FIELDS = [
    "account_id",
    "role_id",
    "person_id",
    "valid_from",
    "valid_to",
    "basis",
    "basis_duty_id",
    "basis_item_id",
    "acting_for_id",
    "substitution_id",
    "ended_reason",
]


def _require(actor: Actor, perm: str) -> None:
    if actor is not None:
        require(actor, perm)


def _check_not_self(actor: Actor, person: Person) -> None:
    """Four eyes: nobody changes their own access."""
    if actor is not None and actor.is_authenticated and person.user_id == actor.pk:
        raise ValidationError(_("You cannot change your own access: another desk agent must."))


def open_account(
    actor: Actor, person: Person, system: TargetSystem, *, username: str = ""
) -> Account:
    """Open (or return the already open) account of a person in a system."""
    _require(actor, "access.add_account")
    _check_not_self(actor, person)
    check_person_can_hold_access(person)
    with transaction.atomic():
        existing = (
            Account.objects.select_for_update()
            .filter(person=person, system=system)
            .exclude(state=Account.State.CLOSED)
            .first()
        )
        if existing is not None:
            return existing
        account = Account.objects.create(
            person=person,
            system=system,
            username=username,
            state=Account.State.ACTIVE,
            opened_at=timezone.now(),
        )
        audit.record(
            actor,
            "access.account.open",
            account,
            after=audit.snapshot(account),
            subject_person_id=person.pk,
        )
    return account


def close_account(actor: Actor, account: Account, *, reason: str) -> Account:
    """Close an account: its grants end now."""
    _require(actor, "access.change_account")
    _check_not_self(actor, account.person)
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        if account.state == Account.State.CLOSED:
            return account
        now = timezone.now()
        for grant in account.grants.filter(grant_open_at(now)):
            end_grant(actor, grant, reason=reason, at=now)
        before = account.state
        account.state, account.closed_at = Account.State.CLOSED, now
        account.save(update_fields=["state", "closed_at"])
        audit.record(
            actor,
            "access.account.close",
            account,
            before={"state": before},
            after={"state": account.state},
            basis=reason,
            subject_person_id=account.person_id,
        )
    return account


def grant_role(
    actor: Actor,
    account: Account,
    role: Role,
    *,
    valid_from: datetime.datetime | None = None,
    valid_to: datetime.datetime | None = None,
    basis: str,
    basis_duty: Duty | None = None,
    basis_item: AccessRequestItem | None = None,
    acting_for: Person | None = None,
    substitution: Substitution | None = None,
) -> Grant:
    """Record that a person holds a role from `valid_from` (default now) until `valid_to`."""
    _require(actor, "access.add_grant")
    person = account.person
    _check_not_self(actor, person)
    valid_from = valid_from or timezone.now()
    check_person_can_hold_access(person, valid_from)
    check_role_period(role, account.system, valid_from, valid_to)
    if account.state == Account.State.CLOSED:
        raise ValidationError({"account": _("The account is closed.")})
    with transaction.atomic():
        overlapping = Grant.objects.filter(
            account=account, role=role, acting_for=acting_for
        ).filter(grant_open_at(valid_from))
        if valid_to is not None:
            overlapping = overlapping.filter(valid_from__lt=valid_to)
        if overlapping.exists():
            raise ValidationError(
                {
                    "role": _("%(person)s already holds “%(role)s” in that period.")
                    % {"person": person, "role": role.name}
                }
            )
        grant = Grant(
            account=account,
            role=role,
            person=person,
            valid_from=valid_from,
            valid_to=valid_to,
            basis=basis,
            basis_duty=basis_duty,
            basis_item=basis_item,
            acting_for=acting_for,
            substitution=substitution,
        )
        grant.full_clean()
        grant.save()
        audit.record(
            actor,
            "access.grant.create",
            grant,
            after=audit.snapshot(grant, _GRANT_FIELDS),
            basis=_basis_text(grant),
            subject_person_id=person.pk,
        )
        sync_grants([grant.pk])
    return grant


def _basis_text(grant: Grant) -> str:
    if grant.basis == Grant.Basis.JOB_DESCRIPTION and grant.basis_duty_id:
        return f"duty {grant.basis_duty_id}"
    if grant.basis == Grant.Basis.REQUEST and grant.basis_item_id:
        return f"request item {grant.basis_item_id}"
    if grant.basis == Grant.Basis.SUBSTITUTION and grant.acting_for_id:
        return f"acting for person {grant.acting_for_id}"
    return grant.basis


def end_grant(
    actor: Actor, grant: Grant, *, reason: str, at: datetime.datetime | None = None
) -> Grant:
    """End a grant at `at` (default now; never in the past, so history stays true)."""
    _require(actor, "access.change_grant")
    _check_not_self(actor, grant.person)
    now = timezone.now()
    at = at or now
    if at < now - datetime.timedelta(seconds=5):
        raise ValidationError({"valid_to": _("A grant cannot be ended in the past.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the grant ends.")})
    with transaction.atomic():
        grant = Grant.objects.select_for_update().get(pk=grant.pk)
        if grant.valid_to is not None and grant.valid_to <= at:
            return grant  # already ends by then: idempotent
        before = grant.valid_to
        # A grant that has not started yet ends before it begins: it never held.
        grant.valid_to = max(at, grant.valid_from + datetime.timedelta(microseconds=1))
        grant.ended_reason = reason[:300]
        grant.save(update_fields=["valid_to", "ended_reason"])
        audit.record(
            actor,
            "access.grant.end",
            grant,
            before={"valid_to": before},
            after={"valid_to": grant.valid_to},
            basis=reason,
            subject_person_id=grant.person_id,
        )
        sync_grants([grant.pk])
        substitution_engine.follow_own_grant(grant)
    return grant


def suspend_grant(
    actor: Actor,
    grant: Grant,
    *,
    reason: str,
    starts_at: datetime.datetime | None = None,
    ends_at: datetime.datetime | None = None,
    basis_item: AccessRequestItem | None = None,
) -> GrantSuspension:
    """Suspend a grant from `starts_at` (default now) until `ends_at` or until resumed."""
    _require(actor, "access.change_grant")
    _check_not_self(actor, grant.person)
    now = timezone.now()
    starts_at = starts_at or now
    if starts_at < now - datetime.timedelta(seconds=5):
        raise ValidationError({"starts_at": _("A suspension cannot start in the past.")})
    if ends_at is not None and ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the grant is suspended.")})
    with transaction.atomic():
        grant = Grant.objects.select_for_update().get(pk=grant.pk)
        clash = grant.suspensions.filter(suspension_open_at(starts_at))
        if ends_at is not None:
            clash = clash.filter(starts_at__lt=ends_at)
        if clash.exists():
            raise ValidationError({"starts_at": _("The grant is already suspended then.")})
        suspension = GrantSuspension.objects.create(
            grant=grant,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason[:300],
            basis_item=basis_item,
        )
        audit.record(
            actor,
            "access.grant.suspend",
            grant,
            after={"starts_at": starts_at, "ends_at": ends_at},
            basis=reason,
            subject_person_id=grant.person_id,
        )
        sync_grants([grant.pk])
        substitution_engine.follow_own_grant(grant)
    return suspension


def resume_grant(actor: Actor, grant: Grant, *, reason: str) -> Grant:
    """End the grant's current suspension now."""
    _require(actor, "access.change_grant")
    _check_not_self(actor, grant.person)
    now = timezone.now()
    with transaction.atomic():
        current = (
            grant.suspensions.select_for_update()
            .filter(starts_at__lte=now)
            .filter(suspension_open_at(now))
            .first()
        )
        if current is None:
            raise ValidationError(_("The grant is not suspended."))
        current.ends_at = now
        current.save(update_fields=["ends_at"])
        audit.record(
            actor,
            "access.grant.resume",
            grant,
            after={"resumed_at": now},
            basis=reason,
            subject_person_id=grant.person_id,
        )
        sync_grants([grant.pk])
        substitution_engine.follow_own_grant(grant)
    return grant


# --- in bulk -------------------------------------------------------------------------------------
# The set-based twins of open_account, end_grant and grant_role, for the HR import's batches
# (`lifecycle.movements`): the caller has already checked each change against the same rules
# (check_person_can_hold_access, check_role_period, no overlap, an open account); these write
# them with the same audit events and hand them to the engine, a few statements per batch rather
# than a dozen per grant. The system is the actor. A rule or side effect added to the single
# actions above belongs here too.


def open_accounts_in_bulk(accounts: list[Account]) -> list[AuditEntry]:
    """Insert new accounts; returns their audit entries for the caller's `audit.record_many`."""
    Account.objects.bulk_create(accounts, batch_size=500)
    return [
        (
            "access.account.open",
            account,
            {"after": audit.snapshot(account), "subject_person_id": account.person_id},
        )
        for account in accounts
    ]


def end_grants_in_bulk(ends: list[tuple[Grant, datetime.datetime, str]]) -> list[AuditEntry]:
    """Set each grant's end and reason; returns the audit entries (as end_grant writes them)."""
    entries: list[AuditEntry] = []
    # Most ends share their moment and reason (a leaver's last day, a mover's grace end): one
    # UPDATE per such group is far cheaper than bulk_update's CASE per row.
    groups: dict[tuple[datetime.datetime, str], list[int]] = defaultdict(list)
    for grant, valid_to, reason in ends:
        before = grant.valid_to
        grant.valid_to, grant.ended_reason = valid_to, reason
        groups[(valid_to, reason)].append(grant.pk)
        entries.append(
            (
                "access.grant.end",
                grant,
                {
                    "before": {"valid_to": before},
                    "after": {"valid_to": valid_to},
                    "basis": reason,
                    "subject_person_id": grant.person_id,
                },
            )
        )
    for (valid_to, reason), ids in groups.items():
        for start in range(0, len(ids), 500):
            Grant.objects.filter(pk__in=ids[start : start + 500]).update(
                valid_to=valid_to, ended_reason=reason
            )
    return entries


def grant_roles_in_bulk(grants: list[Grant]) -> list[AuditEntry]:
    """Insert new grants; returns their audit entries (as grant_role writes them)."""
    Grant.objects.bulk_create(grants, batch_size=500)
    return [
        (
            "access.grant.create",
            grant,
            {
                "after": audit.snapshot(grant, _GRANT_FIELDS),
                "basis": _basis_text(grant),
                "subject_person_id": grant.person_id,
            },
        )
        for grant in grants
    ]


def record_bulk(
    entries: list[AuditEntry], ended: list[Grant], made: list[Grant], now: datetime.datetime
) -> None:
    """Write the batch's audit events, plan its boundaries, and let acting grants follow the
    ended ones (what each single action does after its write)."""
    audit.record_many(None, entries)
    sync_grants([g.pk for g in [*ended, *made]])
    # follow_own_grant looks for orders in force for the grant's person; asking once for the
    # whole batch which persons have any spares a query per ended grant.
    absentees = set(
        Substitution.objects.filter(
            absentee_id__in={g.person_id for g in ended},
            state=Substitution.State.ORDERED,
            ends_at__gt=now,
        ).values_list("absentee_id", flat=True)
    )
    for grant in ended:
        if grant.person_id in absentees:
            substitution_engine.follow_own_grant(grant)
