"""Actions on the access catalogue: target systems, their roles, and the roles job duties justify.

Segregation-of-duties rules are catalogue too, but live with the SoD checks in `sod`.

Each action checks permission, validates (ValidationError naming the field and the reason; then
nothing is saved), and writes the change with its audit event in one transaction.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tugi.access.models import Entitlement, Role, TargetSystem
from tugi.core import audit
from tugi.core.permissions import Actor, require
from tugi.core.validation import assign_fields, save_validated
from tugi.people.models import Duty, Person

SYSTEM_FIELDS = [
    "code",
    "name",
    "name_en",
    "kind",
    "description",
    "owner",
    "connector_kind",
    "contact_channel",
    "application_requirements",
    "active",
]
ROLE_FIELDS = [
    "system",
    "code",
    "name",
    "name_en",
    "module",
    "description",
    "sensitivity",
    "delegable",
    "requires_end_date",
    "max_duration_days",
    "suspend_during_absence",
    "active",
]


# --- target systems ----------------------------------------------------------------------------


def _check_system(system: TargetSystem) -> dict[str, str]:
    system.code = (system.code or "").strip()
    if system.owner is not None and system.owner.status == Person.Status.LEFT:
        return {
            "owner": _("%(person)s has left the agency and cannot own a system.")
            % {"person": system.owner}
        }
    return {}


def create_system(actor: Actor, **data: Any) -> TargetSystem:
    """Add a target system (an own information system or an external register) to the catalogue."""
    require(actor, "access.add_targetsystem")
    system = TargetSystem()
    assign_fields(system, data, SYSTEM_FIELDS)
    with transaction.atomic():
        save_validated(system, _check_system(system))
        audit.record(actor, "access.system.create", system, after=audit.snapshot(system))
    return system


def update_system(actor: Actor, system: TargetSystem, **data: Any) -> TargetSystem:
    """Change a target system's data, owner, connector or application requirements."""
    require(actor, "access.change_targetsystem")
    with transaction.atomic():
        system = TargetSystem.objects.select_for_update().get(pk=system.pk)
        before = audit.snapshot(system)
        assign_fields(system, data, SYSTEM_FIELDS)
        save_validated(system, _check_system(system))
        b, a = audit.diff(before, audit.snapshot(system))
        if b or a:
            audit.record(actor, "access.system.update", system, before=b, after=a)
    return system


# --- roles -------------------------------------------------------------------------------------


def _check_role(role: Role, *, old_system_id: int | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    role.code = (role.code or "").strip()
    if role.max_duration_days == 0:
        errors["max_duration_days"] = _(
            "The longest grant must be at least one day; leave it empty for no limit."
        )
    if (
        old_system_id is not None
        and role.system_id != old_system_id
        and (role.grants.exists() or role.entitlements.exists())
    ):
        errors["system"] = _(
            "The role is held or justified by job descriptions: it cannot move to another "
            "system. Create a new role there instead."
        )
    if role.system_id and role.code:
        clash = Role.objects.filter(system_id=role.system_id, code=role.code).exclude(pk=role.pk)
        if clash.exists():
            errors["code"] = _("%(system)s already has a role with the code “%(code)s”.") % {
                "system": role.system,
                "code": role.code,
            }
    return errors


def create_role(actor: Actor, **data: Any) -> Role:
    """Add a role to a target system, with its sensitivity and granting rules."""
    require(actor, "access.add_role")
    role = Role()
    assign_fields(role, data, ROLE_FIELDS)
    with transaction.atomic():
        save_validated(role, _check_role(role))
        audit.record(actor, "access.role.create", role, after=audit.snapshot(role))
    return role


def update_role(actor: Actor, role: Role, **data: Any) -> Role:
    """Change a role's description, sensitivity or rules; existing grants keep their periods."""
    require(actor, "access.change_role")
    with transaction.atomic():
        role = Role.objects.select_for_update().get(pk=role.pk)
        before = audit.snapshot(role)
        old_system_id = role.system_id
        assign_fields(role, data, ROLE_FIELDS)
        save_validated(role, _check_role(role, old_system_id=old_system_id))
        b, a = audit.diff(before, audit.snapshot(role))
        if b or a:
            audit.record(actor, "access.role.update", role, before=b, after=a)
    return role


# --- entitlements ------------------------------------------------------------------------------


def _entitlement_snapshot(entitlement: Entitlement) -> dict[str, Any]:
    duty = entitlement.duty
    return {
        "duty_id": duty.pk,
        "job_description_id": duty.job_description_id,
        "role_id": entitlement.role_id,
    }


def add_entitlement(actor: Actor, duty: Duty, role: Role) -> Entitlement:
    """Record that a job-description duty justifies a role."""
    require(actor, "access.add_entitlement")
    errors: dict[str, str] = {}
    if not role.active:
        errors["role"] = _("The role “%(role)s” is no longer in use.") % {"role": role.name}
    elif Entitlement.objects.filter(duty=duty, role=role).exists():
        errors["role"] = _("The duty already justifies “%(role)s”.") % {"role": role.name}
    if errors:
        raise ValidationError(errors)
    entitlement = Entitlement(duty=duty, role=role)
    with transaction.atomic():
        save_validated(entitlement)
        audit.record(
            actor,
            "access.entitlement.add",
            entitlement,
            after=_entitlement_snapshot(entitlement),
        )
    return entitlement


def remove_entitlement(actor: Actor, entitlement: Entitlement) -> None:
    """Stop a duty justifying a role; grants it justified become findings, not deletions."""
    require(actor, "access.delete_entitlement")
    with transaction.atomic():
        entitlement = (
            Entitlement.objects.select_for_update().select_related("duty").get(pk=entitlement.pk)
        )
        before = _entitlement_snapshot(entitlement)
        label, pk = str(entitlement), entitlement.pk
        entitlement.delete()
        audit.record(
            actor,
            "access.entitlement.remove",
            object_type=Entitlement._meta.label_lower,
            object_id=str(pk),
            object_repr=label,
            before=before,
        )
