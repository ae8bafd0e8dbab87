"""Template context shared by every page: the navigation the signed-in user may use."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# (url name, label, permission needed or None for any signed-in user)
_NAV: list[tuple[str, Any, str | None]] = [
    ("home", _("Home"), None),
    ("people:person_list", _("People"), "people.view_person"),
    ("people:org_chart", _("Organisation"), "people.view_orgunit"),
    ("people:position_list", _("Positions"), "people.view_position"),
    ("core:audit_list", _("Audit log"), "core.view_auditevent"),
    ("core:user_list", _("Users"), "core.manage_users"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    path = request.path
    items = []
    for name, label, perm in _NAV:
        if perm is None or user.has_perm(perm):
            url = reverse(name)
            current = path == url if url == "/" else path.startswith(url)
            items.append({"url": url, "label": label, "current": current})
    return {"nav_items": items}
