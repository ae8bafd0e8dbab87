"""The vacation schedule import (puhkusegraafik): rows checked, re-imports change rather than
duplicate, absences missing from a re-imported schedule are listed and never cancelled."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from tests.factories import PersonFactory
from tests.people.imports_support import JAAN, MARI, NOW, build_world, write_xlsx
from tugi.core.models import AuditEvent
from tugi.people.imports.actions import apply_import, preview_import
from tugi.people.models import Absence, DataImport, Person

pytestmark = pytest.mark.django_db

HEADINGS = "Isikukood;E-post;Liik;Esimene päev;Viimane päev;Märkus"


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with time_machine.travel(NOW, tick=False):
        yield build_world()


def schedule(world, tmp_path, *lines: str, headings: str = HEADINGS, name="graafik.csv"):
    path = tmp_path / name
    path.write_bytes(("\ufeff" + "\r\n".join([headings, *lines]) + "\r\n").encode("utf-8"))
    return preview_import(world.hr, "absences", path.name, path.read_bytes())


def d(day: int, month: int, year: int = 2026) -> datetime.date:
    return datetime.date(year, month, day)


def recorded(person: Person, **kw) -> Absence:
    defaults = {"kind": Absence.Kind.VACATION, "source": Absence.Source.SCHEDULE}
    return Absence.objects.create(person=person, **{**defaults, **kw})


def by_row(data_import: DataImport) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for e in data_import.errors:
        found.setdefault(e["row"], []).append((e["field"], e["message"]))
    return found


def test_a_schedule_is_previewed_then_recorded_through_the_absence_actions(world, tmp_path):
    data_import = schedule(
        world,
        tmp_path,
        f"{MARI};;põhipuhkus;1.12.2026;14.12.2026;jõulude eel",
        ";jaan.tamm@sotsiaalkindlustusamet.ee;Õppepuhkus;2026-12-20;2026-12-22;",
        f"{MARI};;;5.1.2027;9.1.2027;",  # an empty kind is annual leave
    )
    assert data_import.errors == []
    assert data_import.summary["new"] == 3
    assert not Absence.objects.exists()  # nothing before applying
    with time_machine.travel(NOW, tick=False):
        data_import = apply_import(world.hr, data_import)
    assert data_import.state == DataImport.State.APPLIED
    absences = {
        (a.person_id, a.kind, a.starts_on, a.ends_on, a.note)
        for a in Absence.objects.filter(source=Absence.Source.SCHEDULE)
    }
    assert absences == {
        (world.mari.pk, "vacation", d(1, 12), d(14, 12), "jõulude eel"),
        (world.jaan.pk, "study", d(20, 12), d(22, 12), ""),
        (world.mari.pk, "vacation", d(5, 1, 2027), d(9, 1, 2027), ""),
    }
    events = AuditEvent.objects.filter(action="people.absence.create")
    assert events.count() == 3 and {e.actor_id for e in events} == {world.hr.pk}


def test_an_xlsx_schedule_with_date_cells(world, tmp_path):
    path = write_xlsx(
        tmp_path,
        [
            [
                int(MARI),
                "lapsehoolduspuhkus",
                datetime.datetime(2026, 12, 1),
                datetime.datetime(2027, 5, 31),
            ]
        ],
        headings=["isikukood", "liik", "esimene päev", "viimane päev"],
    )
    data_import = preview_import(world.hr, "absences", path.name, path.read_bytes())
    assert data_import.errors == [] and data_import.summary["new"] == 1


def test_every_bad_row_is_named(world, tmp_path):
    leaver = PersonFactory(
        first_name="Lahkuja",
        last_name="Lepp",
        org_unit=world.pens,
        employment_end=d(30, 11),
    )
    data_import = schedule(
        world,
        tmp_path,
        "39001010000;;põhipuhkus;1.12.2026;5.12.2026;",  # 2: nobody has this code
        ";keegi@sotsiaalkindlustusamet.ee;põhipuhkus;1.12.2026;5.12.2026;",  # 3: nor this address
        f"{MARI};;põhipuhkus;10.12.2026;1.12.2026;",  # 4: reversed
        f"{JAAN};;põhipuhkus;1.12.2026;10.12.2026;",  # 5: overlaps row 6
        f"{JAAN};;põhipuhkus;8.12.2026;12.12.2026;",  # 6
        f"{leaver.personal_code};;põhipuhkus;1.12.2026;3.12.2026;",  # 7: has left by then
        f"{MARI};;kosmosepuhkus;1.2.2027;3.2.2027;",  # 8: unknown kind
        f"{MARI};;põhipuhkus;homme;3.3.2027;",  # 9: not a date
        ";;põhipuhkus;1.4.2027;3.4.2027;",  # 10: nobody
    )
    found = by_row(data_import)
    assert set(found) == set(range(2, 11))
    assert found[2] == [("personal_code", "No person with this personal code is in Tugi.")]
    assert found[3] == [
        ("email", "No person with the e-mail address “keegi@sotsiaalkindlustusamet.ee” is in Tugi.")
    ]
    assert found[4] == [
        ("ends_on", "The last day (01.12.2026) is before the first day (10.12.2026).")
    ]
    assert found[5] == [
        ("starts_on", "The period overlaps row 6 (08.12.2026–12.12.2026) of the same person.")
    ]
    assert found[6][0][1].startswith("The period overlaps row 5")
    assert found[7] == [
        ("starts_on", "Lahkuja Lepp has left or leaves before then (last day 30.11.2026).")
    ]
    assert found[8][0][0] == "kind" and "kosmosepuhkus" in found[8][0][1]
    assert found[9][0][0] == "starts_on"
    assert found[10] == [("personal_code", "Give the personal code or the e-mail address.")]
    assert data_import.valid_rows == 0
    with pytest.raises(ValidationError, match="nothing to apply"):
        apply_import(world.hr, data_import)


def test_a_row_overlapping_an_absence_entered_by_hand_is_refused(world, tmp_path):
    recorded(world.mari, starts_on=d(3, 12), ends_on=d(4, 12), source=Absence.Source.MANUAL)
    data_import = schedule(world, tmp_path, f"{MARI};;põhipuhkus;1.12.2026;10.12.2026;")
    assert by_row(data_import)[2][0][1].startswith("Mari Maasikas is already absent 03.12.2026")


def test_a_reimported_schedule_changes_the_overlapping_absence_instead_of_adding_one(
    world, tmp_path
):
    moved = recorded(world.mari, starts_on=d(1, 12), ends_on=d(14, 12))
    same = recorded(world.jaan, starts_on=d(20, 12), ends_on=d(22, 12))
    gone = recorded(world.jaan, starts_on=d(8, 12), ends_on=d(10, 12))
    data_import = schedule(
        world,
        tmp_path,
        f"{MARI};;põhipuhkus;3.12.2026;16.12.2026;",
        f"{JAAN};;põhipuhkus;20.12.2026;22.12.2026;",
    )
    summary = data_import.summary
    assert (summary["new"], summary["changed"], summary["unchanged"]) == (0, 1, 1)
    assert summary["not_in_file"] == 1
    [missing] = summary["not_in_file_list"]
    assert missing["absence"] == gone.pk and missing["name"] == "Jaan Tamm"
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, data_import)
    moved.refresh_from_db()
    assert (moved.starts_on, moved.ends_on) == (d(3, 12), d(16, 12))
    assert Absence.objects.filter(person=world.mari).count() == 1
    gone.refresh_from_db()
    same.refresh_from_db()
    assert not gone.cancelled and not same.cancelled  # never cancelled silently
    assert AuditEvent.objects.filter(action="people.absence.update").count() == 1


def test_a_row_overlapping_two_recorded_absences_is_refused(world, tmp_path):
    recorded(world.mari, starts_on=d(1, 12), ends_on=d(3, 12))
    recorded(world.mari, starts_on=d(8, 12), ends_on=d(10, 12))
    data_import = schedule(world, tmp_path, f"{MARI};;põhipuhkus;1.12.2026;10.12.2026;")
    message = by_row(data_import)[2][0][1]
    assert (
        "overlaps 2 absences already recorded (01.12.2026–03.12.2026, 08.12.2026–10.12.2026)"
        in (message)
    )


def test_the_schedule_import_needs_the_permission(world, tmp_path):
    from django.core.exceptions import PermissionDenied

    from tests.factories import make_user
    from tugi.core.roles import AppRole

    approver = make_user("juht", AppRole.APPROVER)
    with pytest.raises(PermissionDenied):
        preview_import(approver, "absences", "g.csv", f"{HEADINGS}\r\n".encode())
