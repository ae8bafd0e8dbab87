"""A small organisation for the substitution tests.

    department (head: Tiina, dept_head) ⊃ unit (head: Jaan, unit_head)
        ⊃ Mari (the absentee; manager Jaan) and Kati (the substitute), Peeter (another colleague)
    another unit (head: Olev, other_head)

Mari holds, of her own (job description), two delegable pension-insurance roles, a delegable
ordinary role and a pension role that is not delegable, all in SKAIS2. The users: Jaan and Tiina
and Olev (approvers), an HR specialist (Helle, in the other unit), the desk (Kalle) and Kati.
"""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User

from tests.access.factories import (
    AccountFactory,
    GrantFactory,
    JobDescriptionFactory,
    RoleFactory,
    TargetSystemFactory,
)
from tests.factories import OrgUnitFactory, PersonFactory, PositionFactory, make_user
from tugi.access.models import Account, Grant, Role, TargetSystem
from tugi.core.roles import AppRole
from tugi.people.models import OrgUnit, Person, Position

TALLINN = ZoneInfo("Europe/Tallinn")


def at(*args: int) -> datetime.datetime:
    """A Tallinn wall-clock time."""
    return datetime.datetime(*args, tzinfo=TALLINN)


@dataclass
class World:
    department: OrgUnit
    unit: OrgUnit
    other_unit: OrgUnit
    absentee: Person
    substitute: Person
    colleague: Person
    unit_head: Person
    dept_head: Person
    other_head: Person
    hr: Person
    desk_person: Person
    specialist_position: Position
    lead_position: Position
    unit_head_user: User
    dept_head_user: User
    other_head_user: User
    hr_user: User
    desk_user: User
    substitute_user: User
    skais: TargetSystem
    pension: Role  # delegable, pension-insurance
    register: Role  # delegable, pension-insurance
    benefits: Role  # delegable, personal data
    decide: Role  # pension-insurance, not delegable
    account: Account  # Mari's SKAIS2 account
    grants: dict[str, Grant]  # Mari's own grants by role key


def build_world(since: datetime.datetime) -> World:
    """The organisation, with Mari's grants held since `since`."""
    department = OrgUnitFactory(kind=OrgUnit.Kind.DEPARTMENT, name="Pensioniosakond")
    unit = OrgUnitFactory(parent=department, name="Pensionide talitus")
    other_unit = OrgUnitFactory(parent=department, name="Personalitalitus")
    lead = PositionFactory(org_unit=unit, title="Juhtivspetsialist")
    specialist = PositionFactory(org_unit=unit, title="Pensionispetsialist")
    dept_head = PersonFactory(org_unit=department, first_name="Tiina", last_name="Tamm")
    unit_head = PersonFactory(org_unit=unit, first_name="Jaan", last_name="Jõgi", manager=dept_head)
    other_head = PersonFactory(org_unit=other_unit, first_name="Olev", last_name="Org")
    department.head, unit.head, other_unit.head = dept_head, unit_head, other_head
    for u in (department, unit, other_unit):
        u.save(update_fields=["head"])
    absentee = PersonFactory(
        org_unit=unit, position=lead, first_name="Mari", last_name="Maasikas", manager=unit_head
    )
    substitute = PersonFactory(
        org_unit=unit, position=specialist, first_name="Kati", last_name="Kask", manager=unit_head
    )
    colleague = PersonFactory(
        org_unit=unit, position=specialist, first_name="Peeter", last_name="Pärn", manager=unit_head
    )
    hr = PersonFactory(org_unit=other_unit, first_name="Helle", last_name="Hein")
    desk_person = PersonFactory(org_unit=other_unit, first_name="Kalle", last_name="Kuusk")
    skais = TargetSystemFactory(code="SKAIS2", name="SKAIS2")
    pension = RoleFactory(
        system=skais,
        code="PEN_PROC",
        name="Pensionide menetleja",
        sensitivity=Role.Sensitivity.PENSION_INSURANCE,
        delegable=True,
    )
    register = RoleFactory(
        system=skais,
        code="PKR_VIEW",
        name="Registri vaataja",
        sensitivity=Role.Sensitivity.PENSION_INSURANCE,
        delegable=True,
    )
    benefits = RoleFactory(
        system=skais,
        code="HYV_PROC",
        name="Hüvitiste menetleja",
        sensitivity=Role.Sensitivity.PERSONAL_DATA,
        delegable=True,
    )
    decide = RoleFactory(
        system=skais,
        code="PEN_DECIDE",
        name="Otsuste kinnitaja",
        sensitivity=Role.Sensitivity.PENSION_INSURANCE,
        delegable=False,
    )
    account = AccountFactory(person=absentee, system=skais, opened_at=since)
    grants = {
        key: GrantFactory(account=account, role=role, valid_from=since)
        for key, role in (
            ("pension", pension),
            ("register", register),
            ("benefits", benefits),
            ("decide", decide),
        )
    }
    JobDescriptionFactory(position=specialist)
    jd = JobDescriptionFactory(position=lead)
    jd.substituted_by.set([specialist])
    return World(
        department=department,
        unit=unit,
        other_unit=other_unit,
        absentee=absentee,
        substitute=substitute,
        colleague=colleague,
        unit_head=unit_head,
        dept_head=dept_head,
        other_head=other_head,
        hr=hr,
        desk_person=desk_person,
        specialist_position=specialist,
        lead_position=lead,
        unit_head_user=make_user("jaan", AppRole.APPROVER, person=unit_head),
        dept_head_user=make_user("tiina", AppRole.APPROVER, person=dept_head),
        other_head_user=make_user("olev", AppRole.APPROVER, person=other_head),
        hr_user=make_user("helle", AppRole.HR_SPECIALIST, person=hr),
        desk_user=make_user("kalle", AppRole.DESK_AGENT, person=desk_person),
        substitute_user=make_user("kati", AppRole.APPROVER, person=substitute),
        skais=skais,
        pension=pension,
        register=register,
        benefits=benefits,
        decide=decide,
        account=account,
        grants=grants,
    )


def acting_grants(order) -> list[Grant]:
    return list(Grant.objects.filter(substitution=order).order_by("role__code", "valid_from"))
