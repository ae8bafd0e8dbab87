"""Permission checks shared by views, the API and the command line."""

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from tugi.core.backends import role_names
from tugi.core.roles import AppRole

# Who performs an action: a signed-in user, or None for the system itself (the worker, an
# operator command on the server), which holds no permission and passes no `require`.
Actor = User | AnonymousUser | None


def require(user: Actor, *perms: str) -> None:
    """Raise PermissionDenied unless the user holds every one of the permissions."""
    if user is None or not user.is_authenticated or not user.has_perms(perms):
        raise PermissionDenied(_("You do not have permission to do this."))


def has_role(user: Actor, role: AppRole) -> bool:
    """Whether the user holds the app role (membership of the role's group)."""
    if user is None or not user.is_authenticated:
        return False
    return role.value in role_names(user)


def roles_of(user: Actor) -> set[str]:
    if user is None or not user.is_authenticated:
        return set()
    return set(role_names(user))
