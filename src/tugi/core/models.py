"""Core models: the append-only, hash-chained audit log."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One recorded change or logged read; append-only and chained to the previous event by hash.

    Database triggers refuse UPDATE and DELETE (see `tugi.core.audit_triggers`), and every event's
    `hash` covers its content and the previous event's hash, so `tugi audit verify` finds any row
    that was changed, removed or inserted behind the application's back.
    """

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # No database constraint and no cascade: an audit row must never be touched when a user goes.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    acting_for = models.CharField(_("acting for"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=100)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    # The person whose data the event concerns, so "everything about person P" is one indexed query.
    subject_person_id = models.BigIntegerField(_("data subject"), null=True, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    basis = models.CharField(_("basis"), max_length=300, blank=True)
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-id"]
        # Append-only: no add/change/delete permissions exist to hand out.
        default_permissions = ("view",)
        permissions = [
            ("manage_users", _("Can manage users and their app roles")),
            ("manage_api_tokens", _("Can create and revoke API tokens")),
        ]
        indexes = [
            models.Index(fields=["object_type", "object_id", "id"], name="audit_object_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
            models.Index(fields=["subject_person_id", "id"], name="audit_subject_idx"),
            models.Index(fields=["action", "id"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"
