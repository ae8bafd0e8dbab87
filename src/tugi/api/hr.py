"""The HR system's push: persons as HR has them, applied at once (joiners, movers, leavers).

POST /api/v1/hr/persons with one person (an object), several (an array), or `{"persons": [...]}`.
Each record is checked as a row of the HR file import is, by the same code
(`tugi.people.imports`): if any record is refused, nothing is applied and the answer is a 400
naming each record and field (`persons[2].email`); otherwise every record is applied in one
transaction, with the access that follows (the lifecycle engine's joiner, mover and leaver
rules), and the answer says what happened to each.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tugi.api.schema import ApiAutoSchema
from tugi.people.imports.actions import MAX_PUSH, may_import, push_persons
from tugi.people.models import DataImport


class HrPersonSerializer(serializers.Serializer[Any]):
    """One person as the HR system states them. Dates as 2026-12-31 (or 31.12.2026)."""

    personal_code = serializers.CharField(
        required=False, allow_null=True, help_text="Estonian personal code (or give a foreign id)."
    )
    foreign_id_country = serializers.CharField(
        required=False, allow_null=True, help_text="Two-letter country code of the foreign id."
    )
    foreign_id_code = serializers.CharField(required=False, allow_null=True)
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField(
        required=False, allow_null=True, help_text="Left out: kept; null: removed."
    )
    unit_code = serializers.CharField(help_text="The org unit's code.")
    position_code = serializers.CharField(
        allow_null=True, help_text="The position's code; null for a person without a position."
    )
    employment_start = serializers.CharField(help_text="First working day.")
    employment_end = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Last working day. Left out: kept; null: removed (the person stays).",
    )
    manager_personal_code = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="The manager's personal code (a person in Tugi or in the same push). "
        "Left out: kept; null: no manager.",
    )


class HrPushSerializer(serializers.Serializer[Any]):
    persons = HrPersonSerializer(many=True)


class HrResultSerializer(serializers.Serializer[Any]):
    """What happened to one record."""

    index = serializers.IntegerField(help_text="The record's place in the request, from 0.")
    person = serializers.IntegerField(help_text="The person's id in Tugi.")
    outcome = serializers.ChoiceField(choices=["joiner", "mover", "leaver", "updated", "unchanged"])


class HrPushResultSerializer(serializers.Serializer[Any]):
    data_import = serializers.IntegerField(help_text="The import record (HR imports page).")
    results = HrResultSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField())
    access = serializers.DictField(
        help_text="The access that followed: accounts_opened, grants_started, requests_filed, "
        "grants_rebased, grants_ending_after_move, grants_ending_on_leaving, leavers_planned, "
        "and problems (what could not be done, for the desk)."
    )


class HrPersonsView(APIView):
    """Persons pushed by the HR system."""

    permission_classes = [IsAuthenticated]
    schema = ApiAutoSchema()

    @extend_schema(
        operation_id="hr_persons_push",
        summary="Push persons from the HR system",
        description=(
            'One person (an object), a batch (an array, or `{"persons": [...]}`, at most '
            f"{MAX_PUSH}). Needs `people.import_hr_data` (and adding and changing persons). "
            "Every record is checked first; if any is refused nothing is applied and the 400 "
            "names each record and field (`persons[2].email`, or just `email` for a single "
            "object). Otherwise all are applied in one transaction: new persons are joiners, a "
            "new unit or position makes a mover, a last day set or changed a leaver, and their "
            "access follows the job description (see the user guide)."
        ),
        tags=["hr"],
        request=HrPushSerializer,
        responses={200: HrPushResultSerializer},
        examples=[
            OpenApiExample(
                "A joiner",
                request_only=True,
                value={
                    "persons": [
                        {
                            "personal_code": "38001085718",
                            "first_name": "Peeter",
                            "last_name": "Pärn",
                            "email": "peeter.parn@sotsiaalkindlustusamet.ee",
                            "unit_code": "PENS",
                            "position_code": "PENS-SPEC",
                            "employment_start": "2026-12-01",
                            "manager_personal_code": "48501010014",
                        }
                    ]
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        if not may_import(request.user, DataImport.Kind.PERSONS):
            raise PermissionDenied
        data = request.data
        single = isinstance(data, dict) and "persons" not in data
        if single:
            records: Any = [data]
        elif isinstance(data, dict):
            records = data["persons"]
        else:
            records = data
        if not isinstance(records, list):
            raise serializers.ValidationError({"persons": [_("Give a list of persons.")]})
        result = push_persons(request.user, records, single=single)
        return Response(
            {
                "data_import": result.data_import.pk,
                "results": [
                    {"index": r["row"], "person": r["person"], "outcome": r["outcome"]}
                    for r in result.results
                ],
                "counts": result.data_import.summary.get("applied", {}).get("counts", {}),
                "access": result.access,
            }
        )


@extend_schema(exclude=True)
class HrPersonsSlashView(HrPersonsView):
    """The same, at /api/v1/hr/persons/ (left out of the OpenAPI document: one path is enough)."""
