"""What every access page shares: permission checks, who the viewer is, partial rendering.

Views stay thin: they check permission, parse input with a form, call an action (for changes)
or a read in `tugi.access.page_queries` / `tugi.access.queries` and render. Permission is
enforced here for every page even though the actions check again, so a user is refused before
seeing a form they cannot submit; a requester, who holds no permission, sees only their own.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypedDict

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from tugi.people.models import Person

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


def person_of(request: HttpRequest) -> Person | None:
    """The signed-in user's person record, if the account is linked to one."""
    if not request.user.is_authenticated:
        return None
    return Person.objects.select_related("org_unit", "position").filter(user=request.user).first()


def is_own(request: HttpRequest, person: Person) -> bool:
    return person.user_id is not None and person.user_id == request.user.pk


def can_see_access_of(request: HttpRequest, person: Person) -> bool:
    """Staff who read grants see everyone's access; everybody sees their own."""
    return request.user.has_perm("access.view_grant") or is_own(request, person)


class BasisLinks(TypedDict):
    link_positions: bool
    link_access: bool


def basis_links(request: HttpRequest) -> BasisLinks:
    """Which pages a grant's basis may link to for this viewer (`page_queries.with_basis_cells`):
    the position of the duty, the access page of the person substituted."""
    return BasisLinks(
        link_positions=request.user.has_perm("people.view_position"),
        link_access=request.user.has_perm("access.view_grant"),
    )


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


def safe_next(request: HttpRequest, default: str) -> str:
    """Where to go after a POST: the form's `next` if it is a local address, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
