"""The personnel import: rows of an HR export (or records the HR system pushes) checked against
Tugi's persons, sorted into joiners, movers, leavers, updated and unchanged, and applied.

A person is identified by the personal code, or by the foreign id (country and code) when they
have none. Optional columns that the file does not have leave those data as they are; an empty
cell in a column the file has clears it (a manager, an end date, a phone).

Checking reads the organisation once into memory (units, positions, and a few fields of every
person), so it costs the same per row whatever the size of the file: about 100,000 rows in a
few seconds. Applying writes the persons in bulk (one insert and one update statement per few
hundred rows, one audit event per person written in one multi-row insert) and then hands the
joiners, movers and leavers to the lifecycle engine (`tugi.access.lifecycle.movements`), which
grants, requests and ends access through the grant actions.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tugi.core import audit
from tugi.core.permissions import Actor
from tugi.core.personal_code import validate_personal_code
from tugi.core.text import fold
from tugi.people.actions import IDENTIFIERS, person_audit
from tugi.people.imports.files import Cell, Column, parse_date, text_of
from tugi.people.models import OrgUnit, Person, Position

COLUMNS = [
    Column(
        "personal_code",
        gettext_lazy("personal code"),
        ("isikukood", "personal code", "id code", "isikukood ee"),
    ),
    Column(
        "foreign_id_country",
        gettext_lazy("country of foreign id"),
        ("välisisikukoodi riik", "foreign id country", "riik", "country"),
    ),
    Column(
        "foreign_id_code",
        gettext_lazy("foreign id"),
        ("välisisikukood", "foreign id", "foreign id code", "välismaa isikukood"),
    ),
    Column("first_name", gettext_lazy("first name"), ("eesnimi", "first name", "given name"), True),
    Column(
        "last_name",
        gettext_lazy("last name"),
        ("perekonnanimi", "last name", "perenimi", "surname", "family name"),
        True,
    ),
    Column("email", gettext_lazy("e-mail"), ("e-post", "e-mail", "epost", "meiliaadress"), True),
    Column("phone", gettext_lazy("phone"), ("telefon", "phone", "telefoninumber")),
    Column(
        "unit_code",
        gettext_lazy("unit code"),
        ("üksuse kood", "unit code", "struktuuriüksuse kood", "struktuuriüksus", "üksus", "unit"),
        True,
    ),
    Column(
        "position_code",
        gettext_lazy("position code"),
        ("ametikoha kood", "position code", "ametikoht", "position"),
        True,
    ),
    Column(
        "employment_start",
        gettext_lazy("employment start"),
        (
            "töösuhte algus",
            "employment start",
            "tööle asumise kuupäev",
            "alguskuupäev",
            "algus",
            "start date",
            "start",
        ),
        True,
    ),
    Column(
        "employment_end",
        gettext_lazy("employment end"),
        (
            "töösuhte lõpp",
            "employment end",
            "viimane tööpäev",
            "lõppkuupäev",
            "lõpp",
            "end date",
            "end",
            "last day",
        ),
    ),
    Column(
        "manager_personal_code",
        gettext_lazy("manager's personal code"),
        (
            "juhi isikukood",
            "manager's personal code",
            "manager personal code",
            "manager code",
            "juht",
            "manager",
        ),
    ),
]
ONE_OF = [("personal_code", "foreign_id_code")]
FIELDS = {c.field for c in COLUMNS}

# Categories, in the order a row is sorted into them: each row counts once.
JOINER, LEAVER, MOVER, UPDATED, UNCHANGED = "joiner", "leaver", "mover", "updated", "unchanged"
CATEGORIES = (JOINER, MOVER, LEAVER, UPDATED, UNCHANGED)
# Rows listed on the preview page per category; the counts are always complete.
LISTED_CHANGES = 300

_FOREIGN_PREFIX = re.compile(r"^([A-Za-z]{2})[:\- ](.+)$")
# Lazy: translated only when a message needs them, not for every row.
_FIRST_NAME = gettext_lazy("First name")
_LAST_NAME = gettext_lazy("Last name")
_EMAIL = gettext_lazy("E-mail")


# --- what Tugi knows ---------------------------------------------------------------------------


@dataclass(slots=True)
class Known:
    """A person as Tugi has them now (the fields the import compares)."""

    id: int
    personal_code: str | None
    foreign_id_country: str
    foreign_id_code: str
    first_name: str
    last_name: str
    email: str
    phone: str
    org_unit_id: int
    position_id: int | None
    manager_id: int | None
    employment_start: datetime.date
    employment_end: datetime.date | None
    status: str


@dataclass(frozen=True, slots=True)
class UnitRef:
    id: int
    name: str
    active: bool


@dataclass(frozen=True, slots=True)
class PositionRef:
    id: int
    title: str
    org_unit_id: int
    active: bool


class Directory:
    """The organisation as the import needs it, read once: units, positions, persons by key."""

    def __init__(self) -> None:
        self.units = {
            code: UnitRef(pk, name, active)
            for pk, code, name, active in OrgUnit.objects.values_list(
                "pk", "code", "name", "active"
            )
        }
        self.unit_names = {u.id: u.name for u in self.units.values()}
        self.positions = {
            code: PositionRef(pk, title, unit, active)
            for pk, code, title, unit, active in Position.objects.values_list(
                "pk", "code", "title", "org_unit_id", "active"
            )
        }
        self.by_key: dict[str, Known] = {}
        self.by_id: dict[int, Known] = {}
        self.email_owner: dict[str, int] = {}
        fields = [f for f in Known.__dataclass_fields__ if f != "id"]
        for row in Person.objects.order_by().values_list("pk", *fields).iterator(chunk_size=5000):
            known = Known(*row)
            self.by_id[known.id] = known
            self.email_owner[known.email] = known.id
            if known.personal_code:
                self.by_key[f"EE:{known.personal_code}"] = known
            if known.foreign_id_code:
                self.by_key[f"{known.foreign_id_country}:{known.foreign_id_code}"] = known


# --- rows -------------------------------------------------------------------------------------


@dataclass(slots=True)
class PersonRow:
    """One valid row: the person as the file states them, and how that differs from Tugi."""

    row: int
    key: str
    personal_code: str | None
    foreign_id_country: str
    foreign_id_code: str
    first_name: str
    last_name: str
    email: str
    phone: str | None  # None: the file does not say, keep
    org_unit_id: int
    position_id: int | None
    employment_start: datetime.date
    employment_end: datetime.date | None
    end_given: bool
    manager_key: str | None  # None: the file does not say; "": no manager
    known: Known | None
    manager_id: int | None = None
    manager_row: PersonRow | None = None
    category: str = UNCHANGED
    changed: list[str] = field(default_factory=list)
    status: str = Person.Status.ACTIVE
    joins: bool = False
    moves: bool = False
    end_changed: bool = False
    person_id: int | None = None  # once written


@dataclass
class Checked:
    """The outcome of checking: the refused rows' messages and the valid rows, classified."""

    total_rows: int
    errors: list[dict[str, Any]]
    rows: list[PersonRow]
    not_in_file: int = 0

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(r.category for r in self.rows)
        return {c: counts.get(c, 0) for c in CATEGORIES}

    def summary(self, directory: Directory) -> dict[str, Any]:
        """What applying would do, for the preview page (no personal codes in it)."""
        listed: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in self.rows:
            if r.category != UNCHANGED and len(listed[r.category]) < LISTED_CHANGES:
                listed[r.category].append(
                    {
                        "row": r.row,
                        "name": f"{r.first_name} {r.last_name}",
                        "person": r.known.id if r.known else None,
                        "changed": r.changed,
                        "unit": directory.unit_names.get(r.org_unit_id, ""),
                        "end": r.employment_end.isoformat() if r.employment_end else None,
                    }
                )
        return {
            **self.counts,
            "refused": len({e["row"] for e in self.errors}),
            "not_in_file": self.not_in_file,
            "changes": dict(listed),
        }


def _error(errors: list[dict[str, Any]], row: int, field_name: str, message: str) -> None:
    errors.append({"row": row, "field": field_name, "message": str(message)})


def _one_message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _identity(
    cells: dict[str, Cell], row: int, errors: list[dict[str, Any]], known: dict[str, Known]
) -> tuple[str, str | None, str, str] | None:
    """The row's key and identifiers (personal code, foreign country, foreign code)."""
    code = text_of(cells.get("personal_code", "")).replace(" ", "")
    country = text_of(cells.get("foreign_id_country", "")).upper()
    foreign = text_of(cells.get("foreign_id_code", ""))
    if code[:2].upper() == "EE" and code[2:].isdigit():
        code = code[2:]  # the TARA form, EE37605030299
    if foreign and not country and (match := _FOREIGN_PREFIX.match(foreign)):
        country, foreign = match.group(1).upper(), match.group(2).strip()
    # The code of a person Tugi has was checked when it was stored: most rows of a full export
    # are such persons, and the checksum is most of the cost of checking a row.
    if code:
        if f"EE:{code}" not in known:
            try:
                validate_personal_code(code)
            except ValidationError as exc:
                _error(errors, row, "personal_code", _one_message(exc))
                return None
    elif not foreign:
        _error(errors, row, "personal_code", _("Give the personal code, or a foreign id."))
        return None
    if foreign:
        problem = ""
        if not country:
            problem = _("Say which country issued the foreign id (e.g. LV).")
        elif country == "EE":
            problem = _("An Estonian id goes in the personal code.")
        elif not re.fullmatch(r"[A-Z]{2}", country):
            problem = _("Give the country as a two-letter code, e.g. LV or FI.")
        if problem:
            _error(errors, row, "foreign_id_country", problem)
            return None
        if len(foreign) > 40:
            _error(errors, row, "foreign_id_code", _("A foreign id has at most 40 characters."))
            return None
    else:
        country = ""
    key = f"EE:{code}" if code else f"{country}:{foreign}"
    return key, code or None, country, foreign


def _manager_key(value: str) -> str:
    value = value.replace(" ", "")
    if value[:2].upper() == "EE" and value[2:].isdigit():
        value = value[2:]
    if value.isdigit():
        return f"EE:{value}"
    if match := _FOREIGN_PREFIX.match(value):
        return f"{match.group(1).upper()}:{match.group(2).strip()}"
    return f"EE:{value}"


def _check_row(
    number: int,
    cells: dict[str, Cell],
    directory: Directory,
    errors: list[dict[str, Any]],
) -> PersonRow | None:
    """One row on its own; None (with its messages in `errors`) if it is refused."""
    before = len(errors)
    identity = _identity(cells, number, errors, directory.by_key)

    def required_text(name: str, label: Any, limit: int) -> str:
        value = text_of(cells.get(name, ""))
        if not value:
            _error(errors, number, name, _("%(field)s is missing.") % {"field": label})
        elif len(value) > limit:
            _error(
                errors,
                number,
                name,
                _("%(field)s has at most %(limit)d characters.") % {"field": label, "limit": limit},
            )
        return value

    first_name = required_text("first_name", _FIRST_NAME, 100)
    last_name = required_text("last_name", _LAST_NAME, 100)
    email = required_text("email", _EMAIL, 254).lower()
    # An address Tugi has was checked when it was stored (whoever has it: a clash is below).
    if email and len(email) <= 254 and email not in directory.email_owner:
        try:
            validate_email(email)
        except ValidationError:
            _error(
                errors,
                number,
                "email",
                _("“%(value)s” is not an e-mail address.") % {"value": email},
            )
    phone: str | None = None
    if "phone" in cells:
        phone = text_of(cells["phone"])
        if len(phone) > 40:
            _error(errors, number, "phone", _("A phone number has at most 40 characters."))

    known = directory.by_key.get(identity[0]) if identity else None
    unit_code = text_of(cells.get("unit_code", ""))
    unit = directory.units.get(unit_code)
    if not unit_code:
        _error(errors, number, "unit_code", _("The unit code is missing."))
    elif unit is None:
        _error(
            errors, number, "unit_code", _("No unit has the code “%(code)s”.") % {"code": unit_code}
        )
    elif not unit.active and (known is None or known.org_unit_id != unit.id):
        # A unit or position no longer in use takes no one new, but those already there stay.
        _error(
            errors,
            number,
            "unit_code",
            _("The unit “%(unit)s” is no longer in use.") % {"unit": unit.name},
        )
    position_code = text_of(cells.get("position_code", ""))
    position = directory.positions.get(position_code) if position_code else None
    if position_code and position is None:
        _error(
            errors,
            number,
            "position_code",
            _("No position has the code “%(code)s”.") % {"code": position_code},
        )
    elif (
        position is not None
        and not position.active
        and (known is None or known.position_id != position.id)
    ):
        _error(
            errors,
            number,
            "position_code",
            _("The position “%(position)s” is no longer in use.") % {"position": position.title},
        )
    elif position is not None and unit is not None and position.org_unit_id != unit.id:
        _error(
            errors,
            number,
            "position_code",
            _("The position “%(position)s” belongs to the unit “%(other)s”, not to “%(unit)s”.")
            % {
                "position": position.title,
                "other": directory.unit_names.get(position.org_unit_id, "?"),
                "unit": unit.name,
            },
        )

    start: datetime.date | None = None
    end: datetime.date | None = None
    start_cell = cells.get("employment_start", "")
    if not text_of(start_cell):
        _error(errors, number, "employment_start", _("The employment start date is missing."))
    else:
        try:
            start = parse_date(start_cell)
        except ValueError as exc:
            _error(errors, number, "employment_start", str(exc))
    end_given = "employment_end" in cells
    if end_given and text_of(cells["employment_end"]):
        try:
            end = parse_date(cells["employment_end"])
        except ValueError as exc:
            _error(errors, number, "employment_end", str(exc))
    if start and end and end < start:
        _error(
            errors,
            number,
            "employment_end",
            _("Employment cannot end (%(end)s) before it starts (%(start)s).")
            % {"end": f"{end:%d.%m.%Y}", "start": f"{start:%d.%m.%Y}"},
        )

    manager_key: str | None = None
    if "manager_personal_code" in cells:
        value = text_of(cells["manager_personal_code"])
        manager_key = _manager_key(value) if value else ""
        if identity and manager_key == identity[0]:
            _error(
                errors,
                number,
                "manager_personal_code",
                _("A person cannot be their own manager."),
            )

    if len(errors) > before or identity is None or unit is None or start is None:
        return None
    key, code, country, foreign = identity
    if code and foreign:
        holder = directory.by_key.get(f"{country}:{foreign}")
        if holder is not None and (known is None or holder.id != known.id):
            _error(
                errors,
                number,
                "foreign_id_code",
                _("The foreign id belongs to another person in Tugi (%(name)s).")
                % {"name": f"{holder.first_name} {holder.last_name}"},
            )
            return None
    return PersonRow(
        row=number,
        key=key,
        personal_code=code,
        foreign_id_country=country,
        foreign_id_code=foreign,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        org_unit_id=unit.id,
        position_id=position.id if position else None,
        employment_start=start,
        employment_end=end,
        end_given=end_given,
        manager_key=manager_key,
        known=known,
    )


def _rows_text(rows: Iterable[int]) -> str:
    return ", ".join(str(r) for r in sorted(rows))


def _refuse_duplicates(
    rows: list[PersonRow], errors: list[dict[str, Any]], directory: Directory
) -> list[PersonRow]:
    """The same person twice, or one e-mail address for two persons: every such row is refused.

    Which of two rows is right is for HR to say, so neither is applied.
    """
    by_key: dict[str, list[PersonRow]] = defaultdict(list)
    for r in rows:
        by_key[r.key].append(r)
    refused: set[int] = set()
    for same in by_key.values():
        if len(same) > 1:
            for r in same:
                others = [o.row for o in same if o is not r]
                field_name = "personal_code" if r.personal_code else "foreign_id_code"
                _error(
                    errors,
                    r.row,
                    field_name,
                    _("The same person is also on row %(rows)s: each person must be on one row.")
                    % {"rows": _rows_text(others)},
                )
                refused.add(r.row)
    by_email: dict[str, list[PersonRow]] = defaultdict(list)
    for r in rows:
        if r.row not in refused:
            by_email[r.email].append(r)
    for email, same in by_email.items():
        if len({r.key for r in same}) > 1:
            for r in same:
                _error(
                    errors,
                    r.row,
                    "email",
                    _("The e-mail address is also on row %(rows)s, for another person.")
                    % {"rows": _rows_text(o.row for o in same if o is not r)},
                )
                refused.add(r.row)
            continue
        owner = directory.email_owner.get(email)
        for r in same:
            if owner is not None and (r.known is None or r.known.id != owner):
                _error(
                    errors,
                    r.row,
                    "email",
                    _(
                        "The e-mail address belongs to another person in Tugi (%(name)s). "
                        "If that person's address changes too, import that change first."
                    )
                    % {
                        "name": f"{directory.by_id[owner].first_name} "
                        f"{directory.by_id[owner].last_name}"
                    },
                )
                refused.add(r.row)
    return [r for r in rows if r.row not in refused]


def _resolve_managers(
    rows: list[PersonRow],
    errors: list[dict[str, Any]],
    directory: Directory,
    refused_keys: set[str],
) -> list[PersonRow]:
    """Each manager is a person in Tugi or on a valid row; the managers form no cycle.

    Refusing a row can take away the manager of another (a new person's row refused), so this
    repeats until nothing more is refused.
    """
    while True:
        by_key = {r.key: r for r in rows}
        newly: set[int] = set()
        for r in rows:
            r.manager_row, r.manager_id = None, None
            if not r.manager_key:
                continue
            target = by_key.get(r.manager_key)
            if target is not None:
                r.manager_row = target
                r.manager_id = target.known.id if target.known else None
                continue
            if (known := directory.by_key.get(r.manager_key)) is not None:
                r.manager_id = known.id
                continue
            if r.manager_key in refused_keys:
                message = _("The manager's own row is refused, so the manager cannot be set.")
            else:
                message = _("No person with the manager's personal code is in Tugi or in the file.")
            _error(errors, r.row, "manager_personal_code", message)
            newly.add(r.row)
        rows = [r for r in rows if r.row not in newly]
        cycles = _refuse_cycles(rows, errors, directory)
        rows = [r for r in rows if r.row not in cycles]
        newly |= cycles
        refused_keys |= {key for key, r in by_key.items() if r.row in newly}
        if not newly:
            return rows


def _refuse_cycles(
    rows: list[PersonRow], errors: list[dict[str, Any]], directory: Directory
) -> set[int]:
    """Rows whose new manager would make someone their own manager, directly or not."""
    # A node is ("p", person id) for persons in Tugi and ("r", row) for new ones.
    row_of_person = {r.known.id: r for r in rows if r.known}

    def node_of(r: PersonRow) -> tuple[str, int]:
        return ("p", r.known.id) if r.known else ("r", r.row)

    def manager_of(node: tuple[str, int]) -> tuple[str, int] | None:
        kind, value = node
        r = row_of_person.get(value) if kind == "p" else rows_by_number.get(value)
        if r is not None and r.manager_key is not None:
            if r.manager_row is not None:
                return node_of(r.manager_row)
            return ("p", r.manager_id) if r.manager_id is not None else None
        if kind == "p":
            known = directory.by_id.get(value)
            if known is not None and known.manager_id is not None:
                return ("p", known.manager_id)
        return None

    rows_by_number = {r.row: r for r in rows}
    refused: set[int] = set()
    for r in rows:
        if not r.manager_key:
            continue
        start = node_of(r)
        seen = {start}
        node = manager_of(start)
        while node is not None and node not in seen:
            seen.add(node)
            node = manager_of(node)
        if node == start:
            _error(
                errors,
                r.row,
                "manager_personal_code",
                _("Managers would form a cycle: the manager reports, directly or not, to %(name)s.")
                % {"name": f"{r.first_name} {r.last_name}"},
            )
            refused.add(r.row)
    return refused


def _classify(r: PersonRow, today: datetime.date) -> None:
    """Which category the row falls in, what changes, and what that means for access."""
    k = r.known
    left = r.employment_end is not None and r.employment_end < today
    if k is None:
        r.status = Person.Status.LEFT if left else Person.Status.ACTIVE
        # A new person who has already left (an old row in a full export) is recorded, and
        # gets no access.
        r.category, r.joins = JOINER, not left
        return
    was_gone = k.status == Person.Status.LEFT or (
        k.employment_end is not None and k.employment_end < today
    )
    end = r.employment_end if r.end_given else k.employment_end
    if left:
        r.status = Person.Status.LEFT
    elif k.status == Person.Status.LEFT:
        r.status = Person.Status.ACTIVE
    else:
        r.status = k.status
    new_manager = k.manager_id
    if r.manager_key is not None:
        new_manager = r.manager_id
    compare = {
        "first_name": (k.first_name, r.first_name),
        "last_name": (k.last_name, r.last_name),
        "email": (k.email, r.email),
        "phone": (k.phone, k.phone if r.phone is None else r.phone),
        "personal_code": (k.personal_code, r.personal_code or k.personal_code),
        "foreign_id": (
            (k.foreign_id_country, k.foreign_id_code),
            (r.foreign_id_country, r.foreign_id_code)
            if r.foreign_id_code
            else (k.foreign_id_country, k.foreign_id_code),
        ),
        "org_unit": (k.org_unit_id, r.org_unit_id),
        "position": (k.position_id, r.position_id),
        "manager": (k.manager_id, new_manager),
        "employment_start": (k.employment_start, r.employment_start),
        "employment_end": (k.employment_end, end),
        "status": (k.status, r.status),
    }
    # A manager who is new in the file has no id yet: that is a change too.
    r.changed = [
        name
        for name, (old, new) in compare.items()
        if old != new or (name == "manager" and r.manager_row is not None and not r.manager_id)
    ]
    r.end_changed = "employment_end" in r.changed
    moved = "org_unit" in r.changed or "position" in r.changed
    if was_gone and not left:
        r.category, r.joins = JOINER, True
    elif r.end_changed and end is not None:
        r.category = LEAVER
        r.moves = moved
    elif moved:
        r.category, r.moves = MOVER, True
    elif r.changed:
        r.category = UPDATED
    else:
        r.category = UNCHANGED


def check(
    table_rows: Sequence[tuple[int, dict[str, Cell]]],
    directory: Directory | None = None,
    today: datetime.date | None = None,
) -> tuple[Checked, Directory]:
    """Check every row and classify the valid ones; nothing is written."""
    directory = directory or Directory()
    today = today or timezone.localdate()
    errors: list[dict[str, Any]] = []
    rows: list[PersonRow] = []
    for number, cells in table_rows:
        row = _check_row(number, cells, directory, errors)
        if row is not None:
            rows.append(row)
    rows = _refuse_duplicates(rows, errors, directory)
    valid = {r.row for r in rows}
    refused_keys = {
        key for number, cells in table_rows if number not in valid for key in _keys_of(cells)
    }
    rows = _resolve_managers(rows, errors, directory, refused_keys)
    for r in rows:
        _classify(r, today)
    errors.sort(key=lambda e: e["row"])
    in_file = {r.known.id for r in rows if r.known}
    in_file |= {
        directory.by_key[k].id
        for _n, cells in table_rows
        for k in _keys_of(cells)
        if k in directory.by_key
    }
    not_in_file = sum(
        1
        for k in directory.by_id.values()
        if k.id not in in_file and k.status != Person.Status.LEFT
    )
    return Checked(len(table_rows), errors, rows, not_in_file), directory


def _keys_of(cells: dict[str, Cell]) -> list[str]:
    """The keys a row names, even a refused one (so its person is not "missing from the file")."""
    code = text_of(cells.get("personal_code", "")).replace(" ", "")
    if code[:2].upper() == "EE":
        code = code[2:]
    keys = [f"EE:{code}"] if code else []
    foreign = text_of(cells.get("foreign_id_code", ""))
    if foreign:
        country = text_of(cells.get("foreign_id_country", "")).upper()
        keys.append(f"{country}:{foreign}")
    return keys


# --- applying ----------------------------------------------------------------------------------

# Persons written per transaction: each batch commits with its audit events and its access
# consequences, so the page can show progress and other writers are not held off for the
# whole file (on SQLite one transaction holds the only write lock), while each batch's fixed
# cost (the audit chain's head, the engine's planning queries) is shared by many persons.
# Unchanged rows, most of a full export, are only counted.
BATCH = 100

_ATTNAMES = {f.attname for f in Person._meta.concrete_fields}


@dataclass
class Applied:
    """What applying did: persons written by category, and the access consequences."""

    counts: Counter[str] = field(default_factory=Counter)
    access: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)


def _assign(person: Person, r: PersonRow) -> None:
    person.first_name, person.last_name, person.email = r.first_name, r.last_name, r.email
    if r.phone is not None:
        person.phone = r.phone
    if r.personal_code:
        person.personal_code = r.personal_code
    if r.foreign_id_code:
        person.foreign_id_country, person.foreign_id_code = r.foreign_id_country, r.foreign_id_code
    person.org_unit_id, person.position_id = r.org_unit_id, r.position_id
    if r.manager_key is not None:
        manager = r.manager_row.person_id if r.manager_row is not None else r.manager_id
        person.manager_id = manager
    person.employment_start = r.employment_start
    if r.end_given:
        person.employment_end = r.employment_end
    person.status = r.status
    person.search_text = fold(f"{person.first_name} {person.last_name} {person.email}")


def apply(
    checked: Checked,
    actor: Actor,
    *,
    basis: str,
    filed_by: User | None,
    progress: Callable[[int], None] | None = None,
    batch: int | None = None,
) -> Applied:
    """Write the valid rows and their access consequences, `batch` rows per transaction."""
    from tugi.access.lifecycle.movements import Consequences, Movement

    applied = Applied()
    consequences = Consequences(filed_by=filed_by)
    rows = checked.rows
    batch = batch or BATCH
    for r in rows:
        if r.known is not None:
            r.person_id = r.known.id
    # Managers who are new persons in a later batch are linked once they exist.
    deferred: list[PersonRow] = []

    def manager_pending(r: PersonRow) -> bool:
        return r.manager_row is not None and r.manager_row.person_id is None

    to_write = [i for i, r in enumerate(rows) if r.known is None or r.changed]
    for start in range(0, len(to_write), batch):
        chunk = [rows[i] for i in to_write[start : start + batch]]
        with transaction.atomic():
            entries: list[tuple[str, Any, dict[str, Any]]] = []
            new_rows = [r for r in chunk if r.known is None]
            new_persons = []
            for r in new_rows:
                person = Person(phone="")
                _assign(person, r)
                new_persons.append(person)
            Person.objects.bulk_create(new_persons, batch_size=500)
            for r, person in zip(new_rows, new_persons, strict=True):
                r.person_id = person.pk
            # A manager created in this same insert has an id only now.
            relinked = []
            for r, person in zip(new_rows, new_persons, strict=True):
                if r.manager_row is not None:
                    if manager_pending(r):
                        deferred.append(r)
                    elif person.manager_id != r.manager_row.person_id:
                        person.manager_id = r.manager_row.person_id
                        relinked.append(person)
            Person.objects.bulk_update(relinked, ["manager"], batch_size=500)
            for person in new_persons:
                entries.append(
                    (
                        "people.person.create",
                        person,
                        {
                            "after": person_audit(person),
                            "subject_person_id": person.pk,
                            "basis": basis,
                        },
                    )
                )
            changed_rows = [r for r in chunk if r.known is not None and r.changed]
            persons = Person.objects.in_bulk([r.person_id for r in changed_rows])
            updated = []
            for r in changed_rows:
                person = persons[r.person_id or 0]
                before = person_audit(person)
                old_ids = {name: getattr(person, name) for name in IDENTIFIERS}
                old_search = person.search_text
                _assign(person, r)
                if manager_pending(r):
                    deferred.append(r)
                b, a = audit.diff(before, person_audit(person))
                # Only the columns that change: a few small UPDATEs are cheaper than one
                # bulk_update rewriting every column of every row through CASE expressions.
                columns = {name: getattr(person, name) for name in a if name in _ATTNAMES}
                for name, old in old_ids.items():
                    if getattr(person, name) != old:
                        b[name], a[name] = "•", "changed"
                        columns[name] = getattr(person, name)
                if person.search_text != old_search:
                    columns["search_text"] = person.search_text
                if columns:
                    Person.objects.filter(pk=person.pk).update(**columns)
                updated.append(person)
                entries.append(
                    (
                        "people.person.update",
                        person,
                        {"before": b, "after": a, "subject_person_id": person.pk, "basis": basis},
                    )
                )
            audit.record_many(actor, entries)
            by_id = {p.pk: p for p in [*new_persons, *updated]}
            movements = [
                Movement(
                    person=by_id[r.person_id or 0],
                    row=r.row,
                    joins=r.joins,
                    moves=r.moves,
                    end_changed=r.end_changed,
                    old_end=r.known.employment_end if r.known else None,
                )
                for r in chunk
                if (r.joins or r.moves or r.end_changed) and r.person_id in by_id
            ]
            consequences.follow(movements)
        if progress is not None:
            done = to_write[min(start + batch, len(to_write)) - 1] + 1
            progress(len(rows) if start + batch >= len(to_write) else done)
    if not to_write and progress is not None:
        progress(len(rows))
    if deferred:
        _link_deferred_managers(deferred, actor, basis)
    for r in rows:
        applied.counts[r.category] += 1
        applied.results.append({"row": r.row, "person": r.person_id, "outcome": r.category})
    applied.access = consequences.outcome.as_dict()
    return applied


def _link_deferred_managers(rows: list[PersonRow], actor: Actor, basis: str) -> None:
    """Set the managers that were new persons in a later batch than their reports."""
    with transaction.atomic():
        persons = Person.objects.in_bulk([r.person_id for r in rows if r.person_id])
        entries: list[tuple[str, Any, dict[str, Any]]] = []
        for r in rows:
            person = persons[r.person_id or 0]
            manager = r.manager_row.person_id if r.manager_row else None
            if person.manager_id == manager:
                continue
            entries.append(
                (
                    "people.person.update",
                    person,
                    {
                        "before": {"manager": person.manager_id},
                        "after": {"manager": manager},
                        "subject_person_id": person.pk,
                        "basis": basis,
                    },
                )
            )
            person.manager_id = manager
        Person.objects.bulk_update(list(persons.values()), ["manager"], batch_size=500)
        audit.record_many(actor, entries)
