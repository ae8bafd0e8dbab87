"""`tugi audit verify`: check the audit log's hash chain."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tugi.core.audit import verify_chain


class Command(BaseCommand):
    help = "Audit log tools. 'verify' recomputes the hash chain and reports the first broken event."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("verify", help="verify the hash chain")

    def handle(self, *args: Any, **opts: Any) -> None:
        result = verify_chain()
        if not result.ok:
            raise CommandError(
                f"Audit log is NOT intact: event {result.broken_id}: {result.reason} "
                f"({result.checked} events before it verified)."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit log intact: {result.checked} events, head {result.head}.")
        )
