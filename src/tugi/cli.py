"""The `tugi` command: Django's management commands under Tugi's settings.

`tugi run`, `tugi demo`, `tugi worker`, `tugi audit verify` and `tugi token create` are management
commands of Tugi's apps; every other Django command (migrate, createsuperuser, …) works too.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tugi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tugi", *sys.argv[1:]])
