"""The rules every grant and every request item must satisfy, shared by requests and grants."""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.access.models import Role, TargetSystem
from tugi.people.models import Person


def check_person_can_hold_access(person: Person, at: datetime.datetime | None = None) -> None:
    """A person who has left (or whose employment has ended by then) gets no new access."""
    day = timezone.localdate(at) if at else timezone.localdate()
    if person.status == Person.Status.LEFT or (
        person.employment_end is not None and person.employment_end < day
    ):
        raise ValidationError(
            {
                "person": _("%(person)s has left the agency: no access can be granted.")
                % {"person": person}
            }
        )


def check_role_period(
    role: Role,
    system: TargetSystem | None,
    valid_from: datetime.datetime | None,
    valid_to: datetime.datetime | None,
) -> None:
    """The role belongs to the system, and the period meets the role's end-date rules."""
    errors: dict[str, str] = {}
    if system is not None and role.system_id != system.pk:
        errors["role"] = _("The role “%(role)s” belongs to %(other)s, not to %(system)s.") % {
            "role": role.name,
            "other": role.system.name,
            "system": system.name,
        }
    if not role.active:
        errors["role"] = _("The role “%(role)s” is no longer in use.") % {"role": role.name}
    if valid_from and valid_to and valid_to <= valid_from:
        errors["valid_to"] = _("The end must be after the start.")
    elif role.requires_end_date and valid_to is None:
        errors["valid_to"] = _("The role “%(role)s” is granted only with an end date.") % {
            "role": role.name
        }
    elif role.max_duration_days and valid_to is not None:
        start = valid_from or timezone.now()
        if valid_to - start > datetime.timedelta(days=role.max_duration_days):
            errors["valid_to"] = _(
                "The role “%(role)s” may be granted for at most %(days)d days at a time."
            ) % {"role": role.name, "days": role.max_duration_days}
    if errors:
        raise ValidationError(errors)
