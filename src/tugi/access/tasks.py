"""Background work of access governance, run by the Huey consumer.

- every 15 minutes: expire the access requests left open past their expiry time;
- every 30 minutes: the full compliance evaluation (findings for every rule and person);
- the lifecycle engine's exact-time runs and its reconciler every minute (`lifecycle.tasks`).

The consumer imports `<app>.tasks` of every installed app (djhuey's autodiscovery); importing
`notify` here registers the task that sends the notices as well.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from tugi.access import compliance, notify
from tugi.access.actions import requests
from tugi.access.lifecycle import (
    notice_tasks,  # noqa: F401  (registers the notice task)
    substitution_tasks,  # noqa: F401  (registers its tasks)
)
from tugi.access.lifecycle import tasks as lifecycle

log = logging.getLogger(__name__)

__all__ = ["evaluate_compliance", "expire_requests", "lifecycle", "notify"]


@db_periodic_task(crontab(minute="*/15"))
def expire_requests() -> int:
    """Every 15 minutes: expire open requests past their `expires_at`."""
    expired = requests.expire_stale_requests()
    if expired:
        log.info("access: %d stale requests expired", expired)
    return expired


@db_periodic_task(crontab(minute="*/30"))
def evaluate_compliance() -> None:
    """Every 30 minutes: evaluate every compliance rule; one run at a time."""
    with lock_task("tugi-access-compliance"):
        summary = compliance.evaluate_all()
    log.info("access: compliance evaluated: %s", summary)
