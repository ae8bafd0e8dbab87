"""Absence pages (puudumised): the list of current and upcoming absences, and recording,
changing and cancelling one by hand.

The vacation schedule arrives by import (HR); these pages are for what the schedule does not
hold (sick leave, study leave) and for corrections. Every change goes through the absence
actions, which tell the substitution engine: orders for an absence move or are cancelled with it.
The list narrowed to one person is a logged read of that person (`people.person.view`, see
`tugi.people.view_log`).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from tugi.people import absence_queries as queries
from tugi.people import actions, view_log
from tugi.people.absence_forms import AbsenceFilterForm, AbsenceForm, CancelAbsenceForm
from tugi.people.forms import add_action_errors
from tugi.people.models import Absence, Person
from tugi.people.views import _render_maybe_partial, permission


@permission("people.view_absence")
def absence_list(request: HttpRequest) -> HttpResponse:
    """Absences now and to come (or past), filtered, one keyset page at a time."""
    form = AbsenceFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else queries.AbsenceFilters()
    if filters.person is not None:
        # One person's absences are their personal data (see tugi.people.view_log).
        ctx = view_log.valid_ctx(request.GET.get("ctx"))
        view_log.log_view(request.user, filters.person, view_log.VIEW_PERSON, ctx=ctx)
    page = queries.absence_page(filters, request.GET.get("cursor", ""))
    filtered = bool(
        filters.kind or filters.source or filters.org_unit or filters.person or filters.cancelled
    )
    context = {"form": form, "page": page, "filtered": filtered}
    return _render_maybe_partial(
        request, "people/absence_list.html", "people/_absence_results.html", context
    )


@permission("people.add_absence")
def absence_create(request: HttpRequest) -> HttpResponse:
    """Record an absence; `?person=<id>` fills in whose."""
    initial = {}
    if request.GET.get("person", "").isdigit():
        person = Person.objects.filter(pk=int(request.GET["person"])).first()
        if person is not None:
            initial["person"] = person.email
    form = AbsenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            absence = actions.record_absence(
                request.user,
                data["person"],
                kind=data["kind"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                note=data["note"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(
                request, _("The absence of %(person)s is recorded.") % {"person": absence.person}
            )
            return redirect("people:person_detail", pk=absence.person_id)
    return render(request, "people/absence_form.html", {"form": form, "absence": None})


@permission("people.change_absence")
def absence_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an absence's days, kind or note; its substitutions follow."""
    absence = get_object_or_404(Absence.objects.select_related("person"), pk=pk)
    initial = {
        "kind": absence.kind,
        "starts_on": absence.starts_on,
        "ends_on": absence.ends_on,
        "note": absence.note,
    }
    form = AbsenceForm(request.POST or None, initial=initial, fixed_person=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.change_absence(
                request.user,
                absence,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                kind=data["kind"],
                note=data["note"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The absence is changed."))
            return redirect("people:person_detail", pk=absence.person_id)
    return render(request, "people/absence_form.html", {"form": form, "absence": absence})


@permission("people.change_absence")
def absence_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel an absence (it is kept, marked cancelled), after asking why."""
    absence = get_object_or_404(Absence.objects.select_related("person"), pk=pk)
    form = CancelAbsenceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.cancel_absence(request.user, absence, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The absence is cancelled."))
            return redirect("people:person_detail", pk=absence.person_id)
    return render(request, "people/absence_cancel.html", {"form": form, "absence": absence})
