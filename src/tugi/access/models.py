"""Access governance: what can be held (systems, roles), who holds it (accounts, grants), on what
basis (job-description duties, approved requests), and the rules it is checked against.

Time is part of the data. A grant holds from `valid_from` (inclusive) to `valid_to` (exclusive,
open when null); suspensions are periods of their own. Actions only ever change the future of a
grant (an early end sets `valid_to` to now, an extension moves a future end), so the grant table
itself answers "who had role R at time T, on what basis" for any past T.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from tugi.people.models import Duty, Person


class TargetSystem(models.Model):
    """An information system or register in which the desk manages accounts (infosüsteem)."""

    class Kind(models.TextChoices):
        INTERNAL = "internal", _("agency's own system")
        EXTERNAL = "external", _("external register")

    class Connector(models.TextChoices):
        MANUAL = "manual", _("manual (the desk fulfils)")
        SCIM = "scim", _("SCIM 2.0")
        LDAP = "ldap", _("LDAP")
        CSV = "csv", _("CSV export")

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        Person,
        verbose_name=_("system owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_systems",
        help_text=_("Approves requests for the system's sensitive roles."),
    )
    connector_kind = models.CharField(
        _("connector"), max_length=20, choices=Connector.choices, default=Connector.MANUAL
    )
    contact_channel = models.CharField(
        _("contact channel"),
        max_length=300,
        blank=True,
        help_text=_("Where applications and questions go, e.g. an e-mail address or a portal."),
    )
    application_requirements = models.TextField(_("what an application must contain"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("target system")
        verbose_name_plural = _("target systems")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A role in one target system (roll), with the rules for granting and delegating it."""

    class Sensitivity(models.TextChoices):
        NORMAL = "normal", _("ordinary")
        PERSONAL_DATA = "personal_data", _("personal data")
        PENSION_INSURANCE = "pension_insurance", _("pension-insurance register data")
        SPECIAL_CATEGORY = "special_category", _("special categories of personal data (health)")
        ADMINISTRATION = "administration", _("system administration")

    system = models.ForeignKey(
        TargetSystem, verbose_name=_("system"), on_delete=models.PROTECT, related_name="roles"
    )
    code = models.CharField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)
    module = models.CharField(_("module"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    sensitivity = models.CharField(
        _("sensitivity"), max_length=30, choices=Sensitivity.choices, default=Sensitivity.NORMAL
    )
    delegable = models.BooleanField(_("delegable to a substitute"), default=False)
    requires_end_date = models.BooleanField(_("end date required"), default=False)
    max_duration_days = models.PositiveIntegerField(
        _("longest grant (days)"), null=True, blank=True
    )
    suspend_during_absence = models.BooleanField(
        _("suspend while the holder is absent"),
        default=False,
        help_text=_("Policy: an absent person's grant of this role is a finding unless suspended."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["system__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["system", "code"], name="role_code_per_system"),
        ]

    def __str__(self) -> str:
        return f"{self.system.code}: {self.name}"

    @property
    def is_sensitive(self) -> bool:
        return self.sensitivity != self.Sensitivity.NORMAL


class Entitlement(models.Model):
    """A duty of a job description justifies a role: the rights profile of a job function."""

    duty = models.ForeignKey(Duty, on_delete=models.CASCADE, related_name="entitlements")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="entitlements")

    class Meta:
        verbose_name = _("entitlement")
        verbose_name_plural = _("entitlements")
        constraints = [
            models.UniqueConstraint(fields=["duty", "role"], name="entitlement_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.duty} → {self.role}"


class Account(models.Model):
    """A person's user account in a target system (kasutajakonto)."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("requested")
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        CLOSED = "closed", _("closed")

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="accounts"
    )
    system = models.ForeignKey(
        TargetSystem, verbose_name=_("system"), on_delete=models.PROTECT, related_name="accounts"
    )
    username = models.CharField(_("username in the system"), max_length=150, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.REQUESTED
    )
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["system__name", "id"]
        constraints = [
            # One open account per person and system; closed ones stay as history.
            models.UniqueConstraint(
                fields=["person", "system"],
                condition=~Q(state="closed"),
                name="account_one_open_per_system",
                violation_error_message=_("The person already has an open account in this system."),
            ),
        ]
        indexes = [models.Index(fields=["system", "state"], name="account_system_state")]

    def __str__(self) -> str:
        return f"{self.person} @ {self.system.code}"


class AccessRequest(models.Model):
    """An application (taotlus) to change a person's access, approved by a chain (kooskõlastus)."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("awaiting approval")
        RETURNED = "returned", _("returned for changes")
        APPROVED = "approved", _("approved, to be fulfilled")
        FULFILLED = "fulfilled", _("fulfilled")
        REJECTED = "rejected", _("rejected")
        EXPIRED = "expired", _("expired")
        CANCELLED = "cancelled", _("cancelled")

    person = models.ForeignKey(
        Person, verbose_name=_("for whom"), on_delete=models.PROTECT, related_name="access_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        related_name="filed_access_requests",
    )
    justification = models.TextField(_("justification"))
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.SUBMITTED
    )
    created_at = models.DateTimeField(_("filed"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    expires_at = models.DateTimeField(
        _("expires if not decided by"), null=True, blank=True, db_index=True
    )
    decision_comment = models.TextField(_("decision comment"), blank=True)

    class Meta:
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        ordering = ["-id"]
        permissions = [
            ("file_for_others", _("Can file access requests on someone else's behalf")),
            ("approve_accessrequest", _("Can approve access requests (as unit head or owner)")),
            ("fulfil_accessrequest", _("Can fulfil approved access requests")),
        ]
        indexes = [
            models.Index(fields=["state", "id"], name="request_state"),
            models.Index(fields=["person", "id"], name="request_person"),
        ]

    def __str__(self) -> str:
        return _("Request %(id)s for %(person)s") % {"id": self.pk, "person": self.person}


class AccessRequestItem(models.Model):
    """One change an access request asks for; once approved it is fulfilment work for the desk."""

    class Kind(models.TextChoices):
        CREATE_ACCOUNT = "create_account", _("create an account")
        CLOSE_ACCOUNT = "close_account", _("close an account")
        GRANT_ROLE = "grant_role", _("grant a role")
        SUSPEND_ROLE = "suspend_role", _("suspend a role")
        END_ROLE = "end_role", _("end a role")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        FULFILLED = "fulfilled", _("fulfilled")
        CANCELLED = "cancelled", _("cancelled")

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(_("change"), max_length=20, choices=Kind.choices)
    system = models.ForeignKey(TargetSystem, verbose_name=_("system"), on_delete=models.PROTECT)
    role = models.ForeignKey(
        Role, verbose_name=_("role"), on_delete=models.PROTECT, null=True, blank=True
    )
    grant = models.ForeignKey(
        "Grant",
        verbose_name=_("existing grant"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="change_requests",
        help_text=_("The grant to suspend or end."),
    )
    valid_from = models.DateTimeField(_("from"), null=True, blank=True)
    valid_to = models.DateTimeField(_("until"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.PENDING
    )
    # Segregation-of-duties conflicts found when the request was filed, shown to approvers.
    sod_conflicts = models.JSONField(_("SoD conflicts"), default=list, blank=True)
    fulfilled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("fulfilled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    fulfilled_at = models.DateTimeField(_("fulfilled"), null=True, blank=True)

    class Meta:
        verbose_name = _("request item")
        verbose_name_plural = _("request items")
        ordering = ["request", "id"]
        indexes = [models.Index(fields=["state", "id"], name="request_item_state")]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gt=F("valid_from")),
                name="request_item_end_after_start",
                violation_error_message=_("The end must be after the start."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.role or self.system}"


class Approval(models.Model):
    """One step of a request's approval chain: the unit head, then the system owner if needed."""

    class Step(models.TextChoices):
        UNIT_HEAD = "unit_head", _("head of the person's unit")
        SYSTEM_OWNER = "system_owner", _("system owner")

    class Decision(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        RETURNED = "returned", _("returned for changes")

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="approvals")
    order = models.PositiveSmallIntegerField(_("order"))
    step = models.CharField(_("step"), max_length=20, choices=Step.choices)
    system = models.ForeignKey(
        TargetSystem, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approver = models.ForeignKey(
        Person, verbose_name=_("approver"), on_delete=models.PROTECT, related_name="approvals"
    )
    decision = models.CharField(
        _("decision"), max_length=20, choices=Decision.choices, default=Decision.PENDING
    )
    comment = models.TextField(_("comment"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        ordering = ["request", "order"]
        indexes = [models.Index(fields=["approver", "decision", "id"], name="approval_inbox")]

    def __str__(self) -> str:
        return f"{self.get_step_display()}: {self.approver}"


class Grant(models.Model):
    """A role held through an account for a period, on exactly one basis (õigus)."""

    class Basis(models.TextChoices):
        JOB_DESCRIPTION = "job_description", _("job description")
        REQUEST = "request", _("approved request")
        SUBSTITUTION = "substitution", _("substitution")

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="grants"
    )
    role = models.ForeignKey(
        Role, verbose_name=_("role"), on_delete=models.PROTECT, related_name="grants"
    )
    # Denormalised from the account: every "what does P hold" question starts from the person.
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="grants"
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid until"), null=True, blank=True)
    basis = models.CharField(_("basis"), max_length=20, choices=Basis.choices)
    basis_duty = models.ForeignKey(
        Duty,
        verbose_name=_("justifying duty"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grants",
    )
    basis_item = models.ForeignKey(
        AccessRequestItem,
        verbose_name=_("approved request item"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grants",
    )
    acting_for = models.ForeignKey(
        Person,
        verbose_name=_("acting for"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="delegated_grants",
    )
    # The order a substitution grant comes from; its period bounds the grant's.
    substitution = models.ForeignKey(
        "Substitution",
        verbose_name=_("substitution order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grants",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    ended_reason = models.CharField(_("why it ended"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
        ordering = ["-valid_from", "id"]
        indexes = [
            models.Index(fields=["role", "valid_from"], name="grant_role_from"),
            models.Index(fields=["person", "valid_from"], name="grant_person_from"),
            models.Index(fields=["valid_to"], name="grant_valid_to"),
            # The reconciler reads the grants that started since its last pass.
            models.Index(fields=["valid_from"], name="grant_valid_from"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="grant_end_after_start",
                violation_error_message=_("A grant must end after it starts."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(basis="job_description", basis_duty__isnull=False)
                    | Q(basis="request", basis_item__isnull=False)
                    | Q(basis="substitution", acting_for__isnull=False)
                ),
                name="grant_basis_named",
                violation_error_message=_("A grant needs the record of its basis."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.role}"


class GrantSuspension(models.Model):
    """A period during which a grant is suspended (peatamine); open-ended until resumed."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="suspensions")
    starts_at = models.DateTimeField(_("suspended from"))
    ends_at = models.DateTimeField(_("resumed at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    basis_item = models.ForeignKey(
        AccessRequestItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")
        ordering = ["grant", "starts_at"]
        indexes = [
            models.Index(fields=["grant", "starts_at"], name="suspension_grant"),
            models.Index(fields=["starts_at"], name="suspension_starts"),
            models.Index(fields=["ends_at"], name="suspension_ends"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="suspension_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grant} ({self.starts_at:%d.%m.%Y})"


class SodRule(models.Model):
    """Segregation of duties: two roles one person must not hold at the same time."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("why they conflict"), blank=True)
    role_a = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="+")
    role_b = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SoD rule")
        verbose_name_plural = _("SoD rules")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(role_a=F("role_b")), name="sod_two_different_roles"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SodException(models.Model):
    """An approved, time-limited exception to an SoD rule for one person."""

    rule = models.ForeignKey(SodRule, on_delete=models.PROTECT, related_name="exceptions")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="sod_exceptions")
    valid_to = models.DateTimeField(_("valid until"))
    justification = models.TextField(_("justification"))
    request = models.ForeignKey(
        AccessRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("SoD exception")
        verbose_name_plural = _("SoD exceptions")
        indexes = [models.Index(fields=["person", "valid_to"], name="sod_exception_person")]

    def __str__(self) -> str:
        return f"{self.rule}: {self.person}"


class Finding(models.Model):
    """A compliance finding: something about a person's access that breaks a rule.

    Stored, not only computed, so the list is fast and a finding's first sighting is known; the
    evaluation (full or per person) opens new findings and resolves those that no longer hold.
    """

    class Kind(models.TextChoices):
        UNJUSTIFIED_GRANT = "unjustified_grant", _("grant without a valid basis")
        PAST_END = "past_end", _("grant past its end")
        SOD_CONFLICT = "sod_conflict", _("segregation-of-duties conflict")
        LEAVER_ACCOUNT = "leaver_account", _("open account of a person who has left")
        ABSENT_ACTIVE_GRANT = "absent_active_grant", _("active grant of an absent person")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="findings")
    grant = models.ForeignKey(
        Grant, on_delete=models.PROTECT, null=True, blank=True, related_name="findings"
    )
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, null=True, blank=True, related_name="findings"
    )
    rule = models.ForeignKey(
        SodRule, on_delete=models.PROTECT, null=True, blank=True, related_name="findings"
    )
    # A stable identity of "the same finding" across evaluations: kind + the objects involved.
    key = models.CharField(max_length=100)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    first_seen = models.DateTimeField(_("first seen"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["-id"]
        permissions = [("evaluate_compliance", _("Can run the compliance evaluation"))]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(resolved_at__isnull=True), name="finding_open_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["resolved_at", "kind", "id"], name="finding_open_kind"),
            models.Index(fields=["person", "resolved_at"], name="finding_person"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.person}"


class Substitution(models.Model):
    """A substitution order (asendamise korraldus): who acts for an absent person, when, in what.

    The substitute's grants (basis "substitution", `acting_for` the absentee) start and end exactly
    with the period. A proposal comes from the vacation schedule and the job description's
    "substituted by"; it becomes an order when a person with authority confirms it.
    """

    class State(models.TextChoices):
        PROPOSED = "proposed", _("proposed")
        ORDERED = "ordered", _("ordered")
        CANCELLED = "cancelled", _("cancelled")

    absentee = models.ForeignKey(
        Person,
        verbose_name=_("absent person"),
        on_delete=models.PROTECT,
        related_name="substitutions_as_absentee",
    )
    substitute = models.ForeignKey(
        Person,
        verbose_name=_("substitute"),
        on_delete=models.PROTECT,
        related_name="substitutions_as_substitute",
    )
    absence = models.ForeignKey(
        "people.Absence",
        verbose_name=_("absence"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="substitutions",
    )
    roles = models.ManyToManyField(Role, verbose_name=_("roles"), related_name="substitutions")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    exclusive = models.BooleanField(
        _("exclusive"),
        default=False,
        help_text=_("Suspend the absent person's own grants of these roles for the period."),
    )
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.PROPOSED
    )
    ordered_by = models.ForeignKey(
        Person,
        verbose_name=_("ordered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ordered_substitutions",
    )
    ordered_at = models.DateTimeField(_("ordered"), null=True, blank=True)
    directive = models.CharField(_("order or directive"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.CharField(_("why cancelled"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("substitution")
        verbose_name_plural = _("substitutions")
        ordering = ["-starts_at", "id"]
        permissions = [
            ("order_any_substitution", _("Can order substitutions for anyone (HR)")),
        ]
        indexes = [
            models.Index(fields=["absentee", "starts_at"], name="substitution_absentee"),
            models.Index(fields=["substitute", "starts_at"], name="substitution_substitute"),
            models.Index(fields=["state", "starts_at"], name="substitution_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="substitution_end_after_start",
                violation_error_message=_("The end must be after the start."),
            ),
            models.CheckConstraint(
                condition=~Q(absentee=F("substitute")),
                name="substitution_two_persons",
                violation_error_message=_("Nobody substitutes for themselves."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.substitute} → {self.absentee} ({self.starts_at:%d.%m.%Y})"


class Change(models.Model):
    """One boundary the lifecycle engine puts into effect on time (muudatus), and how late it was.

    A row per grant start, end, suspension and resumption and per account suspension and
    closure, with its due time. The engine applies it (`applied_at`, lateness in `late_ms`); the
    target confirms it (`confirmed_at`: a connector's answer, or the desk for manual systems). The
    `key` names the boundary, so scheduling the same boundary twice makes one row.
    """

    class Kind(models.TextChoices):
        GRANT_START = "grant_start", _("grant starts")
        GRANT_END = "grant_end", _("grant ends")
        GRANT_SUSPEND = "grant_suspend", _("grant suspended")
        GRANT_RESUME = "grant_resume", _("grant resumed")
        ACCOUNT_SUSPEND = "account_suspend", _("account suspended")
        ACCOUNT_CLOSE = "account_close", _("account closed")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        APPLIED = "applied", _("applied")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(_("change"), max_length=20, choices=Kind.choices)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="changes"
    )
    grant = models.ForeignKey(
        Grant,
        verbose_name=_("grant"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="changes",
    )
    suspension = models.ForeignKey(
        GrantSuspension, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
    # Denormalised from the account, for the lateness page's filters.
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="changes"
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    due_at = models.DateTimeField(_("due"))
    # When the engine next tries: the due time, then later after a failed attempt.
    next_try_at = models.DateTimeField()
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.CharField(_("error"), max_length=500, blank=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    late_ms = models.BigIntegerField(_("late by (ms)"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # When the desk was told the change is overdue or failed: at most once.
    alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("scheduled change")
        verbose_name_plural = _("scheduled changes")
        ordering = ["due_at", "id"]
        permissions = [("confirm_change", _("Can confirm a change done in the target system"))]
        indexes = [
            # The engine's only hot query: what is pending and due. Partial, so its size is
            # the number of pending changes, not all changes ever made.
            models.Index(
                fields=["next_try_at"], condition=Q(state="pending"), name="change_pending_due"
            ),
            models.Index(fields=["applied_at"], name="change_applied"),
            # The changes page's lists, latest due first, and its count of failed changes.
            models.Index(fields=["due_at", "id"], name="change_due"),
            models.Index(fields=["due_at"], condition=Q(state="failed"), name="change_failed_due"),
            models.Index(fields=["person", "due_at"], name="change_person"),
            models.Index(
                fields=["due_at"],
                condition=Q(state="applied", confirmed_at__isnull=True),
                name="change_unconfirmed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_at:%d.%m.%Y %H:%M}"


class ReconcilerRun(models.Model):
    """One pass of the periodic reconciler: the window it checked and what it found and did.

    The last run's `window_to` is where the next one starts, so each pass reads only the
    boundaries that fell due since, whatever the size of the grant table.
    """

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    window_from = models.DateTimeField()
    window_to = models.DateTimeField()
    checked = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["finished_at"], name="reconciler_finished")]

    def __str__(self) -> str:
        return f"{self.window_from:%H:%M:%S}–{self.window_to:%H:%M:%S}"
