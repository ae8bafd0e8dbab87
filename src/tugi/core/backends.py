"""The authentication backend: Django's, with permissions answered from the role table.

A Tugi user's permissions are those of their app roles (`core.roles.ROLE_PERMISSIONS`, synced to
the role groups after every migrate); nothing grants a permission to a user directly. So one
query for the names of the user's groups answers every permission check of a request, where
Django's ModelBackend runs two joins over permissions and content types. A group that is not an
app role (made by hand in a shell) still gives its permissions from the database.
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from tugi.core.roles import ROLE_PERMISSIONS

_BY_ROLE = {role.value: frozenset(perms) for role, perms in ROLE_PERMISSIONS.items()}


def role_names(user: Any) -> frozenset[str]:
    """The names of the user's groups, read once per user object (a request's user)."""
    cached = getattr(user, "_tugi_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._tugi_role_names = cached
    return cached


class RoleBackend(ModelBackend):
    """Signs in like ModelBackend; a user's permissions are the union of their roles'."""

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        # Tugi never grants a permission to a single user: only roles carry them.
        if user_obj.is_superuser:
            return super().get_user_permissions(user_obj, obj)
        return set()

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_group_permissions(user_obj, obj)
        names = role_names(user_obj)
        perms: set[str] = set()
        for name in names & _BY_ROLE.keys():
            perms |= _BY_ROLE[name]
        if other := names - _BY_ROLE.keys():
            rows = Permission.objects.filter(group__name__in=other).values_list(
                "content_type__app_label", "codename"
            )
            perms |= {f"{app}.{codename}" for app, codename in rows}
        return perms

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = self.get_group_permissions(user_obj)
        return user_obj._perm_cache
