"""The `tugi` command: Django's management commands under Tugi's settings.

`tugi run`, `tugi demo`, `tugi worker`, `tugi audit verify` and `tugi token create` are management
commands of Tugi's apps; every other Django command (migrate, createsuperuser, …) works too.
A command is also found under its name with dashes (`tugi import-hr` runs `import_hr`): a
Python module cannot have a dash in its name, a command line reads better with one.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tugi.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:]
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    execute_from_command_line(["tugi", *args])
