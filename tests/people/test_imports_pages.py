"""The import pages: upload, preview with refused rows (paginated), apply, discard, progress,
the list of imports, permissions; and the `tugi import-hr` / `import-absences` commands."""

import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.factories import make_user
from tests.people.imports_support import (
    NEW_1,
    NEW_2,
    NOW,
    build_world,
    csv_bytes,
    joiner_row,
    person_row,
    write_csv,
    write_xlsx,
)
from tugi.access.models import Grant
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import DataImport, Person

pytestmark = pytest.mark.django_db

LIST = reverse("people:import_list")
UPLOAD = reverse("people:import_upload")


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TUGI_JOINER_POLICY = "grant"
    with time_machine.travel(NOW, tick=False):
        yield build_world()


@pytest.fixture
def hr_client(client, world):
    client.force_login(world.hr)
    return client


def upload(client, content: bytes, name: str = "personal.csv", kind: str = "persons"):
    return client.post(UPLOAD, {"kind": kind, "file": SimpleUploadedFile(name, content)})


# --- pages --------------------------------------------------------------------------------------


def test_the_hr_specialist_sees_the_page_and_the_nav_entry(hr_client):
    response = hr_client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Check the file" in html
    assert f'href="{LIST}"' in html and "HR imports" in html


@pytest.mark.parametrize("role", [AppRole.REQUESTER, AppRole.DESK_AGENT, AppRole.ADMINISTRATOR])
def test_others_may_not_see_or_upload(client, world, role):
    client.force_login(make_user(f"x-{role}", role))
    assert client.get(LIST).status_code == 403
    assert upload(client, csv_bytes([person_row(world.mari)])).status_code == 403
    assert not DataImport.objects.exists()


def test_upload_shows_the_preview_and_changes_nothing(hr_client, world):
    persons = Person.objects.count()
    response = upload(
        hr_client,
        csv_bytes(
            [
                joiner_row(NEW_1, "Peeter", "Pärn"),
                person_row(world.mari, unit="AREN", position="AREN-SPEC"),
                joiner_row(NEW_2, "Kadri", "Kask", unit="XXX"),
            ]
        ),
    )
    data_import = DataImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("people:import_detail", args=[data_import.pk])
    page = hr_client.get(response["Location"]).content.decode()
    assert "What applying would do" in page
    assert "Apply the 2 valid rows" in page
    assert "No unit has the code “XXX”." in page
    assert "Peeter Pärn" in page and "Mari Maasikas" in page
    assert "joiners (new persons)" in page and "movers (new unit or position)" in page
    assert Person.objects.count() == persons


def test_a_malformed_file_is_refused_on_the_form(hr_client):
    response = upload(hr_client, b"Nimi;Amet\r\nMari;x\r\n")
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert "The file has no column for" in html
    assert not DataImport.objects.exists()


def test_apply_from_the_page(hr_client, world):
    upload(hr_client, csv_bytes([joiner_row(NEW_1, "Peeter", "Pärn")]))
    data_import = DataImport.objects.get()
    apply_url = reverse("people:import_apply", args=[data_import.pk])
    assert hr_client.get(apply_url).status_code == 405  # only a POST applies
    with time_machine.travel(NOW, tick=False):
        response = hr_client.post(apply_url, follow=True)
    html = response.content.decode()
    assert "The import was applied: 1 rows." in html
    assert "What was done" in html and "roles granted" in html
    assert Grant.objects.filter(person__personal_code=NEW_1).count() == 2
    data_import.refresh_from_db()
    assert data_import.applied_by == world.hr and data_import.state == "applied"
    # Applying again is refused with a message, not an error page.
    again = hr_client.post(apply_url, follow=True).content.decode()
    assert "only a previewed import can be applied" in again


def test_discard_from_the_page(hr_client, world):
    upload(hr_client, csv_bytes([joiner_row(NEW_1, "Peeter", "Pärn")]))
    data_import = DataImport.objects.get()
    response = hr_client.post(reverse("people:import_discard", args=[data_import.pk]), follow=True)
    assert "The import was discarded" in response.content.decode()
    data_import.refresh_from_db()
    assert data_import.state == "discarded"
    assert not Person.objects.filter(personal_code=NEW_1).exists()


def test_refused_rows_are_paginated_and_the_htmx_pager_returns_the_table(hr_client, world):
    rows = [joiner_row(NEW_1, "Peeter", "Pärn", unit=f"X{i}") for i in range(120)]
    upload(hr_client, csv_bytes(rows))
    data_import = DataImport.objects.get()
    url = reverse("people:import_detail", args=[data_import.pk])
    first = hr_client.get(url).content.decode()
    assert "Page 1 of 3" in first and "“X0”" in first and "“X50”" not in first
    fragment = hr_client.get(url, {"page": 3}, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert html.startswith('<div id="refused-rows">') and "“X119”" in html
    assert "<html" not in html


def test_a_running_import_shows_a_polled_progress_bar(hr_client, world):
    upload(hr_client, csv_bytes([joiner_row(NEW_1, "Peeter", "Pärn")]))
    data_import = DataImport.objects.get()
    DataImport.objects.filter(pk=data_import.pk).update(state="applying", progress=1, valid_rows=4)
    page = hr_client.get(reverse("people:import_detail", args=[data_import.pk])).content.decode()
    progress_url = reverse("people:import_progress", args=[data_import.pk])
    assert f'hx-get="{progress_url}"' in page and 'hx-trigger="every 1s"' in page
    assert 'value="1"' in page and "25 %" in page
    polled = hr_client.get(progress_url, headers={"HX-Request": "true"})
    assert "HX-Redirect" not in polled
    DataImport.objects.filter(pk=data_import.pk).update(state="applied")
    done = hr_client.get(progress_url, headers={"HX-Request": "true"})
    assert done["HX-Redirect"] == reverse("people:import_detail", args=[data_import.pk])


def test_the_list_shows_past_imports(hr_client, world):
    upload(hr_client, csv_bytes([joiner_row(NEW_1, "Peeter", "Pärn")]), name="oktoober.csv")
    html = hr_client.get(LIST).content.decode()
    assert "oktoober.csv" in html and "previewed" in html


def test_an_xlsx_upload(hr_client, world, tmp_path):
    path = write_xlsx(tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn")])
    response = upload(hr_client, path.read_bytes(), name="personal.xlsx")
    assert response.status_code == 302
    assert DataImport.objects.get().valid_rows == 1


def test_the_vacation_schedule_is_uploaded_on_the_same_page(hr_client, world):
    content = (
        "isikukood;liik;esimene päev;viimane päev\r\n48501010014;põhipuhkus;1.12.2026;5.12.2026\r\n"
    )
    response = upload(hr_client, content.encode(), name="graafik.csv", kind="absences")
    assert response.status_code == 302
    page = hr_client.get(response["Location"]).content.decode()
    assert "new absences" in page and "Apply the 1 valid row" in page


# --- the commands --------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_hr_prints_the_preview_and_changes_nothing(world, tmp_path):
    path = write_csv(
        tmp_path,
        [joiner_row(NEW_1, "Peeter", "Pärn"), joiner_row(NEW_2, "Kadri", "Kask", unit="XXX")],
    )
    out = run("import_hr", str(path))
    assert "personal.csv: 2 rows, 1 valid, 1 refused." in out
    assert "1  joiners (new persons)" in out
    assert "row 3: unit code: No unit has the code “XXX”." in out
    assert "Run again with --apply" in out
    assert not Person.objects.filter(personal_code=NEW_1).exists()
    data_import = DataImport.objects.get()
    assert data_import.created_by is None and data_import.state == "previewed"


def test_import_hr_applies_with_apply_and_yes_and_prints_progress_lines(world, tmp_path):
    path = write_csv(tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn")])
    with time_machine.travel(NOW, tick=False):
        out = run("import_hr", str(path), "--apply", "--yes")
    assert "100% (1/1)" in out  # not a terminal: a plain line per tenth
    assert "Applied (import" in out and "2  roles granted" in out
    peeter = Person.objects.get(personal_code=NEW_1)
    create = AuditEvent.objects.get(action="people.person.create", subject_person_id=peeter.pk)
    assert create.actor_id is None and create.actor_label == "system"


def test_import_hr_without_yes_off_a_terminal_refuses_to_apply(world, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    path = write_csv(tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn")])
    with pytest.raises(CommandError, match="--yes"):
        run("import_hr", str(path), "--apply")
    assert not Person.objects.filter(personal_code=NEW_1).exists()


def test_import_hr_names_a_malformed_file(world, tmp_path):
    path = tmp_path / "tyhi.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match=r"The file is empty\."):
        run("import_hr", str(path))
    with pytest.raises(CommandError, match="No file at"):
        run("import_hr", str(tmp_path / "puudub.csv"))


def test_import_hr_under_the_request_policy_files_in_the_named_users_name(
    world, tmp_path, settings
):
    from tugi.access.models import AccessRequest

    settings.TUGI_JOINER_POLICY = "request"
    path = write_csv(tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn")])
    with time_machine.travel(NOW, tick=False):
        run("import_hr", str(path), "--apply", "--yes", "--filed-by", "personal")
    assert AccessRequest.objects.get().requested_by == world.hr


def test_the_tugi_command_takes_dashed_names(monkeypatch, world, tmp_path, capsys):
    from tugi import cli

    path = write_csv(tmp_path, [joiner_row(NEW_1, "Peeter", "Pärn")])
    monkeypatch.setattr("sys.argv", ["tugi", "import-hr", str(path)])
    cli.main()
    assert "1 valid" in capsys.readouterr().out


def test_import_absences_lists_what_is_not_in_the_file(world, tmp_path):
    from tugi.people.models import Absence

    Absence.objects.create(
        person=world.jaan,
        starts_on=NOW.date().replace(month=12, day=10),
        ends_on=NOW.date().replace(month=12, day=12),
        source=Absence.Source.SCHEDULE,
    )
    path = tmp_path / "graafik.csv"
    path.write_text(
        "isikukood;liik;esimene päev;viimane päev\r\n"
        "48501010014;põhipuhkus;1.12.2026;31.12.2026\r\n",
        encoding="utf-8",
    )
    out = run("import_absences", str(path))
    assert "1  new absences" in out
    assert "Jaan Tamm: 10.12.2026–12.12.2026" in out
    with time_machine.travel(NOW, tick=False):
        out = run("import_absences", str(path), "--apply", "--yes")
    assert "Applied" in out
    assert Absence.objects.filter(person=world.mari, source="schedule").count() == 1
    assert not Absence.objects.get(person=world.jaan).cancelled


def test_the_progress_is_a_bar_on_a_terminal_and_lines_elsewhere():
    from django.core.management.base import OutputWrapper

    from tugi.people.management.commands._import import Progress

    out = io.StringIO()
    bar = Progress(OutputWrapper(out), tty=True)
    bar(50, 100)
    bar(100, 100)
    assert out.getvalue().startswith("\r[" + "#" * 15 + "." * 15 + "]  50% 50/100")
    assert out.getvalue().endswith("\n") and "100% 100/100" in out.getvalue()
    lines = io.StringIO()
    plain = Progress(OutputWrapper(lines), tty=False)
    for done in range(0, 101, 5):
        plain(done, 100)
    assert lines.getvalue().splitlines() == [f"{p}% ({p}/100)" for p in range(0, 101, 10)]
