"""The service desk: cases (pöördumine) with their messages, queues, SLA clocks and escalations.

SLA due times are stored (and indexed) on the case when they are computed, so the queue sorted by
"breaching soonest" is an index scan; the clock is kept in working seconds used so far, and a
pause (waiting for the requester) simply stops adding to it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tugi.access.models import TargetSystem
from tugi.people.models import Person


class Queue(models.Model):
    """A work queue of the desk or of a group of domain specialists."""

    class Kind(models.TextChoices):
        DESK = "desk", _("support desk")
        SPECIALISTS = "specialists", _("domain specialists")

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.DESK)
    email = models.EmailField(
        _("e-mail address"), blank=True, help_text=_("Mail to this address lands in the queue.")
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="queues"
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """Agreed targets for a priority (and optionally a category), in working minutes."""

    name = models.CharField(_("name"), max_length=200)
    priority = models.PositiveSmallIntegerField(_("priority"))
    category = models.CharField(_("category"), max_length=20, blank=True)
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (working minutes)")
    )
    resolution_minutes = models.PositiveIntegerField(_("resolution within (working minutes)"))
    warn_before_minutes = models.PositiveIntegerField(
        _("warn this many working minutes before"), default=60
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["priority", "category"]
        constraints = [
            models.UniqueConstraint(fields=["priority", "category"], name="sla_policy_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A free label on cases."""

    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    """A support case (pöördumine): someone's question or problem with one of the applications."""

    class Channel(models.TextChoices):
        PORTAL = "portal", _("portal")
        EMAIL = "email", _("e-mail")
        PHONE = "phone", _("phone")
        API = "api", _("API")

    class Category(models.TextChoices):
        QUESTION = "question", _("question")
        MALFUNCTION = "malfunction", _("malfunction")
        DATA = "data", _("data problem")
        ACCESS = "access", _("access")

    class Level(models.IntegerChoices):
        HIGH = 1, _("high")
        MEDIUM = 2, _("medium")
        LOW = 3, _("low")

    class Status(models.TextChoices):
        NEW = "new", _("new")
        OPEN = "open", _("open")
        WAITING_REQUESTER = "waiting_requester", _("waiting for the requester")
        WAITING_THIRD_PARTY = "waiting_third_party", _("waiting for a third party")
        RESOLVED = "resolved", _("resolved")
        CLOSED = "closed", _("closed")

    subject = models.CharField(_("subject"), max_length=300)
    requester = models.ForeignKey(
        Person,
        verbose_name=_("requester"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    # Mail from someone who is not (yet) a known person is kept by address.
    requester_email = models.EmailField(_("requester's e-mail"), blank=True)
    requester_name = models.CharField(_("requester's name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=5, default="et")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    system = models.ForeignKey(
        TargetSystem,
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    module = models.CharField(_("module"), max_length=100, blank=True)
    category = models.CharField(
        _("category"), max_length=20, choices=Category.choices, default=Category.QUESTION
    )
    impact = models.PositiveSmallIntegerField(_("impact"), choices=Level.choices, default=Level.LOW)
    urgency = models.PositiveSmallIntegerField(
        _("urgency"), choices=Level.choices, default=Level.LOW
    )
    # 1 (critical) … 4 (low), from impact × urgency; stored because queues sort and filter by it.
    priority = models.PositiveSmallIntegerField(_("priority"), default=4, db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    queue = models.ForeignKey(
        Queue, verbose_name=_("queue"), on_delete=models.PROTECT, related_name="cases"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="cases")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent case"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_cases",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # SLA: the policy, the working seconds used so far, and the due times computed from them.
    sla_policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("SLA policy"), on_delete=models.PROTECT, null=True, blank=True
    )
    sla_clock_started_at = models.DateTimeField(null=True, blank=True)
    sla_used_seconds = models.PositiveIntegerField(default=0)
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    # The soonest of the open targets: what the queue sorts by. Null when no clock runs.
    sla_due = models.DateTimeField(_("SLA due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    sla_warned_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(_("SLA breached"), null=True, blank=True)
    # Message-ID of the first message Tugi sent or received: the root of the case's mail thread.
    thread_root = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-id"]
        permissions = [
            ("work_case", _("Can work cases: reply, assign, route, escalate, resolve")),
            ("note_case", _("Can add internal notes to cases escalated to their group")),
            ("manage_desk", _("Can manage queues, SLA policies, routing rules and templates")),
        ]
        indexes = [
            # The desk's queue views: open cases of a queue / an assignee, soonest due first.
            models.Index(fields=["queue", "status", "sla_due", "id"], name="case_queue_due"),
            models.Index(fields=["assignee", "status", "sla_due", "id"], name="case_assignee_due"),
            models.Index(fields=["status", "sla_due", "id"], name="case_status_due"),
            models.Index(fields=["requester", "id"], name="case_requester"),
            models.Index(fields=["thread_root"], name="case_thread_root"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def reference(self) -> str:
        """The reference used in mail subjects: [Tugi #123]."""
        return f"Tugi #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.RESOLVED, self.Status.CLOSED)


class Escalation(models.Model):
    """A tracked sub-case: the case handed to a specialist group or a third party."""

    class Kind(models.TextChoices):
        SPECIALISTS = "specialists", _("domain specialists")
        THIRD_PARTY = "third_party", _("third party")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ANSWERED = "answered", _("answered")
        CLOSED = "closed", _("closed")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    queue = models.ForeignKey(
        Queue,
        verbose_name=_("specialist group"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escalations",
    )
    party_name = models.CharField(_("party"), max_length=200, blank=True)
    party_email = models.EmailField(_("party's e-mail"), blank=True)
    external_reference = models.CharField(_("their reference"), max_length=100, blank=True)
    external_url = models.URLField(_("link in their system"), blank=True)
    summary = models.TextField(_("what we ask"))
    due_at = models.DateTimeField(_("answer due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    thread_root = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["case", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="escalation_due"),
            models.Index(fields=["external_reference"], name="escalation_ext_ref"),
            models.Index(fields=["thread_root"], name="escalation_thread_root"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="specialists", queue__isnull=False)
                | Q(kind="third_party") & ~Q(party_email=""),
                name="escalation_has_a_party",
                violation_error_message=_("Name the specialist group or the party's e-mail."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} → {self.queue or self.party_name}"


class Message(models.Model):
    """One entry in a case's history: a public reply, an internal note, or mail in or out."""

    class Kind(models.TextChoices):
        FROM_REQUESTER = "from_requester", _("from the requester")
        REPLY = "reply", _("reply to the requester")
        NOTE = "note", _("internal note")
        TO_PARTY = "to_party", _("to the third party")
        FROM_PARTY = "from_party", _("from the third party")
        SYSTEM = "system", _("system event")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    escalation = models.ForeignKey(
        Escalation, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    author_email = models.EmailField(_("from"), blank=True)
    body = models.TextField(_("text"))
    # Sanitised HTML of mail that came as HTML; shown instead of `body` when present.
    body_html = models.TextField(blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    message_id = models.CharField(max_length=300, blank=True)
    in_reply_to = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["case", "id"]
        indexes = [
            models.Index(fields=["message_id"], name="message_message_id"),
            models.Index(fields=["case", "id"], name="message_case"),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()}"

    @property
    def is_public(self) -> bool:
        """Whether the requester may see it (internal notes and party mail never)."""
        return self.kind in (self.Kind.FROM_REQUESTER, self.Kind.REPLY)


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Stored under a content hash, never under the sender's file name.
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    """A file attached to a message; stored under its hash, served only as a download."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class TimeEntry(models.Model):
    """Working time spent on a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="time_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    minutes = models.PositiveIntegerField(_("minutes"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")

    def __str__(self) -> str:
        return f"{self.case}: {self.minutes} min"


class RoutingRule(models.Model):
    """Where a new case goes: the first matching rule (by order) sets the queue and assignee."""

    order = models.PositiveSmallIntegerField(_("order"), default=100)
    name = models.CharField(_("name"), max_length=200)
    system = models.ForeignKey(
        TargetSystem,
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    category = models.CharField(
        _("category"), max_length=20, choices=Case.Category.choices, blank=True
    )
    keyword = models.CharField(
        _("keyword"), max_length=100, blank=True, help_text=_("Matched in the subject and text.")
    )
    queue = models.ForeignKey(
        Queue, verbose_name=_("queue"), on_delete=models.CASCADE, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class ReplyTemplate(models.Model):
    """A reply template with placeholders such as {requester_name} and {case_reference}."""

    name = models.CharField(_("name"), max_length=200)
    language = models.CharField(_("language"), max_length=5, default="et")
    body = models.TextField(_("text"))

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Rating(models.Model):
    """The requester's satisfaction with a resolved case (one click, optional comment)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="rating_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.case}: {self.score}"


class InboundMail(models.Model):
    """Every mail fetched from the mailbox, once: what became of it, so none is lost or doubled."""

    class Outcome(models.TextChoices):
        NEW_CASE = "new_case", _("new case")
        THREADED = "threaded", _("added to a case")
        PARTY_REPLY = "party_reply", _("third party's reply")
        IGNORED = "ignored", _("ignored (auto-reply or loop)")
        FAILED = "failed", _("failed")

    message_id = models.CharField(max_length=300, unique=True)
    mailbox = models.CharField(max_length=200)
    uid = models.CharField(max_length=50, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    sender = models.CharField(max_length=300, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    reason = models.CharField(max_length=500, blank=True)
    case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The raw message, kept when it could not be processed, so nothing is lost.
    raw = models.BinaryField(null=True, blank=True)

    class Meta:
        verbose_name = _("inbound mail")
        verbose_name_plural = _("inbound mail")
        ordering = ["-id"]
        # The intake's rate limit counts a sender's recent mail.
        indexes = [models.Index(fields=["sender", "received_at"], name="inbound_sender_time")]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.outcome})"
