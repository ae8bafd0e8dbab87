"""Substitution resources (asendamise korraldus): listing, ordering, confirming and cancelling.

Every change goes through `tugi.access.actions.substitution`, which checks the permission and
the authority again (the absentee's manager or unit head above them, or HR), validates and
audits; this module only turns JSON into the actions' arguments. Without
`access.view_substitution` a caller sees only the substitutions in which they are the absent
person or the substitute.

An order shows the access of both its persons: reading one by anyone else is a logged read of the
absent person and of the substitute (`access.person.view`, one event each, none for the caller's
own person), as the list filtered by a person is (see `tugi.api.person_reads`).
"""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.contrib.auth.models import User
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tugi.access.actions import substitution as actions
from tugi.access.models import Grant, Role, Substitution
from tugi.api.people import ViewPurposeSerializer
from tugi.api.permissions import ActionPermissions, own_unless
from tugi.api.person_reads import LOGGED_ONE, OnePersonFilter, PersonViewLogMixin, logged_list
from tugi.api.schema import ApiAutoSchema
from tugi.people.models import Absence, Person

VIEW = "access.view_substitution"
_OWN = ("absentee__user_id", "substitute__user_id")


# --- serializers: what the API answers ---------------------------------------------------------


class SubstitutionGrantSerializer(serializers.ModelSerializer[Grant]):
    """A grant the order made: the substitute acting for the absent person in one role."""

    role_name = serializers.CharField(source="role.name", read_only=True)
    system_code = serializers.CharField(source="role.system.code", read_only=True)

    class Meta:
        model = Grant
        fields = ["id", "role", "role_name", "system_code", "valid_from", "valid_to"]
        read_only_fields = fields


class SubstitutionSerializer(serializers.ModelSerializer[Substitution]):
    """A substitution order or proposal, with the grants it made."""

    absentee_name = serializers.CharField(source="absentee.full_name", read_only=True)
    substitute_name = serializers.CharField(source="substitute.full_name", read_only=True)
    ordered_by_name = serializers.CharField(
        source="ordered_by.full_name", read_only=True, allow_null=True, default=None
    )
    roles = serializers.ManyRelatedField(
        child_relation=serializers.PrimaryKeyRelatedField(read_only=True),
        read_only=True,
        help_text="The roles passed on.",
    )
    grants = SubstitutionGrantSerializer(many=True, read_only=True)

    class Meta:
        model = Substitution
        fields = [
            "id",
            "state",
            "absentee",
            "absentee_name",
            "substitute",
            "substitute_name",
            "absence",
            "roles",
            "starts_at",
            "ends_at",
            "exclusive",
            "ordered_by",
            "ordered_by_name",
            "ordered_at",
            "directive",
            "note",
            "created_at",
            "cancelled_at",
            "cancel_reason",
            "grants",
        ]
        read_only_fields = fields


# --- serializers: what clients send ------------------------------------------------------------


@extend_schema_serializer(component_name="Substitution")
class OrderSerializer(serializers.Serializer[Any]):
    """An order to record."""

    absentee = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.select_related("org_unit"), help_text="Who is away."
    )
    substitute = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(), help_text="Who acts for them."
    )
    roles = serializers.PrimaryKeyRelatedField(
        queryset=Role.objects.select_related("system"),
        many=True,
        required=False,
        help_text="The roles to pass on; default the absent person's own delegable "
        "pension-insurance roles in the period.",
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(help_text="Exclusive: the first moment not covered.")
    ordered_by = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(),
        required=False,
        help_text="Who gave the order; default the caller's own person. Someone else only "
        "for HR and the desk.",
    )
    exclusive = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Suspend the absent person's own grants of the roles for the period.",
    )
    absence = serializers.PrimaryKeyRelatedField(
        queryset=Absence.objects.all(), required=False, allow_null=True
    )
    directive = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class SubstitutionCancelSerializer(serializers.Serializer[Any]):
    """Why the substitution is cancelled."""

    reason = serializers.CharField(allow_blank=True)


class ProposalConfirmSerializer(serializers.Serializer[Any]):
    """Confirming a proposal."""

    directive = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    exclusive = serializers.BooleanField(required=False, allow_null=True, default=None)


# --- filters ----------------------------------------------------------------------------------


def _persons_of_own_orders(user: Any) -> Q:
    """Whom a caller without `access.view_substitution` may name: the absent persons and the
    substitutes of the orders in which they are one or the other (their own rows)."""
    own = Substitution.objects.filter(Q(absentee__user_id=user.pk) | Q(substitute__user_id=user.pk))
    return (
        Q(user_id=user.pk)
        | Q(pk__in=own.values("absentee_id"))
        | Q(pk__in=own.values("substitute_id"))
    )


class SubstitutionFilter(django_filters.FilterSet):
    """Filters for the substitution list."""

    state = django_filters.MultipleChoiceFilter(
        choices=Substitution.State.choices, distinct=False, help_text="Repeat for several."
    )
    when = django_filters.ChoiceFilter(
        method="filter_when",
        choices=[
            ("current", "current"),
            ("upcoming", "upcoming"),
            ("past", "past"),
        ],
        help_text="`current`: in force now; `upcoming`: starts later; `past`: ended.",
    )
    # field_name only tells the OpenAPI generator the parameter is a person's id.
    person = OnePersonFilter(
        VIEW,
        field_name="absentee",
        own=_persons_of_own_orders,
        lookups=("absentee", "substitute"),
        help_text="The absent person or the substitute; reading the list is logged.",
    )
    absentee = OnePersonFilter(
        VIEW, own=_persons_of_own_orders, help_text="Reading the list is logged."
    )
    substitute = OnePersonFilter(
        VIEW, own=_persons_of_own_orders, help_text="Reading the list is logged."
    )

    class Meta:
        model = Substitution
        fields = ["state", "when", "person", "absentee", "substitute"]

    def filter_when(
        self, queryset: QuerySet[Substitution], name: str, value: str
    ) -> QuerySet[Substitution]:
        now = timezone.now()
        if value == "current":
            return queryset.filter(starts_at__lte=now, ends_at__gt=now)
        if value == "upcoming":
            return queryset.filter(starts_at__gt=now)
        return queryset.filter(ends_at__lte=now)


# --- the viewset --------------------------------------------------------------------------------


def substitution_queryset() -> QuerySet[Substitution]:
    """Substitutions with what their representation shows, in a fixed number of queries."""
    return Substitution.objects.select_related(
        "absentee", "substitute", "ordered_by"
    ).prefetch_related(
        "roles",
        Prefetch(
            "grants",
            queryset=Grant.objects.select_related("role__system").order_by("valid_from", "id"),
        ),
    )


@extend_schema_view(
    list=extend_schema(
        summary="List substitutions",
        description="Latest start first. Without `access.view_substitution` only those in "
        "which the caller is the absent person or the substitute."
        + logged_list("`person`, `absentee` or `substitute`; each person named is one read"),
        parameters=[ViewPurposeSerializer],
    ),
    retrieve=extend_schema(
        summary="Get a substitution",
        description="A read of the absent person and of the substitute, one event each. "
        + LOGGED_ONE,
        parameters=[ViewPurposeSerializer],
    ),
)
class SubstitutionViewSet(
    PersonViewLogMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Substitution],
):
    """Substitution orders and proposals (asendamise korraldused)."""

    read_permission = VIEW

    serializer_class = SubstitutionSerializer
    filterset_class = SubstitutionFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    keyset_ordering = ("-starts_at", "-id")
    # Authority (whose manager, which unit) is the action's question; these only turn away
    # callers who could never pass it.
    action_permissions: dict[str, tuple[str, ...]] = {
        "list": (),
        "retrieve": (),
        "metadata": (),
        "create": ("access.add_substitution",),
        "cancel": ("access.change_substitution",),
        "confirm": ("access.change_substitution",),
    }

    def get_queryset(self) -> QuerySet[Substitution]:
        if getattr(self, "swagger_fake_view", False):
            return Substitution.objects.none()
        return own_unless(self.request.user, VIEW, substitution_queryset(), *_OWN)

    def persons_of(self, row: Substitution) -> list[Person]:
        return [row.absentee, row.substitute]

    def _answer(self, order: Substitution, code: int = status.HTTP_200_OK) -> Response:
        fresh = substitution_queryset().get(pk=order.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(
        summary="Order a substitution",
        description="Records the order and grants the substitute the roles for exactly the "
        "period (cut to the absent person's own grants); in exclusive mode the absent person's "
        "own grants are suspended for it. Refused with the reason: no authority, the period, an "
        "overlapping order, a substitute who is away or has left, a role that is not delegable "
        "or not held, a segregation-of-duties conflict without an exception.",
        request=OrderSerializer,
        responses={201: SubstitutionSerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = OrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = serializer.validated_data
        ordered_by = given.get("ordered_by")
        if ordered_by is None:
            ordered_by = Person.objects.filter(user=cast(User, request.user)).first()
        order = actions.order_substitution(
            request.user,
            absentee=given["absentee"],
            substitute=given["substitute"],
            roles=given.get("roles"),
            starts_at=given["starts_at"],
            ends_at=given["ends_at"],
            ordered_by=ordered_by,
            exclusive=given["exclusive"],
            absence=given.get("absence"),
            directive=given["directive"],
            note=given["note"],
        )
        return self._answer(order, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a substitution",
        description="The substitute's grants end now (those not started are removed) and "
        "exclusive suspensions are lifted. Cancelling a cancelled one changes nothing.",
        request=SubstitutionCancelSerializer,
        responses={200: SubstitutionSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        given = SubstitutionCancelSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        actions.cancel_substitution(request.user, order, reason=given.validated_data["reason"])
        return self._answer(order)

    @extend_schema(
        summary="Confirm a proposal",
        description="Someone with authority over the absent person turns a proposal from the "
        "vacation schedule into an order: the grants are made.",
        request=ProposalConfirmSerializer,
        responses={200: SubstitutionSerializer},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        given = ProposalConfirmSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        actions.confirm_proposal(
            request.user,
            order,
            directive=given.validated_data["directive"],
            exclusive=given.validated_data["exclusive"],
        )
        return self._answer(order)
