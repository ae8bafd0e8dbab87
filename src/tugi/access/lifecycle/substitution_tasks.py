"""The substitution engine's Huey tasks (registered by importing this module in
`tugi.access.tasks`).

- every morning at 06:30 (Tallinn time): proposals from the vacation schedule for the absences
  coming up;
- hourly at ten past, 07:10–18:10: the notices of orders that start soon (people are not mailed
  at night; an order made later than the notice period is told when it is made);
- hourly at 35 past: a repair pass over every order in force or to come (what changed without an
  action is brought in line).

Each is safe to run twice: proposals are made once per absence, a notice once per order, and the
repair pass is idempotent.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from tugi.access.actions import substitution as actions
from tugi.access.lifecycle import substitution as engine
from tugi.access.lifecycle import substitution_notices as notices
from tugi.core.periodic import local_crontab

log = logging.getLogger(__name__)


@db_periodic_task(local_crontab(hour="6", minute="30"))
def propose_substitutions() -> int:
    """Every morning: propose substitutes for the absences starting soon."""
    with lock_task("tugi-substitution-proposals"):
        made = actions.propose_from_absences(None)
    if made:
        log.info("substitution: %d proposals made", len(made))
    return len(made)


@db_periodic_task(local_crontab(hour="7-18", minute="10"))
def substitution_notices() -> int:
    """Every hour: tell substitutes and managers of orders that start soon (once each)."""
    with lock_task("tugi-substitution-notices"):
        sent = notices.send_due_notices()
    if sent:
        log.info("substitution: %d notices sent", sent)
    return sent


@db_periodic_task(crontab(minute="35"))
def reconcile_substitutions() -> int:
    """Every hour: bring every order in force or to come in line with the data."""
    with lock_task("tugi-substitution-reconcile"):
        changed = engine.sync_all()
    if changed:
        log.warning("substitution: %d orders were out of line and are repaired", changed)
    return changed
