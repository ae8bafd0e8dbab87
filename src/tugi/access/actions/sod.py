"""Segregation of duties (SoD): conflicting role pairs, the conflicts a request would create, and
time-limited exceptions.

The flow:

1. The administrator records a rule: two roles one person must not hold at the same time
   (`create_sod_rule`; the pair is symmetric). Rules can be switched off, never deleted, so a
   past exception still names its rule.
2. When a request is filed, every grant_role item is checked by `conflicts_for` against the
   person's grants that overlap the requested period (in force or scheduled; suspended ones count,
   a suspension is temporary) and against the other grant_role items of the same request. A grant
   that an end_role item of the same request ends is counted only until that end, so "swap role A
   for role B" is no conflict. Each conflict is stored on the item (`sod_conflicts`), for the
   approvers to see.
3. A conflict is resolved when an approved `SodException` for the person and rule is in force at
   the start of the overlap, or when the request asks for one: the filer sets
   `sod_exception_until` on the item, and the request's justification is the exception's
   justification. An exception for a rule covers every conflict of that rule in the request.
4. Approval is blocked while any conflict is unresolved: approvers can only reject or return the
   request. A request asking for an exception also goes to the owner of the item's system
   (see `tugi.access.policy`). When the last step approves, `grant_requested_exceptions` creates
   one `SodException` per rule, ending on the date asked for.
5. Fulfilment checks again against the grants held then (they may have changed since filing);
   a conflict without an exception in force stops it. After an exception ends the compliance
   evaluation reports the conflict, so the desk reviews it.
"""

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.access.models import (
    AccessRequest,
    AccessRequestItem,
    Grant,
    Role,
    SodException,
    SodRule,
)
from tugi.access.queries import grant_open_at
from tugi.core import audit
from tugi.core.permissions import Actor, require
from tugi.people.models import Person

Span = tuple[datetime.datetime, datetime.datetime | None]


@dataclass(frozen=True)
class Wanted:
    """A role a person would hold from `valid_from` until `valid_to` (open when None)."""

    role: Role
    valid_from: datetime.datetime
    valid_to: datetime.datetime | None = None


@dataclass(frozen=True)
class Conflict:
    """A wanted role clashes with another role the person holds or would hold, by a rule."""

    rule: SodRule
    index: int  # which of the wanted roles
    role: Role
    other_role: Role
    other_grant: Grant | None  # the grant held or scheduled, or None …
    other_index: int | None  # … when the other role is another of the wanted ones
    starts: datetime.datetime  # when both would be held
    ends: datetime.datetime | None
    exception: SodException | None  # an approved exception in force when the overlap starts

    def as_json(self, exception_until: datetime.datetime | None = None) -> dict[str, Any]:
        """The entry stored on a request item (`AccessRequestItem.sod_conflicts`)."""
        return {
            "rule": self.rule.pk,
            "rule_name": self.rule.name,
            "role": self.role.pk,
            "other_role": self.other_role.pk,
            "other_role_name": str(self.other_role),
            "other_grant": self.other_grant.pk if self.other_grant else None,
            "other_item": self.other_index,
            "from": _iso(self.starts),
            "until": _iso(self.ends),
            "exception": self.exception.pk if self.exception else None,
            "exception_until": _iso(exception_until),
        }


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _overlap(
    a_from: datetime.datetime,
    a_to: datetime.datetime | None,
    b_from: datetime.datetime,
    b_to: datetime.datetime | None,
) -> Span | None:
    start = max(a_from, b_from)
    ends = [t for t in (a_to, b_to) if t is not None]
    end = min(ends) if ends else None
    if end is not None and end <= start:
        return None
    return start, end


def conflicts_for(
    person: Person,
    roles: Sequence[Role | Wanted],
    at: datetime.datetime | None = None,
    *,
    ending: Mapping[int, datetime.datetime] | None = None,
) -> list[Conflict]:
    """The SoD conflicts `person` would have by also holding `roles`; reads only, writes nothing.

    A plain Role is wanted from `at` (default now) with no end. Each wanted role is checked
    against the person's grants that overlap its period and against the other wanted roles.
    `ending` maps grant id → an earlier end that is already planned (an end_role item).
    """
    at = at or timezone.now()
    wanted = [r if isinstance(r, Wanted) else Wanted(r, at) for r in roles]
    if not wanted:
        return []
    role_ids = {w.role.pk for w in wanted}
    rules = list(
        SodRule.objects.filter(active=True)
        .filter(Q(role_a_id__in=role_ids) | Q(role_b_id__in=role_ids))
        .select_related("role_a__system", "role_b__system")
    )
    if not rules:
        return []
    partner_ids = {r.role_a_id for r in rules} | {r.role_b_id for r in rules}
    earliest = min(w.valid_from for w in wanted)
    held = list(
        Grant.objects.filter(person=person, role_id__in=partner_ids)
        .filter(grant_open_at(earliest))
        .order_by("valid_from", "id")
    )
    # Longest first, so the exception found for a conflict is the one that covers it longest.
    exceptions = list(
        SodException.objects.filter(person=person, rule__in=rules, valid_to__gt=earliest).order_by(
            "-valid_to"
        )
    )
    ending = ending or {}

    def covering(rule: SodRule, start: datetime.datetime) -> SodException | None:
        return next((e for e in exceptions if e.rule_id == rule.pk and e.valid_to > start), None)

    found: list[Conflict] = []
    for i, w in enumerate(wanted):
        for rule in rules:
            if w.role.pk == rule.role_a_id:
                other_role = rule.role_b
            elif w.role.pk == rule.role_b_id:
                other_role = rule.role_a
            else:
                continue
            for grant in held:
                if grant.role_id != other_role.pk:
                    continue
                grant_end = grant.valid_to
                if grant.pk in ending:
                    grant_end = min(t for t in (grant_end, ending[grant.pk]) if t is not None)
                span = _overlap(w.valid_from, w.valid_to, grant.valid_from, grant_end)
                if span:
                    found.append(
                        Conflict(
                            rule,
                            i,
                            w.role,
                            other_role,
                            grant,
                            None,
                            *span,
                            exception=covering(rule, span[0]),
                        )
                    )
            for j, other in enumerate(wanted):
                if j == i or other.role.pk != other_role.pk:
                    continue
                span = _overlap(w.valid_from, w.valid_to, other.valid_from, other.valid_to)
                if span:
                    found.append(
                        Conflict(
                            rule,
                            i,
                            w.role,
                            other_role,
                            None,
                            j,
                            *span,
                            exception=covering(rule, span[0]),
                        )
                    )
    return found


def excepted_rules(items: Iterable[AccessRequestItem]) -> set[int]:
    """The rules for which the request asks for an exception, on any of its items."""
    return {
        int(c["rule"]) for item in items for c in item.sod_conflicts if c.get("exception_until")
    }


def unresolved_conflicts(
    items: Sequence[AccessRequestItem],
) -> list[tuple[int, AccessRequestItem, list[dict[str, Any]]]]:
    """The items (index, item, conflicts) whose conflicts neither an exception nor a request for
    one resolves: these block approval."""
    asked = excepted_rules(items)
    blocked = []
    for index, item in enumerate(items):
        open_ = [
            c for c in item.sod_conflicts if not c.get("exception") and int(c["rule"]) not in asked
        ]
        if open_:
            blocked.append((index, item, open_))
    return blocked


def grant_requested_exceptions(actor: Actor, request: AccessRequest) -> list[SodException]:
    """On final approval, create the exceptions the request asked for: one per rule, until the
    latest date asked. Runs inside the approving action's transaction."""
    items = list(request.items.order_by("id"))
    until_by_rule: dict[int, datetime.datetime] = {}
    for item in items:
        for c in item.sod_conflicts:
            if c.get("exception_until") and not c.get("exception"):
                until = datetime.datetime.fromisoformat(c["exception_until"])
                rule_id = int(c["rule"])
                until_by_rule[rule_id] = max(until, until_by_rule.get(rule_id, until))
    created: dict[int, SodException] = {}
    for rule_id, until in until_by_rule.items():
        exception = SodException.objects.create(
            rule_id=rule_id,
            person=request.person,
            valid_to=until,
            justification=request.justification,
            request=request,
        )
        created[rule_id] = exception
        audit.record(
            actor,
            "access.sod_exception.create",
            exception,
            after=audit.snapshot(exception, ["rule_id", "person_id", "valid_to", "request_id"]),
            basis=f"request {request.pk}",
            subject_person_id=request.person_id,
        )
    # Point each resolved conflict at its exception, so the item shows what allowed it.
    for item in items:
        changed = False
        for c in item.sod_conflicts:
            made = created.get(int(c["rule"]))
            if made is not None and not c.get("exception"):
                c["exception"] = made.pk
                changed = True
        if changed:
            item.save(update_fields=["sod_conflicts"])
    return list(created.values())


def create_sod_rule(
    actor: Actor, *, name: str, role_a: Role, role_b: Role, description: str = ""
) -> SodRule:
    """Record that one person must not hold both roles at the same time."""
    require(actor, "access.add_sodrule")
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = _("Give the rule a name.")
    if role_a.pk == role_b.pk:
        errors["role_b"] = _("A rule needs two different roles.")
    elif (
        SodRule.objects.filter(active=True)
        .filter(Q(role_a=role_a, role_b=role_b) | Q(role_a=role_b, role_b=role_a))
        .exists()
    ):
        errors["role_b"] = _("A rule for “%(a)s” and “%(b)s” already exists.") % {
            "a": role_a,
            "b": role_b,
        }
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rule = SodRule.objects.create(
            name=name.strip(), description=description.strip(), role_a=role_a, role_b=role_b
        )
        audit.record(
            actor,
            "access.sod_rule.create",
            rule,
            after=audit.snapshot(rule, ["name", "description", "role_a_id", "role_b_id", "active"]),
        )
    return rule


def set_sod_rule_active(actor: Actor, rule: SodRule, *, active: bool) -> SodRule:
    """Switch a rule on or off; it is kept, since exceptions and findings name it."""
    require(actor, "access.change_sodrule")
    with transaction.atomic():
        rule = SodRule.objects.select_for_update().get(pk=rule.pk)
        if rule.active == active:
            return rule
        rule.active = active
        rule.save(update_fields=["active"])
        audit.record(
            actor,
            "access.sod_rule.update",
            rule,
            before={"active": not active},
            after={"active": active},
        )
    return rule
