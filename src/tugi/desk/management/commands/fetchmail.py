"""`tugi fetchmail`: poll the desk's IMAP mailbox once (or keep polling), or read .eml files.

The worker polls every minute by itself when TUGI_IMAP_HOST is set; this command is for running
a poll by hand, for a cron-driven setup without the worker, and for importing saved mail
(`tugi fetchmail --file DIR_OR_FILE …`, each .eml file through the same intake).
"""

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tugi.core.context import request_scope
from tugi.desk.mail import conf
from tugi.desk.mail.inbound import process_raw


class Command(BaseCommand):
    help = (
        "Fetch the desk's new mail from the IMAP mailbox (TUGI_IMAP_*) and turn it into cases, "
        "replies and third-party answers. --file reads .eml files or folders of them instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, help="process at most this many mails per poll")
        parser.add_argument(
            "--loop", type=int, metavar="SECONDS", help="keep polling, this many seconds apart"
        )
        parser.add_argument(
            "--file",
            action="append",
            default=[],
            metavar="PATH",
            help="an .eml file or a folder of them (repeatable); no IMAP",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["file"]:
            self._files([Path(p) for p in opts["file"]])
            return
        if not conf.imap_enabled():
            raise CommandError(
                "TUGI_IMAP_HOST is not set: there is no mailbox to poll "
                "(set TUGI_IMAP_HOST, TUGI_IMAP_USER and TUGI_IMAP_PASSWORD)."
            )
        from tugi.desk.mail import imap

        while True:
            started = time.perf_counter()
            try:
                result = imap.poll(limit=opts["limit"])
            except Exception as exc:
                if not opts["loop"]:
                    raise CommandError(f"Polling the mailbox failed: {exc}") from exc
                self.stderr.write(f"Polling the mailbox failed: {exc}")
            else:
                elapsed = time.perf_counter() - started
                self.stdout.write(f"{conf.imap_settings().label}: {result} ({elapsed:.1f} s)")
            if not opts["loop"]:
                return
            time.sleep(opts["loop"])

    def _files(self, paths: list[Path]) -> None:
        files: list[Path] = []
        for path in paths:
            if path.is_dir():
                files.extend(sorted(path.glob("*.eml")))
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{path}: no such file or folder.")
        counts: dict[str, int] = {}
        for path in files:
            with request_scope():
                inbound = process_raw(
                    path.read_bytes(), mailbox=f"file:{path.parent}", uid=path.name
                )
            counts[inbound.outcome] = counts.get(inbound.outcome, 0) + 1
            case = f" → {inbound.case}" if inbound.case_id else ""
            reason = f" ({inbound.reason})" if inbound.reason else ""
            self.stdout.write(f"{path.name}: {inbound.outcome}{case}{reason}")
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no files"
        self.stdout.write(f"{len(files)} files: {summary}")
