"""A person's access: accounts, grants now and as a timeline, gaps, findings, and "why?"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tugi.access import page_queries
from tugi.access.actions import grants as grant_actions
from tugi.access.forms import HoldersAtForm, UsernameForm
from tugi.access.models import AccessRequest, Account, Grant, Role
from tugi.access.queries import entitlements_of
from tugi.access.queries import explain as explain_basis
from tugi.access.views._common import (
    basis_links,
    can_see_access_of,
    is_own,
    permission,
    person_of,
)
from tugi.people import view_log
from tugi.people.models import Person


def _person_or_403(request: HttpRequest, pk: int) -> Person:
    """The person, if the viewer may see their access; a requester cannot probe which ids exist."""
    person = Person.objects.select_related("org_unit", "position").filter(pk=pk).first()
    if person is None:
        if not request.user.has_perm("access.view_grant"):
            raise PermissionDenied
        raise Http404
    if not can_see_access_of(request, person):
        raise PermissionDenied
    return person


def _page(request: HttpRequest, person: Person, *, is_me: bool, ctx: str = "") -> HttpResponse:
    own = is_own(request, person)
    context = {
        "person": person,
        # Carried on to the person record, so the purpose follows the viewer there.
        "ctx": ctx,
        "data": page_queries.person_access(person, **basis_links(request)),
        "is_me": is_me or own,
        # Four eyes: nobody changes their own access, so their own page offers no buttons.
        "can_change": request.user.has_perm("access.change_grant") and not own,
        "can_grant": request.user.has_perms(["access.add_grant", "access.add_account"]) and not own,
    }
    return render(request, "access/person_access.html", context)


@login_required
def my_access(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own access page."""
    person = person_of(request)
    if person is None:
        return render(request, "access/me_missing.html")
    return _page(request, person, is_me=True)


@login_required
def person_access(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's access page (staff with access.view_grant, or the person themselves).

    Anyone's but one's own is a logged read (`access.person.view`) with a purpose: the context
    of the link (`?ctx=request-45`), else the viewer's role duty; at most one event per viewer,
    person and purpose in ten minutes (see `tugi.people.view_log`).
    """
    person = _person_or_403(request, pk)
    ctx = view_log.valid_ctx(request.GET.get("ctx"))
    view_log.log_view(request.user, person, view_log.VIEW_PERSON_ACCESS, ctx=ctx)
    return _page(request, person, is_me=False, ctx=ctx)


@login_required
def explain(request: HttpRequest, pk: int, role_pk: int) -> HttpResponse:
    """Why does the person hold the role: each grant in force and its basis chain.

    A read of the person's access like their access page, logged the same way.
    """
    person = _person_or_403(request, pk)
    role = get_object_or_404(Role.objects.select_related("system"), pk=role_pk)
    view_log.log_view(
        request.user,
        person,
        view_log.VIEW_PERSON_ACCESS,
        ctx=view_log.valid_ctx(request.GET.get("ctx")),
    )
    form = HoldersAtForm(request.GET or None)
    at = form.moment()
    chains = explain_basis(person, role, at)
    for chain in chains:
        chain.grant.role = role  # the same row: spare a query per chain
    # The requests behind request-based grants, with their filers, in one query.
    filed = AccessRequest.objects.select_related("requested_by").in_bulk(
        {c.grant.basis_item.request_id for c in chains if c.grant.basis_item is not None}
    )
    rows = [
        (c, filed.get(c.grant.basis_item.request_id) if c.grant.basis_item else None)
        for c in chains
    ]
    history = page_queries.person_grants_of_role(person, role)
    page_queries.with_basis_cells(history, **basis_links(request))
    context = {
        "person": person,
        "role": role,
        "form": form,
        "at": at,
        "is_now": not (form.is_valid() and form.cleaned_data.get("at")),
        "chains": rows,
        "history": history,
        "is_me": is_own(request, person),
    }
    return render(request, "access/explain.html", context)


@permission("access.add_grant", "access.add_account")
@require_POST
def grant_entitled(request: HttpRequest, pk: int, role_pk: int) -> HttpResponse:
    """The desk grants a role the person's job description justifies (closing a gap)."""
    person = get_object_or_404(Person, pk=pk)
    role = get_object_or_404(Role.objects.select_related("system"), pk=role_pk)
    back = reverse("access:person_access", args=[person.pk]) + "#gaps"
    duty = entitlements_of(person).get(role.pk)
    if duty is None:
        messages.error(
            request,
            _("The job description of %(person)s does not justify “%(role)s”.")
            % {"person": person, "role": role.name},
        )
        return redirect(back)
    form = UsernameForm(request.POST)
    form.is_valid()
    username = form.cleaned_data.get("username", "") if hasattr(form, "cleaned_data") else ""
    try:
        # Opening the account and granting the role succeed or fail together.
        with transaction.atomic():
            account = (
                Account.objects.filter(person=person, system=role.system)
                .exclude(state=Account.State.CLOSED)
                .first()
            ) or grant_actions.open_account(request.user, person, role.system, username=username)
            grant_actions.grant_role(
                request.user,
                account,
                role,
                basis=Grant.Basis.JOB_DESCRIPTION,
                basis_duty=duty,
            )
    except ValidationError as exc:
        messages.error(
            request,
            _("“%(role)s” was not granted: %(reason)s")
            % {"role": role.name, "reason": " ".join(exc.messages)},
        )
    else:
        messages.success(
            request,
            _("“%(role)s” was granted to %(person)s on the basis of the job description.")
            % {"role": role.name, "person": person},
        )
    return redirect(back)
