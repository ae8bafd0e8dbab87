"""The background queue's SQLite storage, exactly as durable as Tugi's own SQLite database.

Huey's SQLite storage leaves SQLite's default `synchronous=FULL`: every enqueue waits for the
disk to flush, which under write load was most of the time of opening a case. Tugi's database runs
WAL with `synchronous=NORMAL` (settings.DATABASES): a commit survives a crash of the process,
and only a power cut can lose the last moments. The queue gets the same: a task can never outlive
or be outlived by the rows it was queued for.
"""

import sqlite3

from huey import SqliteHuey
from huey.storage import SqliteStorage


class NormalSyncSqliteStorage(SqliteStorage):
    """Huey's SQLite storage in WAL mode with synchronous=NORMAL."""

    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class TugiSqliteHuey(SqliteHuey):
    """SqliteHuey on `NormalSyncSqliteStorage` (settings.HUEY names it)."""

    storage_class = NormalSyncSqliteStorage
