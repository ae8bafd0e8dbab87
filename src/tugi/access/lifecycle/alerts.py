"""Telling the desk when a change is overdue or has failed: once per change.

The mail is in the agency's language (settings.LANGUAGE_CODE), names each change (kind, person,
system, role, due time in Tallinn time, the error) and links to the Changes page, where the desk
retries a failed change and sees the overdue ones; its list of late changes (`?late=1`) holds
both.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tugi.access import notify
from tugi.access.models import Change

LISTED = 20  # changes named in one notice; the page has the rest


def _line(change: Change) -> str:
    what = [change.get_kind_display(), str(change.person), change.account.system.code]
    if change.grant is not None:
        what.append(change.grant.role.name)
    due = timezone.localtime(change.due_at).strftime("%d.%m.%Y %H:%M")
    line = "- " + ", ".join(what) + "; " + _("due %(due)s") % {"due": due}
    if change.error:
        line += "\n  " + _("Error: %(error)s") % {"error": change.error}
    return line


def _section(title: str, changes: list[Change], link: str) -> list[str]:
    if not changes:
        return []
    lines = [title, *(_line(c) for c in changes[:LISTED])]
    if len(changes) > LISTED:
        lines.append(_("… and %(n)d more.") % {"n": len(changes) - LISTED})
    return [*lines, link, ""]


def compose(changes: list[Change]) -> tuple[str, str]:
    """(subject, body) of the desk's notice about these changes, in the active language."""
    page = notify.base_url() + reverse("access:changes")
    failed = [c for c in changes if c.state == Change.State.FAILED]
    overdue = [c for c in changes if c.state != Change.State.FAILED]
    subject = ngettext(
        "%(count)d access change is late or failed",
        "%(count)d access changes are late or failed",
        len(changes),
    ) % {"count": len(changes)}
    lines = [
        _(
            "The lifecycle engine did not put these access changes into effect on time. "
            "Until it does, the target systems may not match what Tugi records."
        ),
        "",
        *_section(
            _("Failed after repeated attempts: fix the cause, then choose “Try again”:"),
            failed,
            page + "?show=failed",
        ),
        *_section(
            _(
                "Still pending after their due time (the engine keeps trying; if none is "
                "applied, check that the worker runs):"
            ),
            overdue,
            page + "?show=overdue",
        ),
        _("Every late change is on the Changes page:"),
        page + "?late=1",
    ]
    return subject, "\n".join(lines)


def tell_desk_of_trouble(now: datetime.datetime) -> int:
    """One notice for every change newly overdue or failed; returns how many were reported."""
    overdue_since = now - datetime.timedelta(minutes=settings.TUGI_CHANGE_OVERDUE_MINUTES)
    trouble = Change.objects.filter(alerted_at__isnull=True).filter(
        state=Change.State.FAILED
    ) | Change.objects.filter(
        alerted_at__isnull=True, state=Change.State.PENDING, next_try_at__lte=overdue_since
    )
    changes = list(
        trouble.select_related("person", "account__system", "grant__role").order_by("due_at")[:500]
    )
    if not changes:
        return 0
    with translation.override(notify.notice_language()):
        subject, body = compose(changes)
    if not notify.queue_notice(subject, body, notify.desk_recipients()):
        # Nobody to tell, or the queue refused: left unmarked, the next pass tries again.
        return 0
    Change.objects.filter(pk__in=[c.pk for c in changes]).update(alerted_at=now)
    return len(changes)
