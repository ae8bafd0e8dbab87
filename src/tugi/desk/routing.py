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
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from tugi.core.text import fold
from tugi.desk import config_cache
from tugi.desk.models import Case, Queue, RoutingRule


@dataclass(frozen=True)
class Destination:
    """Where a case goes: its queue, the rule's assignee if any, and the rule that decided."""

    queue: Queue
    assignee: User | None
    rule: RoutingRule | None


@dataclass(frozen=True)
class _Setup:
    """The active rules in the order they are tried (each with its queue and folded keyword),
    and the default queue (None: the desk has none). Kept per process (`config_cache`)."""

    rules: tuple[tuple[RoutingRule, str], ...]
    default: Queue | None


def rule_matches(
    rule: RoutingRule, case: Case, folded_text: str, keyword: str | None = None
) -> bool:
    """Whether every condition the rule sets holds for the case (folded_text: subject + body)."""
    if rule.system_id is not None and rule.system_id != case.system_id:
        return False
    if rule.category and rule.category != case.category:
        return False
    keyword = fold(rule.keyword.strip()) if keyword is None else keyword
    return not keyword or keyword in folded_text


def _default_queue() -> Queue | None:
    code = getattr(settings, "TUGI_DESK_DEFAULT_QUEUE", "")
    if code:
        queue = Queue.objects.filter(code=code, active=True).first()
        if queue is not None:
            return queue
    return Queue.objects.filter(kind=Queue.Kind.DESK, active=True).order_by("id").first()


def _load() -> _Setup:
    rules = (
        RoutingRule.objects.filter(active=True, queue__active=True)
        .select_related("queue")
        .order_by("order", "id")
    )
    return _Setup(tuple((rule, fold(rule.keyword.strip())) for rule in rules), _default_queue())


def _setup() -> _Setup:
    code = getattr(settings, "TUGI_DESK_DEFAULT_QUEUE", "")
    return config_cache.kept(f"routing:{code}", _load)


def route(case: Case, body: str = "") -> RoutingRule | None:
    """The first active rule (by order) that matches the case, or None."""
    text = fold(f"{case.subject}\n{body}")
    for rule, keyword in _setup().rules:
        if rule_matches(rule, case, text, keyword):
            return rule
    return None


def default_queue() -> Queue:
    """The queue for cases no rule claims; a clear error if the desk has none."""
    queue = _setup().default
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


def _may_take(user_id: int, queue: Queue) -> User | None:
    """A rule's assignee, if they can still work the queue (asked afresh: accounts and roles
    change outside the desk's configuration). One query."""
    work = Permission.objects.filter(content_type__app_label="desk", codename="work_case")
    return (
        User.objects.filter(pk=user_id, is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions__in=work)
            | Q(groups__permissions__in=work)
            | Q(queues=queue)
        )
        .order_by()
        .first()
    )


def destination(case: Case, body: str = "") -> Destination:
    """Where a new case goes: the matching rule's queue and assignee, else the default queue."""
    rule = route(case, body)
    if rule is None:
        return Destination(default_queue(), None, None)
    assignee = _may_take(rule.assignee_id, rule.queue) if rule.assignee_id is not None else None
    return Destination(rule.queue, assignee, rule)
