"""The catalogue: target systems, their roles, who held a role when, and SoD rules."""

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from tugi.access import page_queries
from tugi.access.forms import HoldersAtForm
from tugi.access.models import Entitlement, Finding, Role, SodException, SodRule, TargetSystem
from tugi.access.views._common import permission, render_maybe_partial

# A role justified by more duties than this is shown with the first ones and a count.
DUTY_LIMIT = 100


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
    form = HoldersAtForm(request.GET or None)
    at = form.moment()
    can_see_holders = request.user.has_perm("access.view_grant")
    page = (
        page_queries.role_holders_page(role, at, request.GET.get("cursor", ""))
        if can_see_holders
        else None
    )
    context = {
        "role": role,
        "form": form,
        "at": at,
        "is_now": not (form.is_valid() and form.cleaned_data.get("at")),
        "page": page,
        "can_see_holders": can_see_holders,
    }
    if request.htmx and page is not None:  # type: ignore[attr-defined]
        return render_maybe_partial(
            request, "access/role_detail.html", "access/_role_holders.html", context
        )
    duties = list(
        Entitlement.objects.filter(role=role)
        .select_related("duty__job_description__position__org_unit")
        .order_by("duty__job_description__position__title", "-duty__job_description__valid_from")[
            : DUTY_LIMIT + 1
        ]
    )
    context.update(
        {
            "entitlements": duties[:DUTY_LIMIT],
            "more_entitlements": len(duties) > DUTY_LIMIT,
            "sod_rules": list(
                SodRule.objects.filter(Q(role_a=role) | Q(role_b=role))
                .select_related("role_a__system", "role_b__system")
                .order_by("name")
            ),
            "today": timezone.localdate(),
        }
    )
    return render(request, "access/role_detail.html", context)


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
