"""An import whose apply was cut off (the worker killed, the machine restarted) does not stay
"being applied" for ever: the worker resumes it (applying is batched and idempotent) or, when
that would not be safe, resets it to failed with the reason on the page and in the audit log."""

import datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.urls import reverse

from tests.people.imports_support import (
    NEW_1,
    NEW_2,
    NEW_3,
    NOW,
    build_world,
    joiner_row,
    write_csv,
)
from tugi.core.models import AuditEvent
from tugi.people.imports import actions, hr
from tugi.people.imports.actions import Superseded, apply_import, preview_import, run_import
from tugi.people.imports.upkeep import MAX_ATTEMPTS, is_stalled, recover_stalled_imports
from tugi.people.models import DataImport, Person

pytestmark = pytest.mark.django_db

APPLYING = DataImport.State.APPLYING
LATER = NOW + datetime.timedelta(minutes=11)  # past the default 10 minutes without progress
SOON = NOW + datetime.timedelta(minutes=9)
JOINERS = [(NEW_1, "Aadu"), (NEW_2, "Beata"), (NEW_3, "Cyrus")]


class Killed(BaseException):
    """What a killed process looks like to the code after it: nothing more runs."""


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TUGI_JOINER_POLICY = "grant"
    with time_machine.travel(NOW, tick=False):
        yield build_world()


def stored(data_import: DataImport) -> Path:
    return Path(django_settings.MEDIA_ROOT) / data_import.stored_path


def preview(world, tmp_path, rows=None, name="personal.csv") -> DataImport:
    rows = rows or [joiner_row(code, first, "Uus") for code, first in JOINERS]
    path = write_csv(tmp_path, rows, name=name)
    return preview_import(world.hr, "persons", path.name, path.read_bytes())


def killed_after_first_batch(world, tmp_path, monkeypatch) -> DataImport:
    """Apply three joiners one per batch, the process dying once the first batch committed."""
    monkeypatch.setattr(hr, "BATCH", 1)
    real = actions._progress

    def dying(pk, token, total, on_progress):
        report = real(pk, token, total, on_progress)

        def report_then_die(done: int) -> None:
            report(done)
            raise Killed

        return report_then_die

    data_import = preview(world, tmp_path)
    monkeypatch.setattr(actions, "_progress", dying)
    with time_machine.travel(NOW, tick=False), pytest.raises(Killed):
        apply_import(world.hr, data_import, inline=True)
    monkeypatch.setattr(actions, "_progress", real)
    data_import.refresh_from_db()
    return data_import


def events(action: str, data_import: DataImport):
    return AuditEvent.objects.filter(action=action, object_id=str(data_import.pk))


def test_a_normal_apply_leaves_no_trace_of_the_machinery(world, tmp_path):
    data_import = preview(world, tmp_path)
    path = stored(data_import)
    with time_machine.travel(NOW, tick=False):
        data_import = apply_import(world.hr, data_import)
    assert data_import.state == DataImport.State.APPLIED
    assert data_import.runner == "" and data_import.attempts == 1
    assert data_import.heartbeat_at == NOW and data_import.filed_by == world.hr
    assert "resumed" not in data_import.summary
    assert not path.exists() and data_import.stored_path == ""
    with time_machine.travel(LATER, tick=False):
        assert recover_stalled_imports().resumed == []
    assert not events("people.import.resume", data_import).exists()


def test_a_killed_apply_is_resumed_and_finished_once_it_shows_no_progress(
    world, tmp_path, monkeypatch
):
    data_import = killed_after_first_batch(world, tmp_path, monkeypatch)
    assert data_import.state == APPLYING and data_import.progress == 1
    assert data_import.runner and data_import.attempts == 1
    assert Person.objects.filter(last_name="Uus").count() == 1
    path = stored(data_import)
    assert path.is_file()

    # Nine minutes on the batch might still be running: left alone.
    with time_machine.travel(SOON, tick=False):
        assert recover_stalled_imports().resumed == []
    data_import.refresh_from_db()
    assert data_import.state == APPLYING and not is_stalled(data_import, SOON)

    with time_machine.travel(LATER, tick=False):
        done = recover_stalled_imports()
    assert done.resumed == [data_import.pk] and done.reset == []
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.APPLIED
    assert data_import.attempts == 2 and data_import.runner == ""
    assert data_import.summary["resumed"] == 1
    # Each joiner once: the one written before the kill is unchanged the second time.
    assert sorted(Person.objects.filter(last_name="Uus").values_list("first_name", flat=True)) == [
        "Aadu",
        "Beata",
        "Cyrus",
    ]
    assert data_import.summary["applied"]["counts"] == {"unchanged": 1, "joiner": 2}
    assert not path.exists() and data_import.stored_path == ""

    [resume] = events("people.import.resume", data_import)
    assert resume.actor_id is None and resume.actor_label == "system"
    assert resume.before["progress"] == 1 and resume.before["attempts"] == 1
    assert resume.after == {"state": "applying", "attempts": 2}
    assert "10 minutes" in resume.basis
    # The rows are applied in the name of the user who applied the file.
    beata = Person.objects.get(first_name="Beata", last_name="Uus")
    create = AuditEvent.objects.get(action="people.person.create", subject_person_id=beata.pk)
    assert create.actor_id == world.hr.pk
    assert events("people.import.finish", data_import).count() == 1


def test_a_stalled_import_set_by_hand_is_resumed_and_the_page_says_so(world, tmp_path, client):
    """The state a dead worker leaves: applying, a claim by a process gone, an old sign of life."""
    data_import = preview(world, tmp_path)
    DataImport.objects.filter(pk=data_import.pk).update(
        state=APPLYING, applied_by=world.hr, runner="dead", heartbeat_at=NOW, attempts=1
    )
    client.force_login(world.hr)
    url = reverse("people:import_detail", args=[data_import.pk])
    with time_machine.travel(SOON, tick=False):
        assert "No progress since" not in client.get(url).content.decode()
    with time_machine.travel(LATER, tick=False):
        page = client.get(url).content.decode()
        polled = client.get(
            reverse("people:import_progress", args=[data_import.pk]),
            headers={"HX-Request": "true"},
        )
        assert "No progress since" in page and "the worker is not running" in page
        assert "No progress since" in polled.content.decode() and "HX-Redirect" not in polled
        recover_stalled_imports()
        page = client.get(url).content.decode()
    assert "applied the file again to finish it" in page
    assert Person.objects.filter(last_name="Uus").count() == 3


def test_a_task_lost_with_its_worker_is_resumed(world, tmp_path):
    """Queued for the worker but never started (runner empty): noticed too."""
    data_import = preview(world, tmp_path)
    DataImport.objects.filter(pk=data_import.pk).update(
        state=APPLYING, applied_by=world.hr, heartbeat_at=NOW
    )
    with time_machine.travel(LATER, tick=False):
        assert recover_stalled_imports().resumed == [data_import.pk]
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.APPLIED and data_import.attempts == 1
    assert "resumed" not in data_import.summary  # it never started before


def test_the_process_taken_for_dead_stops_and_a_late_task_does_nothing(world, tmp_path):
    data_import = preview(world, tmp_path)
    DataImport.objects.filter(pk=data_import.pk).update(
        state=APPLYING, applied_by=world.hr, runner="slow", heartbeat_at=NOW, attempts=1
    )
    with time_machine.travel(LATER, tick=False):
        recover_stalled_imports()
        # The slow process, had it been alive, finds the import no longer its own...
        with pytest.raises(Superseded):
            actions._alive(data_import.pk, "slow", progress=1)
        # ...and a task still in the queue for it applies nothing a second time.
        again = run_import(data_import.pk)
    assert again.state == DataImport.State.APPLIED
    assert events("people.import.finish", data_import).count() == 1
    assert Person.objects.filter(last_name="Uus").count() == 3


def test_a_stalled_import_is_reset_when_a_later_one_was_applied_since(world, tmp_path, client):
    older = preview(world, tmp_path, name="oktoober.csv")
    DataImport.objects.filter(pk=older.pk).update(
        state=APPLYING, applied_by=world.hr, runner="dead", heartbeat_at=NOW, attempts=1
    )
    newer = preview(world, tmp_path, [joiner_row(NEW_1, "Aadu", "Uus")], name="november.csv")
    with time_machine.travel(NOW, tick=False):
        apply_import(world.hr, newer)
    with time_machine.travel(LATER, tick=False):
        done = recover_stalled_imports()
    assert done.reset == [older.pk] and done.resumed == []
    older.refresh_from_db()
    assert older.state == DataImport.State.FAILED and older.runner == ""
    assert (
        "a later import of the same kind (november.csv) has been applied"
        in (older.summary["failure"])
    )
    assert older.summary["reset"] is True
    assert Person.objects.filter(last_name="Uus").count() == 1  # nothing of the older applied

    [reset] = events("people.import.reset", older)
    assert reset.actor_id is None and reset.actor_label == "system"
    assert reset.before["state"] == "applying" and reset.after == {"state": "failed"}
    assert "november.csv" in reset.basis

    client.force_login(world.hr)
    page = client.get(reverse("people:import_detail", args=[older.pk])).content.decode()
    assert "The import failed: Applying was interrupted" in page
    assert "The system marked it failed" in page
    assert "Discard" in page
    # It can be discarded as any failed import, its file with it.
    path = stored(older)
    assert path.is_file()
    client.post(reverse("people:import_discard", args=[older.pk]))
    older.refresh_from_db()
    assert older.state == DataImport.State.DISCARDED and not path.exists()


def test_an_import_interrupted_again_and_again_is_given_up(world, tmp_path):
    data_import = preview(world, tmp_path)
    DataImport.objects.filter(pk=data_import.pk).update(
        state=APPLYING, applied_by=world.hr, runner="dead", heartbeat_at=NOW, attempts=MAX_ATTEMPTS
    )
    with time_machine.travel(LATER, tick=False):
        assert recover_stalled_imports().reset == [data_import.pk]
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.FAILED
    assert f"interrupted {MAX_ATTEMPTS} times" in data_import.summary["failure"]
    assert events("people.import.reset", data_import).count() == 1
    assert not Person.objects.filter(last_name="Uus").exists()


def test_a_stalled_import_whose_file_is_gone_is_reset(world, tmp_path):
    data_import = preview(world, tmp_path)
    stored(data_import).unlink()
    DataImport.objects.filter(pk=data_import.pk).update(
        state=APPLYING, applied_by=world.hr, runner="dead", heartbeat_at=NOW, attempts=1
    )
    with time_machine.travel(LATER, tick=False):
        assert recover_stalled_imports().reset == [data_import.pk]
    data_import.refresh_from_db()
    assert "the uploaded file is no longer there" in data_import.summary["failure"]


def test_a_pass_handles_each_stalled_import_once(world, tmp_path):
    data_import = preview(world, tmp_path)
    DataImport.objects.filter(pk=data_import.pk).update(
        state=APPLYING, applied_by=world.hr, runner="dead", heartbeat_at=NOW, attempts=1
    )
    with time_machine.travel(LATER, tick=False):
        first = recover_stalled_imports()
        second = recover_stalled_imports()
    assert first.resumed == [data_import.pk]
    assert second.resumed == [] and second.reset == []
    assert events("people.import.resume", data_import).count() == 1


def test_the_minutes_are_a_setting(world, tmp_path, settings):
    settings.TUGI_IMPORT_STALE_MINUTES = 30
    data_import = preview(world, tmp_path)
    DataImport.objects.filter(pk=data_import.pk).update(
        state=APPLYING, applied_by=world.hr, runner="dead", heartbeat_at=NOW, attempts=1
    )
    with time_machine.travel(LATER, tick=False):
        assert recover_stalled_imports().resumed == []
    with time_machine.travel(NOW + datetime.timedelta(minutes=31), tick=False):
        assert recover_stalled_imports().resumed == [data_import.pk]


def test_the_requests_are_filed_by_whom_the_apply_named_when_resumed(world, tmp_path, settings):
    """Under the joiner policy "request" a resumed apply files in the same name as the first."""
    from tugi.access.models import AccessRequest

    settings.TUGI_JOINER_POLICY = "request"
    data_import = preview(world, tmp_path, [joiner_row(NEW_1, "Aadu", "Uus")])
    DataImport.objects.filter(pk=data_import.pk).update(
        state=APPLYING, runner="dead", heartbeat_at=NOW, attempts=1, filed_by=world.hr
    )  # applied from the command (no user), requests filed by the named user
    with time_machine.travel(LATER, tick=False):
        recover_stalled_imports()
    assert AccessRequest.objects.get().requested_by == world.hr


def test_ctrl_c_in_the_command_fails_the_import_instead_of_leaving_it(world, tmp_path, monkeypatch):
    """The operator's interrupt is a decision: the import fails, and is not resumed later."""
    data_import = preview(world, tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(hr, "apply", interrupted)
    with time_machine.travel(NOW, tick=False), pytest.raises(KeyboardInterrupt):
        apply_import(None, data_import, inline=True)
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.FAILED
    assert "interrupted on the server" in data_import.summary["failure"]
    with time_machine.travel(LATER, tick=False):
        assert recover_stalled_imports().resumed == []


def test_the_periodic_task_runs_the_recovery(world, tmp_path):
    from tugi.people.tasks import recover_stalled_imports_task

    data_import = preview(world, tmp_path)
    DataImport.objects.filter(pk=data_import.pk).update(
        state=APPLYING, applied_by=world.hr, runner="dead", heartbeat_at=NOW, attempts=1
    )
    with time_machine.travel(LATER, tick=False):
        recover_stalled_imports_task.call_local()
    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.APPLIED
    resume = events("people.import.resume", data_import).get()
    assert resume.request_id  # the pass runs under a request id of its own


def test_the_upkeep_tasks_are_scheduled():
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    from tugi.people.tasks import clean_up_imports_task, recover_stalled_imports_task

    autodiscover_modules("tasks")  # what `manage.py run_huey` does at start
    names = {f"{t.__module__}.{t.__name__}" for t in HUEY._registry._periodic_tasks}
    assert {
        "tugi.people.tasks.recover_stalled_imports_task",
        "tugi.people.tasks.clean_up_imports_task",
    } <= names
    # Every five minutes; the cleanup nightly at 03:20 Tallinn time (01:20 UTC in winter).
    recover = recover_stalled_imports_task.s().validate_datetime
    clean = clean_up_imports_task.s().validate_datetime
    assert recover(datetime.datetime(2026, 1, 15, 9, 5))
    assert not recover(datetime.datetime(2026, 1, 15, 9, 6))
    assert clean(datetime.datetime(2026, 1, 15, 1, 20))
    assert not clean(datetime.datetime(2026, 1, 15, 3, 20))
