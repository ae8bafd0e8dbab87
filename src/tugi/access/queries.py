"""Reads of access data: what a person holds, is entitled to, and why; who held a role when."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from tugi.access.models import Approval, Entitlement, Grant, GrantSuspension, Role
from tugi.people.models import Duty, JobDescription, Person


def grant_open_at(at: datetime.datetime) -> Q:
    """Grants that have not ended by `at` (they may not have started yet)."""
    return Q(valid_to__isnull=True) | Q(valid_to__gt=at)


def suspension_open_at(at: datetime.datetime) -> Q:
    return Q(ends_at__isnull=True) | Q(ends_at__gt=at)


def held_at(at: datetime.datetime) -> Q:
    """Grants in force at `at`: started, not ended, not suspended."""
    suspended = GrantSuspension.objects.filter(grant=OuterRef("pk"), starts_at__lte=at).filter(
        suspension_open_at(at)
    )
    return Q(valid_from__lte=at) & grant_open_at(at) & ~Q(Exists(suspended))


def holders_of(role: Role, at: datetime.datetime) -> QuerySet[Grant]:
    """Who held the role at `at`, with the basis of each grant: one indexed query."""
    return (
        Grant.objects.filter(role=role)
        .filter(held_at(at))
        .select_related("person", "person__org_unit", "basis_duty", "basis_item", "acting_for")
        # The (role, valid_from) index's order: a page never sorts all of a role's holders.
        .order_by("valid_from", "id")
    )


def current_job_description(
    person: Person, on: datetime.date | None = None
) -> JobDescription | None:
    if person.position_id is None:
        return None
    on = on or timezone.localdate()
    return (
        JobDescription.objects.filter(position_id=person.position_id, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )


def entitlements_of(person: Person, on: datetime.date | None = None) -> dict[int, Duty]:
    """The roles the person's current job description justifies: role id → the duty that does."""
    jd = current_job_description(person, on)
    if jd is None:
        return {}
    entitled: dict[int, Duty] = {}
    for e in Entitlement.objects.filter(duty__job_description=jd).select_related("duty"):
        entitled.setdefault(e.role_id, e.duty)
    return entitled


@dataclass
class BasisChain:
    """Why a person holds a role: the grant and the documents behind it."""

    grant: Grant
    duty: Duty | None = None
    job_description: JobDescription | None = None
    approvals: list[Approval] = field(default_factory=list)
    still_justified: bool = True


def explain(person: Person, role: Role, at: datetime.datetime | None = None) -> list[BasisChain]:
    """ "Why does P have R?": each grant in force and its basis chain."""
    at = at or timezone.now()
    chains = []
    grants = (
        Grant.objects.filter(person=person, role=role)
        .filter(held_at(at))
        .select_related(
            "basis_duty__job_description__position", "basis_item__request", "acting_for"
        )
    )
    entitled = entitlements_of(person, timezone.localdate(at))
    for grant in grants:
        chain = BasisChain(grant=grant)
        if grant.basis == Grant.Basis.JOB_DESCRIPTION and grant.basis_duty:
            chain.duty = grant.basis_duty
            chain.job_description = grant.basis_duty.job_description
            chain.still_justified = role.pk in entitled
        elif grant.basis == Grant.Basis.REQUEST and grant.basis_item:
            chain.approvals = list(
                grant.basis_item.request.approvals.select_related("approver", "decided_by")
            )
        chains.append(chain)
    return chains


def timeline(person: Person) -> QuerySet[Grant]:
    """All the person's grants, past, present and future, newest first, with suspensions."""
    return (
        Grant.objects.filter(person=person)
        .select_related("role__system", "basis_duty", "basis_item", "acting_for")
        .prefetch_related("suspensions")
        .order_by("-valid_from", "-id")
    )
