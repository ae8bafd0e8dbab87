"""Permission checks shared by views, the API and the command line."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from tugi.core.roles import AppRole

User = AbstractBaseUser | AnonymousUser


def require(user: User | None, *perms: str) -> None:
    """Raise PermissionDenied unless the user holds every one of the permissions."""
    if user is None or not user.is_authenticated or not user.has_perms(perms):  # type: ignore[union-attr]
        raise PermissionDenied(_("You do not have permission to do this."))


def has_role(user: User | None, role: AppRole) -> bool:
    """Whether the user holds the app role (membership of the role's group)."""
    if user is None or not user.is_authenticated:
        return False
    return user.groups.filter(name=role.value).exists()  # type: ignore[union-attr]


def roles_of(user: User | None) -> set[str]:
    if user is None or not user.is_authenticated:
        return set()
    return set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
