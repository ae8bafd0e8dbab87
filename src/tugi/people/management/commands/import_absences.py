"""`tugi import-absences FILE [--apply] [--yes]`: import the vacation schedule (puhkusegraafik)."""

import datetime

from django.utils.translation import gettext as _

from tugi.people.management.commands._import import ImportCommand
from tugi.people.models import DataImport


class Command(ImportCommand):
    help = (
        "Preview a vacation schedule (CSV or XLSX): new and changed absences, refused rows, and "
        "absences of an earlier schedule the file no longer has. With --apply, record them."
    )
    kind = DataImport.Kind.ABSENCES

    def print_extra(self, data_import: DataImport) -> None:
        missing = data_import.summary.get("not_in_file_list") or []
        if not missing:
            return
        self.stdout.write(
            _("Recorded from an earlier schedule but not in this file (not cancelled):")
        )
        for a in missing:
            start = datetime.date.fromisoformat(a["starts_on"])
            end = datetime.date.fromisoformat(a["ends_on"])
            self.stdout.write(f"  {a['name']}: {start:%d.%m.%Y}–{end:%d.%m.%Y} ({a['kind']})")
