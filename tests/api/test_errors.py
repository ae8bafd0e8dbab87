"""The error handler: one `{"errors": {...}}` shape for Django's and DRF's exceptions."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions

from tugi.api.errors import exception_handler


def handle(exc: Exception):
    response = exception_handler(exc, {})
    assert response is not None
    return response.status_code, response.data


def test_a_django_field_error_becomes_a_400():
    exc = ValidationError({"personal_code": "Wrong check digit.", NON_FIELD_ERRORS: ["Clash."]})
    assert handle(exc) == (
        400,
        {"errors": {"personal_code": ["Wrong check digit."], "non_field_errors": ["Clash."]}},
    )


def test_a_django_error_without_a_field_is_a_non_field_error():
    exc = ValidationError("This conflicts with an existing record: %(e)s", params={"e": "x"})
    assert handle(exc) == (
        400,
        {"errors": {"non_field_errors": ["This conflicts with an existing record: x"]}},
    )


def test_permission_denied_keeps_the_actions_message():
    assert handle(PermissionDenied("Only the auditor may.")) == (
        403,
        {"errors": {"detail": ["Only the auditor may."]}},
    )


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (Http404(), 404),
        (exceptions.NotAuthenticated(), 401),
        (exceptions.MethodNotAllowed("DELETE"), 405),
        (exceptions.Throttled(wait=3), 429),
    ],
)
def test_other_errors_have_the_same_shape(exc, status):
    code, data = handle(exc)
    assert code == status
    assert list(data) == ["errors"] and list(data["errors"]) == ["detail"]
    assert isinstance(data["errors"]["detail"], list) and data["errors"]["detail"][0]


def test_drf_validation_errors_are_lists_per_field():
    exc = exceptions.ValidationError({"email": "Enter a valid e-mail.", "org_unit": ["Invalid."]})
    assert handle(exc) == (
        400,
        {"errors": {"email": ["Enter a valid e-mail."], "org_unit": ["Invalid."]}},
    )
    assert handle(exceptions.ValidationError("Bad.")) == (
        400,
        {"errors": {"non_field_errors": ["Bad."]}},
    )


def test_unexpected_exceptions_are_left_to_django():
    assert exception_handler(RuntimeError("boom"), {}) is None
