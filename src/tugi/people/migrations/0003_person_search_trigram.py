"""A trigram index on the folded search text, so that substring search uses an index (PostgreSQL).

The person list searches with `search_text LIKE '%term%'`, which no B-tree can serve. On
PostgreSQL a GIN index with `gin_trgm_ops` can. It needs the `pg_trgm` extension, which is
trusted: a superuser or a user with CREATE on the database (its owner) can create it; otherwise a
superuser creates it beforehand (docs/operations.md). On SQLite this migration does nothing.

Going back drops the index but keeps the extension: something else may use it by then.
"""

from django.db import migrations

INDEX = "person_search_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON people_person USING gin (search_text gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("people", "0002_absence")]
    operations = [migrations.RunPython(create_index, drop_index)]
