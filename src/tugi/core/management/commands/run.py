"""`tugi run`: migrate, optionally load the demo, then serve the web and run the worker."""

import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

# gunicorn's default format, with the request line as method, path and protocol (`%(U)s` has no
# query string) and without the referrer.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


class Command(BaseCommand):
    help = "Apply migrations, then start the web server (gunicorn) and the background worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("TUGI_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("TUGI_PORT", "8000")))
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("TUGI_WEB_WORKERS", "3"))
        )
        parser.add_argument(
            "--demo", action="store_true", help="load the demo organisation if it is not there yet"
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start the background worker"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database is up to date.")
        if opts["demo"]:
            call_command("demo", stdout=self.stdout)

        tugi = shutil.which("tugi") or sys.argv[0]
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "tugi.wsgi:application",
            "--bind",
            f"{opts['host']}:{opts['port']}",
            "--workers",
            str(opts["web_workers"]),
            "--access-logfile",
            "-",
            # Paths without their query strings and no referrer: a search for a person's name
            # or personal code must not end up in the server's logs.
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            "--graceful-timeout",
            "10",
        ]
        procs = [subprocess.Popen(gunicorn)]  # noqa: S603 - our own fixed command line
        if not opts["no_worker"]:
            procs.append(subprocess.Popen([tugi, "worker"]))  # noqa: S603
        self.stdout.write(
            self.style.SUCCESS(
                f"Tugi is running at http://{opts['host']}:{opts['port']}/  (Ctrl+C stops it)"
            )
        )

        def stop(signum: int, frame: Any) -> None:
            for p in procs:
                if p.poll() is None:
                    p.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            # If either process dies, stop the other: a web server without its worker would let
            # scheduled changes go late silently.
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
        finally:
            stop(signal.SIGTERM, None)
            for p in procs:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        codes = [p.returncode for p in procs]
        if any(c not in (0, -signal.SIGTERM, -signal.SIGINT) for c in codes):
            sys.exit(1)
