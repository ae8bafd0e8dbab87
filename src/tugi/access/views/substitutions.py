"""Substitution pages: the list, an order with its grants, the order form, the proposals inbox,
and the confirm, cancel and change-period buttons.

Who sees what: `access.view_substitution` (the desk, approvers, HR, owners, auditors) sees every
order; anyone sees the orders in which they are the absent person or the substitute. Who may
change what is the actions' question (`tugi.access.actions.substitution`); the page shows a
button only to those the action would let through. The list narrowed to one person is a logged
read of that person's access (`access.person.view`, see `tugi.people.view_log`), and so is an
order's page, of the absent person and of the substitute (one event each, none for the viewer's
own person), with the purpose of the link (`?ctx=`) or the viewer's role duty.
"""

from __future__ import annotations

from collections.abc import Callable
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
from tugi.access import substitution_queries as queries
from tugi.access.actions import substitution as actions
from tugi.access.lifecycle import substitution as engine
from tugi.access.models import Role, Substitution
from tugi.access.substitution_forms import (
    AbsenteeForm,
    CancelForm,
    ConfirmForm,
    OrderForm,
    PeriodDaysForm,
    SubstitutionFilterForm,
    days_of,
)
from tugi.access.views._common import is_own, permission, person_of, render_maybe_partial
from tugi.people import view_log
from tugi.people.forms import add_action_errors
from tugi.people.models import Absence, Person

State = Substitution.State


def _may(check: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        check(*args, **kwargs)
    except PermissionDenied:
        return False
    return True


def _may_change(request: HttpRequest, order: Substitution, *, confirming: bool = False) -> bool:
    return _may(actions.check_may_change, request.user, order, recorder_may=not confirming)


def _may_record_for_others(request: HttpRequest) -> bool:
    user = request.user
    return user.has_perm(actions.ORDER_ANY) or user.has_perm(actions.RECORD_FOR_OTHERS)


# --- the list and the inbox --------------------------------------------------------------------


@permission("access.view_substitution")
def substitution_list(request: HttpRequest) -> HttpResponse:
    """Every substitution, filtered by when, state and person, one keyset page at a time."""
    form = SubstitutionFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else queries.SubstitutionFilters()
    if filters.person is not None:
        # The orders of one person show their access (see tugi.people.view_log).
        ctx = view_log.valid_ctx(request.GET.get("ctx"))
        view_log.log_view(request.user, filters.person, view_log.VIEW_PERSON_ACCESS, ctx=ctx)
    page = queries.page(filters, request.GET.get("cursor", ""))
    context = {
        "form": form,
        "page": page,
        "filtered": form.is_bound and bool(filters.person or filters.state),
        "now": timezone.now(),
        "proposals": queries.proposals_for(request.user, person_of(request))[:1].exists(),
    }
    return render_maybe_partial(
        request,
        "access/substitution_list.html",
        "access/_substitution_results.html",
        context,
    )


@login_required
def substitution_proposals(request: HttpRequest) -> HttpResponse:
    """Proposals awaiting the signed-in person's confirmation, soonest first."""
    me = person_of(request)
    qs = queries.proposals_for(request.user, me)
    page = queries.keyset(qs, request.GET.get("cursor", ""), ("starts_at", "id"))
    return render(
        request,
        "access/substitution_proposals.html",
        {"page": page, "me": me, "confirm_form": ConfirmForm(prefix="confirm")},
    )


# --- one order ---------------------------------------------------------------------------------


def _order(request: HttpRequest, pk: int) -> Substitution:
    order = queries.for_detail(pk)
    if order is None or not (
        request.user.has_perm("access.view_substitution")
        or is_own(request, order.absentee)
        or is_own(request, order.substitute)
    ):
        # Nobody without the right learns which ids exist.
        raise PermissionDenied
    return order


def _detail(request: HttpRequest, order: Substitution, **forms: Any) -> HttpResponse:
    ctx = view_log.valid_ctx(request.GET.get("ctx"))
    for person in (order.absentee, order.substitute):
        view_log.log_view(request.user, person, view_log.VIEW_PERSON_ACCESS, ctx=ctx)
    now = timezone.now()
    grants = queries.grants_of(order)
    first, last = days_of(order.starts_at, order.ends_at)
    states = [(g, page_queries.grant_state(g, now)) for g in grants]
    rows = [(g, state, page_queries.state_label(state)) for g, state in states]
    active = order.state != State.CANCELLED
    context = {
        "order": order,
        "grant_rows": rows,
        "exclusive_suspensions": queries.exclusive_suspensions(order),
        "can_confirm": order.state == State.PROPOSED
        and _may_change(request, order, confirming=True),
        "can_change": active and order.ends_at > now and _may_change(request, order),
        "confirm_form": forms.get("confirm_form")
        or ConfirmForm(prefix="confirm", initial={"exclusive": order.exclusive}),
        "cancel_form": forms.get("cancel_form") or CancelForm(prefix="cancel"),
        "period_form": forms.get("period_form")
        or PeriodDaysForm(prefix="period", initial={"first_day": first, "last_day": last}),
        "now": now,
    }
    return render(request, "access/substitution_detail.html", context)


@login_required
def substitution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An order (or a proposal): who, when, which roles, on what order, and the grants made."""
    return _detail(request, _order(request, pk))


def _order_button(
    request: HttpRequest,
    pk: int,
    form_class: type[Any],
    name: str,
    act: Callable[[Substitution, Any], object],
    done: str,
) -> HttpResponse:
    """A button on the order's page: its form (prefix `name`), the action, then the page again,
    with the success message, the action's refusal, or the form's errors."""
    order = _order(request, pk)
    form = form_class(request.POST, prefix=name)
    if form.is_valid():
        try:
            act(order, form)
        except PermissionDenied as exc:
            return _refused(request, order, exc)
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("access:substitution_detail", pk=order.pk)
    return _detail(request, order, **{f"{name}_form": form})


@permission("access.change_substitution")
@require_POST
def substitution_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn a proposal into an order."""

    def confirm(order: Substitution, form: ConfirmForm) -> object:
        data = form.cleaned_data
        return actions.confirm_proposal(
            request.user, order, directive=data["directive"], exclusive=data["exclusive"]
        )

    done = _("The substitution is ordered; the rights are granted.")
    return _order_button(request, pk, ConfirmForm, "confirm", confirm, done)


@permission("access.change_substitution")
@require_POST
def substitution_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel an order or a proposal."""

    def cancel(order: Substitution, form: CancelForm) -> object:
        reason = form.cleaned_data["reason"]
        return actions.cancel_substitution(request.user, order, reason=reason)

    done = _("The substitution is cancelled.")
    return _order_button(request, pk, CancelForm, "cancel", cancel, done)


@permission("access.change_substitution")
@require_POST
def substitution_period(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an order's period; its grants follow at once."""

    def move(order: Substitution, form: PeriodDaysForm) -> object:
        starts_at, ends_at = form.period()
        return actions.change_substitution_period(
            request.user, order, starts_at=starts_at, ends_at=ends_at
        )

    done = _("The period is changed; the rights follow it.")
    return _order_button(request, pk, PeriodDaysForm, "period", move, done)


def _refused(request: HttpRequest, order: Substitution, exc: PermissionDenied) -> HttpResponse:
    """The action said no to who is asking: say why on the order's page."""
    messages.error(request, str(exc) or _("You do not have permission to do this."))
    return redirect("access:substitution_detail", pk=order.pk)


def _form_error(form: Any, exc: ValidationError | PermissionDenied) -> None:
    if isinstance(exc, PermissionDenied):
        form.add_error(None, str(exc) or _("You do not have permission to do this."))
        return
    names = {"starts_at": "first_day", "ends_at": "last_day"}
    if hasattr(exc, "error_dict"):
        exc = ValidationError(
            {names.get(field, field): errors for field, errors in exc.error_dict.items()}
        )
    add_action_errors(form, exc)


# --- the order form ----------------------------------------------------------------------------


@permission("access.add_substitution")
def substitution_create(request: HttpRequest) -> HttpResponse:
    """Order a substitution: first whose, then who substitutes, when, in which roles.

    `?absentee=<e-mail>` chooses the absent person (their delegable roles are offered, the
    pension-insurance ones ticked); `&absence=<id>` fills in the period from that absence.
    """
    now = timezone.now()
    chooser = AbsenteeForm(request.GET or None)
    absentee: Person | None = None
    if chooser.is_bound and chooser.is_valid():
        absentee = chooser.cleaned_data["absentee"]
    if absentee is None:
        return render(request, "access/substitution_form.html", {"chooser": chooser})

    roles: list[Role] = queries.delegable_roles_of(absentee, now)
    absences = queries.absences_to_cover(absentee, timezone.localdate(now))
    chosen: Absence | None = None
    if request.GET.get("absence", "").isdigit():
        chosen = next((a for a in absences if a.pk == int(request.GET["absence"])), None)
    initial: dict[str, Any] = {
        "roles": [r.pk for r in roles if r.sensitivity == Role.Sensitivity.PENSION_INSURANCE],
    }
    if chosen is not None:
        initial.update(absence=chosen.pk, first_day=chosen.starts_on, last_day=chosen.ends_on)
    form = OrderForm(
        request.POST or None,
        initial=initial,
        roles=roles,
        absences=absences,
        may_record_for_others=_may_record_for_others(request),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        starts_at, ends_at = form.period()
        try:
            order = actions.order_substitution(
                request.user,
                absentee=absentee,
                substitute=data["substitute"],
                roles=list(data["roles"]),
                starts_at=starts_at,
                ends_at=ends_at,
                ordered_by=data.get("ordered_by") or person_of(request),
                exclusive=data["exclusive"],
                absence=data["absence"],
                directive=data["directive"],
                note=data["note"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                _("The substitution is ordered: %(substitute)s acts for %(absentee)s.")
                % {"substitute": order.substitute, "absentee": order.absentee},
            )
            return redirect("access:substitution_detail", pk=order.pk)
    context = {
        "chooser": chooser,
        "absentee": absentee,
        "form": form,
        "absences": absences,
        "chosen": chosen,
        "authority": engine.has_authority(person_of(request), absentee),
    }
    return render(request, "access/substitution_form.html", context)
