"""The Changes page: how late the lifecycle engine put access changes into effect, the changes
that need the desk (failed, overdue, to confirm in the target system), and the engine's health.

Reads come from `tugi.access.lifecycle.lateness`; confirming and retrying go through
`tugi.access.actions.changes`, which check the permission and four eyes again. A list narrowed
to one person (a search that finds exactly one) is a logged read of that person's access
(`access.person.view`, see `tugi.people.view_log`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from tugi.access.actions import changes as change_actions
from tugi.access.lifecycle import lateness
from tugi.access.models import Change, TargetSystem
from tugi.access.views._common import permission, render_maybe_partial, safe_next
from tugi.people import view_log
from tugi.people.models import Person
from tugi.people.queries import PersonFilters, search_persons

VIEW = "access.view_change"
CONFIRM = "access.confirm_change"


class ChangeFilterForm(forms.Form):
    """The page's list and filters (GET; a bad value just drops that filter)."""

    show = forms.ChoiceField(
        required=False, choices=list(lateness.LISTS.items()), widget=forms.HiddenInput
    )
    period = forms.ChoiceField(
        label=gettext_lazy("Period"),
        required=False,
        choices=[(key, label) for key, (_length, label) in lateness.PERIODS.items()],
        initial=lateness.DEFAULT_PERIOD,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Change"),
        required=False,
        choices=[("", gettext_lazy("Every kind")), *Change.Kind.choices],
    )
    system = forms.ModelChoiceField(
        label=gettext_lazy("System"),
        required=False,
        queryset=TargetSystem.objects.order_by("name"),
        empty_label=gettext_lazy("Every system"),
    )
    q = forms.CharField(
        label=gettext_lazy("Person"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Name or e-mail address"),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def values(self) -> dict[str, Any]:
        """The cleaned values, each bad one replaced by its default."""
        data: dict[str, Any] = {}
        for name, bound in self.fields.items():
            raw = self.data.get(name, "") if self.is_bound else ""
            try:
                data[name] = bound.clean(raw)
            except ValidationError:
                data[name] = bound.clean("") if not bound.required else None
        data["show"] = data.get("show") or "all"
        data["period"] = data.get("period") or lateness.DEFAULT_PERIOD
        return data


@dataclass(frozen=True)
class ChangeRow:
    """A change as a row of the list: how late, and whether it is the viewer's own access."""

    change: Change
    late_by: int | None
    late: bool
    own: bool

    @classmethod
    def of(cls, change: Change, user_id: int | None, now: datetime.datetime) -> ChangeRow:
        late_by = lateness.late_by_ms(change, now)
        return cls(
            change=change,
            late_by=late_by,
            late=(late_by or 0) > lateness.LATE_AFTER_MS,
            own=change.person.user_id is not None and change.person.user_id == user_id,
        )

    @property
    def confirmable(self) -> bool:
        return (
            self.change.state == Change.State.APPLIED
            and self.change.confirmed_at is None
            and not self.own
        )


def _query(
    request: HttpRequest, values: dict[str, Any]
) -> tuple[lateness.ChangeQuery, Person | None]:
    """The list's query, and the one person it is narrowed to when the search finds exactly one
    (the person's page links here with their e-mail): a list of one person's changes is a read
    of that person. The search is read once for at most two matches; several are a subquery."""
    q = (values.get("q") or "").strip()
    persons = None
    person = None
    if q:
        found = search_persons(request.user, PersonFilters(q=q)).order_by()
        first = list(found[:2])
        if len(first) == 1:
            person = first[0]
        else:
            persons = found.values("id")
    system = values.get("system")
    query = lateness.ChangeQuery(
        show=values["show"],
        period=values["period"],
        kind=values.get("kind") or "",
        system_id=system.pk if system is not None else None,
        person_id=person.pk if person is not None else None,
        persons=persons,
    )
    return query, person


@permission(VIEW)
def changes(request: HttpRequest) -> HttpResponse:
    """Lateness figures, the engine's health and one keyset page of the chosen list."""
    now = timezone.now()
    data = request.GET.copy()
    if data.get("late") == "1" and not data.get("show"):
        data["show"] = "late"  # the address the desk's alert mail links to
    data.pop("late", None)
    data.pop("cursor", None)
    for name, default in (("show", "all"), ("period", lateness.DEFAULT_PERIOD)):
        if not data.get(name):
            data[name] = default
    form = ChangeFilterForm(data)
    values = form.values()
    query, person = _query(request, values)
    if person is not None:
        # The list of one person's changes shows their access (see tugi.people.view_log).
        ctx = view_log.valid_ctx(request.GET.get("ctx"))
        view_log.log_view(request.user, person, view_log.VIEW_PERSON_ACCESS, ctx=ctx)
    page = lateness.change_page(query, request.GET.get("cursor", ""), now)
    report = lateness.lateness_report(
        values["period"], now=now, kind=query.kind, system_id=query.system_id
    )
    can_confirm = request.user.has_perm(CONFIRM)
    rows = [ChangeRow.of(change, request.user.pk, now) for change in page.rows]
    counts = lateness.list_counts(now)
    context = {
        "form": form,
        "show": query.show,
        "tabs": [(key, label, counts.get(key)) for key, label in lateness.LISTS.items()],
        "page": page,
        "rows": rows,
        "report": report,
        "health": lateness.engine_health(now),
        "period_label": lateness.PERIODS[values["period"]][1],
        "can_confirm": can_confirm,
        "confirmable": can_confirm and any(r.confirmable for r in rows),
        "filtered": bool(
            query.kind or query.system_id or query.persons is not None or person is not None
        ),
        "late_after": lateness.human_duration(lateness.LATE_AFTER_MS),
    }
    return render_maybe_partial(
        request, "access/changes.html", "access/_change_results.html", context
    )


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(safe_next(request, reverse("access:changes")))


@permission(VIEW, CONFIRM)
@require_POST
def change_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm one applied change as made in the target system."""
    change = get_object_or_404(Change, pk=pk)
    try:
        change_actions.confirm_change(request.user, change, note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The change is confirmed as done in the target system."))
    return _back(request)


@permission(VIEW, CONFIRM)
@require_POST
def changes_confirm(request: HttpRequest) -> HttpResponse:
    """Confirm the ticked changes at once (all or none)."""
    ids = [int(v) for v in request.POST.getlist("change") if v.isdigit()]
    try:
        result = change_actions.confirm_changes(
            request.user, ids, note=request.POST.get("note", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        n = len(result.confirmed)
        messages.success(
            request,
            ngettext(
                "%(n)d change is confirmed as done in the target system.",
                "%(n)d changes are confirmed as done in the target system.",
                n,
            )
            % {"n": n},
        )
        if result.already:
            messages.info(
                request,
                ngettext(
                    "%(n)d change had already been confirmed by someone else.",
                    "%(n)d changes had already been confirmed by someone else.",
                    len(result.already),
                )
                % {"n": len(result.already)},
            )
    return _back(request)


@permission(VIEW, CONFIRM)
@require_POST
def change_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a failed change back to the engine, to be tried again now."""
    change = get_object_or_404(Change, pk=pk)
    try:
        change_actions.retry_change(request.user, change)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("The change will be tried again now; this list shows how it went.")
        )
    return _back(request)
