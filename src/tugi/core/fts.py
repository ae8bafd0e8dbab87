"""SQLite's FTS5 trigram tables, shared by the searches that use them (cases, persons).

Migrations create the tables only where the SQLite library has FTS5; the searches ask `ready`
first and read the rows without the index otherwise.
"""

from collections.abc import Sequence

from django.db import connections

_present: dict[tuple[str, str], bool] = {}


def ready(table: str, using: str = "default") -> bool:
    """Whether this SQLite database has the FTS table (remembered per database file)."""
    connection = connections[using]
    key = (str(connection.settings_dict["NAME"]), table)
    if key not in _present:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [table]
            )
            _present[key] = cursor.fetchone() is not None
    return _present[key]


def match(words: Sequence[str]) -> str:
    """A MATCH expression for rows containing every word, as plain text.

    Each word is a quoted FTS5 string, so no operator, prefix or column filter typed into a
    search box can change the query.
    """
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
