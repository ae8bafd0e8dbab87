"""What every generator shares: its context, id allocation and batched inserts.

Generators write with the ORM directly and never through the actions: this is benchmark data,
not a domain change, so it has no audit events and skips validation (the tests in
tests/test_bench.py check that the result is valid all the same).
"""

import datetime
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max

from bench.scales import Scale

T = TypeVar("T")

# Every date is drawn relative to this fixed day, not to today, so that a (scale, seed) pair gives
# the same rows whenever it runs.
REFERENCE_DATE = datetime.date(2026, 1, 1)

# Rows per INSERT: large enough that the statement overhead vanishes, small enough to stay under
# SQLite's variable limit for wide tables and to keep PostgreSQL's statements modest.
BATCH_SIZE = 2_000


@dataclass(frozen=True)
class GenContext:
    """What a generator is given: the scale to build and the seed that makes it repeatable."""

    scale: Scale
    seed: int

    def rng(self, part: str) -> random.Random:
        """A random stream per part: adding a part leaves every other part's data as it was."""
        return random.Random(f"{self.seed}:{part}")


def first_free_id(model: type[models.Model]) -> int:
    """The first id above every row already in the table.

    Generators give rows explicit ids so that foreign keys are known before anything is written
    (no round trip per row); starting above the existing rows lets them add to a non-empty table.
    """
    return (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


def bulk_insert(model: type[models.Model], objs: Sequence[models.Model]) -> int:
    """Insert unsaved instances in batches and return how many."""
    model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)
    return len(objs)


def weighted_picker(
    rng: random.Random, items: Sequence[T], exponent: float = 1.0
) -> Callable[[], T]:
    """A function that draws items with Zipf-like weights: the first item the most often."""
    weights = [1 / (rank + 1) ** exponent for rank in range(len(items))]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)

    def pick() -> T:
        return rng.choices(items, cum_weights=cumulative)[0]

    return pick


def reset_sequences(model_list: Iterable[type[models.Model]] | None = None) -> None:
    """Move PostgreSQL's id sequences past the explicit ids the generators wrote.

    Without this the next ordinary insert (an audit event, a session) would collide with a
    generated row. SQLite needs nothing: its AUTOINCREMENT counter follows explicit ids.
    """
    if connection.vendor != "postgresql":
        return
    model_list = list(model_list) if model_list is not None else list(apps.get_models())
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


# Field types whose Python value is already what the database driver takes: no per-value
# conversion for them, which is most of the cost of preparing a million rows.
_PASS_THROUGH = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
}


def copy_insert(model: type[models.Model], objs: Sequence[models.Model]) -> int:
    """Insert unsaved instances (ids set) the fastest way each database has; returns how many.

    About twice as fast as `bulk_insert` (COPY on PostgreSQL, one prepared INSERT run many times on
    SQLite): meant for the tables of a million rows. Like bulk_create it writes every concrete
    field, defaults included, and runs `pre_save` (auto_now), but sends no signals.
    """
    fields = [f for f in model._meta.concrete_fields]
    if any(getattr(o, model._meta.pk.attname) is None for o in objs[:1]):
        raise ValueError(f"copy_insert({model.__name__}): rows need explicit ids")

    def converter(f: models.Field):
        if f.get_internal_type() in _PASS_THROUGH:
            return lambda obj: f.pre_save(obj, True)
        return lambda obj: f.get_db_prep_save(f.pre_save(obj, True), connection)

    converters = [converter(f) for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for obj in objs:
                    copy.write_row([convert(obj) for convert in converters])
        else:
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
            for start in range(0, len(objs), BATCH_SIZE * 10):
                batch = objs[start : start + BATCH_SIZE * 10]
                cursor.executemany(sql, [[convert(o) for convert in converters] for o in batch])
    return len(objs)
