"""Schedules for Huey's periodic tasks in the agency's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY


def local_crontab(**fields: str) -> Callable[[dt.datetime], bool]:
    """A `crontab` read in settings.TIME_ZONE (Europe/Tallinn) rather than in UTC.

    Huey (utc=True, its default and ours) hands periodic tests a naive UTC time; a plain crontab
    would then fire at 03:00 UTC, which is 05:00 or 06:00 in Tallinn.
    """
    matches = crontab(**fields)

    def validate(timestamp: dt.datetime) -> bool:
        if HUEY.utc and timezone.is_naive(timestamp):
            local = timezone.localtime(timestamp.replace(tzinfo=dt.UTC))
            timestamp = timezone.make_naive(local)
        return bool(matches(timestamp))

    return validate
