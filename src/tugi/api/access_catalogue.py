"""Access catalogue resources: target systems, their roles, and who held a role when.

Read-only here: the catalogue is kept on the web pages (`tugi.access.actions.catalogue`).
"""

from typing import Any

import django_filters
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tugi.access import queries
from tugi.access.models import Grant, Role, TargetSystem
from tugi.api.access_grants import GrantBasisSerializer, read_query
from tugi.api.permissions import ActionPermissions
from tugi.api.schema import ApiAutoSchema

# --- serializers ------------------------------------------------------------------------------


class TargetSystemSerializer(serializers.ModelSerializer[TargetSystem]):
    """An information system or register in which the desk manages accounts."""

    owner_name = serializers.CharField(source="owner.full_name", read_only=True, allow_null=True)

    class Meta:
        model = TargetSystem
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "kind",
            "description",
            "owner",
            "owner_name",
            "connector_kind",
            "contact_channel",
            "application_requirements",
            "active",
        ]
        read_only_fields = fields


class RoleSerializer(serializers.ModelSerializer[Role]):
    """A role in one target system, with the rules for granting and delegating it."""

    system_code = serializers.CharField(source="system.code", read_only=True)
    system_name = serializers.CharField(source="system.name", read_only=True)

    class Meta:
        model = Role
        fields = [
            "id",
            "system",
            "system_code",
            "system_name",
            "code",
            "name",
            "name_en",
            "module",
            "description",
            "sensitivity",
            "delegable",
            "requires_end_date",
            "max_duration_days",
            "suspend_during_absence",
            "active",
        ]
        read_only_fields = fields


class HolderSerializer(GrantBasisSerializer):
    """One holder of a role at the moment asked about: the grant, the person, the basis."""

    grant = serializers.IntegerField(source="id", read_only=True)
    person_name = serializers.CharField(source="person.full_name", read_only=True)
    org_unit = serializers.IntegerField(source="person.org_unit_id", read_only=True)
    org_unit_name = serializers.CharField(source="person.org_unit.name", read_only=True)

    class Meta:
        model = Grant
        fields = [
            "grant",
            "person",
            "person_name",
            "org_unit",
            "org_unit_name",
            "account",
            "valid_from",
            "valid_to",
            *GrantBasisSerializer.Meta.fields,
        ]
        read_only_fields = fields


class HoldersQuerySerializer(serializers.Serializer[Any]):
    """The moment asked about."""

    at = serializers.DateTimeField(
        required=False,
        help_text="The moment (ISO 8601, e.g. 2024-03-01T12:00:00+02:00); default now.",
    )


# --- filters ----------------------------------------------------------------------------------


class TargetSystemFilter(django_filters.FilterSet):
    """Filters for the system list."""

    class Meta:
        model = TargetSystem
        fields = ["kind", "active"]


class RoleFilter(django_filters.FilterSet):
    """Filters for the role list."""

    q = django_filters.CharFilter(
        method="filter_q", help_text="Words in the name, English name or code; all must match."
    )
    system = django_filters.ModelChoiceFilter(queryset=TargetSystem.objects.all())
    sensitivity = django_filters.MultipleChoiceFilter(
        choices=Role.Sensitivity.choices, distinct=False, help_text="Repeat to allow several."
    )

    class Meta:
        model = Role
        fields = ["q", "system", "sensitivity", "delegable", "requires_end_date", "active"]

    def filter_q(self, queryset: QuerySet[Role], name: str, value: str) -> QuerySet[Role]:
        # Roles number hundreds, not millions: a scan with LIKE is fine and needs no search column.
        for word in value.split():
            queryset = queryset.filter(
                Q(name__icontains=word) | Q(name_en__icontains=word) | Q(code__icontains=word)
            )
        return queryset


# --- views ------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List target systems"),
    retrieve=extend_schema(summary="Get a target system"),
)
class TargetSystemViewSet(viewsets.ReadOnlyModelViewSet[TargetSystem]):
    """Target systems (infosüsteemid, registrid), read-only."""

    queryset = TargetSystem.objects.select_related("owner")
    serializer_class = TargetSystemSerializer
    filterset_class = TargetSystemFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    keyset_ordering = ("name", "id")
    action_permissions = {
        name: ("access.view_targetsystem",) for name in ("list", "retrieve", "metadata")
    }


@extend_schema_view(
    list=extend_schema(summary="List roles", description="By system name, then role name."),
    retrieve=extend_schema(summary="Get a role"),
)
class RoleViewSet(viewsets.ReadOnlyModelViewSet[Role]):
    """Roles (rollid) of the target systems, read-only; and who held a role when."""

    serializer_class = RoleSerializer
    filterset_class = RoleFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    action_permissions = {
        **{name: ("access.view_role",) for name in ("list", "retrieve", "metadata")},
        "holders": ("access.view_role", "access.view_grant"),
    }

    @property
    def keyset_ordering(self) -> tuple[str, ...]:
        if self.action == "holders":
            # The order of the (role, valid_from) index: a page of holders is a range of it that
            # stops after the page, whether the role has ten holders or a hundred thousand. By
            # name, every holder would have to be joined and sorted before the first page.
            return ("-valid_from", "-id")
        # system_name is an annotation, so that the paginator can read it off each row.
        return ("system_name", "name", "id")

    def get_queryset(self) -> QuerySet[Role]:
        return Role.objects.select_related("system").annotate(system_name=F("system__name"))

    def filter_queryset(self, queryset: QuerySet[Role, Any]) -> QuerySet[Role, Any]:
        # The role list's filters are not the holders list's: `?q=` there must not hide the role.
        if self.action == "holders":
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(
        summary="Who held the role, and on what basis",
        description="Every grant of the role in force at `at` (default now): started, not "
        "ended and not suspended then, answered from the stored history for any past moment. "
        "The latest grant first (by start, then id). Each names its basis: the duty and job "
        "description, the request item and request, or the person substituted.",
        parameters=[HoldersQuerySerializer],
        responses={200: HolderSerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"])
    def holders(self, request: Request, pk: str | None = None) -> Response:
        role = self.get_object()
        at = read_query(request, HoldersQuerySerializer).get("at") or timezone.now()
        # One query on the (role, valid_from) index; the paginator adds its order and limit.
        # holders_of joins the holder, unit and basis; the planners still start from the index,
        # as it gives the order (measured with 1,000,000 grants on SQLite and PostgreSQL).
        grants = queries.holders_of(role, at)
        paginator = self.paginator
        assert paginator is not None  # the API always pages
        page = paginator.paginate_queryset(grants, request, view=self)
        return paginator.get_paginated_response(HolderSerializer(page, many=True).data)
