"""People and organisation: the unit tree, positions, job descriptions and persons."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tugi.core.personal_code import validate_personal_code


class OrgUnit(models.Model):
    """A structural unit (struktuuriüksus): the agency, a department (osakond) or a unit (talitus).

    `path` is the materialised list of ancestor ids ("/1/4/9/"), kept by the actions, so a whole
    subtree is one indexed prefix query.
    """

    class Kind(models.TextChoices):
        AGENCY = "agency", _("agency")
        DEPARTMENT = "department", _("department")
        UNIT = "unit", _("unit")

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)
    code = models.CharField(_("code"), max_length=30, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    head = models.ForeignKey(
        "Person",
        verbose_name=_("head"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="headed_units",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="/")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    """A post (ametikoht) in an org unit; its job description says what the holder does."""

    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("title in English"), max_length=200, blank=True)
    code = models.CharField(_("code"), max_length=30, unique=True)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="positions"
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title

    def current_job_description(self) -> "JobDescription | None":
        """The job description in force today (the latest one that has started)."""
        today = timezone.localdate()
        return self.job_descriptions.filter(valid_from__lte=today).order_by("-valid_from").first()


class JobDescription(models.Model):
    """A job description (ametijuhend) of a position, as approved by a directive.

    Besides the duties it states, as Estonian job descriptions do, whom the holder substitutes and
    who substitutes the holder; the lifecycle engine proposes substitutions from that.
    """

    position = models.ForeignKey(
        Position,
        verbose_name=_("position"),
        on_delete=models.PROTECT,
        related_name="job_descriptions",
    )
    valid_from = models.DateField(_("in force from"))
    directive = models.CharField(_("approved by directive"), max_length=100, blank=True)
    purpose = models.TextField(_("purpose of the post"), blank=True)
    substitutes = models.ManyToManyField(
        Position,
        verbose_name=_("the holder substitutes"),
        blank=True,
        related_name="substituted_by_job_descriptions",
    )
    substituted_by = models.ManyToManyField(
        Position,
        verbose_name=_("the holder is substituted by"),
        blank=True,
        related_name="substitute_for_job_descriptions",
    )

    class Meta:
        verbose_name = _("job description")
        verbose_name_plural = _("job descriptions")
        ordering = ["position", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["position", "valid_from"], name="job_description_one_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.position} ({self.valid_from:%d.%m.%Y})"


class Duty(models.Model):
    """One duty of a job description with its expected result; later it justifies roles."""

    job_description = models.ForeignKey(
        JobDescription, on_delete=models.CASCADE, related_name="duties"
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    description = models.TextField(_("duty"))
    expected_result = models.TextField(_("expected result"), blank=True)

    class Meta:
        verbose_name = _("duty")
        verbose_name_plural = _("duties")
        ordering = ["job_description", "order", "id"]

    def __str__(self) -> str:
        return self.description[:80]


class Person(models.Model):
    """A staff member (teenistuja), with an optional Estonian personal code or a foreign id."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        ON_LEAVE = "on_leave", _("on long leave")
        LEFT = "left", _("left")

    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("e-mail"), max_length=254, unique=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    personal_code = models.CharField(
        _("personal code"),
        max_length=11,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_personal_code],
        help_text=_("Estonian personal code, 11 digits."),
    )
    foreign_id_country = models.CharField(
        _("country of foreign id"), max_length=2, blank=True, help_text=_("ISO code, e.g. LV")
    )
    foreign_id_code = models.CharField(_("foreign id"), max_length=40, blank=True)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="members"
    )
    position = models.ForeignKey(
        Position,
        verbose_name=_("position"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="holders",
    )
    manager = models.ForeignKey(
        "self",
        verbose_name=_("manager"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    employment_start = models.DateField(_("employment start"))
    employment_end = models.DateField(_("employment end"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account in Tugi"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
    )
    # Lower-cased, Estonian letters folded: "jogi" finds Jõgi. Kept by the actions.
    search_text = models.CharField(max_length=400, editable=False, default="")

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        ordering = ["last_name", "first_name", "id"]
        permissions = [("view_personal_code", _("Can view personal codes (logged with a purpose)"))]
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"], name="person_name_keyset"),
            models.Index(fields=["org_unit", "last_name", "first_name", "id"], name="person_unit"),
            models.Index(fields=["status", "last_name", "first_name", "id"], name="person_status"),
            models.Index(fields=["employment_end"], name="person_employment_end"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["foreign_id_country", "foreign_id_code"],
                condition=~Q(foreign_id_code=""),
                name="person_foreign_id_unique",
                violation_error_message=_("A person with this foreign id already exists."),
            ),
            models.CheckConstraint(
                condition=Q(employment_end__isnull=True)
                | Q(employment_end__gte=models.F("employment_start")),
                name="person_employment_end_after_start",
                violation_error_message=_("Employment cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return str(self)

    @property
    def has_personal_code(self) -> bool:
        return bool(self.personal_code)

    @property
    def identifier_label(self) -> str:
        """Which identifier the person has, without revealing it."""
        if self.personal_code:
            return "EE"
        return self.foreign_id_country or ""


class Absence(models.Model):
    """A period a person is away (puudumine), from the vacation schedule or entered by hand.

    Days are inclusive Tallinn dates, as HR states them.
    """

    class Kind(models.TextChoices):
        VACATION = "vacation", _("vacation")
        STUDY = "study", _("study leave")
        SICK = "sick", _("sick leave")
        PARENTAL = "parental", _("parental leave")
        OTHER = "other", _("other absence")

    class Source(models.TextChoices):
        SCHEDULE = "schedule", _("vacation schedule")
        MANUAL = "manual", _("entered by hand")

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="absences"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.VACATION)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.MANUAL
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    cancelled = models.BooleanField(_("cancelled"), default=False)

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["person", "starts_on"]
        indexes = [
            models.Index(fields=["person", "starts_on"], name="absence_person"),
            models.Index(fields=["starts_on", "ends_on"], name="absence_period"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")),
                name="absence_ends_after_start",
                violation_error_message=_("An absence cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.starts_on:%d.%m.%Y}–{self.ends_on:%d.%m.%Y}"


class DataImport(models.Model):
    """One import of an HR file (personnel export or vacation schedule): preview, then apply.

    The uploaded file is kept (under the data folder) until it is applied or discarded, or the
    preview is left unapplied too long (`clean_up_imports`); the preview's refused rows and planned
    changes are stored so the page can show them, and nothing changes until someone applies the
    valid rows. The row itself is kept for good: it is the record of what was imported.
    """

    class Kind(models.TextChoices):
        PERSONS = "persons", _("personnel (joiners, movers, leavers)")
        ABSENCES = "absences", _("vacation schedule")

    class State(models.TextChoices):
        PREVIEWED = "previewed", _("previewed")
        APPLYING = "applying", _("being applied")
        APPLIED = "applied", _("applied")
        DISCARDED = "discarded", _("discarded")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file_name = models.CharField(_("file"), max_length=255)
    stored_path = models.CharField(max_length=500, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.PREVIEWED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    valid_rows = models.PositiveIntegerField(_("valid rows"), default=0)
    # [{"row": 7, "field": "personal_code", "message": "..."}], in file order.
    errors = models.JSONField(_("refused rows"), default=list, blank=True)
    # Counts of what applying would do / did: {"joiners": 3, "movers": 1, ...}.
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    progress = models.PositiveIntegerField(_("rows done"), default=0)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applied by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    # Whose name the joiners' access requests are filed in (the joiner policy "request"); kept so
    # that an interrupted apply is resumed as it was started.
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requests filed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # While being applied: the process applying it (a token it claimed the import with; empty
    # while the task waits in the queue), its last sign of life (set when applying is asked for,
    # when a process claims it, after each batch and when it ends), and how many processes have
    # started on it. An import being applied whose sign of life is too old is resumed or reset
    # (`tugi.people.imports.upkeep`).
    runner = models.CharField(max_length=32, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        verbose_name = _("data import")
        verbose_name_plural = _("data imports")
        ordering = ["-id"]
        permissions = [("import_hr_data", _("Can import HR files and apply them"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.file_name}"
