"""Template helpers for the lifecycle engine's changes: lateness for people, and a person's
scheduled changes (for the person's access page, without its view knowing of them)."""

from typing import Any

from django import template

from tugi.access.lifecycle import lateness
from tugi.access.models import Change

register = template.Library()

# A person's page lists at most this many scheduled changes; the Changes page has the rest.
UPCOMING_LIMIT = 20


@register.filter
def duration_ms(value: Any) -> str:
    """A lateness in milliseconds as "2 s", "3 min", "1 h 5 min"; empty for none."""
    if value is None or value == "":
        return ""
    return lateness.human_duration(int(value))


@register.simple_tag
def upcoming_changes(person: Any) -> list[Change]:
    """The person's changes not applied yet (pending or failed), soonest first: one query on
    the (person, due_at) index."""
    return list(
        Change.objects.filter(person=person, state__in=[Change.State.PENDING, Change.State.FAILED])
        .select_related("account__system", "grant__role")
        .order_by("due_at", "id")[:UPCOMING_LIMIT]
    )
