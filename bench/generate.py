"""The deterministic scale-data generator: the organisation and, later, every other table.

    from bench.generate import generate
    generate(get_scale("smoke"), seed=DEFAULT_SEED)

writes into whatever database Django is configured for (the runner points it at a dedicated
benchmark database; the tests at the pytest database). The generators themselves live in
`bench.generators`, one module per area; this module runs them in order, times them and, on
PostgreSQL, leaves the id sequences and planner statistics as a live database would have them.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

from django.db import connection

from bench.generators import GENERATORS
from bench.generators.base import GenContext, reset_sequences
from bench.scales import DEFAULT_SEED, Scale

__all__ = ["DEFAULT_SEED", "GeneratorResult", "analyze", "generate"]


@dataclass(frozen=True)
class GeneratorResult:
    """What one generator wrote and how long it took."""

    name: str
    version: int
    rows: dict[str, int]
    seconds: float


def generate(
    scale: Scale,
    seed: int = DEFAULT_SEED,
    generators: Sequence[ModuleType] | None = None,
    progress: Callable[[str], None] | None = None,
    refresh_statistics: bool = True,
) -> list[GeneratorResult]:
    """Run the generators (all, or the given ones in order) at this scale and seed.

    With `refresh_statistics` (the default), PostgreSQL's planner statistics are refreshed
    afterwards; the runner turns it off and calls `analyze()` itself once everything is committed.
    """
    ctx = GenContext(scale=scale, seed=seed)
    results = []
    for module in GENERATORS if generators is None else generators:
        started = time.perf_counter()
        rows = module.generate(ctx)
        reset_sequences()
        result = GeneratorResult(module.NAME, module.VERSION, rows, time.perf_counter() - started)
        results.append(result)
        if progress:
            counts = ", ".join(f"{n:,} {table}" for table, n in rows.items())
            progress(f"generated {result.name} in {result.seconds:.1f} s: {counts}")
    if refresh_statistics and results:
        analyze()
    return results


def analyze() -> None:
    """Leave PostgreSQL as autovacuum would soon after a load: statistics, visibility map.

    A benchmark right after the load must see the statistics a settled production database has,
    or its plans mean nothing; VACUUM also lets index-only scans skip the heap. Inside a
    transaction (the tests) only ANALYZE can run. SQLite is left alone: Tugi never runs ANALYZE
    there, so its planner works without statistics in production too.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
