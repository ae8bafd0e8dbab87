"""Routing: which queue (and maybe which agent) a new case goes to.

The first active rule, by `order` then id, whose conditions all hold wins. A rule's conditions are
optional and combine with AND: the application (system), the category, and a keyword found in the
subject or text. Keywords match as a substring of the lower-cased, Estonian-folded text, so
"jogi" matches "Jõgi" and "parool" also matches its inflected forms ("parooli", "paroolita").

With no matching rule the case goes to the default queue: the queue whose code is
`settings.TUGI_DESK_DEFAULT_QUEUE` if set, else the first active desk queue (by id). Routing never
leaves a case without a queue: with no active desk queue at all it raises a clear error.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tugi.core.text import fold
from tugi.desk.models import Case, Queue, RoutingRule


@dataclass(frozen=True)
class Destination:
    """Where a case goes: its queue, the rule's assignee if any, and the rule that decided."""

    queue: Queue
    assignee: User | None
    rule: RoutingRule | None


def rule_matches(rule: RoutingRule, case: Case, folded_text: str) -> bool:
    """Whether every condition the rule sets holds for the case (folded_text: subject + body)."""
    if rule.system_id is not None and rule.system_id != case.system_id:
        return False
    if rule.category and rule.category != case.category:
        return False
    keyword = fold(rule.keyword.strip())
    return not keyword or keyword in folded_text


def route(case: Case, body: str = "") -> RoutingRule | None:
    """The first active rule (by order) that matches the case, or None."""
    text = fold(f"{case.subject}\n{body}")
    rules = (
        RoutingRule.objects.filter(active=True, queue__active=True)
        .select_related("queue", "assignee")
        .order_by("order", "id")
    )
    for rule in rules:
        if rule_matches(rule, case, text):
            return rule
    return None


def default_queue() -> Queue:
    """The queue for cases no rule claims; a clear error if the desk has none."""
    code = getattr(settings, "TUGI_DESK_DEFAULT_QUEUE", "")
    if code:
        queue = Queue.objects.filter(code=code, active=True).first()
        if queue is not None:
            return queue
    queue = Queue.objects.filter(kind=Queue.Kind.DESK, active=True).order_by("id").first()
    if queue is None:
        raise ValidationError(
            {
                "queue": _(
                    "There is no active desk queue to receive the case. "
                    "An administrator must create one first."
                )
            }
        )
    return queue


def _may_take(user: User, queue: Queue) -> bool:
    """A rule's assignee gets the case only while they can still work it."""
    if not user.is_active:
        return False
    return user.has_perm("desk.work_case") or queue.members.filter(pk=user.pk).exists()


def destination(case: Case, body: str = "") -> Destination:
    """Where a new case goes: the matching rule's queue and assignee, else the default queue."""
    rule = route(case, body)
    if rule is None:
        return Destination(default_queue(), None, None)
    assignee = rule.assignee if rule.assignee and _may_take(rule.assignee, rule.queue) else None
    return Destination(rule.queue, assignee, rule)
