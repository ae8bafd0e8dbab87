"""What the import pages and commands call the counts and fields they show (translated)."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from tugi.people.imports import absences, hr

HR_COUNTS: dict[str, Any] = {
    hr.JOINER: _("joiners (new persons)"),
    hr.MOVER: _("movers (new unit or position)"),
    hr.LEAVER: _("leavers (last day set or changed)"),
    hr.UPDATED: _("other changes (name, e-mail, manager …)"),
    hr.UNCHANGED: _("unchanged"),
    "refused": _("refused rows"),
    "not_in_file": _("in Tugi but not in the file (left as they are)"),
}

ABSENCE_COUNTS: dict[str, Any] = {
    absences.NEW: _("new absences"),
    absences.CHANGED: _("changed absences"),
    absences.UNCHANGED: _("unchanged"),
    "refused": _("refused rows"),
    "not_in_file": _("from an earlier schedule, not in this file (not cancelled)"),
}

ACCESS_COUNTS: dict[str, Any] = {
    "accounts_opened": _("accounts opened"),
    "grants_started": _("roles granted"),
    "requests_filed": _("access requests filed"),
    "grants_rebased": _("roles continued on the new job description"),
    "grants_ending_after_move": _("roles ending after the mover's grace days"),
    "grants_ending_on_leaving": _("roles ending with the last day"),
    "leavers_planned": _("leavers whose accounts' suspension and closure are planned"),
}

FIELDS: dict[str, Any] = {
    **{c.field: c.label for c in hr.COLUMNS},
    **{c.field: c.label for c in absences.COLUMNS},
    "person": _("person"),
}


# What changed for a person, as the preview lists it.
CHANGED: dict[str, Any] = {
    **FIELDS,
    "org_unit": _("unit"),
    "position": _("position"),
    "manager": _("manager"),
    "foreign_id": _("foreign id"),
    "status": _("status"),
}


def counts_for(kind: str) -> dict[str, Any]:
    """The labels of the counts of one kind of import."""
    return HR_COUNTS if kind == "persons" else ABSENCE_COUNTS
