"""The compliance page: open findings, counted by kind, filtered, each with its fix."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tugi.access import compliance as compliance_rules
from tugi.access import page_queries
from tugi.access.forms import FindingFilterForm
from tugi.access.models import Finding
from tugi.access.views._common import permission, render_maybe_partial

# Who may start a full evaluation from the page: the desk (who fixes findings) and the
# administrator (who changes the catalogue the rules read). Evaluating only derives findings;
# it is limited so that an expensive run is not a button for every reader.
EVALUATE_PERMISSION = "access.evaluate_compliance"


def may_evaluate(user: object) -> bool:
    return bool(user.has_perm(EVALUATE_PERMISSION))  # type: ignore[attr-defined]


@permission("access.view_finding")
def compliance(request: HttpRequest) -> HttpResponse:
    """Open findings: counts per kind, filters by kind and org unit, one keyset page."""
    form = FindingFilterForm(request.GET or None)
    kind, unit = form.values() if form.is_bound else ("", None)
    page = page_queries.finding_page(kind, unit, request.GET.get("cursor", ""))
    counts = page_queries.finding_counts()
    context = {
        "form": form,
        "page": page,
        "rows": page_queries.with_fix_hints(page.rows),
        "counts": [(k, label, counts[k]) for k, label in Finding.Kind.choices],
        "total": sum(counts.values()),
        "kind": kind,
        "filtered": bool(kind or unit),
        "can_evaluate": may_evaluate(request.user),
    }
    return render_maybe_partial(
        request, "access/compliance.html", "access/_finding_results.html", context
    )


@permission("access.view_finding")
@require_POST
def compliance_evaluate(request: HttpRequest) -> HttpResponse:
    """Evaluate every rule for everyone now (evaluate_all) and say what changed."""
    if not may_evaluate(request.user):
        raise PermissionDenied
    summary = compliance_rules.evaluate_all(actor=request.user)
    messages.success(
        request,
        _(
            "Evaluated: %(open)d open findings, %(opened)d new, %(resolved)d resolved since "
            "the last evaluation."
        )
        % {
            "open": summary.total_open,
            "opened": summary.total_opened,
            "resolved": summary.total_resolved,
        },
    )
    return redirect("access:compliance")
