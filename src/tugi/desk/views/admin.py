"""Desk settings (`desk.manage_desk`): queues and their members, SLA policies, routing rules in
the order they are tried, and reply templates. Each change goes through `admin_actions`."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tugi.desk import admin_actions, queries
from tugi.desk.forms import (
    QueueForm,
    ReplyTemplateForm,
    RoutingRuleForm,
    SlaPolicyForm,
    add_action_errors,
)
from tugi.desk.models import Queue, ReplyTemplate, RoutingRule, SlaPolicy
from tugi.desk.views._common import duration, permission

MANAGE = "desk.manage_desk"


@permission(MANAGE)
def settings_home(request: HttpRequest) -> HttpResponse:
    """Everything the desk is set up with, on one page."""
    queues = list(Queue.objects.annotate(member_count=Count("members")).order_by("-active", "name"))
    policies = list(SlaPolicy.objects.order_by("priority", "category"))
    for policy in policies:
        policy.priority_label = queries.priority_label(policy.priority)  # type: ignore[attr-defined]
        policy.first_label = duration(policy.first_response_minutes * 60)  # type: ignore[attr-defined]
        policy.resolution_label = duration(policy.resolution_minutes * 60)  # type: ignore[attr-defined]
    context = {
        "queues": queues,
        "policies": policies,
        "rules": list(
            RoutingRule.objects.select_related("system", "queue", "assignee").order_by(
                "order", "id"
            )
        ),
        "templates": list(ReplyTemplate.objects.order_by("name")),
    }
    return render(request, "desk/settings.html", context)


def _edit(
    request: HttpRequest,
    *,
    form_class: type[forms.ModelForm],
    instance: Model | None,
    create: Any,
    update: Any,
    title: str,
    saved: str,
) -> HttpResponse:
    """A create or edit page for one settings record, saved through its action."""
    form = form_class(
        request.POST or None,
        # The form validates its own copy: a refused edit must not change the page's title.
        instance=type(instance)._default_manager.get(pk=instance.pk) if instance else None,
    )
    if request.method == "POST" and form.is_valid():
        data = form.action_data()  # type: ignore[attr-defined]
        try:
            obj = (
                update(request.user, instance, **data) if instance else create(request.user, **data)
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, saved % {"name": obj})
            return redirect("desk:settings")
    return render(
        request,
        "desk/settings_form.html",
        {"form": form, "title": title, "instance": instance},
    )


@permission(MANAGE)
def queue_create(request: HttpRequest) -> HttpResponse:
    return _edit(
        request,
        form_class=QueueForm,
        instance=None,
        create=admin_actions.create_queue,
        update=admin_actions.update_queue,
        title=_("New queue"),
        saved=_("The queue “%(name)s” was added."),
    )


@permission(MANAGE)
def queue_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(
        request,
        form_class=QueueForm,
        instance=get_object_or_404(Queue, pk=pk),
        create=admin_actions.create_queue,
        update=admin_actions.update_queue,
        title=_("Edit the queue"),
        saved=_("Changes to the queue “%(name)s” were saved."),
    )


@permission(MANAGE)
def sla_policy_create(request: HttpRequest) -> HttpResponse:
    return _edit(
        request,
        form_class=SlaPolicyForm,
        instance=None,
        create=admin_actions.create_sla_policy,
        update=admin_actions.update_sla_policy,
        title=_("New SLA policy"),
        saved=_("The SLA policy “%(name)s” was added."),
    )


@permission(MANAGE)
def sla_policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(
        request,
        form_class=SlaPolicyForm,
        instance=get_object_or_404(SlaPolicy, pk=pk),
        create=admin_actions.create_sla_policy,
        update=admin_actions.update_sla_policy,
        title=_("Edit the SLA policy"),
        saved=_("Changes to the SLA policy “%(name)s” were saved."),
    )


@permission(MANAGE)
def routing_rule_create(request: HttpRequest) -> HttpResponse:
    return _edit(
        request,
        form_class=RoutingRuleForm,
        instance=None,
        create=admin_actions.create_routing_rule,
        update=admin_actions.update_routing_rule,
        title=_("New routing rule"),
        saved=_("The routing rule “%(name)s” was added."),
    )


@permission(MANAGE)
def routing_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(
        request,
        form_class=RoutingRuleForm,
        instance=get_object_or_404(RoutingRule, pk=pk),
        create=admin_actions.create_routing_rule,
        update=admin_actions.update_routing_rule,
        title=_("Edit the routing rule"),
        saved=_("Changes to the routing rule “%(name)s” were saved."),
    )


@permission(MANAGE)
@require_POST
def routing_rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a rule one place up or down in the order rules are tried."""
    rule = get_object_or_404(RoutingRule, pk=pk)
    try:
        admin_actions.move_routing_rule(request.user, rule, request.POST.get("direction", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(reverse("desk:settings") + "#routing-rules")


@permission(MANAGE)
def reply_template_create(request: HttpRequest) -> HttpResponse:
    return _edit(
        request,
        form_class=ReplyTemplateForm,
        instance=None,
        create=admin_actions.create_reply_template,
        update=admin_actions.update_reply_template,
        title=_("New reply template"),
        saved=_("The reply template “%(name)s” was added."),
    )


@permission(MANAGE)
def reply_template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(
        request,
        form_class=ReplyTemplateForm,
        instance=get_object_or_404(ReplyTemplate, pk=pk),
        create=admin_actions.create_reply_template,
        update=admin_actions.update_reply_template,
        title=_("Edit the reply template"),
        saved=_("Changes to the reply template “%(name)s” were saved."),
    )
