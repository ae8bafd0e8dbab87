"""Core pages: home, health check, the audit log and user management."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tugi.core import actions, queries
from tugi.core.forms import AuditFilterForm, UserCreateForm, UserRolesForm
from tugi.core.models import AuditEvent
from tugi.core.roles import ROLE_LABELS
from tugi.people import actions as people_actions
from tugi.people import view_log
from tugi.people.models import Person


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for a load balancer: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


TRAIL = "core.audit.view_person_trail"


@login_required
@permission_required("core.view_auditevent", raise_exception=True)
def audit_list(request: HttpRequest) -> HttpResponse:
    """The auditor's view of the log: filter by person, actor, action, object and period."""
    form = AuditFilterForm(request.GET or None)
    events: list[AuditEvent] = []
    next_before = None
    subject = None
    if form.is_bound and not form.is_valid():
        pass  # errors are shown on the form; no query with half a filter
    else:
        data = form.cleaned_data if form.is_bound else {}
        f = queries.AuditFilter(**{k: v for k, v in data.items() if v not in (None, "")})
        events, next_before = queries.page(
            queries.filtered_events(f), _int_or_none(request.GET.get("before"))
        )
        if f.person is not None:
            subject = Person.objects.filter(pk=f.person).first()
            # Reading one person's trail is itself a read of their personal data: log it, with
            # the auditor's role duty as the purpose, at most once per auditor, person and
            # purpose in view_log.WINDOW, so paging through the trail writes nothing more.
            view_log.log_once(
                request.user,
                TRAIL,
                f.person,
                view_log.purpose_of(request.user, TRAIL),
                subject,
                object_type="people.person",
                object_id=str(f.person),
            )
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "form": form,
        "events": events,
        "subject": subject,
        "next_url": f"?{query.urlencode()}&before={next_before}" if next_before else "",
    }
    template = "core/_audit_rows.html" if request.htmx else "core/audit_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
@permission_required("core.view_auditevent", raise_exception=True)
def audit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(AuditEvent, pk=pk)
    keys = sorted(set(event.before or {}) | set(event.after or {}))
    changes = [((k, (event.before or {}).get(k), (event.after or {}).get(k))) for k in keys]
    return render(request, "core/audit_detail.html", {"event": event, "changes": changes})


@login_required
@permission_required("core.manage_users", raise_exception=True)
def user_list(request: HttpRequest) -> HttpResponse:
    users = User.objects.order_by("username").prefetch_related("groups").select_related("person")
    q = request.GET.get("q", "").strip()
    if q:
        users = users.filter(username__icontains=q)
    rows = [
        {"user": u, "roles": [ROLE_LABELS.get(g.name, g.name) for g in u.groups.all()]}  # type: ignore[call-overload]
        for u in users[:500]
    ]
    return render(request, "core/user_list.html", {"rows": rows, "q": q})


@login_required
@permission_required("core.manage_users", raise_exception=True)
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                user = actions.create_user(
                    request.user,
                    username=data["username"],
                    password=data["password"] or None,
                    roles=data["roles"],
                    email=data["person_email"].email if data["person_email"] else "",
                )
                if data["person_email"]:
                    people_actions.update_person(request.user, data["person_email"], user=user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
            return redirect("core:user_list")
    return render(request, "core/user_form.html", {"form": form})


@login_required
@permission_required("core.manage_users", raise_exception=True)
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    initial = {
        "roles": list(user.groups.values_list("name", flat=True)),
        "is_active": user.is_active,
    }
    form = UserRolesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                actions.set_user_roles(request.user, user, form.cleaned_data["roles"])
                actions.set_user_active(request.user, user, form.cleaned_data["is_active"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("User %(name)s saved.") % {"name": user.username})
            return redirect("core:user_list")
    return render(request, "core/user_form.html", {"form": form, "edited": user})
