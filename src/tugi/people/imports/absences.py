"""The vacation schedule import (puhkusegraafik): who is away when, from HR's schedule file.

Each row names a person (by personal code, or by e-mail), the kind of leave and the first and
last day. A row that overlaps a schedule absence already recorded for the person is that
absence, changed (a re-imported schedule updates what an earlier import recorded, it does not
record it twice); a row that overlaps none is recorded anew. Absences recorded from an earlier
schedule that no row of the file matches are **not** cancelled: the preview lists them as "not
in the file", for HR to cancel by hand if they are really off (a partial file, one unit's
schedule, would otherwise cancel everyone else's leave).

The writing is done by the absence actions (`tugi.people.actions.record_absence`,
`change_absence`), which also propose the substitutions an absence needs.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tugi.core.permissions import Actor
from tugi.core.personal_code import validate_personal_code
from tugi.people.imports.files import Cell, Column, heading_key, parse_date, text_of
from tugi.people.models import Absence, Person

COLUMNS = [
    Column("personal_code", gettext_lazy("personal code"), ("isikukood", "personal code")),
    Column("email", gettext_lazy("e-mail"), ("e-post", "e-mail", "epost")),
    Column(
        "kind",
        gettext_lazy("kind of absence"),
        ("liik", "kind", "puhkuse liik", "puudumise liik", "type", "leave type", "absence type"),
    ),
    Column(
        "starts_on",
        gettext_lazy("first day"),
        ("esimene päev", "first day", "algus", "alguskuupäev", "alates", "start", "from"),
        True,
    ),
    Column(
        "ends_on",
        gettext_lazy("last day"),
        ("viimane päev", "last day", "lõpp", "lõppkuupäev", "kuni", "end", "to"),
        True,
    ),
    Column("note", gettext_lazy("note"), ("märkus", "note", "comment", "kommentaar")),
]
ONE_OF = [("personal_code", "email")]

# What HR calls the kinds of leave, folded as headings are; a blank cell means annual leave.
_KINDS = {
    heading_key(name): kind
    for kind, names in {
        Absence.Kind.VACATION: (
            "põhipuhkus",
            "puhkus",
            "korraline puhkus",
            "lisapuhkus",
            "vacation",
            "annual leave",
            "holiday",
        ),
        Absence.Kind.STUDY: ("õppepuhkus", "study leave", "study"),
        Absence.Kind.SICK: ("haigusleht", "haigus", "töövõimetus", "sick leave", "sick"),
        Absence.Kind.PARENTAL: (
            "lapsehoolduspuhkus",
            "vanemapuhkus",
            "isapuhkus",
            "emapuhkus",
            "rasedus- ja sünnituspuhkus",
            "lapsepuhkus",
            "parental leave",
            "parental",
            "maternity leave",
            "paternity leave",
        ),
        Absence.Kind.OTHER: ("muu", "tasustamata puhkus", "other", "unpaid leave"),
    }.items()
    for name in names
}

NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"
CATEGORIES = (NEW, CHANGED, UNCHANGED)
LISTED = 500  # absences "not in the file" listed on the page; the count is complete
BATCH = 500


@dataclass(slots=True)
class AbsenceRow:
    """One valid row, and the recorded absence it changes (if any)."""

    row: int
    person_id: int
    person_name: str
    kind: str
    starts_on: datetime.date
    ends_on: datetime.date
    note: str | None
    existing: Absence | None = None
    category: str = NEW


@dataclass
class Checked:
    """The refused rows' messages, the valid rows, and the recorded absences not in the file."""

    total_rows: int
    errors: list[dict[str, Any]]
    rows: list[AbsenceRow]
    not_in_file: list[dict[str, Any]] = field(default_factory=list)
    not_in_file_count: int = 0

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(r.category for r in self.rows)
        return {c: counts.get(c, 0) for c in CATEGORIES}

    def summary(self) -> dict[str, Any]:
        return {
            **self.counts,
            "refused": len({e["row"] for e in self.errors}),
            "not_in_file": self.not_in_file_count,
            "not_in_file_list": self.not_in_file,
        }


def _error(errors: list[dict[str, Any]], row: int, field_name: str, message: str) -> None:
    errors.append({"row": row, "field": field_name, "message": str(message)})


@dataclass(slots=True)
class _PersonRef:
    id: int
    name: str
    status: str
    employment_end: datetime.date | None


def _persons() -> tuple[dict[str, _PersonRef], dict[str, _PersonRef]]:
    by_code: dict[str, _PersonRef] = {}
    by_email: dict[str, _PersonRef] = {}
    rows = Person.objects.order_by().values_list(
        "pk", "first_name", "last_name", "personal_code", "email", "status", "employment_end"
    )
    for pk, first, last, code, email, status, end in rows.iterator(chunk_size=5000):
        ref = _PersonRef(pk, f"{first} {last}", status, end)
        if code:
            by_code[code] = ref
        by_email[email.lower()] = ref
    return by_code, by_email


def _period(start: datetime.date, end: datetime.date) -> str:
    return f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"


def _check_row(
    number: int,
    cells: dict[str, Cell],
    by_code: dict[str, _PersonRef],
    by_email: dict[str, _PersonRef],
    errors: list[dict[str, Any]],
) -> AbsenceRow | None:
    before = len(errors)
    person: _PersonRef | None = None
    code = text_of(cells.get("personal_code", "")).replace(" ", "")
    email = text_of(cells.get("email", "")).lower()
    if code:
        try:
            validate_personal_code(code)
            person = by_code.get(code)
            if person is None:
                _error(
                    errors,
                    number,
                    "personal_code",
                    _("No person with this personal code is in Tugi."),
                )
        except ValidationError as exc:
            _error(errors, number, "personal_code", " ".join(exc.messages))
    elif email:
        person = by_email.get(email)
        if person is None:
            _error(
                errors,
                number,
                "email",
                _("No person with the e-mail address “%(email)s” is in Tugi.") % {"email": email},
            )
    else:
        _error(errors, number, "personal_code", _("Give the personal code or the e-mail address."))

    kind_text = text_of(cells.get("kind", ""))
    kind = _KINDS.get(heading_key(kind_text)) if kind_text else Absence.Kind.VACATION
    if kind is None:
        _error(
            errors,
            number,
            "kind",
            _(
                "“%(value)s” is not a kind of absence Tugi knows: use põhipuhkus, õppepuhkus, "
                "haigusleht, lapsehoolduspuhkus or muu."
            )
            % {"value": kind_text},
        )

    dates: dict[str, datetime.date] = {}
    for name, missing in (
        ("starts_on", _("The first day is missing.")),
        ("ends_on", _("The last day is missing.")),
    ):
        cell = cells.get(name, "")
        if not text_of(cell):
            _error(errors, number, name, missing)
            continue
        try:
            dates[name] = parse_date(cell)
        except ValueError as exc:
            _error(errors, number, name, str(exc))
    starts_on, ends_on = dates.get("starts_on"), dates.get("ends_on")
    if starts_on and ends_on and ends_on < starts_on:
        _error(
            errors,
            number,
            "ends_on",
            _("The last day (%(end)s) is before the first day (%(start)s).")
            % {"end": f"{ends_on:%d.%m.%Y}", "start": f"{starts_on:%d.%m.%Y}"},
        )
    if person is not None and starts_on and ends_on:
        last_day = person.employment_end
        if person.status == Person.Status.LEFT or (last_day is not None and ends_on > last_day):
            _error(
                errors,
                number,
                "ends_on" if last_day and starts_on <= last_day else "starts_on",
                _("%(name)s has left or leaves before then (last day %(day)s).")
                % {
                    "name": person.name,
                    "day": f"{last_day:%d.%m.%Y}" if last_day else "–",
                },
            )
    note = text_of(cells["note"])[:300] if "note" in cells else None
    if len(errors) > before or person is None or not starts_on or not ends_on or kind is None:
        return None
    return AbsenceRow(number, person.id, person.name, kind, starts_on, ends_on, note)


def _refuse_overlaps(rows: list[AbsenceRow], errors: list[dict[str, Any]]) -> list[AbsenceRow]:
    """Two rows of one person whose periods overlap: both refused (which is right is HR's call)."""
    by_person: dict[int, list[AbsenceRow]] = defaultdict(list)
    for r in rows:
        by_person[r.person_id].append(r)
    refused: set[int] = set()
    for same in by_person.values():
        if len(same) < 2:
            continue
        same.sort(key=lambda r: (r.starts_on, r.row))
        for i, r in enumerate(same):
            for other in same[i + 1 :]:
                if other.starts_on > r.ends_on:
                    break
                for a, b in ((r, other), (other, r)):
                    _error(
                        errors,
                        a.row,
                        "starts_on",
                        _("The period overlaps row %(row)d (%(period)s) of the same person.")
                        % {"row": b.row, "period": _period(b.starts_on, b.ends_on)},
                    )
                    refused.add(a.row)
    return [r for r in rows if r.row not in refused]


def _match_existing(
    rows: list[AbsenceRow], errors: list[dict[str, Any]]
) -> tuple[list[AbsenceRow], list[Absence], datetime.date | None, datetime.date | None]:
    """Pair each row with the schedule absence it changes; refuse rows that pair ambiguously."""
    if not rows:
        return rows, [], None, None
    first = min(r.starts_on for r in rows)
    last = max(r.ends_on for r in rows)
    in_window = list(
        Absence.objects.filter(cancelled=False, starts_on__lte=last, ends_on__gte=first)
        .select_related("person")
        .order_by("person_id", "starts_on", "id")
    )
    recorded = [a for a in in_window if a.source == Absence.Source.SCHEDULE]
    by_person: dict[int, list[Absence]] = defaultdict(list)
    for absence in in_window:
        by_person[absence.person_id].append(absence)
    candidates: dict[int, list[Absence]] = {}
    by_hand: dict[int, list[Absence]] = {}
    claimed: dict[int, list[AbsenceRow]] = defaultdict(list)
    for r in rows:
        overlapping = [
            a
            for a in by_person.get(r.person_id, [])
            if a.starts_on <= r.ends_on and a.ends_on >= r.starts_on
        ]
        found = [a for a in overlapping if a.source == Absence.Source.SCHEDULE]
        by_hand[r.row] = [a for a in overlapping if a.source != Absence.Source.SCHEDULE]
        candidates[r.row] = found
        for a in found:
            claimed[a.pk].append(r)
    refused: set[int] = set()
    for r in rows:
        found = candidates[r.row]
        if by_hand[r.row]:
            other = by_hand[r.row][0]
            # An absence entered by hand is HR's or the desk's own decision: the schedule does
            # not overwrite it, and one person cannot be absent twice on a day.
            _error(
                errors,
                r.row,
                "starts_on",
                _(
                    "%(name)s is already absent %(period)s (%(kind)s, entered by hand): change "
                    "or cancel that absence first."
                )
                % {
                    "name": r.person_name,
                    "period": _period(other.starts_on, other.ends_on),
                    "kind": other.get_kind_display(),
                },
            )
            refused.add(r.row)
        elif len(found) > 1:
            _error(
                errors,
                r.row,
                "starts_on",
                _(
                    "The period overlaps %(count)d absences already recorded (%(periods)s): "
                    "change them by hand, or make the row match one of them."
                )
                % {
                    "count": len(found),
                    "periods": ", ".join(_period(a.starts_on, a.ends_on) for a in found),
                },
            )
            refused.add(r.row)
        elif found and len(claimed[found[0].pk]) > 1:
            others = [o.row for o in claimed[found[0].pk] if o is not r]
            _error(
                errors,
                r.row,
                "starts_on",
                _("Rows %(rows)s also overlap the absence already recorded for %(period)s.")
                % {
                    "rows": ", ".join(map(str, sorted(others))),
                    "period": _period(found[0].starts_on, found[0].ends_on),
                },
            )
            refused.add(r.row)
        elif found:
            r.existing = found[0]
            same = (r.existing.kind, r.existing.starts_on, r.existing.ends_on) == (
                r.kind,
                r.starts_on,
                r.ends_on,
            )
            same = same and (r.note is None or r.note == r.existing.note)
            r.category = UNCHANGED if same else CHANGED
    valid = [r for r in rows if r.row not in refused]
    matched = {r.existing.pk for r in valid if r.existing is not None}
    # Absences a refused row overlaps are not "missing": the file names them, badly.
    named = {a.pk for r in rows if r.row in refused for a in candidates[r.row]}
    missing = [a for a in recorded if a.pk not in matched and a.pk not in named]
    return valid, missing, first, last


def check(table_rows: Sequence[tuple[int, dict[str, Cell]]]) -> Checked:
    """Check every row against the persons and the schedule recorded; nothing is written."""
    by_code, by_email = _persons()
    errors: list[dict[str, Any]] = []
    rows = [
        row
        for number, cells in table_rows
        if (row := _check_row(number, cells, by_code, by_email, errors)) is not None
    ]
    rows = _refuse_overlaps(rows, errors)
    rows, missing, _first, _last = _match_existing(rows, errors)
    errors.sort(key=lambda e: e["row"])
    listed = [
        {
            "absence": a.pk,
            "person": a.person_id,
            "name": str(a.person),
            "kind": a.kind,
            "starts_on": a.starts_on.isoformat(),
            "ends_on": a.ends_on.isoformat(),
        }
        for a in missing[:LISTED]
    ]
    return Checked(len(table_rows), errors, rows, listed, len(missing))


@dataclass
class Applied:
    """What applying did: rows by category, and the rows the absence actions refused."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[dict[str, Any]] = field(default_factory=list)


def apply(
    checked: Checked,
    actor: Actor,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int | None = None,
) -> Applied:
    """Record the new absences and change the changed ones, through the absence actions."""
    from tugi.people.actions import change_absence, record_absence

    applied = Applied()
    rows = checked.rows
    batch = batch or BATCH
    persons = Person.objects.in_bulk({r.person_id for r in rows if r.category == NEW})
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        with transaction.atomic():
            for r in chunk:
                try:
                    if r.category == NEW:
                        record_absence(
                            actor,
                            persons[r.person_id],
                            kind=r.kind,
                            starts_on=r.starts_on,
                            ends_on=r.ends_on,
                            source=Absence.Source.SCHEDULE,
                            note=r.note or "",
                        )
                    elif r.category == CHANGED and r.existing is not None:
                        change_absence(
                            actor,
                            r.existing,
                            starts_on=r.starts_on,
                            ends_on=r.ends_on,
                            kind=r.kind,
                            note=r.note,
                        )
                    applied.counts[r.category] += 1
                except (ValidationError, PermissionDenied) as exc:
                    if isinstance(exc, PermissionDenied) and actor is not None:
                        raise  # the user may not do this at all: stop, do not list every row
                    message = (
                        " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                    )
                    applied.counts["failed"] += 1
                    applied.problems.append(
                        {"row": r.row, "person": r.person_name, "message": message}
                    )
        if progress is not None:
            progress(min(start + batch, len(rows)))
    return applied
