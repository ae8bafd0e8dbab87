"""The desk's case page: header, SLA, links, escalations, the full history, and the action panels.

Every panel is a form that posts to its own address and calls one action; success redirects back
to the case with a message, a refusal shows the page again with the panel open and the action's
errors on its fields. Domain specialists see the same page with only the internal-note and time
panels. Attachments are served only as downloads, by a view that checks who may see them.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tugi.desk import actions, queries, sla
from tugi.desk.forms import (
    AssignForm,
    CaseNumberForm,
    ClassifyForm,
    EscalateForm,
    NoteForm,
    PriorityForm,
    ReferenceForm,
    ReopenForm,
    ReplyForm,
    RequesterForm,
    ResolveForm,
    StatusForm,
    TagsForm,
    TimeForm,
    add_action_errors,
)
from tugi.desk.models import Attachment, Case, Escalation, Message, ReplyTemplate
from tugi.desk.views._common import (
    desk_side,
    duration,
    minutes_label,
    module_options_of,
    relative,
    working_time_left,
)

Kind = Message.Kind


def _desk_case(request: HttpRequest, pk: int) -> Case:
    """The case, for someone on the desk's side of it; its requester is sent to the portal."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    case = queries.case_for_page(pk)
    if not user.has_perm("desk.view_case"):
        raise PermissionDenied
    if case is None:
        raise Http404
    if not desk_side(user, case):
        raise PermissionDenied
    return case


# --- how the page shows things ------------------------------------------------------------------


def _safe_html(markup: str) -> SafeString:
    """Mail HTML, sanitised once more on display (the intake sanitised it when it arrived)."""
    from tugi.desk.mail.parse import sanitise_html

    return mark_safe(sanitise_html(markup))  # noqa: S308 - sanitised by nh3 just above


@dataclass
class Entry:
    """One item of the case's history: a message or a change."""

    at: datetime.datetime
    kind: str  # a Message.Kind, or "event"
    message: Message | None = None
    event: queries.HistoryEvent | None = None
    html: SafeString | None = None
    resolution: bool = False


def _history(case: Case, escalations: list[Escalation]) -> list[Entry]:
    resolutions = queries.resolution_message_ids(case)
    entries = [
        Entry(
            m.created_at,
            m.kind,
            message=m,
            html=_safe_html(m.body_html) if m.body_html else None,
            resolution=m.pk in resolutions,
        )
        for m in queries.messages_of(case, public_only=False)
    ]
    entries += [
        Entry(e.at, "event", event=e)
        for e in queries.system_events(case, [x.pk for x in escalations])
    ]
    entries.sort(key=lambda e: e.at)
    return entries


@dataclass
class SlaView:
    """The SLA of the case in words."""

    status: str
    status_label: str
    target_label: str
    left: str
    due: datetime.datetime | None
    due_relative: str
    level: str  # ok, warning, breached, paused, none
    first_response_breached: bool
    resolution_breached: bool
    used: str


def _sla_view(case: Case, now: datetime.datetime) -> SlaView:
    state = sla.state(case, now)
    labels = {
        "running": _("running"),
        "paused": _("paused"),
        "stopped": _("stopped"),
        "none": _("no SLA policy"),
    }
    targets = {"first_response": _("First response"), "resolution": _("Resolution")}
    level = queries.due_marks([case], now)[case.pk].level
    if state.remaining_seconds is not None and state.remaining_seconds < 0:
        level = "breached"
    return SlaView(
        status=state.status,
        status_label=labels[state.status],
        target_label=str(targets.get(state.target or "", "")),
        left=working_time_left(state.remaining_seconds)
        if state.remaining_seconds is not None
        else "",
        due=state.due,
        due_relative=relative(state.due, now) if state.due else "",
        level=level if state.status == "running" else state.status,
        first_response_breached=state.first_response_breached,
        resolution_breached=state.resolution_breached,
        used=duration(state.used_seconds),
    )


def _requester_link(request: HttpRequest, case: Case) -> str:
    if case.requester_id and request.user.has_perm("people.view_person"):
        return reverse("people:person_detail", args=[case.requester_id])
    return ""


# --- the page -----------------------------------------------------------------------------------

# The panels of the page: (name, form class). The name is the form's prefix and its address.
PANELS: dict[str, type[forms.Form]] = {
    "reply": ReplyForm,
    "note": NoteForm,
    "assign": AssignForm,
    "status": StatusForm,
    "priority": PriorityForm,
    "classify": ClassifyForm,
    "requester": RequesterForm,
    "tags": TagsForm,
    "time": TimeForm,
    "escalate": EscalateForm,
    "resolve": ResolveForm,
    "reopen": ReopenForm,
    "parent": CaseNumberForm,
    "duplicate": CaseNumberForm,
    "merge": CaseNumberForm,
}


def _initial_reply(request: HttpRequest, case: Case) -> dict[str, Any]:
    """The reply form's text when a template was picked without JavaScript (`?reply-template=`)."""
    raw = request.GET.get("reply-template", "")
    if not raw.isdigit():
        return {}
    template = ReplyTemplate.objects.filter(pk=int(raw)).first()
    if template is None:
        return {}
    return {"template": template.pk, "body": _fill(request, case, template)}


def _fill(request: HttpRequest, case: Case, template: ReplyTemplate) -> str:
    try:
        return actions.render_placeholders(
            template.body, actions.placeholder_values(request.user, case)
        )
    except ValidationError:
        return template.body


def _form(
    name: str, case: Case, bound: dict[str, forms.Form], assignable: list[Any], **initial: Any
) -> forms.Form:
    if name in bound:
        return bound[name]
    cls = PANELS[name]
    kwargs: dict[str, Any] = {"prefix": name, "initial": initial or None}
    if cls is AssignForm:
        kwargs["assignable"] = assignable
    if cls is CaseNumberForm and name == "parent":
        kwargs["required"] = False
    return cls(**kwargs)


def _case_page(
    request: HttpRequest,
    case: Case,
    *,
    bound: dict[str, forms.Form] | None = None,
    open_panel: str = "",
    reference_forms: dict[int, ReferenceForm] | None = None,
    merge_target: Case | None = None,
) -> HttpResponse:
    bound = bound or {}
    user = request.user
    now = timezone.now()
    works = user.has_perm("desk.work_case")
    escalations = list(case.escalations.select_related("queue", "created_by").order_by("id"))
    reference_forms = reference_forms or {}
    for escalation in escalations:
        escalation.reference_form = reference_forms.get(  # type: ignore[attr-defined]
            escalation.pk,
            ReferenceForm(
                prefix=f"ref{escalation.pk}",
                initial={
                    "external_reference": escalation.external_reference,
                    "external_url": escalation.external_url,
                },
            ),
        )
    assignable = queries.assignable_users() if works else []
    tags = list(case.tags.all())
    children = list(case.children.only("id", "subject", "status").order_by("id"))
    descendants = queries.open_descendants(case) if works and case.is_open else []
    panel_forms: dict[str, forms.Form] = {}
    if works:
        panel_forms = {
            "reply": _form("reply", case, bound, assignable, **_initial_reply(request, case)),
            "assign": _form(
                "assign", case, bound, assignable, queue=case.queue_id, assignee=case.assignee_id
            ),
            "status": _form("status", case, bound, assignable, status=case.status),
            "priority": _form(
                "priority", case, bound, assignable, impact=case.impact, urgency=case.urgency
            ),
            "classify": _form(
                "classify",
                case,
                bound,
                assignable,
                category=case.category,
                system=case.system_id,
                module=case.module,
            ),
            "tags": _form("tags", case, bound, assignable, tags=", ".join(t.name for t in tags)),
            "escalate": _form("escalate", case, bound, assignable),
            "resolve": _form("resolve", case, bound, assignable),
            "reopen": _form("reopen", case, bound, assignable),
            "parent": _form(
                "parent",
                case,
                bound,
                assignable,
                number=str(case.parent_id) if case.parent_id else "",
            ),
            "duplicate": _form("duplicate", case, bound, assignable),
            "merge": _form("merge", case, bound, assignable),
        }
        if case.requester_id is None:
            panel_forms["requester"] = _form("requester", case, bound, assignable)
    can_note = actions.can_note(user, case)
    if can_note:
        panel_forms["note"] = _form("note", case, bound, assignable)
        panel_forms["time"] = _form("time", case, bound, assignable)
    context = {
        "case": case,
        "works": works,
        "can_note": can_note,
        "sla": _sla_view(case, now),
        "priority": queries.priority_label(case.priority),
        "assignee_label": queries.user_label(case.assignee),
        "requester_url": _requester_link(request, case),
        "tags": tags,
        "children": children,
        "duplicates": list(case.duplicates.only("id", "subject", "status").order_by("id")),
        "merged_cases": list(case.merged_cases.only("id", "subject").order_by("id")),
        "escalations": escalations,
        "time_spent": minutes_label(queries.time_spent(case)),
        "history": _history(case, escalations),
        "forms": panel_forms,
        "open_panel": open_panel,
        "templates": queries.reply_templates() if works else [],
        "requester_suggestions": queries.requester_suggestions(case) if works else [],
        "module_options": module_options_of(case.system_id) if works else [],
        "open_descendants": descendants,
        "resolve_note": ngettext(
            "Resolving this case also resolves its open child case %(list)s with the same text.",
            "Resolving this case also resolves its %(n)d open child cases (%(list)s) with the "
            "same text.",
            len(descendants),
        )
        % {"n": len(descendants), "list": ", ".join(f"#{c.pk}" for c in descendants)}
        if descendants
        else "",
        "merge_target": merge_target,
        "now": now,
    }
    return render(request, "desk/case.html", context)


@never_cache
@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The case page for the desk (and for specialists of a group it is escalated to)."""
    user = request.user
    if not user.has_perm("desk.view_case"):
        case = Case.objects.filter(pk=pk).first()
        if case is not None and actions.is_requester(user, case):
            return redirect("desk:my_case", pk=pk)
        raise PermissionDenied
    return _case_page(request, _desk_case(request, pk))


@login_required
@require_GET
def template_text(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the reply field filled with the chosen template, placeholders replaced."""
    case = _desk_case(request, pk)
    if not request.user.has_perm("desk.work_case"):
        raise PermissionDenied
    initial = _initial_reply(request, case)
    form = ReplyForm(prefix="reply", initial=initial)
    return render(request, "desk/_reply_body.html", {"field": form["body"]})


# --- the panels' actions ------------------------------------------------------------------------

Run = Callable[[HttpRequest, Case, Any], str]


def _panel_view(name: str, run: Run, *, note_only: bool = False) -> Callable[..., HttpResponse]:
    """A POST view for one panel: parse its form, call the action, redirect or show the errors."""

    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        case = _desk_case(request, pk)
        if note_only:
            if not actions.can_note(request.user, case):
                raise PermissionDenied
        elif not request.user.has_perm("desk.work_case"):
            raise PermissionDenied
        cls = PANELS[name]
        kwargs: dict[str, Any] = {"prefix": name}
        if cls is AssignForm:
            kwargs["assignable"] = queries.assignable_users()
        if cls is CaseNumberForm and name == "parent":
            kwargs["required"] = False
        form = cls(request.POST, request.FILES, **kwargs)
        merge_target = None
        if form.is_valid():
            if name == "merge" and not form.cleaned_data.get("confirm"):
                # The confirm step: show what will happen, with a button that confirms it.
                merge_target = form.cleaned_data["number"]
                form = cls(
                    prefix=name,
                    initial={"number": str(merge_target.pk), "confirm": True},
                )
            else:
                try:
                    done = run(request, case, form.cleaned_data)
                except ValidationError as exc:
                    _errors_to_form(form, exc, name)
                else:
                    messages.success(request, done)
                    target = case.merged_into_id if name == "merge" else None
                    case_url = reverse("desk:case", args=[target or case.pk])
                    return redirect(case_url + ("#history" if name in ("reply", "note") else ""))
        fresh = queries.case_for_page(case.pk) or case
        return _case_page(
            request, fresh, bound={name: form}, open_panel=name, merge_target=merge_target
        )

    view.__name__ = view.__qualname__ = f"case_{name}"
    view.__doc__ = f"Post the case page's “{name}” panel."
    return view


# The action names some fields differently from the panel's form.
_FIELD_ALIASES = {
    "parent": {"parent": "number"},
    "duplicate": {"original": "number"},
    "merge": {"target": "number", "source": "number"},
    "resolve": {},
    "reply": {},
}


def _errors_to_form(form: forms.Form, exc: ValidationError, panel: str) -> None:
    aliases = _FIELD_ALIASES.get(panel, {})
    if hasattr(exc, "error_dict"):
        renamed = ValidationError(
            {aliases.get(key, key): errors for key, errors in exc.error_dict.items()}
        )
        add_action_errors(form, renamed)
    else:
        add_action_errors(form, exc)


def _reply(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    actions.reply(
        request.user,
        case,
        data["body"],
        set_status=data["set_status"] or None,
        attachments=data["attachments"],
    )
    if data["set_status"] == Case.Status.WAITING_REQUESTER:
        return _("The reply was sent; the case waits for the requester.")
    return _("The reply was sent to the requester.")


def _note(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    actions.add_note(request.user, case, data["body"], attachments=data["attachments"])
    return _("The internal note was added.")


def _assign(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    actions.assign(request.user, case, queue=data["queue"], assignee=data["assignee"])
    return _("The case was assigned.")


def _assign_me(request: HttpRequest, pk: int) -> HttpResponse:
    case = _desk_case(request, pk)
    actions.assign(request.user, case, assignee=request.user)
    messages.success(request, _("The case is now yours."))
    return redirect("desk:case", pk=pk)


@login_required
@require_POST
def case_take(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign the case to oneself, in its queue."""
    if not request.user.has_perm("desk.work_case"):
        raise PermissionDenied
    try:
        return _assign_me(request, pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("desk:case", pk=pk)


def _status(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    actions.set_status(request.user, case, data["status"], reason=data["reason"])
    return _("The status was changed.")


def _priority(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    actions.set_priority(request.user, case, impact=data["impact"], urgency=data["urgency"])
    return _("Impact and urgency were changed; the SLA follows the new priority.")


def _classify(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    before = (case.queue_id, case.sla_policy_id, case.sla_due)
    actions.classify(
        request.user,
        case,
        category=data["category"],
        system=data["system"],
        module=data["module"],
        reroute=data["reroute"],
    )
    if data["reroute"] and case.queue_id != before[0]:
        return _("The case was classified and routed to the queue “%(queue)s”.") % {
            "queue": case.queue.name
        }
    if (case.sla_policy_id, case.sla_due) != before[1:]:
        return _("The case was classified; the SLA follows the new category.")
    return _("The case was classified.")


def _requester(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    person = data["requester"]
    actions.link_requester(request.user, case, person)
    return _("%(person)s is now the requester of the case.") % {"person": person.full_name}


def _tags(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    actions.set_tags(request.user, case, data["tags"])
    return _("The tags were saved.")


def _time(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    actions.log_time(request.user, case, data["minutes"], data["note"])
    return _("%(time)s logged.") % {"time": minutes_label(data["minutes"])}


def _escalate(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    kind = data["kind"]
    specialists = kind == Escalation.Kind.SPECIALISTS
    escalation = actions.escalate(
        request.user,
        case,
        kind=kind,
        queue=data["queue"] if specialists else None,
        party_name=data["party_name"],
        party_email=data["party_email"] if not specialists else "",
        summary=data["summary"],
        due_at=data["due_at"],
        external_reference=data["external_reference"],
        external_url=data["external_url"],
    )
    if specialists:
        return _("The case was escalated to %(group)s.") % {"group": escalation.queue}
    return _("The case was escalated to %(party)s; the request is on its way by e-mail.") % {
        "party": escalation.party_name or escalation.party_email
    }


def _resolve(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    children = queries.open_descendants(case)
    actions.resolve(request.user, case, resolution=data["resolution"])
    if children:
        return ngettext(
            "The case and its %(n)d open child case were resolved.",
            "The case and its %(n)d open child cases were resolved.",
            len(children),
        ) % {"n": len(children)}
    return _("The case was resolved; the requester was sent the resolution.")


def _reopen(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    actions.reopen(request.user, case, data["reason"])
    return _("The case was reopened.")


def _parent(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    parent = data["number"]
    actions.link_parent(request.user, case, parent)
    if parent is None:
        return _("The case is no longer under a parent case.")
    return _("The case is now under %(parent)s.") % {"parent": parent.reference}


def _duplicate(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    original = data["number"]
    actions.mark_duplicate(request.user, case, original)
    return _("The case was resolved as a duplicate of %(original)s.") % {
        "original": original.reference
    }


def _merge(request: HttpRequest, case: Case, data: dict[str, Any]) -> str:
    target = data["number"]
    actions.merge(request.user, case, target)
    case.merged_into_id = target.pk
    return _("%(source)s was merged into this case.") % {"source": case.reference}


case_reply = _panel_view("reply", _reply)
case_note = _panel_view("note", _note, note_only=True)
case_assign = _panel_view("assign", _assign)
case_status = _panel_view("status", _status)
case_priority = _panel_view("priority", _priority)
case_classify = _panel_view("classify", _classify)
case_requester = _panel_view("requester", _requester)
case_tags = _panel_view("tags", _tags)
case_time = _panel_view("time", _time, note_only=True)
case_escalate = _panel_view("escalate", _escalate)
case_resolve = _panel_view("resolve", _resolve)
case_reopen = _panel_view("reopen", _reopen)
case_parent = _panel_view("parent", _parent)
case_duplicate = _panel_view("duplicate", _duplicate)
case_merge = _panel_view("merge", _merge)


@login_required
@require_POST
def case_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a resolved case."""
    case = _desk_case(request, pk)
    try:
        actions.close(request.user, case)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The case was closed."))
    return redirect("desk:case", pk=pk)


# --- escalations --------------------------------------------------------------------------------


def _escalation(request: HttpRequest, pk: int, escalation_pk: int) -> Escalation:
    case = _desk_case(request, pk)
    if not request.user.has_perm("desk.work_case"):
        raise PermissionDenied
    return get_object_or_404(Escalation, pk=escalation_pk, case=case)


@login_required
@require_POST
def escalation_reference(request: HttpRequest, pk: int, escalation_pk: int) -> HttpResponse:
    """Record the third party's reference and link for an escalation."""
    escalation = _escalation(request, pk, escalation_pk)
    form = ReferenceForm(request.POST, prefix=f"ref{escalation.pk}")
    if form.is_valid():
        try:
            actions.set_external_reference(
                request.user,
                escalation,
                form.cleaned_data["external_reference"],
                form.cleaned_data["external_url"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Their reference was saved."))
            return redirect(reverse("desk:case", args=[pk]) + f"#escalation-{escalation.pk}")
    case = queries.case_for_page(pk)
    assert case is not None
    return _case_page(request, case, reference_forms={escalation.pk: form})


@login_required
@require_POST
def escalation_close(request: HttpRequest, pk: int, escalation_pk: int) -> HttpResponse:
    """Close an escalation (a case that waited only for it is open again)."""
    escalation = _escalation(request, pk, escalation_pk)
    try:
        actions.close_escalation(request.user, escalation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The escalation was closed."))
    return redirect(reverse("desk:case", args=[pk]) + f"#escalation-{escalation.pk}")


# --- attachments --------------------------------------------------------------------------------


@never_cache
@login_required
def attachment(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Download an attachment: never shown inline, only to those who may see its message.

    The requester gets the files of their own case's public messages; the desk and the
    specialists of the case get every file. Anyone else gets 404, so ids tell nothing.
    """
    item = get_object_or_404(Attachment.objects.select_related("message__case"), pk=pk)
    message, case = item.message, item.message.case
    allowed = desk_side(request.user, case) or (
        message.is_public and actions.is_requester(request.user, case)
    )
    if not allowed:
        raise Http404
    try:
        handle = item.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=item.filename,
        content_type=item.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Even if a browser were to render it, it gets no scripts, no styles, no origin.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
