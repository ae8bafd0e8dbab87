"""The background queue's SQLite storage is as durable as the database: WAL, synchronous=NORMAL."""

import os

from huey.contrib.djhuey import HUEY

from tugi.core.queue import TugiSqliteHuey


def test_the_queue_commits_like_the_database(tmp_path):
    huey = TugiSqliteHuey("t", filename=str(tmp_path / "q.sqlite3"))
    conn = huey.storage.conn
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL (FULL is 2)

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    add(1, 2)
    assert huey.pending_count() == 1  # queued tasks are still stored and read back
    assert huey.execute(huey.dequeue()) == 3


def test_the_default_queue_is_it():
    if not os.environ.get("TUGI_HUEY_REDIS_URL"):
        assert isinstance(HUEY, TugiSqliteHuey)
