"""Actions on the lifecycle engine's changes: confirming that a change was made in the target
system, one at a time or many at once, and retrying a change that failed.

The engine applies a change in Tugi's own data (`lifecycle.apply`); in a manual system the desk
then makes it in the target and confirms it here, which records `confirmed_at` and
`confirmed_by` (the confirmation lateness is `confirmed_at − due_at`). A connector will confirm
with `actor=None`, the system itself, which passes the permission check as in `actions.grants`.

Four eyes: nobody confirms or retries a change of their own access.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.access.models import Change
from tugi.core import audit
from tugi.core.permissions import Actor, require

log = logging.getLogger(__name__)

CONFIRM_PERMISSION = "access.confirm_change"
NOTE_MAX = 300
# The most changes one bulk confirmation takes: a page of the list is 50.
BULK_MAX = 500


def _require(actor: Actor) -> None:
    if actor is not None:
        require(actor, CONFIRM_PERMISSION)


def _is_own(actor: Actor, change: Change) -> bool:
    return (
        actor is not None
        and actor.is_authenticated
        and change.person.user_id is not None
        and change.person.user_id == actor.pk
    )


def _named(change: Change) -> str:
    return _("change %(id)s (%(kind)s, %(person)s)") % {
        "id": change.pk,
        "kind": change.get_kind_display(),
        "person": change.person,
    }


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(
            {"note": _("A note has at most %(max)d characters.") % {"max": NOTE_MAX}}
        )
    return note


def _refusal(actor: Actor, change: Change) -> str | None:
    """Why the actor cannot confirm the change, or None when they can."""
    if _is_own(actor, change):
        return _("%(change)s is a change of your own access: another agent must confirm it.") % {
            "change": _named(change)
        }
    if change.state != Change.State.APPLIED:
        return _("%(change)s is %(state)s: only an applied change can be confirmed.") % {
            "change": _named(change),
            "state": change.get_state_display(),
        }
    return None


def _confirm_entry(
    actor: Actor, change: Change, now: datetime.datetime, note: str
) -> tuple[str, Change, dict[str, Any]]:
    """Set the confirmation on the (locked) change; the audit entry that records it."""
    change.confirmed_at = now
    change.confirmed_by_id = actor.pk if actor is not None and actor.is_authenticated else None
    return (
        "access.change.confirm",
        change,
        {
            "before": {"confirmed_at": None, "confirmed_by": None},
            "after": {
                "confirmed_at": now,
                "confirmed_by": change.confirmed_by_id,
                "kind": change.kind,
                "due_at": change.due_at,
            },
            "basis": note,
            "subject_person_id": change.person_id,
        },
    )


def confirm_change(actor: Actor, change: Change, *, note: str = "") -> Change:
    """Record that an applied change was made in the target system (by whom, when, a note)."""
    _require(actor)
    note = _clean_note(note)
    with transaction.atomic():
        change = (
            Change.objects.select_for_update(of=("self",))
            .select_related("person")
            .get(pk=change.pk)
        )
        refusal = _refusal(actor, change)
        if refusal is not None:
            raise ValidationError(refusal)
        if change.confirmed_at is not None:
            raise ValidationError(
                _("%(change)s was already confirmed on %(at)s.")
                % {
                    "change": _named(change),
                    "at": timezone.localtime(change.confirmed_at).strftime("%d.%m.%Y %H:%M"),
                }
            )
        action, obj, kwargs = _confirm_entry(actor, change, timezone.now(), note)
        change.save(update_fields=["confirmed_at", "confirmed_by"])
        audit.record(actor, action, obj, **kwargs)
    return change


@dataclass
class BulkConfirmation:
    """What a bulk confirmation did: the changes it confirmed and those confirmed already."""

    confirmed: list[Change] = field(default_factory=list)
    already: list[Change] = field(default_factory=list)


def confirm_changes(
    actor: Actor, changes: Iterable[Change | int], *, note: str = ""
) -> BulkConfirmation:
    """Confirm many applied changes at once (the desk's "done" on many rows): all or none.

    A change someone confirmed meanwhile is left as it is and reported in `already`; any other
    change that cannot be confirmed (not applied, one's own access) refuses the whole batch,
    naming each such change, so nothing is confirmed by half.
    """
    _require(actor)
    note = _clean_note(note)
    ids = sorted({c if isinstance(c, int) else c.pk for c in changes})
    if not ids:
        raise ValidationError(_("Choose the changes to confirm."))
    if len(ids) > BULK_MAX:
        raise ValidationError(
            _("At most %(max)d changes can be confirmed at once.") % {"max": BULK_MAX}
        )
    result = BulkConfirmation()
    with transaction.atomic():
        locked = list(
            Change.objects.select_for_update(of=("self",))
            .select_related("person")
            .filter(pk__in=ids)
            .order_by("id")
        )
        missing = set(ids) - {c.pk for c in locked}
        if missing:
            raise ValidationError(
                _("No such change: %(ids)s.") % {"ids": ", ".join(str(i) for i in sorted(missing))}
            )
        refusals = [r for r in (_refusal(actor, c) for c in locked) if r is not None]
        if refusals:
            raise ValidationError(refusals)
        now = timezone.now()
        entries = []
        for change in locked:
            if change.confirmed_at is not None:
                result.already.append(change)
                continue
            entries.append(_confirm_entry(actor, change, now, note))
            result.confirmed.append(change)
        Change.objects.bulk_update(result.confirmed, ["confirmed_at", "confirmed_by"])
        audit.record_many(actor, entries)
    return result


def retry_change(actor: Actor, change: Change) -> Change:
    """Put a failed change back to the engine: pending, due to be tried now, attempts from zero.

    The engine applies it at once (a task after commit) or, if that task is lost, in the
    reconciler's next pass within a minute; if it fails again the desk is told again.
    """
    _require(actor)
    with transaction.atomic():
        change = (
            Change.objects.select_for_update(of=("self",))
            .select_related("person")
            .get(pk=change.pk)
        )
        if _is_own(actor, change):
            raise ValidationError(
                _("%(change)s is a change of your own access: another agent must retry it.")
                % {"change": _named(change)}
            )
        if change.state != Change.State.FAILED:
            raise ValidationError(
                _("%(change)s is %(state)s: only a failed change can be retried.")
                % {"change": _named(change), "state": change.get_state_display()}
            )
        now = timezone.now()
        before = {
            "state": change.state,
            "attempts": change.attempts,
            "error": change.error,
            "next_try_at": change.next_try_at,
        }
        change.state = Change.State.PENDING
        change.attempts = 0
        change.error = ""
        change.next_try_at = now
        change.alerted_at = None  # a new failure is reported again
        change.save(update_fields=["state", "attempts", "error", "next_try_at", "alerted_at"])
        audit.record(
            actor,
            "access.change.retry",
            change,
            before=before,
            after={"state": change.state, "attempts": 0, "error": "", "next_try_at": now},
            subject_person_id=change.person_id,
        )
        transaction.on_commit(_apply_now)
    return change


def _apply_now() -> None:
    """After commit: run the engine for what is due now; the reconciler is the fallback."""
    from tugi.access.lifecycle import tasks  # the task module imports the engine

    try:
        tasks.apply_due_changes()
    except Exception:
        log.exception("lifecycle: could not queue the run for a retried change")
