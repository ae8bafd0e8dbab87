"""Middleware that gives each web request an id the audit log records."""

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tugi.core.context import request_scope

# Accept a caller's request id (from a proxy) only if it looks like one: it ends up in the audit log.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Opens a request scope for every request and echoes its id in `X-Request-ID`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        with request_scope(given if _SAFE_ID.match(given) else None) as rid:
            request.request_id = rid  # type: ignore[attr-defined]
            response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response
