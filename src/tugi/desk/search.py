"""Searching case subjects for words, fast at a million cases on both databases.

A search is words that must all occur in the subject, case ignored. `LIKE '%word%'` cannot use a
B-tree, so migration `desk.0003` gives each database an index that can:

- PostgreSQL: a trigram GIN index on `UPPER(subject)`, which `subject__icontains` uses;
- SQLite: the FTS5 trigram table `desk_case_fts`, asked with MATCH.

Both need three letters: shorter words are matched by reading the subjects of the rows the rest
of the search leaves.

How the index is used depends on how many cases match, because the lists are read in SLA order:

- **few matches** (at most `FEW`): their ids are read from the index first (`candidates`), and the
  list is made of those rows only, whatever their order; a word that matches nothing costs one
  index probe;
- **many matches**: the lists walk their usual ordered index ranges and test each row's subject
  (`condition`); the matches are then dense, so a page fills after a short walk. Asking the index
  for every match of a common word would cost more than that walk.

On SQLite the walk compares with LIKE, which folds only ASCII letters; so a word with other
letters is also tried in lower case, upper case and capitalised ("õigus", "ÕIGUS", "Õigus").
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

from django.db import connection
from django.db.models import Q

from tugi.desk.models import Case

# A trigram needs three characters; shorter words cannot narrow the search through the index.
MIN_INDEXED = 3
# Up to this many matching cases the matches are read first; beyond it the lists walk their
# indexes and test the subjects.
FEW = 1000
FTS_TABLE = "desk_case_fts"

_fts_present: dict[str, bool] = {}


@dataclass(frozen=True)
class SubjectSearch:
    """What a search asks of the cases.

    `condition` selects exactly the matching cases. `candidates`, when not None, are the ids of
    every case that may match (a superset when some words were too short for the index, which
    `condition` still checks): read those rows rather than walking an index.
    """

    condition: Q
    candidates: list[int] | None


def words_of(text: str) -> list[str]:
    """The search's words, each once (case ignored), in the order typed."""
    seen: dict[str, str] = {}
    for word in text.split():
        seen.setdefault(word.casefold(), word)
    return list(seen.values())


def _fts_ready() -> bool:
    """Whether this SQLite database has the FTS table (the library may lack FTS5)."""
    name = str(connection.settings_dict["NAME"])
    if name not in _fts_present:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE]
            )
            _fts_present[name] = cursor.fetchone() is not None
    return _fts_present[name]


def _any_case(word: str) -> Q:
    """The subject contains the word, case ignored, as the database's LIKE can say it."""
    if connection.vendor != "sqlite" or word.isascii():
        return Q(subject__icontains=word)
    variants = dict.fromkeys([word, word.lower(), word.upper(), word.capitalize()])
    return reduce(Q.__or__, (Q(subject__icontains=v) for v in variants))


def _all(conditions: Sequence[Q]) -> Q:
    return reduce(Q.__and__, conditions, Q())


def _fts_ids(words: Sequence[str], limit: int) -> list[int]:
    # Each word a quoted FTS5 string: no operator or column filter can be smuggled in.
    match = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rowid FROM desk_case_fts WHERE desk_case_fts MATCH %s LIMIT %s", [match, limit]
        )
        return [row[0] for row in cursor.fetchall()]


def search_subjects(text: str, *, few: int = FEW) -> SubjectSearch | None:
    """The search for these words (None when there are none); see the module's docstring."""
    words = words_of(text)
    if not words:
        return None
    indexed = [w for w in words if len(w) >= MIN_INDEXED]
    short = [w for w in words if len(w) < MIN_INDEXED]
    walk = _all([_any_case(w) for w in words])
    if not indexed:
        return SubjectSearch(walk, None)
    if connection.vendor == "sqlite":
        if not _fts_ready():
            return SubjectSearch(walk, None)
        ids = _fts_ids(indexed, few + 1)
    else:
        # No ORDER BY and a LIMIT: a rare word is read from the trigram index, a common one
        # found by the first rows of any scan.
        ids = list(
            Case.objects.filter(_all([Q(subject__icontains=w) for w in indexed]))
            .order_by()
            .values_list("id", flat=True)[: few + 1]
        )
    if len(ids) > few:
        return SubjectSearch(walk, None)
    condition = Q(pk__in=ids) & _all([_any_case(w) for w in short]) if ids else Q(pk__in=[])
    return SubjectSearch(condition, ids)
