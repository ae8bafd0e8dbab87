"""The app roles and what each may do.

Each role is a Django group whose permissions are set here, in code, and synced after every
migrate, so that what a role may do is reviewed like any other change.
"""

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _


class AppRole(StrEnum):
    """The roles a Tugi user can hold; a user may hold several."""

    REQUESTER = "requester"
    DESK_AGENT = "desk_agent"
    DOMAIN_SPECIALIST = "domain_specialist"
    HR_SPECIALIST = "hr_specialist"
    APPROVER = "approver"
    SYSTEM_OWNER = "system_owner"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"


ROLE_LABELS = {
    AppRole.REQUESTER: _("Requester"),
    AppRole.DESK_AGENT: _("Desk agent"),
    AppRole.DOMAIN_SPECIALIST: _("Domain specialist"),
    AppRole.HR_SPECIALIST: _("HR specialist"),
    AppRole.APPROVER: _("Approver"),
    AppRole.SYSTEM_OWNER: _("System owner"),
    AppRole.AUDITOR: _("Auditor"),
    AppRole.ADMINISTRATOR: _("Administrator"),
}

_READ_ORG = [
    "people.view_person",
    "people.view_orgunit",
    "people.view_position",
    "people.view_jobdescription",
]

_READ_ACCESS = [
    "access.view_targetsystem",
    "access.view_role",
    "access.view_entitlement",
    "access.view_account",
    "access.view_grant",
    "access.view_accessrequest",
    "access.view_sodrule",
    "access.view_finding",
    "access.view_substitution",
    "access.view_change",
]

# Least privilege: a requester holds no permission at all and sees only their own record.
ROLE_PERMISSIONS: dict[AppRole, list[str]] = {
    AppRole.REQUESTER: [],
    AppRole.DESK_AGENT: [
        *_READ_ORG,
        "people.add_person",
        "people.change_person",
        "people.view_personal_code",
        *_READ_ACCESS,
        "access.file_for_others",
        "access.fulfil_accessrequest",
        "access.add_account",
        "access.change_account",
        "access.add_grant",
        "access.change_grant",
        "access.evaluate_compliance",
        # The desk records substitution orders given by someone with authority, and confirms
        # the changes it made by hand in manual systems.
        "access.add_substitution",
        "access.change_substitution",
        "access.confirm_change",
        "people.view_absence",
        "people.add_absence",
        "people.change_absence",
        "desk.view_case",
        "desk.add_case",
        "desk.work_case",
        "desk.note_case",
    ],
    # Specialists see the cases escalated to their group (the views narrow it) and add notes.
    AppRole.DOMAIN_SPECIALIST: [
        "people.view_person",
        "people.view_orgunit",
        "desk.view_case",
        "desk.note_case",
    ],
    # Unit heads order substitutions for their own staff (the action checks whose manager).
    AppRole.APPROVER: [
        *_READ_ORG,
        *_READ_ACCESS,
        "access.approve_accessrequest",
        "access.add_substitution",
        "access.change_substitution",
        "people.view_absence",
    ],
    # HR keeps the personnel data, the vacation schedule and substitution orders for anyone.
    AppRole.HR_SPECIALIST: [
        *_READ_ORG,
        "people.add_person",
        "people.change_person",
        "people.view_absence",
        "people.add_absence",
        "people.change_absence",
        "people.view_dataimport",
        "people.import_hr_data",
        # Under the joiner policy "request", applying an import files the joiners' and movers'
        # access requests in the HR specialist's name.
        "access.file_for_others",
        "access.view_role",
        "access.view_targetsystem",
        "access.view_substitution",
        "access.add_substitution",
        "access.change_substitution",
        "access.order_any_substitution",
    ],
    AppRole.SYSTEM_OWNER: [*_READ_ORG, *_READ_ACCESS, "access.approve_accessrequest"],
    AppRole.AUDITOR: [
        *_READ_ORG,
        *_READ_ACCESS,
        "core.view_auditevent",
        "people.view_personal_code",
    ],
    # The administrator runs the organisation data and the users, but does not read the audit log:
    # that separation is what lets the auditor check the administrator.
    AppRole.ADMINISTRATOR: [
        *_READ_ORG,
        "people.add_person",
        "people.change_person",
        "people.add_orgunit",
        "people.change_orgunit",
        "people.add_position",
        "people.change_position",
        "people.add_jobdescription",
        "people.change_jobdescription",
        "people.view_personal_code",
        "core.manage_users",
        "core.manage_api_tokens",
        *_READ_ACCESS,
        "access.add_targetsystem",
        "access.change_targetsystem",
        "access.add_role",
        "access.change_role",
        "access.add_entitlement",
        "access.delete_entitlement",
        "access.add_sodrule",
        "access.change_sodrule",
        "access.evaluate_compliance",
        "desk.manage_desk",
    ],
}


def sync_role_groups(sender: Any = None, **kwargs: Any) -> None:
    """Create one group per app role and give it exactly the permissions listed above."""
    from django.contrib.auth.models import Group, Permission

    wanted = {p for perms in ROLE_PERMISSIONS.values() for p in perms}
    by_name = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
        if f"{p.content_type.app_label}.{p.codename}" in wanted
    }
    if len(by_name) < len(wanted):
        return  # the apps defining them are not migrated yet; a later post_migrate completes it
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        group.permissions.set([by_name[p] for p in perms])
