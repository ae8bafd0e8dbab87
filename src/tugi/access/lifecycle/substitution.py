"""Substitution orders put into effect: the substitute's grants follow the order, and the order
follows the absence and the absent person's own grants.

What an order (`Substitution`, state ORDERED) asks for, recomputed from the data alone by
`desired_windows` and brought about by `sync_order`, idempotently:

- **Acting grants.** For each role of the order, the substitute holds a grant (basis
  substitution, `acting_for` the absentee, `substitution` the order) exactly for the order's
  period, cut to the absentee's *own* grants of the role: a grant held as a substitute is never
  passed on (no chains), and when the absentee's own grant ends, the acting grant ends with it.
  The past is never rewritten: a grant that has started only has its end moved (earlier by
  `end_grant`, later by moving its future end); one that has not started yet took no effect, so
  it is removed (its planned changes cancelled, the audit log keeps it) and made anew if its
  start moves.
- **Exclusive mode.** The absentee's own grants of the roles are suspended for exactly the
  period (around any suspension they already have). These suspensions carry the reason
  ``exclusive substitution order <id>``, which is how the engine knows them again.
- **Suspensions follow.** A suspension of the absentee's own grant that is more than the absence
  (it reaches beyond the order's period by more than a day, or is open-ended) suspends the acting
  grant too, for the same time: the right itself is withdrawn, not just unused while away. A
  suspension within the period is the absence's own (the desk suspending a sensitive role for a
  vacation) and is exactly what the substitute stands in for, so it is not passed on. Mirrored
  suspensions carry ``suspended with the absent person's grant (suspension <id>)``.
- A cancelled order, or a proposal, holds nothing: `sync_order` withdraws whatever is left.

When it runs: the substitution actions call `sync_order` in their transaction; `end_grant`,
`suspend_grant` and `resume_grant` call `follow_own_grant` (one indexed query when no order is
concerned); the absence actions' signal reaches `on_absence_changed` inside their transaction,
which moves or cancels the linked orders (and proposes a substitute at once for a new absence
starting within the proposal window); and an hourly task (`substitution_tasks`) runs
`sync_all` as a repair pass for anything that changed without an action (an account closed by the
engine, a new own grant). Grants and suspensions are written through the grant actions as the
system; the order's own audit event names the person who caused it.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.access.actions import grants as grant_actions
from tugi.access.actions import sod
from tugi.access.lifecycle.plan import day_start, sync_grants
from tugi.access.models import Account, Change, Grant, GrantSuspension, Role, Substitution
from tugi.access.queries import grant_open_at
from tugi.access.rules import check_role_period
from tugi.core import audit
from tugi.people.models import Absence, OrgUnit, Person

log = logging.getLogger(__name__)

Basis = Grant.Basis
State = Substitution.State

# An end far enough away to stand for "open" in interval arithmetic.
FOREVER = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)
MICRO = datetime.timedelta(microseconds=1)
# How far a suspension of the absentee's own grant may reach past the order's period and still
# count as the absence's own (a vacation suspended from midnight to midnight, give or take).
ABSENCE_SLACK = datetime.timedelta(days=1)

EXCLUSIVE_REASON = "exclusive substitution order {order}"
MIRROR_REASON = "suspended with the absent person's grant (suspension {source})"
_EXCLUSIVE_RE = re.compile(r"^exclusive substitution order \d+$")
_MIRROR_RE = re.compile(r"^suspended with the absent person's grant \(suspension (\d+)\)$")

SNAPSHOT_FIELDS = [
    "absentee_id",
    "substitute_id",
    "absence_id",
    "starts_at",
    "ends_at",
    "exclusive",
    "state",
    "ordered_by_id",
    "directive",
    "note",
]


@dataclass(frozen=True, order=True)
class Window:
    """A half-open period [start, end); `end` FOREVER for open."""

    start: datetime.datetime
    end: datetime.datetime

    @property
    def open_end(self) -> datetime.datetime | None:
        return None if self.end >= FOREVER else self.end


def _end(value: datetime.datetime | None) -> datetime.datetime:
    return FOREVER if value is None else value


def merge(windows: Iterable[Window]) -> list[Window]:
    """The union of windows as disjoint windows, in order (touching ones join)."""
    merged: list[Window] = []
    for w in sorted(w for w in windows if w.end > w.start):
        if merged and w.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Window(last.start, max(last.end, w.end))
        else:
            merged.append(w)
    return merged


def intersect(windows: Iterable[Window], span: Window) -> list[Window]:
    """The parts of the windows inside `span`."""
    cut = (Window(max(w.start, span.start), min(w.end, span.end)) for w in windows)
    return [w for w in cut if w.end > w.start]


def subtract(windows: Iterable[Window], holes: Iterable[Window]) -> list[Window]:
    """The parts of the windows outside every hole."""
    result = merge(windows)
    for hole in merge(holes):
        parts: list[Window] = []
        for w in result:
            if hole.end <= w.start or hole.start >= w.end:
                parts.append(w)
                continue
            if w.start < hole.start:
                parts.append(Window(w.start, hole.start))
            if hole.end < w.end:
                parts.append(Window(hole.end, w.end))
        result = parts
    return result


def absence_period(absence: Absence) -> Window:
    """An absence's days (inclusive, Tallinn) as a period: from the first midnight to the one
    after the last day; daylight saving moves nothing."""
    return Window(
        day_start(absence.starts_on), day_start(absence.ends_on + datetime.timedelta(days=1))
    )


def period_of(order: Substitution) -> Window:
    return Window(order.starts_at, order.ends_at)


# --- what an order may contain -----------------------------------------------------------------


def own_grants(absentee: Person, role_ids: Iterable[int] | None, span: Window) -> QuerySet[Grant]:
    """The absentee's own grants of the roles (of any role for None) that overlap `span`.

    Own means not held as a substitute: only these can be passed on, so a substitute's
    substitute gets nothing.
    """
    grants = Grant.objects.filter(person=absentee, acting_for__isnull=True)
    if role_ids is not None:
        grants = grants.filter(role_id__in=list(role_ids))
    return (
        grants.exclude(basis=Basis.SUBSTITUTION)
        .filter(valid_from__lt=span.end)
        .filter(grant_open_at(span.start))
        .order_by("valid_from", "id")
    )


def held_windows(grants: Iterable[Grant]) -> dict[int, list[Window]]:
    """Role id → the periods the grants cover, merged."""
    by_role: dict[int, list[Window]] = {}
    for g in grants:
        by_role.setdefault(g.role_id, []).append(Window(g.valid_from, _end(g.valid_to)))
    return {role_id: merge(ws) for role_id, ws in by_role.items()}


def delegable_roles_held(absentee: Person, span: Window, *, pension_only: bool) -> list[Role]:
    """The delegable roles the absentee holds of their own at some time in `span`: what an order
    may pass on; with `pension_only`, only those of pension-insurance register data (the
    default an order takes)."""
    roles = Role.objects.filter(
        delegable=True,
        active=True,
        pk__in=own_grants(absentee, None, span).values("role_id"),
    ).select_related("system")
    if pension_only:
        roles = roles.filter(sensitivity=Role.Sensitivity.PENSION_INSURANCE)
    return list(roles.order_by("system__name", "name", "id"))


def desired_windows(
    order: Substitution, roles: Iterable[Role], span: Window | None = None
) -> dict[int, list[Window]]:
    """Role id → when the substitute should hold it: the period cut to the absentee's own
    grants. Empty for an order that is not (or no longer) ORDERED."""
    span = span or period_of(order)
    role_ids = [r.pk for r in roles]
    if order.state != State.ORDERED:
        return {role_id: [] for role_id in role_ids}
    held = held_windows(own_grants(order.absentee, role_ids, span))
    return {role_id: intersect(held.get(role_id, []), span) for role_id in role_ids}


# --- validation --------------------------------------------------------------------------------


@dataclass
class Draft:
    """An order as asked for, before it is saved (or a saved order's new period)."""

    absentee: Person
    substitute: Person
    roles: list[Role]
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    exclusive: bool = False
    absence: Absence | None = None
    order_id: int | None = None  # the order being changed: it does not overlap itself


def _when(value: datetime.datetime) -> str:
    return timezone.localtime(value).strftime("%d.%m.%Y %H:%M")


def _day(value: datetime.date) -> str:
    return value.strftime("%d.%m.%Y")


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def check_period(
    starts_at: datetime.datetime, ends_at: datetime.datetime, now: datetime.datetime
) -> None:
    """The period is the right way round and not over yet."""
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValidationError({"starts_at": _("Give a date and time with its time zone.")})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    if ends_at <= now:
        raise ValidationError({"ends_at": _("The period has already ended.")})


def check_substitute(draft: Draft, errors: _Errors, now: datetime.datetime) -> None:
    """Two persons; the substitute works here for the whole period and is not away in it."""
    substitute, span = draft.substitute, Window(draft.starts_at, draft.ends_at)
    if substitute.pk == draft.absentee.pk:
        errors.add("substitute", _("Nobody substitutes for themselves."))
        return
    last_day = timezone.localdate(draft.ends_at - MICRO)
    if substitute.status == Person.Status.LEFT or (
        substitute.employment_end is not None
        and substitute.employment_end < timezone.localdate(max(draft.starts_at, now))
    ):
        errors.add(
            "substitute",
            _("%(person)s has left the agency and cannot substitute.") % {"person": substitute},
        )
        return
    if substitute.employment_end is not None and substitute.employment_end < last_day:
        errors.add(
            "substitute",
            _("%(person)s works here only until %(day)s, before the substitution ends.")
            % {"person": substitute, "day": _day(substitute.employment_end)},
        )
    away = (
        Absence.objects.filter(person=substitute, cancelled=False)
        .filter(starts_on__lte=last_day, ends_on__gte=timezone.localdate(span.start))
        .order_by("starts_on")
    )
    for absence in away:
        if intersect([absence_period(absence)], span):
            errors.add(
                "substitute",
                _("%(person)s is absent themselves from %(start)s to %(end)s (%(kind)s).")
                % {
                    "person": substitute,
                    "start": _day(absence.starts_on),
                    "end": _day(absence.ends_on),
                    "kind": absence.get_kind_display(),
                },
            )
            break


def check_roles(draft: Draft, errors: _Errors) -> dict[int, list[Window]]:
    """Each role may pass: delegable, held by the absentee of their own in the period, and not
    already passed to someone by another order for an overlapping time. Returns the windows."""
    span = Window(draft.starts_at, draft.ends_at)
    if not draft.roles:
        errors.add("roles", _("Choose at least one role to pass on."))
        return {}
    held = held_windows(own_grants(draft.absentee, [r.pk for r in draft.roles], span))
    windows: dict[int, list[Window]] = {}
    for role in draft.roles:
        names = {"role": role.name, "person": draft.absentee}
        if not role.delegable:
            errors.add("roles", _("“%(role)s” cannot be passed to a substitute.") % names)
            continue
        if not role.active:
            errors.add("roles", _("The role “%(role)s” is no longer in use.") % names)
            continue
        cut = intersect(held.get(role.pk, []), span)
        if not cut:
            errors.add(
                "roles",
                _(
                    "%(person)s does not hold “%(role)s” of their own in that period (a role "
                    "held as a substitute is never passed on)."
                )
                % names,
            )
            continue
        windows[role.pk] = cut
    others = Substitution.objects.filter(
        absentee=draft.absentee,
        state=State.ORDERED,
        roles__in=[r.pk for r in draft.roles],
        starts_at__lt=draft.ends_at,
        ends_at__gt=draft.starts_at,
    )
    if draft.order_id is not None:
        others = others.exclude(pk=draft.order_id)
    others = (
        others.select_related("substitute")
        .prefetch_related("roles")
        .distinct()
        .order_by("starts_at", "id")
    )
    wanted = {r.pk: r for r in draft.roles}
    for other in others:
        for role in other.roles.all():
            if role.pk in wanted:
                errors.add(
                    "roles",
                    _(
                        "“%(role)s” of %(absentee)s is already passed to %(substitute)s from "
                        "%(start)s to %(end)s (order %(id)s)."
                    )
                    % {
                        "role": role.name,
                        "absentee": draft.absentee,
                        "substitute": other.substitute,
                        "start": _when(other.starts_at),
                        "end": _when(other.ends_at),
                        "id": other.pk,
                    },
                )
    return windows


def check_sod(
    draft: Draft, windows: dict[int, list[Window]], errors: _Errors, now: datetime.datetime
) -> None:
    """The substitute would break no segregation-of-duties rule that no exception covers."""
    roles = {r.pk: r for r in draft.roles}
    wanted = [
        sod.Wanted(roles[role_id], max(w.start, now), w.open_end)
        for role_id, ws in windows.items()
        for w in ws
        if w.end > now
    ]
    if not wanted:
        return
    ending: dict[int, datetime.datetime] = {}
    if draft.order_id is not None:
        # The order's own acting grants are what is being replaced: not held any longer than now.
        for g in Grant.objects.filter(substitution_id=draft.order_id).filter(grant_open_at(now)):
            ending[g.pk] = max(now, g.valid_from + MICRO)
    for c in sod.conflicts_for(draft.substitute, wanted, now, ending=ending):
        if c.exception is not None:
            continue
        errors.add(
            "substitute",
            _(
                "%(person)s would hold “%(role)s” together with “%(other)s”, which “%(rule)s” "
                "forbids (segregation of duties), and no exception covers it."
            )
            % {
                "person": draft.substitute,
                "role": c.role.name,
                "other": c.other_role.name,
                "rule": c.rule.name,
            },
        )


def check_draft(draft: Draft, now: datetime.datetime) -> dict[int, list[Window]]:
    """Every rule an order must meet; raises one ValidationError naming the fields."""
    check_period(draft.starts_at, draft.ends_at, now)
    errors = _Errors()
    if draft.absence is not None:
        if draft.absence.person_id != draft.absentee.pk:
            errors.add("absence", _("This absence is not the absent person's."))
        elif draft.absence.cancelled:
            errors.add("absence", _("This absence is cancelled."))
    check_substitute(draft, errors, now)
    windows = check_roles(draft, errors)
    if not errors.by_field:
        check_sod(draft, windows, errors, now)
    errors.raise_if_any()
    return windows


# --- authority ---------------------------------------------------------------------------------


def authority_rules() -> tuple[str, ...]:
    """Who may order a substitution (settings.TUGI_SUBSTITUTION_AUTHORITY): any of "manager"
    (the absentee's manager), "unit_head" (head of the absentee's unit or of a unit above it)
    and "hr" (a user with access.order_any_substitution)."""
    return tuple(getattr(settings, "TUGI_SUBSTITUTION_AUTHORITY", ("manager", "unit_head", "hr")))


def unit_ids_above(unit: OrgUnit) -> list[int]:
    """The unit and every unit above it, from its materialised path."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part.isdigit()]
    return ids or [unit.pk]


def has_authority(person: Person | None, absentee: Person) -> bool:
    """Whether `person` may order a substitution for `absentee`."""
    if person is None or person.pk == absentee.pk or person.status == Person.Status.LEFT:
        return False
    rules = authority_rules()
    if "manager" in rules and absentee.manager_id == person.pk:
        return True
    if (
        "unit_head" in rules
        and OrgUnit.objects.filter(pk__in=unit_ids_above(absentee.org_unit), head=person).exists()
    ):
        return True
    user = person.user
    return (
        "hr" in rules
        and user is not None
        and user.is_active
        and user.has_perm("access.order_any_substitution")
    )


def authority_over(person: Person) -> Q:
    """Substitutions whose absentee `person` has authority over as manager or unit head (for
    the proposals inbox; HR sees every one)."""
    rules = authority_rules()
    mine = Q(pk__in=[])
    if "manager" in rules:
        mine |= Q(absentee__manager=person)
    if "unit_head" in rules:
        for path in OrgUnit.objects.filter(head=person).values_list("path", flat=True):
            mine |= Q(
                absentee__org_unit__in=OrgUnit.objects.filter(path__startswith=path).values("pk")
            )
    return mine & ~Q(absentee=person)


# --- putting an order into effect --------------------------------------------------------------


@dataclass
class Done:
    """What `sync_order` changed, for the order's audit event."""

    created: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    extended: list[int] = field(default_factory=list)
    suspended: list[int] = field(default_factory=list)
    lifted: list[int] = field(default_factory=list)
    accounts: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[int]]:
        return {k: v for k, v in self.__dict__.items() if v}

    def __bool__(self) -> bool:
        return bool(self.as_dict())


# Orders being synchronised in this context: a grant action called by the sync reaches
# `follow_own_grant`, which must not start the same order's sync over halfway through.
_in_sync: ContextVar[frozenset[int]] = ContextVar("tugi_substitution_in_sync", default=frozenset())


@contextlib.contextmanager
def _syncing(order_id: int) -> Iterator[None]:
    token = _in_sync.set(_in_sync.get() | {order_id})
    try:
        yield
    finally:
        _in_sync.reset(token)


def _account_for(
    person: Person, role: Role, start: datetime.datetime, now: datetime.datetime, done: Done
) -> Account:
    """The person's open account in the role's system, else a new one.

    A new account for a grant that starts later is opened in state *requested*: the lifecycle
    engine makes it active when the grant starts.
    """
    system = role.system
    account = (
        Account.objects.filter(person=person, system=system)
        .exclude(state=Account.State.CLOSED)
        .first()
    )
    if account is not None:
        return account
    if start <= now:
        account = grant_actions.open_account(None, person, system)
    else:
        account = Account.objects.create(
            person=person, system=system, state=Account.State.REQUESTED
        )
        audit.record(
            None,
            "access.account.open",
            account,
            after=audit.snapshot(account),
            basis="substitution: opens when the first grant starts",
            subject_person_id=person.pk,
        )
    done.accounts.append(account.pk)
    return account


def _extend(grant: Grant, end: datetime.datetime | None, reason: str) -> None:
    """Move a grant's future end later (or make it open): only the future changes."""
    grant = Grant.objects.select_for_update().select_related("role__system").get(pk=grant.pk)
    check_role_period(grant.role, None, grant.valid_from, end)
    before = grant.valid_to
    grant.valid_to = end
    grant.ended_reason = ""
    grant.save(update_fields=["valid_to", "ended_reason"])
    audit.record(
        None,
        "access.grant.extend",
        grant,
        before={"valid_to": before},
        after={"valid_to": end},
        basis=reason,
        subject_person_id=grant.person_id,
    )
    sync_grants([grant.pk])


def _remove_future_grant(grant: Grant, now: datetime.datetime, reason: str, done: Done) -> None:
    """Take away a grant that has not started: it never took effect, so it goes, with its planned
    changes cancelled; the audit log keeps it. One something else refers to is ended instead."""
    snapshot = audit.snapshot(
        grant, ["id", "account_id", "role_id", "person_id", "valid_from", "valid_to", "basis"]
    )
    try:
        with transaction.atomic():
            for s in GrantSuspension.objects.filter(grant=grant):
                Change.objects.filter(suspension=s).update(
                    state=Change.State.CANCELLED, error="no longer planned", suspension=None
                )
                s.delete()
            Change.objects.filter(grant=grant).update(
                state=Change.State.CANCELLED, error="no longer planned", grant=None
            )
            grant.delete()
    except ProtectedError:
        grant_actions.end_grant(None, grant, reason=reason, at=now)
        done.ended.append(snapshot["id"])
        return
    audit.record(
        None,
        "access.grant.remove",
        object_type="access.grant",
        object_id=str(snapshot["id"]),
        object_repr=str(grant),
        before=snapshot,
        basis=reason,
        subject_person_id=snapshot["person_id"],
    )
    done.removed.append(snapshot["id"])


def _sync_role_grants(
    order: Substitution,
    role: Role,
    wanted: list[Window],
    now: datetime.datetime,
    reason: str,
    done: Done,
) -> None:
    """Make the order's acting grants of one role cover exactly `wanted` from now on."""
    wanted = [w for w in wanted if w.end > now]
    existing = list(
        Grant.objects.filter(substitution=order, role=role)
        .filter(grant_open_at(now))
        .order_by("valid_from", "id")
    )
    left = list(wanted)
    for g in existing:
        if g.valid_from <= now:
            match = next((w for w in left if w.start <= now < w.end), None)
        else:
            match = next((w for w in left if w.start == g.valid_from), None)
        if match is None:
            if g.valid_from > now:
                _remove_future_grant(g, now, reason, done)
            else:
                grant_actions.end_grant(None, g, reason=reason, at=now)
                done.ended.append(g.pk)
            continue
        left.remove(match)
        if _end(g.valid_to) > match.end:
            grant_actions.end_grant(None, g, reason=reason, at=match.end)
            done.ended.append(g.pk)
        elif _end(g.valid_to) < match.end:
            _extend(g, match.open_end, reason)
            done.extended.append(g.pk)
    for w in left:
        start = max(w.start, now)
        account = _account_for(order.substitute, role, start, now, done)
        g = grant_actions.grant_role(
            None,
            account,
            role,
            valid_from=start,
            valid_to=w.open_end,
            basis=Basis.SUBSTITUTION,
            acting_for=order.absentee,
            substitution=order,
        )
        done.created.append(g.pk)


def _lift(suspension: GrantSuspension, now: datetime.datetime, reason: str, done: Done) -> None:
    """End a suspension now; one that has not begun is removed (it never took effect)."""
    grant = suspension.grant
    if suspension.starts_at <= now:
        if suspension.ends_at is not None and suspension.ends_at <= now:
            return
        before = suspension.ends_at
        suspension.ends_at = max(now, suspension.starts_at + MICRO)
        suspension.save(update_fields=["ends_at"])
        audit.record(
            None,
            "access.grant.resume",
            grant,
            before={"suspension": suspension.pk, "ends_at": before},
            after={"resumed_at": suspension.ends_at},
            basis=reason,
            subject_person_id=grant.person_id,
        )
    else:
        snapshot = audit.snapshot(suspension, ["id", "starts_at", "ends_at", "reason"])
        # Its planned changes go with it: they are cancelled, and keep their key as the record.
        Change.objects.filter(suspension=suspension).exclude(state=Change.State.APPLIED).update(
            state=Change.State.CANCELLED, error="no longer planned", suspension=None
        )
        suspension.delete()
        audit.record(
            None,
            "access.grant.unsuspend",
            grant,
            before={"suspension": snapshot},
            basis=reason,
            subject_person_id=grant.person_id,
        )
    done.lifted.append(grant.pk)
    sync_grants([grant.pk])


def _set_suspension_end(
    suspension: GrantSuspension, end: datetime.datetime | None, reason: str
) -> None:
    before = suspension.ends_at
    suspension.ends_at = end
    suspension.save(update_fields=["ends_at"])
    audit.record(
        None,
        "access.grant.suspension_change",
        suspension.grant,
        before={"suspension": suspension.pk, "ends_at": before},
        after={"ends_at": end},
        basis=reason,
        subject_person_id=suspension.grant.person_id,
    )
    sync_grants([suspension.grant_id])


def _sync_suspensions(
    grant: Grant,
    is_mine: Callable[[str], bool],
    wanted: dict[str, list[Window]],
    now: datetime.datetime,
    reason: str,
    done: Done,
) -> None:
    """Make the grant's suspensions that `is_mine` recognises cover `wanted` from now on.

    `wanted` maps a marker (the suspension's reason) to its periods; the periods are taken
    around the grant's other suspensions, which stay as they are.
    """
    suspensions = list(GrantSuspension.objects.select_for_update().filter(grant=grant))
    mine = [s for s in suspensions if is_mine(s.reason)]
    others = [Window(s.starts_at, _end(s.ends_at)) for s in suspensions if not is_mine(s.reason)]
    validity = Window(grant.valid_from, _end(grant.valid_to))
    for marker in sorted(set(wanted) | {s.reason for s in mine}):
        periods = subtract(intersect(wanted.get(marker, []), validity), others)
        left = [Window(max(w.start, now), w.end) for w in periods if w.end > now]
        for s in (s for s in mine if s.reason == marker):
            if s.ends_at is not None and s.ends_at <= now:
                continue  # past: history
            if s.starts_at <= now:
                match = next((w for w in left if w.start == now), None)
            else:
                match = next((w for w in left if w.start == s.starts_at), None)
            if match is None:
                _lift(s, now, reason, done)
                continue
            left.remove(match)
            if _end(s.ends_at) != match.end:
                _set_suspension_end(s, match.open_end, reason)
        for w in left:
            grant_actions.suspend_grant(
                None, grant, reason=marker, starts_at=w.start, ends_at=w.open_end
            )
            done.suspended.append(grant.pk)


def _is_mirror(reason: str) -> bool:
    return bool(_MIRROR_RE.match(reason))


def _exclusive_windows(
    order: Substitution, wanted: dict[int, list[Window]]
) -> list[tuple[Grant, list[Window]]]:
    """Each own grant of the order's roles, and when exclusive mode suspends it."""
    span = period_of(order)
    pairs = []
    for g in own_grants(order.absentee, list(wanted), span):
        periods = wanted.get(g.role_id, []) if order.exclusive else []
        pairs.append((g, intersect(periods, Window(g.valid_from, _end(g.valid_to)))))
    return pairs


def _mirrored(order: Substitution, g: Grant, now: datetime.datetime) -> dict[str, list[Window]]:
    """The suspensions of the absentee's own grants of g's role that g must share: marker →
    periods. A suspension within the order's period (± a day) is the absence's own: not shared."""
    span = period_of(order)
    wanted: dict[str, list[Window]] = {}
    sources = GrantSuspension.objects.filter(
        grant__in=own_grants(order.absentee, [g.role_id], span)
    ).order_by("starts_at", "id")
    for s in sources:
        if _EXCLUSIVE_RE.match(s.reason) or _MIRROR_RE.match(s.reason):
            continue
        within = s.starts_at >= span.start - ABSENCE_SLACK and _end(s.ends_at) <= (
            span.end + ABSENCE_SLACK
        )
        if within:
            continue
        wanted[MIRROR_REASON.format(source=s.pk)] = [Window(s.starts_at, _end(s.ends_at))]
    return wanted


def sync_order(
    order: Substitution,
    *,
    now: datetime.datetime | None = None,
    reason: str = "",
    role_ids: Iterable[int] | None = None,
) -> Done:
    """Bring the order's grants and suspensions in line with the order and the absentee's own
    grants; idempotent (a second run changes nothing). Call inside a transaction."""
    now = now or timezone.now()
    done = Done()
    order = (
        Substitution.objects.select_related("absentee", "substitute")
        .prefetch_related("roles__system")
        .get(pk=order.pk)
    )
    reason = (reason or f"substitution order {order.pk}")[:300]
    roles = list(order.roles.all())
    if role_ids is not None:
        keep = set(role_ids)
        roles = [r for r in roles if r.pk in keep]
    # Roles once on the order and taken off it still have grants to end.
    dropped = set(
        Grant.objects.filter(substitution=order)
        .filter(grant_open_at(now))
        .exclude(role__in=roles)
        .values_list("role_id", flat=True)
    )
    if role_ids is not None:
        dropped &= set(role_ids)
    with _syncing(order.pk):
        wanted = desired_windows(order, roles)
        for role in roles:
            _sync_role_grants(order, role, wanted.get(role.pk, []), now, reason, done)
        for role in Role.objects.filter(pk__in=dropped).select_related("system"):
            _sync_role_grants(order, role, [], now, reason, done)
        marker = EXCLUSIVE_REASON.format(order=order.pk)
        for g, periods in _exclusive_windows(order, wanted):
            _sync_suspensions(
                g,
                marker.__eq__,
                {marker: periods} if periods else {},
                now,
                reason,
                done,
            )
        for g in Grant.objects.filter(substitution=order).filter(grant_open_at(now)):
            mirrored = _mirrored(order, g, now) if order.state == State.ORDERED else {}
            _sync_suspensions(
                g,
                _is_mirror,
                mirrored,
                now,
                reason,
                done,
            )
    return done


def record_sync(order: Substitution, done: Done, basis: str) -> None:
    """One audit event on the order for a change that followed something else."""
    if done:
        audit.record(
            None,
            "access.substitution.sync",
            order,
            after=done.as_dict(),
            basis=basis[:300],
            subject_person_id=order.absentee_id,
        )


# --- following the absentee's own grants -------------------------------------------------------


def follow_own_grant(grant: Grant) -> None:
    """Called by end_grant, suspend_grant and resume_grant in their transaction: the acting
    grants passed on from this grant's role follow it (end with it, share its suspensions)."""
    if grant.acting_for_id is not None or grant.basis == Basis.SUBSTITUTION:
        return  # an acting grant is never passed on, so nothing follows it
    now = timezone.now()
    orders = Substitution.objects.filter(
        absentee_id=grant.person_id, state=State.ORDERED, ends_at__gt=now, roles=grant.role_id
    ).exclude(pk__in=_in_sync.get())
    for order in orders:
        done = sync_order(order, now=now, role_ids=[grant.role_id])
        record_sync(order, done, f"the absent person's grant {grant.pk} changed")


# --- following the absence ---------------------------------------------------------------------


def moved_period(order: Substitution, old: Window, new: Window) -> Window | None:
    """The order's period after its absence moved from `old` to `new`.

    A boundary that was the absence's moves with it; one the order set itself stays. The result
    stays within the new absence; None when nothing of the order is left in it.
    """
    start = new.start if order.starts_at == old.start else order.starts_at
    end = new.end if order.ends_at == old.end else order.ends_at
    start, end = max(start, new.start), min(end, new.end)
    return Window(start, end) if end > start else None


def on_absence_changed(
    sender: Any,
    *,
    absence: Absence,
    event: str,
    before: dict[str, Any] | None = None,
    actor: Any = None,
    **kwargs: Any,
) -> None:
    """Receiver of `people.signals.absence_changed`, inside the absence action's transaction."""
    from tugi.access.actions import substitution as actions

    orders = list(
        Substitution.objects.filter(absence=absence)
        .exclude(state=State.CANCELLED)
        .select_related("absentee", "substitute")
        .order_by("id")
    )
    if not orders:
        if event in ("recorded", "changed") and _soon(absence):
            # Proposed at once rather than by the next morning's run.
            actions.propose_for_absence(absence)
        return
    if event == "cancelled":
        for order in orders:
            actions.cancel_substitution(None, order, reason=f"absence {absence.pk} cancelled")
        return
    if event != "changed" or before is None:
        return
    old = Window(
        day_start(before["starts_on"]),
        day_start(before["ends_on"] + datetime.timedelta(days=1)),
    )
    new = absence_period(absence)
    for order in orders:
        period = moved_period(order, old, new)
        if period is None:
            actions.cancel_substitution(
                None, order, reason=f"absence {absence.pk} no longer covers it"
            )
            continue
        if period == period_of(order):
            continue
        try:
            actions.follow_absence_period(
                order,
                starts_at=period.start,
                ends_at=period.end,
                reason=f"absence {absence.pk} changed",
            )
        except ValidationError as exc:
            if order.state == State.PROPOSED:
                # A proposal is only a suggestion: one that no longer fits gives way.
                actions.cancel_substitution(
                    None, order, reason=f"absence {absence.pk} changed: {' '.join(exc.messages)}"
                )
                continue
            raise ValidationError(
                _(
                    "The substitution of %(absentee)s by %(substitute)s (order %(id)s) cannot "
                    "follow this change: %(reason)s Change or cancel the substitution first."
                )
                % {
                    "absentee": order.absentee,
                    "substitute": order.substitute,
                    "id": order.pk,
                    "reason": " ".join(exc.messages),
                }
            ) from exc


def _soon(absence: Absence) -> bool:
    """Whether the absence is under way or starts within the proposal window."""
    today = timezone.localdate()
    window = datetime.timedelta(days=settings.TUGI_SUBSTITUTION_PROPOSE_DAYS)
    return (
        not absence.cancelled and absence.ends_on >= today and absence.starts_on <= today + window
    )


def connect() -> None:
    """Connect the absence receiver (AccessConfig.ready)."""
    from tugi.people.signals import absence_changed

    absence_changed.connect(on_absence_changed, dispatch_uid="tugi.access.substitution.absence")


# --- the repair pass ---------------------------------------------------------------------------


def sync_all(now: datetime.datetime | None = None) -> int:
    """Re-synchronise every order in force or to come; returns how many changed.

    For what changed without an action (an account the engine closed, a new own grant): each
    order in its own transaction, so one that cannot be brought about is logged and the rest go
    on.
    """
    now = now or timezone.now()
    changed = 0
    ids = list(
        Substitution.objects.filter(state=State.ORDERED, ends_at__gt=now)
        .order_by("starts_at", "id")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        try:
            with transaction.atomic():
                order = Substitution.objects.select_for_update().get(pk=pk)
                done = sync_order(order, now=now)
                record_sync(order, done, "periodic check")
        except Exception:
            log.exception("substitution order %s could not be brought about", pk)
            continue
        if done:
            changed += 1
    return changed
