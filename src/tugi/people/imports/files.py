"""Reading HR files into rows: CSV and XLSX, with Estonian or English column headings.

What is accepted, and why:

- CSV in UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one), or UTF-16
  with its mark (Excel's "Unicode text"). Anything else is refused naming the line: guessing a
  legacy code page would turn "Õun" into "Ơun" without anyone noticing.
- The separator is sniffed from the heading row: `;` (what Excel writes on an Estonian
  computer), `,` or a tab.
- XLSX: the first sheet, read in openpyxl's read-only mode (it streams the sheet instead of
  building every cell object, so a 100,000-row file reads in seconds). The old binary `.xls`
  and OpenDocument files are refused with the way out (save as XLSX or CSV).
- Headings are matched after folding case, Estonian letters and punctuation away, so
  "Isikukood", "ISIKUKOOD", "personal_code" and "Personal code" name the same column; columns
  nobody asked for are ignored and listed.
- Row numbers are the spreadsheet's: the heading row is row 1 (or wherever it is), so a message
  about row 7 is about what the person sees as row 7.
- Dates as 31.12.2026 (the Estonian way, leading zeros optional) or 2026-12-31, or real date
  cells in a spreadsheet.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from tugi.core.text import fold

# The largest file accepted: a 100,000-person export is about 15 MB as CSV.
MAX_BYTES = 50 * 1024 * 1024

Cell = str | datetime.date


class FileProblem(Exception):
    """The file cannot be read as a table at all (not a row's fault); the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Column:
    """A column the import understands: its field name, a label for messages, its headings."""

    field: str
    label: str | Promise
    headings: tuple[str, ...]
    required: bool = False


@dataclass
class Table:
    """The file's rows as (row number, field → value) for the columns it has."""

    columns: list[str]  # the fields that have a column, in the file's order
    rows: list[tuple[int, dict[str, Cell]]]
    ignored: list[str] = field(default_factory=list)  # headings nobody asked for
    format: str = "csv"
    separator: str = ""


def heading_key(text: str) -> str:
    """A heading reduced to letters and digits: "E-post", "e_post" and "EPOST" are one key."""
    return re.sub(r"[^0-9a-z]", "", fold(text))


def _cell(value: Any) -> Cell:
    """A spreadsheet value as text, or a date for date cells."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        # A personal code typed into a number cell comes back as 37605030299.0.
        return str(int(value))
    return str(value).strip()


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise FileProblem(_("The file is not readable UTF-16 text.")) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileProblem(
            _(
                "The file is not UTF-8 text: line %(line)d has a character in another encoding. "
                "In Excel, save it as “CSV UTF-8 (comma delimited)”, or upload the XLSX file."
            )
            % {"line": line}
        ) from None


def _sniff_separator(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: first.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


def _csv_rows(data: bytes) -> tuple[Iterator[tuple[int, list[Cell]]], str]:
    text = _decode(data)
    if "\x00" in text:
        raise FileProblem(_("The file is not text: is it a spreadsheet saved with a CSV name?"))
    separator = _sniff_separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        try:
            for number, row in enumerate(reader, start=1):
                yield number, [c.strip() for c in row]
        except csv.Error as exc:
            raise FileProblem(
                _("The CSV file is broken near line %(line)d: %(error)s")
                % {"line": reader.line_num, "error": exc}
            ) from None

    return rows(), separator


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Cell]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise FileProblem(
            _("The file is not a readable XLSX workbook. Save it again from Excel, or as CSV.")
        ) from None
    try:
        sheet = workbook.worksheets[0]
        # min_row=1: in read-only mode the rows otherwise start at the first filled one, and the
        # numbers in messages must be the ones the spreadsheet shows.
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            yield number, [_cell(v) for v in values]
    finally:
        workbook.close()


def _is_xlsx(file_name: str, data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04" or file_name.lower().endswith((".xlsx", ".xlsm"))


def _refuse_other_formats(file_name: str, data: bytes) -> None:
    name = file_name.lower()
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or name.endswith(".xls"):
        raise FileProblem(
            _("This is the old Excel format (.xls). Save the file as .xlsx or as CSV UTF-8.")
        )
    if name.endswith(".ods"):
        raise FileProblem(_("OpenDocument spreadsheets are not read: save the file as .xlsx."))


def read_table(
    file_name: str,
    data: bytes,
    columns: Sequence[Column],
    *,
    one_of: Sequence[tuple[str, ...]] = (),
) -> Table:
    """Read the file's heading row and data rows; FileProblem if it is not a usable table.

    `one_of` lists groups of fields of which the file must have at least one column (a personal
    code or a foreign id).
    """
    if not data.strip():
        raise FileProblem(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise FileProblem(
            _("The file is larger than %(mb)d MB: split it into parts.")
            % {"mb": MAX_BYTES // (1024 * 1024)}
        )
    _refuse_other_formats(file_name, data)
    separator = ""
    if _is_xlsx(file_name, data):
        rows, fmt = _xlsx_rows(data), "xlsx"
    else:
        rows, separator = _csv_rows(data)
        fmt = "csv"

    header: list[Cell] = []
    header_row = 0
    for number, cells in rows:
        if any(cells):
            header, header_row = cells, number
            break
    if not header_row:
        raise FileProblem(_("The file is empty."))

    by_heading = {heading_key(h): c for c in columns for h in (c.field, *c.headings)}
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, heading in enumerate(header):
        text = str(heading).strip()
        if not text:
            continue
        column = by_heading.get(heading_key(text))
        if column is None:
            ignored.append(text)
            continue
        if column.field in index:
            raise FileProblem(
                _("Two columns are both “%(label)s”: “%(first)s” and “%(second)s”. Keep one.")
                % {
                    "label": column.label,
                    "first": header[index[column.field]],
                    "second": text,
                }
            )
        index[column.field] = i
    _check_columns(columns, one_of, index, header)

    fields = sorted(index, key=lambda f: index[f])
    table_rows: list[tuple[int, dict[str, Cell]]] = []
    for number, cells in rows:
        if not any(cells):
            continue  # blank lines between or after the rows are not rows
        table_rows.append(
            (number, {f: cells[i] if i < len(cells) else "" for f, i in index.items()})
        )
    if not table_rows:
        raise FileProblem(_("The file has a heading row but no rows under it."))
    return Table(columns=fields, rows=table_rows, ignored=ignored, format=fmt, separator=separator)


def _check_columns(
    columns: Sequence[Column],
    one_of: Sequence[tuple[str, ...]],
    index: dict[str, int],
    header: list[Cell],
) -> None:
    by_field = {c.field: c for c in columns}
    missing = []
    for column in columns:
        if column.required and column.field not in index:
            missing.append(f"{column.label} ({', '.join(column.headings[:2])})")
    for group in one_of:
        if not any(f in index for f in group):
            missing.append(
                _(" or ").join(
                    f"{by_field[f].label} ({', '.join(by_field[f].headings[:2])})" for f in group
                )
            )
    if missing:
        found = ", ".join(f"“{h}”" for h in header if str(h).strip()) or "–"
        raise FileProblem(
            _("The file has no column for: %(missing)s. Its headings are: %(found)s.")
            % {"missing": "; ".join(missing), "found": found}
        )


# --- values ------------------------------------------------------------------------------------

_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})\.?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")


def parse_date(value: Cell) -> datetime.date:
    """A date from 31.12.2026, 2026-12-31 or a date cell; ValueError with a message if not."""
    if isinstance(value, datetime.date):
        return value
    text = value.strip()
    match = _DOTTED.match(text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return datetime.date(year, month, day)
        match = _ISO.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return datetime.date(year, month, day)
    except ValueError:
        message = _("“%(value)s” is not a date in the calendar.") % {"value": text}
        raise ValueError(message) from None
    raise ValueError(
        _("“%(value)s” is not a date: write it as 31.12.2026 or 2026-12-31.") % {"value": text}
    )


def text_of(value: Cell) -> str:
    """A cell as text (a date cell where text was expected is written back the Estonian way)."""
    if isinstance(value, datetime.date):
        return f"{value:%d.%m.%Y}"
    return value.strip()
