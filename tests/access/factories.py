"""Factories for access data (systems, roles, accounts, grants, entitlements).

They write through the ORM directly: test setup, not domain changes, so no audit events. Defaults
make a self-consistent row: a grant's role belongs to its account's system and its person is the
account's person; a job-description grant names a duty. `request_world` builds a small
organisation (units with heads, a system owner, approver and desk users) for request tests.
"""

import datetime
from dataclasses import dataclass

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from tests.factories import OrgUnitFactory, PersonFactory, PositionFactory, make_user
from tugi.access.models import Account, Entitlement, Grant, Role, TargetSystem
from tugi.core.roles import AppRole
from tugi.people.models import Duty, JobDescription, OrgUnit, Person


class TargetSystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TargetSystem

    code = factory.Sequence(lambda n: f"SYS{n}")
    name = factory.Sequence(lambda n: f"Infosüsteem {n}")
    kind = TargetSystem.Kind.INTERNAL
    owner = None


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role

    system = factory.SubFactory(TargetSystemFactory)
    code = factory.Sequence(lambda n: f"ROLE{n}")
    name = factory.Sequence(lambda n: f"Roll {n}")
    sensitivity = Role.Sensitivity.NORMAL


class JobDescriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JobDescription

    position = factory.SubFactory(PositionFactory)
    valid_from = datetime.date(2020, 1, 1)


class DutyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Duty

    job_description = factory.SubFactory(JobDescriptionFactory)
    order = factory.Sequence(lambda n: n)
    description = factory.Sequence(lambda n: f"Kohustus {n}")


class EntitlementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entitlement

    duty = factory.SubFactory(DutyFactory)
    role = factory.SubFactory(RoleFactory)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    person = factory.SubFactory(PersonFactory)
    system = factory.SubFactory(TargetSystemFactory)
    username = factory.Sequence(lambda n: f"kasutaja{n}")
    state = Account.State.ACTIVE
    opened_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=30))


class GrantFactory(factory.django.DjangoModelFactory):
    """A grant in force since 30 days ago, open-ended, justified by a job-description duty."""

    class Meta:
        model = Grant

    account = factory.SubFactory(AccountFactory)
    role = factory.SubFactory(RoleFactory, system=factory.SelfAttribute("..account.system"))
    person = factory.SelfAttribute("account.person")
    valid_from = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=30))
    valid_to = None
    basis = Grant.Basis.JOB_DESCRIPTION
    basis_duty = factory.SubFactory(DutyFactory)


@dataclass
class RequestWorld:
    """A small organisation for request tests.

    department (head: dept_head) ⊃ unit (head: unit_head) ⊃ person (the requester, a user);
    the desk sits in another unit; SKAIS has an owner and a sensitive and an ordinary role;
    STAR has no sensitive roles.
    """

    department: OrgUnit
    unit: OrgUnit
    person: Person
    unit_head: Person
    dept_head: Person
    owner: Person
    desk_person: Person
    requester: User
    unit_head_user: User
    dept_head_user: User
    owner_user: User
    desk: User
    skais: TargetSystem
    star: TargetSystem
    pension_role: Role  # sensitive, end date required, at most a year
    benefits_role: Role  # ordinary
    star_role: Role  # ordinary


def request_world(requester: User, desk: User) -> RequestWorld:
    """Build the organisation around the conftest's requester and desk users."""
    department = OrgUnitFactory(kind=OrgUnit.Kind.DEPARTMENT, name="Pensioniosakond")
    unit = OrgUnitFactory(parent=department, name="Pensionide talitus")
    other_unit = OrgUnitFactory(parent=department, name="Arendustalitus")
    dept_head = PersonFactory(org_unit=department, first_name="Tiina")
    unit_head = PersonFactory(org_unit=unit, first_name="Jaan")
    department.head, unit.head = dept_head, unit_head
    department.save(update_fields=["head"])
    unit.save(update_fields=["head"])
    person = PersonFactory(org_unit=unit, first_name="Mari", user=requester)
    desk_person = PersonFactory(org_unit=other_unit, first_name="Kalle", user=desk)
    owner = PersonFactory(org_unit=other_unit, first_name="Olev")
    skais = TargetSystemFactory(code="SKAIS2", name="SKAIS2", owner=owner)
    star = TargetSystemFactory(code="STAR", name="STAR", owner=None)
    return RequestWorld(
        department=department,
        unit=unit,
        person=person,
        unit_head=unit_head,
        dept_head=dept_head,
        owner=owner,
        desk_person=desk_person,
        requester=requester,
        unit_head_user=make_user("juhataja", AppRole.APPROVER, person=unit_head),
        dept_head_user=make_user("osakonnajuhataja", AppRole.APPROVER, person=dept_head),
        owner_user=make_user("omanik", AppRole.SYSTEM_OWNER, person=owner),
        desk=desk,
        skais=skais,
        star=star,
        pension_role=RoleFactory(
            system=skais,
            name="Pensionide menetleja",
            sensitivity=Role.Sensitivity.PENSION_INSURANCE,
            requires_end_date=True,
            max_duration_days=366,
        ),
        benefits_role=RoleFactory(system=skais, name="Toetuste vaataja"),
        star_role=RoleFactory(system=star, name="Sotsiaaltöötaja"),
    )
