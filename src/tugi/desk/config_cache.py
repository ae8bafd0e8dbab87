"""The desk's configuration — routing rules, queues, SLA policies — kept in each process while it
does not change.

Every new case needs the routing rules, the default queue and the SLA policies: three reads and
some fifty model instances per case, for tables that change a few times a year. Each process
keeps them, with the version of the configuration they were read at:

- every change made through the desk's settings actions (`tugi.desk.admin_actions`) writes an
  audit event in the same transaction, so the newest id of those events is a version of the
  configuration that every process sees as soon as the change commits (one probe per action of
  the audit log's (action, id) index). A process asks for it at most once a second: a change
  reaches the other processes' new cases within a second;
- writes in this process, through the actions or around them (test factories, the demo loader,
  a shell), fire Django's model signals, which make the next use read afresh at once; and until
  the writing transaction commits nothing is kept, so a write that rolls back (a refused change,
  every test) leaves nothing of itself behind;
- nothing else writes these tables (docs/architecture.md: only actions change state).

What depends on other tables is not kept: whether a rule's assignee may still take cases (their
account and roles) is asked each time (`routing`).
"""

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Max
from django.db.models.signals import m2m_changed, post_delete, post_save

from tugi.core.models import AuditEvent
from tugi.desk.models import Queue, RoutingRule, SlaPolicy

# The audit actions of `tugi.desk.admin_actions` that change what is kept here.
CONFIG_ACTIONS = (
    "desk.queue.create",
    "desk.queue.update",
    "desk.routing_rule.create",
    "desk.routing_rule.update",
    "desk.sla_policy.create",
    "desk.sla_policy.update",
)

T = TypeVar("T")

_bumps = itertools.count(1)
_local_changes = 0
# A configuration row written in a transaction that has not committed yet: it may still roll
# back, so nothing read meanwhile is kept (it could hold that row).
_pending = False
_kept: dict[str, tuple[tuple[Any, ...], Any]] = {}
_lock = threading.Lock()


def _committed() -> None:
    global _pending, _local_changes
    _pending = False
    _local_changes = next(_bumps)


def _changed_here(**_kwargs: Any) -> None:
    """A configuration row was written in this process (through an action or not)."""
    global _local_changes, _pending
    _local_changes = next(_bumps)
    if connection.in_atomic_block:
        _pending = True
        transaction.on_commit(_committed)


for _model in (Queue, RoutingRule, SlaPolicy):
    post_save.connect(_changed_here, sender=_model, dispatch_uid=f"desk-config-{_model.__name__}")
    post_delete.connect(
        _changed_here, sender=_model, dispatch_uid=f"desk-config-del-{_model.__name__}"
    )
m2m_changed.connect(
    _changed_here, sender=Queue.members.through, dispatch_uid="desk-config-queue-members"
)


# How long a version read stands before it is read again (seconds).
RECHECK_AFTER = 1.0
_checked: tuple[float, int, tuple[Any, ...]] | None = None


def version() -> tuple[Any, ...]:
    """What the kept configuration must match: the database, its newest change, local writes."""
    global _checked
    now = time.monotonic()
    checked = _checked
    if (
        checked is not None
        and now - checked[0] < RECHECK_AFTER
        and checked[1] == _local_changes
        and checked[2][:2] == (connection.alias, connection.settings_dict["NAME"])
    ):
        return checked[2]
    local = _local_changes
    newest = AuditEvent.objects.filter(action__in=CONFIG_ACTIONS).aggregate(newest=Max("id"))
    current = (connection.alias, connection.settings_dict["NAME"], newest["newest"], local)
    _checked = (now, local, current)
    return current


def kept(name: str, load: Callable[[], T]) -> T:
    """`load()`'s answer, kept until the configuration changes."""
    global _pending
    if _pending:
        if connection.in_atomic_block:
            return load()  # the write may still roll back: read, keep nothing
        _pending = False  # outside any transaction the write has committed or rolled back
    current = version()
    found = _kept.get(name)
    if found is not None and found[0] == current:
        return found[1]
    value = load()
    with _lock:
        _kept[name] = (current, value)
    return value


def forget() -> None:
    """Drop everything kept (the next use reads afresh)."""
    global _checked, _pending
    with _lock:
        _kept.clear()
        _checked = None
        _pending = False
