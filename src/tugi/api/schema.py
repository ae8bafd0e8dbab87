"""OpenAPI description helpers: the error body every endpoint can answer with."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

# The body of every error response (see `tugi.api.errors`). Inline, because a serializer class
# cannot have a field named `errors`: it would shadow Serializer.errors.
ERROR_BODY = inline_serializer(
    name="Error",
    fields={
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Messages by field; `non_field_errors` for input errors about no single "
            "field, `detail` for errors about the request itself.",
        )
    },
)


class ApiAutoSchema(AutoSchema):
    """AutoSchema that lists the error responses an operation can give, with their body."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        codes = ["401", "403"]
        if self.method in {"POST", "PUT", "PATCH"} or self._is_list_view():
            codes.append("400")
        if "{" in self.path:
            codes.append("404")
        for code in sorted(codes):
            responses.setdefault(code, self._get_response_for_code(ERROR_BODY, code))
        return responses
