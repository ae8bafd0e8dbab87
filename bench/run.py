"""The benchmark runner.

    python -m bench.run --scale full --db postgres [--only NAME] [--repeat N] [--explain]

1. Prepares a dedicated benchmark database: SQLite in $TUGI_BENCH_DIR/sqlite-<scale>/ (default
   var/bench/), or the PostgreSQL database tugi_bench_<scale> on $TUGI_BENCH_POSTGRES_URL (default
   postgres://postgres@127.0.0.1:5432), created if missing. It migrates, then runs the generators
   whose data is not there yet; a marker table records what was generated (generator, version,
   scale, seed), so a rerun starts timing within seconds.
2. Times each registered operation in-process with Django's test client, signed in as a desk
   agent, so the figure is the server's work (routing, queries, templates), not a network's.
3. Prints operation, database, scale, samples, median, p95, goal, queries per call and the
   outcome, and writes the same as JSON under bench/results/.

Exit status: 1 if an operation failed to run (an error page, a wrong answer); goals only fail the
run with --strict, because timing on a shared CI machine is too noisy to gate on.
"""

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_PG_SERVER = "postgres://postgres@127.0.0.1:5432"
MARKER_TABLE = "bench_generated"
BENCH_USERNAME = "bench-desk"
WARMUP = 3


# --- the benchmark database -------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the benchmark database of one (db, scale) lives, and how to make or remove it."""

    db: str
    scale: str
    bench_dir: Path
    pg_server: str

    @property
    def data_dir(self) -> Path:
        # Also holds the secret key and the Huey queue file that tugi.settings keeps beside it.
        return self.bench_dir / f"{self.db}-{self.scale}"

    @property
    def pg_name(self) -> str:
        return f"tugi_bench_{self.scale}"

    @property
    def database_url(self) -> str | None:
        return f"{self.pg_server.rstrip('/')}/{self.pg_name}" if self.db == "postgres" else None

    @property
    def label(self) -> str:
        if self.db == "postgres":
            return f"PostgreSQL database {self.pg_name}"
        return f"SQLite {self.data_dir / 'tugi.sqlite3'}"

    def configure_environment(self) -> None:
        """Point tugi.settings at this database; must run before django.setup()."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.environ["TUGI_DATA_DIR"] = str(self.data_dir)
        os.environ["DJANGO_SETTINGS_MODULE"] = "tugi.settings"
        # Timings are of production settings: no debug cursor, no debug templates.
        os.environ["TUGI_DEBUG"] = "0"
        if self.database_url:
            os.environ["DATABASE_URL"] = self.database_url
        else:
            os.environ.pop("DATABASE_URL", None)

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(f"{self.pg_server.rstrip('/')}/postgres", autocommit=True)

    def create_if_missing(self) -> None:
        if self.db != "postgres":
            return  # SQLite creates the file on first connect
        with self._admin() as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.pg_name]
            ).fetchone()
            if not found:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')

    def destroy(self) -> None:
        """Remove the database; Django's connections must be closed first."""
        if self.db == "postgres":
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                (self.data_dir / f"tugi.sqlite3{suffix}").unlink(missing_ok=True)


def _read_marker() -> list[dict[str, Any]]:
    from django.db import connection

    if MARKER_TABLE not in connection.introspection.table_names():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT generator, version, scale, seed, seconds, rows_json FROM {MARKER_TABLE}"
            " ORDER BY position"
        )
        keys = ("generator", "version", "scale", "seed", "seconds", "rows")
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def _write_marker(position: int, result: Any, scale: str, seed: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} ("
            " position INTEGER NOT NULL, generator VARCHAR(100) NOT NULL,"
            " version INTEGER NOT NULL, scale VARCHAR(50) NOT NULL, seed BIGINT NOT NULL,"
            " seconds DOUBLE PRECISION NOT NULL, rows_json TEXT NOT NULL,"
            " generated_at VARCHAR(40) NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                position,
                result.name,
                result.version,
                scale,
                seed,
                result.seconds,
                json.dumps(result.rows),
                datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            ],
        )


def _has_unmarked_rows() -> bool:
    """Whether the database holds persons without a marker (e.g. `tugi demo` was run on it)."""
    from django.db import connection

    if "people_person" not in connection.introspection.table_names():
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM people_person LIMIT 1")
        return cursor.fetchone() is not None


def prepare(target: Target, scale_name: str, seed: int, log: Callable[[str], None]) -> list[dict]:
    """Migrate and generate what is missing; returns the marker rows (what the data is)."""
    from django.core.management import call_command
    from django.db import connection, connections, transaction

    from bench.generate import analyze, generate
    from bench.generators import GENERATORS
    from bench.scales import get_scale

    scale = get_scale(scale_name)
    recorded = _read_marker()
    expected = [(m.NAME, m.VERSION) for m in GENERATORS]
    have = [(r["generator"], r["version"]) for r in recorded]
    stale = any(r["scale"] != scale.name or r["seed"] != seed for r in recorded)
    if stale or have != expected[: len(have)] or (not recorded and _has_unmarked_rows()):
        what = (
            f"{have} at {recorded[0]['scale']}" if recorded else "rows the generator did not write"
        )
        log(f"{target.label} holds other data ({what}): rebuilding")
        connections.close_all()
        target.destroy()
        target.create_if_missing()
        recorded = []

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    log(f"migrated {target.label} in {time.perf_counter() - started:.1f} s")

    todo = GENERATORS[len(recorded) :]
    for position, module in enumerate(todo, start=len(recorded)):
        # The data and its marker commit together: an interrupted run leaves no half-made scale.
        with transaction.atomic():
            [result] = generate(scale, seed, [module], progress=log, refresh_statistics=False)
            _write_marker(position, result, scale.name, seed)
    if todo:
        started = time.perf_counter()
        analyze()
        log(f"{connection.vendor}: statistics refreshed in {time.perf_counter() - started:.1f} s")
    else:
        log(f"scale {scale.name} already loaded (seed {seed}): nothing to generate")
    return _read_marker()


# --- the signed-in client ---------------------------------------------------------------------


def bench_client(log: Callable[[str], None]) -> tuple[Any, Any, dict[str, str]]:
    """A test client signed in as the desk agent, and API headers for the same user."""
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from tugi.core.roles import AppRole
    from tugi.people.models import Person

    user, created = User.objects.get_or_create(username=BENCH_USERNAME)
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.set(Group.objects.filter(name=AppRole.DESK_AGENT.value))
    if not user.groups.exists():
        raise RuntimeError("the desk_agent group is missing: did migrate run its post_migrate?")
    # The desk agent is a member of staff too, as in real use ("my record" has something to show).
    if not Person.objects.filter(user=user).exists():
        person = Person.objects.filter(user=None, status=Person.Status.ACTIVE).order_by("pk")
        Person.objects.filter(pk__in=person.values("pk")[:1]).update(user=user)
    client = Client()
    client.force_login(user)
    return client, user, _api_headers(user, log)


def _api_headers(user: Any, log: Callable[[str], None]) -> dict[str, str]:
    """A bearer token, as machines call the API; the session cookie if tokens do not exist yet."""
    try:
        from tugi.api.actions import create_token
    except ImportError:
        log("API tokens do not exist yet: API calls use the session")
        return {}
    issued = create_token(None, user=user, name=f"bench {datetime.date.today()}")
    return {"Authorization": f"Bearer {issued.key}"}


# --- timing -----------------------------------------------------------------------------------


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile: a value that was actually measured."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _capture(call: Callable[[], object]) -> list[tuple[str, Any]]:
    """Run once and return every SQL statement with its parameters."""
    from django.db import connection

    seen: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call()
    return seen


def explain(sql: str, params: Any) -> str:
    """The plan of a SELECT as the database will run it (PostgreSQL: with actual times)."""
    from django.db import connection

    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if connection.vendor == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        rows = cursor.fetchall()
    if connection.vendor == "postgresql":
        return "\n".join(row[0] for row in rows)
    return "\n".join(f"{row[1]:>3} {row[2]:>3} {row[3]}" for row in rows)


def profile(call: Callable[[], object], times: int = 5) -> str:
    """Where the time of a few calls goes, by cumulative time (the top of cProfile's report)."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(times):
        call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    return out.getvalue()


def time_operation(
    op: Any, ctx: Any, repeat: int | None, with_plans: bool, with_profile: bool = False
) -> dict[str, Any]:
    """Set up, warm up, count queries, then time `repeat` calls of one operation."""
    from bench.registry import OperationError, Skip

    row: dict[str, Any] = {
        "operation": op.name,
        "goal_ms": op.goal_ms,
        "description": op.description,
    }
    try:
        call = op.setup(ctx)
        for _ in range(WARMUP):
            call()
        statements = _capture(call)
        row["queries"] = len(statements)
        if with_profile:
            row["profile"] = profile(call)
        samples, cpu = [], []
        for _ in range(repeat or op.repeat):
            started, started_cpu = time.perf_counter_ns(), time.process_time_ns()
            call()
            samples.append((time.perf_counter_ns() - started) / 1e6)
            cpu.append((time.process_time_ns() - started_cpu) / 1e6)
    except Skip as exc:
        return {**row, "result": "skip", "note": str(exc)}
    except OperationError as exc:
        return {**row, "result": "error", "note": str(exc)}
    except Exception as exc:
        return {
            **row,
            "result": "error",
            "note": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    median = statistics.median(samples)
    mean = statistics.fmean(samples)
    judged = mean if op.judge == "mean" else median
    row.update(
        n=len(samples),
        median_ms=round(median, 2),
        mean_ms=round(mean, 2),
        p95_ms=round(percentile(samples, 0.95), 2),
        # CPU time of this process only: on SQLite nearly all the server's work, and much less
        # disturbed than wall time by other work on a shared machine; on PostgreSQL it leaves out
        # the database server's share.
        cpu_ms=round(statistics.median(cpu), 2),
        min_ms=round(min(samples), 2),
        max_ms=round(max(samples), 2),
        result="pass" if judged <= op.goal_ms else "FAIL",
    )
    if op.judge == "mean":
        # A throughput goal: the total is what counts, so say it in those terms.
        row["note"] = (
            f"judged by the mean, {mean:.1f} ms a call: {len(samples)} calls in"
            f" {sum(samples) / 1000:.1f} s, {1000 / mean:.0f} a second"
        )
    if with_plans:
        plans = []
        for sql, params in dict.fromkeys((s, tuple(p or ())) for s, p in statements):
            if sql.lstrip().upper().startswith("SELECT"):
                plans.append({"sql": sql, "params": list(params), "plan": explain(sql, params)})
        row["plans"] = plans
    return row


# --- output -----------------------------------------------------------------------------------

COLUMNS = [
    ("operation", "operation", "<"),
    ("db", "db", "<"),
    ("scale", "scale", "<"),
    ("n", "n", ">"),
    ("median_ms", "median ms", ">"),
    ("p95_ms", "p95 ms", ">"),
    ("cpu_ms", "cpu ms", ">"),
    ("goal_ms", "goal ms", ">"),
    ("queries", "queries", ">"),
    ("result", "result", "<"),
]


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table (also valid Markdown), then a note per skipped or failed row."""

    def cell(row: dict[str, Any], key: str) -> str:
        value = row.get(key, "")
        if isinstance(value, float):
            return f"{value:g}" if key == "goal_ms" else f"{value:.1f}"
        return str(value)

    widths = {key: max(len(title), *(len(cell(r, key)) for r in rows)) for key, title, _ in COLUMNS}
    lines = [
        "| " + " | ".join(f"{t:{a}{widths[k]}}" for k, t, a in COLUMNS) + " |",
        "|"
        + "|".join(
            ("-" * (widths[k] + 1) + ":") if a == ">" else "-" * (widths[k] + 2)
            for k, _, a in COLUMNS
        )
        + "|",
    ]
    for r in rows:
        lines.append(
            "| " + " | ".join(f"{cell(r, k):{a}{widths[k]}}" for k, _, a in COLUMNS) + " |"
        )
    notes = [f"- {r['operation']}: {r['result']}: {r['note']}" for r in rows if r.get("note")]
    return "\n".join([*lines, *([""] if notes else []), *notes])


def format_plans(rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        for p in r.get("plans", []):
            out += [
                f"## {r['operation']} ({r['db']}, {r['scale']})",
                p["sql"],
                f"params: {p['params']}",
                p["plan"],
                "",
            ]
    return "\n".join(out)


def environment(target: Target) -> dict[str, Any]:
    """What the numbers were measured on."""
    import django
    from django.db import connection

    def git(*args: str) -> str:
        try:
            # Fixed arguments, no shell: only the commit the numbers belong to is asked for.
            return subprocess.run(  # noqa: S603
                ["git", *args],  # noqa: S607
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
        except OSError:
            return ""

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            db_version = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        db_version = f"SQLite {sqlite3.sqlite_version}"
    return {
        "database": target.label,
        "db_version": db_version,
        "python": platform.python_version(),
        "django": django.get_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        # Other work on the machine slows every figure: the 1-minute load when timing ended.
        "load_average": os.getloadavg()[0],
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from bench.scales import DEFAULT_SEED, SCALES

    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--scale", choices=list(SCALES), default="smoke")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run the operations whose name contains NAME (repeatable; case-insensitive)",
    )
    parser.add_argument("--repeat", type=int, help="timed calls per operation (default: its own)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--rebuild", action="store_true", help="drop the benchmark database and generate anew"
    )
    parser.add_argument(
        "--prepare-only", action="store_true", help="prepare the database, time nothing"
    )
    parser.add_argument(
        "--explain", action="store_true", help="also write the plan of every SELECT (to results)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also write a cProfile report per operation"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--list", action="store_true", help="list the operations and exit")
    parser.add_argument(
        "--bench-dir",
        type=Path,
        default=Path(os.environ.get("TUGI_BENCH_DIR", ROOT / "var" / "bench")),
        help="where SQLite benchmark databases live (env TUGI_BENCH_DIR)",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    target = Target(
        db=args.db,
        scale=args.scale,
        bench_dir=args.bench_dir.resolve(),
        pg_server=os.environ.get("TUGI_BENCH_POSTGRES_URL", DEFAULT_PG_SERVER),
    )

    def log(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    target.configure_environment()
    import django

    django.setup()  # connects to nothing yet: the database may still have to be made

    import bench.operations  # noqa: F401 - registers the operations
    from bench.registry import OPERATIONS, BenchContext
    from bench.scales import get_scale

    if args.list:
        for op in OPERATIONS.values():
            print(f"{op.name:<40} goal {op.goal_ms:g} ms  {op.description}")
        return 0

    if args.rebuild:
        target.destroy()
    target.create_if_missing()
    generated = prepare(target, args.scale, args.seed, log)
    if args.prepare_only:
        return 0

    wanted = [o.lower() for o in args.only or []]
    ops = [
        op for op in OPERATIONS.values() if not wanted or any(w in op.name.lower() for w in wanted)
    ]
    if not ops:
        log(f"no operation matches {args.only}; --list shows them")
        return 1

    import random

    from tugi.core.startup import settle_web_process

    client, user, api_headers = bench_client(log)
    # As a web process does once it has loaded Tugi (tugi.wsgi): the timings are of the server.
    settle_web_process()
    rows = []
    for op in ops:
        ctx = BenchContext(
            scale=get_scale(args.scale),
            db=args.db,
            client=client,
            user=user,
            rng=random.Random(f"{args.seed}:{op.name}"),
            api_headers=api_headers,
        )
        row = {
            **time_operation(op, ctx, args.repeat, args.explain, args.profile),
            "db": args.db,
            "scale": args.scale,
        }
        rows.append(row)
        log(
            f"{op.name}: {row['result']}"
            + (f" (median {row['median_ms']} ms)" if "median_ms" in row else "")
        )

    print(format_table(rows))
    env = environment(target)
    print(
        f"\n{env['db_version']}, Python {env['python']}, {env['cpus']} CPUs,"
        f" load average {env['load_average']:.1f}, commit {env['commit']}"
        + (" with uncommitted changes" if env["dirty"] else "")
    )
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{stamp}-{args.db}-{args.scale}.json"
    out.write_text(
        json.dumps(
            {
                "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "db": args.db,
                "scale": args.scale,
                "seed": args.seed,
                "generated": generated,
                "environment": env,
                "results": [
                    {k: v for k, v in r.items() if k not in {"plans", "profile"}} for r in rows
                ],
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    log(f"results written to {out}")
    if args.explain:
        plans = out.with_suffix(".plans.txt")
        plans.write_text(format_plans(rows))
        log(f"query plans written to {plans}")

    if args.profile:
        profiles = out.with_suffix(".profile.txt")
        profiles.write_text(
            "\n".join(f"## {r['operation']}\n{r['profile']}" for r in rows if r.get("profile"))
        )
        log(f"profiles written to {profiles}")
    errors = [r for r in rows if r["result"] == "error"]
    for r in errors:
        if r.get("traceback"):
            log(f"{r['operation']} failed:\n{r['traceback']}")
    if errors or (args.strict and any(r["result"] == "FAIL" for r in rows)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
