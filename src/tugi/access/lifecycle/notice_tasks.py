"""The Huey task that tells people of time-limited grants ending soon (`notices`).

Every hour at five past, from 08:05 to 17:05 Tallinn time: the mail arrives in office hours, and
as the check is by date, a run missed while the worker was down is made up by the next one.
"""

from __future__ import annotations

import logging

from huey.contrib.djhuey import db_periodic_task, lock_task

from tugi.access.lifecycle import notices
from tugi.core.periodic import local_crontab

log = logging.getLogger(__name__)


@db_periodic_task(local_crontab(hour="8-17", minute="5"))
def send_grant_end_notices() -> int:
    """Hourly in office hours: tell the people concerned of grants whose last day is near."""
    with lock_task("tugi-access-grant-end-notices"):
        return notices.send_grant_end_notices()
