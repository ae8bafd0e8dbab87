"""Compliance findings: what breaks the access rules, each with the way to its fix.

The findings are stored by `tugi.access.compliance`; the list reads them, and `evaluate` runs the
full evaluation on demand (the scheduled run and the per-person re-evaluation after each change
keep them current otherwise).

A finding is about one person: reading one (by anyone but that person) or the list filtered by
`person` is a logged read of that person (`access.person.view`, see `tugi.api.person_reads`).
"""

from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django_filters.widgets import BooleanWidget
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tugi.access import compliance
from tugi.access.models import Finding
from tugi.access.views.compliance import may_evaluate
from tugi.api.people import SubtreeFilter, ViewPurposeSerializer
from tugi.api.permissions import ActionPermissions
from tugi.api.person_reads import LOGGED_ONE, OnePersonFilter, PersonViewLogMixin, logged_list
from tugi.api.schema import ApiAutoSchema

VIEW_FINDING = "access.view_finding"


class FixSerializer(serializers.Serializer[Any]):
    """Where the desk fixes a finding."""

    url = serializers.CharField(
        allow_null=True,
        help_text="Path of the web page to do it on; null if there is none. A page of the "
        "person's access carries `?ctx=finding-<id>`: its read is logged with the finding as "
        "the purpose.",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # Declared here: as a class attribute it would hide Field.label.
        fields["label"] = serializers.CharField(help_text="What to do, e.g. “Close the account”.")
        return fields


class FindingSerializer(serializers.ModelSerializer[Finding]):
    """A compliance finding; `resolved_at` is null while it is open."""

    person_name = serializers.CharField(source="person.full_name", read_only=True)
    fix = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = [
            "id",
            "kind",
            "person",
            "person_name",
            "grant",
            "account",
            "rule",
            "detail",
            "first_seen",
            "resolved_at",
            "fix",
        ]
        read_only_fields = fields

    @extend_schema_field(FixSerializer)
    def get_fix(self, finding: Finding) -> dict[str, Any]:
        name, kwargs, label = compliance.fix_hint(finding)
        try:
            url: str | None = reverse(name, kwargs=kwargs) + compliance.fix_context(finding, name)
        except NoReverseMatch:
            url = None  # the page is not there (yet): the label still says what to do
        return {"label": str(label), "url": url}


class EvaluationSerializer(serializers.Serializer[Any]):
    """What a full evaluation found, by finding kind."""

    open = serializers.DictField(
        child=serializers.IntegerField(), help_text="Open findings afterwards."
    )
    opened = serializers.DictField(child=serializers.IntegerField(), help_text="Newly opened.")
    resolved = serializers.DictField(
        child=serializers.IntegerField(), help_text="Resolved, no longer true."
    )
    total_open = serializers.IntegerField()
    total_opened = serializers.IntegerField()
    total_resolved = serializers.IntegerField()


class FindingFilter(django_filters.FilterSet):
    """Filters for the finding list; open findings unless `resolved` says otherwise."""

    kind = django_filters.MultipleChoiceFilter(
        choices=Finding.Kind.choices, distinct=False, help_text="Repeat to allow several kinds."
    )
    person = OnePersonFilter(VIEW_FINDING)
    # field_name only tells the OpenAPI generator the parameter is an id; the filter uses the path.
    org_unit = SubtreeFilter(
        field_name="person__org_unit",
        path_field="person__org_unit__path",
        help_text="Findings about persons in this org unit or any unit below it.",
    )
    resolved = django_filters.BooleanFilter(
        method="filter_resolved",
        help_text="`true`: the resolved ones (history); `false` or absent: the open ones.",
    )

    class Meta:
        model = Finding
        fields = ["kind", "person", "org_unit", "resolved"]

    def filter_queryset(self, queryset: QuerySet[Finding]) -> QuerySet[Finding]:
        if self.form.cleaned_data.get("resolved") is None:
            queryset = queryset.filter(resolved_at__isnull=True)
        return super().filter_queryset(queryset)

    def filter_resolved(
        self, queryset: QuerySet[Finding], name: str, value: bool
    ) -> QuerySet[Finding]:
        return queryset.filter(resolved_at__isnull=not value)


@extend_schema_view(
    list=extend_schema(
        summary="List compliance findings",
        description="Open findings by kind, the oldest first; `resolved=true` for the resolved "
        "ones, the latest resolved first. Each has a `fix`: what to do and the page to do it on."
        + logged_list("`person`", own_rows=False),
        parameters=[ViewPurposeSerializer],
    ),
    retrieve=extend_schema(
        summary="Get a finding",
        description="A read of the person the finding is about. " + LOGGED_ONE,
        parameters=[ViewPurposeSerializer],
    ),
)
class FindingViewSet(PersonViewLogMixin, viewsets.ReadOnlyModelViewSet[Finding]):
    """Compliance findings (read-only), and running the evaluation."""

    read_permission = VIEW_FINDING

    queryset = Finding.objects.select_related("person")
    serializer_class = FindingSerializer
    filterset_class = FindingFilter
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    action_permissions = {
        name: (VIEW_FINDING,) for name in ("list", "retrieve", "metadata", "evaluate")
    }

    @property
    def keyset_ordering(self) -> tuple[str, ...]:
        # Both follow the index (resolved_at, kind, id), so a page is an ordered index range that
        # stops at the page, however many findings there are; ordering the open ones by id alone
        # would sort them all first. An evaluation resolves many findings at one moment, hence the
        # kind and id after it.
        resolved = BooleanWidget().value_from_datadict(self.request.query_params, {}, "resolved")
        if resolved is True:
            return ("-resolved_at", "-kind", "-id")
        return ("kind", "id")

    @extend_schema(
        summary="Evaluate compliance now",
        description="Runs every rule for everyone, opens the new findings and resolves those "
        "no longer true; answers the counts. For the desk and the administrator (with "
        "`access.view_finding` and `access.change_grant` or `access.change_role`). "
        "Takes seconds on a large organisation.",
        request=None,
        responses={200: EvaluationSerializer},
    )
    @action(detail=False, methods=["post"])
    def evaluate(self, request: Request) -> Response:
        # The compliance page's rule, so that the button and the endpoint never disagree.
        if not may_evaluate(request.user):
            raise PermissionDenied
        summary = compliance.evaluate_all(actor=request.user)
        return Response(
            {
                **summary.as_dict(),
                "total_open": summary.total_open,
                "total_opened": summary.total_opened,
                "total_resolved": summary.total_resolved,
            }
        )
