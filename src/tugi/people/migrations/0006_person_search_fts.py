"""SQLite: a trigram full-text index of the persons' search text, for the person list's search.

`0003` gave PostgreSQL a trigram index on `search_text`; SQLite had none, so a search for a word
many persons have (a common surname) scanned the whole table and sorted its matches: 50–70 ms at
100,000 persons. This FTS5 table with the trigram tokenizer (SQLite 3.34 or newer) finds the
persons whose folded search text contains a word of three letters or more at once. It is kept by
triggers on `people_person` (external content: the text is not stored twice); the update trigger
fires only when `search_text` really changes. Where the SQLite library lacks FTS5 this migration
does nothing and the search scans, as before. PostgreSQL: nothing to do.
"""

from django.db import migrations

FTS = "people_person_fts"
TRIGGERS = (f"{FTS}_insert", f"{FTS}_delete", f"{FTS}_update")


def _has_fts5(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA compile_options")
        return any(row[0] == "ENABLE_FTS5" for row in cursor.fetchall())


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite" or not _has_fts5(connection):
        return
    schema_editor.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
        "search_text, content='people_person', content_rowid='id', tokenize='trigram')"
    )
    schema_editor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS}_insert AFTER INSERT ON people_person BEGIN "
        f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    schema_editor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON people_person BEGIN "
        f"INSERT INTO {FTS}({FTS}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    )
    schema_editor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE OF search_text ON people_person "
        "WHEN old.search_text IS NOT new.search_text BEGIN "
        f"INSERT INTO {FTS}({FTS}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    schema_editor.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for trigger in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {FTS}")


class Migration(migrations.Migration):
    dependencies = [("people", "0005_dataimport_recovery")]
    operations = [migrations.RunPython(create, drop)]
