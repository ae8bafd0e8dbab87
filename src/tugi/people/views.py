"""Pages of the people app: persons, the org chart, positions and job descriptions.

Views stay thin: they check permission, parse input with a form, call an action (for changes) or
a function in `queries` (for reads) and render. Permission is enforced here for every page even
though the actions check again, so a user is refused before seeing a form they cannot submit.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tugi.core.personal_code import mask
from tugi.people import absence_queries, actions, queries, view_log
from tugi.people.forms import (
    JobDescriptionForm,
    OrgUnitForm,
    PersonalCodePurposeForm,
    PersonFilterForm,
    PersonForm,
    PositionFilterForm,
    PositionForm,
    add_action_errors,
)
from tugi.people.models import JobDescription, OrgUnit, Person, Position

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


def _is_partial(request: HttpRequest) -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def _render_maybe_partial(
    request: HttpRequest, full: str, partial: str, context: dict[str, Any]
) -> HttpResponse:
    response = render(request, partial if _is_partial(request) else full, context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- persons --------------------------------------------------------------------------------------


@permission("people.view_person")
def person_list(request: HttpRequest) -> HttpResponse:
    """The searchable, filterable person list, one keyset page at a time."""
    can_search_code = request.user.has_perm("people.view_personal_code")
    form = PersonFilterForm(request.GET or None, can_search_code=can_search_code)
    filters = form.filters() if form.is_bound else queries.PersonFilters()
    page = queries.person_page(request.user, filters, request.GET.get("cursor", ""))
    filtered = bool(filters.q or filters.org_unit or filters.status or filters.position_id)
    context = {"form": form, "page": page, "filtered": filtered, "filters": filters}
    partial = "people/_person_results.html"
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.trigger_name == "org_unit":
        # A unit was chosen: the position filter now offers that unit's positions.
        partial = "people/_person_unit_results.html"
    response = _render_maybe_partial(request, "people/person_list.html", partial, context)
    if _may_hold_a_code(request.GET.get("q", "")):
        _keep_the_search_out_of_the_address(request, response)
    return response


def _may_hold_a_code(q: str) -> bool:
    """Whether a search may be a personal code or part of one: any digit in it.

    Not only a full 11-digit code: the search box asks as the user types, so a code typed digit
    by digit would otherwise leave each of its beginnings in the history. Names have no digits.
    """
    return any(char.isdigit() for char in q)


def _keep_the_search_out_of_the_address(request: HttpRequest, response: HttpResponse) -> None:
    """A search that may be a personal code is not pushed into the address bar (and so not into
    the browser's history, bookmarks or the Referer of the next page), nor kept in any cache.

    The list's htmx requests ask to push their URL (`hx-push-url`); the HX-Push-Url header
    overrides that, whichever element asked (the search box, a filter, a page link), with the
    address of the other filters. The request itself still carries `q`; a search sent without
    JavaScript (the plain GET form) puts it in the address: see docs/user-guide.md.
    """
    patch_cache_control(response, private=True, no_store=True)
    if getattr(request, "htmx", None):
        rest = request.GET.copy()
        for name in ("q", "cursor"):  # a cursor of a code search is no use without the code
            rest.pop(name, None)
        url = reverse("people:person_list")
        response["HX-Push-Url"] = f"{url}?{rest.urlencode()}" if rest else url


def _can_see_person(request: HttpRequest, person: Person) -> bool:
    """Staff with people.view_person see everyone; everybody sees their own record."""
    if request.user.has_perm("people.view_person"):
        return True
    return person.user_id is not None and person.user_id == request.user.pk


def _person_page(
    request: HttpRequest, person: Person, *, is_me: bool = False, ctx: str = ""
) -> HttpResponse:
    context = {
        "person": person,
        # Carried on to the person's access page, so the purpose follows the viewer there.
        "ctx": ctx,
        "is_me": is_me or person.user_id == request.user.pk,
        "masked_code": mask(person.personal_code or ""),
        "masked_foreign_id": mask_foreign_id(person.foreign_id_code),
        "reports": queries.reports_of(person),
        "headed_units": list(person.headed_units.order_by("path")),
        "absences": absence_queries.absences_of(person)
        if request.user.has_perm("people.view_absence") or person.user_id == request.user.pk
        else None,
        "can_reveal": _has_identifier(person)
        and request.user.has_perm("people.view_personal_code"),
    }
    return render(request, "people/person_detail.html", context)


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's record. Anyone's but one's own is a logged read (`people.person.view`) with a
    purpose: the context of the link (`?ctx=case-123`), else the viewer's role duty; at most one
    event per viewer, person and purpose in ten minutes (see `tugi.people.view_log`)."""
    person = queries.person_for_detail(pk)
    if person is None:
        if not request.user.has_perm("people.view_person"):
            # Do not tell a requester which ids exist.
            raise PermissionDenied
        raise Http404
    if not _can_see_person(request, person):
        raise PermissionDenied
    ctx = view_log.valid_ctx(request.GET.get("ctx"))
    view_log.log_view(request.user, person, view_log.VIEW_PERSON, ctx=ctx)
    return _person_page(request, person, ctx=ctx)


@login_required
def me(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own person record, if their account is linked to one (not logged)."""
    person = queries.person_of_user(request.user)
    if person is None:
        return render(request, "people/me_missing.html")
    return _person_page(request, person, is_me=True)


def mask_foreign_id(code: str) -> str:
    """A foreign id with only its last three characters shown: ••••••••345.

    Its format depends on the country, so unlike the Estonian code no part of it is known to be
    a birth date; the tail is enough to tell two ids apart. A short id is hidden whole.
    """
    if not code:
        return ""
    shown = 3 if len(code) >= 6 else 0
    return "•" * (len(code) - shown) + code[len(code) - shown :]


def _has_identifier(person: Person) -> bool:
    return bool(person.personal_code or person.foreign_id_code)


@never_cache
@permission("people.view_person", "people.view_personal_code")
@require_http_methods(["GET", "POST"])
def person_personal_code(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for a purpose, then reveal the person's identifiers: the personal code and the foreign
    id, whichever they have. Both are personal data alike, so they are shown masked everywhere
    and revealed only here, together, by one audit event with the purpose (written by the
    action, `people.person.view_personal_code`)."""
    person = get_object_or_404(Person, pk=pk)
    if not _has_identifier(person):
        raise Http404
    form = PersonalCodePurposeForm(request.POST or None)
    revealed = False
    if request.method == "POST" and form.is_valid():
        try:
            actions.view_personal_code(request.user, person, form.cleaned_data["purpose"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            revealed = True
    context = {
        "person": person,
        "form": form,
        "revealed": revealed,
        "masked_code": mask(person.personal_code or ""),
        "masked_foreign_id": mask_foreign_id(person.foreign_id_code),
    }
    return _render_maybe_partial(
        request, "people/personal_code.html", "people/_personal_code.html", context
    )


@permission("people.add_person")
def person_create(request: HttpRequest) -> HttpResponse:
    """Add a person."""
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = actions.create_person(request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": person})
            return redirect("people:person_detail", pk=person.pk)
    return render(
        request,
        "people/person_form.html",
        {"form": form, "person": None, "suggestions": queries.manager_candidates()},
    )


@permission("people.change_person")
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a person's data."""
    person = get_object_or_404(Person, pk=pk)
    # The form validates against its own copy: a rejected edit must not change the page header.
    form = PersonForm(request.POST or None, instance=Person.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_person(request.user, person, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Changes to %(name)s were saved.") % {"name": person})
            return redirect("people:person_detail", pk=person.pk)
    return render(
        request,
        "people/person_form.html",
        {"form": form, "person": person, "suggestions": queries.manager_candidates()},
    )


# --- org units ------------------------------------------------------------------------------------


@permission("people.view_orgunit")
def org_chart(request: HttpRequest) -> HttpResponse:
    """The unit tree with heads and member counts."""
    show_inactive = request.GET.get("inactive") == "1"
    return render(
        request,
        "people/org_chart.html",
        {"tree": queries.org_tree(include_inactive=show_inactive), "show_inactive": show_inactive},
    )


@permission("people.view_orgunit")
def org_unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A unit: where it sits, its head, sub-units, positions and members."""
    unit = get_object_or_404(OrgUnit.objects.select_related("head", "parent"), pk=pk)
    children = list(unit.children.select_related("head").order_by("path"))
    counts = queries.member_counts([unit.pk, *(c.pk for c in children)])
    for child in children:
        child.member_count = counts.get(child.pk, 0)  # type: ignore[attr-defined]
    members = list(
        unit.members.select_related("position")
        .exclude(status=Person.Status.LEFT)
        .order_by(*queries.PERSON_ORDER)[: queries.PAGE_SIZE + 1]
    )
    context = {
        "unit": unit,
        "ancestors": queries.ancestors(unit),
        "children": children,
        "positions": list(unit.positions.order_by("title", "id")),
        "members": members[: queries.PAGE_SIZE],
        "more_members": len(members) > queries.PAGE_SIZE,
        "member_count": counts.get(unit.pk, 0),
    }
    return render(request, "people/org_unit_detail.html", context)


@permission("people.add_orgunit")
def org_unit_create(request: HttpRequest) -> HttpResponse:
    """Add an org unit; `?parent=<id>` preselects where it goes."""
    initial = {"parent": request.GET.get("parent")} if request.GET.get("parent") else None
    form = OrgUnitForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            unit = actions.create_org_unit(request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The unit %(name)s was added.") % {"name": unit})
            return redirect("people:org_unit_detail", pk=unit.pk)
    return render(
        request,
        "people/org_unit_form.html",
        {"form": form, "unit": None, "suggestions": queries.manager_candidates()},
    )


@permission("people.change_orgunit")
def org_unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an org unit; moving it under one of its own sub-units is refused by the action."""
    unit = get_object_or_404(OrgUnit, pk=pk)
    form = OrgUnitForm(request.POST or None, instance=OrgUnit.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_org_unit(request.user, unit, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Changes to %(name)s were saved.") % {"name": unit})
            return redirect("people:org_unit_detail", pk=unit.pk)
    return render(
        request,
        "people/org_unit_form.html",
        {"form": form, "unit": unit, "suggestions": queries.manager_candidates()},
    )


# --- positions ------------------------------------------------------------------------------------


@permission("people.view_position")
def position_list(request: HttpRequest) -> HttpResponse:
    """Positions, searchable by title and filterable by unit."""
    form = PositionFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    qs = queries.search_positions(data.get("q") or "", data.get("org_unit"))
    # Positions number in the hundreds or few thousands, so a counted page is cheap here.
    page = Paginator(qs, queries.PAGE_SIZE).get_page(request.GET.get("page"))
    counts = queries.holder_counts(page.object_list)
    rows = [(position, counts.get(position.pk, 0)) for position in page.object_list]
    filtered = bool(data.get("q") or data.get("org_unit"))
    context = {"form": form, "page": page, "rows": rows, "filtered": filtered}
    return _render_maybe_partial(
        request, "people/position_list.html", "people/_position_results.html", context
    )


@permission("people.view_position")
def position_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A position with its job descriptions (the one in force highlighted) and holders."""
    position = get_object_or_404(Position.objects.select_related("org_unit"), pk=pk)
    job_descriptions = list(
        position.job_descriptions.order_by("-valid_from").prefetch_related(
            "duties", "substitutes__org_unit", "substituted_by__org_unit"
        )
    )
    current = position.current_job_description()
    holders = list(
        position.holders.select_related("org_unit")
        .exclude(status=Person.Status.LEFT)
        .order_by(*queries.PERSON_ORDER)[: queries.PAGE_SIZE]
    )
    context = {
        "position": position,
        "job_descriptions": job_descriptions,
        "current_id": current.pk if current else None,
        "today": timezone.localdate(),
        "holders": holders,
    }
    return render(request, "people/position_detail.html", context)


@permission("people.add_position")
def position_create(request: HttpRequest) -> HttpResponse:
    """Add a position; `?org_unit=<id>` preselects its unit."""
    unit = request.GET.get("org_unit")
    form = PositionForm(request.POST or None, initial={"org_unit": unit} if unit else None)
    if request.method == "POST" and form.is_valid():
        try:
            position = actions.create_position(request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The position %(title)s was added.") % {"title": position})
            return redirect("people:position_detail", pk=position.pk)
    return render(request, "people/position_form.html", {"form": form, "position": None})


@permission("people.change_position")
def position_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a position."""
    position = get_object_or_404(Position, pk=pk)
    form = PositionForm(request.POST or None, instance=Position.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_position(request.user, position, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Changes to %(title)s were saved.") % {"title": position})
            return redirect("people:position_detail", pk=position.pk)
    return render(request, "people/position_form.html", {"form": form, "position": position})


def _job_description_page(
    request: HttpRequest, position: Position, jd: JobDescription | None
) -> HttpResponse:
    initial = JobDescriptionForm.initial_from(jd) if jd else None
    form = JobDescriptionForm(request.POST or None, initial=initial, position=position)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_job_description(request.user, jd, **form.action_data())
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The job description was saved."))
            return redirect("people:position_detail", pk=position.pk)
    return render(
        request,
        "people/job_description_form.html",
        {"form": form, "position": position, "job_description": jd},
    )


@permission("people.add_jobdescription")
def job_description_create(request: HttpRequest, position_pk: int) -> HttpResponse:
    """Write a new job description for a position."""
    position = get_object_or_404(Position.objects.select_related("org_unit"), pk=position_pk)
    return _job_description_page(request, position, None)


@permission("people.change_jobdescription")
def job_description_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a job description (its duties are replaced as a whole)."""
    jd = get_object_or_404(
        JobDescription.objects.select_related("position__org_unit").prefetch_related("duties"),
        pk=pk,
    )
    return _job_description_page(request, jd.position, jd)
