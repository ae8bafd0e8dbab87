"""Searching case subjects (`tugi.desk.search`): the same answers whichever way a search is
read — few matches read first by id, many matches tested on the walk — on the queue page and in
the API, case ignored (also for letters beyond ASCII), and the SQLite index kept in step with the
subjects by its triggers."""

import datetime
import importlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.access.views_support import login
from tests.api.conftest import token_client
from tests.desk.factories import CaseFactory
from tests.desk.views_support import NOW, World, catch_mail, desk_world, english_client
from tugi.desk import actions, queries, search
from tugi.desk.models import Case

pytestmark = pytest.mark.django_db

QUEUE = reverse("desk:queue")
HOUR = datetime.timedelta(hours=1)
Status = Case.Status


@pytest.fixture
def en(client):
    return english_client(client)


@pytest.fixture
def w(requester_user, desk_user, admin_user, time_machine, settings, tmp_path, monkeypatch):
    catch_mail(monkeypatch)
    return desk_world(requester_user, desk_user, admin_user, time_machine, settings, tmp_path)


@pytest.fixture(params=["few", "many"])
def mode(request, monkeypatch) -> str:
    """Both ways of reading a search: the matches by id first, or tested on the ordered walk."""
    if request.param == "many":
        monkeypatch.setattr(search, "FEW", 0)
    return request.param


def _cases(w: World) -> dict[str, Case]:
    def case(subject: str, hours: float | None, status: str = Status.OPEN, **extra) -> Case:
        return CaseFactory(
            subject=subject,
            queue=w.desk_queue,
            status=status,
            sla_due=NOW + hours * HOUR if hours is not None else None,
            **extra,
        )

    return {
        "skais": case("SKAIS2 ei avane", 2),
        "skais_late": case("Viga SKAIS2-s pärast uuendust", -1),
        "rights": case("Õigused puuduvad STAR-is", 5),
        "rights_upper": case("ÕIGUSED KADUNUD", 6, Status.WAITING_THIRD_PARTY),
        "paused": case("SKAIS2 aruanne", None, Status.WAITING_REQUESTER),
        "closed": case("SKAIS2 ei avane jälle", None, Status.CLOSED),
        "other": case("Parool aegus", 1),
    }


def _queue_ids(en, **params) -> list[int]:
    response = en.get(QUEUE, {"tab": "all", **params})
    assert response.status_code == 200
    return [row.pk for row in response.context["rows"]]


def _api_ids(client, **params) -> list[int]:
    response = client.get("/api/v1/cases/", params)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_words_must_all_occur_case_ignored_in_either_mode(en, w: World, mode):
    c = _cases(w)
    login(en, w.desk)
    assert _queue_ids(en, q="skais2") == [c["skais_late"].pk, c["skais"].pk, c["paused"].pk]
    assert _queue_ids(en, q="skais uuendust") == [c["skais_late"].pk]
    # Letters beyond ASCII, typed in any of the usual cases.
    for typed in ("õigus", "ÕIGUS", "Õigus"):
        assert _queue_ids(en, q=typed) == [c["rights"].pk, c["rights_upper"].pk], typed
    # A word too short for the index still counts, together with the others.
    assert _queue_ids(en, q="ei skais") == [c["skais"].pk]
    assert _queue_ids(en, q="EI") == [c["skais"].pk]
    assert _queue_ids(en, q="olematu") == []
    # The API: every status, in SLA order.
    api = token_client(w.desk)
    assert _api_ids(api, q="skais2") == [
        c["skais_late"].pk,
        c["skais"].pk,
        c["paused"].pk,
        c["closed"].pk,
    ]
    assert _api_ids(api, q="ÕIGUS", is_open="true") == [c["rights"].pk, c["rights_upper"].pk]
    assert _api_ids(api, q="olematu") == []


def test_a_word_that_matches_nothing_reads_no_queue_range(en, w: World):
    _cases(w)
    login(en, w.desk)
    en.get(QUEUE, {"tab": "all"})
    with CaptureQueriesContext(connection) as ctx:
        assert _queue_ids(en, q="olematu") == []
    scans = [
        q["sql"] for q in ctx.captured_queries if "ORDER BY" in q["sql"] and "sla_due" in q["sql"]
    ]
    assert scans == []


def test_few_matches_are_paged_like_the_rest(en, w: World, mode):
    dues = [NOW + (i % 5) * HOUR for i in range(70)]
    matching = [
        CaseFactory(queue=w.desk_queue, subject=f"Aruanne {i}", sla_due=d)
        for i, d in enumerate(dues)
    ]
    matching += [
        CaseFactory(queue=w.desk_queue, subject="aruanne ootel", status=Status.WAITING_REQUESTER)
        for _ in range(5)
    ]
    CaseFactory.create_batch(10, queue=w.desk_queue, subject="Muu", sla_due=NOW)
    expected = [
        c.pk for c in sorted(matching, key=lambda c: (c.sla_due is None, c.sla_due or NOW, c.pk))
    ]
    login(en, w.desk)
    response = en.get(QUEUE, {"tab": "all", "q": "ARUANNE"})
    first = [row.pk for row in response.context["rows"]]
    cursor = response.context["page"].next_cursor
    response = en.get(QUEUE, {"tab": "all", "q": "ARUANNE", "cursor": cursor})
    second = [row.pk for row in response.context["rows"]]
    assert first + second == expected
    assert response.context["page"].next_cursor is None
    back = en.get(
        QUEUE, {"tab": "all", "q": "ARUANNE", "cursor": response.context["page"].prev_cursor}
    )
    assert [row.pk for row in back.context["rows"]] == first


def test_a_search_keeps_the_tabs_conditions(en, w: World, mode):
    mine = CaseFactory(queue=w.second_queue, assignee=w.desk, subject="Aruanne", sla_due=NOW)
    CaseFactory(queue=w.second_queue, assignee=w.admin, subject="Aruanne", sla_due=NOW)
    far = CaseFactory(queue=w.desk_queue, subject="Aruanne", sla_due=NOW + 100 * HOUR)
    near = CaseFactory(queue=w.desk_queue, subject="Aruanne", sla_due=NOW + HOUR)
    login(en, w.desk)
    assert _queue_ids(en, tab="mine", q="aruanne") == [mine.pk]
    assert _queue_ids(en, tab="breaching", q="aruanne", queue=w.desk_queue.pk) == [near.pk]
    assert far.pk in _queue_ids(en, tab="all", q="aruanne")


def test_a_word_of_many_closed_cases_is_still_a_rare_one_for_the_queue(en, w: World, monkeypatch):
    """Matches are counted among the cases the list shows: the queue's open ones."""
    monkeypatch.setattr(search, "FEW", 2)
    CaseFactory.create_batch(
        4, queue=w.desk_queue, subject="Arhiveeritud mure", status=Status.CLOSED
    )
    open_one = CaseFactory(queue=w.desk_queue, subject="Arhiveeritud mure", sla_due=NOW)
    everywhere = search.search_subjects("arhiveeritud")
    assert everywhere is not None and everywhere.candidates is None  # 5 matches: many
    in_queue = search.search_subjects("arhiveeritud", statuses=queries.OPEN_STATUSES)
    assert in_queue is not None and in_queue.candidates == [open_one.pk]
    plan = queries.plan_queue(w.desk, queries.QueueFilters(tab="all", q="arhiveeritud"), NOW)
    assert plan.candidates == [open_one.pk]
    login(en, w.desk)
    assert _queue_ids(en, q="arhiveeritud") == [open_one.pk]
    api = token_client(w.desk)
    assert _api_ids(api, q="arhiveeritud", is_open="true") == [open_one.pk]
    assert len(_api_ids(api, q="arhiveeritud")) == 5
    # A word only closed cases have: no open candidate at all.
    only_closed = search.search_subjects("mure arhiveeritud", statuses=["new"])
    assert only_closed is not None and only_closed.candidates == []


def test_the_search_index_follows_the_subjects():
    if connection.vendor == "sqlite" and not search._fts_ready():
        pytest.skip("this SQLite library has no FTS5: the search reads the subjects")
    case = CaseFactory(subject="Printer ei prindi")

    def found(text: str) -> list[int] | None:
        result = search.search_subjects(text)
        assert result is not None
        return result.candidates

    assert found("printer") == [case.pk]
    case.subject = "Skanner ei skanni"
    case.save()
    assert found("printer") == []
    assert found("skanner") == [case.pk]
    case.status = Status.RESOLVED  # a save that leaves the subject as it was
    case.save()
    assert found("skanner") == [case.pk]
    Case.objects.filter(pk=case.pk).delete()
    assert found("skanner") == []


def test_the_open_index_has_the_desks_open_statuses():
    """The migration wrote them out; a new open status needs a migration (and fails here)."""
    migration = importlib.import_module("tugi.desk.migrations.0004_open_case_subject_search")
    open_statuses = {str(s) for s in actions.OPEN_STATUSES}
    assert set(migration.OPEN) == open_statuses == search.OPEN_STATUSES


def test_the_open_index_holds_exactly_the_open_cases():
    """The index of open cases (desk.0004) follows openings, subjects, closings and deletes."""
    if connection.vendor != "sqlite" or not search._fts_ready(search.OPEN_FTS_TABLE):
        pytest.skip(
            "the SQLite FTS5 table; PostgreSQL's partial index is checked by its definition"
        )

    def open_ids(word: str) -> list[int]:
        return sorted(search._fts_ids([word], 100, search.OPEN_FTS_TABLE))

    case = CaseFactory(subject="Printer ei prindi", status=Status.NEW)
    CaseFactory(subject="Printer on katki", status=Status.CLOSED)
    assert open_ids("printer") == [case.pk]
    case.status = Status.WAITING_REQUESTER  # still open, same subject: indexed once
    case.save()
    assert open_ids("printer") == [case.pk]
    case.subject = "Printer ja skanner"  # shares trigrams with the old subject
    case.save()
    assert open_ids("printer") == [case.pk] and open_ids("skanner") == [case.pk]
    assert open_ids("prindi") == []
    case.status = Status.RESOLVED
    case.save()
    assert open_ids("printer") == []
    case.status = Status.OPEN  # reopened
    case.save()
    assert open_ids("skanner") == [case.pk]
    Case.objects.filter(pk=case.pk).delete()
    assert open_ids("skanner") == []


@pytest.mark.postgres
def test_postgres_has_a_trigram_index_of_the_open_cases_only():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'case_open_subject_trgm'")
        (definition,) = cursor.fetchone()
    assert "gin (upper((subject)::text) gin_trgm_ops)" in definition
    where = definition.split("WHERE", 1)[1]
    assert all(f"'{status}'" in where for status in search.OPEN_STATUSES), where
    assert "resolved" not in where and "closed" not in where


def test_quotes_and_operators_in_a_search_are_only_text(w: World):
    """FTS5 query syntax typed into the search box is searched for as it stands."""
    case = CaseFactory(subject='Nupp "Kinnita" OR NOT ei tööta')
    cases = {
        '"kinnita"': [case.pk],
        "or not": [case.pk],
        "nupp": [case.pk],
        "kinnita*": [],
        "subject:nupp": [],
        "(nupp": [],
        "NEAR(nupp": [],
    }
    for text, expected in cases.items():
        result = search.search_subjects(text)
        assert result is not None
        ids = list(Case.objects.filter(result.condition).values_list("pk", flat=True))
        assert ids == expected, text


@pytest.mark.postgres
def test_postgres_reads_a_search_from_the_trigram_index():
    CaseFactory(subject="SKAIS2 ei avane")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = (
            Case.objects.filter(subject__icontains="avane")
            .order_by()
            .values_list("id", flat=True)
            .query.sql_with_params()
        )
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "case_subject_trgm" in plan, plan


def test_queue_plan_marks_a_rare_search_as_candidates(w: World):
    CaseFactory(queue=w.desk_queue, subject="Haruldane mure", sla_due=NOW)
    plan = queries.plan_queue(w.desk, queries.QueueFilters(tab="all", q="haruldane"), NOW)
    assert plan.candidates is not None and len(plan.candidates) == 1
    plan = queries.plan_queue(w.desk, queries.QueueFilters(tab="all", q="ei"), NOW)
    assert plan.candidates is None  # two letters: no index can narrow it
