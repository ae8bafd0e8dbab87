"""The engine's Huey tasks: the exact-time run and the reconciler every minute."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from tugi.access.lifecycle import reconcile as reconciler
from tugi.access.lifecycle.apply import apply_due

log = logging.getLogger(__name__)


@db_task(retries=3, retry_delay=5)
def apply_due_changes() -> int:
    """Scheduled for a due time: apply every change due by now (several workers may share it)."""
    outcome = apply_due()
    if outcome.applied or outcome.failed:
        log.info("lifecycle: %s", outcome)
    return outcome.applied


@db_periodic_task(crontab(minute="*"))
def reconcile_changes() -> None:
    """Every minute: repair what is missing, apply what is due, alert on what is late."""
    with lock_task("tugi-lifecycle-reconcile"):
        run = reconciler.reconcile()
    if run.repaired or run.applied or run.failed:
        log.info(
            "lifecycle: reconciled %d boundaries, repaired %d, applied %d, failed %d",
            run.checked,
            run.repaired,
            run.applied,
            run.failed,
        )
