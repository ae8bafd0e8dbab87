"""One shape for every API error: `{"errors": {"<field>": ["message", …]}}`.

The key is the field the message is about; `non_field_errors` for input errors about no single
field; `detail` for errors about the request rather than its input (authentication, permission,
not found, wrong method, throttling). Actions raise Django's ValidationError and PermissionDenied;
they are translated here, so views never need to catch them.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


def _from_django(exc: DjangoValidationError) -> dict[str, list[str]] | list[str]:
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()
        }
    return list(exc.messages)


def _as_lists(data: Any) -> Any:
    """Every leaf a list of strings, so clients can always iterate a field's messages."""
    if isinstance(data, dict):
        return {
            k: _as_lists(v) if isinstance(v, dict | list) else [str(v)] for k, v in data.items()
        }
    if isinstance(data, list):
        return [_as_lists(v) if isinstance(v, dict | list) else str(v) for v in data]
    return [str(data)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, taught Django's exceptions and the `{"errors": …}` shape."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=_from_django(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        # DRF's own translation drops the action's message; keep it.
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's 500 handling and logging take over
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(data, list):
            data = {api_settings.NON_FIELD_ERRORS_KEY: data}
    elif isinstance(data, dict) and "detail" in data:
        data = {"detail": data["detail"]}
    response.data = {"errors": _as_lists(data)}
    return response


@contextmanager
def fields_renamed(**names: str) -> Iterator[None]:
    """Report an action's field errors under the names the API request uses.

    An action speaks of its own parameters (`end_grant` of `valid_to`); the client sent `at`, and
    the 400 should name what the client sent.
    """
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise DjangoValidationError(
            {names.get(field, field): errors for field, errors in exc.error_dict.items()}
        ) from exc
