"""Permission checks for API views: the same permission strings as the web pages."""

from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class ActionPermissions(BasePermission):
    """Each view action needs the permissions its view lists in `action_permissions`.

    An action the view does not list is refused, so a new endpoint is closed until someone decides
    who may use it. The actions themselves check again: this check exists so that a caller
    without the right learns it before their input is validated.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        if view.action is None:
            return True  # the view has no handler for this method: let DRF answer 405
        perms = getattr(view, "action_permissions", {}).get(view.action)
        if perms is None:
            return False
        return bool(request.user and request.user.has_perms(perms))


def own_unless(
    user: Any, perm: str, queryset: QuerySet[Any], *person_lookups: str
) -> QuerySet[Any]:
    """The whole queryset for holders of `perm`; otherwise only rows about the caller.

    Each lookup names a user id reachable from the row (`person__user_id`, `requested_by_id`); a
    row is the caller's own when any of them is the caller. Others' rows are not merely hidden
    from lists: retrieving one is a 404, so the API does not confirm that the id exists.
    """
    if user.has_perm(perm):
        return queryset
    own = Q()
    for lookup in person_lookups:
        own |= Q(**{lookup: user.pk})
    return queryset.filter(own)
