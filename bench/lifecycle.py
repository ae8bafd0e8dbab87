"""Benchmarks of the lifecycle engine with a real worker: on time, in bursts, at any size.

    python -m bench.lifecycle --scale full --db sqlite      # 1,000,000 grants in the database
    python -m bench.lifecycle --scale smoke --db postgres

Uses the benchmark database of `bench.run` (generated on first use) and measures what issue 4
asks, from the engine's own lateness data (`Change.late_ms`, due time to applied time):

1. single boundaries: SINGLES grants each ending at its own second, a worker (`tugi worker`, the
   process `tugi run` starts) running; the p99 lateness must be within 5 s;
2. a month-end burst: BURST grants ending at the same instant; all must be applied within 60 s
   of it (the worst lateness);
3. the reconciler's cost: a pass with nothing due, and a pass that finds and applies RECONCILE_DUE
   boundaries nobody planned; compare the scales: the cost follows the due items, not the table.

The benchmark's own grants go to bench accounts and are removed afterwards (with their changes),
so the scale data stays as generated; their audit events stay, as audit events do.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.scales import DEFAULT_SEED

ROOT = Path(__file__).resolve().parents[1]
SINGLES = 60
BURST = 10_000
RECONCILE_DUE = 1_000
SINGLE_GOAL_S = 5.0
BURST_GOAL_S = 60.0


def _percentile(values: list[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def _bench_grants(count: int, ends: list[datetime.datetime]) -> list[int]:
    """`count` new grants on the bench accounts, the n-th ending at ends[n % len(ends)]."""
    from django.utils import timezone

    from tugi.access.models import Account, Grant, Role

    accounts = list(
        Account.objects.filter(state=Account.State.ACTIVE).select_related("system")[:200]
    )
    roles_by_system: dict[int, list[Role]] = {}
    for role in Role.objects.filter(system__in={a.system_id for a in accounts}):
        roles_by_system.setdefault(role.system_id, []).append(role)
    start = timezone.now() - datetime.timedelta(hours=1)
    grants = []
    for n in range(count):
        account = accounts[n % len(accounts)]
        grants.append(
            Grant(
                account=account,
                person_id=account.person_id,
                role=roles_by_system[account.system_id][
                    n % len(roles_by_system[account.system_id])
                ],
                valid_from=start,
                valid_to=ends[n % len(ends)],
                basis=Grant.Basis.SUBSTITUTION,
                acting_for_id=account.person_id,
                ended_reason="lifecycle benchmark",
            )
        )
    return [g.pk for g in Grant.objects.bulk_create(grants, batch_size=1000)]


def _cleanup() -> None:
    from tugi.access.models import Change, Grant, ReconcilerRun

    bench = Grant.objects.filter(ended_reason="lifecycle benchmark")
    Change.objects.filter(grant__in=bench).delete()
    bench.delete()
    ReconcilerRun.objects.all().delete()


def _late(grant_ids: list[int]) -> list[int]:
    from tugi.access.models import Change

    return list(
        Change.objects.filter(grant_id__in=grant_ids, state="applied").values_list(
            "late_ms", flat=True
        )
    )


def _wait_applied(grant_ids: list[int], seconds: float) -> None:
    from django.db import connection

    from tugi.access.models import Change

    deadline = time.monotonic() + seconds
    pending = Change.objects.filter(grant_id__in=grant_ids, state="pending")
    while time.monotonic() < deadline and pending.exists():
        connection.close()
        time.sleep(0.5)


def _worker(log: Path) -> subprocess.Popen[bytes]:
    tugi = shutil.which("tugi") or str(Path(sys.executable).with_name("tugi"))
    out = log.open("ab")
    return subprocess.Popen([tugi, "worker"], stdout=out, stderr=out)  # noqa: S603


def singles(out: dict[str, Any]) -> None:
    from django.utils import timezone

    from tugi.access.lifecycle import plan

    first = timezone.now() + datetime.timedelta(seconds=15)
    ends = [
        first + datetime.timedelta(seconds=n, milliseconds=137 * n % 1000) for n in range(SINGLES)
    ]
    ids = _bench_grants(SINGLES, ends)
    plan.sync_grants(ids)
    _wait_applied(ids, 15 + SINGLES + 90)
    late = _late(ids)
    out["single boundaries"] = {
        "count": len(late),
        "p50_ms": _percentile(late, 0.5),
        "p99_ms": _percentile(late, 0.99),
        "max_ms": max(late),
        "goal": f"p99 ≤ {SINGLE_GOAL_S:g} s",
        "pass": len(late) == SINGLES and _percentile(late, 0.99) <= SINGLE_GOAL_S * 1000,
    }


def burst(out: dict[str, Any]) -> None:
    from django.utils import timezone

    from tugi.access.lifecycle import plan

    due = timezone.now() + datetime.timedelta(seconds=40)
    started = time.perf_counter()
    ids = _bench_grants(BURST, [due])
    plan.sync_grants(ids)
    prepared = time.perf_counter() - started
    _wait_applied(ids, 40 + BURST_GOAL_S * 3)
    late = _late(ids)
    out["month-end burst"] = {
        "count": len(late),
        "prepare_s": round(prepared, 1),
        "p50_ms": _percentile(late, 0.5),
        "max_ms": max(late),
        "goal": f"all {BURST:,} within {BURST_GOAL_S:g} s",
        "pass": len(late) == BURST and max(late) <= BURST_GOAL_S * 1000,
    }


def reconciler(out: dict[str, Any]) -> None:
    from django.utils import timezone

    from tugi.access.lifecycle import reconcile

    reconcile.reconcile()
    empty = []
    for _ in range(10):
        started = time.perf_counter()
        reconcile.reconcile()
        empty.append((time.perf_counter() - started) * 1000)
    due = timezone.now() + datetime.timedelta(seconds=2)
    ids = _bench_grants(RECONCILE_DUE, [due])  # bulk-inserted: no change planned for them
    time.sleep(max(0.0, (due - timezone.now()).total_seconds()) + 0.1)
    started = time.perf_counter()
    run = reconcile.reconcile()
    with_due = (time.perf_counter() - started) * 1000
    out["reconciler"] = {
        "empty_pass_ms": round(statistics.median(empty), 1),
        f"pass_with_{RECONCILE_DUE}_unplanned_ms": round(with_due, 1),
        "repaired": run.repaired,
        "applied": run.applied,
        "pass": run.repaired == RECONCILE_DUE and run.applied == RECONCILE_DUE,
    }
    del ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="smoke")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--only", choices=["singles", "burst", "reconciler"], action="append")
    args = parser.parse_args(argv)

    from bench import run as bench_run

    target = bench_run.Target(
        db=args.db,
        scale=args.scale,
        bench_dir=Path(os.environ.get("TUGI_BENCH_DIR", ROOT / "var" / "bench")).resolve(),
        pg_server=os.environ.get("TUGI_BENCH_POSTGRES_URL", bench_run.DEFAULT_PG_SERVER),
    )
    target.configure_environment()
    import django

    django.setup()

    def log(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    target.create_if_missing()
    bench_run.prepare(target, args.scale, DEFAULT_SEED, log)
    from tugi.access.models import Grant

    log(f"{Grant.objects.count():,} grants in {target.label}")
    _cleanup()
    out: dict[str, Any] = {}
    parts = args.only or ["reconciler", "singles", "burst"]
    worker = None
    try:
        if "reconciler" in parts:
            reconciler(out)
            log(f"reconciler: {out['reconciler']}")
        if {"singles", "burst"} & set(parts):
            # The worker's queue is the bench folder's (TUGI_DATA_DIR): start it clean.
            from huey.contrib.djhuey import HUEY

            HUEY.flush()
            worker = _worker(target.data_dir / "worker.log")
            time.sleep(3)
        if "singles" in parts:
            singles(out)
            log(f"single boundaries: {out['single boundaries']}")
        if "burst" in parts:
            burst(out)
            log(f"month-end burst: {out['month-end burst']}")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        _cleanup()
    load = os.getloadavg()[0]
    for name, figures in out.items():
        print(f"{name:<20} {figures}")
    print(f"{args.db}, scale {args.scale}, load average {load:.1f}")
    return 0 if all(f["pass"] for f in out.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
