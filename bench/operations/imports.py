"""Timed HR import: a full personnel export of the whole agency, previewed and applied.

The goal (issue 4): a file of 100,000 rows checked and applied in under 60 s on the `full`
database (100,000 persons, 1,000,000 grants). The file is what HR's monthly full export looks
like: every person as Tugi has them (so most rows are unchanged, and each must still be read,
checked and compared), with a realistic month of movement: 0.5 % joiners (new rows in place
of the oldest persons), 0.5 % movers (a position in another unit) and 0.5 % leavers (a last day
two weeks ahead). Every joiner, mover and leaver has its access consequences carried out
through the grant actions (accounts opened, roles granted, rebased and ended, leavers'
account changes planned), which is where most of the time goes.

Each timed call runs in a transaction that is rolled back, so every call starts from the same
data. The operator's path is timed (actor None, as `tugi import-hr --apply --yes`), with the
preview and the apply in one call; `bench/hr_import.py` prints the two apart.
"""

import csv
import datetime
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from bench.registry import BenchContext, OperationError, operation
from tugi.core.personal_code import with_check_digit
from tugi.people.models import Person, Position

HR_IMPORT_GOAL_MS = 60_000
# Of the rows, each: joiners, movers, leavers (a month of a large agency).
JOINER_SHARE = 0.005

HEADINGS = [
    "Isikukood",
    "Välisisikukood",
    "Välisisikukoodi riik",
    "Eesnimi",
    "Perekonnanimi",
    "E-post",
    "Üksuse kood",
    "Ametikoha kood",
    "Töösuhte algus",
    "Töösuhte lõpp",
    "Juhi isikukood",
]


@dataclass
class HrFile:
    """The generated export and what applying it should find."""

    data: bytes
    rows: int
    joiners: int
    movers: int
    leavers: int


def _day(value: datetime.date | None) -> str:
    return f"{value:%d.%m.%Y}" if value else ""


def _manager(code: str | None, country: str, foreign: str) -> str:
    if code:
        return code
    return f"{country}:{foreign}" if foreign else ""


def hr_export(rng: random.Random, rows: int, share: float = JOINER_SHARE) -> HrFile:
    """A full export of `rows` rows made from the persons in the database, with movement:
    `share` of the rows each joiners, movers and leavers."""
    persons = list(
        Person.objects.order_by("pk").values_list(
            "personal_code",
            "foreign_id_code",
            "foreign_id_country",
            "first_name",
            "last_name",
            "email",
            "org_unit__code",
            "position__code",
            "employment_start",
            "employment_end",
            "manager__personal_code",
            "manager__foreign_id_country",
            "manager__foreign_id_code",
            "status",
        )
    )
    if not persons:
        raise OperationError("no persons: is the scale data loaded?")
    joiners = round(rows * share)
    kept = persons[joiners:][: rows - joiners]
    positions = list(Position.objects.filter(active=True).values_list("code", "org_unit__code"))
    today = timezone.localdate()
    active = [
        i for i, p in enumerate(kept) if p[13] == Person.Status.ACTIVE and p[9] is None and p[7]
    ]
    chosen = rng.sample(active, min(len(active), 2 * round(rows * share)))
    movers = set(chosen[: len(chosen) // 2])
    leavers = set(chosen[len(chosen) // 2 :])

    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADINGS)
    for i, p in enumerate(kept):
        code, foreign, country, first, last, email, unit, position, start, end = p[:10]
        manager = _manager(p[10], p[11] or "", p[12] or "")
        if i in movers:
            position, unit = rng.choice([x for x in positions if x[1] != unit] or positions)
        if i in leavers:
            end = today + datetime.timedelta(days=14)
        writer.writerow(
            [
                code or "",
                foreign,
                country if foreign else "",
                first,
                last,
                email,
                unit,
                position or "",
                _day(start),
                _day(end),
                manager,
            ]
        )
    taken = {p[0] for p in persons if p[0]}
    emails = {p[5] for p in persons}
    made = 0
    serial = 0
    while made < joiners:
        serial += 1
        # Born in 2004-2006 (century digit 5/6): no generated person is that young.
        born = datetime.date(2004, 1, 1) + datetime.timedelta(days=serial // 900)
        code = with_check_digit(f"{5 + serial % 2}{born:%y%m%d}{serial % 900 + 100:03d}")
        email = f"uus.tootaja{serial}@bench.example"
        if code in taken or email in emails:
            continue
        position, unit = rng.choice(positions)
        writer.writerow(
            [
                code,
                "",
                "",
                "Uus",
                f"Töötaja{serial}",
                email,
                unit,
                position,
                _day(today + datetime.timedelta(days=7)),
                "",
                "",
            ]
        )
        made += 1
    return HrFile(
        data=b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"),
        rows=len(kept) + joiners,
        joiners=joiners,
        movers=len(movers),
        leavers=len(leavers),
    )


def import_once(hr_file: HrFile) -> Any:
    """Preview and apply the file as the operator would, then roll everything back."""
    from tugi.people.imports.actions import apply_import, preview_import

    with transaction.atomic():
        preview = preview_import(None, "persons", "bench-export.csv", hr_file.data)
        done = apply_import(None, preview, inline=True)
        transaction.set_rollback(True)
    return preview, done


@operation(
    "hr import: preview and apply a full export",
    goal_ms=HR_IMPORT_GOAL_MS,
    repeat=1,
    description="A personnel file of every person (100,000 rows at full) with 0.5 % joiners, "
    "movers and leavers: read, checked, applied with the access consequences; goal 60 s",
)
def hr_import(ctx: BenchContext) -> Callable[[], object]:
    """The monthly full export, previewed and applied (rolled back after each call)."""
    hr_file = hr_export(ctx.rng, ctx.scale.persons, max(JOINER_SHARE, 1 / ctx.scale.persons))
    preview, done = import_once(hr_file)
    summary = preview.summary
    if done.state != "applied":
        raise OperationError(f"the import did not apply: {done.summary.get('failure')}")
    expected = (hr_file.joiners, hr_file.movers, hr_file.leavers)
    found = (summary["joiner"], summary["mover"], summary["leaver"])
    if found != expected or preview.errors:
        raise OperationError(
            f"joiners, movers, leavers {found} (expected {expected}); "
            f"{len(preview.errors)} refused rows, first: {preview.errors[:3]}"
        )
    return lambda: import_once(hr_file)
