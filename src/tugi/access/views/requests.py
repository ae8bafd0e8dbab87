"""Access requests: the form, the request page with its decisions, the inbox, the queue.

A request shows its person's access (the person it is for), and the form filed for someone shows
their current and justified roles: opening either by anyone but that person is a logged read of
the person (`access.person.view`, see `tugi.people.view_log`). The purpose is the context of the
link (`?ctx=request-45` from the approver's inbox and the fulfilment queue), else the viewer's
role duty. A form sent back with errors shows the page again and goes through the same check.
"""

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tugi.access import page_queries
from tugi.access.actions import requests as request_actions
from tugi.access.actions import sod
from tugi.access.forms import (
    CancelRequestForm,
    DecisionForm,
    PersonChoiceForm,
    RequestForm,
    RequestItems,
    RequestListForm,
    UsernameForm,
    add_action_errors,
    grant_label,
    raw_rows,
    role_choice_groups,
)
from tugi.access.models import AccessRequest, AccessRequestItem, Approval
from tugi.access.views._common import (
    is_own,
    permission,
    person_of,
    render_maybe_partial,
    safe_next,
)
from tugi.people import view_log
from tugi.people.models import Person

Kind = AccessRequestItem.Kind


def _log_view(request: HttpRequest, person: Person) -> None:
    """A read of the person's access, unless it is the viewer's own (see the module's doc)."""
    ctx = view_log.valid_ctx(request.GET.get("ctx"))
    view_log.log_view(request.user, person, view_log.VIEW_PERSON_ACCESS, ctx=ctx)


# --- the request form ---------------------------------------------------------------------------


def _item_form_kwargs(person: Person, own: bool, now: datetime.datetime) -> dict[str, Any]:
    """The choices every item row shares: read once per page, not once per row."""
    choices = page_queries.role_choices(person, now)
    grants = page_queries.open_grants(person, now)
    return {
        "roles": {str(c.role.pk): c.role for c in choices},
        "role_groups": role_choice_groups(choices, own=own),
        "grants": {str(g.pk): g for g in grants},
        "grant_choices": [
            ("", _("Choose a grant")),
            *((str(g.pk), grant_label(g)) for g in grants),
        ],
        "role_marks": choices,
    }


def _row_count(data: Any) -> int:
    try:
        count = int(data.get("item_count", 1))
    except (TypeError, ValueError):
        count = 1
    return max(1, min(count, RequestItems.MAX_ROWS))


def _flag_conflicts(
    person: Person, items: RequestItems, data: list[request_actions.ItemData]
) -> bool:
    """Warn on the rows whose role would create an SoD conflict no exception covers.

    Reads only (`sod.conflicts_for`); the action stores the same conflicts when the request is
    filed. An exception asked for on any row covers every conflict of that rule, as at approval.
    """
    now = timezone.now()
    rows, wanted = [], []
    for position, item in zip(items.positions, data, strict=True):
        role = item.get("role")
        if item["kind"] == Kind.GRANT_ROLE and role is not None:
            rows.append(position)
            wanted.append(sod.Wanted(role, item.get("valid_from") or now, item.get("valid_to")))
    if not wanted:
        return False
    conflicts = sod.conflicts_for(person, wanted, now)
    asking = {
        p for p, item in zip(items.positions, data, strict=True) if item.get("sod_exception_until")
    }
    asked_rules = {c.rule.pk for c in conflicts if rows[c.index] in asking}
    flagged = False
    for c in conflicts:
        if c.exception is not None or c.rule.pk in asked_rules:
            continue
        form = items.forms[rows[c.index]]
        form.warnings.append(
            _(
                "“%(role)s” conflicts with “%(other)s” (rule “%(rule)s”): approvers cannot "
                "approve it unless an exception is asked for."
            )
            % {"role": c.role.name, "other": c.other_role.name, "rule": c.rule.name}
        )
        form.show_exception = True
        flagged = True
    return flagged


def _initial_rows_of(access_request: AccessRequest) -> list[dict[str, Any]]:
    """A returned request's items as form rows, to change and resubmit."""
    rows = []
    for item in access_request.items.all():
        until = item.valid_to
        exception = [c["exception_until"] for c in item.sod_conflicts if c.get("exception_until")]
        rows.append(
            {
                "kind": item.kind,
                "role": str(item.role_id or ""),
                "system": item.system_id
                if item.kind in (Kind.CREATE_ACCOUNT, Kind.CLOSE_ACCOUNT)
                else None,
                "grant": str(item.grant_id or ""),
                "valid_from": timezone.localdate(item.valid_from) if item.valid_from else None,
                # The stored end is exclusive; the form asks for the last day.
                "valid_to": timezone.localdate(until - datetime.timedelta(microseconds=1))
                if until
                else None,
                "sod_exception_until": timezone.localdate(
                    datetime.datetime.fromisoformat(max(exception))
                    - datetime.timedelta(microseconds=1)
                )
                if exception
                else None,
            }
        )
    return rows


def _request_form_page(
    request: HttpRequest, person: Person, access_request: AccessRequest | None = None
) -> HttpResponse:
    """The request form for `person`: filing anew, or changing a returned request."""
    now = timezone.now()
    own = is_own(request, person)
    if not own:
        _log_view(request, person)  # it shows their current and justified roles
    kwargs = _item_form_kwargs(person, own, now)
    role_marks = kwargs.pop("role_marks")
    focus_row: int | None = None
    conflicts_flagged = False

    if request.method == "POST":
        count = _row_count(request.POST)
        if "add_item" in request.POST or "remove_item" in request.POST:
            # Rearranging rows: show what was typed again, without judging it yet.
            rows = raw_rows(request.POST, count)
            if "remove_item" in request.POST:
                gone = request.POST["remove_item"]
                if gone.isdigit() and int(gone) < len(rows):
                    rows.pop(int(gone))
                focus_row = max(0, min(len(rows) - 1, int(gone) if gone.isdigit() else 0))
            elif len(rows) < RequestItems.MAX_ROWS:
                rows.append({"kind": Kind.GRANT_ROLE})
                focus_row = len(rows) - 1
            form = RequestForm(initial={"justification": request.POST.get("justification", "")})
            items = RequestItems(None, count=max(1, len(rows)), initial=rows, **kwargs)
        else:
            form = RequestForm(request.POST)
            items = RequestItems(request.POST, count=count, **kwargs)
            if form.is_valid() and items.is_valid():
                data = items.items()
                conflicts_flagged = not request.POST.get("conflicts_checked") and _flag_conflicts(
                    person, items, data
                )
                if not conflicts_flagged:
                    justification = form.cleaned_data["justification"]
                    try:
                        if access_request is None:
                            filed = request_actions.file_request(
                                request.user, person, data, justification
                            )
                        else:
                            filed = request_actions.resubmit(
                                request.user,
                                access_request,
                                items=data,
                                justification=justification,
                            )
                    except ValidationError as exc:
                        for key, errors in items.add_action_errors(exc).items():
                            target = key if key in form.fields else None
                            form.add_error(None if key == NON_FIELD_ERRORS else target, errors)
                    else:
                        messages.success(
                            request,
                            _("Request %(id)s was filed; it now awaits approval.")
                            % {"id": filed.pk}
                            if access_request is None
                            else _("Request %(id)s was resubmitted; it now awaits approval.")
                            % {"id": filed.pk},
                        )
                        return redirect("access:request_detail", pk=filed.pk)
    else:
        if access_request is not None:
            rows = _initial_rows_of(access_request)
            form = RequestForm(initial={"justification": access_request.justification})
        else:
            role = request.GET.get("role", "")
            rows = [{"kind": Kind.GRANT_ROLE, "role": role}] if role in kwargs["roles"] else []
            form = RequestForm()
        items = RequestItems(None, count=max(1, len(rows)), initial=rows, **kwargs)

    context = {
        "person": person,
        "own": own,
        "form": form,
        "items": items,
        "item_errors": items.has_errors,
        "focus_row": focus_row,
        "conflicts_flagged": conflicts_flagged,
        "access_request": access_request,
        "justified": [m for m in role_marks if m.justified and not m.held],
        "held": [m for m in role_marks if m.held],
        "kinds": AccessRequestItem.Kind,
    }
    return render(request, "access/request_form.html", context)


@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    """Ask for access: for oneself, or (the desk) for the person given as ?person=<id>."""
    me = person_of(request)
    for_others = request.user.has_perm("access.file_for_others")
    wanted = request.GET.get("person", "")
    if wanted:
        if not wanted.isdigit():
            raise Http404
        if me is not None and int(wanted) == me.pk:
            person = me
        elif not for_others:
            raise PermissionDenied
        else:
            person = get_object_or_404(
                Person.objects.select_related("org_unit", "position"), pk=wanted
            )
        return _request_form_page(request, person)
    if for_others:
        # The desk first says whose access is to change.
        chooser = PersonChoiceForm(request.GET if "email" in request.GET else None)
        if chooser.is_bound and chooser.is_valid():
            target = chooser.cleaned_data["email"]
            query = f"?person={target.pk}"
            if request.GET.get("role"):
                query += f"&role={request.GET['role']}"
            return redirect(reverse("access:request_create") + query)
        return render(request, "access/request_person.html", {"chooser": chooser, "me": me})
    if me is None:
        return render(request, "access/me_missing.html")
    return _request_form_page(request, me)


def _request_or_403(request: HttpRequest, pk: int) -> AccessRequest:
    access_request = page_queries.request_for_detail(pk)
    staff = request.user.has_perm("access.view_accessrequest")
    if access_request is None:
        if not staff:
            raise PermissionDenied  # a requester cannot probe which ids exist
        raise Http404
    if not (
        staff
        or access_request.requested_by_id == request.user.pk
        or is_own(request, access_request.person)
        or any(a.approver.user_id == request.user.pk for a in access_request.approvals.all())
    ):
        raise PermissionDenied
    return access_request


@login_required
def request_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    """The filer changes a request returned for changes and sends it again."""
    access_request = _request_or_403(request, pk)
    if access_request.requested_by_id != request.user.pk:
        raise PermissionDenied
    if access_request.state != AccessRequest.State.RETURNED:
        messages.error(request, _("Only a request returned for changes can be resubmitted."))
        return redirect("access:request_detail", pk=pk)
    return _request_form_page(request, access_request.person, access_request)


# --- the request page and its decisions -----------------------------------------------------------


def _detail_page(
    request: HttpRequest,
    access_request: AccessRequest,
    *,
    decision_form: DecisionForm | None = None,
    cancel_form: CancelRequestForm | None = None,
) -> HttpResponse:
    _log_view(request, access_request.person)
    user = request.user
    items = list(access_request.items.all())
    blocking = page_queries.annotate_conflicts(items)
    current = page_queries.current_step(access_request)
    can_fulfil = (
        user.has_perm("access.fulfil_accessrequest")
        and access_request.state == AccessRequest.State.APPROVED
    )
    open_pairs = page_queries.open_account_pairs(items) if can_fulfil else set()
    for item in items:
        item.needs_username = (  # type: ignore[attr-defined]
            item.kind in (Kind.CREATE_ACCOUNT, Kind.GRANT_ROLE)
            and (access_request.person_id, item.system_id) not in open_pairs
        )
    filer = access_request.requested_by_id == user.pk
    context = {
        "req": access_request,
        "person": access_request.person,
        "items": items,
        "approvals": list(access_request.approvals.all()),
        "current": current,
        "blocking": blocking,
        "can_decide": current is not None
        and current.approver.user_id == user.pk
        and user.has_perm("access.approve_accessrequest"),
        "can_cancel": filer and access_request.state in request_actions.OPEN_STATES,
        "can_resubmit": filer and access_request.state == AccessRequest.State.RETURNED,
        "can_fulfil": can_fulfil,
        "decision_form": decision_form or DecisionForm(),
        "cancel_form": cancel_form or CancelRequestForm(prefix="cancel"),
        "history": page_queries.request_history(access_request),
        "can_see_person": user.has_perm("access.view_grant")
        or is_own(request, access_request.person),
    }
    return render(request, "access/request_detail.html", context)


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A request: state, items, the approval chain with its current step, history, actions."""
    return _detail_page(request, _request_or_403(request, pk))


@permission("access.approve_accessrequest")
@require_POST
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve, return or reject the current step (the button pressed says which)."""
    access_request = _request_or_403(request, pk)
    form = DecisionForm(request.POST)
    current = page_queries.current_step(access_request)
    if form.is_valid():
        if current is None:
            form.add_error(None, _("The request is not awaiting approval."))
        else:
            decision, comment = form.cleaned_data["decision"], form.cleaned_data["comment"]
            try:
                if decision == "approve":
                    request_actions.approve(request.user, current, comment)
                    done = _("You approved request %(id)s.")
                elif decision == "return":
                    request_actions.return_for_changes(request.user, current, comment)
                    done = _("You returned request %(id)s to its filer for changes.")
                else:
                    request_actions.reject(request.user, current, comment)
                    done = _("You rejected request %(id)s.")
            except ValidationError as exc:
                _decision_errors(form, exc)
            else:
                messages.success(request, done % {"id": access_request.pk})
                return redirect(safe_next(request, reverse("access:request_detail", args=[pk])))
    return _detail_page(
        request, page_queries.request_for_detail(pk) or access_request, decision_form=form
    )


def _decision_errors(form: DecisionForm, exc: ValidationError) -> None:
    """The actions call the comment `reason` (reject) or `comment` (return); the rest: on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, errors in exc.message_dict.items():
        form.add_error("comment" if key in ("reason", "comment") else None, errors)


@login_required
@require_POST
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """The filer withdraws a request not yet decided."""
    access_request = _request_or_403(request, pk)
    form = CancelRequestForm(request.POST, prefix="cancel")
    if form.is_valid():
        try:
            request_actions.cancel_request(
                request.user, access_request, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Request %(id)s was withdrawn.") % {"id": pk})
            return redirect("access:request_detail", pk=pk)
    return _detail_page(request, access_request, cancel_form=form)


@permission("access.fulfil_accessrequest")
def item_fulfil(request: HttpRequest, pk: int) -> HttpResponse:
    """Carry out one approved item (fulfil_item); its refusal is shown with the item."""
    item = get_object_or_404(
        AccessRequestItem.objects.select_related(
            "request__person__org_unit", "system", "role__system", "grant__role__system"
        ),
        pk=pk,
    )
    # Bound on every POST: an item that needs no username posts an empty form.
    form = UsernameForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            request_actions.fulfil_item(
                request.user, item, username=form.cleaned_data["username"].strip()
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(
                request,
                _("Fulfilled: %(item)s for %(person)s (request %(id)s).")
                % {"item": item, "person": item.request.person, "id": item.request_id},
            )
            return redirect(safe_next(request, reverse("access:fulfilment")))
    needs_username = item.kind in (Kind.CREATE_ACCOUNT, Kind.GRANT_ROLE) and not (
        page_queries.open_account_pairs([item])
    )
    return render(
        request,
        "access/item_fulfil.html",
        {
            "item": item,
            "form": form,
            "needs_username": needs_username,
            "next": safe_next(request, reverse("access:fulfilment")),
        },
    )


# --- lists ----------------------------------------------------------------------------------------


@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    """The requests filed by or for the signed-in user; staff may list everyone's."""
    form = RequestListForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    staff = request.user.has_perm("access.view_accessrequest")
    scope = data.get("scope", "") if staff else ""
    state = data.get("state", "")
    me = person_of(request)
    qs = page_queries.requests_visible_to(request.user, me, scope, state)
    page = page_queries.id_page(qs, request.GET.get("cursor", ""), descending=True)
    context = {
        "form": form,
        "page": page,
        "staff": staff,
        "scope": scope,
        "filtered": bool(scope or state),
        "me": me,
    }
    return render_maybe_partial(
        request, "access/request_list.html", "access/_request_results.html", context
    )


@permission("access.approve_accessrequest")
def approvals(request: HttpRequest) -> HttpResponse:
    """The approver's inbox: the current steps that are theirs, oldest first, with SoD flags."""
    me = person_of(request)
    page = page_queries.approvals_page(me, request.GET.get("cursor", "")) if me else None
    rows: list[tuple[Approval, list[AccessRequestItem], bool]] = []
    for approval in page.rows if page else []:
        items = list(approval.request.items.all())
        rows.append((approval, items, page_queries.annotate_conflicts(items)))
    return render(request, "access/approvals.html", {"page": page, "rows": rows, "me": me})


@permission("access.fulfil_accessrequest")
def fulfilment(request: HttpRequest) -> HttpResponse:
    """The desk's queue: approved items not yet fulfilled, oldest first."""
    page = page_queries.fulfilment_page(request.GET.get("cursor", ""))
    open_pairs = page_queries.open_account_pairs(page.rows)
    rows = [
        (
            item,
            item.kind in (Kind.CREATE_ACCOUNT, Kind.GRANT_ROLE)
            and (item.request.person_id, item.system_id) not in open_pairs,
            is_own(request, item.request.person),
        )
        for item in page.rows
    ]
    return render(request, "access/fulfilment.html", {"page": page, "rows": rows})
