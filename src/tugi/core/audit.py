"""Writing and verifying the audit log.

`record()` is called by actions inside their transaction, so the change and its audit event commit
or roll back together. The chain is serialised: on PostgreSQL by a transaction-level advisory lock,
on SQLite by the database write lock that every IMMEDIATE transaction takes at BEGIN.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, models, transaction

from tugi.core import context
from tugi.core.models import AuditEvent

GENESIS = "0" * 64
# Any constant; it names the one lock that orders all writers of the chain on PostgreSQL.
_CHAIN_LOCK = 7_302_114


def _json_safe(value: Any) -> Any:
    """The value as it will come back from a JSON column, so the hash is the same after a reload."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _hash(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "acting_for": event.acting_for,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "subject_person_id": event.subject_person_id,
        "before": event.before,
        "after": event.after,
        "basis": event.basis,
        "purpose": event.purpose,
        "request_id": event.request_id,
    }


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """A JSON-safe dict of a model instance's concrete fields (foreign keys as ids)."""
    names = fields or [f.attname for f in obj._meta.concrete_fields]
    return _json_safe({name: getattr(obj, name) for name in names})


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, from both sides."""
    changed = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])


def _event(
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    subject_person_id: int | None = None,
    basis: str = "",
    purpose: str = "",
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditEvent:
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent(
        actor_id=user.pk if user else None,
        actor_label=user.get_username() if user else "system",
        acting_for=context.acting_for.get(),
        action=action,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=object_id or (str(obj.pk) if obj is not None else ""),
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:300],
        subject_person_id=subject_person_id,
        before=_json_safe(before) if before is not None else None,
        after=_json_safe(after) if after is not None else None,
        basis=basis[:300],
        purpose=purpose[:300],
        request_id=context.request_id.get(),
    )


def _chain(events: list[AuditEvent]) -> None:
    """Link the events to the head of the chain and to each other, in list order."""
    prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
    for event in events:
        event.prev_hash = prev
        event.hash = prev = _hash(prev, _hashed_fields(event))


def record(
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    subject_person_id: int | None = None,
    basis: str = "",
    purpose: str = "",
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditEvent:
    """Append one event to the audit log, in the caller's transaction."""
    event = _event(
        actor,
        action,
        obj,
        before=before,
        after=after,
        subject_person_id=subject_person_id,
        basis=basis,
        purpose=purpose,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
    )
    # No savepoint: an event that cannot be written must undo the caller's change with it.
    with transaction.atomic(savepoint=False):
        _lock_chain()
        _chain([event])
        event.save(force_insert=True)
    return event


def record_many(
    actor: AbstractBaseUser | AnonymousUser | None,
    entries: Iterable[tuple[str, models.Model, dict[str, Any]]],
) -> list[AuditEvent]:
    """Append many events in one insert: (action, object, keyword arguments of `record`) each.

    For work done in bulk (the lifecycle engine applying a burst of changes): one read of the
    chain's head and one multi-row insert instead of two statements per event.
    """
    events = [_event(actor, action, obj, **kwargs) for action, obj, kwargs in entries]
    if not events:
        return events
    with transaction.atomic(savepoint=False):
        _lock_chain()
        _chain(events)
        # Row order is id order on both databases, which is the order the chain is verified in.
        AuditEvent.objects.bulk_create(events, batch_size=500)
    return events


@dataclass(frozen=True)
class VerifyResult:
    """What `verify_chain` found: how many events it checked and the first broken one, if any."""

    checked: int
    head: str
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(chunk_size: int = 5000) -> VerifyResult:
    """Recompute every event's hash in order and check each links to the one before."""
    prev = GENESIS
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=chunk_size):
        if event.prev_hash != prev:
            return VerifyResult(checked, prev, event.pk, "link to the previous event is broken")
        if _hash(event.prev_hash, _hashed_fields(event)) != event.hash:
            return VerifyResult(checked, prev, event.pk, "content does not match its hash")
        prev = event.hash
        checked += 1
    return VerifyResult(checked, prev)
