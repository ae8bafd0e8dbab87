"""The HR import pages: upload a file, see its preview, apply or discard it, follow its progress.

Upload → preview page (counts, refused rows with their reasons, the changes planned) → "Apply
the N valid rows" (POST) or "Discard". A small file is applied during the click; a large one by
the worker, while the page polls a progress bar (htmx) and reloads itself when it is done.
"""

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tugi.people.forms import add_action_errors
from tugi.people.imports import labels
from tugi.people.imports.actions import apply_import, discard_import, may_import, preview_import
from tugi.people.imports.forms import ImportUploadForm
from tugi.people.imports.upkeep import is_stalled, stale_minutes
from tugi.people.models import Absence, DataImport
from tugi.people.views import _is_partial, permission

ERRORS_PER_PAGE = 50
IMPORTS_PER_PAGE = 25
# How often the progress bar asks (htmx polling).
POLL = "every 1s"
# The counts an applied import shows (the rest of its summary is the preview's).
CATEGORY_KEYS = {"joiner", "mover", "leaver", "updated", "unchanged", "new", "changed"}


def _kinds(user: Any) -> list[str]:
    return [k for k in DataImport.Kind.values if may_import(user, k)]


def _list_page(
    request: HttpRequest, form: ImportUploadForm | None, status: int = 200
) -> HttpResponse:
    kinds = _kinds(request.user)
    if form is None and kinds:
        form = ImportUploadForm(kinds=kinds)
    imports = DataImport.objects.select_related("created_by", "applied_by").order_by("-id")
    page = Paginator(imports, IMPORTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "people/import_list.html",
        {"form": form, "page": page, "imports": page.object_list},
        status=status,
    )


@permission("people.view_dataimport")
def import_list(request: HttpRequest) -> HttpResponse:
    """Past imports, newest first, and the upload form for those who may import."""
    return _list_page(request, None)


@require_POST
@permission("people.view_dataimport")
def import_upload(request: HttpRequest) -> HttpResponse:
    """Read and check the uploaded file, then show its preview (nothing is applied)."""
    kinds = _kinds(request.user)
    if not kinds:
        raise PermissionDenied
    form = ImportUploadForm(request.POST, request.FILES, kinds=kinds)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            data_import = preview_import(
                request.user, form.cleaned_data["kind"], upload.name, upload.read()
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            return redirect("people:import_detail", pk=data_import.pk)
    return _list_page(request, form, status=400)


def _counts(data_import: DataImport, source: dict[str, Any]) -> list[tuple[str, Any, int]]:
    return [
        (key, label, source.get(key, 0))
        for key, label in labels.counts_for(data_import.kind).items()
    ]


def _changes(data_import: DataImport) -> list[tuple[Any, list[dict[str, Any]], int]]:
    """The personnel changes the preview lists, by category, with readable field names."""
    listed = data_import.summary.get("changes", {})
    found = []
    for category in ("joiner", "mover", "leaver", "updated"):
        rows = listed.get(category) or []
        if not rows:
            continue
        shown = [
            {
                **r,
                "changed_labels": [str(labels.CHANGED.get(f, f)) for f in r.get("changed", [])],
                "end_date": datetime.date.fromisoformat(r["end"]) if r.get("end") else None,
            }
            for r in rows
        ]
        found.append((labels.HR_COUNTS[category], shown, int(data_import.summary.get(category, 0))))
    return found


def _not_in_file(data_import: DataImport) -> list[dict[str, Any]]:
    rows = data_import.summary.get("not_in_file_list") or []
    return [
        {
            **r,
            "kind_label": Absence.Kind(r["kind"]).label if r["kind"] in Absence.Kind.values else "",
            "start": datetime.date.fromisoformat(r["starts_on"]),
            "end": datetime.date.fromisoformat(r["ends_on"]),
        }
        for r in rows
    ]


def _progress_context(data_import: DataImport) -> dict[str, Any]:
    total = max(data_import.valid_rows, 1)
    return {
        "data_import": data_import,
        "percent": min(100, round(100 * data_import.progress / total)),
        "poll": POLL,
        # No sign of life for a while: the process applying it has probably died; say so (the
        # worker resumes it, or resets it with the reason).
        "stalled": is_stalled(data_import),
        "stale_minutes": stale_minutes(),
        "resumed": max(data_import.attempts - 1, 0),
    }


@permission("people.view_dataimport")
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One import: its preview or its outcome, the refused rows a page at a time."""
    data_import = get_object_or_404(DataImport.objects.select_related("created_by"), pk=pk)
    errors = Paginator(data_import.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    applied = data_import.summary.get("applied") or {}
    context = {
        **_progress_context(data_import),
        "counts": _counts(data_import, data_import.summary),
        "applied_counts": [
            c for c in _counts(data_import, applied.get("counts", {})) if c[0] in CATEGORY_KEYS
        ],
        "access_counts": [
            (label, applied.get("access", {}).get(key, 0))
            for key, label in labels.ACCESS_COUNTS.items()
            if applied.get("access", {}).get(key)
        ],
        "problems": (applied.get("access", {}).get("problems") or applied.get("problems") or []),
        "errors": errors,
        "error_rows": [
            {**e, "field_label": labels.FIELDS.get(e["field"], e["field"])} for e in errors
        ],
        "changes": _changes(data_import) if data_import.kind == DataImport.Kind.PERSONS else [],
        "not_in_file": _not_in_file(data_import),
        "may_change": may_import(request.user, data_import.kind),
        "ignored": data_import.summary.get("ignored") or [],
    }
    if _is_partial(request) and request.GET.get("page"):
        return render(request, "people/_import_errors.html", context)
    return render(request, "people/import_detail.html", context)


@permission("people.view_dataimport")
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar (polled by htmx); once the import is no longer running, reload the page."""
    data_import = get_object_or_404(DataImport, pk=pk)
    response = render(request, "people/_import_progress.html", _progress_context(data_import))
    if data_import.state != DataImport.State.APPLYING:
        response["HX-Redirect"] = reverse("people:import_detail", args=[pk])
    return response


@require_POST
@permission("people.view_dataimport")
def import_apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply the valid rows (the explicit decision the preview asks for)."""
    data_import = get_object_or_404(DataImport, pk=pk)
    if not may_import(request.user, data_import.kind):
        raise PermissionDenied
    try:
        data_import = apply_import(request.user, data_import)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if data_import.state == DataImport.State.APPLIED:
            messages.success(
                request,
                _("The import was applied: %(count)d rows.") % {"count": data_import.valid_rows},
            )
        elif data_import.state == DataImport.State.FAILED:
            messages.error(request, _("The import failed; nothing more was changed."))
    return redirect("people:import_detail", pk=pk)


@require_POST
@permission("people.view_dataimport")
def import_discard(request: HttpRequest, pk: int) -> HttpResponse:
    """Throw the import away: nothing it lists is applied."""
    data_import = get_object_or_404(DataImport, pk=pk)
    if not may_import(request.user, data_import.kind):
        raise PermissionDenied
    try:
        discard_import(request.user, data_import)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The import was discarded; nothing was changed."))
    return redirect("people:import_list")
