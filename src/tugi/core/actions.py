"""Actions on Tugi's own users: creating them, linking them to persons, giving them app roles."""

from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tugi.core import audit
from tugi.core.permissions import Actor, require
from tugi.core.roles import AppRole


def _role_values(roles: Iterable[str]) -> list[str]:
    valid = {r.value for r in AppRole}
    chosen = sorted(set(roles))
    unknown = [r for r in chosen if r not in valid]
    if unknown:
        raise ValidationError(
            {"roles": _("Unknown app role: %(role)s") % {"role": ", ".join(unknown)}}
        )
    return chosen


def create_user(
    actor: Actor, *, username: str, password: str | None, roles: Iterable[str] = (), email: str = ""
) -> User:
    """Create a Tugi user with app roles (no password: sign-in disabled until one is set)."""
    require(actor, "core.manage_users")
    chosen = _role_values(roles)
    username = username.strip()
    if not username:
        raise ValidationError({"username": _("A username is required.")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(
            {"username": _("The username “%(name)s” is taken.") % {"name": username}}
        )
    with transaction.atomic():
        user = User(username=username, email=email)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        user.groups.set(Group.objects.filter(name__in=chosen))
        audit.record(actor, "core.user.create", user, after={"username": username, "roles": chosen})
    return user


def set_user_roles(actor: Actor, user: User, roles: Iterable[str]) -> User:
    """Replace a user's app roles; nobody changes their own (four eyes)."""
    require(actor, "core.manage_users")
    if actor is not None and actor.pk == user.pk:
        raise ValidationError({"roles": _("You cannot change your own app roles.")})
    chosen = _role_values(roles)
    with transaction.atomic():
        before = sorted(user.groups.values_list("name", flat=True))
        user.groups.set(Group.objects.filter(name__in=chosen))
        if before != chosen:
            audit.record(
                actor,
                "core.user.set_roles",
                user,
                before={"roles": before},
                after={"roles": chosen},
            )
    return user


def set_user_active(actor: Actor, user: User, active: bool) -> User:
    """Allow or block a user's sign-in (users are never deleted: the audit log names them)."""
    require(actor, "core.manage_users")
    if actor is not None and actor.pk == user.pk:
        raise ValidationError({"is_active": _("You cannot block your own sign-in.")})
    with transaction.atomic():
        if user.is_active != active:
            before = user.is_active
            user.is_active = active
            user.save(update_fields=["is_active"])
            audit.record(
                actor,
                "core.user.set_active",
                user,
                before={"is_active": before},
                after={"is_active": active},
            )
    return user
