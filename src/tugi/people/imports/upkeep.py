"""Upkeep of HR imports, run by the worker: stalled applies and files left behind.

**Stalled applies.** An import is applied in batches, each its own transaction, and applying is
idempotent (a row applied already is unchanged the second time; see `actions`). So when the
process applying it died half-way (the worker was killed, the machine restarted) the batches
before stay applied and the stored file is still there: applying it again finishes the rest.
`recover_stalled_imports` finds the imports being applied with no sign of life for
`TUGI_IMPORT_STALE_MINUTES` (default 10; a batch takes seconds) and claims each with a new
token, so that the process taken for dead, should it still be running, stops at its next batch
instead of writing alongside. It then applies it again, in the name of the user who applied it
(`people.import.resume` records that the system did). It resets the import to FAILED instead
(`people.import.reset`, with the reason on the page) when resuming would not be safe:

- a later import of the same kind (made after this one: a newer file, an HR push) has been
  applied or is being applied: applying the older file again could undo its changes;
- it was interrupted `MAX_ATTEMPTS` times already (something in it may be what kills the
  worker);
- its file is gone.

**Files left behind.** The uploaded file is needed only until the import is applied or
discarded. `clean_up_imports` deletes the files of previews nobody applied or discarded within
`TUGI_IMPORT_PREVIEW_DAYS` (default 7) days, a command-line preview included, and marks them
discarded (a failed import keeps its state); the import's record, its preview and refused rows
stay. It also deletes files in the folder that no import refers to (a crash between a commit
and the deletion after it), once they are as old.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.core import audit
from tugi.people.imports.actions import remove_file, run_import, storage_dir
from tugi.people.models import DataImport

log = logging.getLogger(__name__)

State = DataImport.State

# Starts of applying (the first included) after which a stalled import is no longer resumed.
MAX_ATTEMPTS = 3


def stale_minutes() -> int:
    """After how many minutes without a sign of life an import being applied counts as stalled."""
    return int(getattr(settings, "TUGI_IMPORT_STALE_MINUTES", 10))


def preview_days() -> int:
    """After how many days an import nobody applied or discarded loses its file."""
    return int(getattr(settings, "TUGI_IMPORT_PREVIEW_DAYS", 7))


def is_stalled(data_import: DataImport, now: dt.datetime | None = None) -> bool:
    """Whether an import being applied has shown no sign of life for too long (for the page)."""
    if data_import.state != State.APPLYING:
        return False
    last = data_import.heartbeat_at or data_import.created_at
    return last < (now or timezone.now()) - dt.timedelta(minutes=stale_minutes())


# --- stalled applies ----------------------------------------------------------------------------


@dataclass
class Recovery:
    """What one pass did: the imports resumed and those reset to failed."""

    resumed: list[int] = field(default_factory=list)
    reset: list[int] = field(default_factory=list)


def _stalled(cutoff: dt.datetime) -> QuerySet[DataImport]:
    return DataImport.objects.filter(state=State.APPLYING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )


def _why_not_resume(data_import: DataImport) -> str:
    """Why a stalled import must not be applied again, or "" if it may."""
    later = (
        DataImport.objects.filter(
            kind=data_import.kind,
            pk__gt=data_import.pk,
            state__in=[State.APPLYING, State.APPLIED],
        )
        .order_by("pk")
        .first()
    )
    if later is not None:
        return _(
            "Applying was interrupted (the worker stopped), and a later import of the same kind "
            "(%(file)s) has been applied: applying this older file again could undo its changes, "
            "so it is not resumed. The batches applied before the interruption stay applied; "
            "upload the file again if it should still be applied."
        ) % {"file": later.file_name}
    if data_import.attempts >= MAX_ATTEMPTS:
        return _(
            "Applying was interrupted %(count)d times (the worker stopped while applying it), so "
            "it is not resumed again. The batches applied before stay applied; upload the file "
            "again to finish."
        ) % {"count": data_import.attempts}
    if (
        not data_import.stored_path
        or not (Path(settings.MEDIA_ROOT) / data_import.stored_path).is_file()
    ):
        return _(
            "Applying was interrupted (the worker stopped) and the uploaded file is no longer "
            "there, so it cannot be resumed. The batches applied before stay applied; upload the "
            "file again to finish."
        )
    return ""


def _recover(pk: int, cutoff: dt.datetime, minutes: int) -> tuple[str, str | None]:
    """Reset the import, or claim it for resuming: ("reset" | "resume" | "", the new token)."""
    with transaction.atomic():
        # Checked again under the row lock: it may have moved on, or another pass taken it.
        data_import = _stalled(cutoff).select_for_update().filter(pk=pk).first()
        if data_import is None:
            return "", None
        last = data_import.heartbeat_at or data_import.created_at
        before = {
            "state": State.APPLYING,
            "progress": data_import.progress,
            "attempts": data_import.attempts,
            "last_sign_of_life": last,
        }
        reason = _why_not_resume(data_import)
        if reason:
            data_import.state = State.FAILED
            data_import.runner = ""
            data_import.summary = {**data_import.summary, "failure": reason, "reset": True}
            data_import.save(update_fields=["state", "runner", "summary"])
            audit.record(
                None,
                "people.import.reset",
                data_import,
                before=before,
                after={"state": State.FAILED},
                basis=reason[:300],
            )
            log.warning("import %s: stalled while being applied, reset: %s", pk, reason)
            return "reset", None
        token = uuid.uuid4().hex
        data_import.runner = token
        data_import.heartbeat_at = timezone.now()
        data_import.attempts += 1
        data_import.save(update_fields=["runner", "heartbeat_at", "attempts"])
        audit.record(
            None,
            "people.import.resume",
            data_import,
            before=before,
            after={"state": State.APPLYING, "attempts": data_import.attempts},
            basis=_("No progress while being applied for %(minutes)d minutes: applied again.")
            % {"minutes": minutes},
        )
        log.warning("import %s: stalled while being applied, resumed", pk)
        return "resume", token


def recover_stalled_imports(now: dt.datetime | None = None) -> Recovery:
    """Resume, or reset to failed, every import being applied that has stalled (oldest first)."""
    minutes = stale_minutes()
    cutoff = (now or timezone.now()) - dt.timedelta(minutes=minutes)
    done = Recovery()
    for pk in list(_stalled(cutoff).order_by("pk").values_list("pk", flat=True)):
        what, token = _recover(pk, cutoff, minutes)
        if what == "reset":
            done.reset.append(pk)
        elif what == "resume":
            done.resumed.append(pk)
            run_import(pk, runner=token)
    return done


# --- files left behind -------------------------------------------------------------------------


@dataclass
class Cleanup:
    """What one pass did: the imports whose files were deleted, and the orphan files deleted."""

    imports: list[int] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)


def _abandoned(cutoff: dt.datetime) -> QuerySet[DataImport]:
    # A failed import counts from its failure (its last sign of life), a preview from its upload.
    return (
        DataImport.objects.filter(
            Q(state=State.PREVIEWED) | (Q(state=State.FAILED) & ~Q(stored_path=""))
        )
        .alias(last=Coalesce("heartbeat_at", "created_at"))
        .filter(last__lt=cutoff)
    )


def _expire(pk: int, cutoff: dt.datetime, days: int, now: dt.datetime) -> bool:
    with transaction.atomic():
        data_import = _abandoned(cutoff).select_for_update().filter(pk=pk).first()
        if data_import is None:
            return False  # applied or discarded meanwhile
        before = data_import.state
        stored = data_import.stored_path
        if before == State.PREVIEWED:
            data_import.state = State.DISCARDED
        data_import.stored_path = ""
        data_import.summary = {
            **data_import.summary,
            "expired": {"days": days, "at": now.isoformat()},
        }
        data_import.save(update_fields=["state", "stored_path", "summary"])
        audit.record(
            None,
            "people.import.expire",
            data_import,
            before={"state": before, "file": bool(stored)},
            after={"state": data_import.state, "file": False},
            basis=_("Not applied within %(days)d days: the uploaded file is deleted.")
            % {"days": days},
        )
    remove_file(stored)
    return True


def _orphans(cutoff: dt.datetime) -> list[Path]:
    folder = storage_dir()
    if not folder.is_dir():
        return []
    known = set(DataImport.objects.exclude(stored_path="").values_list("stored_path", flat=True))
    found = []
    for path in folder.iterdir():
        if not path.is_file() or f"imports/{path.name}" in known:
            continue
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        if modified < cutoff:  # a fresh one may be a preview about to be recorded
            found.append(path)
    return found


def clean_up_imports(now: dt.datetime | None = None) -> Cleanup:
    """Delete the files of imports left unapplied for TUGI_IMPORT_PREVIEW_DAYS, and orphan files."""
    now = now or timezone.now()
    days = preview_days()
    cutoff = now - dt.timedelta(days=days)
    done = Cleanup()
    for pk in list(_abandoned(cutoff).order_by("pk").values_list("pk", flat=True)):
        if _expire(pk, cutoff, days, now):
            done.imports.append(pk)
    orphans = _orphans(cutoff)
    if orphans:
        names = sorted(p.name for p in orphans)
        with transaction.atomic():
            audit.record(
                None,
                "people.import.orphan_files",
                None,
                object_type="people.dataimport",
                after={"files": names},
                basis=_("Uploaded files no import refers to, older than %(days)d days: deleted.")
                % {"days": days},
            )
        for path in orphans:
            remove_file(f"imports/{path.name}")
        done.orphans = names
    if done.imports or done.orphans:
        log.info(
            "imports: %d unapplied files and %d orphan files deleted",
            len(done.imports),
            len(done.orphans),
        )
    return done
