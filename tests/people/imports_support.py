"""Shared set-up of the import tests: a small organisation with job descriptions and roles, and
helpers that write real CSV and XLSX files.

    department OSAK
      ├─ unit PENS (pensions)  position PENS-SPEC: duty → SKAIS "Pensionide menetleja",
      │                                                     STAR "Vaataja"
      └─ unit AREN (development) position AREN-SPEC: duty → STAR "Vaataja", SKAIS "Arendaja"
    unit VANA (no longer in use)

Mari and Jaan hold PENS-SPEC with its two roles granted on the job description.
"""

import csv
import datetime
import io
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from django.contrib.auth.models import User
from django.utils import timezone

from tests.access.factories import (
    AccountFactory,
    DutyFactory,
    EntitlementFactory,
    GrantFactory,
    JobDescriptionFactory,
    RoleFactory,
    TargetSystemFactory,
)
from tests.factories import OrgUnitFactory, PersonFactory, PositionFactory, make_user
from tugi.access.models import Role, TargetSystem
from tugi.core.roles import AppRole
from tugi.core.text import fold
from tugi.people.models import Duty, OrgUnit, Person, Position

TALLINN = ZoneInfo("Europe/Tallinn")
# A Monday morning; every test that applies runs at this moment.
NOW = datetime.datetime(2026, 11, 2, 10, 0, tzinfo=TALLINN)

ET_HEADINGS = [
    "Isikukood",
    "Eesnimi",
    "Perekonnanimi",
    "E-post",
    "Üksuse kood",
    "Ametikoha kood",
    "Töösuhte algus",
    "Töösuhte lõpp",
    "Juhi isikukood",
]
EN_HEADINGS = [
    "Personal code",
    "First name",
    "Last name",
    "E-mail",
    "Unit code",
    "Position code",
    "Employment start",
    "Employment end",
    "Manager's personal code",
]

# Valid personal codes (DOMAIN.md's examples and more made with the check digit).
MARI = "48501010014"
JAAN = "37605030299"
NEW_1 = "38001085718"
NEW_2 = "47101010033"
NEW_3 = "39912310174"


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TALLINN)


@dataclass
class World:
    department: OrgUnit
    pens: OrgUnit
    aren: OrgUnit
    old_unit: OrgUnit
    pens_spec: Position
    aren_spec: Position
    pens_duty: Duty
    aren_duty: Duty
    skais: TargetSystem
    star: TargetSystem
    pension_role: Role  # PENS-SPEC only
    viewer_role: Role  # both positions
    developer_role: Role  # AREN-SPEC only
    mari: Person
    jaan: Person
    hr: User


def build_world() -> World:
    department = OrgUnitFactory(code="OSAK", name="Pensioniosakond", kind=OrgUnit.Kind.DEPARTMENT)
    pens = OrgUnitFactory(code="PENS", name="Pensionide talitus", parent=department)
    aren = OrgUnitFactory(code="AREN", name="Arendustalitus", parent=department)
    old_unit = OrgUnitFactory(code="VANA", name="Vana talitus", active=False)
    head = PersonFactory(first_name="Tiina", last_name="Juht", org_unit=department)
    for unit in (department, pens, aren):
        unit.head = head
        unit.save(update_fields=["head"])
    pens_spec = PositionFactory(code="PENS-SPEC", title="Pensionispetsialist", org_unit=pens)
    aren_spec = PositionFactory(code="AREN-SPEC", title="Arendaja", org_unit=aren)
    pens_duty = DutyFactory(
        job_description=JobDescriptionFactory(
            position=pens_spec, valid_from=datetime.date(2020, 1, 1)
        ),
        description="Menetleb pensionitaotlusi",
    )
    aren_duty = DutyFactory(
        job_description=JobDescriptionFactory(
            position=aren_spec, valid_from=datetime.date(2020, 1, 1)
        ),
        description="Arendab infosüsteeme",
    )
    skais = TargetSystemFactory(code="SKAIS2", name="SKAIS2", owner=head)
    star = TargetSystemFactory(code="STAR", name="STAR", owner=head)
    pension_role = RoleFactory(system=skais, name="Pensionide menetleja")
    viewer_role = RoleFactory(system=star, name="Vaataja")
    developer_role = RoleFactory(system=skais, name="Arendaja")
    EntitlementFactory(duty=pens_duty, role=pension_role)
    EntitlementFactory(duty=pens_duty, role=viewer_role)
    EntitlementFactory(duty=aren_duty, role=viewer_role)
    EntitlementFactory(duty=aren_duty, role=developer_role)
    mari = PersonFactory(
        personal_code=MARI,
        first_name="Mari",
        last_name="Maasikas",
        email="mari.maasikas@sotsiaalkindlustusamet.ee",
        org_unit=pens,
        position=pens_spec,
        manager=head,
    )
    jaan = PersonFactory(
        personal_code=JAAN,
        first_name="Jaan",
        last_name="Tamm",
        email="jaan.tamm@sotsiaalkindlustusamet.ee",
        org_unit=pens,
        position=pens_spec,
        manager=head,
    )
    since = timezone.now() - datetime.timedelta(days=300)
    for person in (mari, jaan):
        skais_account = AccountFactory(person=person, system=skais)
        star_account = AccountFactory(person=person, system=star)
        GrantFactory(
            account=skais_account, role=pension_role, basis_duty=pens_duty, valid_from=since
        )
        GrantFactory(account=star_account, role=viewer_role, basis_duty=pens_duty, valid_from=since)
    return World(
        department=department,
        pens=pens,
        aren=aren,
        old_unit=old_unit,
        pens_spec=pens_spec,
        aren_spec=aren_spec,
        pens_duty=pens_duty,
        aren_duty=aren_duty,
        skais=skais,
        star=star,
        pension_role=pension_role,
        viewer_role=viewer_role,
        developer_role=developer_role,
        mari=mari,
        jaan=jaan,
        hr=make_user("personal", AppRole.HR_SPECIALIST),
    )


def person_row(person: Person, **changes: str) -> list[str]:
    """The person as a row under ET_HEADINGS (what a full export says about them today)."""
    row = {
        "code": person.personal_code or "",
        "first": person.first_name,
        "last": person.last_name,
        "email": person.email,
        "unit": person.org_unit.code,
        "position": person.position.code if person.position else "",
        "start": f"{person.employment_start:%d.%m.%Y}",
        "end": f"{person.employment_end:%d.%m.%Y}" if person.employment_end else "",
        "manager": person.manager.personal_code if person.manager else "",
    }
    row.update(changes)
    return list(row.values())


def joiner_row(code: str, first: str, last: str, **changes: str) -> list[str]:
    row = {
        "code": code,
        "first": first,
        "last": last,
        "email": f"{fold(first)}.{fold(last)}@sotsiaalkindlustusamet.ee",
        "unit": "PENS",
        "position": "PENS-SPEC",
        "start": "16.11.2026",
        "end": "",
        "manager": "",
    }
    row.update(changes)
    return list(row.values())


def csv_bytes(
    rows: list[list[str]],
    headings: list[str] = ET_HEADINGS,
    *,
    separator: str = ";",
    bom: bool = True,
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow(headings)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def write_csv(tmp_path: Path, rows: list[list[str]], name: str = "personal.csv", **kw) -> Path:
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows, **kw))
    return path


def write_xlsx(
    tmp_path: Path,
    rows: list[list[object]],
    headings: list[str] = ET_HEADINGS,
    name: str = "personal.xlsx",
    *,
    blank_rows_before: int = 0,
) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for _ in range(blank_rows_before):
        sheet.append([])
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path
