"""The portal: a requester asks for help, follows their cases, writes to them and rates them.

A requester sees only their own cases and only the public conversation of each (their own
messages and the desk's replies): internal notes and mail with third parties never reach these
pages. Another person's case answers 404, so its number tells nothing.
"""

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tugi.desk import actions, queries
from tugi.desk.forms import (
    DeskCaseForm,
    PortalCaseForm,
    RatingForm,
    RequesterMessageForm,
    add_action_errors,
)
from tugi.desk.models import Case, Rating
from tugi.desk.views._common import (
    desk_side,
    module_options_of,
    permission,
    render_maybe_partial,
)


def _own_case(request: HttpRequest, pk: int) -> Case:
    """The signed-in requester's case; 404 for any other (existing or not)."""
    case = queries.case_for_page(pk)
    if case is None or not actions.is_requester(request.user, case):
        raise Http404
    return case


@login_required
def portal(request: HttpRequest) -> HttpResponse:
    """The requester's start page: ask for help, and their cases, newest first."""
    person = actions.person_of(request.user)
    page = queries.my_cases_page(person, request.GET.get("cursor", "")) if person else None
    return render_maybe_partial(
        request,
        "desk/portal.html",
        "desk/_my_cases.html",
        {"person": person, "page": page},
    )


@login_required
def module_options(request: HttpRequest) -> HttpResponse:
    """htmx: the module suggestions of the chosen application."""
    raw = request.GET.get("system", "")
    options = module_options_of(int(raw) if raw.isdigit() else None)
    return render(request, "desk/_module_options.html", {"module_options": options})


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    """Ask for help: the portal form; the case is routed, its SLA starts, an e-mail confirms it."""
    person = actions.person_of(request.user)
    if person is None:
        return render(request, "desk/portal_no_person.html")
    parent = None
    raw_parent = request.POST.get("parent") or request.GET.get("follow_up") or ""
    if raw_parent.isdigit():
        candidate = Case.objects.filter(pk=int(raw_parent), requester=person).first()
        parent = candidate
    if request.method == "POST":
        form = PortalCaseForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = actions.create_case(
                    request.user,
                    channel=Case.Channel.PORTAL,
                    subject=data["subject"],
                    body=data["body"],
                    requester=person,
                    system=data["system"],
                    module=data["module"],
                    category=data["category"],
                    impact=data["impact"],
                    urgency=data["urgency"],
                    attachments=data["attachments"],
                    parent=parent,
                    language=request.LANGUAGE_CODE[:2],
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "Thank you. Your case %(ref)s was received; a confirmation is on its "
                        "way to %(email)s."
                    )
                    % {"ref": case.reference, "email": person.email},
                )
                return redirect("desk:my_case", pk=case.pk)
    else:
        form = PortalCaseForm(initial={"parent": parent.pk if parent else None})
    system = form["system"].value()
    return render(
        request,
        "desk/case_new.html",
        {
            "form": form,
            "parent": parent,
            "person": person,
            # A browser never sends a file twice: after an error the files must be chosen again.
            "files_dropped": bool(request.FILES) and bool(form.errors),
            "module_options": module_options_of(int(system) if str(system).isdigit() else None),
        },
    )


@permission("desk.add_case")
def desk_case_new(request: HttpRequest) -> HttpResponse:
    """The desk logs a case for a staff member (a phone call): routed, SLA started, confirmed."""
    form = DeskCaseForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = actions.create_case(
                request.user,
                channel=data["channel"],
                subject=data["subject"],
                body=data["body"],
                requester=data["requester"],
                system=data["system"],
                module=data["module"],
                category=data["category"],
                impact=data["impact"],
                urgency=data["urgency"],
                queue=data["queue"],
                tags=data["tags"],
                attachments=data["attachments"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(
                request,
                _("Case %(ref)s was logged for %(name)s.")
                % {"ref": case.reference, "name": data["requester"]},
            )
            return redirect("desk:case", pk=case.pk)
    system = form["system"].value()
    return render(
        request,
        "desk/case_new.html",
        {
            "form": form,
            "desk_form": True,
            "files_dropped": bool(request.FILES) and bool(form.errors),
            "module_options": module_options_of(int(system) if str(system).isdigit() else None),
        },
    )


def _my_case_page(
    request: HttpRequest,
    case: Case,
    *,
    message_form: RequesterMessageForm | None = None,
    rating_form: RatingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rating = Rating.objects.filter(case=case).first()
    resolved_at = case.resolved_at or case.closed_at
    can_rate = (
        case.status in actions.DONE_STATUSES
        and case.merged_into_id is None
        and (
            resolved_at is None
            or timezone.now() - resolved_at <= datetime.timedelta(days=actions.RATING_DAYS)
        )
    )
    context = {
        "case": case,
        "history": queries.messages_of(case, public_only=True),
        "message_form": message_form or RequesterMessageForm(prefix="message"),
        "rating_form": rating_form
        or RatingForm(prefix="rating", initial={"comment": rating.comment if rating else ""}),
        "rating": rating,
        "can_rate": can_rate,
        "can_write": case.status != Case.Status.CLOSED and case.merged_into_id is None,
        "merged_into_own": case.merged_into is not None
        and actions.is_requester(request.user, case.merged_into),
        "desk_view": desk_side(request.user, case),
        "priority": queries.priority_label(case.priority),
    }
    return render(request, "desk/my_case.html", context, status=status)


@login_required
def my_case(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester's view of their case: the public conversation, a reply box, the rating."""
    return _my_case_page(request, _own_case(request, pk))


@login_required
@require_POST
def my_case_message(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester writes to their case (a resolved case opens again)."""
    case = _own_case(request, pk)
    form = RequesterMessageForm(request.POST, request.FILES, prefix="message")
    if form.is_valid():
        try:
            actions.add_requester_message(
                case,
                body=form.cleaned_data["body"],
                author=request.user,
                attachments=form.cleaned_data["attachments"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Your message was added to the case."))
            return redirect(reverse("desk:my_case", args=[pk]) + "#conversation")
    return _my_case_page(request, case, message_form=form)


@login_required
@require_POST
def my_case_rate(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester's rating of their resolved case."""
    case = _own_case(request, pk)
    form = RatingForm(request.POST, prefix="rating")
    if form.is_valid():
        try:
            actions.rate(
                request.user,
                case,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect("desk:my_case", pk=pk)
    return _my_case_page(request, case, rating_form=form)


def rate_token(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click rating link from the resolution mail; no sign-in needed.

    Opening the link (GET) changes nothing, because mail scanners open links too: it shows the
    five buttons with the score from the link (`?score=4`) chosen, and one press saves it.
    """
    case = queries.case_for_rating_token(token)
    if case is None:
        return render(request, "desk/rate_invalid.html", status=404)
    rating = Rating.objects.filter(case=case).first()
    saved = False
    if request.method == "POST":
        form = RatingForm(request.POST, prefix="rating")
        if form.is_valid():
            try:
                rating = actions.rate(
                    request.user if request.user.is_authenticated else None,
                    case,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    token=token,
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                saved = True
    else:
        score = request.GET.get("score", "")
        initial: dict[str, Any] = {"comment": rating.comment if rating else ""}
        if score in {"1", "2", "3", "4", "5"}:
            initial["score"] = int(score)
        elif rating:
            initial["score"] = rating.score
        form = RatingForm(prefix="rating", initial=initial)
    return render(
        request,
        "desk/rate.html",
        {"case": case, "form": form, "rating": rating, "saved": saved, "token": token},
    )
