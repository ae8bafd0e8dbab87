"""API tokens: the credentials machines use to call the REST API as one Tugi user."""

import hashlib
import secrets
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A recognisable head lets secret scanners (and people) tell a leaked Tugi key from noise.
KEY_HEAD = "tugi_"
# The head plus eight random characters: enough to tell tokens apart in a list, useless to guess
# the rest (the key has 256 random bits).
PREFIX_LENGTH = len(KEY_HEAD) + 8


def new_key() -> str:
    """A fresh random API key; shown once, never stored."""
    return KEY_HEAD + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The SHA-256 hex digest under which a key is stored and looked up.

    A plain hash suffices (no salt, no slow KDF): the key is 256 random bits, not a password, so
    there is nothing to brute-force, and an unsalted hash is what makes the lookup a single
    indexed query.
    """
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token that lets a machine call the API as one Tugi user until revoked or expired."""

    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        EXPIRED = "expired", _("expired")
        REVOKED = "revoked", _("revoked")

    # PROTECT: users are never deleted (the audit log names them), and neither are their tokens.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=16, db_index=True, editable=False)
    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created", "-id"]
        # Tokens are issued and revoked only through the actions, under core.manage_api_tokens.
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    def state(self, at: datetime | None = None) -> "ApiToken.State":
        """Whether the token can be used at the given time (now by default)."""
        at = at or timezone.now()
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at is not None and self.expires_at <= at:
            return self.State.EXPIRED
        return self.State.ACTIVE
