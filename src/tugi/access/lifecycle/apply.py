"""Applying due changes: exactly once, in batches, with lateness recorded.

A change's state moves from pending to applied in the same transaction as its effect and its
audit event, and only a transaction that holds the row may move it. If the worker dies mid-batch
the transaction rolls back and the next run applies the same changes; if two workers race,
PostgreSQL's SKIP LOCKED gives them different rows and SQLite's IMMEDIATE transactions run them
one after the other. Either way no change is applied twice.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from tugi.access.lifecycle.plan import Kind, grant_boundaries, leaver_boundaries
from tugi.access.models import Account, Change, Grant, GrantSuspension, TargetSystem
from tugi.core import audit

log = logging.getLogger(__name__)

BATCH = 500
MAX_ATTEMPTS = 5


@dataclass
class Outcome:
    applied: int = 0
    cancelled: int = 0
    failed: int = 0
    retried: int = 0

    def add(self, other: Outcome) -> None:
        self.applied += other.applied
        self.cancelled += other.cancelled
        self.failed += other.failed
        self.retried += other.retried


def _planned_keys(changes: list[Change]) -> set[str]:
    """The keys the data asks for now, for every grant and leaver account of the batch."""
    grant_ids = {c.grant_id for c in changes if c.grant_id is not None}
    suspensions: dict[int, list[GrantSuspension]] = {}
    for s in GrantSuspension.objects.filter(grant_id__in=grant_ids):
        suspensions.setdefault(s.grant_id, []).append(s)
    keys = {
        p.key
        for grant in Grant.objects.filter(pk__in=grant_ids)
        for p in grant_boundaries(grant, suspensions.get(grant.pk, []))
    }
    account_ids = {c.account_id for c in changes if c.grant_id is None}
    for account in Account.objects.filter(pk__in=account_ids).select_related("person"):
        keys.update(p.key for p in leaver_boundaries(account.person, [account]))
    return keys


# The kinds whose effect writes more than the change row itself.
_TOUCHES_ACCOUNT = {Kind.GRANT_START, Kind.ACCOUNT_SUSPEND, Kind.ACCOUNT_CLOSE}


def _effect(change: Change, now: datetime.datetime) -> dict[str, Any]:
    """Put the change into effect in Tugi's own data; returns what changed, for the audit."""
    done: dict[str, Any] = {}
    # Fresh and locked: an earlier change of the same batch may have moved the account's state.
    account = Account.objects.select_for_update().get(pk=change.account_id)
    if change.kind == Kind.GRANT_START and account.state == Account.State.REQUESTED:
        done["account_state"] = [account.state, Account.State.ACTIVE]
        account.state, account.opened_at = Account.State.ACTIVE, now
        account.save(update_fields=["state", "opened_at"])
    elif change.kind == Kind.ACCOUNT_SUSPEND and account.state == Account.State.ACTIVE:
        done["account_state"] = [account.state, Account.State.SUSPENDED]
        account.state = Account.State.SUSPENDED
        account.save(update_fields=["state"])
    elif change.kind == Kind.ACCOUNT_CLOSE and account.state != Account.State.CLOSED:
        # Grants still open in a closing account end with it.
        ended = list(
            Grant.objects.filter(account=account)
            .filter(valid_from__lt=now)
            .exclude(valid_to__lte=now)
            .values_list("pk", flat=True)
        )
        Grant.objects.filter(pk__in=ended).update(valid_to=now, ended_reason="account closed")
        done["account_state"] = [account.state, Account.State.CLOSED]
        done["grants_ended"] = ended
        account.state, account.closed_at = Account.State.CLOSED, now
        account.save(update_fields=["state", "closed_at"])
    return done


def _confirmed_on_apply(change: Change) -> bool:
    """Whether applying in Tugi is already the whole change, with nothing left to confirm.

    A manual system's grant that starts from a fulfilled request: the desk made it in the target
    before recording it. Everything else in a manual system is work for the desk (confirmed by
    hand); in a connected system the connector confirms.
    """
    return (
        change.kind == Kind.GRANT_START
        and change.account.system.connector_kind == TargetSystem.Connector.MANUAL
        and change.grant is not None
        and change.grant.basis_item_id is not None
    )


def _due_rows(now: datetime.datetime, limit: int) -> list[Change]:
    rows = (
        Change.objects.filter(state=Change.State.PENDING, next_try_at__lte=now)
        .select_related("account__system", "grant")
        .order_by("next_try_at", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    return list(rows[:limit])


def _fail(change: Change, exc: Exception, now: datetime.datetime, outcome: Outcome) -> None:
    log.error("lifecycle: change %s failed: %s", change.pk, exc)
    change.attempts += 1
    change.error = f"{type(exc).__name__}: {exc}"[:500]
    if change.attempts >= MAX_ATTEMPTS:
        change.state = Change.State.FAILED
        outcome.failed += 1
    else:  # back off: 2, 4, 8, 16 minutes
        change.next_try_at = now + datetime.timedelta(minutes=2**change.attempts)
        outcome.retried += 1


def _store(changes: list[Change], now: datetime.datetime) -> None:
    """Write the batch's outcomes in a few UPDATEs: applied rows grouped by their lateness.

    (Django's bulk_update builds a CASE per field and row, which costs more CPU than applying.)
    In a burst every change has the same due time, so the group is the whole batch.
    """
    applied: dict[tuple[int | None, bool], list[int]] = defaultdict(list)
    cancelled = []
    for change in changes:
        if change.state == Change.State.APPLIED:
            applied[(change.late_ms, change.confirmed_at is not None)].append(change.pk)
        elif change.state == Change.State.CANCELLED:
            cancelled.append(change.pk)
        else:  # failed or to retry: rare, one by one
            change.save(update_fields=["state", "error", "attempts", "next_try_at"])
    for (late_ms, confirmed), ids in applied.items():
        Change.objects.filter(pk__in=ids).update(
            state=Change.State.APPLIED,
            applied_at=now,
            late_ms=late_ms,
            confirmed_at=now if confirmed else None,
            attempts=F("attempts") + 1,
            error="",
        )
    if cancelled:
        Change.objects.filter(pk__in=cancelled).update(
            state=Change.State.CANCELLED, error="no longer planned"
        )


def apply_batch(now: datetime.datetime | None = None, limit: int = BATCH) -> Outcome:
    """Apply up to `limit` due changes in one transaction."""
    now = now or timezone.now()
    outcome = Outcome()
    entries: list[tuple[str, Any, dict[str, Any]]] = []
    with transaction.atomic():
        changes = _due_rows(now, limit)
        planned = _planned_keys(changes)
        for change in changes:
            if change.key not in planned:
                change.state = Change.State.CANCELLED
                outcome.cancelled += 1
                continue
            done: dict[str, Any] = {}
            if change.kind in _TOUCHES_ACCOUNT:
                try:
                    # A savepoint, so that a failed effect leaves the rest of the batch intact.
                    with transaction.atomic():
                        done = _effect(change, now)
                except Exception as exc:
                    _fail(change, exc, now, outcome)
                    continue
            change.state, change.applied_at = Change.State.APPLIED, now
            change.late_ms = max(0, int((now - change.due_at).total_seconds() * 1000))
            if _confirmed_on_apply(change):
                change.confirmed_at = now
            outcome.applied += 1
            after = {"kind": change.kind, "due_at": change.due_at, "late_ms": change.late_ms}
            entries.append(
                (
                    "access.change.apply",
                    change,
                    {
                        "after": {**after, **done},
                        "subject_person_id": change.person_id,
                        "basis": change.reason,
                        # Not str(change): its translated label costs more than the rest here.
                        "object_repr": f"{change.kind} {change.due_at.isoformat()}",
                    },
                )
            )
        _store(changes, now)
        audit.record_many(None, entries)
    return outcome


def apply_due(now: datetime.datetime | None = None) -> Outcome:
    """Apply every change due by `now`, batch after batch, until none is left."""
    total = Outcome()
    while True:
        outcome = apply_batch(now)
        total.add(outcome)
        if outcome.applied + outcome.cancelled + outcome.failed + outcome.retried < BATCH:
            return total
