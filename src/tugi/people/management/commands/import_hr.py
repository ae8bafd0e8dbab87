"""`tugi import-hr FILE [--apply] [--yes]`: the personnel export (joiners, movers, leavers)."""

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import CommandError, CommandParser

from tugi.people.management.commands._import import ImportCommand
from tugi.people.models import DataImport


class Command(ImportCommand):
    help = (
        "Preview an HR personnel file (CSV or XLSX): joiners, movers, leavers and refused rows. "
        "With --apply, write the valid rows and plan the access that follows."
    )
    kind = DataImport.Kind.PERSONS

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--filed-by",
            metavar="USERNAME",
            help="the user in whose name joiners' access requests are filed "
            "(needed when TUGI_JOINER_POLICY is 'request')",
        )

    def filed_by(self, opts: dict[str, Any]) -> User | None:
        name = opts.get("filed_by")
        if not name:
            return None
        user = User.objects.filter(username=name, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {name!r}.")
        return user
