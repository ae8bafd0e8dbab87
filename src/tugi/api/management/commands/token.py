"""`tugi token create|list|revoke`: API tokens, from the server's console.

This is an operator command: it acts with actor=None, which the token actions take to mean the
operator at the server (see `tugi.api.actions`), and the audit log records it as such.
"""

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tugi.api import actions
from tugi.api.models import ApiToken
from tugi.core.context import request_scope


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def _explain(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "API tokens: 'create USERNAME' prints a new key once; 'list' shows them; 'revoke' ends one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        create = sub.add_parser("create", help="issue a token for a user and print its key once")
        create.add_argument("username")
        create.add_argument("--name", default="", help="what uses the token (default: cli)")
        create.add_argument(
            "--expires-days", type=int, default=None, help="the token stops working after N days"
        )
        listing = sub.add_parser("list", help="list tokens (never their keys)")
        listing.add_argument("username", nargs="?", help="only this user's tokens")
        revoke = sub.add_parser("revoke", help="revoke a token by its id or prefix")
        revoke.add_argument("token", help="the id or the prefix shown by 'list'")

    def handle(self, *args: Any, **opts: Any) -> None:
        with request_scope():
            getattr(self, f"_{opts['subcommand']}")(**opts)

    def _user(self, username: str) -> User:
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named “{username}”.") from None

    def _create(self, *, username: str, name: str, expires_days: int | None, **_: Any) -> None:
        user = self._user(username)
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            issued = actions.create_token(
                None, user=user, name=name or "cli", expires_at=expires_at
            )
        except ValidationError as exc:
            raise CommandError(_explain(exc)) from None
        token = issued.token
        # The key alone on stdout, so `KEY=$(tugi token create …)` works; the notes go to stderr.
        self.stderr.write(
            f"Token {token.pk} ({token.prefix}…) “{token.name}” for {user.username}, "
            f"expires: {_when(token.expires_at) if token.expires_at else 'never'}. "
            "Store the key now: it is not shown again."
        )
        self.stdout.write(issued.key)

    def _list(self, *, username: str | None, **_: Any) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "created", "id")
        if username:
            tokens = tokens.filter(user=self._user(username))
        now = timezone.now()
        rows = [("ID", "PREFIX", "USER", "NAME", "CREATED", "LAST USED", "EXPIRES", "STATE")]
        rows += [
            (
                str(t.pk),
                t.prefix,
                t.user.username,
                t.name,
                _when(t.created),
                _when(t.last_used_at),
                _when(t.expires_at),
                t.state(now).value,
            )
            for t in tokens
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )

    def _revoke(self, *, token: str, **_: Any) -> None:
        found = (
            ApiToken.objects.filter(pk=int(token))
            if token.isdigit()
            else ApiToken.objects.filter(prefix=token.rstrip("…"))
        )
        matches = list(found[:2])
        if not matches:
            raise CommandError(f"No token with id or prefix “{token}”.")
        if len(matches) > 1:
            raise CommandError(f"Several tokens have the prefix “{token}”: revoke by id.")
        target = matches[0]
        if target.revoked_at is not None:
            self.stdout.write(
                f"Token {target.pk} was already revoked at {_when(target.revoked_at)}."
            )
            return
        actions.revoke_token(None, target)
        self.stdout.write(f"Token {target.pk} ({target.prefix}…) revoked.")
