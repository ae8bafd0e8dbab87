"""The organisation: unit tree, positions, job descriptions with duties, and persons.

`build()` is pure (the same scale and seed give the same unsaved rows, ids included) and `write()`
inserts them, so determinism can be tested without a database round trip.

Shape: one agency at the root; departments (osakond) under it; units (talitus) under each
department; some units split into sectors. Every unit has a head, who holds the unit's head
position, is the manager of its members and reports to the head of the unit above. Persons are
spread over the units with a skew (a few very large units), so a unit filter has a worst case.
"""

import datetime
import itertools
from dataclasses import dataclass, field

from django.db import transaction

from bench.generators import names
from bench.generators.base import (
    REFERENCE_DATE,
    GenContext,
    bulk_insert,
    copy_insert,
    first_free_id,
    weighted_picker,
)
from bench.scales import Scale
from tugi.core.personal_code import with_check_digit
from tugi.core.text import fold
from tugi.people.models import Duty, JobDescription, OrgUnit, Person, Position

NAME = "people"
# Raise when the rows this generator writes change: the runner then rebuilds benchmark databases.
VERSION = 1

SubstituteLink = JobDescription.substitutes.through
SubstitutedByLink = JobDescription.substituted_by.through


@dataclass(frozen=True)
class FirstIds:
    """The first id each table's rows get (1 on an empty database)."""

    unit: int = 1
    position: int = 1
    job_description: int = 1
    duty: int = 1
    person: int = 1

    @classmethod
    def from_database(cls) -> "FirstIds":
        return cls(
            unit=first_free_id(OrgUnit),
            position=first_free_id(Position),
            job_description=first_free_id(JobDescription),
            duty=first_free_id(Duty),
            person=first_free_id(Person),
        )


@dataclass
class PeoplePlan:
    """Unsaved rows with their ids, in an order that can be inserted as is."""

    units: list[OrgUnit] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    job_descriptions: list[JobDescription] = field(default_factory=list)
    duties: list[Duty] = field(default_factory=list)
    substitutes: list = field(default_factory=list)
    substituted_by: list = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)


def generate(ctx: GenContext) -> dict[str, int]:
    """Build the organisation for the context's scale and insert it; returns rows per table."""
    plan = build(ctx.scale, ctx.seed, FirstIds.from_database())
    return write(plan)


def write(plan: PeoplePlan) -> dict[str, int]:
    """Insert a plan in one transaction (foreign keys are deferred, so order within it is free)."""
    with transaction.atomic():
        return {
            "org units": copy_insert(OrgUnit, plan.units),
            "positions": copy_insert(Position, plan.positions),
            "job descriptions": copy_insert(JobDescription, plan.job_descriptions),
            "duties": copy_insert(Duty, plan.duties),
            "job description substitutes": bulk_insert(SubstituteLink, plan.substitutes)
            + bulk_insert(SubstitutedByLink, plan.substituted_by),
            "persons": copy_insert(Person, plan.persons),
        }


def build(scale: Scale, seed: int, first: FirstIds | None = None) -> PeoplePlan:
    """The rows of the organisation at this scale, decided by the seed alone."""
    first = first or FirstIds()
    plan = PeoplePlan()
    ctx = GenContext(scale, seed)
    units = _build_units(ctx, first, plan)
    if scale.persons < len(units):
        raise ValueError(f"scale {scale.name}: {scale.persons} persons for {len(units)} units")
    positions_by_unit = _build_positions(ctx, first, plan, units)
    _build_persons(ctx, first, plan, units, positions_by_unit)
    return plan


@dataclass
class _Unit:
    """A unit being built, with what the person step needs to know about it."""

    row: OrgUnit
    kind: str  # agency, department, unit, sector (a sector is an OrgUnit of kind "unit")
    parent: "_Unit | None"
    head_person_id: int = 0
    weight: float = 1.0


def _build_units(ctx: GenContext, first: FirstIds, plan: PeoplePlan) -> list[_Unit]:
    rng = ctx.rng("people.units")
    scale = ctx.scale
    ids = itertools.count(first.unit)
    units: list[_Unit] = []

    def add(name: str, name_en: str, code: str, kind: str, parent: _Unit | None) -> _Unit:
        unit_id = next(ids)
        row = OrgUnit(
            id=unit_id,
            name=name,
            name_en=name_en,
            code=code,
            kind={"agency": OrgUnit.Kind.AGENCY, "department": OrgUnit.Kind.DEPARTMENT}.get(
                kind, OrgUnit.Kind.UNIT
            ),
            parent_id=parent.row.id if parent else None,
            path=f"{parent.row.path if parent else '/'}{unit_id}/",
            depth=parent.row.depth + 1 if parent else 0,
        )
        unit = _Unit(row=row, kind=kind, parent=parent)
        units.append(unit)
        return unit

    root = add("Sotsiaalkindlustusamet", "Social Insurance Board", "SKA", "agency", None)
    root.weight = 0.3
    for d in range(scale.departments):
        dept_name, dept_en = names.DEPARTMENTS[d % len(names.DEPARTMENTS)]
        if d >= len(names.DEPARTMENTS):
            dept_name, dept_en = f"{dept_name} {d // len(names.DEPARTMENTS) + 1}", dept_en
        dept = add(dept_name, dept_en, f"SKA-{d + 1:02d}", "department", root)
        dept.weight = 0.5
        n_units = rng.randint(*scale.units_per_department)
        town_function = [(t, f) for t in names.TOWNS for f in names.UNIT_FUNCTIONS]
        for u, (town, function) in enumerate(rng.sample(town_function, n_units)):
            unit = add(
                f"{town} {function} talitus", "", f"SKA-{d + 1:02d}-{u + 1:02d}", "unit", dept
            )
            # Log-normal sizes: most units are mid-sized, a few are several times the median.
            unit.weight = rng.lognormvariate(0, 0.8)
            if rng.random() < scale.sector_share:
                n_sectors = rng.randint(*scale.sectors_per_unit)
                for s, sector_function in enumerate(rng.sample(names.SECTOR_FUNCTIONS, n_sectors)):
                    sector = add(
                        f"{sector_function} sektor",
                        "",
                        f"SKA-{d + 1:02d}-{u + 1:02d}-{s + 1}",
                        "sector",
                        unit,
                    )
                    sector.weight = 0.6 * rng.lognormvariate(0, 0.6)
    # Heads are the first persons, one per unit in tree order, so their ids are known here.
    for offset, unit in enumerate(units):
        unit.head_person_id = first.person + offset
        unit.row.head_id = unit.head_person_id
    plan.units = [u.row for u in units]
    return units


def _build_positions(
    ctx: GenContext, first: FirstIds, plan: PeoplePlan, units: list[_Unit]
) -> dict[int, list[Position]]:
    """Positions per unit (the head's first), each with a job description and its duties."""
    rng = ctx.rng("people.positions")
    scale = ctx.scale
    position_ids = itertools.count(first.position)
    jd_ids = itertools.count(first.job_description)
    duty_ids = itertools.count(first.duty)
    directive_numbers = itertools.count(1)
    head_duties = [d for d in names.DUTIES if d[0].startswith(("Juhib", "Kinnitab"))]
    staff_duties = [d for d in names.DUTIES if d not in head_duties]
    by_unit: dict[int, list[Position]] = {}

    def job_description(position: Position, valid_from: datetime.date, head: bool) -> int:
        jd = JobDescription(
            id=next(jd_ids),
            position_id=position.id,
            valid_from=valid_from,
            directive=f"1-1/{valid_from.year}/{next(directive_numbers)}",
            purpose=names.PURPOSES[4] if head else rng.choice(names.PURPOSES[:4]),
        )
        plan.job_descriptions.append(jd)
        k = rng.randint(*scale.duties_per_job)
        chosen = (head_duties if head else []) + rng.sample(staff_duties, k)
        for order, (description, expected) in enumerate(chosen):
            plan.duties.append(
                Duty(
                    id=next(duty_ids),
                    job_description_id=jd.id,
                    order=order,
                    description=description,
                    expected_result=expected,
                )
            )
        return jd.id

    for unit in units:
        n = rng.randint(*scale.positions_per_unit)
        titles = [names.HEAD_TITLES[unit.kind], *rng.sample(names.TITLES, n - 1)]
        positions = []
        current_jd: dict[int, int] = {}  # position id -> id of its job description in force
        for i, title in enumerate(titles):
            position = Position(
                id=next(position_ids),
                title=title,
                code=f"{unit.row.code}-A{i + 1:02d}",
                org_unit_id=unit.row.id,
            )
            positions.append(position)
            current_from = REFERENCE_DATE - datetime.timedelta(days=rng.randint(30, 3000))
            if rng.random() < scale.superseded_job_share:
                older = current_from - datetime.timedelta(days=rng.randint(365, 1800))
                job_description(position, older, head=i == 0)
            current_jd[position.id] = job_description(position, current_from, head=i == 0)
        plan.positions.extend(positions)
        by_unit[unit.row.id] = positions
        # Substitution as job descriptions state it: staff positions cover each other in a ring,
        # the first staff position covers the head. Only the current job description says so.
        head, staff = positions[0], positions[1:]
        plan.substituted_by.append(
            SubstitutedByLink(jobdescription_id=current_jd[head.id], position_id=staff[0].id)
        )
        if len(staff) > 1:
            for i, position in enumerate(staff):
                jd_id = current_jd[position.id]
                after, before = staff[(i + 1) % len(staff)], staff[i - 1]
                plan.substitutes.append(
                    SubstituteLink(jobdescription_id=jd_id, position_id=after.id)
                )
                plan.substituted_by.append(
                    SubstitutedByLink(jobdescription_id=jd_id, position_id=before.id)
                )
    return by_unit


class _Identity:
    """Draws personal codes, foreign ids and e-mail addresses, each unique."""

    def __init__(self, ctx: GenContext) -> None:
        self.rng = ctx.rng("people.identity")
        self.codes: set[str] = set()
        self.emails: dict[str, int] = {}
        self.foreign = itertools.count(100_001)
        self.first_birth = datetime.date(1957, 1, 1)
        self.birth_span = (datetime.date(2004, 12, 31) - self.first_birth).days

    def birth_date(self) -> datetime.date:
        return self.first_birth + datetime.timedelta(days=self.rng.randrange(self.birth_span))

    def personal_code(self, born: datetime.date, male: bool) -> str:
        """A valid code: sex-and-century digit, YYMMDD, a serial, the check digit."""
        century = 3 if born.year < 2000 else 5
        sex_century = century if male else century + 1
        while True:
            ten = f"{sex_century}{born:%y%m%d}{self.rng.randrange(1000):03d}"
            if ten not in self.codes:
                self.codes.add(ten)
                return with_check_digit(ten)

    def foreign_id(self) -> tuple[str, str]:
        country = self.rng.choice(names.FOREIGN_ID_COUNTRIES)
        return country, f"{country}{next(self.foreign)}"

    def email(self, first_name: str, last_name: str) -> str:
        local = fold(f"{first_name}.{last_name}").replace(" ", "")
        n = self.emails.get(local, 0) + 1
        self.emails[local] = n
        return f"{local}{n if n > 1 else ''}@{names.EMAIL_DOMAIN}"


def _build_persons(
    ctx: GenContext,
    first: FirstIds,
    plan: PeoplePlan,
    units: list[_Unit],
    positions_by_unit: dict[int, list[Position]],
) -> None:
    rng = ctx.rng("people.persons")
    scale = ctx.scale
    identity = _Identity(ctx)
    male_name = weighted_picker(rng, names.MALE_FIRST_NAMES, 0.8)
    female_name = weighted_picker(rng, names.FEMALE_FIRST_NAMES, 0.8)
    surname = weighted_picker(rng, names.SURNAMES, 0.9)
    earliest_start = datetime.date(1995, 1, 1)

    # Heads first (their ids were fixed with the units), then the staff spread by unit weight.
    members = [(unit, True) for unit in units]
    staff_units = rng.choices(
        units, weights=[u.weight for u in units], k=scale.persons - len(units)
    )
    members.extend((unit, False) for unit in staff_units)

    for offset, (unit, is_head) in enumerate(members):
        male = rng.random() < 0.45
        first_name = male_name() if male else female_name()
        last_name = surname()[0 if male else 1]
        email = identity.email(first_name, last_name)
        born = identity.birth_date()
        if rng.random() < scale.foreign_id_share:
            code, (country, foreign_code) = None, identity.foreign_id()
        else:
            code, country, foreign_code = identity.personal_code(born, male), "", ""
        # Nobody starts before 18 (a day or two either way does not matter here).
        lower = max(born + datetime.timedelta(days=18 * 365 + 5), earliest_start)
        start = lower + datetime.timedelta(days=rng.randrange((REFERENCE_DATE - lower).days - 30))
        status, end = Person.Status.ACTIVE, None
        if not is_head:
            draw = rng.random()
            if draw < scale.left_share:
                status = Person.Status.LEFT
                end = start + datetime.timedelta(days=rng.randrange((REFERENCE_DATE - start).days))
            elif draw < scale.left_share + scale.on_leave_share:
                status = Person.Status.ON_LEAVE
        positions = positions_by_unit[unit.row.id]
        if is_head:
            position = positions[0]
            manager_id = unit.parent.head_person_id if unit.parent else None
        else:
            position = rng.choice(positions[1:])
            manager_id = unit.head_person_id
        plan.persons.append(
            Person(
                id=first.person + offset,
                first_name=first_name,
                last_name=last_name,
                email=email,
                phone=f"+372 5{rng.randrange(1_000_000, 10_000_000)}",
                personal_code=code,
                foreign_id_country=country,
                foreign_id_code=foreign_code,
                org_unit_id=unit.row.id,
                position_id=position.id,
                manager_id=manager_id,
                employment_start=start,
                employment_end=end,
                status=status,
                search_text=fold(f"{first_name} {last_name} {email}"),
            )
        )
