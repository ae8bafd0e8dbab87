"""Template filters of the substitution pages."""

from django import template

from tugi.access.lifecycle.substitution_notices import period_text

register = template.Library()


@register.filter
def period(order: object) -> str:
    """An order's (or an absence's) period as people say it: whole days as "20.10.–25.10.2026"
    with the last day included, otherwise with the times."""
    starts_at, ends_at = getattr(order, "starts_at", None), getattr(order, "ends_at", None)
    if starts_at is None or ends_at is None:
        return ""
    return period_text(starts_at, ends_at)
