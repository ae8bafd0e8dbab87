"""The catalogue: target systems, their roles, who held a role when, and SoD rules."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tugi.access import page_queries
from tugi.access.actions import catalogue as catalogue_actions
from tugi.access.actions import sod as sod_actions
from tugi.access.forms import (
    EntitlementForm,
    HoldersAtForm,
    RoleForm,
    SodRuleForm,
    SystemForm,
    add_action_errors,
)
from tugi.access.models import Entitlement, Finding, Role, SodException, SodRule, TargetSystem
from tugi.access.views._common import is_partial, permission, render_maybe_partial

# The role page's part that pages the duties justifying the role (htmx's target).
DUTIES_TARGET = "role-duties"
# A role is kept apart from a few others; more rules than this are listed on the rules page.
SOD_RULE_LIMIT = 50


@permission("access.view_targetsystem")
def system_list(request: HttpRequest) -> HttpResponse:
    """Every target system: kind, owner, connector and number of roles."""
    return render(
        request, "access/system_list.html", {"systems": page_queries.systems_with_role_counts()}
    )


@permission("access.view_targetsystem", "access.view_role")
def system_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A system: description, contact, what an application needs, and its roles."""
    system = get_object_or_404(TargetSystem.objects.select_related("owner"), pk=pk)
    roles = list(system.roles.order_by("-active", "module", "name", "id"))
    return render(request, "access/system_detail.html", {"system": system, "roles": roles})


@permission("access.view_role")
def role_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A role: its rules, the duties that justify it, its SoD rules and who held it when."""
    role = get_object_or_404(Role.objects.select_related("system__owner"), pk=pk)
    return _role_page(request, role, EntitlementForm())


def _role_page(
    request: HttpRequest, role: Role, entitlement_form: EntitlementForm, status: int = 200
) -> HttpResponse:
    """The role page, or the part of it an htmx request asks for: the duties' next page
    (target `role-duties`) or the holders at another moment or page (any other target).

    Every list on it is a keyset page (holders, duties) or bounded (SoD rules).
    """
    form = HoldersAtForm(request.GET or None)
    at = form.moment()
    can_see_holders = request.user.has_perm("access.view_grant")
    partial = request.method == "GET" and is_partial(request)
    target = request.htmx.target if partial else None  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "role": role,
        "form": form,
        "at": at,
        "is_now": not (form.is_valid() and form.cleaned_data.get("at")),
        "can_see_holders": can_see_holders,
    }
    if target != DUTIES_TARGET:
        context["page"] = (
            page_queries.role_holders_page(
                role,
                at,
                request.GET.get("cursor", ""),
                link_positions=request.user.has_perm("people.view_position"),
            )
            if can_see_holders
            else None
        )
        if partial and context["page"] is not None:
            return render_maybe_partial(
                request, "access/role_detail.html", "access/_role_holders.html", context
            )
    context.update(
        {
            "duties": page_queries.role_entitlements_page(role, request.GET.get("duties", "")),
            "duty_count": Entitlement.objects.filter(role=role).count(),
        }
    )
    if target == DUTIES_TARGET:
        return render_maybe_partial(
            request, "access/role_detail.html", "access/_role_duties.html", context
        )
    sod_rules = list(
        SodRule.objects.filter(Q(role_a=role) | Q(role_b=role))
        .select_related("role_a__system", "role_b__system")
        .order_by("name", "id")[: SOD_RULE_LIMIT + 1]
    )
    context.update(
        {
            "sod_rules": sod_rules[:SOD_RULE_LIMIT],
            "more_sod_rules": len(sod_rules) > SOD_RULE_LIMIT,
            "today": timezone.localdate(),
            "entitlement_form": entitlement_form,
        }
    )
    return render(request, "access/role_detail.html", context, status=status)


@permission("access.view_sodrule")
def sod_rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An SoD rule: the two roles, exceptions in force and the persons in conflict now."""
    rule = get_object_or_404(
        SodRule.objects.select_related("role_a__system", "role_b__system"), pk=pk
    )
    now = timezone.now()
    exceptions = list(
        SodException.objects.filter(rule=rule, valid_to__gt=now)
        .select_related("person", "request")
        .order_by("valid_to", "id")[: page_queries.PAGE_SIZE]
    )
    conflicts = list(
        Finding.objects.filter(rule=rule, resolved_at__isnull=True)
        .select_related("person__org_unit")
        .order_by("id")[: page_queries.PAGE_SIZE]
    )
    return render(
        request,
        "access/sod_rule_detail.html",
        {"rule": rule, "exceptions": exceptions, "conflicts": conflicts},
    )


# --- editing the catalogue ------------------------------------------------------------------------


@permission("access.add_targetsystem")
def system_create(request: HttpRequest) -> HttpResponse:
    """Add a target system to the catalogue."""
    form = SystemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            system = catalogue_actions.create_system(request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The system %(name)s was added.") % {"name": system.name})
            return redirect("access:system_detail", pk=system.pk)
    return render(request, "access/system_form.html", {"form": form, "system": None})


@permission("access.change_targetsystem")
def system_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a target system's data, owner, connector or application requirements."""
    system = get_object_or_404(TargetSystem, pk=pk)
    form = SystemForm(request.POST or None, instance=TargetSystem.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            system = catalogue_actions.update_system(request.user, system, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("access:system_detail", pk=system.pk)
    return render(request, "access/system_form.html", {"form": form, "system": system})


@permission("access.add_role")
def role_create(request: HttpRequest, system_pk: int) -> HttpResponse:
    """Add a role to a system."""
    system = get_object_or_404(TargetSystem, pk=system_pk)
    form = RoleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            role = catalogue_actions.create_role(request.user, system=system, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The role %(name)s was added.") % {"name": role.name})
            return redirect("access:role_detail", pk=role.pk)
    return render(request, "access/role_form.html", {"form": form, "system": system, "role": None})


@permission("access.change_role")
def role_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a role's description, sensitivity or granting rules."""
    role = get_object_or_404(Role.objects.select_related("system"), pk=pk)
    form = RoleForm(request.POST or None, instance=Role.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            role = catalogue_actions.update_role(request.user, role, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("access:role_detail", pk=role.pk)
    context = {"form": form, "system": role.system, "role": role}
    return render(request, "access/role_form.html", context)


@require_POST
@permission("access.view_role", "access.add_entitlement")
def entitlement_add(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Justified by duty": find the position's duties (first button), then add the one chosen."""
    role = get_object_or_404(Role.objects.select_related("system__owner"), pk=pk)
    form = EntitlementForm(request.POST)
    if form.is_valid():
        duty = form.cleaned_data.get("duty")
        if request.POST.get("step") == "find":
            return _role_page(request, role, form)
        if duty is None:
            form.add_error("duty", _("Choose the duty that justifies the role."))
        else:
            try:
                catalogue_actions.add_entitlement(request.user, duty, role)
            except ValidationError as exc:
                add_action_errors(form, exc)  # "role" is not a field here: shown on top
            else:
                messages.success(
                    request,
                    _("The duty now justifies the role: holders of %(position)s are entitled.")
                    % {"position": form.position_obj},
                )
                return redirect(reverse("access:role_detail", args=[role.pk]) + "#duties-heading")
    return _role_page(request, role, form, status=400)


@require_POST
@permission("access.delete_entitlement")
def entitlement_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop a duty justifying a role; grants it justified become findings."""
    entitlement = get_object_or_404(Entitlement, pk=pk)
    role_id = entitlement.role_id
    catalogue_actions.remove_entitlement(request.user, entitlement)
    messages.success(
        request,
        _("The duty no longer justifies the role. Grants it justified show up as findings."),
    )
    return redirect(reverse("access:role_detail", args=[role_id]) + "#duties-heading")


@permission("access.view_sodrule")
def sod_rule_list(request: HttpRequest) -> HttpResponse:
    """Every segregation-of-duties rule, in force or switched off."""
    rules = list(
        SodRule.objects.select_related("role_a__system", "role_b__system").order_by(
            "-active", "name", "id"
        )
    )
    return render(request, "access/sod_rule_list.html", {"rules": rules})


@permission("access.add_sodrule")
def sod_rule_create(request: HttpRequest) -> HttpResponse:
    """Record that one person must not hold two roles at the same time."""
    form = SodRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data: dict[str, Any] = form.cleaned_data
        try:
            rule = sod_actions.create_sod_rule(request.user, **data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The rule %(name)s was added.") % {"name": rule.name})
            return redirect("access:sod_rule_detail", pk=rule.pk)
    return render(request, "access/sod_rule_form.html", {"form": form})


@require_POST
@permission("access.change_sodrule")
def sod_rule_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch a rule on or off (rules are kept: exceptions and findings name them)."""
    rule = get_object_or_404(SodRule, pk=pk)
    active = request.POST.get("active") == "1"
    sod_actions.set_sod_rule_active(request.user, rule, active=active)
    if active:
        messages.success(request, _("The rule is in force again."))
    else:
        messages.success(request, _("The rule is switched off."))
    return redirect("access:sod_rule_detail", pk=rule.pk)
