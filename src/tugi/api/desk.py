"""Service-desk resources: cases, their messages and attachments, resolving, escalating, rating.

Every change goes through `tugi.desk.actions`, which checks who may do it, validates everything
first (a ValidationError whose keys name the fields) and writes the audit event; this module only
turns requests into the actions' arguments and their answers back into JSON.

Who sees what (as on the desk pages): the desk (`desk.work_case`) every case and every message;
a domain specialist the cases escalated to a group of theirs, with every message; anyone else only
the cases they are the requester of, with the public messages only (their own and the desk's
replies: never internal notes or mail with third parties). Other cases answer 404.

The case list is in SLA order: cases whose clock runs, soonest due first, then the cases without
a due time (paused, resolved, closed) by id. A database cannot read `status IN (…) ORDER BY
sla_due` in index order, so a page is read per status, as one short ordered range of the
`case_*_due` indexes each, and merged here (see `CasePagination`).
"""

import heapq
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

import django_filters
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django_filters.widgets import BooleanWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
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

from tugi.access.models import TargetSystem
from tugi.api.pagination import KeysetPagination
from tugi.api.permissions import ActionPermissions
from tugi.api.schema import ApiAutoSchema
from tugi.desk import actions
from tugi.desk.models import (
    Attachment,
    Case,
    Escalation,
    Message,
    Queue,
    Rating,
    ReplyTemplate,
)
from tugi.desk.search import search_subjects
from tugi.people.models import Person

WORK = "desk.work_case"
ADD = "desk.add_case"
VIEW = "desk.view_case"
Status = Case.Status
Kind = Message.Kind
ALL_STATUSES: tuple[str, ...] = tuple(str(s) for s in Status)
OPEN_STATUSES: tuple[str, ...] = tuple(str(s) for s in actions.OPEN_STATUSES)
PUBLIC_KINDS = (Kind.FROM_REQUESTER, Kind.REPLY)
# The case list's order; `CasePagination` reads it in parts (see there).
DUE_ORDER = ("sla_due", "id")
PRIORITIES = ((1, "critical"), (2, "high"), (3, "medium"), (4, "low"))
LEVEL_HELP = "1 high, 2 medium, 3 low."
# The messages a POST may add, by who writes them.
POSTABLE_KINDS = (Kind.REPLY, Kind.NOTE, Kind.FROM_REQUESTER)


# --- who sees what ----------------------------------------------------------------------------


def _escalated_to(user: User) -> QuerySet[Escalation]:
    return Escalation.objects.filter(kind=Escalation.Kind.SPECIALISTS, queue__members=user)


def visible_cases(user: User) -> QuerySet[Case]:
    """The cases the user may see: all for the desk, else their own and those escalated to them."""
    if user.has_perm(WORK):
        return Case.objects.all()
    # The requester's person ids as a subquery, so the (requester, id) index serves the filter.
    own = Q(requester_id__in=Person.objects.filter(user_id=user.id).values("pk"))
    if user.has_perm(VIEW):
        own |= Q(pk__in=_escalated_to(user).values("case_id"))
    return Case.objects.filter(own)


def sees_everything(user: User, case: Case) -> bool:
    """Whether the user sees the case's whole history (notes, third-party mail), not only the
    public part its requester sees."""
    if user.has_perm(WORK):
        return True
    return user.has_perm(VIEW) and _escalated_to(user).filter(case_id=case.pk).exists()


def _user(request: Request) -> User:
    # IsAuthenticated has run: the user is a real one.
    return cast(User, request.user)


# --- serializers: what the API answers ---------------------------------------------------------
#
# The read serializers declare their fields for the OpenAPI document and for DRF's own
# representation, but answer with `to_representation` written out: DRF builds and deep-copies
# every field of every serializer on each request and reads each value through two or three calls,
# which for a list of 50 cases costs more than the queries (measured: 1.5 ms to build the fields,
# 0.15 ms a row). The tests compare both representations, so they cannot drift apart.


def _when(value: datetime | None) -> str | None:
    """A datetime exactly as DRF's DateTimeField writes it (ISO 8601, in the current zone)."""
    if value is None:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _user_name(user: User | None) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


def _attachment_url(context: Any, pk: int) -> str:
    path = reverse("api-attachment-detail", kwargs={"pk": pk})
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def _tag_names(case: Case) -> list[str]:
    known = getattr(case, "shown_tags", None)  # set when the names are known without a query
    return list(known) if known is not None else [tag.name for tag in case.tags.all()]


def _attachments_of(message: Message) -> list[Attachment]:
    known = getattr(message, "shown_attachments", None)  # set when known without a query
    return list(known) if known is not None else list(message.attachments.all())


def _author_name(message: Message) -> str | None:
    author = message.author
    if author is None:
        return None
    person = getattr(author, "person", None)
    return str(person) if person is not None else _user_name(author)


class AttachmentSerializer(serializers.ModelSerializer[Attachment]):
    """A file on a message; download it from `url` (with the same credentials)."""

    url = serializers.SerializerMethodField(help_text="Where to download the file.")

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "sha256", "url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, attachment: Attachment) -> str:
        return _attachment_url(self.context, attachment.pk)

    def to_representation(self, instance: Attachment) -> dict[str, Any]:
        return {
            "id": instance.pk,
            "filename": instance.filename,
            "content_type": instance.content_type,
            "size": instance.size,
            "sha256": instance.sha256,
            "url": _attachment_url(self.context, instance.pk),
        }


class MessageSerializer(serializers.ModelSerializer[Message]):
    """One entry in a case's history. `body_html` is the sanitised HTML of mail that came as
    HTML (empty otherwise)."""

    author_name = serializers.SerializerMethodField(help_text="Who wrote it; null for mail.")
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "case",
            "kind",
            "author",
            "author_name",
            "author_email",
            "body",
            "body_html",
            "created_at",
            "attachments",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author_name(self, message: Message) -> str | None:
        return _author_name(message)

    def to_representation(self, instance: Message) -> dict[str, Any]:
        files = AttachmentSerializer(context=self.context)
        return {
            "id": instance.pk,
            "case": instance.case_id,
            "kind": instance.kind,
            "author": instance.author_id,
            "author_name": _author_name(instance),
            "author_email": instance.author_email,
            "body": instance.body,
            "body_html": instance.body_html,
            "created_at": _when(instance.created_at),
            "attachments": [files.to_representation(a) for a in _attachments_of(instance)],
        }


class EscalationSerializer(serializers.ModelSerializer[Escalation]):
    """A tracked sub-case: the case handed to a specialist group or a third party."""

    queue_name = serializers.CharField(source="queue.name", read_only=True, allow_null=True)

    class Meta:
        model = Escalation
        fields = [
            "id",
            "case",
            "kind",
            "queue",
            "queue_name",
            "party_name",
            "party_email",
            "external_reference",
            "external_url",
            "summary",
            "due_at",
            "status",
            "created_by",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Escalation) -> dict[str, Any]:
        queue = instance.queue
        return {
            "id": instance.pk,
            "case": instance.case_id,
            "kind": instance.kind,
            "queue": instance.queue_id,
            "queue_name": queue.name if queue is not None else None,
            "party_name": instance.party_name,
            "party_email": instance.party_email,
            "external_reference": instance.external_reference,
            "external_url": instance.external_url,
            "summary": instance.summary,
            "due_at": _when(instance.due_at),
            "status": instance.status,
            "created_by": instance.created_by_id,
            "created_at": _when(instance.created_at),
            "closed_at": _when(instance.closed_at),
        }


class RatingSerializer(serializers.ModelSerializer[Rating]):
    """The requester's rating of a resolved case (1 poor … 5 excellent)."""

    class Meta:
        model = Rating
        fields = ["score", "comment", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance: Rating) -> dict[str, Any]:
        return {
            "score": instance.score,
            "comment": instance.comment,
            "created_at": _when(instance.created_at),
        }


class CaseSerializer(serializers.ModelSerializer[Case]):
    """A support case (pöördumine), as lists show it."""

    reference = serializers.CharField(read_only=True, help_text="As in mail subjects: Tugi #123.")
    requester_name = serializers.SerializerMethodField()
    requester_email = serializers.SerializerMethodField()
    system_code = serializers.CharField(source="system.code", read_only=True, allow_null=True)
    queue_name = serializers.CharField(source="queue.name", read_only=True)
    assignee_name = serializers.SerializerMethodField()
    impact = serializers.IntegerField(read_only=True, help_text=LEVEL_HELP)
    urgency = serializers.IntegerField(read_only=True, help_text=LEVEL_HELP)
    priority = serializers.IntegerField(
        read_only=True, help_text="1 critical, 2 high, 3 medium, 4 low: from impact × urgency."
    )
    tags = serializers.SlugRelatedField[Any](many=True, read_only=True, slug_field="name")
    sla_breached = serializers.SerializerMethodField(
        help_text="Whether the SLA target the clock runs towards is overdue now."
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "channel",
            "category",
            "impact",
            "urgency",
            "priority",
            "requester",
            "requester_name",
            "requester_email",
            "language",
            "system",
            "system_code",
            "module",
            "queue",
            "queue_name",
            "assignee",
            "assignee_name",
            "tags",
            "parent",
            "duplicate_of",
            "merged_into",
            "sla_due",
            "first_response_due",
            "resolution_due",
            "sla_breached",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_requester_name(self, case: Case) -> str:
        if case.requester is not None:
            return str(case.requester)
        return case.requester_name or case.requester_email

    @extend_schema_field(serializers.EmailField(allow_blank=True))
    def get_requester_email(self, case: Case) -> str:
        return case.requester.email if case.requester is not None else case.requester_email

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_assignee_name(self, case: Case) -> str | None:
        return _user_name(case.assignee)

    @extend_schema_field(serializers.BooleanField())
    def get_sla_breached(self, case: Case) -> bool:
        return case.sla_due is not None and case.sla_due < timezone.now()

    def to_representation(self, instance: Case) -> dict[str, Any]:
        case = instance
        requester, system, assignee = case.requester, case.system, case.assignee
        return {
            "id": case.pk,
            "reference": case.reference,
            "subject": case.subject,
            "status": case.status,
            "channel": case.channel,
            "category": case.category,
            "impact": case.impact,
            "urgency": case.urgency,
            "priority": case.priority,
            "requester": case.requester_id,
            "requester_name": self.get_requester_name(case),
            "requester_email": requester.email if requester is not None else case.requester_email,
            "language": case.language,
            "system": case.system_id,
            "system_code": system.code if system is not None else None,
            "module": case.module,
            "queue": case.queue_id,
            "queue_name": case.queue.name,
            "assignee": case.assignee_id,
            "assignee_name": _user_name(assignee),
            "tags": _tag_names(case),
            "parent": case.parent_id,
            "duplicate_of": case.duplicate_of_id,
            "merged_into": case.merged_into_id,
            "sla_due": _when(case.sla_due),
            "first_response_due": _when(case.first_response_due),
            "resolution_due": _when(case.resolution_due),
            "sla_breached": self.get_sla_breached(case),
            "first_responded_at": _when(case.first_responded_at),
            "resolved_at": _when(case.resolved_at),
            "closed_at": _when(case.closed_at),
            "created_at": _when(case.created_at),
            "updated_at": _when(case.updated_at),
        }


@extend_schema_field({"$ref": "#/components/schemas/CaseStatusEnum"})
class CaseStatusField(serializers.CharField):
    """A case's status, described by the same enum as in the list (one name for one set)."""


class CaseDetailSerializer(CaseSerializer):
    """A case with its history: every message for the desk, the public ones for its requester."""

    status = CaseStatusField(read_only=True)

    messages = MessageSerializer(
        source="shown_messages",
        many=True,
        read_only=True,
        help_text="Oldest first. A requester sees only their own messages and the replies.",
    )
    escalations = EscalationSerializer(
        source="shown_escalations",
        many=True,
        read_only=True,
        help_text="Hand-overs to specialists and third parties; empty for a requester.",
    )
    rating = RatingSerializer(read_only=True, allow_null=True, source="shown_rating")

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "messages", "escalations", "rating"]
        read_only_fields = fields

    def to_representation(self, instance: Case) -> dict[str, Any]:
        shown = cast(Any, instance)
        messages = MessageSerializer(context=self.context)
        escalations = EscalationSerializer(context=self.context)
        rating = shown.shown_rating
        return {
            **super().to_representation(instance),
            "messages": [messages.to_representation(m) for m in shown.shown_messages],
            "escalations": [escalations.to_representation(e) for e in shown.shown_escalations],
            "rating": RatingSerializer().to_representation(rating) if rating else None,
        }


# --- serializers: what clients send ------------------------------------------------------------


def _level(**kwargs: Any) -> serializers.IntegerField:
    # A number, not an enum: impact and urgency share one set of values, which an OpenAPI
    # document could only name twice.
    return serializers.IntegerField(min_value=1, max_value=3, help_text=LEVEL_HELP, **kwargs)


_LANGUAGES = [code for code, _name in settings.LANGUAGES]


class FilesField(serializers.ListField):
    """Files sent as multipart/form-data under one repeated name; checked by the desk actions."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.FileField(allow_empty_file=True))
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "Files (multipart/form-data, the field repeated for several). At most "
            "TUGI_MAX_ATTACHMENT_BYTES each (20 MB by default); documents, images, text, "
            "archives and Estonian signature containers, never programs.",
        )
        super().__init__(**kwargs)


class NewCaseSerializer(serializers.Serializer[Any]):
    """A case to open, with the requester's first message."""

    subject = serializers.CharField(allow_blank=True, help_text="At most 300 characters.")
    body = serializers.CharField(allow_blank=True, help_text="The question or problem.")
    requester = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(),
        required=False,
        allow_null=True,
        help_text="For whom (a person id); default the caller's own person. Only the desk "
        "(`desk.add_case`) opens cases for others.",
    )
    requester_email = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The desk: a requester who is not a known person, by e-mail address.",
    )
    requester_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    system = serializers.PrimaryKeyRelatedField(
        queryset=TargetSystem.objects.all(),
        required=False,
        allow_null=True,
        help_text="The application the case is about.",
    )
    module = serializers.CharField(required=False, allow_blank=True)
    category = serializers.ChoiceField(
        choices=Case.Category.choices, required=False, default=Case.Category.QUESTION
    )
    impact = _level(required=False, default=Case.Level.LOW)
    urgency = _level(required=False, default=Case.Level.LOW)
    language = serializers.ChoiceField(
        choices=_LANGUAGES,
        required=False,
        allow_null=True,
        help_text="Of the requester's mail; default the installation's.",
    )
    queue = serializers.PrimaryKeyRelatedField(
        queryset=Queue.objects.all(),
        required=False,
        allow_null=True,
        help_text="The desk only; default: where the routing rules send it.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="The desk only."
    )
    attachments = FilesField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # Declared here: as a class attribute it would hide Field.parent.
        fields["parent"] = serializers.PrimaryKeyRelatedField(
            queryset=Case.objects.all(),
            required=False,
            allow_null=True,
            help_text="A case this one follows up (e.g. the same problem again).",
        )
        request = self.context.get("request")
        if request is not None:
            user = request.user
            # Only what the caller may see may be named: other ids do not exist for them.
            if not user.has_perm("desk.add_case"):
                cast(Any, fields["requester"]).queryset = Person.objects.filter(user_id=user.pk)
            cast(Any, fields["parent"]).queryset = visible_cases(cast(User, user))
        return fields


class BatchCaseSerializer(serializers.Serializer[Any]):
    """One case of a batch: as a single new case, without attachments or parent; ids as numbers.

    The ids are checked all at once by the view (one query per kind, however many cases), not
    one query per case as a related field would.
    """

    subject = serializers.CharField(allow_blank=True, help_text="At most 300 characters.")
    body = serializers.CharField(allow_blank=True, help_text="The question or problem.")
    requester = serializers.IntegerField(
        required=False, allow_null=True, help_text="A person id; or `requester_email`."
    )
    requester_email = serializers.CharField(required=False, allow_blank=True)
    requester_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    system = serializers.IntegerField(required=False, allow_null=True)
    module = serializers.CharField(required=False, allow_blank=True)
    category = serializers.ChoiceField(
        choices=Case.Category.choices, required=False, default=Case.Category.QUESTION
    )
    impact = _level(required=False, default=Case.Level.LOW)
    urgency = _level(required=False, default=Case.Level.LOW)
    language = serializers.ChoiceField(choices=_LANGUAGES, required=False, allow_null=True)
    queue = serializers.IntegerField(
        required=False, allow_null=True, help_text="Default: where the routing rules send it."
    )
    tags = serializers.ListField(child=serializers.CharField(), required=False)


class BatchSerializer(serializers.Serializer[Any]):
    """Cases to open together: all are opened, or none."""

    cases: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=BatchCaseSerializer(),
        max_length=actions.MAX_BATCH,
        help_text=f"1 to {actions.MAX_BATCH} cases, opened in this order.",
    )


class BatchResultSerializer(serializers.ModelSerializer[Case]):
    """A case the batch opened: where it went and when it is due."""

    reference = serializers.CharField(read_only=True)
    status = CaseStatusField(read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "status",
            "priority",
            "queue",
            "assignee",
            "first_response_due",
            "resolution_due",
        ]


@extend_schema_serializer(component_name="Case")
class CaseChangeSerializer(serializers.Serializer[Any]):
    """What to change; omitted fields stay as they are. The desk only."""

    status = serializers.ChoiceField(
        choices=Status.choices,
        required=False,
        help_text="`open`, `waiting_requester` (pauses the SLA clock), `waiting_third_party`, "
        "or `closed` (a resolved case). Resolving and reopening have their own endpoints.",
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why the status changes."
    )
    impact = _level(required=False)
    urgency = _level(required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="A user id; null: nobody.",
    )
    queue = serializers.PrimaryKeyRelatedField(queryset=Queue.objects.all(), required=False)
    tags = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="All the tags, replacing the present ones.",
    )
    category = serializers.ChoiceField(
        choices=Case.Category.choices,
        required=False,
        help_text="A new category brings the SLA policy of that category (due times recomputed "
        "from the working time already used).",
    )
    system = serializers.PrimaryKeyRelatedField(
        queryset=TargetSystem.objects.all(),
        required=False,
        allow_null=True,
        help_text="The application; null: none. Its module is cleared unless `module` is sent.",
    )
    module = serializers.CharField(required=False, allow_blank=True, max_length=100)
    reroute = serializers.BooleanField(
        required=False,
        default=False,
        help_text="With `category`, `system` or `module`: route the case again by the routing "
        "rules (it moves to the queue they choose).",
    )
    requester = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(),
        required=False,
        help_text="A case from an unknown e-mail sender (`requester` null): the person who wrote "
        "it. A case that has a requester refuses (400 on `requester`).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "priority" in self.initial_data:
            raise exceptions.ValidationError(
                {"priority": [_("The priority follows from impact and urgency: change those.")]}
            )
        return attrs


# Named as the response component, so that the OpenAPI document sees one set of kinds (the
# others are refused with a 400 on `kind`).
@extend_schema_serializer(component_name="Message")
class MessageInputSerializer(serializers.Serializer[Any]):
    """A message to add to the case."""

    kind = serializers.ChoiceField(
        choices=Kind.choices,
        required=False,
        help_text="`reply` (public, mailed to the requester; the desk), `note` (internal; the "
        "desk and the specialists the case is escalated to), `from_requester` (the requester, "
        "or the desk for what the requester said by phone). Default: `reply` for the desk, "
        "`note` for a specialist, `from_requester` for the requester.",
    )
    body = serializers.CharField(allow_blank=True, required=False, default="")
    set_status = serializers.ChoiceField(
        choices=[Status.OPEN, Status.WAITING_REQUESTER],
        required=False,
        allow_null=True,
        help_text="With a reply: the status after it (`waiting_requester` pauses the SLA).",
    )
    template = serializers.PrimaryKeyRelatedField(
        queryset=ReplyTemplate.objects.all(),
        required=False,
        allow_null=True,
        help_text="With a reply: a reply template; its placeholders are filled in, and an "
        "empty body takes its text.",
    )
    attachments = FilesField()


class ResolveSerializer(serializers.Serializer[Any]):
    """The resolution, mailed to the requester; the case's open children are resolved with it."""

    resolution = serializers.CharField(allow_blank=True)


class ReopenSerializer(serializers.Serializer[Any]):
    """Why the case is reopened."""

    reason = serializers.CharField(allow_blank=True)


@extend_schema_serializer(component_name="Escalation")
class EscalateSerializer(serializers.Serializer[Any]):
    """To whom the case is handed, and what we ask."""

    kind = serializers.ChoiceField(choices=Escalation.Kind.choices)
    queue = serializers.PrimaryKeyRelatedField(
        queryset=Queue.objects.all(),
        required=False,
        allow_null=True,
        help_text="`specialists`: the specialist group.",
    )
    party_name = serializers.CharField(required=False, allow_blank=True, default="")
    party_email = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="`third_party`: their address."
    )
    summary = serializers.CharField(
        allow_blank=True, help_text="What we ask: the only text the other side receives."
    )
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    external_reference = serializers.CharField(required=False, allow_blank=True, default="")
    external_url = serializers.CharField(required=False, allow_blank=True, default="")


class RateSerializer(serializers.Serializer[Any]):
    """The requester's rating of their resolved case."""

    score = serializers.IntegerField(min_value=1, max_value=5, help_text="1 poor … 5 excellent.")
    comment = serializers.CharField(required=False, allow_blank=True, default="")


def _valid(serializer: serializers.Serializer[Any]) -> Any:
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _files(request: Request) -> list[Any]:
    return list(request.FILES.getlist("attachments")) if request.FILES else []


def _by_position(errors: Any) -> Any:
    """A batch's field errors keyed `3.subject`, as the action names them, not nested."""
    cases = errors.get("cases") if isinstance(errors, dict) else None
    if isinstance(cases, list) and all(isinstance(e, dict) for e in cases):
        cases = dict(enumerate(cases))
    if not isinstance(cases, dict):
        return errors  # about the whole list (missing, not a list, too long)
    flat: dict[str, Any] = {}
    for position, fields in cases.items():
        if isinstance(position, int) and isinstance(fields, dict):
            flat.update({f"{position}.{field}": msgs for field, msgs in fields.items()})
        else:  # about the list as a whole (too long)
            flat.setdefault("cases", []).extend(fields)
    return flat


def _batch_specs(items: list[dict[str, Any]]) -> list[actions.NewCase]:
    """The batch's cases as the action takes them; unknown ids refused by position."""

    def ids(field: str) -> set[int]:
        return {item[field] for item in items if item.get(field) is not None}

    found: dict[str, tuple[dict[int, Any], str]] = {
        "requester": (Person.objects.in_bulk(ids("requester")), _("No person has this id.")),
        "system": (TargetSystem.objects.in_bulk(ids("system")), _("No application has this id.")),
        "queue": (Queue.objects.in_bulk(ids("queue")), _("No queue has this id.")),
    }
    errors: dict[str, list[str]] = {}
    specs = []
    for position, item in enumerate(items):
        named = {}
        for field, (rows, unknown) in found.items():
            pk = item.get(field)
            if pk is not None and pk not in rows:
                errors[f"{position}.{field}"] = [unknown]
            named[field] = rows.get(pk) if pk is not None else None
        specs.append(
            actions.NewCase(
                channel=Case.Channel.API,
                subject=item["subject"],
                body=item["body"],
                requester=named["requester"],
                requester_email=item.get("requester_email", ""),
                requester_name=item.get("requester_name", ""),
                system=named["system"],
                module=item.get("module", ""),
                category=item["category"],
                impact=int(item["impact"]),
                urgency=int(item["urgency"]),
                queue=named["queue"],
                language=item.get("language"),
                tags=item.get("tags", ()),
            )
        )
    if errors:
        raise exceptions.ValidationError(errors)
    return specs


# --- filters ----------------------------------------------------------------------------------


def _rows_of(model: type[Any]) -> Callable[[Any], QuerySet[Any]]:
    # A callable rather than a queryset: every request deep-copies the filters, and copying four
    # querysets cost more than the case query itself.
    return lambda request: model._default_manager.all()


class CaseFilter(django_filters.FilterSet):
    """Filters for the case list; they combine with AND."""

    queue = django_filters.ModelChoiceFilter(queryset=_rows_of(Queue))
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices, distinct=False, help_text="Repeat to allow several statuses."
    )
    is_open = django_filters.BooleanFilter(
        method="filter_is_open",
        help_text="`true`: new, open or waiting; `false`: resolved or closed.",
    )
    assignee = django_filters.ModelChoiceFilter(
        queryset=_rows_of(User),
        null_label="unassigned",
        help_text="A user id, or `null` for the unassigned cases.",
    )
    mine = django_filters.BooleanFilter(
        method="filter_mine", help_text="`true`: the cases assigned to the caller."
    )
    requester = django_filters.ModelChoiceFilter(queryset=_rows_of(Person))
    priority = django_filters.TypedMultipleChoiceFilter(
        choices=PRIORITIES,
        coerce=int,
        distinct=False,
        help_text="1 critical … 4 low; repeat for several.",
    )
    system = django_filters.ModelChoiceFilter(queryset=_rows_of(TargetSystem))
    category = django_filters.MultipleChoiceFilter(
        choices=Case.Category.choices, distinct=False, help_text="Repeat for several."
    )
    channel = django_filters.ChoiceFilter(choices=Case.Channel.choices)
    tag = django_filters.CharFilter(method="filter_tag", help_text="A tag's name.")
    sla_breached = django_filters.BooleanFilter(
        method="filter_sla_breached",
        help_text="`true`: the SLA target the clock runs towards is overdue now; `false`: not.",
    )
    q = django_filters.CharFilter(
        method="filter_q",
        help_text="Words that must all occur in the subject (case is ignored), or a case "
        "number (`123`, `#123`, `Tugi #123`).",
    )

    class Meta:
        model = Case
        fields = [
            "queue",
            "status",
            "is_open",
            "assignee",
            "mine",
            "requester",
            "priority",
            "system",
            "category",
            "channel",
            "tag",
            "sla_breached",
            "q",
        ]

    def filter_is_open(self, queryset: QuerySet[Case], name: str, value: bool) -> QuerySet[Case]:
        if value:
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.exclude(status__in=OPEN_STATUSES)

    def filter_mine(self, queryset: QuerySet[Case], name: str, value: bool) -> QuerySet[Case]:
        user = getattr(self.request, "user", None)
        if user is None:
            return queryset.none()
        if value:
            return queryset.filter(assignee_id=user.pk)
        return queryset.exclude(assignee_id=user.pk)

    def filter_tag(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        value = " ".join(value.split())
        if not value:
            return queryset
        tagged = Case.tags.through.objects.filter(tag__name__iexact=value).values("case_id")
        return queryset.filter(pk__in=tagged)

    def filter_sla_breached(
        self, queryset: QuerySet[Case], name: str, value: bool
    ) -> QuerySet[Case]:
        now = timezone.now()
        if value:
            return queryset.filter(sla_due__lt=now)
        return queryset.filter(Q(sla_due__isnull=True) | Q(sla_due__gte=now))

    def filter_q(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        text = " ".join(value.split())
        number = text.lower().removeprefix("tugi").strip().lstrip("#").strip()
        if number.isdigit():
            return queryset.filter(pk=int(number))
        # Through the subject index (`tugi.desk.search`): a rare word's few matches by id,
        # counted among the statuses the list asks for.
        statuses = requested_statuses(self.request) if self.request is not None else ALL_STATUSES
        found = search_subjects(text, statuses=None if statuses == ALL_STATUSES else statuses)
        return queryset.filter(found.condition) if found is not None else queryset


def requested_statuses(request: Request) -> tuple[str, ...]:
    """The statuses a list request can include, from its `status` and `is_open` parameters.

    The filter itself has already narrowed the queryset (and answered 400 for a bad value); this
    only tells the paginator which per-status index ranges are worth reading.
    """
    given = [s for s in request.query_params.getlist("status") if s in ALL_STATUSES]
    statuses = tuple(s for s in ALL_STATUSES if not given or s in given)
    is_open = BooleanWidget().value_from_datadict(request.query_params, {}, "is_open")
    if is_open is True:
        statuses = tuple(s for s in statuses if s in OPEN_STATUSES)
    elif is_open is False:
        statuses = tuple(s for s in statuses if s not in OPEN_STATUSES)
    return statuses


# --- pagination -------------------------------------------------------------------------------


class CasePagination(KeysetPagination):
    """Keyset pages in SLA order: due cases soonest first, then those without a due time by id.

    `sla_due` is null when no clock runs, which the plain keyset cannot order by, and a status
    filter is an IN list, which no index reads in `sla_due` order. So a page is read in two
    regions — rows with a due time by (sla_due, id), then rows without one by id — and within
    each, per status, as an ordered range of an index that starts with equalities: (queue,
    status, sla_due, id), (assignee, status, sla_due, id) or (status, sla_due, id). Each range
    stops after a page; the ranges are merged here and the page's rows loaded by id. A due time
    exists only while a clock runs, i.e. in the open statuses, so the closed ones are read only
    once the due rows run out. The cursor is [sla_due or "", id].

    Other orders (a case's messages) are paged as by `KeysetPagination`.
    """

    def paginate_queryset(
        self,
        queryset: QuerySet[Any] | Sequence[Any],
        request: Request,
        view: Any = None,
    ) -> list[Any]:
        if tuple(self.get_ordering(view)) != DUE_ORDER or not isinstance(queryset, QuerySet):
            return super().paginate_queryset(queryset, request, view)
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.ordering = DUE_ORDER
        statuses: tuple[str, ...] = getattr(view, "case_statuses", ALL_STATUSES)
        cursor = self.decode_cursor(request)
        backwards = cursor is not None and cursor[1]
        key: tuple[datetime | str | None, int] | None = None
        if cursor is not None:
            due, pk = cursor[0]
            if not isinstance(pk, int):
                raise exceptions.ValidationError(
                    {self.cursor_query_param: [_("This cursor is not valid.")]}
                )
            when = parse_datetime(due) if isinstance(due, str) and due else None
            if due and when is None:
                raise exceptions.ValidationError(
                    {self.cursor_query_param: [_("This cursor is not valid.")]}
                )
            key = (when, pk)
        want = self.page_size + 1
        keys = self._keys(queryset.order_by(), statuses, key, not backwards, want)
        more = len(keys) > self.page_size
        keys = keys[: self.page_size]
        if backwards:
            keys.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, cursor is not None
        by_id = _case_rows(queryset).in_bulk([pk for _null, _due, pk in keys])
        self.page = [by_id[pk] for _null, _due, pk in keys if pk in by_id]
        _attach_tag_names(self.page)
        return self.page

    def encode_cursor(self, values: list[Any], backwards: bool) -> str:
        return super().encode_cursor(["" if v is None else v for v in values], backwards)

    @staticmethod
    def _keys(
        queryset: QuerySet[Case],
        statuses: tuple[str, ...],
        key: tuple[Any, int] | None,
        forward: bool,
        want: int,
    ) -> list[tuple[int, Any, int]]:
        """Up to `want` (no-due flag, due, id) keys after `key` in the direction of travel."""
        due_order = DUE_ORDER if forward else ("-sla_due", "-id")
        pick = heapq.nsmallest if forward else heapq.nlargest
        after_null = key is not None and key[0] is None

        def due_rows() -> list[tuple[int, Any, int]]:
            found: list[tuple[int, Any, int]] = []
            for s in statuses:
                if s not in OPEN_STATUSES:
                    continue
                part = queryset.filter(status=s, sla_due__isnull=False)
                if key is not None and key[0] is not None:
                    part = part.filter(_beyond(key[0], key[1], forward))
                rows = part.order_by(*due_order).values_list("sla_due", "id")[:want]
                found.extend((0, due, pk) for due, pk in rows)
            return found

        def other_rows(need: int) -> list[tuple[int, Any, int]]:
            found: list[tuple[int, Any, int]] = []
            for s in statuses:
                part = queryset.filter(status=s, sla_due__isnull=True)
                if after_null:
                    part = part.filter(**{"id__gt" if forward else "id__lt": key[1]})  # type: ignore[index]
                # By (sla_due, id): by id here (sla_due is null), and the index's own order, so
                # that no planner walks the primary key through every case instead.
                rows = part.order_by(*due_order).values_list("id", flat=True)
                found.extend((1, None, pk) for pk in rows[:need])
            return found

        def order(k: tuple[int, Any, int]) -> tuple[int, Any, int]:
            # Rows without a due time sort after all the others; compare their ids only.
            return (k[0], k[1] if k[0] == 0 else 0, k[2])

        regions = (
            (["other"] if after_null else ["due", "other"])
            if forward
            else (["other", "due"] if after_null else ["due"])
        )
        keys: list[tuple[int, Any, int]] = []
        for region in regions:
            keys.extend(due_rows() if region == "due" else other_rows(want - len(keys)))
            keys = pick(want, keys, key=order)
            if len(keys) >= want:
                break
        return keys


def _beyond(due: datetime, pk: int, forward: bool) -> Q:
    """Rows with a due time strictly after (due, pk) in the direction of travel."""
    op = "gt" if forward else "lt"
    # The leading range on sla_due alone lets the index scan start at the cursor.
    return Q(**{f"sla_due__{op}e": due}) & (
        Q(**{f"sla_due__{op}": due}) | Q(sla_due=due, **{f"id__{op}": pk})
    )


# --- views ------------------------------------------------------------------------------------


def _case_rows(queryset: QuerySet[Case]) -> QuerySet[Case]:
    """Cases with what the list shows, for a page's ids (never for an ordered scan).

    Joined: the rows are found by id, so the joins cannot mislead a planner into sorting the
    table (the reason other lists fetch relations per query).
    """
    return queryset.select_related("requester", "system", "queue", "assignee").only(*_ROW_FIELDS)


# What a list row shows: the case's own columns, and of its relations only the names.
_ROW_FIELDS = (
    *(f.attname for f in Case._meta.concrete_fields if f.attname not in {"thread_root"}),
    "requester__first_name",
    "requester__last_name",
    "requester__email",
    "system__code",
    "queue__name",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__username",
)


def _attach_tag_names(cases: Sequence[Case]) -> None:
    """The tags of a page of cases in one query (a prefetch would build a manager per case)."""
    names: dict[int, list[str]] = {case.pk: [] for case in cases}
    if names:
        rows = (
            Case.tags.through.objects.filter(case_id__in=list(names))
            .order_by("tag__name")
            .values_list("case_id", "tag__name")
        )
        for case_id, name in rows:
            names[case_id].append(name)
    for case in cases:
        cast(Any, case).shown_tags = names[case.pk]


def _default_kind(user: User, case: Case) -> str:
    if user.has_perm(WORK):
        return Kind.REPLY
    if actions.can_note(user, case) and not actions.is_requester(user, case):
        return Kind.NOTE
    return Kind.FROM_REQUESTER


_CASE_LIST_DESCRIPTION = (
    "In SLA order: cases whose clock runs, the soonest due first; then those without a due time "
    "(waiting for the requester, resolved, closed) by id. The desk sees every case; a specialist "
    "the cases escalated to a group of theirs; anyone else only the cases they asked. The desk's "
    "queue is e.g. `?queue=3&is_open=true` or `?mine=true&is_open=true`."
)


@extend_schema_view(
    list=extend_schema(summary="List cases", description=_CASE_LIST_DESCRIPTION),
    retrieve=extend_schema(
        summary="Get a case with its history",
        description="The desk and the specialists see every message; a requester only their own "
        "messages and the replies (never internal notes or mail with third parties).",
        responses={200: CaseDetailSerializer},
    ),
)
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Case]):
    """Support cases (pöördumised): opened by anyone for themselves, worked by the desk."""

    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    pagination_class = CasePagination
    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    # Who may see a case is decided by the queryset; what may be done to it by the actions, which
    # check again. The desk-only endpoints are refused here first, before their input is read.
    action_permissions: dict[str, tuple[str, ...]] = {
        "list": (),
        "retrieve": (),
        "metadata": (),
        "create": (),
        "batch": (ADD,),
        "partial_update": (WORK,),
        "messages": (),
        "resolve": (WORK,),
        "escalate": (WORK,),
        "reopen": (),
        "rating": (),
    }
    case_statuses: tuple[str, ...] = ALL_STATUSES

    @property
    def keyset_ordering(self) -> tuple[str, ...]:
        return ("id",) if self.action == "messages" else DUE_ORDER

    def get_queryset(self) -> QuerySet[Case]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no user
            return Case.objects.none()
        # The list loads the relations of its page itself (`CasePagination`); the other actions
        # load what they need.
        return visible_cases(_user(self.request))

    def filter_queryset(self, queryset: QuerySet[Case, Any]) -> QuerySet[Case, Any]:
        # The list's filters are about which cases to list, not about one case's sub-resources.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.case_statuses = requested_statuses(request)
        return super().list(request, *args, **kwargs)

    # --- one case, answered -------------------------------------------------------------------

    def _detail(self, pk: Any) -> Case:
        """The case read afresh, with the history the caller may see (404 if they may not)."""
        user = _user(self.request)
        try:
            fresh = (
                visible_cases(user)
                .select_related("requester", "system", "queue", "assignee", "rating")
                .prefetch_related("tags")
                .get(pk=int(pk))
            )
        except (Case.DoesNotExist, ValueError, TypeError):
            raise exceptions.NotFound() from None
        everything = sees_everything(user, fresh)
        messages = fresh.messages.select_related("author__person").prefetch_related("attachments")
        if not everything:
            messages = messages.filter(kind__in=PUBLIC_KINDS)
        shown = cast(Any, fresh)
        shown.shown_messages = list(messages.order_by("id"))
        shown.shown_escalations = (
            list(fresh.escalations.select_related("queue").order_by("id")) if everything else []
        )
        try:
            shown.shown_rating = fresh.rating
        except Rating.DoesNotExist:
            shown.shown_rating = None
        return fresh

    def _answer(self, case: Case, code: int = status.HTTP_200_OK) -> Response:
        data = CaseDetailSerializer(self._detail(case.pk), context=self.get_serializer_context())
        return Response(data.data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        detail = self._detail(kwargs.get(self.lookup_url_kwarg or self.lookup_field))
        data = CaseDetailSerializer(detail, context=self.get_serializer_context())
        return Response(data.data)

    # --- opening and changing -----------------------------------------------------------------

    @extend_schema(
        summary="Open a case",
        description="Opens a case with the requester's first message (channel `api`): routed to "
        "a queue, its SLA clock started, an acknowledgement mailed to the requester. The "
        "requester is the caller's own person unless the desk (`desk.add_case`) names someone "
        "(`requester`, or `requester_email` for someone who is not a known person). JSON, or "
        "multipart/form-data with `attachments`. Everything is checked before anything is "
        "saved; a 400 names each bad field.",
        request=NewCaseSerializer,
        responses={201: CaseDetailSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _user(request)
        given = _valid(NewCaseSerializer(data=request.data, context={"request": request}))
        requester = given.get("requester")
        requester_email = given.get("requester_email", "")
        files = _files(request)
        if requester is None and not requester_email.strip():
            requester = actions.person_of(user)
        case = actions.create_case(
            user,
            channel=Case.Channel.API,
            subject=given["subject"],
            body=given["body"],
            requester=requester,
            requester_email=requester_email,
            requester_name=given.get("requester_name", ""),
            system=given.get("system"),
            module=given.get("module", ""),
            category=given["category"],
            impact=int(given["impact"]),
            urgency=int(given["urgency"]),
            queue=given.get("queue"),
            tags=given.get("tags", ()),
            language=given.get("language"),
            parent=given.get("parent"),
            attachments=files,
        )
        # The new case is all in memory (the action set its relations and keeps its first
        # message); only the files and the tags' spelling are read back. Nothing else can hang
        # off it yet.
        shown = cast(Any, case)
        if files:
            messages = Message.objects.filter(case_id=case.pk).select_related("author__person")
            shown.shown_messages = list(messages.prefetch_related("attachments").order_by("id"))
        else:
            first = shown.first_message
            first.shown_attachments = []
            shown.shown_messages = [first]
        shown.shown_escalations, shown.shown_rating = [], None
        shown.shown_tags = (
            sorted(case.tags.values_list("name", flat=True)) if given.get("tags") else []
        )
        data = CaseDetailSerializer(case, context=self.get_serializer_context())
        return Response(data.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Open many cases at once",
        description="The desk (`desk.add_case`): an integration's batch of up to "
        f"{actions.MAX_BATCH} cases, each as for opening one case but without attachments. All "
        "are checked first; when any is wrong nothing is opened and the 400 names the position "
        "and the field (`3.subject`). Otherwise all are opened in one transaction, routed, their "
        "SLA clocks started and each requester acknowledged by mail; the answer lists them in "
        "the order sent.",
        request=BatchSerializer,
        responses={201: BatchResultSerializer(many=True)},
    )
    @action(detail=False, methods=["post"])
    def batch(self, request: Request) -> Response:
        batch = BatchSerializer(data=request.data)
        if not batch.is_valid():
            raise exceptions.ValidationError(_by_position(batch.errors))
        specs = _batch_specs(batch.validated_data["cases"])
        cases = actions.create_cases(_user(request), specs)
        return Response(
            BatchResultSerializer(cases, many=True).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Change a case's status, priority, classification, requester, assignee, queue or "
        "tags",
        description="The desk. Each change goes through its own desk action (requester, "
        "category/application/module, assignment, impact/urgency, tags, status), all in one "
        "transaction: nothing is saved when anything is refused. The priority follows from "
        "impact and urgency, the SLA policy from the priority and the category; a new policy "
        "recomputes the SLA due times. `reroute` sends the case where the routing rules send "
        "it now; an explicit `queue` or `assignee` in the same request wins.",
        request=CaseChangeSerializer,
        responses={200: CaseDetailSerializer},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case = self.get_object()
        user = _user(request)
        given = _valid(CaseChangeSerializer(data=request.data))
        with transaction.atomic():
            if "requester" in given:
                actions.link_requester(user, case, given["requester"])
            about = {k: given[k] for k in ("category", "system", "module") if k in given}
            if about or given["reroute"]:
                actions.classify(user, case, **about, reroute=given["reroute"])
            moves = {k: given[k] for k in ("queue", "assignee") if k in given}
            if moves:
                actions.assign(user, case, **moves)
            if "impact" in given or "urgency" in given:
                actions.set_priority(
                    user,
                    case,
                    impact=int(given.get("impact", case.impact)),
                    urgency=int(given.get("urgency", case.urgency)),
                )
            if "tags" in given:
                actions.set_tags(user, case, given["tags"])
            if "status" in given:
                self._set_status(user, case, given["status"], given["reason"])
        return self._answer(case)

    @staticmethod
    def _set_status(user: User, case: Case, wanted: str, reason: str) -> None:
        case.refresh_from_db(fields=["status"])
        if wanted == case.status:
            return
        if wanted == Status.CLOSED:
            actions.close(user, case)
        elif wanted == Status.RESOLVED:
            raise DjangoValidationError(
                {"status": _("Resolve the case with POST …/resolve/ and the resolution.")}
            )
        elif case.status in actions.DONE_STATUSES:
            raise DjangoValidationError(
                {"status": _("Reopen the case with POST …/reopen/ and the reason.")}
            )
        else:
            actions.set_status(user, case, wanted, reason=reason)

    # --- messages -----------------------------------------------------------------------------

    @extend_schema(
        methods=["GET"],
        summary="List a case's messages",
        description="Oldest first. A requester sees only their own messages and the replies.",
        responses={200: MessageSerializer(many=True)},
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a message to a case",
        description="A reply (the desk; mailed to the requester, the first one stops the "
        "first-response clock), an internal note (the desk, or a specialist the case is "
        "escalated to), or the requester's message (which reopens a resolved case and restarts "
        "a paused clock). JSON, or multipart/form-data with `attachments`.",
        request=MessageInputSerializer,
        responses={201: MessageSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        user = _user(request)
        if request.method == "GET":
            messages = (
                Message.objects.filter(case_id=case.pk)
                .select_related("author__person")
                .prefetch_related("attachments")
            )
            if not sees_everything(user, case):
                messages = messages.filter(kind__in=PUBLIC_KINDS)
            paginator = self.paginator
            assert paginator is not None  # the API always pages
            page = paginator.paginate_queryset(messages, request, view=self)
            data = MessageSerializer(page, many=True, context=self.get_serializer_context())
            return paginator.get_paginated_response(data.data)

        given = _valid(MessageInputSerializer(data=request.data))
        kind = given.get("kind") or _default_kind(user, case)
        if kind not in POSTABLE_KINDS:
            raise exceptions.ValidationError(
                {
                    "kind": [
                        _("Choose one of: %(choices)s.") % {"choices": ", ".join(POSTABLE_KINDS)}
                    ]
                }
            )
        body, files = given["body"], _files(request)
        if kind != Kind.REPLY and (given.get("set_status") or given.get("template")):
            field = "set_status" if given.get("set_status") else "template"
            raise exceptions.ValidationError({field: [_("This goes only with a reply.")]})
        if kind == Kind.REPLY:
            message = actions.reply(
                user,
                case,
                body,
                template=given.get("template"),
                set_status=given.get("set_status"),
                attachments=files,
            )
        elif kind == Kind.NOTE:
            message = actions.add_note(user, case, body, attachments=files)
        else:
            message = actions.add_requester_message(case, body=body, author=user, attachments=files)
        fresh = (
            Message.objects.select_related("author__person")
            .prefetch_related("attachments")
            .get(pk=message.pk)
        )
        data = MessageSerializer(fresh, context=self.get_serializer_context())
        return Response(data.data, status=status.HTTP_201_CREATED)

    # --- the case's life ----------------------------------------------------------------------

    @extend_schema(
        summary="Resolve a case",
        description="The desk. The resolution is a public reply mailed to the requester; the "
        "SLA clock stops; the case's open child cases are resolved with it (one message each). "
        "A case that is not open is a 400 on `status`.",
        request=ResolveSerializer,
        responses={200: CaseDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        given = _valid(ResolveSerializer(data=request.data))
        actions.resolve(_user(request), case, resolution=given["resolution"])
        return self._answer(case)

    @extend_schema(
        summary="Reopen a resolved case",
        description="The desk (also a closed case) or the case's requester (a resolved one); "
        "the SLA clock runs on.",
        request=ReopenSerializer,
        responses={200: CaseDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        given = _valid(ReopenSerializer(data=request.data))
        actions.reopen(_user(request), case, given["reason"])
        return self._answer(case)

    @extend_schema(
        summary="Escalate a case",
        description="The desk hands the case to a specialist group (`kind=specialists`, `queue`; "
        "they see it and add internal notes) or to a third party (`kind=third_party`, "
        "`party_email`; mailed only the `summary`, never the requester's messages or internal "
        "notes; the case then waits for the third party, its SLA clock still running).",
        request=EscalateSerializer,
        responses={201: EscalationSerializer},
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        given = _valid(EscalateSerializer(data=request.data))
        escalation = actions.escalate(_user(request), case, **given)
        escalation = Escalation.objects.select_related("queue").get(pk=escalation.pk)
        return Response(EscalationSerializer(escalation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rate a resolved case",
        description="The case's requester: a score from 1 to 5 and an optional comment, once "
        "the case is resolved; it can be changed for 30 days after the resolution.",
        request=RateSerializer,
        responses={200: RatingSerializer},
    )
    @action(detail=True, methods=["post"])
    def rating(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        given = _valid(RateSerializer(data=request.data))
        rating = actions.rate(_user(request), case, score=given["score"], comment=given["comment"])
        return Response(RatingSerializer(rating).data)


def visible_attachments(user: User) -> QuerySet[Attachment]:
    """Files of the messages the user may see (a requester: those of the public messages)."""
    attachments = Attachment.objects.all()
    if user.has_perm(WORK):
        return attachments
    own = Q(
        message__case__requester_id__in=Person.objects.filter(user_id=user.id).values("pk"),
        message__kind__in=PUBLIC_KINDS,
    )
    if user.has_perm(VIEW):
        own |= Q(message__case_id__in=_escalated_to(user).values("case_id"))
    return attachments.filter(own)


class AttachmentViewSet(viewsets.GenericViewSet[Attachment]):
    """Files on case messages, served only as downloads."""

    permission_classes = [IsAuthenticated, ActionPermissions]
    schema = ApiAutoSchema()
    action_permissions: dict[str, tuple[str, ...]] = {"retrieve": (), "metadata": ()}

    def get_queryset(self) -> QuerySet[Attachment]:
        if getattr(self, "swagger_fake_view", False):
            return Attachment.objects.none()
        return visible_attachments(cast(User, self.request.user))

    @extend_schema(
        summary="Download an attachment",
        description="The file as it was checked and stored, always as a download "
        "(`Content-Disposition: attachment`) with the type its extension allows, never shown in "
        "the browser. Only a file of a message the caller may see; others answer 404.",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The file."
            )
        },
    )
    def retrieve(self, request: Request, pk: str | None = None) -> FileResponse:
        attachment = self.get_object()
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise exceptions.NotFound(_("The file is no longer kept.")) from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.filename,
            content_type=attachment.content_type,
        )
        # Never rendered in place, never cached on the way: files may carry personal data.
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response
