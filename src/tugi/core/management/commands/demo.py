"""`tugi demo`: load the demo organisation and its demo users, once; print the demo logins."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tugi.demo.loader import DemoConflict, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo organisation (the Social Insurance Board, about 200 staff) and one demo "
        "user per app role. Does nothing if the demo is already loaded; prints the demo logins."
    )

    def handle(self, *args: Any, **opts: Any) -> None:
        """Load (or find) the demo; turn a refusal into a clear command error."""
        try:
            load_demo(self.stdout)
        except DemoConflict as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError(
                "The demo could not be loaded, nothing was changed: " + "; ".join(exc.messages)
            ) from exc
