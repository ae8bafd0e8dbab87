"""Approval-chain policy (kooskõlastus): who must approve an access request, in what order.

The policy, in full:

1. The head of the person's org unit approves first. If the unit has no head, or the head is the
   person the request is for, or the head filed the request, or the head has left, the head of the
   parent unit is asked instead, and so on up the tree.
2. Then the owner of every target system in which the request grants a sensitive role, or asks
   for a segregation-of-duties exception, approves: one step per such system, in the order of the
   systems' names. An owner who is the person or the filer (or who has left) is replaced by the
   nearest head above the owner, so that nobody approves their own request.

Only the current step (the lowest pending one) can be decided; `current_approval` and
`awaiting_decision` answer "whose turn is it" for the actions and for an approver's inbox.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from tugi.access.models import AccessRequest, Approval, TargetSystem
from tugi.people.models import OrgUnit, Person


@dataclass(frozen=True)
class PlannedStep:
    """One step of the chain as the policy plans it, before it is stored as an `Approval`."""

    step: str
    approver: Person
    system: TargetSystem | None = None


def _can_approve(candidate: Person | None, excluded: Collection[int]) -> bool:
    return (
        candidate is not None
        and candidate.pk not in excluded
        and candidate.status != Person.Status.LEFT
    )


def head_above(person: Person, *, not_by: Collection[int] = ()) -> Person:
    """The head of the person's unit, or the nearest head further up who is not excluded.

    The person is never their own approver; `not_by` lists further persons who must not approve
    (the filer). Raises ValidationError when nobody up the tree can.
    """
    excluded = {person.pk, *not_by}
    unit: OrgUnit | None = person.org_unit
    while unit is not None:
        if _can_approve(unit.head, excluded):
            assert unit.head is not None  # for the type checker: _can_approve checked it
            return unit.head
        unit = unit.parent
    raise ValidationError(
        {
            "person": _(
                "Nobody can approve a request for %(person)s: no unit head above them other "
                "than the person or the filer. Ask the administrator to name unit heads."
            )
            % {"person": person}
        }
    )


def manager_of(person: Person) -> Person | None:
    """Who answers for the person: their manager (if still here), else the nearest unit head
    above them; None when there is nobody."""
    if person.manager is not None and person.manager.status != Person.Status.LEFT:
        return person.manager
    try:
        return head_above(person)
    except ValidationError:
        return None


def approval_chain(
    person: Person,
    *,
    owner_systems: Iterable[TargetSystem],
    filer: Person | None = None,
) -> list[PlannedStep]:
    """The steps a request for `person` needs: the unit head, then each named system's owner."""
    not_by = {filer.pk} if filer is not None else set()
    excluded = {person.pk, *not_by}
    steps = [PlannedStep(Approval.Step.UNIT_HEAD, head_above(person, not_by=not_by))]
    for system in sorted({s.pk: s for s in owner_systems}.values(), key=lambda s: s.name):
        owner = system.owner
        if owner is None:
            raise ValidationError(
                {
                    "system": _(
                        "%(system)s has no owner to approve its sensitive roles; ask the "
                        "administrator to name one."
                    )
                    % {"system": system}
                }
            )
        approver = owner if _can_approve(owner, excluded) else head_above(owner, not_by=excluded)
        steps.append(PlannedStep(Approval.Step.SYSTEM_OWNER, approver, system))
    return steps


def current_approval(request: AccessRequest) -> Approval | None:
    """The step whose turn it is: the lowest pending one of a request awaiting approval."""
    if request.state != AccessRequest.State.SUBMITTED:
        return None
    return (
        request.approvals.filter(decision=Approval.Decision.PENDING)
        .select_related("approver", "system")
        .order_by("order")
        .first()
    )


def awaiting_decision(approver: Person) -> QuerySet[Approval]:
    """An approver's inbox: the steps that are theirs and are now the current step."""
    earlier_pending = Approval.objects.filter(
        request=OuterRef("request"),
        decision=Approval.Decision.PENDING,
        order__lt=OuterRef("order"),
    )
    return (
        Approval.objects.filter(
            approver=approver,
            decision=Approval.Decision.PENDING,
            request__state=AccessRequest.State.SUBMITTED,
        )
        .exclude(Exists(earlier_pending))
        .select_related("request__person", "request__requested_by", "system")
        .order_by("request__created_at", "id")
    )
