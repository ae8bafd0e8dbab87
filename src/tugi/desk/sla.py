"""The SLA engine: policies, the working-time clock of a case, due times, warnings and breaches.

The clock of a case is two fields: ``sla_used_seconds`` (working seconds used in earlier running
periods) and ``sla_clock_started_at`` (when the current running period began; None while the
clock is paused or stopped). Working seconds used *now* are the first plus the working time since
the second. The policy's targets (first response, resolution) are working minutes counted on that
one clock, and each due time is the moment the clock would reach its target if it kept running.

The functions here change a `Case` in memory and never save it: the calling action saves the
case and writes the audit event in its own transaction. They are idempotent where that makes
sense (pausing a paused clock, recording a second first response change nothing).

``sla_warned_at`` and ``sla_breached_at`` describe the *current* target, the one ``sla_due``
points at. They are cleared when the target changes (the first response is recorded, so the
resolution target becomes current) or when a recomputation moves the due time out of the warning
window (a lower priority), so that every target gets its own warning and breach events, once.
Whether a target was met is answered by `state()`, from the stored times, not from these flags.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Literal

from django.db.models import F, Q, QuerySet
from django.dispatch import Signal

from tugi.desk import calendar, config_cache
from tugi.desk.models import Case, SlaPolicy

# Priority from impact (rows) × urgency (columns), both Case.Level (1 high, 2 medium, 3 low).
# Priority 1 is critical, 2 high, 3 medium, 4 low:
#
#                    urgency high   medium   low
#     impact high         1           2       3
#     impact medium       2           3       4
#     impact low          3           4       4
#
# The usual ITIL grid: a step down in either dimension lowers the priority by one; 4 is the floor.
PRIORITY_MATRIX: dict[tuple[int, int], int] = {
    (1, 1): 1,
    (1, 2): 2,
    (1, 3): 3,
    (2, 1): 2,
    (2, 2): 3,
    (2, 3): 4,
    (3, 1): 3,
    (3, 2): 4,
    (3, 3): 4,
}

# Every status in which a clock may run; the SLA queries name them so the (status, sla_due, id)
# index is used for the range on sla_due.
OPEN_STATUSES: tuple[str, ...] = tuple(
    str(s) for s in Case.Status if s not in (Case.Status.RESOLVED, Case.Status.CLOSED)
)

# Sent after commit by the SLA check: sender=Case, kind="warning" | "breach", case_ids=list[int],
# at=<the check's time>. The notification code listens to mail the queue, the assignee and leads.
sla_event = Signal()

Status = Literal["running", "paused", "stopped", "none"]
Target = Literal["first_response", "resolution"]


@dataclass(frozen=True)
class SlaState:
    """The SLA of a case as pages and the API show it, at one moment."""

    status: Status
    # The open target the clock is counting towards now, None when stopped or without a policy.
    target: Target | None
    # Working seconds left to that target (negative when overdue), None when there is no target.
    remaining_seconds: int | None
    # When that target falls due; None unless the clock is running (a paused case shows "paused").
    due: dt.datetime | None
    used_seconds: int
    first_response_breached: bool
    resolution_breached: bool

    @property
    def breached(self) -> bool:
        """Whether any target was missed."""
        return self.first_response_breached or self.resolution_breached


# --- policy and priority -----------------------------------------------------------------------


def priority_from(impact: int, urgency: int) -> int:
    """Priority 1 (critical) … 4 (low) from impact and urgency (1 high … 3 low); see the matrix."""
    try:
        return PRIORITY_MATRIX[(int(impact), int(urgency))]
    except KeyError:
        raise ValueError(
            f"impact {impact!r} and urgency {urgency!r} must each be 1 (high), 2 or 3 (low)"
        ) from None


def _policies() -> dict[tuple[int, str], SlaPolicy]:
    return {(p.priority, p.category): p for p in SlaPolicy.objects.all()}


def policies() -> dict[tuple[int, str], SlaPolicy]:
    """Every policy by (priority, category), kept per process until one changes (a handful)."""
    return config_cache.kept("sla:policies", _policies)


def choose_policy(case: Case) -> SlaPolicy | None:
    """The policy for the case's priority and category, else for its priority alone, else None."""
    known = policies()
    return known.get((case.priority, case.category)) or known.get((case.priority, ""))


# --- the clock ---------------------------------------------------------------------------------


def _check_aware(now: dt.datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{now!r} is naive; pass an aware datetime")


def _used_now(case: Case, now: dt.datetime) -> int:
    """Working seconds used up to `now`, counting the running period if the clock runs."""
    used = case.sla_used_seconds
    if case.sla_clock_started_at is not None:
        # A clock started "in the future" (a skewed caller) has used nothing yet.
        used += max(0, calendar.working_seconds_between(case.sla_clock_started_at, now))
    return used


def _fold(case: Case, now: dt.datetime) -> None:
    """Move the running period into sla_used_seconds and stop the clock."""
    case.sla_used_seconds = _used_now(case, now)
    case.sla_clock_started_at = None


def _due_at(now: dt.datetime, remaining: int, previous: dt.datetime | None) -> dt.datetime:
    """When a target with `remaining` working seconds falls due, counting from `now`.

    An overdue target keeps its earlier due time when that is known and still valid (the moment
    it really ran out, before a pause); otherwise it is counted back from `now`.
    """
    if remaining <= 0 and previous is not None and previous <= now:
        return previous
    return calendar.add_working_seconds(now, remaining)


def _open_targets(case: Case) -> list[dt.datetime]:
    targets = [case.resolution_due] if case.resolution_due is not None else []
    if case.first_responded_at is None and case.first_response_due is not None:
        targets.append(case.first_response_due)
    return targets


def _warn_horizon(policy: SlaPolicy, now: dt.datetime) -> dt.datetime:
    return calendar.add_working_seconds(now, policy.warn_before_minutes * 60)


def _recompute(case: Case, now: dt.datetime, *, keep_overdue: bool) -> None:
    """Due times from `now` and the time still left; for a running clock that starts at `now`."""
    policy = case.sla_policy
    if policy is None:
        case.first_response_due = case.resolution_due = case.sla_due = None
        return
    used = case.sla_used_seconds
    if case.first_responded_at is None:
        case.first_response_due = _due_at(
            now,
            policy.first_response_minutes * 60 - used,
            case.first_response_due if keep_overdue else None,
        )
    case.resolution_due = _due_at(
        now, policy.resolution_minutes * 60 - used, case.resolution_due if keep_overdue else None
    )
    new_due = min(_open_targets(case))
    if new_due != case.sla_due:
        # The flags speak of the current target: one pushed out of reach is no longer breached,
        # nor warned about; one still within reach keeps them, so nothing is announced twice.
        if case.sla_breached_at is not None and new_due > now:
            case.sla_breached_at = None
        if case.sla_warned_at is not None and new_due > _warn_horizon(policy, now):
            case.sla_warned_at = None
    case.sla_due = new_due


def start(case: Case, now: dt.datetime) -> None:
    """Start the SLA of a new case: choose the policy, start the clock, compute the due times.

    Also sets ``case.priority`` from impact and urgency. The clock runs even when no policy
    matches, so a policy chosen later (`reprioritise`) counts the time already used.
    """
    _check_aware(now)
    case.priority = priority_from(case.impact, case.urgency)
    case.sla_policy = choose_policy(case)
    case.sla_used_seconds = 0
    case.sla_clock_started_at = now
    case.first_response_due = case.resolution_due = case.sla_due = None
    case.sla_warned_at = case.sla_breached_at = None
    _recompute(case, now, keep_overdue=False)


def pause(case: Case, now: dt.datetime) -> None:
    """Stop the clock while the case waits for the requester; the due times read "paused"."""
    _check_aware(now)
    if case.sla_clock_started_at is None:
        return
    _fold(case, now)
    case.sla_due = None


def resume(case: Case, now: dt.datetime) -> None:
    """Restart the clock (the requester answered, or a resolved case was reopened).

    The due times move by exactly the working time the clock stood still.
    """
    _check_aware(now)
    if case.sla_clock_started_at is not None:
        return
    case.sla_clock_started_at = now
    _recompute(case, now, keep_overdue=True)


def record_first_response(case: Case, now: dt.datetime) -> None:
    """Note the first public reply; the resolution target becomes the one the queue sorts by."""
    _check_aware(now)
    if case.first_responded_at is not None:
        return
    policy = case.sla_policy
    if policy is not None and case.sla_clock_started_at is None:
        # Answered while the clock stood still: the stored due time is from before the pause,
        # so compare against where it would be now (the response is late only if time ran out).
        remaining = policy.first_response_minutes * 60 - case.sla_used_seconds
        case.first_response_due = _due_at(now, remaining, case.first_response_due)
    case.first_responded_at = now
    # A new target: its warning and breach are its own.
    case.sla_warned_at = case.sla_breached_at = None
    if case.sla_clock_started_at is not None:
        case.sla_due = case.resolution_due


def stop(case: Case, now: dt.datetime) -> None:
    """Stop the clock for good (resolved or closed); the used time is frozen."""
    _check_aware(now)
    if case.sla_clock_started_at is not None:
        _fold(case, now)
    case.sla_due = None


def reprioritise(case: Case, now: dt.datetime) -> None:
    """Apply a change of impact, urgency or category: new priority and policy, same used time."""
    _check_aware(now)
    old_policy = case.sla_policy
    case.priority = priority_from(case.impact, case.urgency)
    case.sla_policy = policy = choose_policy(case)
    same_targets = (
        old_policy is not None
        and policy is not None
        and (old_policy.first_response_minutes, old_policy.resolution_minutes)
        == (policy.first_response_minutes, policy.resolution_minutes)
    )
    if case.sla_clock_started_at is not None:
        _fold(case, now)
        case.sla_clock_started_at = now
        # With the same targets an overdue due time stays where it was; with new ones it is
        # counted back from now.
        _recompute(case, now, keep_overdue=same_targets)
    elif not same_targets and case.is_open:
        # Paused: the old due times belong to the old policy; resume() computes them anew. A
        # stopped case keeps its record; state() judges it by the used time and the new targets.
        if case.first_responded_at is None:
            case.first_response_due = None
        case.resolution_due = None


# --- reading -----------------------------------------------------------------------------------


def state(case: Case, now: dt.datetime) -> SlaState:
    """The SLA of the case at `now`: clock status, time left to the next target, missed targets."""
    _check_aware(now)
    policy = case.sla_policy
    used = _used_now(case, now)
    if policy is None:
        return SlaState("none", None, None, None, used, False, False)
    running = case.sla_clock_started_at is not None
    status: Status = "running" if running else ("paused" if case.is_open else "stopped")
    first_target, resolution_target = (
        policy.first_response_minutes * 60,
        policy.resolution_minutes * 60,
    )
    if case.first_responded_at is not None:
        due = case.first_response_due
        first_breached = due is not None and case.first_responded_at > due
    else:
        first_breached = used > first_target
    resolution_breached = used > resolution_target
    target: Target | None = None
    remaining: int | None = None
    if status != "stopped":
        if case.first_responded_at is None:
            target, remaining = "first_response", first_target - used
        else:
            target, remaining = "resolution", resolution_target - used
    return SlaState(
        status=status,
        target=target,
        remaining_seconds=remaining,
        due=case.sla_due if running else None,
        used_seconds=used,
        first_response_breached=first_breached,
        resolution_breached=resolution_breached,
    )


# --- the periodic check ------------------------------------------------------------------------


def _due_cases() -> QuerySet[Case]:
    # sla_due is only set while a clock runs; the status list lets the database use the
    # (status, sla_due, id) index for the range on sla_due.
    return Case.objects.filter(status__in=OPEN_STATUSES, sla_due__isnull=False)


def find_due_warnings(now: dt.datetime) -> QuerySet[Case]:
    """Open cases whose due time is within their policy's warning window and not yet warned.

    The window is in working time: a case due at 09:00 on Monday is within a 60-minute window
    on Friday at 16:30. Cases already past due are breaches, not warnings. One query for the
    policies here; the returned queryset is a range scan on the indexed sla_due.
    """
    _check_aware(now)
    by_window: dict[int, list[int]] = {}
    for policy_id, minutes in SlaPolicy.objects.values_list("id", "warn_before_minutes"):
        if minutes:
            by_window.setdefault(minutes, []).append(policy_id)
    if not by_window:
        return Case.objects.none()
    horizons = {minutes: calendar.add_working_seconds(now, minutes * 60) for minutes in by_window}
    # "+ 0" keeps the planner off the sla_policy index, which would scan every case of a policy;
    # the range on the (status, sla_due, id) index is the selective part.
    within = functools.reduce(
        Q.__or__,
        (Q(policy_key__in=ids, sla_due__lte=horizons[m]) for m, ids in by_window.items()),
    )
    return (
        _due_cases()
        .alias(policy_key=F("sla_policy_id") + 0)
        .filter(
            within,
            sla_due__gt=now,
            sla_due__lte=max(horizons.values()),
            sla_warned_at__isnull=True,
        )
    )


def find_breaches(now: dt.datetime) -> QuerySet[Case]:
    """Open cases whose due time has passed and whose breach is not yet recorded."""
    _check_aware(now)
    return _due_cases().filter(sla_due__lt=now, sla_breached_at__isnull=True)
