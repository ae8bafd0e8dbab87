"""The person list's search on SQLite's trigram table (migration people.0006): the same persons as
a scan, found through the index, and the index kept in step with the names by its triggers."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import PersonFactory, make_user
from tugi.core.roles import AppRole
from tugi.people import queries
from tugi.people.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    return make_user("valves", AppRole.DESK_AGENT)


@pytest.fixture(autouse=True)
def _fts():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's trigram table; PostgreSQL searches through pg_trgm (people.0003)")
    if not queries._fts_ready("default"):
        pytest.skip("this SQLite library has no FTS5: the search scans")


def found(user, q: str) -> list[str]:
    page = queries.person_page(user, queries.PersonFilters(q=q))
    return [f"{p.first_name} {p.last_name}" for p in page.rows]


def test_the_index_finds_what_a_scan_finds(desk, monkeypatch):
    for first, last in [("Jüri", "Tamm"), ("Mari", "Tammik"), ("Kati", "Kask"), ("Õie", "Tamme")]:
        PersonFactory(first_name=first, last_name=last)
    questions = ["tamm", "TAMM", "tamm mari", "oie tamme", "ta", "tamm x", "kask", "olematu"]
    indexed = {q: found(desk, q) for q in questions}
    monkeypatch.setattr(queries, "_fts_ready", lambda alias: False)
    assert indexed == {q: found(desk, q) for q in questions}
    assert indexed["tamm"] == ["Jüri Tamm", "Õie Tamme", "Mari Tammik"]
    assert indexed["oie tamme"] == ["Õie Tamme"]  # folded: õ matches o
    assert indexed["tamm x"] == []  # the short word is still tested on the rows


def test_a_search_asks_the_index(desk):
    PersonFactory(first_name="Jüri", last_name="Tamm")
    with CaptureQueriesContext(connection) as queries_run:
        found(desk, "tamm")
    assert any("people_person_fts MATCH" in q["sql"] for q in queries_run.captured_queries)


def test_the_index_follows_names_and_deletes(desk):
    person = PersonFactory(first_name="Jüri", last_name="Tamm")
    assert found(desk, "tamm") == ["Jüri Tamm"]
    # The actions and the HR import write search_text with UPDATEs: the trigger re-indexes.
    Person.objects.filter(pk=person.pk).update(last_name="Kuusk", search_text="juri kuusk")
    assert found(desk, "tamm") == [] and found(desk, "kuusk") == ["Jüri Kuusk"]
    Person.objects.filter(pk=person.pk).update(status=Person.Status.ON_LEAVE)  # text unchanged
    assert found(desk, "kuusk") == ["Jüri Kuusk"]
    Person.objects.filter(pk=person.pk).delete()
    assert found(desk, "kuusk") == []


def test_quotes_and_operators_are_only_text(desk):
    PersonFactory(first_name='Jaan "OR"', last_name="Sepp")
    assert found(desk, 'jaan "or"') == ['Jaan "OR" Sepp']
    assert found(desk, "sepp*") == [] and found(desk, "NEAR(sepp") == []
