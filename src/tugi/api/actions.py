"""Actions on API tokens: issuing and revoking them, each with its audit event.

`actor=None` means the operator at the server's console (`tugi token …`): whoever can run that
command can already read the database and the secret key, so a permission check would protect
nothing. The audit event then names "system" as the actor and says so in its basis. Web and API
code always passes the signed-in user (never None), so the check applies there.
"""

from datetime import datetime
from typing import NamedTuple

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.api.models import PREFIX_LENGTH, ApiToken, hash_key, new_key
from tugi.core import audit
from tugi.core.permissions import Actor, require

OPERATOR_BASIS = "operator command on the server"


class IssuedToken(NamedTuple):
    """A new token and its key; the key exists only here and is shown once."""

    token: ApiToken
    key: str


def _token_audit(token: ApiToken) -> dict[str, object]:
    # Never the key nor its hash: the prefix is what people use to tell tokens apart.
    return {
        "user": token.user_id,
        "name": token.name,
        "prefix": token.prefix,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


def create_token(
    actor: Actor, *, user: User, name: str, expires_at: datetime | None = None
) -> IssuedToken:
    """Issue an API token for a user; only its hash is stored, the key is returned once."""
    if actor is not None:
        require(actor, "core.manage_api_tokens")
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = _("Give the token a name that says what uses it.")
    elif len(name) > 100:
        errors["name"] = _("A token name has at most 100 characters.")
    if not user.is_active:
        errors["user"] = _("The user “%(user)s” is blocked.") % {"user": user.get_username()}
    elif isinstance(actor, User) and not actor.is_superuser:
        # A token acts as its user: issuing one for a user with rights the issuer lacks would let
        # the issuer act with those rights (e.g. an administrator reading the audit log as the
        # auditor). The separation of roles holds only if that is refused.
        missing = user.get_all_permissions() - actor.get_all_permissions()
        if missing:
            errors["user"] = _(
                "“%(user)s” holds permissions you do not (%(perms)s): ask someone who holds them."
            ) % {"user": user.get_username(), "perms": ", ".join(sorted(missing))}
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = _("The expiry time must be in the future.")
    if errors:
        raise ValidationError(errors)
    key = new_key()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            key_hash=hash_key(key),
            prefix=key[:PREFIX_LENGTH],
            expires_at=expires_at,
        )
        audit.record(
            actor,
            "api.token.create",
            token,
            after=_token_audit(token),
            basis=OPERATOR_BASIS if actor is None else "",
        )
    return IssuedToken(token, key)


def revoke_token(actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke a token at once; revoking a revoked token changes nothing."""
    # Giving up one's own token only takes access away, so its user may always do it.
    if actor is not None and not (actor.is_authenticated and actor.pk == token.user_id):
        require(actor, "core.manage_api_tokens")
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(
                actor,
                "api.token.revoke",
                token,
                before={"revoked_at": None},
                after={"revoked_at": token.revoked_at},
                basis=OPERATOR_BASIS if actor is None else "",
            )
    return token
