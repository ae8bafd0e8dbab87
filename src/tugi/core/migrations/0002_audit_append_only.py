"""Make the audit table append-only with database triggers (SQLite and PostgreSQL)."""

from django.db import migrations


def install(apps, schema_editor):
    from tugi.core import audit_triggers

    audit_triggers.install(schema_editor.connection)


def drop(apps, schema_editor):
    from tugi.core import audit_triggers

    audit_triggers.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(install, drop)]
