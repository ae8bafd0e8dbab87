"""Helpers the actions share for writing one model instance with clear validation errors."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _


def assign_fields(
    obj: models.Model, data: dict[str, Any], allowed: list[str], *, strip: bool = False
) -> None:
    """Set the given fields, refusing any the action does not allow to be set."""
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: _("This field cannot be set here.") for name in unknown})
    for name, value in data.items():
        setattr(obj, name, value.strip() if strip and isinstance(value, str) else value)


def save_validated(obj: models.Model, errors: dict[str, str] | None = None) -> None:
    """full_clean together with the action's own findings, then save.

    `errors` are the action's own checks, raised together with full_clean's so that one attempt
    names every bad field (the action's message wins where both speak of a field). A uniqueness
    race that the check missed still becomes a clear error instead of a server error.
    """
    found: dict[str, list[str]] = {}
    try:
        obj.full_clean()
    except ValidationError as exc:
        found = exc.message_dict
    found.update({name: [message] for name, message in (errors or {}).items()})
    if found:
        raise ValidationError(found)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("This conflicts with an existing record: %(error)s") % {"error": exc}
        ) from exc
