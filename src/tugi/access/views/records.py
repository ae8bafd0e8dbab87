"""Single records the compliance fixes point at: a grant, an account.

Each shows one person's access, so opening it by anyone but that person is a logged read of the
person (`access.person.view`), like their access page: the purpose is the context of the link
(`?ctx=finding-7`), else the viewer's role duty; at most one event per viewer, person and purpose
in ten minutes (see `tugi.people.view_log`). A form sent back with errors shows the page again
and goes through the same check.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tugi.access import page_queries
from tugi.access.actions import grants as grant_actions
from tugi.access.forms import EndGrantForm, ReasonForm, SuspendGrantForm, add_action_errors
from tugi.access.models import Account, Finding, Grant
from tugi.access.views._common import basis_links, is_own, permission
from tugi.people import view_log
from tugi.people.models import Person


def _grant(request: HttpRequest, pk: int) -> Grant:
    grant = (
        Grant.objects.select_related(
            "person__org_unit", "account__system", *page_queries.GRANT_RELATED
        )
        .prefetch_related("suspensions")
        .filter(pk=pk)
        .first()
    )
    if grant is None or not (
        request.user.has_perm("access.view_grant") or is_own(request, grant.person)
    ):
        # A requester cannot probe which ids exist.
        raise PermissionDenied
    return grant


def _log_view(request: HttpRequest, person: Person) -> None:
    ctx = view_log.valid_ctx(request.GET.get("ctx"))
    view_log.log_view(request.user, person, view_log.VIEW_PERSON_ACCESS, ctx=ctx)


def _grant_page(request: HttpRequest, grant: Grant, **forms: Any) -> HttpResponse:
    _log_view(request, grant.person)
    now = timezone.now()
    state = page_queries.grant_state(grant, now)
    context = {
        "grant": grant,
        "person": grant.person,
        "state": state,
        "state_label": page_queries.state_label(state),
        "chain": page_queries.chain_for(grant, now),
        "suspensions": list(grant.suspensions.all()),
        "findings": page_queries.with_fix_hints(
            Finding.objects.filter(grant=grant, resolved_at__isnull=True).order_by("id")
        ),
        "can_change": request.user.has_perm("access.change_grant") and state != "ended",
        "end_form": forms.get("end_form") or EndGrantForm(prefix="end"),
        "suspend_form": forms.get("suspend_form") or SuspendGrantForm(prefix="suspend"),
        "resume_form": forms.get("resume_form") or ReasonForm(prefix="resume"),
        "is_me": is_own(request, grant.person),
    }
    return render(request, "access/grant_detail.html", context)


@login_required
def grant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A grant: period, state, basis chain, suspensions, findings; the desk ends or suspends."""
    return _grant_page(request, _grant(request, pk))


@permission("access.change_grant")
@require_POST
def grant_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End a grant now or later (end_grant); the action's refusal is shown on the form."""
    grant = _grant(request, pk)
    form = EndGrantForm(request.POST, prefix="end")
    if form.is_valid():
        try:
            grant_actions.end_grant(
                request.user, grant, reason=form.cleaned_data["reason"], at=form.cleaned_data["at"]
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The grant was ended."))
            return redirect("access:grant_detail", pk=grant.pk)
    return _grant_page(request, grant, end_form=form)


@permission("access.change_grant")
@require_POST
def grant_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    """Suspend a grant for a period or until resumed (suspend_grant)."""
    grant = _grant(request, pk)
    form = SuspendGrantForm(request.POST, prefix="suspend")
    if form.is_valid():
        try:
            grant_actions.suspend_grant(
                request.user,
                grant,
                reason=form.cleaned_data["reason"],
                starts_at=form.cleaned_data["starts_at"],
                ends_at=form.cleaned_data["ends_at"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The grant was suspended."))
            return redirect("access:grant_detail", pk=grant.pk)
    return _grant_page(request, grant, suspend_form=form)


@permission("access.change_grant")
@require_POST
def grant_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """End the grant's current suspension now (resume_grant)."""
    grant = _grant(request, pk)
    form = ReasonForm(request.POST, prefix="resume")
    if form.is_valid():
        try:
            grant_actions.resume_grant(request.user, grant, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The grant was resumed."))
            return redirect("access:grant_detail", pk=grant.pk)
    return _grant_page(request, grant, resume_form=form)


def _account(request: HttpRequest, pk: int) -> Account:
    account = Account.objects.select_related("person__org_unit", "system").filter(pk=pk).first()
    if account is None or not (
        request.user.has_perm("access.view_account") or is_own(request, account.person)
    ):
        raise PermissionDenied
    return account


def _account_page(
    request: HttpRequest, account: Account, close_form: ReasonForm | None = None
) -> HttpResponse:
    _log_view(request, account.person)
    now = timezone.now()
    grants = list(
        page_queries.grant_rows(account.grants.all()).order_by("-valid_from", "-id")[
            : page_queries.TIMELINE_LIMIT
        ]
    )
    page_queries.with_basis_cells(grants, **basis_links(request))
    rows = [(g, page_queries.state_label(page_queries.grant_state(g, now))) for g in grants]
    context = {
        "account": account,
        "person": account.person,
        "rows": rows,
        "findings": page_queries.with_fix_hints(
            Finding.objects.filter(account=account, resolved_at__isnull=True).order_by("id")
        ),
        "can_close": request.user.has_perm("access.change_account")
        and account.state != Account.State.CLOSED,
        "close_form": close_form or ReasonForm(prefix="close"),
    }
    return render(request, "access/account_detail.html", context)


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An account: its system, state, grants and findings; the desk can close it."""
    return _account_page(request, _account(request, pk))


@permission("access.change_account")
@require_POST
def account_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close an account; its grants end now (close_account)."""
    account = _account(request, pk)
    form = ReasonForm(request.POST, prefix="close")
    if form.is_valid():
        try:
            grant_actions.close_account(request.user, account, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The account was closed."))
            return redirect("access:account_detail", pk=account.pk)
    return _account_page(request, account, form)
