"""Estonian personal code validation: checksum, birth date, clear reasons."""

import pytest
import time_machine
from django.core.exceptions import ValidationError

from tugi.core.personal_code import birth_date, mask, validate_personal_code, with_check_digit

VALID = ["37605030299", "38001085718", "47101010033", "60001019906", "39912310174"]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_from_the_domain_notes(code):
    validate_personal_code(code)


def test_second_weight_round_and_zero_rule():
    # 60001019906's first weighted sum is 10 mod 11: exercises the second set of weights.
    assert with_check_digit("6000101990") == "60001019906"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("3760503029", "length"),
        ("376050302999", "length"),
        ("3760503029X", "format"),
        ("37605030298", "checksum"),
        ("37613030299", "birth_date"),  # month 13
        ("97605030299", "birth_date"),  # no such sex/century digit
    ],
)
def test_invalid_codes_name_the_reason(code, reason):
    with pytest.raises(ValidationError) as exc:
        validate_personal_code(code)
    assert exc.value.code == reason


def test_checksum_message_names_the_expected_digit():
    with pytest.raises(ValidationError) as exc:
        validate_personal_code("37605030298")
    assert "9" in exc.value.messages[0]


@time_machine.travel("2026-11-28")
def test_birth_date_in_the_future_is_refused():
    future = with_check_digit("6300101000")  # born 2030
    with pytest.raises(ValidationError) as exc:
        validate_personal_code(future)
    assert exc.value.code == "future"


def test_century_digit_that_disagrees_with_the_year_is_accepted():
    # Some people born in 2000 were given G = 3/4; such a code must not be rejected.
    code = with_check_digit("3000101012")
    validate_personal_code(code)
    assert birth_date(code).year == 1900


def test_mask_hides_the_serial_and_check_digit():
    assert mask("37605030299") == "3760503••••"
    assert mask("") == ""
