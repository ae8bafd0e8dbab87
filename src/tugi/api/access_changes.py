"""The lifecycle engine's changes: each grant and account boundary with its due, applied and
confirmed times, the lateness figures, confirming a change done in the target system and
retrying a failed one.

Reads come from `tugi.access.lifecycle.lateness`; every change of state goes through
`tugi.access.actions.changes`, which checks the permission again and refuses changes of one's
own access (four eyes).

A change is of one person's access: reading one (by anyone but that person) or the list filtered
by `person` is a logged read of that person (`access.person.view`, see `tugi.api.person_reads`).
"""

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tugi.access.actions import changes as actions
from tugi.access.lifecycle import lateness
from tugi.access.models import Change, TargetSystem
from tugi.api.access_grants import read_body, read_query
from tugi.api.people import ViewPurposeSerializer
from tugi.api.permissions import ActionPermissions
from tugi.api.person_reads import LOGGED_ONE, OnePersonFilter, PersonViewLogMixin, logged_list
from tugi.api.schema import ApiAutoSchema

VIEW_CHANGE = "access.view_change"
CONFIRM_CHANGE = "access.confirm_change"


# --- serializers ------------------------------------------------------------------------------


class ChangeSerializer(serializers.ModelSerializer[Change]):
    """One boundary the engine puts into effect: due, applied (and how late), confirmed."""

    person_name = serializers.CharField(source="person.full_name", read_only=True)
    system = serializers.IntegerField(source="account.system_id", read_only=True)
    system_code = serializers.CharField(source="account.system.code", read_only=True)
    role = serializers.IntegerField(
        source="grant.role_id",
        read_only=True,
        allow_null=True,
        help_text="The role of the grant; null for an account's change.",
    )
    role_name = serializers.CharField(source="grant.role.name", read_only=True, allow_null=True)
    late_ms = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="How late it was applied (applied_at − due_at), in milliseconds; null until "
        "applied.",
    )
    confirmed_by = serializers.CharField(
        source="confirmed_by.username",
        read_only=True,
        allow_null=True,
        help_text="Who confirmed it was done in the target system; null for the system itself "
        "or while unconfirmed.",
    )

    class Meta:
        model = Change
        fields = [
            "id",
            "kind",
            "state",
            "person",
            "person_name",
            "account",
            "system",
            "system_code",
            "grant",
            "role",
            "role_name",
            "reason",
            "due_at",
            "next_try_at",
            "attempts",
            "error",
            "applied_at",
            "late_ms",
            "confirmed_at",
            "confirmed_by",
        ]
        read_only_fields = fields


class ConfirmSerializer(serializers.Serializer[Any]):
    """An optional note on a confirmation, kept in the audit event."""

    note = serializers.CharField(
        max_length=actions.NOTE_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="What was done, e.g. a ticket number in the target system.",
    )


class ConfirmManySerializer(ConfirmSerializer):
    """The changes to confirm at once."""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=1,
        max_length=actions.BULK_MAX,
        help_text="Ids of applied, unconfirmed changes.",
    )


class ConfirmManyResultSerializer(serializers.Serializer[Any]):
    """What a bulk confirmation did."""

    confirmed = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids confirmed now."
    )
    already = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids someone had confirmed before."
    )


class FiguresSerializer(serializers.Serializer[Any]):
    """A distribution of lateness in milliseconds (nearest-rank percentiles); null when empty."""

    count = serializers.IntegerField()
    median_ms = serializers.IntegerField(allow_null=True)
    p95_ms = serializers.IntegerField(allow_null=True)
    max_ms = serializers.IntegerField(allow_null=True)


class ReconcilerRunSerializer(serializers.Serializer[Any]):
    """One pass of the reconciler: the window it read, what it found and did."""

    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    window_from = serializers.DateTimeField()
    window_to = serializers.DateTimeField()
    checked = serializers.IntegerField(help_text="Boundaries in the window.")
    repaired = serializers.IntegerField(help_text="Changes that were missing and were added.")
    applied = serializers.IntegerField()
    failed = serializers.IntegerField()


RUN_FIELDS = (
    "started_at",
    "finished_at",
    "window_from",
    "window_to",
    "checked",
    "repaired",
    "applied",
    "failed",
)


class EngineHealthSerializer(serializers.Serializer[Any]):
    """Whether the reconciler finished a pass in the last three minutes."""

    healthy = serializers.BooleanField()
    last_run = ReconcilerRunSerializer(allow_null=True)


class LatenessSerializer(serializers.Serializer[Any]):
    """How late the changes applied in a period were, and the engine's health."""

    period = serializers.CharField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    applied = FiguresSerializer(help_text="Lateness of applying (applied_at − due_at).")
    by_kind = serializers.DictField(child=FiguresSerializer(), help_text="The same, by kind.")
    confirmed = FiguresSerializer(
        help_text="Of those confirmed in the target: confirmed_at − due_at."
    )
    late_after_ms = serializers.IntegerField(help_text="The threshold of `late_count`.")
    late_count = serializers.IntegerField(help_text="Applied later than `late_after_ms`.")
    engine = EngineHealthSerializer()


class LatenessQuerySerializer(serializers.Serializer[Any]):
    """The period and filters of the lateness figures."""

    period = serializers.ChoiceField(
        choices=list(lateness.PERIODS),
        default=lateness.DEFAULT_PERIOD,
        help_text="Changes applied in the last 24 hours, 7 days (default) or 30 days.",
    )
    kind = serializers.ChoiceField(choices=Change.Kind.choices, required=False)
    system = serializers.PrimaryKeyRelatedField(
        queryset=TargetSystem.objects.all(), required=False, help_text="Id of a target system."
    )


# --- filters ----------------------------------------------------------------------------------


class ChangeFilter(django_filters.FilterSet):
    """Filters for the change list."""

    state = django_filters.MultipleChoiceFilter(
        choices=Change.State.choices, distinct=False, help_text="Repeat to allow several states."
    )
    kind = django_filters.MultipleChoiceFilter(
        choices=Change.Kind.choices, distinct=False, help_text="Repeat to allow several kinds."
    )
    person = OnePersonFilter(VIEW_CHANGE)
    system = django_filters.ModelChoiceFilter(
        field_name="account__system", queryset=TargetSystem.objects.all()
    )
    late = django_filters.BooleanFilter(
        method="filter_late",
        help_text="`true`: applied more than 60 s after the due time, failed, or still pending "
        "60 s after it; `false`: the others.",
    )
    confirmed = django_filters.BooleanFilter(
        method="filter_confirmed",
        help_text="`true`: confirmed in the target system; `false`: applied and waiting for "
        "confirmation.",
    )
    due_after = django_filters.IsoDateTimeFilter(
        field_name="due_at", lookup_expr="gte", help_text="Due at or after (ISO 8601)."
    )
    due_before = django_filters.IsoDateTimeFilter(
        field_name="due_at", lookup_expr="lt", help_text="Due before (ISO 8601)."
    )

    class Meta:
        model = Change
        fields = ["state", "kind", "person", "system", "late", "confirmed"]

    def filter_late(self, queryset: QuerySet[Change], name: str, value: bool) -> QuerySet[Change]:
        late = lateness.late_q(timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)

    def filter_confirmed(
        self, queryset: QuerySet[Change], name: str, value: bool
    ) -> QuerySet[Change]:
        if value:
            return queryset.filter(confirmed_at__isnull=False)
        return queryset.filter(state=Change.State.APPLIED, confirmed_at__isnull=True)


# --- views ------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List changes",
        description="The lifecycle engine's changes, the latest recorded first: each grant "
        "start, end, suspension and resumption and each account suspension and closure, with "
        "its due, applied and confirmed times and its lateness. For holders of "
        "`access.view_change` (the desk, approvers, system owners, the auditor)."
        + logged_list("`person`", own_rows=False),
        parameters=[ViewPurposeSerializer],
    ),
    retrieve=extend_schema(
        summary="Get a change",
        description="A read of the person whose access the change is. " + LOGGED_ONE,
        parameters=[ViewPurposeSerializer],
    ),
)
class ChangeViewSet(PersonViewLogMixin, viewsets.ReadOnlyModelViewSet[Change]):
    """The lifecycle engine's changes (read-only), confirming and retrying them, lateness."""

    read_permission = VIEW_CHANGE

    serializer_class = ChangeSerializer
    filterset_class = ChangeFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    # The primary key: every page is an index range, whatever the filters; a list by due time
    # would sort all the matching changes for each page.
    keyset_ordering = ("-id",)
    action_permissions: dict[str, tuple[str, ...]] = {
        "list": (VIEW_CHANGE,),
        "retrieve": (VIEW_CHANGE,),
        "metadata": (VIEW_CHANGE,),
        "lateness_figures": (VIEW_CHANGE,),
        "confirm": (VIEW_CHANGE, CONFIRM_CHANGE),
        "confirm_many": (VIEW_CHANGE, CONFIRM_CHANGE),
        "retry": (VIEW_CHANGE, CONFIRM_CHANGE),
    }

    def get_queryset(self) -> QuerySet[Change]:
        # Relations fetched per page (an IN list each), not joined: joined, SQLite's planner may
        # start from the small tables and sort the big one (see docs/api.md, "For developers").
        return Change.objects.prefetch_related(
            "person", "account__system", "grant__role", "confirmed_by"
        )

    def _changed(self, change: Change) -> Response:
        # Read back through the queryset, so the answer has the same shape as a GET.
        return Response(self.get_serializer(self.get_queryset().get(pk=change.pk)).data)

    @extend_schema(
        summary="Confirm a change was made in the target system",
        description="Records who confirmed an applied change and when; the note goes into the "
        "audit event. Only an applied, unconfirmed change; nobody confirms a change of their "
        "own access.",
        request=ConfirmSerializer,
        responses={200: ChangeSerializer},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        change = self.get_object()
        given = read_body(request, ConfirmSerializer)
        actions.confirm_change(request.user, change, note=given["note"])
        return self._changed(change)

    @extend_schema(
        summary="Confirm many changes at once",
        operation_id="changes_confirm_many",
        description="All or none: when any of the changes is not applied or is a change of the "
        "caller's own access, nothing is confirmed and the errors name each such change. A "
        "change someone else confirmed meanwhile is listed under `already`.",
        request=ConfirmManySerializer,
        responses={200: ConfirmManyResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="confirm",
        filter_backends=[],
        pagination_class=None,
    )
    def confirm_many(self, request: Request) -> Response:
        given = read_body(request, ConfirmManySerializer)
        result = actions.confirm_changes(request.user, given["ids"], note=given["note"])
        return Response(
            {
                "confirmed": [c.pk for c in result.confirmed],
                "already": [c.pk for c in result.already],
            }
        )

    @extend_schema(
        summary="Retry a failed change",
        description="Puts a failed change back to the engine: pending, to be tried now, with "
        "its attempts counted from zero. Nobody retries a change of their own access.",
        request=None,
        responses={200: ChangeSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        change = self.get_object()
        actions.retry_change(request.user, change)
        return self._changed(change)

    @extend_schema(
        summary="Lateness of the changes applied in a period",
        description="Count, median, 95th percentile (nearest rank) and maximum of the lateness "
        "of the changes applied in the period, overall and by kind; the same for the "
        "confirmation in the target system; and the engine's health (the reconciler's last "
        "pass, healthy when it finished in the last three minutes).",
        parameters=[LatenessQuerySerializer],
        responses={200: LatenessSerializer},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="lateness",
        filter_backends=[],
        pagination_class=None,
    )
    def lateness_figures(self, request: Request) -> Response:
        given = read_query(request, LatenessQuerySerializer)
        system = given.get("system")
        now = timezone.now()
        report = lateness.lateness_report(
            given["period"],
            now=now,
            kind=given.get("kind") or "",
            system_id=system.pk if system is not None else None,
        )
        health = lateness.engine_health(now)
        run = health.last_run
        data = {
            "period": report.period,
            "since": report.since,
            "until": report.until,
            "applied": report.applied.as_dict(),
            "by_kind": {k.kind: k.figures.as_dict() for k in report.by_kind},
            "confirmed": report.confirmed.as_dict(),
            "late_after_ms": report.late_after_ms,
            "late_count": report.late_count,
            "engine": {
                "healthy": health.healthy,
                "last_run": None
                if run is None
                else {name: getattr(run, name) for name in RUN_FIELDS},
            },
        }
        return Response(LatenessSerializer(data).data)
