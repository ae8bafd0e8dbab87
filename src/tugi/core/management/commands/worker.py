"""`tugi worker`: run the Huey background worker on its own."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker (Huey consumer) alone."

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("run_huey")
