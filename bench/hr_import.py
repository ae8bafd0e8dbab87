"""The HR import on a benchmark database, with its time taken apart.

    python -m bench.hr_import --scale full --db sqlite [--rows N] [--runs 1] [--profile]

Prepares the benchmark database as `bench.run` does (migrating, generating what is missing),
makes the monthly full export of `bench.operations.imports` (every person, 0.5 % joiners, movers
and leavers) and times, each in a transaction rolled back at its end: reading and checking
the file (the preview), then applying it, split into the persons' writes and the access
consequences. The goal is the `hr import` operation's: 100,000 rows in under 60 s in all.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from bench.run import DEFAULT_PG_SERVER, Target, prepare
from bench.scales import DEFAULT_SEED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="smoke")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, help="rows in the file (default: the scale's persons)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--share", type=float, default=0.005, help="joiners, movers and leavers, each (0.005)"
    )
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    parser.add_argument(
        "--bench-dir", type=Path, default=Path(os.environ.get("TUGI_BENCH_DIR", "var/bench"))
    )
    args = parser.parse_args(argv)
    target = Target(
        db=args.db,
        scale=args.scale,
        bench_dir=args.bench_dir.resolve(),
        pg_server=os.environ.get("TUGI_BENCH_POSTGRES_URL", DEFAULT_PG_SERVER),
    )
    target.configure_environment()
    import django

    django.setup()
    import random

    from django.db import transaction

    from bench.operations.imports import hr_export
    from bench.scales import get_scale
    from tugi.people.imports import actions, files, hr

    def log(message: str) -> None:
        print(f"[hr import] {message}", file=sys.stderr, flush=True)

    target.create_if_missing()
    prepare(target, args.scale, DEFAULT_SEED, log)
    rows = args.rows or get_scale(args.scale).persons
    started = time.perf_counter()
    hr_file = hr_export(random.Random(DEFAULT_SEED), rows, args.share)
    log(
        f"export of {hr_file.rows:,} rows ({len(hr_file.data) / 1e6:.1f} MB) made in "
        f"{time.perf_counter() - started:.1f} s: {hr_file.joiners} joiners, {hr_file.movers} "
        f"movers, {hr_file.leavers} leavers"
    )

    # Time the apply's two halves by wrapping the access consequences.
    from tugi.access.lifecycle import movements

    spent = {"access": 0.0}
    follow = movements.Consequences.follow

    def timed_follow(self, items):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return follow(self, list(items))
        finally:
            spent["access"] += time.perf_counter() - t

    movements.Consequences.follow = timed_follow  # type: ignore[method-assign]

    def once() -> None:
        spent["access"] = 0.0
        with transaction.atomic():
            t0 = time.perf_counter()
            table = files.read_table("export.csv", hr_file.data, hr.COLUMNS, one_of=hr.ONE_OF)
            t1 = time.perf_counter()
            preview = actions.preview_import(None, "persons", "export.csv", hr_file.data)
            t2 = time.perf_counter()
            done = actions.apply_import(None, preview, inline=True)
            t3 = time.perf_counter()
            transaction.set_rollback(True)
        applied = done.summary.get("applied", {})
        print(
            f"rows {preview.total_rows:,}, valid {preview.valid_rows:,}, refused "
            f"{preview.summary['refused']}; "
            + ", ".join(f"{k} {preview.summary[k]}" for k in hr.CATEGORIES)
        )
        print(f"  reading the file alone      {t1 - t0:7.2f} s ({len(table.rows):,} rows)")
        print(f"  preview (read, check, keep) {t2 - t1:7.2f} s")
        print(
            f"  apply (check again, write)  {t3 - t2:7.2f} s, of which access consequences "
            f"{spent['access']:.2f} s"
        )
        print(f"  preview + apply             {t3 - t1:7.2f} s   state {done.state}")
        access = applied.get("access", {})
        print(
            "  access: " + ", ".join(f"{k} {v}" for k, v in access.items() if k not in {"problems"})
        )

    for _ in range(args.runs):
        once()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        once()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    return 0


if __name__ == "__main__":
    sys.exit(main())
