"""The Huey task that tells people of time-limited grants ending soon (`notices`).

Every hour at five past, from 08:05 to 17:05 Tallinn time: the mail arrives in office hours, and
as the check is by date, a run missed while the worker was down is made up by the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, lock_task

from tugi.access.lifecycle import notices

log = logging.getLogger(__name__)


def local_crontab(**fields: str) -> Callable[[dt.datetime], bool]:
    """A `crontab` read in Tallinn time (as `tugi.desk.tasks.local_crontab`): Huey hands the
    periodic check a naive UTC time."""
    matches = crontab(**fields)

    def validate(timestamp: dt.datetime) -> bool:
        if HUEY.utc and timezone.is_naive(timestamp):
            local = timezone.localtime(timestamp.replace(tzinfo=dt.UTC))
            timestamp = timezone.make_naive(local)
        return bool(matches(timestamp))

    return validate


@db_periodic_task(local_crontab(hour="8-17", minute="5"))
def send_grant_end_notices() -> int:
    """Hourly in office hours: tell the people concerned of grants whose last day is near."""
    with lock_task("tugi-access-grant-end-notices"):
        return notices.send_grant_end_notices()
