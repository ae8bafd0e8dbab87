"""Middleware that gives each web request an id the audit log records."""

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from tugi.core.context import request_scope

# Accept a caller's request id (from a proxy) only if it looks like one: it goes in the audit log.
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


class LanguageMiddleware(LocaleMiddleware):
    """Estonian first: the language is the one the user chose with the switch, else Estonian.

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a browser set to
    English would show English before anyone chose it; an agency's tool speaks Estonian first.
    """

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
