"""How a validity's end is shown where a column has room for a date only."""

import datetime

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone

register = template.Library()


@register.filter
def last_day(valid_to: datetime.datetime | None) -> str:
    """The last day a validity covers, as people say it.

    Grants end at the midnight after their last day (`valid_to` is exclusive), so a grant for
    November ends at 01.12 00:00 and is shown "30.11.2026"; an end at any other moment (a leaver's
    last hour) is shown with its time.
    """
    if valid_to is None:
        return ""
    local = timezone.localtime(valid_to)
    if local.time() == datetime.time(0, 0):
        return date_filter(local - datetime.timedelta(days=1), "SHORT_DATE_FORMAT")
    return date_filter(local, "SHORT_DATETIME_FORMAT")
