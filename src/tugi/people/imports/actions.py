"""Actions on HR imports: preview a file, apply or discard it, and the HR system's push.

The life of an import (`DataImport`):

    upload ── preview_import ──> PREVIEWED ── apply_import ──> APPLYING ── run_import ──> APPLIED
                                     │                             │          └─ error ──> FAILED
                                     │                             └─ stalled: resumed (applied
                                     │                                again), or reset ──> FAILED
                                     └── discard_import ──> DISCARDED (or left too long: upkeep)

`preview_import` reads and checks the file and stores it with its preview (the refused rows with
their reasons, and counts of what applying would do); nothing else changes. `apply_import` is the
explicit decision to apply the valid rows: small files are applied at once, larger ones by the
background worker (`tugi.people.tasks`), while the page shows the progress. `run_import` checks
the file again before writing (the data may have changed since the preview) and writes in
batches, each batch one transaction with its audit events; the rows refused at that point are
stored as the import's refused rows. Applying is idempotent: a row already applied is unchanged
the second time, so an import that failed half-way is finished by uploading the file again.

One process applies an import at a time: `run_import` claims it with a token (`runner`) and
records a sign of life (`heartbeat_at`) after each batch, only while the token is still its own.
An import whose process died (the worker killed, the machine restarted) shows no sign of life;
`upkeep.recover_stalled_imports` then claims it with a new token and applies it again from the
stored file (idempotent, as said), or resets it to FAILED when resuming would not be safe.

Who may: `people.import_hr_data`, and the rights the import exercises (adding and changing
persons; adding and changing absences). `actor=None` is the operator's command on the server,
as for the other actions.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.core import audit, context
from tugi.core.permissions import Actor, require
from tugi.people.imports import absences, hr
from tugi.people.imports.files import Cell, FileProblem, Table, read_table
from tugi.people.models import DataImport

log = logging.getLogger(__name__)

Kind = DataImport.Kind
State = DataImport.State

# Imports that change up to this many persons or absences (as the preview counted) are applied
# while the user waits, a few seconds; larger ones by the worker, so that no web request runs
# into the server's timeout. Unchanged rows cost little either way.
INLINE_CHANGES = 200
_CHANGING = ("joiner", "mover", "leaver", "updated", "new", "changed")
# The most records one push of the HR system may carry.
MAX_PUSH = 1000

_PERMISSIONS = {
    Kind.PERSONS: ("people.import_hr_data", "people.add_person", "people.change_person"),
    Kind.ABSENCES: ("people.import_hr_data", "people.add_absence", "people.change_absence"),
}


def may_import(user: Actor, kind: str | None = None) -> bool:
    """Whether the user holds what importing (this kind of file, or any) needs."""
    if user is None or not user.is_authenticated:
        return False
    kinds = [kind] if kind else list(_PERMISSIONS)
    return any(user.has_perms(_PERMISSIONS[Kind(k)]) for k in kinds)


def _require(actor: Actor, kind: str) -> None:
    if actor is not None:
        require(actor, *_PERMISSIONS[Kind(kind)])


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def storage_dir() -> Path:
    """The folder the uploaded files are kept in until applied or discarded."""
    return Path(settings.MEDIA_ROOT) / "imports"


def _read(kind: str, file_name: str, data: bytes) -> Table:
    module = hr if kind == Kind.PERSONS else absences
    return read_table(file_name, data, module.COLUMNS, one_of=module.ONE_OF)


@dataclass
class _Result:
    """A kind's check, in the shape the import record stores."""

    total_rows: int
    valid_rows: int
    errors: list[dict[str, Any]]
    summary: dict[str, Any]
    checked: Any


def _check(kind: str, table: Table) -> _Result:
    checked: hr.Checked | absences.Checked
    if kind == Kind.PERSONS:
        checked, directory = hr.check(table.rows)
        summary = checked.summary(directory)
    else:
        checked = absences.check(table.rows)
        summary = checked.summary()
    summary.update(format=table.format, separator=table.separator, ignored=table.ignored)
    return _Result(checked.total_rows, len(checked.rows), checked.errors, summary, checked)


def preview_import(actor: Actor, kind: str, file_name: str, data: bytes) -> DataImport:
    """Read and check an HR file and keep it with its preview; nothing else changes.

    A file that is not a usable table at all (wrong columns, not UTF-8, empty) is a
    ValidationError on `file`, and nothing is kept.
    """
    if kind not in Kind.values:
        raise ValidationError({"kind": _("Choose what the file holds.")})
    _require(actor, kind)
    try:
        table = _read(kind, file_name, data)
    except FileProblem as exc:
        raise ValidationError({"file": exc.message}) from None
    result = _check(kind, table)
    folder = storage_dir()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(file_name).suffix.lower()[:10] if Path(file_name).suffix else ""
    stored = f"imports/{uuid.uuid4().hex}{suffix}"
    (Path(settings.MEDIA_ROOT) / stored).write_bytes(data)
    try:
        with transaction.atomic():
            data_import = DataImport.objects.create(
                kind=kind,
                file_name=Path(file_name).name[:255],
                stored_path=stored,
                state=State.PREVIEWED,
                created_by=_user(actor),
                total_rows=result.total_rows,
                valid_rows=result.valid_rows,
                errors=result.errors,
                summary=result.summary,
            )
            audit.record(
                actor,
                "people.import.preview",
                data_import,
                after={
                    "kind": kind,
                    "file": data_import.file_name,
                    "rows": result.total_rows,
                    "valid": result.valid_rows,
                    "refused": result.summary.get("refused", 0),
                },
            )
    except Exception:
        (Path(settings.MEDIA_ROOT) / stored).unlink(missing_ok=True)
        raise
    return data_import


def apply_import(
    actor: Actor,
    data_import: DataImport,
    *,
    filed_by: User | None = None,
    inline: bool | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> DataImport:
    """Apply the valid rows of a previewed import (now, or by the worker for a large file).

    `filed_by` files the access requests the joiner policy "request" asks for (default: the
    actor). `inline` forces applying now (True) or in the worker (False); by default an import
    changing up to INLINE_CHANGES persons or absences is applied now. `on_progress(done, total)`
    is told after each batch when applying now (the command's progress bar).
    """
    _require(actor, data_import.kind)
    filed_by = filed_by or _user(actor)
    with transaction.atomic():
        data_import = DataImport.objects.select_for_update().get(pk=data_import.pk)
        if data_import.state != State.PREVIEWED:
            raise ValidationError(
                {
                    "state": _("This import is %(state)s: only a previewed import can be applied.")
                    % {"state": data_import.get_state_display()}
                }
            )
        if not data_import.valid_rows:
            raise ValidationError({"state": _("No row of the file is valid: nothing to apply.")})
        data_import.state = State.APPLYING
        data_import.applied_by = _user(actor)
        data_import.filed_by = filed_by
        data_import.progress = 0
        # No process has it yet (the worker's task or the inline run below claims it); the sign
        # of life starts now, so that a task lost with its worker is noticed too.
        data_import.runner, data_import.heartbeat_at = "", timezone.now()
        data_import.save(
            update_fields=["state", "applied_by", "filed_by", "progress", "runner", "heartbeat_at"]
        )
        audit.record(
            actor,
            "people.import.apply",
            data_import,
            before={"state": State.PREVIEWED},
            after={"state": State.APPLYING, "valid_rows": data_import.valid_rows},
        )
        changes = sum(int(data_import.summary.get(c, 0)) for c in _CHANGING)
        now = changes <= INLINE_CHANGES if inline is None else inline
        if not now:
            from tugi.people import tasks

            # The worker's audit events carry the request id of the click that applied it.
            pk, filer = data_import.pk, filed_by.pk if filed_by else None
            request_id = context.request_id.get()
            transaction.on_commit(
                lambda: tasks.apply_import_task(pk, filed_by_id=filer, request_id=request_id)
            )
    if now:
        return run_import(data_import.pk, filed_by=filed_by, on_progress=on_progress)
    return data_import


class Superseded(Exception):
    """Another process has taken the import over: this one was taken for dead and must stop."""


def _claim(pk: int) -> str | None:
    """Take an import being applied that no process has yet; its new token, or None."""
    token = uuid.uuid4().hex
    claimed = DataImport.objects.filter(pk=pk, state=State.APPLYING, runner="").update(
        runner=token, heartbeat_at=timezone.now(), attempts=F("attempts") + 1
    )
    return token if claimed else None


def _alive(pk: int, token: str, **fields: Any) -> None:
    """Record a sign of life (and `fields`); Superseded if the import is no longer ours."""
    # Outside the batches' transactions: the page polling it sees each batch as it commits.
    mine = DataImport.objects.filter(pk=pk, state=State.APPLYING, runner=token)
    if not mine.update(heartbeat_at=timezone.now(), **fields):
        raise Superseded(pk)


def _progress(
    pk: int, token: str, total: int, on_progress: Callable[[int, int], None] | None
) -> Callable[[int], None]:
    def report(done: int) -> None:
        _alive(pk, token, progress=done)
        if on_progress is not None:
            on_progress(done, total)

    return report


def remove_file(stored_path: str) -> None:
    """Delete an import's stored file (after the commit that forgot it); a failure is logged."""
    if not stored_path:
        return
    try:
        (Path(settings.MEDIA_ROOT) / stored_path).unlink(missing_ok=True)
    except OSError:
        log.warning("could not delete the import file %s", stored_path, exc_info=True)


def run_import(
    pk: int,
    *,
    filed_by: User | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    runner: str | None = None,
) -> DataImport:
    """The work of applying: check the stored file again, write the valid rows, record the outcome.

    Called by `apply_import` (small files), the worker, or `upkeep.recover_stalled_imports`
    (which has claimed the import already and passes its token as `runner`). Does nothing unless
    the import is being applied and no other process has it, so a task run twice applies once.
    `filed_by` defaults to the one recorded when applying was asked for.
    """
    token = runner or _claim(pk)
    data_import = DataImport.objects.select_related("applied_by", "filed_by").get(pk=pk)
    if token is None or data_import.state != State.APPLYING or data_import.runner != token:
        return data_import
    actor: Actor = data_import.applied_by
    filed_by = filed_by or data_import.filed_by
    path = Path(settings.MEDIA_ROOT) / data_import.stored_path
    try:
        table = _read(data_import.kind, data_import.file_name, path.read_bytes())
        result = _check(data_import.kind, table)
        _alive(pk, token, valid_rows=result.valid_rows, progress=0)
        basis = f"import {pk}: {data_import.file_name}"[:300]
        report = _progress(pk, token, result.valid_rows, on_progress)
        outcome: dict[str, Any]
        if data_import.kind == Kind.PERSONS:
            applied = hr.apply(
                result.checked, actor, basis=basis, filed_by=filed_by, progress=report
            )
            outcome = {"counts": dict(applied.counts), "access": applied.access}
        else:
            done = absences.apply(result.checked, actor, progress=report)
            outcome = {"counts": dict(done.counts), "problems": done.problems}
    except Superseded:
        log.warning("import %s: taken over by another process; this one stops", pk)
        return DataImport.objects.get(pk=pk)
    except KeyboardInterrupt:
        # The operator stopped the command (Ctrl-C): that is a decision, not a crash to resume.
        _fail(pk, actor, token, _("Applying was interrupted on the server (Ctrl-C)."))
        raise
    except Exception as exc:
        log.exception("import %s failed", pk)
        return _fail(pk, actor, token, exc)
    with transaction.atomic():
        data_import = DataImport.objects.select_for_update().get(pk=pk)
        if data_import.state != State.APPLYING or data_import.runner != token:
            log.warning("import %s: taken over by another process; its outcome stands", pk)
            return data_import
        stored = data_import.stored_path
        data_import.state = State.APPLIED
        data_import.applied_at = timezone.now()
        data_import.valid_rows = result.valid_rows
        data_import.progress = result.valid_rows
        data_import.errors = result.errors
        data_import.summary = {**result.summary, "applied": outcome}
        if data_import.attempts > 1:
            # Resumed: the rows applied before the interruption count as unchanged this time.
            data_import.summary["resumed"] = data_import.attempts - 1
        data_import.stored_path = ""
        data_import.runner = ""
        data_import.heartbeat_at = timezone.now()
        data_import.save()
        audit.record(
            actor,
            "people.import.finish",
            data_import,
            before={"state": State.APPLYING},
            after={"state": State.APPLIED, **outcome.get("counts", {})},
        )
    remove_file(stored)
    return data_import


def _fail(pk: int, actor: Actor, token: str, exc: Exception | str) -> DataImport:
    if isinstance(exc, str):
        message = exc
    elif isinstance(exc, FileProblem):
        message = exc.message
    elif isinstance(exc, FileNotFoundError):
        message = _("The uploaded file is no longer there; upload it again.")
    else:
        message = str(exc) or type(exc).__name__
    with transaction.atomic():
        data_import = DataImport.objects.select_for_update().get(pk=pk)
        if data_import.state != State.APPLYING or data_import.runner != token:
            return data_import  # another process has it now: its outcome counts, not ours
        data_import.state = State.FAILED
        data_import.runner = ""
        data_import.heartbeat_at = timezone.now()  # when it failed (its file is kept for a while)
        data_import.summary = {**data_import.summary, "failure": message[:1000]}
        data_import.save(update_fields=["state", "runner", "heartbeat_at", "summary"])
        audit.record(
            actor,
            "people.import.fail",
            data_import,
            before={"state": State.APPLYING},
            after={"state": State.FAILED, "progress": data_import.progress},
            basis=message[:300],
        )
    return data_import


def discard_import(actor: Actor, data_import: DataImport) -> DataImport:
    """Throw a previewed (or failed) import away with its file; nothing it lists is applied."""
    _require(actor, data_import.kind)
    with transaction.atomic():
        data_import = DataImport.objects.select_for_update().get(pk=data_import.pk)
        if data_import.state not in (State.PREVIEWED, State.FAILED):
            raise ValidationError(
                {
                    "state": _("This import is %(state)s: it can no longer be discarded.")
                    % {"state": data_import.get_state_display()}
                }
            )
        before = data_import.state
        path = data_import.stored_path
        data_import.state, data_import.stored_path = State.DISCARDED, ""
        data_import.save(update_fields=["state", "stored_path"])
        audit.record(
            actor,
            "people.import.discard",
            data_import,
            before={"state": before},
            after={"state": State.DISCARDED},
        )
    remove_file(path)
    return data_import


# --- the HR system's push ------------------------------------------------------------------------


@dataclass
class PushResult:
    """What a push did: the import record, one outcome per record, and the access consequences."""

    data_import: DataImport
    results: list[dict[str, Any]]
    access: dict[str, Any]


def _record_cells(record: Any, errors: dict[str, list[str]], prefix: str) -> dict[str, Cell]:
    cells: dict[str, Cell] = {}
    if not isinstance(record, dict):
        errors[prefix.rstrip(".") or "non_field_errors"] = [_("Each person is a JSON object.")]
        return cells
    for name, value in record.items():
        if name not in hr.FIELDS:
            errors.setdefault(f"{prefix}{name}", []).append(_("This field is not known."))
            continue
        if value is None:
            cells[name] = ""
        elif isinstance(value, str | int | float):
            cells[name] = str(value).strip()
        else:
            errors.setdefault(f"{prefix}{name}", []).append(_("Give text, a number or null."))
    return cells


def push_persons(actor: Actor, records: list[Any], *, single: bool = False) -> PushResult:
    """Apply persons pushed by the HR system at once: all of them, or none if any is refused.

    Each record is checked as a row of an HR file is (same fields, same rules); a record that
    leaves out an optional field keeps what Tugi has, `null` clears it. Errors name the record:
    `persons[3].email` (or just `email` for a single object).
    """
    _require(actor, Kind.PERSONS)
    if not records:
        raise ValidationError({"persons": _("Send at least one person.")})
    if len(records) > MAX_PUSH:
        raise ValidationError(
            {"persons": _("Send at most %(max)d persons at a time.") % {"max": MAX_PUSH}}
        )
    errors: dict[str, list[str]] = {}

    def prefix(i: int) -> str:
        return "" if single else f"persons[{i}]."

    rows = [(i, _record_cells(r, errors, prefix(i))) for i, r in enumerate(records)]
    for i, cells in rows:
        if "personal_code" not in cells and "foreign_id_code" not in cells:
            errors.setdefault(f"{prefix(i)}personal_code", []).append(
                _("Give the personal code, or a foreign id.")
            )
        # The check reads a missing position as "no position"; a record must say so with null.
        if "position_code" not in cells:
            errors.setdefault(f"{prefix(i)}position_code", []).append(
                _("This field is required (null for a person without a position).")
            )
    checked, directory = hr.check(rows)
    for e in checked.errors:
        errors.setdefault(f"{prefix(e['row'])}{e['field']}", []).append(e["message"])
    if errors:
        raise ValidationError(errors)
    user = _user(actor)
    with transaction.atomic():
        data_import = DataImport.objects.create(
            kind=Kind.PERSONS,
            file_name=_("HR system push (%(count)d)") % {"count": len(records)},
            state=State.APPLYING,
            created_by=user,
            applied_by=user,
            total_rows=len(records),
            valid_rows=len(checked.rows),
            summary=checked.summary(directory),
        )
        applied = hr.apply(
            checked, actor, basis=f"HR system push, import {data_import.pk}", filed_by=user
        )
        data_import.state = State.APPLIED
        data_import.applied_at = timezone.now()
        data_import.progress = len(checked.rows)
        data_import.summary = {
            **data_import.summary,
            "applied": {"counts": dict(applied.counts), "access": applied.access},
        }
        data_import.save()
        audit.record(
            actor,
            "people.import.push",
            data_import,
            after={"rows": len(records), **dict(applied.counts)},
        )
    return PushResult(data_import, applied.results, applied.access)
