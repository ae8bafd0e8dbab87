"""Template context shared by every page: the navigation the signed-in user may use."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# (url name, label, permission needed or None for any signed-in user)
_NAV: list[tuple[str, Any, str | None]] = [
    ("home", _("Home"), None),
    ("desk:portal", _("Help"), None),
    ("desk:queue", _("Cases"), "desk.view_case"),
    ("people:person_list", _("People"), "people.view_person"),
    ("people:org_chart", _("Organisation"), "people.view_orgunit"),
    ("people:position_list", _("Positions"), "people.view_position"),
    ("people:absence_list", _("Absences"), "people.view_absence"),
    ("people:import_list", _("HR imports"), "people.view_dataimport"),
    ("access:my_access", _("My access"), None),
    ("access:my_requests", _("Requests"), None),
    ("access:approvals", _("Approvals"), "access.approve_accessrequest"),
    ("access:fulfilment", _("Fulfilment"), "access.fulfil_accessrequest"),
    ("access:substitution_list", _("Substitutions"), "access.view_substitution"),
    ("access:compliance", _("Compliance"), "access.view_finding"),
    ("access:changes", _("Changes"), "access.view_change"),
    ("access:system_list", _("Catalogue"), "access.view_targetsystem"),
    ("desk:settings", _("Desk settings"), "desk.manage_desk"),
    ("core:audit_list", _("Audit log"), "core.view_auditevent"),
    ("core:user_list", _("Users"), "core.manage_users"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        {"url": reverse(name), "label": label, "current": False}
        for name, label, perm in _NAV
        if perm is None or user.has_perm(perm)
    ]
    # The longest matching address is the current area: /people/org/ is Organisation, not People.
    path = request.path
    matching = [
        i for i in items if path == i["url"] or (i["url"] != "/" and path.startswith(i["url"]))
    ]
    if matching:
        max(matching, key=lambda i: len(i["url"]))["current"] = True
    return {"nav_items": items}
