"""Substring search of case subjects through an index, on both databases.

The queue and the case list search subjects for words anywhere in them (`LIKE '%word%'`), which
no B-tree can serve: at a million cases a word that matches nothing read every subject.

- PostgreSQL: a GIN index with `gin_trgm_ops` on `UPPER(subject)`, the expression Django's
  `subject__icontains` compares, so the ORM's own lookup uses it, then `ANALYZE desk_case` for
  the expression's statistics. It needs the `pg_trgm` extension, as `people.0003` does (see
  there and docs/operations.md).
- SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34 or newer) over the subjects,
  kept by triggers on `desk_case` (external content: the subjects are not stored twice). A
  MATCH of a word of three letters or more finds the cases whose subject contains it, with
  Unicode case folding. The update trigger fires only when the subject really changes, so the
  actions' `save()`, which writes every column, costs nothing extra. Where the SQLite library
  was built without FTS5 this migration does nothing and the search reads the subjects.

Going back drops the index (not the extension) or the table and its triggers.
"""

from django.db import migrations

PG_INDEX = "case_subject_trgm"
FTS = "desk_case_fts"
TRIGGERS = (f"{FTS}_insert", f"{FTS}_delete", f"{FTS}_update")


def _has_fts5(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA compile_options")
        return any(row[0] == "ENABLE_FTS5" for row in cursor.fetchall())


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON desk_case "
            "USING gin (UPPER(subject::text) gin_trgm_ops)"
        )
        # Statistics of the new expression: without them the planner takes every word for a
        # rare one (it estimated 100 cases for one in 42,805) and reads its matches from the
        # index where walking the queue would stop after a few rows. Autovacuum would gather
        # them only after a tenth of the table has changed.
        schema_editor.execute("ANALYZE desk_case")
        return
    if connection.vendor != "sqlite" or not _has_fts5(connection):
        return
    schema_editor.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
        "subject, content='desk_case', content_rowid='id', tokenize='trigram')"
    )
    schema_editor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS}_insert AFTER INSERT ON desk_case BEGIN "
        f"INSERT INTO {FTS}(rowid, subject) VALUES (new.id, new.subject); END"
    )
    schema_editor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON desk_case BEGIN "
        f"INSERT INTO {FTS}({FTS}, rowid, subject) VALUES ('delete', old.id, old.subject); END"
    )
    schema_editor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE OF subject ON desk_case "
        "WHEN old.subject IS NOT new.subject BEGIN "
        f"INSERT INTO {FTS}({FTS}, rowid, subject) VALUES ('delete', old.id, old.subject); "
        f"INSERT INTO {FTS}(rowid, subject) VALUES (new.id, new.subject); END"
    )
    # The cases that exist already.
    schema_editor.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def drop(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
    elif connection.vendor == "sqlite":
        for trigger in TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS}")


class Migration(migrations.Migration):
    dependencies = [("desk", "0002_mail_lookup_indexes")]
    operations = [migrations.RunPython(create, drop)]
