"""Background work of the people app: applying a large HR import, and the imports' upkeep."""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from tugi.core.context import request_scope
from tugi.core.periodic import local_crontab

log = logging.getLogger(__name__)


@db_task()
def apply_import_task(import_id: int, filed_by_id: int | None = None, request_id: str = "") -> str:
    """Apply an import the user chose to apply; the page polls its progress."""
    from tugi.people.imports.actions import run_import

    filed_by = User.objects.filter(pk=filed_by_id).first() if filed_by_id else None
    with request_scope(request_id or None):
        return run_import(import_id, filed_by=filed_by).state


# No Huey lock for either: each import is claimed under its row lock (a token for a resumed
# apply, a state change for an expired preview), so two passes at once do each one once.


@db_periodic_task(crontab(minute="*/5"))
def recover_stalled_imports_task() -> None:
    """Every 5 minutes: resume (or reset) the imports whose apply stopped showing progress."""
    from tugi.people.imports.upkeep import recover_stalled_imports

    with request_scope():
        done = recover_stalled_imports()
    if done.resumed or done.reset:
        log.warning("imports: %s resumed, %s reset to failed", done.resumed, done.reset)


@db_periodic_task(local_crontab(hour="3", minute="20"))
def clean_up_imports_task() -> None:
    """Daily at 03:20: delete the files of imports left unapplied for TUGI_IMPORT_PREVIEW_DAYS."""
    from tugi.people.imports.upkeep import clean_up_imports

    with request_scope():
        clean_up_imports()
