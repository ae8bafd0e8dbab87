"""A second subject index that holds only the open cases: the desk's queue searches only those.

With one index over every case, a word that a few thousand cases have, nearly all of them closed
(a module's name), was the slow search: too many matches to read them all first, too few open
ones for the queue's ordered walk to stop early. An index of the open cases alone answers "which
open cases have this word" at once, and there are few open cases whatever the desk's history.

- PostgreSQL: a partial GIN trigram index, `WHERE status IN (<the open statuses>)`; a query that
  filters on these statuses (or some of them) may use it.
- SQLite: a second FTS5 trigram table, `desk_case_open_fts`, kept by triggers that add a case when
  it is opened or reopened and remove it when it is resolved, closed or deleted (and re-index it
  when its subject changes). Skipped where the SQLite library lacks FTS5, like `0003`.

The open statuses are written out here (a migration must not follow later code): a new open
status needs a migration that rebuilds this index.
"""

from django.db import migrations

OPEN = ("new", "open", "waiting_requester", "waiting_third_party")
PG_INDEX = "case_open_subject_trgm"
FTS = "desk_case_open_fts"
TRIGGERS = (f"{FTS}_insert", f"{FTS}_delete", f"{FTS}_update")


def _open(row: str) -> str:
    return f"{row}.status IN ({', '.join(repr(s) for s in OPEN)})"


def _has_fts5(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA compile_options")
        return any(row[0] == "ENABLE_FTS5" for row in cursor.fetchall())


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON desk_case "
            f"USING gin (UPPER(subject::text) gin_trgm_ops) WHERE {_open('desk_case')}"
        )
        return
    if connection.vendor != "sqlite" or not _has_fts5(connection):
        return
    add = f"INSERT INTO {FTS}(rowid, subject) VALUES (new.id, new.subject);"
    remove = f"INSERT INTO {FTS}({FTS}, rowid, subject) VALUES ('delete', old.id, old.subject);"
    schema_editor.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
        "subject, content='desk_case', content_rowid='id', tokenize='trigram')"
    )
    schema_editor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS}_insert AFTER INSERT ON desk_case "
        f"WHEN {_open('new')} BEGIN {add} END"
    )
    schema_editor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON desk_case "
        f"WHEN {_open('old')} BEGIN {remove} END"
    )
    # An update takes the old row out if it was in, then puts the new one in if it belongs, in
    # this order in one trigger (the other order would delete the trigrams the two subjects
    # share). It fires only when the subject changed or the case was opened or left the open
    # statuses: `save()` writes every column, and most status changes stay open.
    schema_editor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE OF subject, status ON desk_case "
        f"WHEN old.subject IS NOT new.subject OR ({_open('old')}) IS NOT ({_open('new')}) BEGIN "
        f"INSERT INTO {FTS}({FTS}, rowid, subject) SELECT 'delete', old.id, old.subject "
        f"WHERE {_open('old')}; "
        f"INSERT INTO {FTS}(rowid, subject) SELECT new.id, new.subject WHERE {_open('new')}; END"
    )
    # The open cases that exist already ('rebuild' would index every case of the content table).
    schema_editor.execute(
        f"INSERT INTO {FTS}(rowid, subject) SELECT id, subject FROM desk_case "
        f"WHERE {_open('desk_case')}"
    )


def drop(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
    elif connection.vendor == "sqlite":
        for trigger in TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS}")


class Migration(migrations.Migration):
    dependencies = [("desk", "0003_case_subject_search")]
    operations = [migrations.RunPython(create, drop)]
