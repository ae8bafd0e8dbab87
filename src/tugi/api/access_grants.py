"""Access resources: accounts, grants (with their basis), ending and suspending grants, and
"why does this person hold this role" (explain).

Reads are querysets from `tugi.access`; every change goes through `tugi.access.actions.grants`,
which checks the permission again, refuses changes to one's own access (four eyes), validates and
audits. Without the read permission a caller sees only their own accounts and grants.

What shows one person's access is a logged read of that person (`access.person.view`, see
`tugi.people.view_log`), as the access pages are: explain, one grant, one account, and the grant
and account lists filtered by `person`. The purpose is `?purpose=…`, else the caller's role duty.
"""

from typing import Any, cast

import django_filters
from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tugi.access import queries
from tugi.access.actions import grants as actions
from tugi.access.models import Account, Grant, GrantSuspension, Role, TargetSystem
from tugi.api.access_requests import AccessRequestSerializer, request_queryset
from tugi.api.errors import fields_renamed
from tugi.api.people import ViewPurposeSerializer
from tugi.api.permissions import ActionPermissions, own_unless
from tugi.api.person_reads import OnePersonFilter, PersonViewLogMixin, read_query
from tugi.api.schema import ApiAutoSchema
from tugi.people import view_log
from tugi.people.models import Person

VIEW_ACCOUNT = "access.view_account"
VIEW_GRANT = "access.view_grant"


def read_body(request: Request, serializer_class: type[serializers.Serializer[Any]]) -> Any:
    """The request body validated by a serializer: a bad field is a 400 naming it."""
    given = serializer_class(data=request.data)
    given.is_valid(raise_exception=True)
    return given.validated_data


def with_related(grants: QuerySet[Grant]) -> QuerySet[Grant]:
    """Grants with everything their representation shows, in a fixed number of queries.

    Fetched by separate queries per relation (each an IN list of one page's ids), not joined:
    with joins, SQLite's planner may start from the small joined tables and sort a million
    grants; alone, the grant query walks its own index in the page's order and stops at the page.
    """
    return grants.select_related(None).prefetch_related(
        "person",
        "role__system",
        "basis_duty",
        "basis_item",
        "acting_for",
        Prefetch("suspensions", queryset=GrantSuspension.objects.order_by("starts_at", "id")),
    )


# --- serializers ------------------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer[Account]):
    """A person's user account in a target system."""

    person_name = serializers.CharField(source="person.full_name", read_only=True)
    system_code = serializers.CharField(source="system.code", read_only=True)
    system_name = serializers.CharField(source="system.name", read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "person",
            "person_name",
            "system",
            "system_code",
            "system_name",
            "username",
            "state",
            "opened_at",
            "closed_at",
        ]
        read_only_fields = fields


class SuspensionSerializer(serializers.ModelSerializer[GrantSuspension]):
    """A period in which a grant is suspended; `ends_at` null while it lasts until resumed."""

    class Meta:
        model = GrantSuspension
        fields = ["id", "starts_at", "ends_at", "reason", "basis_item"]
        read_only_fields = fields


class GrantBasisSerializer(serializers.ModelSerializer[Grant]):
    """The basis fields every representation of a grant carries; exactly one group is set."""

    basis_duty = serializers.IntegerField(
        source="basis_duty_id",
        read_only=True,
        allow_null=True,
        help_text="Basis `job_description`: the duty that justifies the role.",
    )
    basis_job_description = serializers.IntegerField(
        source="basis_duty.job_description_id",
        read_only=True,
        allow_null=True,
        help_text="Basis `job_description`: the job description the duty belongs to.",
    )
    basis_item = serializers.IntegerField(
        source="basis_item_id",
        read_only=True,
        allow_null=True,
        help_text="Basis `request`: the approved request item.",
    )
    basis_request = serializers.IntegerField(
        source="basis_item.request_id",
        read_only=True,
        allow_null=True,
        help_text="Basis `request`: the access request the item belongs to.",
    )
    acting_for = serializers.IntegerField(
        source="acting_for_id",
        read_only=True,
        allow_null=True,
        help_text="Basis `substitution`: the person the holder substitutes.",
    )
    acting_for_name = serializers.CharField(
        source="acting_for.full_name", read_only=True, allow_null=True
    )

    class Meta:
        model = Grant
        fields = [
            "basis",
            "basis_duty",
            "basis_job_description",
            "basis_item",
            "basis_request",
            "acting_for",
            "acting_for_name",
        ]
        read_only_fields = fields


class GrantSerializer(GrantBasisSerializer):
    """A role held through an account from `valid_from` (inclusive) to `valid_to` (exclusive)."""

    person_name = serializers.CharField(source="person.full_name", read_only=True)
    system = serializers.IntegerField(source="role.system_id", read_only=True)
    system_code = serializers.CharField(source="role.system.code", read_only=True)
    role_code = serializers.CharField(source="role.code", read_only=True)
    role_name = serializers.CharField(source="role.name", read_only=True)
    suspensions = SuspensionSerializer(many=True, read_only=True)

    class Meta:
        model = Grant
        fields = [
            "id",
            "person",
            "person_name",
            "account",
            "system",
            "system_code",
            "role",
            "role_code",
            "role_name",
            "valid_from",
            "valid_to",
            *GrantBasisSerializer.Meta.fields,
            "ended_reason",
            "created_at",
            "suspensions",
        ]
        read_only_fields = fields


class EndGrantSerializer(serializers.Serializer[Any]):
    """When and why a grant ends."""

    reason = serializers.CharField(
        max_length=300, allow_blank=True, help_text="Why it ends; recorded with the grant."
    )
    at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When it ends: now (the default) or later, never in the past.",
    )


class SuspendGrantSerializer(serializers.Serializer[Any]):
    """When and why a grant is suspended."""

    reason = serializers.CharField(max_length=300, allow_blank=True)
    starts_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Default now; never in the past."
    )
    ends_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When it resumes; empty: until resumed."
    )


class ResumeGrantSerializer(serializers.Serializer[Any]):
    """Why a suspended grant resumes."""

    reason = serializers.CharField(max_length=300, allow_blank=True)


class DutyBriefSerializer(serializers.Serializer[Any]):
    """A duty of a job description."""

    id = serializers.IntegerField()
    description = serializers.CharField()
    expected_result = serializers.CharField()


class JobDescriptionBriefSerializer(serializers.Serializer[Any]):
    """A job description: which position, in force from when, approved by which directive."""

    id = serializers.IntegerField()
    position = serializers.IntegerField(source="position_id")
    position_title = serializers.CharField(source="position.title")
    valid_from = serializers.DateField()
    directive = serializers.CharField()


class BasisChainSerializer(serializers.Serializer[Any]):
    """One grant in force and the documents behind it."""

    grant = GrantSerializer()
    duty = DutyBriefSerializer(allow_null=True, help_text="Basis `job_description`.")
    job_description = JobDescriptionBriefSerializer(
        allow_null=True, help_text="Basis `job_description`."
    )
    request = AccessRequestSerializer(
        source="grant.basis_item.request",
        allow_null=True,
        help_text="Basis `request`: the request with its items and approvals.",
    )
    still_justified = serializers.BooleanField(
        help_text="Basis `job_description`: whether the person's current job description still "
        "justifies the role (true for the other bases)."
    )


class ExplanationSerializer(serializers.Serializer[Any]):
    """Why a person holds a role at a moment: each grant in force with its basis chain."""

    person = serializers.IntegerField()
    role = serializers.IntegerField()
    at = serializers.DateTimeField()
    chains = BasisChainSerializer(many=True, help_text="Empty when the person does not hold it.")


class ExplainQuerySerializer(ViewPurposeSerializer):
    """The question asked of explain, and why it is asked (logged)."""

    role = serializers.PrimaryKeyRelatedField(
        queryset=Role.objects.select_related("system"), help_text="Id of the role."
    )
    at = serializers.DateTimeField(
        required=False, help_text="The moment asked about (ISO 8601); default now."
    )


# --- filters ----------------------------------------------------------------------------------


class AccountFilter(django_filters.FilterSet):
    """Filters for the account list."""

    person = OnePersonFilter(VIEW_ACCOUNT)
    system = django_filters.ModelChoiceFilter(queryset=TargetSystem.objects.all())
    state = django_filters.MultipleChoiceFilter(
        choices=Account.State.choices, distinct=False, help_text="Repeat to allow several states."
    )

    class Meta:
        model = Account
        fields = ["person", "system", "state"]


class GrantFilter(django_filters.FilterSet):
    """Filters for the grant list."""

    person = OnePersonFilter(VIEW_GRANT)
    role = django_filters.ModelChoiceFilter(queryset=Role.objects.all())
    system = django_filters.ModelChoiceFilter(
        field_name="role__system", queryset=TargetSystem.objects.all()
    )
    basis = django_filters.ChoiceFilter(choices=Grant.Basis.choices)
    in_force_at = django_filters.IsoDateTimeFilter(
        method="filter_in_force_at",
        help_text="Grants in force at this moment (ISO 8601): started, not ended, not suspended.",
    )
    ended = django_filters.BooleanFilter(
        method="filter_ended",
        help_text="`true`: grants whose end has passed; `false`: grants not ended yet.",
    )

    class Meta:
        model = Grant
        fields = ["person", "role", "system", "basis", "in_force_at", "ended"]

    def filter_in_force_at(
        self, queryset: QuerySet[Grant], name: str, value: Any
    ) -> QuerySet[Grant]:
        return queryset.filter(queries.held_at(value))

    def filter_ended(self, queryset: QuerySet[Grant], name: str, value: bool) -> QuerySet[Grant]:
        now = timezone.now()
        if value:
            return queryset.filter(valid_to__lte=now)
        return queryset.filter(queries.grant_open_at(now))


# --- views ------------------------------------------------------------------------------------


_LOGGED = (
    " Reading the accounts or grants of one person (filtered by `person`) by anyone but that "
    "person is written to the audit log (`access.person.view`) with the purpose (`purpose`, "
    "else the caller's role duty), at most once in ten minutes for the same caller, person and "
    "purpose."
)
_LOGGED_ONE = (
    "Reading anyone's but one's own is written to the audit log (`access.person.view`) with "
    "the purpose (`purpose`, else the caller's role duty), at most once in ten minutes for the "
    "same caller, person and purpose."
)


@extend_schema_view(
    list=extend_schema(
        summary="List accounts",
        description="Without `access.view_account` the list holds only the caller's own accounts."
        + _LOGGED,
        parameters=[ViewPurposeSerializer],
    ),
    retrieve=extend_schema(
        summary="Get an account", description=_LOGGED_ONE, parameters=[ViewPurposeSerializer]
    ),
)
class AccountViewSet(PersonViewLogMixin, viewsets.ReadOnlyModelViewSet[Account]):
    """User accounts in target systems (kasutajakontod), read-only."""

    read_permission = VIEW_ACCOUNT
    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    keyset_ordering = ("id",)
    # No permission needed to read: the queryset narrows to the caller's own accounts.
    action_permissions: dict[str, tuple[str, ...]] = {
        "list": (),
        "retrieve": (),
        "metadata": (),
    }

    def get_queryset(self) -> QuerySet[Account]:
        if getattr(self, "swagger_fake_view", False):
            return Account.objects.none()
        queryset = Account.objects.select_related("person", "system")
        return own_unless(self.request.user, VIEW_ACCOUNT, queryset, "person__user_id")


@extend_schema_view(
    list=extend_schema(
        summary="List grants",
        description="Newest first. Without `access.view_grant` the list holds only the caller's "
        "own grants. Each grant names its basis: the duty and job description, the request item "
        "and request, or the person substituted." + _LOGGED,
        parameters=[ViewPurposeSerializer],
    ),
    retrieve=extend_schema(
        summary="Get a grant", description=_LOGGED_ONE, parameters=[ViewPurposeSerializer]
    ),
)
class GrantViewSet(PersonViewLogMixin, viewsets.ReadOnlyModelViewSet[Grant]):
    """Grants of roles (õigused), with their basis; ended and suspended through actions."""

    read_permission = VIEW_GRANT
    serializer_class = GrantSerializer
    filterset_class = GrantFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    keyset_ordering = ("-id",)
    action_permissions: dict[str, tuple[str, ...]] = {
        "list": (),
        "retrieve": (),
        "metadata": (),
        "end": ("access.change_grant",),
        "suspend": ("access.change_grant",),
        "resume": ("access.change_grant",),
    }

    def get_queryset(self) -> QuerySet[Grant]:
        if getattr(self, "swagger_fake_view", False):
            return Grant.objects.none()
        queryset = with_related(Grant.objects.all())
        return own_unless(self.request.user, VIEW_GRANT, queryset, "person__user_id")

    def _changed(self, grant: Grant) -> Response:
        # Read back through the queryset, so the answer has the same shape as a GET.
        return Response(self.get_serializer(self.get_queryset().get(pk=grant.pk)).data)

    @extend_schema(
        summary="End a grant",
        description="Ends the grant now or at `at` (never in the past). Ending a grant that "
        "already ends by then changes nothing. Nobody ends their own grant.",
        request=EndGrantSerializer,
        responses={200: GrantSerializer},
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        grant = self.get_object()
        given = read_body(request, EndGrantSerializer)
        with fields_renamed(valid_to="at"):
            actions.end_grant(request.user, grant, reason=given["reason"], at=given.get("at"))
        return self._changed(grant)

    @extend_schema(
        summary="Suspend a grant",
        description="Suspends the grant from `starts_at` (default now) until `ends_at`, or "
        "until resumed when `ends_at` is empty. Nobody suspends their own grant.",
        request=SuspendGrantSerializer,
        responses={200: GrantSerializer},
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, pk: str | None = None) -> Response:
        grant = self.get_object()
        given = read_body(request, SuspendGrantSerializer)
        actions.suspend_grant(
            request.user,
            grant,
            reason=given["reason"],
            starts_at=given.get("starts_at"),
            ends_at=given.get("ends_at"),
        )
        return self._changed(grant)

    @extend_schema(
        summary="Resume a suspended grant",
        description="Ends the grant's current suspension now.",
        request=ResumeGrantSerializer,
        responses={200: GrantSerializer},
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        grant = self.get_object()
        given = read_body(request, ResumeGrantSerializer)
        actions.resume_grant(request.user, grant, reason=given["reason"])
        return self._changed(grant)


class PersonAccessViewSet(viewsets.GenericViewSet[Person]):
    """Access questions about one person, under the person's own resource."""

    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    action_permissions: dict[str, tuple[str, ...]] = {"explain": ()}

    def get_queryset(self) -> QuerySet[Person]:
        if getattr(self, "swagger_fake_view", False):
            return Person.objects.none()
        user = cast(User, self.request.user)
        return own_unless(user, VIEW_GRANT, Person.objects.all(), "user_id")

    @extend_schema(
        summary="Why does this person hold a role?",
        description="Each grant of the role in force at `at` (default now), with its basis "
        "chain: the job-description duty, or the request and its approvals, or the person "
        "substituted. Without `access.view_grant` only the caller's own person can be asked "
        "about. " + _LOGGED_ONE,
        parameters=[ExplainQuerySerializer],
        responses={200: ExplanationSerializer},
    )
    @action(detail=True, methods=["get"])
    def explain(self, request: Request, pk: str | None = None) -> Response:
        person = self.get_object()
        given = read_query(request, ExplainQuerySerializer)
        view_log.log_view(
            request.user, person, view_log.VIEW_PERSON_ACCESS, given=given.get("purpose", "")
        )
        role: Role = given["role"]
        at = given.get("at") or timezone.now()
        chains = queries.explain(person, role, at)
        requests = {}
        if any(chain.grant.basis_item for chain in chains):
            ids = {chain.grant.basis_item.request_id for chain in chains if chain.grant.basis_item}
            requests = request_queryset().in_bulk(ids)
        for chain in chains:
            # Known already, or fetched above: serializing costs no query per chain.
            chain.grant.person, chain.grant.role = person, role
            if chain.grant.basis_item is not None:
                chain.grant.basis_item.request = requests[chain.grant.basis_item.request_id]
        data = {"person": person.pk, "role": role.pk, "at": at, "chains": chains}
        return Response(ExplanationSerializer(data).data)
