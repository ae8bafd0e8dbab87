"""Access-request resources: filing requests, the approval chain's decisions, and fulfilment.

Every change goes through `tugi.access.actions.requests`; this module only turns JSON into the
actions' arguments and their answers back into JSON. The actions validate the whole request and
raise one error whose keys name the item and field (`items[1].valid_to`); type errors found here
first use the same keys, so a client handles one shape.

A request shows its person's access (the person it is for, not the filer): reading one request or
one item by anyone but that person is a logged read of the person (`access.person.view`, see
`tugi.api.person_reads`), as are the request and item lists narrowed to one person (`person`) or,
for items, to one request (`request`).
"""

from typing import Any, cast

import django_filters
from django.contrib.auth.models import User
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tugi.access import policy
from tugi.access.actions import requests as actions
from tugi.access.models import (
    AccessRequest,
    AccessRequestItem,
    Approval,
    Grant,
    Role,
    TargetSystem,
)
from tugi.api.people import ViewPurposeSerializer
from tugi.api.permissions import ActionPermissions, own_unless
from tugi.api.person_reads import (
    LOGGED_ONE,
    OnePersonFilter,
    OneRecordFilter,
    PersonViewLogMixin,
    logged_list,
)
from tugi.api.schema import ApiAutoSchema
from tugi.people.models import Person

VIEW_REQUEST = "access.view_accessrequest"
APPROVE = "access.approve_accessrequest"
# A request is the caller's own when it is for them or they filed it.
_OWN = ("person__user_id", "requested_by_id")
_OWN_ITEM = ("request__person__user_id", "request__requested_by_id")


# --- serializers: what the API answers ---------------------------------------------------------


class SodConflictSerializer(serializers.Serializer[Any]):
    """A segregation-of-duties conflict found when the item was filed (shown to approvers)."""

    rule = serializers.IntegerField(help_text="The SoD rule broken.")
    rule_name = serializers.CharField()
    role = serializers.IntegerField(help_text="The role the item asks for.")
    other_role = serializers.IntegerField(help_text="The role it conflicts with.")
    other_role_name = serializers.CharField()
    other_grant = serializers.IntegerField(
        allow_null=True, help_text="The person's grant of the other role, if held."
    )
    other_item = serializers.IntegerField(
        allow_null=True, help_text="The index of the item asking for the other role, if any."
    )
    until = serializers.DateTimeField(allow_null=True, help_text="End of the overlap.")
    exception = serializers.IntegerField(
        allow_null=True, help_text="An SoD exception in force that already covers it."
    )
    exception_until = serializers.DateTimeField(
        allow_null=True, help_text="The exception this request asks for, if any."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # "from" is a Python keyword, so it cannot be declared as an attribute above.
        fields["from"] = serializers.DateTimeField(help_text="Start of the overlap.")
        return fields


class AccessRequestItemSerializer(serializers.ModelSerializer[AccessRequestItem]):
    """One change a request asks for; once approved, fulfilment work for the desk."""

    person = serializers.IntegerField(source="request.person_id", read_only=True)
    system_code = serializers.CharField(source="system.code", read_only=True)
    role_name = serializers.CharField(source="role.name", read_only=True, allow_null=True)
    sod_conflicts = SodConflictSerializer(many=True, read_only=True)

    class Meta:
        model = AccessRequestItem
        fields = [
            "id",
            "request",
            "person",
            "kind",
            "system",
            "system_code",
            "role",
            "role_name",
            "grant",
            "valid_from",
            "valid_to",
            "state",
            "sod_conflicts",
            "fulfilled_by",
            "fulfilled_at",
        ]
        read_only_fields = fields


class ApprovalSerializer(serializers.ModelSerializer[Approval]):
    """One step of a request's approval chain."""

    approver_name = serializers.CharField(source="approver.full_name", read_only=True)

    class Meta:
        model = Approval
        fields = [
            "id",
            "order",
            "step",
            "system",
            "approver",
            "approver_name",
            "decision",
            "comment",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields


class AccessRequestSerializer(serializers.ModelSerializer[AccessRequest]):
    """An access request (taotlus) with its items and approval chain."""

    person_name = serializers.CharField(source="person.full_name", read_only=True)
    requested_by_name = serializers.CharField(source="requested_by.username", read_only=True)
    current_approval = serializers.SerializerMethodField(
        help_text="The step whose turn it is (the id `approve`, `reject` and `return` decide); "
        "null unless the request awaits approval."
    )
    items = AccessRequestItemSerializer(many=True, read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "person",
            "person_name",
            "requested_by",
            "requested_by_name",
            "justification",
            "state",
            "created_at",
            "decided_at",
            "expires_at",
            "decision_comment",
            "current_approval",
            "items",
            "approvals",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_current_approval(self, request: AccessRequest) -> int | None:
        current = _current_step(request)
        return current.pk if current else None


def _current_step(request: AccessRequest) -> Approval | None:
    """As `policy.current_approval`, from the prefetched chain: no query per request."""
    if request.state != AccessRequest.State.SUBMITTED:
        return None
    pending = [a for a in request.approvals.all() if a.decision == Approval.Decision.PENDING]
    return min(pending, key=lambda a: a.order, default=None)


# --- serializers: what clients send ------------------------------------------------------------


def _grants() -> QuerySet[Grant]:
    return Grant.objects.select_related("account__system", "role")


# Named as the item's response component: the OpenAPI document then calls the request form
# "AccessRequestItemRequest", as it does for every other resource, and sees one choice set.
@extend_schema_serializer(component_name="AccessRequestItem")
class ItemInputSerializer(serializers.Serializer[Any]):
    """One change to ask for. Which fields a kind uses:

    `create_account`, `close_account`: system. `grant_role`: role, system (optional, must be the
    role's), valid_from (default: when fulfilled), valid_to (required where the role says so),
    sod_exception_until. `suspend_role`: grant, valid_from, valid_to (resume then).
    `end_role`: grant, valid_to (when it ends; default: when fulfilled).
    """

    kind = serializers.ChoiceField(choices=AccessRequestItem.Kind.choices)
    system = serializers.PrimaryKeyRelatedField(
        queryset=TargetSystem.objects.all(), required=False, allow_null=True
    )
    role = serializers.PrimaryKeyRelatedField(
        queryset=Role.objects.select_related("system"), required=False, allow_null=True
    )
    grant = serializers.PrimaryKeyRelatedField(
        queryset=_grants(),
        required=False,
        allow_null=True,
        help_text="The grant to suspend or end.",
    )
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_to = serializers.DateTimeField(required=False, allow_null=True)
    sod_exception_until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Asks for a segregation-of-duties exception until then.",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # Here rather than in __init__: a nested serializer sees the context only once bound.
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            # Only grants the caller can see may be named: others' ids do not exist for them.
            fields["grant"] = serializers.PrimaryKeyRelatedField(
                queryset=own_unless(
                    request.user, "access.view_grant", _grants(), "person__user_id"
                ),
                required=False,
                allow_null=True,
                help_text="The grant to suspend or end.",
            )
        return fields


@extend_schema_serializer(component_name="AccessRequest")
class AccessRequestInputSerializer(serializers.Serializer[Any]):
    """A request to file: for whom, why, and the changes."""

    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.select_related("org_unit"),
        required=False,
        help_text="For whom; default the caller's own person. Someone else needs "
        "`access.file_for_others`.",
    )
    justification = serializers.CharField(allow_blank=True, help_text="Why the access is needed.")
    items = ItemInputSerializer(many=True)


class ResubmitSerializer(serializers.Serializer[Any]):
    """A returned request sent again; what is omitted stays as it was."""

    justification = serializers.CharField(required=False)
    items = ItemInputSerializer(many=True, required=False, help_text="All the items, replaced.")


class CommentSerializer(serializers.Serializer[Any]):
    """An approver's comment."""

    comment = serializers.CharField(allow_blank=True, required=False, default="")


class RequiredCommentSerializer(serializers.Serializer[Any]):
    """What the filer should change."""

    comment = serializers.CharField(allow_blank=True)


class ReasonSerializer(serializers.Serializer[Any]):
    """Why a request is rejected."""

    reason = serializers.CharField(allow_blank=True)


class CancelSerializer(serializers.Serializer[Any]):
    """Why the filer withdraws the request (optional)."""

    reason = serializers.CharField(allow_blank=True, required=False, default="")


class FulfilSerializer(serializers.Serializer[Any]):
    """How the desk carried out an item."""

    username = serializers.CharField(
        max_length=150,
        allow_blank=True,
        required=False,
        default="",
        help_text="The account's name in the target system, when the item opens an account.",
    )


def _flat(errors: Any) -> dict[str, Any]:
    """DRF's nested item errors under the actions' keys: `{"items": {1: {"role": …}}}` becomes
    `{"items[1].role": …}`."""
    flat: dict[str, Any] = {}
    for field, value in errors.items():
        if not isinstance(value, dict):
            flat[field] = value
            continue
        for key, nested in value.items():
            if isinstance(key, int) and isinstance(nested, dict):  # an item, by its index
                for name, messages in nested.items():
                    flat[f"{field}[{key}].{name}"] = messages
            else:  # about the list as a whole ("expected a list")
                flat.setdefault(field, []).extend(nested)
    return flat


def _valid(serializer: serializers.Serializer[Any]) -> Any:
    if not serializer.is_valid():
        raise exceptions.ValidationError(_flat(serializer.errors))
    return serializer.validated_data


# --- filters ----------------------------------------------------------------------------------


def _persons_of_own_requests(user: Any) -> Q:
    """Whom a caller without the read permission may name: their own person and those they
    filed requests for (the persons of the requests they see)."""
    filed = AccessRequest.objects.filter(requested_by_id=user.pk).values("person_id")
    return Q(user_id=user.pk) | Q(pk__in=filed)


def _visible_requests(request: Any) -> QuerySet[AccessRequest]:
    """The requests the caller may name: any other id is the same 400 as one that does not
    exist."""
    user = getattr(request, "user", None)
    if user is None:  # the OpenAPI generator
        return AccessRequest.objects.none()
    # With its person: the items of one request are a logged read of them.
    requests = AccessRequest.objects.select_related("person")
    return own_unless(user, VIEW_REQUEST, requests, *_OWN)


class AccessRequestFilter(django_filters.FilterSet):
    """Filters for the request list."""

    state = django_filters.MultipleChoiceFilter(
        choices=AccessRequest.State.choices,
        distinct=False,
        help_text="Repeat to allow several states.",
    )
    person = OnePersonFilter(VIEW_REQUEST, own=_persons_of_own_requests)

    class Meta:
        model = AccessRequest
        fields = ["state", "person"]


class AccessRequestItemFilter(django_filters.FilterSet):
    """Filters for the item list (the desk's fulfilment queue is `state=approved`)."""

    state = django_filters.MultipleChoiceFilter(
        choices=AccessRequestItem.State.choices,
        distinct=False,
        help_text="Repeat to allow several states.",
    )
    kind = django_filters.MultipleChoiceFilter(
        choices=AccessRequestItem.Kind.choices, distinct=False
    )
    system = django_filters.ModelChoiceFilter(queryset=TargetSystem.objects.all())
    request = OneRecordFilter(
        queryset=_visible_requests,
        person_of=lambda access_request: access_request.person,
        help_text="The items of this request; reading them is a read of its person, logged.",
    )
    person = OnePersonFilter(
        VIEW_REQUEST, field_name="request__person", own=_persons_of_own_requests
    )

    class Meta:
        model = AccessRequestItem
        fields = ["state", "kind", "system", "request", "person"]


# --- views ------------------------------------------------------------------------------------


def _items() -> QuerySet[AccessRequestItem]:
    return AccessRequestItem.objects.select_related("system", "role").order_by("id")


def request_queryset() -> QuerySet[AccessRequest]:
    """Requests with everything their representation shows, in a fixed number of queries."""
    return AccessRequest.objects.select_related("person", "requested_by").prefetch_related(
        Prefetch("items", queryset=_items()),
        Prefetch("approvals", queryset=Approval.objects.select_related("approver")),
    )


@extend_schema_view(
    list=extend_schema(
        summary="List access requests",
        description="Newest first, each with its items and approval chain. Without "
        "`access.view_accessrequest` the list holds only requests for the caller or filed by "
        "them." + logged_list("`person`"),
        parameters=[ViewPurposeSerializer],
    ),
    retrieve=extend_schema(
        summary="Get an access request",
        description="A read of the person the request is for. " + LOGGED_ONE,
        parameters=[ViewPurposeSerializer],
    ),
)
class AccessRequestViewSet(
    PersonViewLogMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[AccessRequest],
):
    """Access requests (taotlused) and their approval chain (kooskõlastus)."""

    read_permission = VIEW_REQUEST
    serializer_class = AccessRequestSerializer
    filterset_class = AccessRequestFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    keyset_ordering = ("-id",)
    # Filing, cancelling and resubmitting are checked by the actions (anyone files for
    # themselves; only the filer cancels); deciding needs the approver's permission first.
    action_permissions: dict[str, tuple[str, ...]] = {
        "list": (),
        "retrieve": (),
        "metadata": (),
        "create": (),
        "resubmit": (),
        "cancel": (),
        "approve": (APPROVE,),
        "reject": (APPROVE,),
        "return_for_changes": (APPROVE,),
    }

    def get_queryset(self) -> QuerySet[AccessRequest]:
        if getattr(self, "swagger_fake_view", False):
            return AccessRequest.objects.none()
        return own_unless(self.request.user, VIEW_REQUEST, request_queryset(), *_OWN)

    def _answer(self, request: AccessRequest, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=request.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def _current(self, request: AccessRequest) -> Approval:
        current = policy.current_approval(request)
        if current is None:
            raise exceptions.ValidationError(
                {
                    "request": _("The request is not awaiting approval (it is %(state)s).")
                    % {"state": request.get_state_display()}
                }
            )
        return current

    @extend_schema(
        summary="File an access request",
        description="Files the request with its approval chain (the unit head, then the owner "
        "of each system whose sensitive role it asks for). Anyone files for themselves; for "
        "someone else `access.file_for_others` is needed. Errors name the item and field: "
        "`items[1].valid_to`. Nothing is saved when anything is wrong.",
        request=AccessRequestInputSerializer,
        responses={201: AccessRequestSerializer},
    )
    def create(self, request: Request) -> Response:
        given = _valid(
            AccessRequestInputSerializer(data=request.data, context={"request": request})
        )
        person = given.get("person")
        if person is None:
            person = Person.objects.filter(user=cast(User, request.user)).first()
            if person is None:
                raise exceptions.ValidationError(
                    {"person": _("You have no person record: name whom the request is for.")}
                )
        filed = actions.file_request(request.user, person, given["items"], given["justification"])
        return self._answer(filed, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Approve the current step",
        description="Only the approver named on the current step decides it, and never on a "
        "request they filed or that is for them. The last approval makes the request approved: "
        "its items become fulfilment work.",
        request=CommentSerializer,
        responses={200: AccessRequestSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        access_request = self.get_object()
        given = _valid(CommentSerializer(data=request.data))
        actions.approve(request.user, self._current(access_request), given["comment"])
        return self._answer(access_request)

    @extend_schema(
        summary="Reject the request",
        description="At the current step, with the reason the filer will see.",
        request=ReasonSerializer,
        responses={200: AccessRequestSerializer},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        access_request = self.get_object()
        given = _valid(ReasonSerializer(data=request.data))
        actions.reject(request.user, self._current(access_request), given["reason"])
        return self._answer(access_request)

    @extend_schema(
        summary="Return the request for changes",
        description="At the current step; the filer changes it and resubmits.",
        request=RequiredCommentSerializer,
        responses={200: AccessRequestSerializer},
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_for_changes(self, request: Request, pk: str | None = None) -> Response:
        access_request = self.get_object()
        given = _valid(RequiredCommentSerializer(data=request.data))
        actions.return_for_changes(request.user, self._current(access_request), given["comment"])
        return self._answer(access_request)

    @extend_schema(
        summary="Resubmit a returned request",
        description="Only its filer; the approval chain starts anew. Omitted fields keep their "
        "values; `items`, when given, replaces all the items.",
        request=ResubmitSerializer,
        responses={200: AccessRequestSerializer},
    )
    @action(detail=True, methods=["post"])
    def resubmit(self, request: Request, pk: str | None = None) -> Response:
        access_request = self.get_object()
        given = _valid(ResubmitSerializer(data=request.data, context={"request": request}))
        actions.resubmit(
            request.user,
            access_request,
            items=given.get("items"),
            justification=given.get("justification"),
        )
        return self._answer(access_request)

    @extend_schema(
        summary="Cancel the request",
        description="Only its filer, and only while it is not decided.",
        request=CancelSerializer,
        responses={200: AccessRequestSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        access_request = self.get_object()
        given = _valid(CancelSerializer(data=request.data))
        actions.cancel_request(request.user, access_request, reason=given["reason"])
        return self._answer(access_request)


@extend_schema_view(
    list=extend_schema(
        summary="List request items",
        description="Oldest first. `state=approved` is the desk's fulfilment queue. Without "
        "`access.view_accessrequest` only items of the caller's own requests, and only those "
        "requests may be named in `request`."
        + logged_list("`person`, or `request`: the person the request is for"),
        parameters=[ViewPurposeSerializer],
    ),
    retrieve=extend_schema(
        summary="Get a request item",
        description="A read of the person the item's request is for. " + LOGGED_ONE,
        parameters=[ViewPurposeSerializer],
    ),
)
class AccessRequestItemViewSet(
    PersonViewLogMixin, viewsets.ReadOnlyModelViewSet[AccessRequestItem]
):
    """The changes requests ask for; approved ones are fulfilled by the desk."""

    read_permission = VIEW_REQUEST
    serializer_class = AccessRequestItemSerializer
    filterset_class = AccessRequestItemFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    keyset_ordering = ("id",)
    action_permissions: dict[str, tuple[str, ...]] = {
        "list": (),
        "retrieve": (),
        "metadata": (),
        "fulfil": ("access.fulfil_accessrequest",),
    }

    def get_queryset(self) -> QuerySet[AccessRequestItem]:
        if getattr(self, "swagger_fake_view", False):
            return AccessRequestItem.objects.none()
        queryset = _items().select_related("request")
        if self.action == "retrieve":
            # One item is a logged read of the request's person: loaded with it, not after.
            queryset = queryset.select_related("request__person")
        return own_unless(self.request.user, VIEW_REQUEST, queryset, *_OWN_ITEM)

    def persons_of(self, row: AccessRequestItem) -> list[Person]:
        return [row.request.person]

    @extend_schema(
        summary="Fulfil an approved item",
        description="The desk carries out the change (opens or closes the account, grants, "
        "suspends or ends the role) and marks the item fulfilled; when every item is, the "
        "request is fulfilled. Nobody fulfils a change of their own access.",
        request=FulfilSerializer,
        responses={200: AccessRequestItemSerializer},
    )
    @action(detail=True, methods=["post"])
    def fulfil(self, request: Request, pk: str | None = None) -> Response:
        item = self.get_object()
        given = _valid(FulfilSerializer(data=request.data))
        actions.fulfil_item(cast(User, request.user), item, username=given["username"])
        return Response(self.get_serializer(self.get_queryset().get(pk=item.pk)).data)
