"""An import's uploaded file lives only as long as it is needed: deleted when the import is
applied or discarded, and by the worker when a preview (the page's or the command's) is left
unapplied for TUGI_IMPORT_PREVIEW_DAYS; the import's record, preview and refused rows stay."""

import datetime
import io
import os
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.people.imports_support import (
    NEW_1,
    NEW_2,
    NOW,
    build_world,
    csv_bytes,
    joiner_row,
    write_csv,
)
from tugi.core.models import AuditEvent
from tugi.people.imports.actions import apply_import, discard_import, preview_import
from tugi.people.imports.upkeep import clean_up_imports
from tugi.people.models import DataImport, Person

pytestmark = pytest.mark.django_db

WEEK_ON = NOW + datetime.timedelta(days=7, minutes=1)
SIX_DAYS_ON = NOW + datetime.timedelta(days=6)
ROWS = [joiner_row(NEW_1, "Peeter", "Pärn"), joiner_row(NEW_2, "Kadri", "Kask", unit="XXX")]


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TUGI_JOINER_POLICY = "grant"
    with time_machine.travel(NOW, tick=False):
        yield build_world()


def stored(data_import: DataImport) -> Path:
    return Path(django_settings.MEDIA_ROOT) / data_import.stored_path


def folder() -> Path:
    return Path(django_settings.MEDIA_ROOT) / "imports"


def preview(world, tmp_path) -> DataImport:
    path = write_csv(tmp_path, ROWS)
    return preview_import(world.hr, "persons", path.name, path.read_bytes())


def expiries(data_import: DataImport):
    return AuditEvent.objects.filter(action="people.import.expire", object_id=str(data_import.pk))


def test_applying_deletes_the_file_and_the_page_needs_it_no_more(world, tmp_path, client):
    data_import = preview(world, tmp_path)
    path = stored(data_import)
    with time_machine.travel(NOW, tick=False):
        data_import = apply_import(world.hr, data_import)
    assert data_import.stored_path == "" and not path.exists()
    assert list(folder().iterdir()) == []
    client.force_login(world.hr)
    page = client.get(reverse("people:import_detail", args=[data_import.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "What was done" in html and "No unit has the code “XXX”." in html
    assert "Peeter" in html  # the changes listed by the preview


def test_discarding_deletes_the_file_and_keeps_the_record(world, tmp_path):
    data_import = preview(world, tmp_path)
    path = stored(data_import)
    discard_import(world.hr, data_import)
    data_import.refresh_from_db()
    assert not path.exists() and data_import.stored_path == ""
    assert data_import.summary["joiner"] == 1 and len(data_import.errors) == 1


def test_a_preview_left_for_a_week_loses_its_file_and_is_discarded(world, tmp_path, client):
    data_import = preview(world, tmp_path)
    path = stored(data_import)
    with time_machine.travel(SIX_DAYS_ON, tick=False):
        assert clean_up_imports().imports == []
    assert path.is_file()

    with time_machine.travel(WEEK_ON, tick=False):
        done = clean_up_imports()
    assert done.imports == [data_import.pk] and done.orphans == []
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.DISCARDED
    assert data_import.stored_path == "" and not path.exists()
    # The record stays: what the preview found, and when it expired.
    assert data_import.summary["joiner"] == 1 and data_import.total_rows == 2
    assert [e["row"] for e in data_import.errors] == [3]
    assert data_import.summary["expired"]["days"] == 7
    assert not Person.objects.filter(personal_code=NEW_1).exists()

    [event] = expiries(data_import)
    assert event.actor_id is None and event.actor_label == "system"
    assert event.before == {"state": "previewed", "file": True}
    assert event.after == {"state": "discarded", "file": False}
    assert event.basis == "Not applied within 7 days: the uploaded file is deleted."

    client.force_login(world.hr)
    html = client.get(reverse("people:import_detail", args=[data_import.pk])).content.decode()
    assert "Nobody applied or discarded this preview within 7 days" in html
    assert "Apply the" not in html and "No unit has the code “XXX”." in html
    with pytest.raises(ValidationError, match="discarded"):
        apply_import(world.hr, data_import)


def test_the_days_are_a_setting_and_a_second_pass_does_nothing(world, tmp_path, settings):
    settings.TUGI_IMPORT_PREVIEW_DAYS = 2
    data_import = preview(world, tmp_path)
    with time_machine.travel(NOW + datetime.timedelta(days=2, minutes=1), tick=False):
        assert clean_up_imports().imports == [data_import.pk]
        assert clean_up_imports().imports == []
    assert expiries(data_import).count() == 1
    assert expiries(data_import).get().basis.startswith("Not applied within 2 days")


def test_a_command_line_preview_is_kept_for_the_page_then_cleaned_up(world, tmp_path):
    path = write_csv(tmp_path, ROWS)
    call_command("import_hr", str(path), stdout=io.StringIO())
    data_import = DataImport.objects.get()
    assert data_import.state == DataImport.State.PREVIEWED and data_import.created_by is None
    assert stored(data_import).is_file()
    with time_machine.travel(NOW + datetime.timedelta(days=8), tick=False):
        clean_up_imports()
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.DISCARDED
    assert list(folder().iterdir()) == []


def test_a_command_apply_declined_or_refused_discards_its_preview(world, tmp_path, monkeypatch):
    path = write_csv(tmp_path, ROWS)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal
    with pytest.raises(CommandError, match="--yes"):
        call_command("import_hr", str(path), "--apply", stdout=io.StringIO())

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    out = io.StringIO()
    call_command("import_hr", str(path), "--apply", stdout=out)
    assert "Nothing was changed." in out.getvalue()

    nothing_valid = write_csv(tmp_path, [ROWS[1]], name="vigane.csv")
    with pytest.raises(CommandError, match="No row of the file is valid"):
        call_command("import_hr", str(nothing_valid), "--apply", "--yes", stdout=io.StringIO())

    states = list(DataImport.objects.order_by("pk").values_list("state", flat=True))
    assert states == ["discarded"] * 3
    assert list(folder().iterdir()) == []
    assert not Person.objects.filter(personal_code=NEW_1).exists()
    discards = AuditEvent.objects.filter(action="people.import.discard")
    assert discards.count() == 3 and {e.actor_label for e in discards} == {"system"}


def test_a_failed_import_keeps_its_state_but_loses_its_file(world, tmp_path, client):
    data_import = preview(world, tmp_path)
    DataImport.objects.filter(pk=data_import.pk).update(
        state=DataImport.State.FAILED,
        heartbeat_at=NOW + datetime.timedelta(days=3),  # it failed three days after the preview
        summary={**data_import.summary, "failure": "The database went away."},
    )
    path = stored(data_import)
    with time_machine.travel(WEEK_ON, tick=False):
        assert clean_up_imports().imports == []  # counted from the failure, not the upload
    with time_machine.travel(WEEK_ON + datetime.timedelta(days=3), tick=False):
        assert clean_up_imports().imports == [data_import.pk]
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.FAILED and not path.exists()
    assert data_import.summary["failure"] == "The database went away."
    event = expiries(data_import).get()
    assert event.before["state"] == "failed" and event.after == {"state": "failed", "file": False}
    client.force_login(world.hr)
    html = client.get(reverse("people:import_detail", args=[data_import.pk])).content.decode()
    assert "The database went away." in html
    assert "The uploaded file was deleted after 7 days." in html


def test_imports_being_applied_applied_or_discarded_are_not_touched(world, tmp_path):
    applying = preview(world, tmp_path)
    DataImport.objects.filter(pk=applying.pk).update(
        state=DataImport.State.APPLYING, heartbeat_at=NOW + datetime.timedelta(days=30)
    )
    applied = preview(world, tmp_path)
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, applied)
    discarded = preview(world, tmp_path)
    discard_import(world.hr, discarded)
    with time_machine.travel(NOW + datetime.timedelta(days=30), tick=False):
        done = clean_up_imports()
    assert done.imports == [] and done.orphans == []
    assert stored(applying).is_file()
    assert not AuditEvent.objects.filter(action="people.import.expire").exists()


def test_files_no_import_refers_to_are_deleted_once_old(world, tmp_path):
    data_import = preview(world, tmp_path)  # its file is referred to: kept (and not old)
    old = folder() / "0123456789abcdef.csv"
    old.write_bytes(csv_bytes(ROWS))
    fresh = folder() / "fedcba9876543210.csv"
    fresh.write_bytes(csv_bytes(ROWS))
    long_ago = (NOW - datetime.timedelta(days=10)).timestamp()
    os.utime(old, (long_ago, long_ago))
    now = (NOW + datetime.timedelta(days=1)).timestamp()
    os.utime(fresh, (now, now))
    with time_machine.travel(NOW + datetime.timedelta(days=1), tick=False):
        done = clean_up_imports()
    assert done.orphans == ["0123456789abcdef.csv"] and done.imports == []
    assert not old.exists() and fresh.exists() and stored(data_import).exists()
    event = AuditEvent.objects.get(action="people.import.orphan_files")
    assert event.actor_id is None and event.after == {"files": ["0123456789abcdef.csv"]}


def test_the_periodic_task_runs_the_cleanup(world, tmp_path):
    from tugi.people.tasks import clean_up_imports_task

    data_import = preview(world, tmp_path)
    with time_machine.travel(WEEK_ON, tick=False):
        clean_up_imports_task.call_local()
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.DISCARDED


def test_an_upload_on_the_page_still_previews_applies_and_discards(world, client):
    """The page's own round trip is unchanged: preview keeps the file until applied."""
    client.force_login(world.hr)
    client.post(
        reverse("people:import_upload"),
        {"kind": "persons", "file": SimpleUploadedFile("personal.csv", csv_bytes(ROWS[:1]))},
    )
    data_import = DataImport.objects.get()
    assert stored(data_import).is_file()
    with time_machine.travel(NOW, tick=False):
        client.post(reverse("people:import_apply", args=[data_import.pk]))
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.APPLIED
    assert list(folder().iterdir()) == []
