"""What `tugi import-hr` and `tugi import-absences` share: preview, then apply on request.

The operator on the server runs them as the system (actor None), as the other commands do:
whoever can run them can already read the database. The preview is printed with every refused
row (or the first --limit) and its reason; nothing changes without --apply. The import is
recorded like one uploaded on the page, so the page lists it too: a preview alone stays there to
be applied or discarded (its file is deleted after TUGI_IMPORT_PREVIEW_DAYS if neither happens);
one the operator asked to apply but that is not applied here (declined at the question, no
--yes off a terminal, no valid row) is discarded at once, with its file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils.translation import gettext as _

from tugi.core.context import request_scope
from tugi.people.imports import labels
from tugi.people.imports.actions import apply_import, discard_import, preview_import
from tugi.people.models import DataImport


class Progress:
    """A bar on a terminal, or a line per tenth when the output goes to a file or a pipe."""

    def __init__(self, out: OutputWrapper, tty: bool) -> None:
        self.out, self.tty = out, tty
        self.last_tenth = -1
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        if self.tty:
            filled = int(share * 30)
            # ending="": OutputWrapper would end each write with a newline.
            self.out.write(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} {done}/{total}"
                f"  {time.perf_counter() - self.started:.0f} s",
                ending="\n" if done >= total else "",
            )
            self.out.flush()
            return
        tenth = int(share * 10)
        if tenth != self.last_tenth:
            self.last_tenth = tenth
            self.out.write(f"{share:.0%} ({done}/{total})")
            self.out.flush()


class ImportCommand(BaseCommand):
    kind: str = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV or XLSX file")
        parser.add_argument(
            "--apply", action="store_true", help="apply the valid rows (default: preview only)"
        )
        parser.add_argument(
            "--yes",
            action="store_true",
            help="apply without asking (needed when not on a terminal)",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=100,
            help="print at most this many refused rows (0: all; default 100)",
        )

    def filed_by(self, opts: dict[str, Any]) -> User | None:
        return None

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        filed_by = self.filed_by(opts)
        with request_scope():
            try:
                data_import = preview_import(None, self.kind, path.name, path.read_bytes())
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.print_preview(data_import, opts["limit"])
            if not opts["apply"]:
                self.stdout.write(
                    _("Nothing was changed. Run again with --apply to apply the valid rows.")
                )
                return
            if not data_import.valid_rows:
                discard_import(None, data_import)
                raise CommandError(_("No row of the file is valid: nothing to apply."))
            if not opts["yes"]:
                if not sys.stdin.isatty():
                    discard_import(None, data_import)
                    raise CommandError(_("Add --yes to apply without being asked."))
                try:
                    answer = input(
                        _("Apply the %(count)d valid rows? [y/N] ")
                        % {"count": data_import.valid_rows}
                    )
                except (EOFError, KeyboardInterrupt):
                    answer = ""
                if answer.strip().lower() not in {"y", "yes", "j", "jah"}:
                    discard_import(None, data_import)
                    self.stdout.write(_("Nothing was changed."))
                    return
            tty = hasattr(self.stdout, "isatty") and self.stdout.isatty()
            progress = Progress(self.stdout, tty)
            done = apply_import(
                None, data_import, filed_by=filed_by, inline=True, on_progress=progress
            )
        self.print_outcome(done)

    def print_preview(self, data_import: DataImport, limit: int) -> None:
        summary = data_import.summary
        self.stdout.write(
            _("%(file)s: %(rows)d rows, %(valid)d valid, %(refused)d refused.")
            % {
                "file": data_import.file_name,
                "rows": data_import.total_rows,
                "valid": data_import.valid_rows,
                "refused": summary.get("refused", 0),
            }
        )
        if summary.get("ignored"):
            self.stdout.write(
                _("Columns not used: %(columns)s") % {"columns": ", ".join(summary["ignored"])}
            )
        for key, label in labels.counts_for(self.kind).items():
            self.stdout.write(f"  {summary.get(key, 0):>8}  {label}")
        errors = data_import.errors
        if errors:
            self.stdout.write(_("Refused rows:"))
            shown = errors if limit <= 0 else errors[:limit]
            for e in shown:
                field = labels.FIELDS.get(e["field"], e["field"])
                self.stdout.write(f"  {_('row')} {e['row']}: {field}: {e['message']}")
            if len(shown) < len(errors):
                self.stdout.write(
                    _("… and %(count)d more messages (--limit 0 prints all).")
                    % {"count": len(errors) - len(shown)}
                )
        self.print_extra(data_import)

    def print_extra(self, data_import: DataImport) -> None:
        """Anything more a kind shows in its preview."""

    def print_outcome(self, data_import: DataImport) -> None:
        if data_import.state != DataImport.State.APPLIED:
            raise CommandError(
                _("The import failed: %(reason)s") % {"reason": data_import.summary.get("failure")}
            )
        applied = data_import.summary.get("applied", {})
        self.stdout.write(
            self.style.SUCCESS(_("Applied (import %(id)d).") % {"id": data_import.pk})
        )
        for key, label in labels.counts_for(self.kind).items():
            if key in applied.get("counts", {}):
                self.stdout.write(f"  {applied['counts'][key]:>8}  {label}")
        for key, label in labels.ACCESS_COUNTS.items():
            if applied.get("access", {}).get(key):
                self.stdout.write(f"  {applied['access'][key]:>8}  {label}")
        problems = applied.get("access", {}).get("problems") or applied.get("problems") or []
        if problems:
            self.stdout.write(self.style.WARNING(_("Not done, for the desk to look at:")))
            for p in problems:
                self.stdout.write(f"  {_('row')} {p['row']}: {p['person']}: {p['message']}")
