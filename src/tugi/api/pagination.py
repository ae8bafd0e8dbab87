"""Keyset (seek) pagination for API lists.

A page is "the next N rows after this one in a fixed order", found by a WHERE on the ordering
columns rather than an OFFSET: each page costs the same however deep the client reads, and rows
added or removed meanwhile never shift an item onto two pages or off all of them. The cursor
carries the ordering values of the last row seen (or the first, going back); it is opaque to
clients but not secret: it only ever narrows a query the client may run anyway.

A view names its order in `keyset_ordering`; the last field must be unique (the id) so that the
order is total, and the fields must not be null.
"""

import base64
import binascii
import datetime
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


class KeysetPagination(BasePagination):
    """Cursor pagination over a total order of (non-null) fields ending in the id."""

    page_size: int = api_settings.PAGE_SIZE or 50
    max_page_size = 200
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"
    ordering: tuple[str, ...] = ("id",)

    def __init__(self) -> None:
        self.has_next = False
        self.has_previous = False
        self.page: list[Any] = []
        self.base_url = ""

    # --- the page -------------------------------------------------------------------------

    def paginate_queryset(
        self,
        queryset: QuerySet[Any] | Sequence[Any],
        request: Request,
        view: APIView | None = None,
    ) -> list[Any]:
        if not isinstance(queryset, QuerySet):
            raise ImproperlyConfigured("KeysetPagination pages querysets only.")
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.ordering = self.get_ordering(view)
        cursor = self.decode_cursor(request)
        backwards = cursor is not None and cursor[1]
        # Going back is going forward in the reversed order, then turning the rows round.
        order = tuple(_reverse(f) for f in self.ordering) if backwards else self.ordering
        queryset = queryset.order_by(*order)
        if cursor is not None:
            queryset = queryset.filter(_after(order, cursor[0]))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, cursor is not None
        self.page = rows
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.page:
            return None
        return self._link(self.page[-1], backwards=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous or not self.page:
            return None
        return self._link(self.page[0], backwards=True)

    # --- parameters -----------------------------------------------------------------------

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("Give a whole number from 1 to %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return min(size, self.max_page_size)

    def get_ordering(self, view: APIView | None) -> tuple[str, ...]:
        ordering = tuple(getattr(view, "keyset_ordering", None) or self.ordering)
        if ordering[-1].lstrip("-") not in {"id", "pk"}:
            raise ImproperlyConfigured(
                f"{type(view).__name__}.keyset_ordering must end with the id to be a total order."
            )
        return ordering

    def encode_cursor(self, values: list[Any], backwards: bool) -> str:
        raw = json.dumps({"v": values, "b": backwards}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode_cursor(self, request: Request) -> tuple[list[Any], bool] | None:
        encoded = request.query_params.get(self.cursor_query_param, "")
        if not encoded:
            return None
        try:
            padded = encoded + "=" * (-len(encoded) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            values, backwards = data["v"], data["b"]
            valid = (
                isinstance(values, list)
                and len(values) == len(self.ordering)
                and all(isinstance(v, str | int | float) for v in values)
                and isinstance(backwards, bool)
            )
        except (ValueError, TypeError, KeyError, binascii.Error):
            valid = False
        if not valid:
            raise ValidationError(
                {
                    self.cursor_query_param: [
                        _("This cursor is not valid: start again from the first page.")
                    ]
                }
            )
        return values, backwards

    def _link(self, row: Model, *, backwards: bool) -> str:
        values = [_encode_value(getattr(row, f.lstrip("-"))) for f in self.ordering]
        url = remove_query_param(self.base_url, self.cursor_query_param)
        return replace_query_param(
            url, self.cursor_query_param, self.encode_cursor(values, backwards)
        )

    # --- the OpenAPI description ----------------------------------------------------------

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position from a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }


def _reverse(field: str) -> str:
    return field[1:] if field.startswith("-") else f"-{field}"


def _after(order: tuple[str, ...], values: list[Any]) -> Q:
    """Rows strictly after `values` in `order`: (a > x) or (a = x and b > y) or …"""
    equal: dict[str, Any] = {}
    after = Q()
    for field, value in zip(order, values, strict=True):
        name = field.lstrip("-")
        after |= Q(**equal, **{f"{name}__{'lt' if field.startswith('-') else 'gt'}": value})
        equal[name] = value
    # Redundant, but a plain range on the first column lets the database use the index for it.
    first = order[0]
    bound = Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": values[0]})
    return bound & after
