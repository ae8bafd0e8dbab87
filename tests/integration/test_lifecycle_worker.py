"""The lifecycle engine in real worker processes: a crash mid-burst, and two workers at once.

Each test makes its own database (a SQLite file, or in the PostgreSQL pass a fresh PostgreSQL
database), migrates it
with `tugi migrate`, fills it with a burst of grants all ending at the same moment (a month
end), and runs `tugi worker` processes against it — the same command `tugi run` starts. The
counts are read straight from the database.
"""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
# The reconciler runs at each full minute; after a crash it is what finishes the burst.
FINISH_WITHIN = 150


def _tugi() -> str:
    return shutil.which("tugi") or str(Path(sys.executable).with_name("tugi"))


def _env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUGI_")}
    env.update(
        DATABASE_URL=database_url,
        TUGI_DATA_DIR=str(data_dir),
        TUGI_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def _prepare(env: dict[str, str], count: int, due_in: float) -> None:
    # Our own fixed command lines (S603).
    subprocess.run([_tugi(), "migrate", "-v", "0"], env=env, check=True, timeout=300)  # noqa: S603
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "tests.integration.lifecycle_burst", str(count), str(due_in)],
        env=env,
        check=True,
        timeout=300,
        cwd=ROOT,
    )


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen([_tugi(), "worker"], env=env, stdout=out, stderr=out)  # noqa: S603


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


class Counts:
    """The figures that prove exactly-once, read with plain SQL from either database."""

    def __init__(self, query: Callable[[str], list[tuple[object, ...]]]) -> None:
        self.query = query

    def applied(self) -> int:
        return int(self.query("SELECT count(*) FROM access_change WHERE state = 'applied'")[0][0])

    def check_exactly_once(self, count: int) -> None:
        states = dict(self.query("SELECT state, count(*) FROM access_change GROUP BY state"))
        assert states == {"applied": count}
        events, distinct = self.query(
            "SELECT count(*), count(DISTINCT object_id) FROM core_auditevent"
            " WHERE action = 'access.change.apply'"
        )[0]
        assert (events, distinct) == (count, count)
        # Each change's audit event says it was applied at the time stored on the change.
        late = self.query("SELECT min(late_ms), max(late_ms) FROM access_change")[0]
        assert late[0] is not None and late[0] >= 0


def _on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


@pytest.fixture
def engine_db(tmp_path: Path) -> Iterator[tuple[dict[str, str], Counts]]:
    """A database of this pass's kind for the worker processes."""
    if _on_postgres():
        yield from _postgres(tmp_path)
    else:
        yield from _sqlite(tmp_path)


def _sqlite(tmp_path: Path) -> Iterator[tuple[dict[str, str], Counts]]:
    db = tmp_path / "tugi.sqlite3"
    env = _env(tmp_path, f"sqlite:///{db}")

    def query(sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(db, timeout=30) as conn:
            return conn.execute(sql).fetchall()

    yield env, Counts(query)


def _postgres(tmp_path: Path) -> Iterator[tuple[dict[str, str], Counts]]:
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    name = f"tugi_it_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    env = _env(tmp_path, f"{base}/{name}")

    def query(sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    try:
        yield env, Counts(query)
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_worker_killed_mid_burst_applies_every_change_exactly_once(
    engine_db: tuple[dict[str, str], Counts], tmp_path: Path
) -> None:
    env, counts = engine_db
    count = 10_000
    _prepare(env, count, due_in=8)
    log = tmp_path / "worker.log"
    worker = _worker(env, log)
    try:
        assert _wait(lambda: counts.applied() > 0, 60), log.read_text()
        worker.send_signal(signal.SIGKILL)  # no clean-up of any kind: a power cut
        worker.wait(timeout=10)
        killed_at = counts.applied()
        assert 0 < killed_at < count, f"the kill missed the burst ({killed_at} applied)"
        worker = _worker(env, log)
        assert _wait(lambda: counts.applied() == count, FINISH_WITHIN), log.read_text()
    finally:
        _stop(worker)
    counts.check_exactly_once(count)


@pytest.mark.postgres
def test_two_workers_on_postgresql_share_a_burst_without_applying_twice(
    engine_db: tuple[dict[str, str], Counts], tmp_path: Path
) -> None:
    env, counts = engine_db
    count = 6_000
    _prepare(env, count, due_in=10)
    # Both workers take the exact-time task's extra copies at the same moment.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django,datetime;django.setup();"
            "from django.utils import timezone;"
            "from tugi.access.lifecycle.tasks import apply_due_changes as t;"
            "eta=timezone.now()+datetime.timedelta(seconds=10);"
            "[t.schedule(eta=eta) for _ in range(6)]",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "tugi.settings"},
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    log = tmp_path / "workers.log"
    workers = [_worker(env, log), _worker(env, log)]
    try:
        assert _wait(lambda: counts.applied() == count, FINISH_WITHIN), log.read_text()
    finally:
        _stop(*workers)
    counts.check_exactly_once(count)
