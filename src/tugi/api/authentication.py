"""Bearer-token authentication for machines: `Authorization: Bearer <key>`.

The key is hashed and the hash looked up, so no comparison ever runs over the secret itself and
its timing tells an attacker nothing useful; the stored value is a hash, so a copy of the
database yields no usable keys.
"""

import hmac
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from tugi.api.models import ApiToken, hash_key

KEYWORD = "Bearer"
# Remembering when a token was last used costs a write; once a minute is precise enough to find
# unused tokens, and keeps busy integrations from writing on every request.
TOUCH_INTERVAL = timedelta(minutes=1)
# Keys are 48 characters; anything much longer is not one of ours and is not worth hashing.
MAX_KEY_LENGTH = 200


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates by API token; refuses revoked and expired tokens and blocked users."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None  # not ours: let the next scheme (the session) try
        if len(parts) != 2:
            raise AuthenticationFailed(
                _("Send the token as “Authorization: Bearer <key>”, with nothing else.")
            )
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("The token is not valid.")) from None
        if len(key) > MAX_KEY_LENGTH:
            raise AuthenticationFailed(_("The token is not valid."))
        return self.authenticate_key(key)

    def authenticate_key(self, key: str) -> tuple[User, ApiToken]:
        digest = hash_key(key)
        token = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
        # The lookup already matched; compare_digest keeps the final check constant-time even so.
        if token is None or not hmac.compare_digest(token.key_hash, digest):
            raise AuthenticationFailed(_("The token is not valid."))
        now = timezone.now()
        state = token.state(now)
        if state == ApiToken.State.REVOKED:
            raise AuthenticationFailed(_("This token has been revoked."))
        if state == ApiToken.State.EXPIRED:
            raise AuthenticationFailed(_("This token has expired."))
        if not token.user.is_active:
            raise AuthenticationFailed(_("The user of this token is blocked."))
        self._touch(token, now)
        return token.user, token

    @staticmethod
    def _touch(token: ApiToken, now: datetime) -> None:
        if token.last_used_at is not None and now - token.last_used_at < TOUCH_INTERVAL:
            return
        # The condition is repeated in the UPDATE so that concurrent requests write it only once.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_INTERVAL)
        ).update(last_used_at=now)
        token.last_used_at = now

    def authenticate_header(self, request: Request) -> str:
        # Present, so that DRF answers 401 (with this challenge) rather than 403.
        return f'{KEYWORD} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Declares the bearer scheme in the OpenAPI document."""

    target_class = "tugi.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token issued with `tugi token create USERNAME`.",
        }
