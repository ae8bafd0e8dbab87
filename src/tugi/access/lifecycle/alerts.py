"""Telling the desk when a change is overdue or has failed: once per change."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from tugi.access import notify
from tugi.access.models import Change

LISTED = 20  # changes named in one notice; the page has the rest


def tell_desk_of_trouble(now: datetime.datetime) -> int:
    """One notice for every change newly overdue or failed; returns how many were reported."""
    overdue_since = now - datetime.timedelta(minutes=settings.TUGI_CHANGE_OVERDUE_MINUTES)
    trouble = Change.objects.filter(alerted_at__isnull=True).filter(
        state=Change.State.FAILED
    ) | Change.objects.filter(
        alerted_at__isnull=True, state=Change.State.PENDING, next_try_at__lte=overdue_since
    )
    changes = list(trouble.select_related("person", "account__system").order_by("due_at")[:500])
    if not changes:
        return 0
    with translation.override(notify._language()):
        subject = _("%(count)d access changes are late or failed") % {"count": len(changes)}
        lines = [
            _("These changes were not applied on time:"),
            "",
            *(
                f"- {c.get_kind_display()}: {c.person}, {c.account.system.code}, "
                + _("due %(due)s") % {"due": c.due_at.strftime("%d.%m.%Y %H:%M")}
                + (f" — {c.error}" if c.error else "")
                for c in changes[:LISTED]
            ),
            "",
            notify.base_url() + reverse("access:changes") + "?late=1",
        ]
    notify._queue(subject, "\n".join(lines), notify.desk_recipients())
    Change.objects.filter(pk__in=[c.pk for c in changes]).update(alerted_at=now)
    return len(changes)
