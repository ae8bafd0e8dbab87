"""Which boundaries a grant or a leaver's accounts have, recorded as `Change` rows.

The desired set is computed from the data alone; `sync_*` inserts the missing rows (the unique
`key` makes a second insert of the same boundary a no-op) and cancels pending rows the data no
longer asks for (an end moved, a suspension lifted early, a leaver's date corrected).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tugi.access.models import Account, Change, Grant, GrantSuspension
from tugi.people.models import Person

Kind = Change.Kind

# Boundaries further back than this when first planned are history, not work: a grant recorded
# today with a start last week does not make a week-late change.
PAST_HORIZON = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class Planned:
    """One boundary the data asks for."""

    key: str
    kind: str
    due_at: datetime.datetime
    account_id: int
    person_id: int
    grant_id: int | None = None
    suspension_id: int | None = None
    reason: str = ""


def _stamp(at: datetime.datetime) -> str:
    return str(int(at.timestamp() * 1_000_000))


def grant_boundaries(grant: Grant, suspensions: Iterable[GrantSuspension]) -> list[Planned]:
    """The start, end, suspensions and resumptions of one grant."""
    common: dict[str, Any] = {
        "account_id": grant.account_id,
        "person_id": grant.person_id,
        "grant_id": grant.pk,
    }
    planned: list[Planned] = []
    never_held = grant.valid_to is not None and grant.valid_to <= grant.valid_from + (
        datetime.timedelta(microseconds=1)
    )
    if not never_held:
        planned.append(
            Planned(f"grant_start:{grant.pk}", Kind.GRANT_START, grant.valid_from, **common)
        )
    if grant.valid_to is not None:
        planned.append(
            Planned(
                f"grant_end:{grant.pk}:{_stamp(grant.valid_to)}",
                Kind.GRANT_END,
                grant.valid_to,
                reason=grant.ended_reason,
                **common,
            )
        )
    for s in suspensions:
        if grant.valid_to is not None and s.starts_at >= grant.valid_to:
            continue
        planned.append(
            Planned(
                f"grant_suspend:{s.pk}",
                Kind.GRANT_SUSPEND,
                s.starts_at,
                suspension_id=s.pk,
                reason=s.reason,
                **common,
            )
        )
        if s.ends_at is not None and (grant.valid_to is None or s.ends_at < grant.valid_to):
            planned.append(
                Planned(
                    f"grant_resume:{s.pk}:{_stamp(s.ends_at)}",
                    Kind.GRANT_RESUME,
                    s.ends_at,
                    suspension_id=s.pk,
                    **common,
                )
            )
    return planned


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of a Tallinn calendar day, as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def leaver_boundaries(person: Person, accounts: Iterable[Account]) -> list[Planned]:
    """A leaver's accounts are suspended when the last day ends and closed later by policy."""
    if person.employment_end is None:
        return []
    suspend_at = day_start(person.employment_end + datetime.timedelta(days=1))
    close_at = suspend_at + datetime.timedelta(days=settings.TUGI_LEAVER_CLOSE_AFTER_DAYS)
    planned = []
    for account in accounts:
        common: dict[str, Any] = {"account_id": account.pk, "person_id": person.pk}
        reason = f"left {person.employment_end:%d.%m.%Y}"
        planned.append(
            Planned(
                f"account_suspend:{account.pk}:{_stamp(suspend_at)}",
                Kind.ACCOUNT_SUSPEND,
                suspend_at,
                reason=reason,
                **common,
            )
        )
        planned.append(
            Planned(
                f"account_close:{account.pk}:{_stamp(close_at)}",
                Kind.ACCOUNT_CLOSE,
                close_at,
                reason=reason,
                **common,
            )
        )
    return planned


def _store(planned: list[Planned], stale: Q | None, not_before: datetime.datetime) -> int:
    """Insert the planned rows not yet there; cancel the pending rows in `stale` not planned."""
    wanted = [p for p in planned if p.due_at >= not_before]
    keys = {p.key for p in wanted}
    if stale is not None:
        (
            Change.objects.filter(stale, state=Change.State.PENDING)
            .exclude(key__in=keys)
            .update(state=Change.State.CANCELLED, error="no longer planned")
        )
    if not wanted:
        return 0
    existing = set(Change.objects.filter(key__in=keys).values_list("key", flat=True))
    due_times = {p.due_at for p in wanted if p.key not in existing}
    # A due time another pending change already has is already covered by a scheduled task.
    covered = set(
        Change.objects.filter(state=Change.State.PENDING, next_try_at__in=due_times)
        .order_by()
        .values_list("next_try_at", flat=True)
        .distinct()
    )
    new = [
        Change(
            key=p.key,
            kind=p.kind,
            account_id=p.account_id,
            person_id=p.person_id,
            grant_id=p.grant_id,
            suspension_id=p.suspension_id,
            reason=p.reason[:300],
            due_at=p.due_at,
            next_try_at=p.due_at,
        )
        for p in wanted
        if p.key not in existing
    ]
    # ignore_conflicts: another worker may insert the same boundary at the same moment.
    Change.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    if due_times - covered:
        _wake_at(due_times - covered)
    return len(new)


def sync_grants(grant_ids: Iterable[int], *, not_before: datetime.datetime | None = None) -> int:
    """Bring the `Change` rows of these grants in line with their data; returns rows added."""
    ids = sorted(set(grant_ids))
    if not ids:
        return 0
    not_before = not_before or timezone.now() - PAST_HORIZON
    added = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        grants = Grant.objects.filter(pk__in=chunk).only(
            "id", "account_id", "person_id", "valid_from", "valid_to", "ended_reason"
        )
        suspensions: dict[int, list[GrantSuspension]] = {}
        for s in GrantSuspension.objects.filter(grant_id__in=chunk).order_by("starts_at"):
            suspensions.setdefault(s.grant_id, []).append(s)
        planned = [p for g in grants for p in grant_boundaries(g, suspensions.get(g.pk, []))]
        added += _store(planned, Q(grant_id__in=chunk), not_before)
    return added


def sync_leavers(person_ids: Iterable[int], *, not_before: datetime.datetime | None = None) -> int:
    """Bring the account changes of these persons in line with their employment end."""
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    not_before = not_before or timezone.now() - PAST_HORIZON
    accounts: dict[int, list[Account]] = {}
    for account in Account.objects.filter(person_id__in=ids).exclude(state=Account.State.CLOSED):
        accounts.setdefault(account.person_id, []).append(account)
    planned = [
        p
        for person in Person.objects.filter(pk__in=ids).only("id", "employment_end")
        for p in leaver_boundaries(person, accounts.get(person.pk, []))
    ]
    account_kinds = [Kind.ACCOUNT_SUSPEND, Kind.ACCOUNT_CLOSE]
    return _store(planned, Q(person_id__in=ids, kind__in=account_kinds), not_before)


def _wake_at(due_times: set[datetime.datetime]) -> None:
    """After commit, an exact-time task for each due time no earlier task already covers."""
    from tugi.access.lifecycle import tasks  # the task module imports this one

    def schedule() -> None:
        now = timezone.now()
        for due in sorted(due_times):
            if due <= now:
                tasks.apply_due_changes()
                break  # one run applies everything already due
        for due in sorted(d for d in due_times if d > now):
            tasks.apply_due_changes.schedule(eta=due)

    transaction.on_commit(schedule)
