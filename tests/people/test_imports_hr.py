"""The personnel import: real CSV and XLSX files, every bad row named, nothing applied until
applied, and the access that follows for joiners, movers and leavers (grants and Change rows)."""

import datetime
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import PersonFactory, make_user
from tests.people.imports_support import (
    EN_HEADINGS,
    JAAN,
    MARI,
    NEW_1,
    NEW_2,
    NEW_3,
    NOW,
    at,
    build_world,
    csv_bytes,
    joiner_row,
    person_row,
    write_csv,
    write_xlsx,
)
from tugi.access.lifecycle import apply as engine
from tugi.access.models import AccessRequest, Account, Change, Grant
from tugi.core import audit
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.imports.actions import apply_import, discard_import, preview_import
from tugi.people.models import DataImport, Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TUGI_JOINER_POLICY = "grant"
    settings.TUGI_MOVER_GRACE_DAYS = 14
    settings.TUGI_LEAVER_CLOSE_AFTER_DAYS = 30
    with time_machine.travel(NOW, tick=False):
        yield build_world()


def preview(world, path: Path) -> DataImport:
    return preview_import(world.hr, "persons", path.name, path.read_bytes())


def messages_by_row(data_import: DataImport) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for e in data_import.errors:
        found.setdefault(e["row"], []).append((e["field"], e["message"]))
    return found


def grants_of(person: Person) -> dict[str, list[Grant]]:
    found: dict[str, list[Grant]] = {}
    for g in Grant.objects.filter(person=person).select_related("role").order_by("valid_from"):
        found.setdefault(g.role.name, []).append(g)
    return found


# --- reading files ------------------------------------------------------------------------------


def test_a_csv_with_estonian_headings_semicolons_and_a_bom_is_read(world, tmp_path):
    path = write_csv(tmp_path, [person_row(world.mari), joiner_row(NEW_1, "Peeter", "Pärn")])
    data_import = preview(world, path)
    assert data_import.total_rows == 2
    assert data_import.valid_rows == 2
    assert data_import.errors == []
    assert data_import.summary["joiner"] == 1
    assert data_import.summary["unchanged"] == 1
    assert data_import.summary["separator"] == ";"
    assert data_import.state == DataImport.State.PREVIEWED
    assert Path(world_media(data_import)).is_file()


def world_media(data_import: DataImport) -> Path:
    from django.conf import settings

    return Path(settings.MEDIA_ROOT) / data_import.stored_path


def test_a_csv_with_english_headings_commas_iso_dates_and_no_bom_is_read(world, tmp_path):
    row = joiner_row(NEW_1, "Peeter", "Pärn", start="2026-11-16", end="2027-05-31")
    path = tmp_path / "hr.csv"
    path.write_bytes(csv_bytes([row], EN_HEADINGS, separator=",", bom=False))
    data_import = preview(world, path)
    assert data_import.errors == []
    assert data_import.summary["separator"] == ","
    change = data_import.summary["changes"]["joiner"][0]
    assert change["name"] == "Peeter Pärn"
    assert change["end"] == "2027-05-31"


def test_an_xlsx_file_with_date_cells_and_number_codes_is_read(world, tmp_path):
    path = write_xlsx(
        tmp_path,
        [
            [
                int(NEW_1),  # typed into a number cell
                "Peeter",
                "Pärn",
                "peeter.parn@sotsiaalkindlustusamet.ee",
                "PENS",
                "PENS-SPEC",
                datetime.datetime(2026, 11, 16),
                None,
                None,
            ],
            [*joiner_row(NEW_2, "Kadri", "Kask", start="1.12.2026")[:7], "", ""],
        ],
        blank_rows_before=2,
    )
    data_import = preview(world, path)
    assert data_import.errors == []
    assert data_import.summary["format"] == "xlsx"
    assert data_import.summary["joiner"] == 2


def test_row_numbers_in_an_xlsx_are_the_spreadsheets(world, tmp_path):
    path = write_xlsx(
        tmp_path,
        [joiner_row(NEW_1, "Peeter", "Pärn", unit="XXX")],
        blank_rows_before=2,  # headings on row 3, the person on row 4
    )
    data_import = preview(world, path)
    assert [e["row"] for e in data_import.errors] == [4]


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"", "hr.csv", "The file is empty."),
        (b"\r\n\r\n", "hr.csv", "The file is empty."),
        (
            b"Nimi;Amet\r\nMari;spetsialist\r\n",
            "hr.csv",
            "personal code (isikukood, personal code) or foreign id (välisisikukood, foreign id)",
        ),
        (
            (
                "Isikukood;Eesnimi;Perekonnanimi;E-post;Üksuse kood;Ametikoha kood;"
                "Töösuhte algus\r\n"
            ).encode(),
            "hr.csv",
            "The file has a heading row but no rows under it.",
        ),
        (
            "Isikukood;Eesnimi\r\n38001085718;Jüri\r\n".encode("cp1257"),
            "hr.csv",
            "The file is not UTF-8 text: line 2",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "hr.xls", "old Excel format"),
        (b"PK\x03\x04not really a zip", "hr.xlsx", "not a readable XLSX workbook"),
    ],
)
def test_a_file_that_is_not_a_usable_table_is_refused_and_nothing_is_kept(
    world, content, name, expected
):
    with pytest.raises(ValidationError) as caught:
        preview_import(world.hr, "persons", name, content)
    assert expected in caught.value.message_dict["file"][0]
    assert not DataImport.objects.exists()


def test_missing_columns_are_each_named(world):
    data = "Isikukood;Eesnimi;E-post\r\n38001085718;Jüri;j@x.ee\r\n".encode()
    with pytest.raises(ValidationError) as caught:
        preview_import(world.hr, "persons", "hr.csv", data)
    message = caught.value.message_dict["file"][0]
    for label in ("last name", "unit code", "position code", "employment start"):
        assert label in message
    assert "“Isikukood”, “Eesnimi”, “E-post”" in message


def test_two_columns_for_one_field_are_refused(world):
    data = b"Isikukood;Personal code\r\n1;2\r\n"
    with pytest.raises(ValidationError, match="Two columns are both"):
        preview_import(world.hr, "persons", "hr.csv", data)


# --- checking rows -----------------------------------------------------------------------------


def test_every_bad_row_is_named_with_its_field_and_nothing_is_applied(world, tmp_path):
    other = PersonFactory(email="teine@sotsiaalkindlustusamet.ee", org_unit=world.pens)
    rows = [
        joiner_row("38001085719", "Vale", "Kood"),  # row 2: check digit
        joiner_row(NEW_1, "Peeter", "Pärn", unit="XXX"),  # 3: unknown unit
        joiner_row(NEW_2, "Kadri", "Kask", position="EI-OLE"),  # 4: unknown position
        joiner_row(NEW_3, "Olev", "Org", position="AREN-SPEC"),  # 5: position of another unit
        joiner_row("60001019906", "Anu", "Aas", start="1.12.2026", end="30.11.2026"),  # 6
        joiner_row("49002020024", "Eva", "Ema", email="teine@sotsiaalkindlustusamet.ee"),  # 7
        person_row(world.mari, first="Maria"),  # 8: duplicate of row 9
        person_row(world.mari, first="Mari-Liis"),  # 9
        joiner_row("38507150011", "Tõnu", "Tõru", start="31.02.2026"),  # 10: no such day
        joiner_row("38507150022", "Ülle", "Üle", start="eile"),  # 11: not a date
        joiner_row("38507150033", "Ants", "Ahi", manager="39001010008"),  # 12: unknown manager
        joiner_row("38507150044", "Ain", "Ise", email="", unit="VANA", position=""),  # 13
        person_row(world.jaan),  # 14: fine
    ]
    path = write_csv(tmp_path, rows)
    persons_before = Person.objects.count()
    events_before = AuditEvent.objects.count()
    data_import = preview(world, path)

    found = messages_by_row(data_import)
    assert set(found) == set(range(2, 14))
    assert found[2] == [("personal_code", "The check digit (the last one) is wrong: expected 8.")]
    assert found[3] == [("unit_code", "No unit has the code “XXX”.")]
    assert found[4] == [("position_code", "No position has the code “EI-OLE”.")]
    assert found[5] == [
        (
            "position_code",
            "The position “Arendaja” belongs to the unit “Arendustalitus”, not to "
            "“Pensionide talitus”.",
        )
    ]
    assert found[6] == [
        ("employment_end", "Employment cannot end (30.11.2026) before it starts (01.12.2026).")
    ]
    assert found[7][0][0] == "email"
    assert "belongs to another person in Tugi" in found[7][0][1]
    assert found[8] == [
        (
            "personal_code",
            "The same person is also on row 9: each person must be on one row.",
        )
    ]
    assert found[9][0][1].startswith("The same person is also on row 8")
    assert found[10] == [("employment_start", "“31.02.2026” is not a date in the calendar.")]
    assert found[11] == [
        ("employment_start", "“eile” is not a date: write it as 31.12.2026 or 2026-12-31.")
    ]
    assert found[12][0][0] == "manager_personal_code"
    assert {f for f, _m in found[13]} == {"email", "unit_code"}
    assert data_import.total_rows == 13
    assert data_import.valid_rows == 1
    assert data_import.summary["refused"] == 12
    assert data_import.summary["unchanged"] == 1
    # Nothing but the preview itself was written.
    assert Person.objects.count() == persons_before
    assert AuditEvent.objects.count() == events_before + 1
    assert other.email == "teine@sotsiaalkindlustusamet.ee"


def test_an_e_mail_twice_in_the_file_refuses_both_rows(world, tmp_path):
    same = "yks@sotsiaalkindlustusamet.ee"
    path = write_csv(
        tmp_path,
        [
            joiner_row(NEW_1, "Peeter", "Pärn", email=same),
            joiner_row(NEW_2, "Kadri", "Kask", email=same),
        ],
    )
    found = messages_by_row(preview(world, path))
    assert found[2] == [("email", "The e-mail address is also on row 3, for another person.")]
    assert found[3] == [("email", "The e-mail address is also on row 2, for another person.")]


def test_a_manager_on_a_refused_row_refuses_the_rows_that_report_to_them(world, tmp_path):
    path = write_csv(
        tmp_path,
        [
            joiner_row(NEW_1, "Boss", "Bad", unit="XXX"),
            joiner_row(NEW_2, "Kadri", "Kask", manager=NEW_1),
        ],
    )
    found = messages_by_row(preview(world, path))
    assert found[3] == [
        (
            "manager_personal_code",
            "The manager's own row is refused, so the manager cannot be set.",
        )
    ]


def test_managers_that_would_form_a_cycle_are_refused(world, tmp_path):
    # Mari would report to Jaan, and Jaan to Mari.
    path = write_csv(
        tmp_path,
        [person_row(world.mari, manager=JAAN), person_row(world.jaan, manager=MARI)],
    )
    found = messages_by_row(preview(world, path))
    assert set(found) == {2, 3}
    assert "cycle" in found[2][0][1]


def test_a_preview_needs_the_import_permission(world, tmp_path):
    path = write_csv(tmp_path, [person_row(world.mari)])
    for role in (AppRole.DESK_AGENT, AppRole.REQUESTER, AppRole.ADMINISTRATOR):
        with pytest.raises(PermissionDenied):
            preview_import(make_user(f"u-{role}", role), "persons", path.name, path.read_bytes())


# --- applying: joiners, movers, leavers ----------------------------------------------------------


def test_a_joiner_gets_accounts_and_the_roles_of_the_job_description_from_the_first_day(
    world, tmp_path
):
    path = write_csv(
        tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn", start="16.11.2026", manager=MARI)]
    )
    with time_machine.travel(NOW, tick=False):
        data_import = apply_import(world.hr, preview(world, path))
    assert data_import.state == DataImport.State.APPLIED
    assert data_import.progress == 1
    peeter = Person.objects.get(personal_code=NEW_1)
    assert peeter.manager == world.mari
    assert peeter.position == world.pens_spec
    assert peeter.search_text == "peeter parn peeter.parn@sotsiaalkindlustusamet.ee"
    held = grants_of(peeter)
    assert set(held) == {"Pensionide menetleja", "Vaataja"}
    for [grant] in held.values():
        assert grant.valid_from == at(2026, 11, 16)
        assert grant.valid_to is None
        assert grant.basis == Grant.Basis.JOB_DESCRIPTION
        assert grant.basis_duty == world.pens_duty
    assert set(Account.objects.filter(person=peeter).values_list("system__code", flat=True)) == {
        "SKAIS2",
        "STAR",
    }
    starts = Change.objects.filter(person=peeter, kind=Change.Kind.GRANT_START)
    assert {c.due_at for c in starts} == {at(2026, 11, 16)}
    assert data_import.summary["applied"]["access"]["grants_started"] == 2
    create = AuditEvent.objects.get(action="people.person.create", subject_person_id=peeter.pk)
    assert create.actor_id == world.hr.pk
    assert "personal_code" not in create.after
    assert create.after["has_personal_code"] is True
    assert audit.verify_chain().ok


def test_a_joiner_already_started_gets_the_roles_from_now(world, tmp_path):
    path = write_csv(tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn", start="2.10.2026")])
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, preview(world, path))
    grants = Grant.objects.filter(person__personal_code=NEW_1)
    assert {g.valid_from for g in grants} == {NOW}


def test_under_the_request_policy_a_joiner_gets_an_access_request(world, tmp_path, settings):
    settings.TUGI_JOINER_POLICY = "request"
    path = write_csv(tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn")])
    with time_machine.travel(NOW, tick=False):
        data_import = apply_import(world.hr, preview(world, path))
    peeter = Person.objects.get(personal_code=NEW_1)
    assert not Grant.objects.filter(person=peeter).exists()
    request = AccessRequest.objects.get(person=peeter)
    assert request.requested_by == world.hr
    assert request.state == AccessRequest.State.SUBMITTED
    kinds = sorted(request.items.values_list("kind", flat=True))
    assert kinds == ["create_account", "create_account", "grant_role", "grant_role"]
    assert {i.valid_from for i in request.items.filter(kind="grant_role")} == {at(2026, 11, 16)}
    assert data_import.summary["applied"]["access"]["requests_filed"] == 1


def test_a_mover_keeps_old_roles_for_the_grace_days_and_continues_the_shared_one(world, tmp_path):
    path = write_csv(tmp_path, [person_row(world.mari, unit="AREN", position="AREN-SPEC")])
    data_import = preview(world, path)
    assert data_import.summary["mover"] == 1
    assert data_import.summary["changes"]["mover"][0]["changed"] == ["org_unit", "position"]
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, data_import)
    held = grants_of(world.mari)
    # No longer justified: ends when the 14 grace days are over.
    [pension] = held["Pensionide menetleja"]
    assert pension.valid_to == at(2026, 11, 17)
    assert "no longer justified" in pension.ended_reason
    # Justified by both: the old grant ends now, a new one on the new duty starts now.
    old_viewer, new_viewer = held["Vaataja"]
    assert old_viewer.valid_to == NOW
    assert new_viewer.valid_from == NOW and new_viewer.valid_to is None
    assert new_viewer.basis_duty == world.aren_duty
    # Newly justified: granted from now.
    [developer] = held["Arendaja"]
    assert developer.valid_from == NOW and developer.basis_duty == world.aren_duty
    ends = Change.objects.filter(grant=pension, kind=Change.Kind.GRANT_END)
    assert [c.due_at for c in ends] == [at(2026, 11, 17)]
    # The engine applies the end when it is due.
    with time_machine.travel(at(2026, 11, 17, 0, 0, 3), tick=False):
        assert engine.apply_due().applied >= 1
    assert Change.objects.get(grant=pension, kind=Change.Kind.GRANT_END).state == "applied"


def test_a_leaver_loses_every_grant_when_the_last_day_ends_and_accounts_are_planned(
    world, tmp_path
):
    path = write_csv(tmp_path, [person_row(world.jaan, end="30.11.2026")])
    data_import = preview(world, path)
    assert data_import.summary["leaver"] == 1
    with time_machine.travel(NOW, tick=False):
        data_import = apply_import(world.hr, data_import)
    world.jaan.refresh_from_db()
    assert world.jaan.employment_end == datetime.date(2026, 11, 30)
    assert world.jaan.status == Person.Status.ACTIVE  # until the day ends
    end = at(2026, 12, 1)
    assert {g.valid_to for g in Grant.objects.filter(person=world.jaan)} == {end}
    accounts = Change.objects.filter(person=world.jaan, grant=None)
    assert sorted((c.kind, c.due_at) for c in accounts) == sorted(
        [
            ("account_suspend", end),
            ("account_suspend", end),
            ("account_close", at(2026, 12, 31)),
            ("account_close", at(2026, 12, 31)),
        ]
    )
    assert data_import.summary["applied"]["access"]["grants_ending_on_leaving"] == 2
    with time_machine.travel(at(2026, 12, 1, 0, 0, 5), tick=False):
        engine.apply_due()
    assert set(Account.objects.filter(person=world.jaan).values_list("state", flat=True)) == {
        "suspended"
    }


def test_a_leaver_reported_late_loses_access_now_and_the_lateness_shows(world, tmp_path):
    path = write_csv(tmp_path, [person_row(world.jaan, end="30.10.2026")])
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, preview(world, path))
        world.jaan.refresh_from_db()
        assert world.jaan.status == Person.Status.LEFT
        assert {g.valid_to for g in Grant.objects.filter(person=world.jaan)} == {NOW}
        suspend = Change.objects.filter(person=world.jaan, kind=Change.Kind.ACCOUNT_SUSPEND)
        assert {c.due_at for c in suspend} == {at(2026, 10, 31)}
        engine.apply_due()
    for change in Change.objects.filter(person=world.jaan, kind=Change.Kind.ACCOUNT_SUSPEND):
        assert change.state == "applied"
        assert change.late_ms >= 2 * 24 * 3600 * 1000


def test_a_last_day_moved_later_gives_the_roles_back_from_the_old_end(world, tmp_path):
    first = write_csv(tmp_path, [person_row(world.jaan, end="30.11.2026")], name="a.csv")
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, preview(world, first))
    second = write_csv(tmp_path, [person_row(world.jaan, end="31.12.2026")], name="b.csv")
    with time_machine.travel(NOW + datetime.timedelta(days=1), tick=False):
        data_import = preview(world, second)
        assert data_import.summary["leaver"] == 1
        apply_import(world.hr, data_import)
    held = grants_of(world.jaan)
    for name in ("Pensionide menetleja", "Vaataja"):
        old, again = held[name]
        assert old.valid_to == at(2026, 12, 1)
        assert again.valid_from == at(2026, 12, 1) and again.valid_to == at(2027, 1, 1)
    pending = Change.objects.filter(
        person=world.jaan, kind=Change.Kind.ACCOUNT_SUSPEND, state=Change.State.PENDING
    )
    assert {c.due_at for c in pending} == {at(2027, 1, 1)}


def test_the_same_file_applied_twice_changes_nothing_the_second_time(world, tmp_path):
    rows = [
        joiner_row(NEW_1, "Peeter", "Pärn"),
        person_row(world.mari, unit="AREN", position="AREN-SPEC"),
        person_row(world.jaan, end="30.11.2026"),
    ]
    path = write_csv(tmp_path, rows)
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, preview(world, path))
        grants, changes = Grant.objects.count(), Change.objects.count()
        person_events = AuditEvent.objects.filter(action__startswith="people.person").count()
        again = preview(world, path)
        assert again.summary["unchanged"] == 3
        apply_import(world.hr, again)
    assert (Grant.objects.count(), Change.objects.count()) == (grants, changes)
    assert AuditEvent.objects.filter(action__startswith="people.person").count() == person_events


def test_a_person_coming_back_is_a_joiner_again(world, tmp_path):
    world.jaan.employment_end = datetime.date(2025, 6, 30)
    world.jaan.status = Person.Status.LEFT
    world.jaan.save()
    Grant.objects.filter(person=world.jaan).update(
        valid_from=at(2024, 1, 1), valid_to=at(2025, 7, 1)
    )
    Account.objects.filter(person=world.jaan).update(state=Account.State.CLOSED)
    path = write_csv(tmp_path, [person_row(world.jaan, start="1.12.2026", end="")])
    data_import = preview(world, path)
    assert data_import.summary["joiner"] == 1
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, data_import)
    world.jaan.refresh_from_db()
    assert world.jaan.status == Person.Status.ACTIVE and world.jaan.employment_end is None
    new = Grant.objects.filter(person=world.jaan, valid_from=at(2026, 12, 1))
    assert new.count() == 2


def test_rows_refused_at_preview_are_not_applied(world, tmp_path):
    path = write_csv(
        tmp_path,
        [joiner_row(NEW_1, "Peeter", "Pärn"), joiner_row(NEW_2, "Kadri", "Kask", unit="XXX")],
    )
    with time_machine.travel(NOW, tick=False):
        data_import = apply_import(world.hr, preview(world, path))
    assert Person.objects.filter(personal_code=NEW_1).exists()
    assert not Person.objects.filter(personal_code=NEW_2).exists()
    assert [e["row"] for e in data_import.errors] == [3]


def test_apply_checks_the_file_again(world, tmp_path):
    """A person added by hand after the preview makes the joiner a known person at apply time."""
    path = write_csv(tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn")])
    data_import = preview(world, path)
    PersonFactory(
        personal_code=NEW_1,
        email="muu@sotsiaalkindlustusamet.ee",
        org_unit=world.pens,
        position=world.pens_spec,
    )
    with time_machine.travel(NOW, tick=False):
        data_import = apply_import(world.hr, data_import)
    assert data_import.state == DataImport.State.APPLIED
    assert Person.objects.get(personal_code=NEW_1).first_name == "Peeter"
    assert data_import.summary["applied"]["counts"] == {"updated": 1}


def test_an_import_is_applied_once_and_a_discarded_one_not_at_all(world, tmp_path):
    path = write_csv(tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn")])
    data_import = preview(world, path)
    stored = world_media(data_import)
    discard_import(world.hr, data_import)
    assert not stored.exists()
    with pytest.raises(ValidationError, match="discarded"):
        apply_import(world.hr, data_import)
    second = preview(world, path)
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, second)
        with pytest.raises(ValidationError, match="applied"):
            apply_import(world.hr, second)
    assert Person.objects.filter(personal_code=NEW_1).count() == 1


def test_a_large_file_is_applied_by_the_worker_with_progress(
    world, tmp_path, django_capture_on_commit_callbacks, monkeypatch
):
    from tugi.people.imports import actions, hr

    monkeypatch.setattr(hr, "BATCH", 2)
    monkeypatch.setattr(actions, "INLINE_CHANGES", 2)  # three joiners: too many to wait for
    rows = [
        joiner_row(code, first, "Uus")
        for code, first in [(NEW_1, "Aadu"), (NEW_2, "Beata"), (NEW_3, "Cyrus")]
    ]
    path = write_csv(tmp_path, rows)
    data_import = preview(world, path)
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        queued = apply_import(world.hr, data_import)
        assert queued.state == DataImport.State.APPLYING
        assert not Person.objects.filter(last_name="Uus").exists()
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.APPLIED
    assert data_import.progress == 3
    assert Person.objects.filter(last_name="Uus").count() == 3
    assert AuditEvent.objects.filter(
        action="people.import.finish", object_id=str(data_import.pk)
    ).exists()


def test_a_leavers_substitute_loses_the_acting_grants_with_the_leaver(world, tmp_path):
    """The bulk end does what end_grant does: the substitution engine follows the own grant."""
    from tugi.access.actions.substitution import order_substitution

    world.viewer_role.delegable = True
    world.viewer_role.save()
    with time_machine.travel(NOW, tick=False):
        order_substitution(
            None,
            absentee=world.mari,
            substitute=world.jaan,
            roles=[world.viewer_role],
            starts_at=at(2026, 11, 9),
            ends_at=at(2026, 11, 21),
            ordered_by=None,
        )
        acting = Grant.objects.get(person=world.jaan, acting_for=world.mari)
        assert acting.valid_to == at(2026, 11, 21)
        path = write_csv(tmp_path, [person_row(world.mari, end="13.11.2026")])
        apply_import(world.hr, preview(world, path))
    acting.refresh_from_db()
    assert acting.valid_to == at(2026, 11, 14)


def test_what_cannot_be_granted_is_a_problem_for_the_desk_and_opens_no_account(world, tmp_path):
    world.viewer_role.requires_end_date = True  # STAR's only role for this position
    world.viewer_role.save()
    path = write_csv(tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn")])
    with time_machine.travel(NOW, tick=False):
        data_import = apply_import(world.hr, preview(world, path))
    peeter = Person.objects.get(personal_code=NEW_1)
    assert set(grants_of(peeter)) == {"Pensionide menetleja"}
    assert list(Account.objects.filter(person=peeter).values_list("system__code", flat=True)) == [
        "SKAIS2"
    ]
    [problem] = data_import.summary["applied"]["access"]["problems"]
    assert problem["row"] == 2 and problem["person"] == "Peeter Pärn"
    assert problem["message"] == (
        "“Vaataja” was not granted: The role “Vaataja” is granted only with an end date."
    )


def test_a_mover_who_also_leaves_keeps_nothing_past_the_last_day(world, tmp_path):
    path = write_csv(
        tmp_path, [person_row(world.mari, unit="AREN", position="AREN-SPEC", end="6.11.2026")]
    )
    data_import = preview(world, path)
    assert data_import.summary["leaver"] == 1  # each row counts once: leaving wins
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, data_import)
    last = at(2026, 11, 7)
    for grants in grants_of(world.mari).values():
        for grant in grants:
            assert grant.valid_to is not None and grant.valid_to <= last
    [developer] = grants_of(world.mari)["Arendaja"]
    assert (developer.valid_from, developer.valid_to) == (NOW, last)
