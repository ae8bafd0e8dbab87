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

The desk's queue asks only for open cases: migration `desk.0004` keeps a second index of the open
cases alone (a partial trigram index on PostgreSQL, the FTS5 table `desk_case_open_fts` on SQLite),
so "which open cases have this word" is one probe however many closed cases have it.

Otherwise the matches are counted among the statuses the list shows, because
that is where the walk looks: a word of thousands of closed cases and a dozen open ones is a
search with few matches for the queue. On PostgreSQL the count is asked only when the planner's
statistics expect few matches (a word it expects often would be counted by a scan of the table);
on SQLite the full-text table gives up to `SCOPED` ids cheaply, and their statuses are looked up
when there are more than `FEW`.

On SQLite the walk compares with LIKE, which folds only ASCII letters; so a word with other
letters is also tried in lower case, upper case and capitalised ("õigus", "ÕIGUS", "Õigus").
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

from django.db import connection
from django.db.models import Q, QuerySet

from tugi.core import fts
from tugi.desk import actions
from tugi.desk.models import Case

# A trigram needs three characters; shorter words cannot narrow the search through the index.
MIN_INDEXED = 3
# Up to this many matching cases the matches are read first; beyond it the lists walk their
# indexes and test the subjects.
FEW = 1000
# SQLite: up to this many matches in all, the matches in the list's statuses are counted.
SCOPED = 5000
FTS_TABLE = "desk_case_fts"
# The same over the open cases only (migration desk.0004), and the statuses it holds.
OPEN_FTS_TABLE = "desk_case_open_fts"
OPEN_STATUSES = frozenset(str(s) for s in actions.OPEN_STATUSES)


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


def _fts_ready(table: str = FTS_TABLE) -> bool:
    return fts.ready(table)


def _any_case(word: str) -> Q:
    """The subject contains the word, case ignored, as the database's LIKE can say it."""
    if connection.vendor != "sqlite" or word.isascii():
        return Q(subject__icontains=word)
    variants = dict.fromkeys([word, word.lower(), word.upper(), word.capitalize()])
    return reduce(Q.__or__, (Q(subject__icontains=v) for v in variants))


def _all(conditions: Sequence[Q]) -> Q:
    return reduce(Q.__and__, conditions, Q())


def _fts_ids(words: Sequence[str], limit: int, table: str = FTS_TABLE) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rowid FROM {table} WHERE {table} MATCH %s LIMIT %s",  # noqa: S608 - a constant
            [fts.match(words), limit],
        )
        return [row[0] for row in cursor.fetchall()]


def _in_statuses(ids: Sequence[int], statuses: Sequence[str]) -> list[int]:
    """Those of the ids whose case is in one of the statuses (primary-key lookups)."""
    return list(
        Case.objects.filter(pk__in=ids, status__in=statuses).order_by().values_list("id", flat=True)
    )


def _estimate(queryset: QuerySet[Case]) -> int:
    """How many rows PostgreSQL expects the query to return (planning only, from statistics)."""
    sql, params = queryset.values_list("id", flat=True).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)  # the ORM's SQL, params apart
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def search_subjects(
    text: str, *, few: int | None = None, statuses: Sequence[str] | None = None
) -> SubjectSearch | None:
    """The search for these words (None when there are none); see the module's docstring.

    `statuses`: the only statuses the list shows (the desk's queue: the open ones). The matches
    are then counted among those cases only: a word of thousands of closed cases but a few
    open ones is still a search with few matches for the queue.
    """
    few = FEW if few is None else few
    words = words_of(text)
    if not words:
        return None
    indexed = [w for w in words if len(w) >= MIN_INDEXED]
    short = [w for w in words if len(w) < MIN_INDEXED]
    walk = _all([_any_case(w) for w in words])
    if not indexed:
        return SubjectSearch(walk, None)
    if connection.vendor == "sqlite":
        if statuses and set(statuses) <= OPEN_STATUSES and _fts_ready(OPEN_FTS_TABLE):
            # Only open cases are asked for: their own index has just them.
            ids = _fts_ids(indexed, few + 1, OPEN_FTS_TABLE)
            if len(ids) <= few and set(statuses) != OPEN_STATUSES:
                ids = _in_statuses(ids, statuses)
        elif not _fts_ready():
            return SubjectSearch(walk, None)
        else:
            ids = _fts_ids(indexed, max(few, SCOPED if statuses else 0) + 1)
            if few < len(ids) <= SCOPED and statuses:
                # Many matches in all, but perhaps few in the list's statuses (a word of closed
                # cases): worth a look while the word has at most a few thousand matches.
                ids = _in_statuses(ids, statuses)
    else:
        matches = Case.objects.filter(_all([Q(subject__icontains=w) for w in indexed])).order_by()
        if statuses:
            matches = matches.filter(status__in=statuses)
        # Asked only when the planner expects few matches (then it reads them from the trigram
        # index): for a word it expects often it would scan the table for the first `few`, and
        # a word common overall but rare in the order scanned made that 250 ms.
        if _estimate(matches) > few:
            return SubjectSearch(walk, None)
        ids = list(matches.values_list("id", flat=True)[: few + 1])
    if len(ids) > few:
        return SubjectSearch(walk, None)
    condition = Q(pk__in=ids) & _all([_any_case(w) for w in short]) if ids else Q(pk__in=[])
    return SubjectSearch(condition, ids)
