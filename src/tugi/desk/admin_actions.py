"""Actions on the desk's settings: queues, SLA policies, routing rules and reply templates.

Each action needs `desk.manage_desk`, validates with the model's full_clean plus its own checks
(a ValidationError naming the field and the reason; then nothing is saved), and writes the change
with its audit event (`desk.queue.*`, `desk.sla_policy.*`, `desk.routing_rule.*`,
`desk.reply_template.*`) in one transaction.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from tugi.core import audit
from tugi.core.permissions import Actor, require
from tugi.core.validation import assign_fields, save_validated
from tugi.desk import actions
from tugi.desk.models import Case, Queue, ReplyTemplate, RoutingRule, SlaPolicy

PERMISSION = "desk.manage_desk"

QUEUE_FIELDS = ["code", "name", "name_en", "kind", "email", "active"]
SLA_POLICY_FIELDS = [
    "name",
    "priority",
    "category",
    "first_response_minutes",
    "resolution_minutes",
    "warn_before_minutes",
]
ROUTING_RULE_FIELDS = [
    "order",
    "name",
    "system",
    "category",
    "keyword",
    "queue",
    "assignee",
    "active",
]
REPLY_TEMPLATE_FIELDS = ["name", "language", "body"]


def _changed(actor: Actor, action: str, obj: models.Model, before: dict[str, Any]) -> None:
    b, a = audit.diff(before, audit.snapshot(obj))
    if b or a:
        audit.record(actor, action, obj, before=b, after=a)


# --- queues -------------------------------------------------------------------------------------


def _queue_snapshot(queue: Queue) -> dict[str, Any]:
    return {
        **audit.snapshot(queue, QUEUE_FIELDS),
        "members": sorted(queue.members.values_list("id", flat=True)) if queue.pk else [],
    }


def _check_queue(queue: Queue, members: list[User] | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    queue.code = (queue.code or "").strip().upper()
    queue.email = (queue.email or "").strip().lower()
    if queue.code and Queue.objects.filter(code__iexact=queue.code).exclude(pk=queue.pk).exists():
        errors["code"] = _("Another queue already has the code “%(code)s”.") % {"code": queue.code}
    if members is not None and any(not user.is_active for user in members):
        errors["members"] = _("Only active users can be members of a queue.")
    if queue.pk and not queue.active:
        in_use = Case.objects.filter(queue=queue, status__in=actions.OPEN_STATUSES)
        if in_use.exists():
            errors["active"] = _(
                "The queue still has open cases: move them to another queue first."
            )
    return errors


def create_queue(actor: Actor, *, members: Iterable[User] = (), **data: Any) -> Queue:
    """Add a work queue of the desk or a group of domain specialists, with its members."""
    require(actor, PERMISSION)
    queue = Queue()
    assign_fields(queue, data, QUEUE_FIELDS, strip=True)
    member_list = list(members)
    with transaction.atomic():
        save_validated(queue, _check_queue(queue, member_list))
        queue.members.set(member_list)
        audit.record(actor, "desk.queue.create", queue, after=_queue_snapshot(queue))
    return queue


def update_queue(
    actor: Actor, queue: Queue, *, members: Iterable[User] | None = None, **data: Any
) -> Queue:
    """Change a queue's names, address, kind, members, or retire it (once it has no open cases)."""
    require(actor, PERMISSION)
    member_list = list(members) if members is not None else None
    with transaction.atomic():
        queue = Queue.objects.select_for_update().get(pk=queue.pk)
        before = _queue_snapshot(queue)
        assign_fields(queue, data, QUEUE_FIELDS, strip=True)
        save_validated(queue, _check_queue(queue, member_list))
        if member_list is not None:
            queue.members.set(member_list)
        b, a = audit.diff(before, _queue_snapshot(queue))
        if b or a:
            audit.record(actor, "desk.queue.update", queue, before=b, after=a)
    return queue


# --- SLA policies -------------------------------------------------------------------------------


def _check_policy(policy: SlaPolicy) -> dict[str, str]:
    errors: dict[str, str] = {}
    if policy.priority not in (1, 2, 3, 4):
        errors["priority"] = _("Choose a priority from 1 (critical) to 4 (low).")
    if policy.category and policy.category not in Case.Category.values:
        errors["category"] = _("Choose one of: %(choices)s.") % {
            "choices": ", ".join(Case.Category.values)
        }
    first, resolution = policy.first_response_minutes, policy.resolution_minutes
    if first is not None and first < 1:
        errors["first_response_minutes"] = _("Give at least one working minute.")
    if resolution is not None and resolution < 1:
        errors["resolution_minutes"] = _("Give at least one working minute.")
    elif first is not None and resolution is not None and resolution < first:
        errors["resolution_minutes"] = _(
            "The resolution target cannot be shorter than the first-response target."
        )
    if (
        policy.priority is not None
        and SlaPolicy.objects.filter(priority=policy.priority, category=policy.category or "")
        .exclude(pk=policy.pk)
        .exists()
    ):
        errors["category" if policy.category else "priority"] = _(
            "There is already a policy for this priority and category."
        )
    return errors


def create_sla_policy(actor: Actor, **data: Any) -> SlaPolicy:
    """Add the agreed targets for a priority (and optionally one category)."""
    require(actor, PERMISSION)
    policy = SlaPolicy()
    assign_fields(policy, data, SLA_POLICY_FIELDS, strip=True)
    with transaction.atomic():
        save_validated(policy, _check_policy(policy))
        audit.record(actor, "desk.sla_policy.create", policy, after=audit.snapshot(policy))
    return policy


def update_sla_policy(actor: Actor, policy: SlaPolicy, **data: Any) -> SlaPolicy:
    """Change a policy's targets; they apply to cases when their clocks are next recomputed."""
    require(actor, PERMISSION)
    with transaction.atomic():
        policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
        before = audit.snapshot(policy)
        assign_fields(policy, data, SLA_POLICY_FIELDS, strip=True)
        save_validated(policy, _check_policy(policy))
        _changed(actor, "desk.sla_policy.update", policy, before)
    return policy


# --- routing rules ------------------------------------------------------------------------------


def _check_rule(rule: RoutingRule) -> dict[str, str]:
    errors: dict[str, str] = {}
    rule.keyword = " ".join((rule.keyword or "").split())
    if rule.queue_id is not None and not rule.queue.active and rule.active:
        errors["queue"] = _("The queue “%(queue)s” is no longer in use.") % {"queue": rule.queue}
    if rule.assignee is not None and rule.queue_id is not None:
        works = rule.assignee.has_perm("desk.work_case")
        if not rule.assignee.is_active or not (
            works or rule.queue.members.filter(pk=rule.assignee.pk).exists()
        ):
            errors["assignee"] = _(
                "%(user)s is not a member of the queue “%(queue)s” and does not work cases."
            ) % {
                "user": rule.assignee.get_full_name() or rule.assignee.get_username(),
                "queue": rule.queue,
            }
    return errors


def create_routing_rule(actor: Actor, **data: Any) -> RoutingRule:
    """Add a rule sending new cases of an application, category or keyword to a queue."""
    require(actor, PERMISSION)
    rule = RoutingRule()
    assign_fields(rule, data, ROUTING_RULE_FIELDS, strip=True)
    with transaction.atomic():
        save_validated(rule, _check_rule(rule))
        audit.record(actor, "desk.routing_rule.create", rule, after=audit.snapshot(rule))
    return rule


def update_routing_rule(actor: Actor, rule: RoutingRule, **data: Any) -> RoutingRule:
    """Change a routing rule's conditions, destination or order."""
    require(actor, PERMISSION)
    with transaction.atomic():
        rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
        before = audit.snapshot(rule)
        assign_fields(rule, data, ROUTING_RULE_FIELDS, strip=True)
        save_validated(rule, _check_rule(rule))
        _changed(actor, "desk.routing_rule.update", rule, before)
    return rule


def move_routing_rule(actor: Actor, rule: RoutingRule, direction: str) -> RoutingRule:
    """Move a rule one place up or down in the order in which rules are tried.

    The rules are renumbered 10, 20, 30 … with the two neighbours swapped, so there are no ties
    left to be broken by id; every rule whose number changed gets its audit event.
    """
    require(actor, PERMISSION)
    if direction not in ("up", "down"):
        raise ValidationError({"direction": _("Move a rule up or down.")})
    with transaction.atomic():
        rules = list(RoutingRule.objects.select_for_update().order_by("order", "id"))
        index = next((i for i, r in enumerate(rules) if r.pk == rule.pk), None)
        if index is None:
            raise ValidationError({"rule": _("The rule no longer exists.")})
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(rules):
            rules[index], rules[other] = rules[other], rules[index]
        for position, each in enumerate(rules, start=1):
            if each.order != position * 10:
                before = audit.snapshot(each)
                each.order = position * 10
                each.save(update_fields=["order"])
                _changed(actor, "desk.routing_rule.update", each, before)
            if each.pk == rule.pk:
                rule = each
    return rule


# --- reply templates ----------------------------------------------------------------------------


def _check_template(template: ReplyTemplate) -> dict[str, str]:
    errors: dict[str, str] = {}
    template.body = (template.body or "").strip()
    if template.body:
        try:
            actions.render_placeholders(template.body, {name: "" for name in actions.PLACEHOLDERS})
        except ValidationError as exc:
            errors["body"] = " ".join(exc.message_dict.get("body", exc.messages))
    return errors


def create_reply_template(actor: Actor, **data: Any) -> ReplyTemplate:
    """Add a reply template; only the known placeholders may be used in it."""
    require(actor, PERMISSION)
    template = ReplyTemplate()
    assign_fields(template, data, REPLY_TEMPLATE_FIELDS, strip=True)
    with transaction.atomic():
        save_validated(template, _check_template(template))
        audit.record(
            actor,
            "desk.reply_template.create",
            template,
            after=audit.snapshot(template, ["name", "language"]),
        )
    return template


def update_reply_template(actor: Actor, template: ReplyTemplate, **data: Any) -> ReplyTemplate:
    """Change a reply template's name, language or text."""
    require(actor, PERMISSION)
    with transaction.atomic():
        template = ReplyTemplate.objects.select_for_update().get(pk=template.pk)
        before = audit.snapshot(template)
        assign_fields(template, data, REPLY_TEMPLATE_FIELDS, strip=True)
        save_validated(template, _check_template(template))
        _changed(actor, "desk.reply_template.update", template, before)
    return template
