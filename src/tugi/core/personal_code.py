"""The Estonian personal code (isikukood): validation with clear reasons, and masking for display.

The checksum and date rules come from python-stdnum; this module turns its exceptions into
messages a desk agent can act on, and adds the rule that a birth date cannot be in the future.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.ee import ik


def validate_personal_code(value: str) -> None:
    """Raise ValidationError naming what is wrong with an Estonian personal code."""
    code = value.strip()
    if not code.isdigit():
        raise ValidationError(
            _("A personal code has only digits; “%(value)s” has other characters."),
            code="format",
            params={"value": value},
        )
    if len(code) != 11:
        raise ValidationError(
            _("A personal code has 11 digits; this one has %(count)d."),
            code="length",
            params={"count": len(code)},
        )
    try:
        ik.validate(code)
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(
            _("The check digit (the last one) is wrong: expected %(digit)s."),
            code="checksum",
            params={"digit": ik.calc_check_digit(code)},
        ) from None
    except stdnum_errors.InvalidComponent:
        raise ValidationError(
            _("Digits 1–7 do not give a valid birth date (GYYMMDD)."), code="birth_date"
        ) from None
    if ik.get_birth_date(code) > timezone.localdate():
        raise ValidationError(
            _("The birth date in the personal code is in the future."), code="future"
        )


def birth_date(code: str) -> datetime.date:
    """The birth date a valid personal code encodes."""
    return ik.get_birth_date(code)


def with_check_digit(first_ten: str) -> str:
    """Complete ten digits into a valid personal code (for demo and benchmark data)."""
    return first_ten + ik.calc_check_digit(first_ten + "0")


def mask(code: str) -> str:
    """Show only the sex-and-century digit and the birth date: 3760503****."""
    return code[:7] + "•" * (len(code) - 7) if code else ""
