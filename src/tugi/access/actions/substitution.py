"""Substitution orders (asendamise korraldus): ordering, proposals, confirmation, cancellation,
moving the period.

An order's life:

    (vacation schedule + job description) ── propose_from_absences ──> PROPOSED
    PROPOSED ── confirm_proposal (someone with authority) ──> ORDERED
    order_substitution (someone with authority) ──> ORDERED
    PROPOSED / ORDERED ── cancel_substitution, or its absence cancelled ──> CANCELLED

Who may order: the absentee's manager, the head of the absentee's unit or of a unit above it, or
HR (`access.order_any_substitution`); `settings.TUGI_SUBSTITUTION_AUTHORITY` narrows that list.
Whoever records an order needs `access.add_substitution` and either gives it themselves or, as
the desk (`access.fulfil_accessrequest`) and HR do, records an order given by someone with
authority (`ordered_by`). Nobody orders, confirms or changes a substitution in which they are the
absent person or the substitute. `actor=None` is the system (the daily proposals, an absence
that changed, the operator on the server): it passes the permission check, as in
`tugi.api.actions`, and the audit event names "system".

The rules an order must meet (`lifecycle.substitution.check_draft`): the period the right way
round and not over; two persons; a substitute who works here for the whole period and is not
absent in it; only delegable roles the absentee holds *of their own* in the period (never one
held as a substitute: no chains), not passed to anyone else for an overlapping time; and no
segregation-of-duties conflict for the substitute that no exception covers. Without `roles` an
order passes on the absentee's delegable roles of pension-insurance register data.

The effect (`lifecycle.substitution.sync_order`, in the same transaction): the substitute's
acting grants for exactly the period, cut to the absentee's own grants; in exclusive mode the
absentee's own grants of those roles suspended for the period. Every action here writes its
audit event (`access.substitution.*`) in its transaction; the grant changes it causes have their
own events, by the system. Mail (the notice before the start, the proposal to the manager) goes
after commit, see `lifecycle.substitution_notices`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.access.lifecycle import substitution as engine
from tugi.access.lifecycle import substitution_notices as notices
from tugi.access.models import Role, Substitution
from tugi.access.queries import current_job_description
from tugi.core import audit, context
from tugi.core.permissions import Actor, require
from tugi.people.models import Absence, Person

log = logging.getLogger(__name__)

State = Substitution.State
ORDER_ANY = "access.order_any_substitution"
# The desk records orders given by someone with authority, as it fulfils approved requests.
RECORD_FOR_OTHERS = "access.fulfil_accessrequest"


def _snapshot(order: Substitution) -> dict[str, Any]:
    data = audit.snapshot(order, engine.SNAPSHOT_FIELDS)
    data["roles"] = sorted(order.roles.values_list("pk", flat=True))
    return data


def _person_of(actor: Actor) -> Person | None:
    if actor is None or not actor.is_authenticated:
        return None
    return Person.objects.filter(user_id=actor.pk).first()


def _not_party(me: Person | None, absentee_id: int, substitute_id: int) -> None:
    """Four eyes: nobody decides a substitution they are part of."""
    if me is not None and me.pk in (absentee_id, substitute_id):
        raise PermissionDenied(
            _(
                "You cannot order or change a substitution in which you are the absent person "
                "or the substitute: someone else with authority must."
            )
        )


def _no_authority(absentee: Person) -> str:
    return _(
        "Only the manager of %(absentee)s, the head of their unit or of a unit above it, or HR "
        "can order their substitution."
    ) % {"absentee": absentee}


def _check_may_order(
    actor: Actor, *, ordered_by: Person | None, absentee: Person, substitute: Person
) -> None:
    """The recorder may record, and whoever gave the order has the authority to."""
    if actor is not None:
        require(actor, "access.add_substitution")
        me = _person_of(actor)
        _not_party(me, absentee.pk, substitute.pk)
        if ordered_by is None:
            raise ValidationError({"ordered_by": _("Name who gave the order.")})
        if me is None or ordered_by.pk != me.pk:
            if not (actor.has_perm(ORDER_ANY) or actor.has_perm(RECORD_FOR_OTHERS)):
                raise PermissionDenied(
                    _("You can record only the substitutions you order yourself.")
                )
        elif not engine.has_authority(me, absentee):
            raise PermissionDenied(_no_authority(absentee))
    if ordered_by is not None:
        if ordered_by.pk in (absentee.pk, substitute.pk):
            raise ValidationError(
                {
                    "ordered_by": _(
                        "Nobody orders their own substitution or one in which they substitute."
                    )
                }
            )
        if not engine.has_authority(ordered_by, absentee):
            raise ValidationError(
                {
                    "ordered_by": _(
                        "%(person)s has no authority to order a substitution for %(absentee)s: "
                        "only their manager, the head of their unit or of a unit above it, or "
                        "HR can."
                    )
                    % {"person": ordered_by, "absentee": absentee}
                }
            )


def check_may_change(actor: Actor, order: Substitution, *, recorder_may: bool = True) -> None:
    """Who may confirm, cancel or move an order: someone with authority over the absentee, or
    (with `recorder_may`) whoever may record orders given by others."""
    if actor is None:
        return
    require(actor, "access.change_substitution")
    me = _person_of(actor)
    _not_party(me, order.absentee_id, order.substitute_id)
    if actor.has_perm(ORDER_ANY) and "hr" in engine.authority_rules():
        return
    if recorder_may and actor.has_perm(RECORD_FOR_OTHERS):
        return
    if not engine.has_authority(me, order.absentee):
        raise PermissionDenied(_no_authority(order.absentee))


def _lock(order: Substitution) -> Substitution:
    return (
        Substitution.objects.select_for_update(of=("self",))
        .select_related("absentee__org_unit", "substitute", "absence")
        .get(pk=order.pk)
    )


def _draft(order: Substitution, **changes: Any) -> engine.Draft:
    values: dict[str, Any] = {
        "absentee": order.absentee,
        "substitute": order.substitute,
        "roles": list(order.roles.select_related("system")),
        "starts_at": order.starts_at,
        "ends_at": order.ends_at,
        "exclusive": order.exclusive,
        "absence": order.absence,
        "order_id": order.pk,
    }
    values.update(changes)
    return engine.Draft(**values)


def _supersede_proposals(order: Substitution, roles: Sequence[Role]) -> list[int]:
    """Proposals for the same person, time and a role of this order give way to it."""
    stale = (
        Substitution.objects.filter(
            absentee=order.absentee,
            state=State.PROPOSED,
            roles__in=[r.pk for r in roles],
            starts_at__lt=order.ends_at,
            ends_at__gt=order.starts_at,
        )
        .exclude(pk=order.pk)
        .values_list("pk", flat=True)
        .distinct()
    )
    ids = []
    now = timezone.now()
    # Locked by id: PostgreSQL locks no rows of a DISTINCT query.
    locked = Substitution.objects.select_for_update().filter(pk__in=list(stale)).order_by("pk")
    for proposal in locked:
        proposal.state = State.CANCELLED
        proposal.cancelled_at = now
        proposal.cancel_reason = f"superseded by order {order.pk}"
        proposal.save(update_fields=["state", "cancelled_at", "cancel_reason"])
        audit.record(
            None,
            "access.substitution.cancel",
            proposal,
            before={"state": State.PROPOSED},
            after={"state": State.CANCELLED},
            basis=proposal.cancel_reason,
            subject_person_id=proposal.absentee_id,
        )
        ids.append(proposal.pk)
    return ids


def _after_commit(send: Callable[[int], None], pk: int) -> None:
    """Run `send(pk)` after commit, under the request id of the action that caused it, so its
    audit event is found with the action's."""
    rid = context.request_id.get()

    def run() -> None:
        with context.request_scope(rid or None):
            send(pk)

    transaction.on_commit(run)


def _after_commit_notice(order: Substitution) -> None:
    """If the order starts soon, its notice goes now rather than at the next hourly run."""
    soon = timezone.now() + datetime.timedelta(days=settings.TUGI_SUBSTITUTION_NOTICE_DAYS)
    if order.state == State.ORDERED and order.starts_at <= soon:
        _after_commit(notices.send_start_notice_safely, order.pk)


# --- ordering ----------------------------------------------------------------------------------


def order_substitution(
    actor: Actor,
    *,
    absentee: Person,
    substitute: Person,
    roles: Sequence[Role] | None = None,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    ordered_by: Person | None,
    exclusive: bool = False,
    absence: Absence | None = None,
    directive: str = "",
    note: str = "",
) -> Substitution:
    """Order that `substitute` acts for `absentee` in `roles` from `starts_at` until `ends_at`.

    A start already past is kept on the order (it is what was ordered), but the grants begin
    now: nothing is ever granted in the past.
    """
    _check_may_order(actor, ordered_by=ordered_by, absentee=absentee, substitute=substitute)
    now = timezone.now()
    engine.check_period(starts_at, ends_at, now)
    with transaction.atomic():
        # One order for a person at a time: the overlap check sees every order before it.
        absentee = Person.objects.select_for_update().select_related("org_unit").get(pk=absentee.pk)
        span = engine.Window(starts_at, ends_at)
        if roles is None:
            roles = engine.delegable_roles_held(absentee, span, pension_only=True)
            if not roles:
                raise ValidationError(
                    {
                        "roles": _(
                            "%(person)s holds no delegable pension-insurance role of their own "
                            "in that period: choose the roles to pass on."
                        )
                        % {"person": absentee}
                    }
                )
        roles = list(dict.fromkeys(roles))
        draft = engine.Draft(
            absentee=absentee,
            substitute=substitute,
            roles=list(roles),
            starts_at=starts_at,
            ends_at=ends_at,
            exclusive=exclusive,
            absence=absence,
        )
        engine.check_draft(draft, now)
        order = Substitution.objects.create(
            absentee=absentee,
            substitute=substitute,
            absence=absence,
            starts_at=starts_at,
            ends_at=ends_at,
            exclusive=exclusive,
            state=State.ORDERED,
            ordered_by=ordered_by,
            ordered_at=now,
            directive=directive.strip()[:100],
            note=note.strip()[:300],
        )
        order.roles.set(roles)
        superseded = _supersede_proposals(order, roles)
        done = engine.sync_order(order, now=now)
        audit.record(
            actor,
            "access.substitution.order",
            order,
            after={**_snapshot(order), **done.as_dict(), "superseded": superseded},
            basis=order.directive,
            subject_person_id=absentee.pk,
        )
        _after_commit_notice(order)
    return order


def confirm_proposal(
    actor: Actor,
    substitution: Substitution,
    *,
    directive: str = "",
    note: str | None = None,
    exclusive: bool | None = None,
) -> Substitution:
    """Someone with authority turns a proposal into an order: the grants are made."""
    now = timezone.now()
    with transaction.atomic():
        order = _lock(substitution)
        if order.state != State.PROPOSED:
            raise ValidationError(
                {
                    "state": _("Only a proposal can be confirmed; this one is %(state)s.")
                    % {"state": order.get_state_display()}
                }
            )
        # Confirming is ordering: the desk cannot do it on someone's behalf without naming them.
        check_may_change(actor, order, recorder_may=False)
        me = _person_of(actor)
        if exclusive is not None:
            order.exclusive = exclusive
        engine.check_draft(_draft(order), now)
        before = _snapshot(order)
        order.state = State.ORDERED
        order.ordered_by = me
        order.ordered_at = now
        order.directive = directive.strip()[:100]
        if note is not None:
            order.note = note.strip()[:300]
        order.save()
        roles = list(order.roles.all())
        superseded = _supersede_proposals(order, roles)
        done = engine.sync_order(order, now=now)
        b, a = audit.diff(before, _snapshot(order))
        audit.record(
            actor,
            "access.substitution.confirm",
            order,
            before=b,
            after={**a, **done.as_dict(), "superseded": superseded},
            basis=order.directive,
            subject_person_id=order.absentee_id,
        )
        _after_commit_notice(order)
    return order


def cancel_substitution(actor: Actor, substitution: Substitution, *, reason: str) -> Substitution:
    """Cancel an order or a proposal: the substitute's grants end now (those not started are
    removed) and exclusive suspensions are lifted. Cancelling twice changes nothing."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the substitution is cancelled.")})
    now = timezone.now()
    with transaction.atomic():
        order = _lock(substitution)
        if order.state == State.CANCELLED:
            return order
        check_may_change(actor, order)
        before = order.state
        order.state = State.CANCELLED
        order.cancelled_at = now
        order.cancel_reason = reason.strip()[:300]
        order.save(update_fields=["state", "cancelled_at", "cancel_reason"])
        done = engine.sync_order(
            order, now=now, reason=f"substitution order {order.pk} cancelled: {reason.strip()}"
        )
        audit.record(
            actor,
            "access.substitution.cancel",
            order,
            before={"state": before},
            after={"state": order.state, **done.as_dict()},
            basis=order.cancel_reason,
            subject_person_id=order.absentee_id,
        )
    return order


def change_substitution_period(
    actor: Actor,
    substitution: Substitution,
    *,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    reason: str = "",
) -> Substitution:
    """Move an order's (or a proposal's) period; its grants and suspensions follow at once.

    What has already happened stays: a grant that has started keeps its start and only its end
    moves; the rules are checked again for the new period.
    """
    engine.check_period(starts_at, ends_at, timezone.now())
    return _change_period(actor, substitution, starts_at, ends_at, reason)


def follow_absence_period(
    substitution: Substitution,
    *,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    reason: str,
) -> Substitution:
    """The system moves an order with its absence (`lifecycle.substitution`). Unlike
    `change_substitution_period` the new end may have passed already (an absence shortened
    after the fact): then the order's grants end now."""
    if ends_at <= timezone.now():
        return _change_period(None, substitution, starts_at, ends_at, reason, validate=False)
    return _change_period(None, substitution, starts_at, ends_at, reason)


def _change_period(
    actor: Actor,
    substitution: Substitution,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    reason: str,
    *,
    validate: bool = True,
) -> Substitution:
    now = timezone.now()
    with transaction.atomic():
        order = _lock(substitution)
        if order.state == State.CANCELLED:
            raise ValidationError(_("This substitution is cancelled and cannot be changed."))
        check_may_change(actor, order)
        if (order.starts_at, order.ends_at) == (starts_at, ends_at):
            return order
        if validate:
            engine.check_draft(_draft(order, starts_at=starts_at, ends_at=ends_at), now)
        before = {"starts_at": order.starts_at, "ends_at": order.ends_at}
        order.starts_at, order.ends_at = starts_at, ends_at
        order.save(update_fields=["starts_at", "ends_at"])
        done = engine.sync_order(
            order, now=now, reason=reason or f"substitution order {order.pk} period changed"
        )
        audit.record(
            actor,
            "access.substitution.period",
            order,
            before=before,
            after={"starts_at": starts_at, "ends_at": ends_at, **done.as_dict()},
            basis=reason,
            subject_person_id=order.absentee_id,
        )
    return order


# --- proposals from the vacation schedule ------------------------------------------------------


def candidates_for(absence: Absence) -> list[Person]:
    """Who the absentee's job description says substitutes them: the holders of its
    "substituted by" positions, by name."""
    jd = current_job_description(absence.person, absence.starts_on)
    if jd is None:
        return []
    return list(
        Person.objects.filter(position__in=jd.substituted_by.all())
        .exclude(status=Person.Status.LEFT)
        .exclude(pk=absence.person_id)
        .order_by("last_name", "first_name", "id")
    )


def propose_for_absence(
    absence: Absence, *, now: datetime.datetime | None = None
) -> Substitution | None:
    """A proposal for one absence, by the system: the first substitute named by the job
    description who meets every rule, with the default roles. None when there is nothing to
    propose (no substitute position, no delegable pension role, already proposed or ordered)."""
    now = now or timezone.now()
    with transaction.atomic():
        absence = (
            Absence.objects.select_for_update()
            .select_related("person__org_unit")
            .get(pk=absence.pk)
        )
        if absence.cancelled or Substitution.objects.filter(absence=absence).exists():
            return None
        person = absence.person
        span = engine.absence_period(absence)
        if span.end <= now or person.status == Person.Status.LEFT:
            return None
        roles = engine.delegable_roles_held(person, span, pension_only=True)
        if not roles:
            return None
        for candidate in candidates_for(absence):
            draft = engine.Draft(
                absentee=person,
                substitute=candidate,
                roles=roles,
                starts_at=span.start,
                ends_at=span.end,
                absence=absence,
            )
            try:
                engine.check_draft(draft, now)
            except ValidationError as exc:
                log.info("substitution: %s cannot substitute (%s)", candidate.pk, exc.messages)
                continue
            order = Substitution.objects.create(
                absentee=person,
                substitute=candidate,
                absence=absence,
                starts_at=span.start,
                ends_at=span.end,
                state=State.PROPOSED,
                note=_("Proposed from the vacation schedule and the job description."),
            )
            order.roles.set(roles)
            audit.record(
                None,
                "access.substitution.propose",
                order,
                after=_snapshot(order),
                basis=f"absence {absence.pk}",
                subject_person_id=person.pk,
            )
            _after_commit(notices.send_proposal_notice_safely, order.pk)
            return order
    return None


def propose_from_absences(
    actor: Actor = None,
    *,
    within_days: int | None = None,
    today: datetime.date | None = None,
) -> list[Substitution]:
    """Proposals for the absences that start within `within_days` days (default
    settings.TUGI_SUBSTITUTION_PROPOSE_DAYS) or are under way, that have none yet. Each absence
    in its own transaction: one that cannot be proposed leaves the others be."""
    if actor is not None:
        require(actor, "access.add_substitution")
    today = today or timezone.localdate()
    days = settings.TUGI_SUBSTITUTION_PROPOSE_DAYS if within_days is None else within_days
    has_any = Substitution.objects.filter(absence=OuterRef("pk"))
    absences = (
        Absence.objects.filter(
            cancelled=False,
            starts_on__lte=today + datetime.timedelta(days=days),
            ends_on__gte=today,
        )
        .exclude(Exists(has_any))
        .order_by("starts_on", "id")
    )
    made = []
    for absence in list(absences):
        order = propose_for_absence(absence)
        if order is not None:
            made.append(order)
    return made
