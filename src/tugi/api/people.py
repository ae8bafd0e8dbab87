"""People resources: persons, org units and positions.

Reads are plain querysets; every write goes through `tugi.people.actions`, which checks the
permission again, validates, and writes the audit event. The identifiers (the personal code and
the foreign id's number) are never part of a person's representation: reading them is a
separate, audited request with a purpose. The list holds no phone for callers who do not
keep person data (`people.change_person`). Reading one person (the detail, not the list) is
itself an audit event with a purpose: `tugi.people.view_log`.
"""

from typing import Any, cast

import django_filters
from django.contrib.auth.models import User
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tugi.api.permissions import ActionPermissions
from tugi.api.schema import ApiAutoSchema
from tugi.core.text import fold
from tugi.people import actions, queries, view_log
from tugi.people.models import OrgUnit, Person, Position

# --- serializers ------------------------------------------------------------------------------


class OrgUnitSerializer(serializers.ModelSerializer[OrgUnit]):
    """An org unit; `path` lists the ids from the root down to the unit ("/1/4/9/")."""

    class Meta:
        model = OrgUnit
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "kind",
            "parent",
            "path",
            "depth",
            "head",
            "active",
        ]
        read_only_fields = fields


class PositionSerializer(serializers.ModelSerializer[Position]):
    """A position (ametikoht) in an org unit."""

    class Meta:
        model = Position
        fields = ["id", "code", "title", "title_en", "org_unit", "active"]
        read_only_fields = fields


class PersonSerializer(serializers.ModelSerializer[Person]):
    """A person (teenistuja). The identifiers (the personal code and the foreign id's number) are
    write-only: read them through the personal-code endpoint, with a purpose. The list leaves out
    `phone` for callers without `people.change_person` (the view sets `omit_phone`)."""

    # Validation here is only of types: the rules (personal-code checksum, uniqueness, position
    # in the person's unit, manager cycles) live in the actions, so the API and the web pages give
    # the same answer, and the actions' ValidationError becomes a 400 naming the field.

    full_name = serializers.CharField(read_only=True)
    personal_code = serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Estonian personal code (11 digits). Write-only: read it through "
        "POST /api/v1/people/{id}/personal-code/ with a purpose. Empty or null removes it.",
    )
    has_personal_code = serializers.BooleanField(read_only=True)
    foreign_id_code = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="The number of a foreign personal id (with `foreign_id_country`). Write-only, "
        "like the personal code: read it through POST /api/v1/people/{id}/personal-code/ with "
        "a purpose. Empty removes it.",
    )
    has_foreign_id = serializers.SerializerMethodField(
        help_text="Whether the person has a foreign id; its country is `foreign_id_country`."
    )
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    position_title = serializers.CharField(source="position.title", read_only=True, allow_null=True)
    manager_name = serializers.CharField(
        source="manager.full_name", read_only=True, allow_null=True
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "first_name",
            "last_name",
            "full_name",
            "email",
            "phone",
            "personal_code",
            "has_personal_code",
            "foreign_id_country",
            "foreign_id_code",
            "has_foreign_id",
            "org_unit",
            "org_unit_name",
            "position",
            "position_title",
            "manager",
            "manager_name",
            "employment_start",
            "employment_end",
            "status",
            "user",
        ]
        # Linking a person to a Tugi user is user administration, not a person's data.
        read_only_fields = ["user"]
        # The actions check uniqueness and constraints; doing it here too would answer the same
        # question twice, in slightly different words.
        validators: list[Any] = []
        extra_kwargs: dict[str, dict[str, Any]] = {
            "email": {"validators": []},
            "phone": {
                "help_text": "Left out of the list for callers without `people.change_person`: "
                "read the person (logged) instead."
            },
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.context.get("omit_phone"):
            # The list is not logged: it carries a phone only to those who keep the data.
            self.fields.pop("phone", None)

    def get_has_foreign_id(self, person: Person) -> bool:
        return bool(person.foreign_id_code)

    def create(self, validated_data: dict[str, Any]) -> Person:
        return actions.create_person(self.context["request"].user, **validated_data)

    def update(self, instance: Person, validated_data: dict[str, Any]) -> Person:
        return actions.update_person(self.context["request"].user, instance, **validated_data)


class PersonalCodePurposeSerializer(serializers.Serializer[Any]):
    """Why the caller needs to see the personal code; the reason goes into the audit log."""

    purpose = serializers.CharField(
        max_length=300,
        allow_blank=True,
        help_text="Why the code is needed, e.g. a case number. Recorded in the audit log.",
    )


class ViewPurposeSerializer(serializers.Serializer[Any]):
    """Why the caller reads the person; the reason goes into the audit log."""

    purpose = serializers.CharField(
        max_length=view_log.PURPOSE_MAX,
        required=False,
        allow_blank=True,
        help_text="Why the person is read, e.g. a case number, or a context such as `case-123` "
        "or `request-45`. Without it the purpose logged is the caller's role duty.",
    )


class PersonalCodeSerializer(serializers.Serializer[Any]):
    """A person's identifiers: the personal code and the foreign id, each null when none."""

    personal_code = serializers.CharField(allow_null=True)
    foreign_id_country = serializers.CharField(allow_null=True)
    foreign_id_code = serializers.CharField(allow_null=True)


# --- filters ----------------------------------------------------------------------------------


class SubtreeFilter(django_filters.ModelChoiceFilter):
    """Takes an org unit id and matches what lies in that unit or any unit below it."""

    def __init__(
        self, *args: Any, unit_field: str = "org_unit", path_field: str | None = None, **kwargs: Any
    ) -> None:
        # unit_field names the row's unit ("org_unit", "person__org_unit", "id" for units). The
        # older path_field, the unit's path ("person__org_unit__path"), names the same unit.
        if path_field is not None:
            unit_field = path_field.removesuffix("path").removesuffix("__") or "id"
        self.unit_field = unit_field
        super().__init__(*args, queryset=OrgUnit.objects.all(), **kwargs)

    def filter(self, qs: QuerySet[Any], value: OrgUnit | None) -> QuerySet[Any]:
        if value is None:
            return qs
        # The row's own unit id against the subtree's ids (one indexed prefix scan of the units),
        # as the pages do: a prefix match on the unit's path through a join makes SQLite walk
        # the whole name index.
        return qs.filter(queries.in_subtree(value, self.unit_field))


class PersonFilter(django_filters.FilterSet):
    """Filters for the person list."""

    q = django_filters.CharFilter(
        method="filter_q",
        help_text="Words in the name or e-mail; õ ä ö ü š ž match o a o u s z.",
    )
    org_unit = SubtreeFilter(help_text="Persons in this org unit or any unit below it.")
    status = django_filters.MultipleChoiceFilter(
        choices=Person.Status.choices, help_text="Repeat to allow several statuses."
    )
    position = django_filters.ModelChoiceFilter(queryset=Position.objects.all())

    class Meta:
        model = Person
        fields = ["q", "org_unit", "status", "position"]

    def filter_q(self, queryset: QuerySet[Person], name: str, value: str) -> QuerySet[Person]:
        # search_text is stored folded, so folding the query matches "Jõgi" from "jogi" and "JÕGI".
        for word in fold(value).split():
            queryset = queryset.filter(search_text__contains=word)
        return queryset


class OrgUnitFilter(django_filters.FilterSet):
    """Filters for the org unit list."""

    parent = django_filters.ModelChoiceFilter(
        queryset=OrgUnit.objects.all(),
        null_label="root",
        help_text="Direct children of this unit; `null` for the root units.",
    )
    within = SubtreeFilter(
        field_name="id", unit_field="id", help_text="This unit and every unit below it."
    )

    class Meta:
        model = OrgUnit
        fields = ["parent", "within", "kind", "active"]


class PositionFilter(django_filters.FilterSet):
    """Filters for the position list."""

    org_unit = SubtreeFilter(help_text="Positions in this org unit or any unit below it.")

    class Meta:
        model = Position
        fields = ["org_unit", "active"]


# --- views ------------------------------------------------------------------------------------

_READ_PERSON = "people.view_person"


@extend_schema_view(
    list=extend_schema(
        summary="List persons",
        description="Without `people.view_person` the list holds only the caller's own person. "
        "The list is not logged, so it holds no identifiers, and `phone` only for callers with "
        "`people.change_person`: others read one person for the phone (logged), and anyone "
        "allowed reveals the identifiers with a purpose.",
    ),
    retrieve=extend_schema(
        summary="Get a person",
        description="Reading anyone but oneself is written to the audit log with the caller, "
        "the person and the purpose (`purpose`, else the caller's role duty); the same caller, "
        "person and purpose are logged at most once in ten minutes.",
        parameters=[ViewPurposeSerializer],
    ),
    create=extend_schema(summary="Add a person"),
    update=extend_schema(summary="Replace a person's data (omitted optional fields are kept)"),
    partial_update=extend_schema(summary="Change some of a person's data"),
)
class PersonViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Person],
):
    """Persons (teenistujad)."""

    serializer_class = PersonSerializer
    filterset_class = PersonFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    keyset_ordering = ("last_name", "first_name", "id")
    # list and retrieve need no permission: the queryset narrows to the caller's own person.
    action_permissions = {
        "list": (),
        "retrieve": (),
        "metadata": (),
        "create": ("people.add_person",),
        "update": ("people.change_person",),
        "partial_update": ("people.change_person",),
        "personal_code": ("people.view_personal_code",),
    }

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        # The list is not logged, so it is minimised: phones in bulk only for those who keep the
        # data (the desk, HR, the administrator); everyone reads one person's phone on the
        # person (logged with a purpose).
        # The OpenAPI generator (no real caller) describes the field: it may be there.
        context["omit_phone"] = (
            self.action == "list"
            and not getattr(self, "swagger_fake_view", False)
            and not self.request.user.has_perm("people.change_person")
        )
        return context

    def get_queryset(self) -> QuerySet[Person]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no user
            return Person.objects.none()
        queryset = Person.objects.select_related("org_unit", "position", "manager")
        user = cast(User, self.request.user)
        if not user.has_perm(_READ_PERSON):
            # Others are not just hidden from the list: retrieving them is a 404, not a 403, so
            # the answer does not even confirm that the id exists.
            queryset = queryset.filter(user_id=user.pk)
        return queryset

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person = self.get_object()
        given = ViewPurposeSerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        view_log.log_view(
            request.user,
            person,
            view_log.VIEW_PERSON,
            given=given.validated_data.get("purpose", ""),
        )
        return Response(self.get_serializer(person).data)

    @extend_schema(
        summary="Reveal a person's personal code and foreign id",
        description="Needs `people.view_personal_code`. Answers both identifiers (each null when "
        "the person has none). Every call is written to the audit log with the caller, the "
        "person and the purpose (`people.person.view_personal_code`).",
        request=PersonalCodePurposeSerializer,
        responses={200: PersonalCodeSerializer},
    )
    @action(detail=True, methods=["post"], url_path="personal-code", url_name="personal-code")
    def personal_code(self, request: Request, pk: str | None = None) -> Response:
        person = self.get_object()
        given = PersonalCodePurposeSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        code = actions.view_personal_code(request.user, person, given.validated_data["purpose"])
        data = {
            "personal_code": code or None,
            "foreign_id_country": person.foreign_id_country or None,
            "foreign_id_code": person.foreign_id_code or None,
        }
        # Never cached by a browser or proxy: the next reader must ask (and be logged) again.
        return Response(data, headers={"Cache-Control": "no-store"})


@extend_schema_view(
    list=extend_schema(summary="List org units"), retrieve=extend_schema(summary="Get an org unit")
)
class OrgUnitViewSet(viewsets.ReadOnlyModelViewSet[OrgUnit]):
    """Org units (struktuuriüksused), read-only."""

    queryset = OrgUnit.objects.all()
    serializer_class = OrgUnitSerializer
    filterset_class = OrgUnitFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    keyset_ordering = ("path", "id")
    action_permissions = {
        name: ("people.view_orgunit",) for name in ("list", "retrieve", "metadata")
    }


@extend_schema_view(
    list=extend_schema(summary="List positions"), retrieve=extend_schema(summary="Get a position")
)
class PositionViewSet(viewsets.ReadOnlyModelViewSet[Position]):
    """Positions (ametikohad), read-only."""

    queryset = Position.objects.all()
    serializer_class = PositionSerializer
    filterset_class = PositionFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    keyset_ordering = ("title", "id")
    action_permissions = {
        name: ("people.view_position",) for name in ("list", "retrieve", "metadata")
    }
