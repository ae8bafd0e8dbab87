"""What every desk page shares: permission checks, which side of the desk the viewer is on,
partial rendering for htmx, and how times are put in words.

Views stay thin: they check permission, parse input with a form, call an action (for changes) or
a read in `tugi.desk.queries` and render. Permission is checked here for every page even though
the actions check again, so nobody is shown a form they cannot send. A requester holds no desk
permission and reaches only the portal pages of their own cases.
"""

import datetime
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tugi.access.models import Role
from tugi.desk import actions
from tugi.desk.models import Case

View = Callable[..., HttpResponse]


def permission(*perms: str) -> Callable[[View], View]:
    """Anonymous users go to the login page; signed-in users without every permission get 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def is_partial(request: HttpRequest) -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def render_maybe_partial(
    request: HttpRequest, full: str, partial: str, context: dict[str, Any]
) -> HttpResponse:
    response = render(request, partial if is_partial(request) else full, context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def desk_side(user: Any, case: Case) -> bool:
    """Whether the user sees the case as the desk does (every message, notes included).

    The desk (`desk.work_case`) sees every case; a domain specialist the cases escalated to a
    group they belong to. Being the case's requester is not enough: requesters see only the
    public conversation, on the portal.
    """
    if not user.is_authenticated:
        return False
    if user.has_perm("desk.work_case"):
        return True
    return user.has_perm("desk.view_case") and actions.escalated_to(user, case)


def module_options_of(system_id: int | None) -> list[str]:
    """The modules the application's roles name: suggestions for a "part of" / module field."""
    if not system_id:
        return []
    return sorted(
        set(
            Role.objects.filter(system_id=system_id, active=True)
            .exclude(module="")
            .values_list("module", flat=True)
        )
    )


# --- times in words -----------------------------------------------------------------------------


def duration(seconds: int) -> str:
    """A span of time, short: "45 min", "3 h 20 min", "2 d 4 h"."""
    minutes = max(0, round(seconds / 60))
    if minutes < 60:
        return _("%(m)d min") % {"m": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        if minutes:
            return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
        return _("%(h)d h") % {"h": hours}
    days, hours = divmod(hours, 24)
    if hours:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    return _("%(d)d d") % {"d": days}


def relative(moment: datetime.datetime, now: datetime.datetime) -> str:
    """When `moment` is, from `now`: "in 3 h 20 min", "45 min ago"."""
    seconds = (moment - now).total_seconds()
    if abs(seconds) < 60:
        return _("now")
    if seconds > 0:
        return _("in %(span)s") % {"span": duration(int(seconds))}
    return _("%(span)s ago") % {"span": duration(int(-seconds))}


def working_time_left(seconds: int) -> str:
    """Working time to a target: "2 h 10 min of working time left" or "overdue by 1 h"."""
    if seconds >= 0:
        return _("%(span)s of working time left") % {"span": duration(seconds)}
    return _("overdue by %(span)s of working time") % {"span": duration(-seconds)}


def minutes_label(minutes: int) -> str:
    if minutes < 60:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return duration(minutes * 60)
