"""Template tags other apps' pages use to show access data without their views knowing of it."""

from typing import Any

from django import template

from tugi.access.models import Entitlement, Role

register = template.Library()


@register.simple_tag
def roles_by_duty(job_description: Any) -> list[tuple[Any, list[Role]]]:
    """Each duty of a job description with the roles it justifies (one query; the duties come
    from `job_description.duties.all()`, prefetched by the page)."""
    found: dict[int, list[Role]] = {}
    entitlements = (
        Entitlement.objects.filter(duty__job_description=job_description)
        .select_related("role__system")
        .order_by("role__system__name", "role__name", "role_id")
    )
    for e in entitlements:
        found.setdefault(e.duty_id, []).append(e.role)
    return [(duty, found.get(duty.pk, [])) for duty in job_description.duties.all()]
