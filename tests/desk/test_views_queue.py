"""The desk's queue views: each tab's cases, the filters, the SLA order and keyset pages.

The rows are made with the factory and given due times directly: these tests are about which
cases a view shows and in what order, not about how the due times are computed.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.access.views_support import login
from tests.desk.factories import CaseFactory
from tests.desk.views_support import (
    NOW,
    World,
    catch_mail,
    desk_world,
    english_client,
)
from tugi.desk import actions, queries
from tugi.desk.models import Case, Escalation, SlaPolicy, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client):
    return english_client(client)


@pytest.fixture
def mail(monkeypatch):
    return catch_mail(monkeypatch)


@pytest.fixture
def w(requester_user, desk_user, admin_user, time_machine, settings, tmp_path, mail) -> World:
    return desk_world(requester_user, desk_user, admin_user, time_machine, settings, tmp_path)


QUEUE = reverse("desk:queue")
HOUR = datetime.timedelta(hours=1)
Status = Case.Status


def _ids(response) -> list[int]:
    return [row.pk for row in response.context["rows"]]


def _key(case: Case) -> tuple:
    return (case.sla_due is None, case.sla_due or NOW, case.pk)


def test_the_queue_needs_the_desk_permission(en, w: World, client):
    assert client.get(QUEUE).status_code == 302  # to the login page
    login(en, w.requester)
    assert en.get(QUEUE).status_code == 403


def test_rows_sort_by_sla_due_with_no_due_time_last(en, w: World):
    later = CaseFactory(queue=w.desk_queue, sla_due=NOW + 5 * HOUR, subject="Hiljem")
    paused = CaseFactory(
        queue=w.desk_queue,
        status=Status.WAITING_REQUESTER,
        sla_due=None,
        sla_policy=SlaPolicy.objects.get(priority=4),
    )
    overdue = CaseFactory(queue=w.desk_queue, sla_due=NOW - 2 * HOUR, subject="Hilinenud")
    soon = CaseFactory(queue=w.desk_queue, sla_due=NOW + HOUR)
    tie = CaseFactory(queue=w.desk_queue, sla_due=NOW + HOUR)
    CaseFactory(queue=w.desk_queue, status=Status.RESOLVED, sla_due=None)
    login(en, w.desk)
    response = en.get(QUEUE, {"tab": "all"})
    assert _ids(response) == [overdue.pk, soon.pk, tie.pk, later.pk, paused.pk]
    html = response.content.decode()
    assert "breached" in html and "paused" in html
    assert "2 h ago" in html and "in 5 h" in html
    row = response.context["rows"][0]
    assert row.due.level == "breached"


def test_a_case_within_its_warning_window_is_marked_due_soon(en, w: World):
    case = CaseFactory(queue=w.desk_queue, sla_due=NOW + datetime.timedelta(minutes=30))
    case.sla_policy = SlaPolicy.objects.get(priority=4)
    case.save()
    login(en, w.desk)
    response = en.get(QUEUE, {"tab": "all"})
    assert response.context["rows"][0].due.level == "warning"
    assert "due soon" in response.content.decode()


def test_keyset_pages_cover_every_case_once_forwards_and_backwards(en, w: World):
    # Ties on the due time and cases without one: the order must still be total.
    dues = [NOW + (i % 7) * HOUR for i in range(115)]
    cases = [CaseFactory(queue=w.desk_queue, sla_due=due) for due in dues]
    cases += [
        CaseFactory(queue=w.desk_queue, status=Status.WAITING_REQUESTER, sla_due=None)
        for _ in range(20)
    ]
    expected = [c.pk for c in sorted(cases, key=_key)]
    login(en, w.desk)
    seen: list[int] = []
    pages = []
    response = en.get(QUEUE, {"tab": "all"})
    while True:
        pages.append(_ids(response))
        seen += pages[-1]
        cursor = response.context["page"].next_cursor
        if not cursor:
            break
        response = en.get(QUEUE, {"tab": "all", "cursor": cursor})
    assert [len(p) for p in pages] == [50, 50, 35]
    assert seen == expected
    # And back again from the last page.
    back: list[list[int]] = []
    cursor = response.context["page"].prev_cursor
    while cursor:
        response = en.get(QUEUE, {"tab": "all", "cursor": cursor})
        back.insert(0, _ids(response))
        cursor = response.context["page"].prev_cursor
    assert back == pages[:-1]


def test_a_malformed_cursor_shows_the_first_page(en, w: World):
    case = CaseFactory(queue=w.desk_queue, sla_due=NOW)
    login(en, w.desk)
    assert _ids(en.get(QUEUE, {"tab": "all", "cursor": "bm9wZQ"})) == [case.pk]


def test_each_tab_shows_its_cases(en, w: World):
    mine = CaseFactory(queue=w.second_queue, assignee=w.desk, sla_due=NOW + 30 * HOUR)
    in_my_queue = CaseFactory(queue=w.desk_queue, assignee=w.admin, sla_due=NOW + 20 * HOUR)
    unassigned = CaseFactory(queue=w.second_queue, sla_due=NOW + 10 * HOUR)
    breaching = CaseFactory(queue=w.second_queue, assignee=w.admin, sla_due=NOW + HOUR)
    overdue = CaseFactory(queue=w.second_queue, assignee=w.admin, sla_due=NOW - HOUR)
    CaseFactory(queue=w.desk_queue, assignee=w.desk, status=Status.RESOLVED)
    CaseFactory(queue=w.desk_queue, status=Status.CLOSED)
    login(en, w.desk)
    assert _ids(en.get(QUEUE)) == [mine.pk]  # "mine" is the first tab
    assert _ids(en.get(QUEUE, {"tab": "mine"})) == [mine.pk]
    assert _ids(en.get(QUEUE, {"tab": "queues"})) == [in_my_queue.pk]
    assert _ids(en.get(QUEUE, {"tab": "unassigned"})) == [unassigned.pk]
    # Due within 4 working hours (Wednesday 10:00 → 14:00), or already overdue.
    assert _ids(en.get(QUEUE, {"tab": "breaching"})) == [overdue.pk, breaching.pk]
    assert _ids(en.get(QUEUE, {"tab": "all"})) == [
        overdue.pk,
        breaching.pk,
        unassigned.pk,
        in_my_queue.pk,
        mine.pk,
    ]


def test_filters_narrow_the_view(en, w: World):
    tag = Tag.objects.create(name="uuendus")
    target = CaseFactory(
        queue=w.second_queue,
        sla_due=NOW,
        priority=2,
        system=w.system,
        category=Case.Category.MALFUNCTION,
        subject="SKAIS2 viga pärast uuendust",
        tags=[tag],
    )
    CaseFactory(queue=w.desk_queue, sla_due=NOW, priority=2)
    CaseFactory(queue=w.second_queue, sla_due=NOW, priority=4, subject="Muu küsimus")
    CaseFactory(queue=w.second_queue, sla_due=NOW, status=Status.WAITING_THIRD_PARTY)
    login(en, w.desk)
    for params in (
        {"queue": w.second_queue.pk, "priority": 2},
        {"system": w.system.pk},
        {"category": "malfunction"},
        {"tag": tag.pk},
        {"q": "pärast uuendust"},
        {"q": f"#{target.pk}"},
        {"queue": w.second_queue.pk, "status": "open", "priority": "2"},
    ):
        response = en.get(QUEUE, {"tab": "all", **params})
        assert _ids(response) == [target.pk], params
    assert len(_ids(en.get(QUEUE, {"tab": "all", "status": "waiting_third_party"}))) == 1
    empty = en.get(QUEUE, {"tab": "all", "q": "olematu"})
    assert "No cases match" in empty.content.decode()


def test_the_filter_choices_are_read_in_one_statement(en, w: World):
    tag_b, tag_a = Tag.objects.create(name="uuendus"), Tag.objects.create(name="aeglane")
    login(en, w.desk)
    en.get(QUEUE)
    with CaptureQueriesContext(connection) as ctx:
        html = en.get(QUEUE, {"tab": "all"}).content.decode()
    choices = [
        q["sql"]
        for q in ctx.captured_queries
        if "desk_tag" in q["sql"] and "desk_case" not in q["sql"]
    ]
    assert len(choices) == 1 and "desk_queue" in choices[0] and "targetsystem" in choices[0]
    # Each list in name order, after its "any" choice.
    assert html.index(f'<option value="{tag_a.pk}">aeglane') < html.index(
        f'<option value="{tag_b.pk}">uuendus'
    )
    assert html.index(f'<option value="{w.second_queue.pk}">SKAIS-i tugi') > html.index(
        f'<option value="{w.desk_queue.pk}">Rakendustugi'
    )
    assert f'<option value="{w.system.pk}">SKAIS2</option>' in html
    # The chosen filter stays chosen; an htmx request for the results reads no choices.
    html = en.get(QUEUE, {"tab": "all", "tag": tag_b.pk}).content.decode()
    assert f'<option value="{tag_b.pk}" selected>uuendus' in html
    with CaptureQueriesContext(connection) as ctx:
        en.get(QUEUE, {"tab": "all", "tag": tag_b.pk}, headers={"HX-Request": "true"})
    assert not [q for q in ctx.captured_queries if 'FROM "desk_queue"' in q["sql"]]


def test_filter_changes_answer_with_the_results_only(en, w: World):
    CaseFactory(queue=w.desk_queue, sla_due=NOW)
    login(en, w.desk)
    response = en.get(QUEUE, {"tab": "all"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and "queue-table" in html
    assert response["Vary"].count("HX-Request") == 1


def test_the_query_count_does_not_grow_with_the_rows(en, w: World):
    tag = Tag.objects.create(name="x")
    for i in range(3):
        CaseFactory(queue=w.desk_queue, assignee=w.desk, sla_due=NOW + i * HOUR, tags=[tag])
    login(en, w.desk)
    en.get(QUEUE, {"tab": "all"})  # warm the session and permission caches

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert en.get(QUEUE, {"tab": "all"}).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(60):
        CaseFactory(
            queue=w.second_queue,
            assignee=w.admin,
            sla_due=NOW + i * HOUR,
            system=w.system,
            tags=[tag],
        )
    assert count() <= few
    assert few <= 25


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan format")
def test_every_partition_is_an_index_range_scan(w: World):
    """No sort of the whole queue: the page is one statement in which each partition walks an
    index in (sla_due, id) order, only their few keys are sorted, and the page's rows are then
    read by primary key."""
    CaseFactory(queue=w.desk_queue, assignee=w.desk, sla_due=NOW)
    for tab, index in [
        ("mine", "case_assignee_due"),
        ("queues", "case_queue_due"),
        ("unassigned", "case_assignee_due"),
        ("breaching", "case_status_due"),
        ("all", "case_status_due"),
    ]:
        with CaptureQueriesContext(connection) as ctx:
            queries.queue_page(w.desk, queries.QueueFilters(tab=tab), "", NOW)
        pages = [q["sql"] for q in ctx.captured_queries if "UNION ALL" in q["sql"]]
        assert len(pages) == 1, (tab, [q["sql"] for q in ctx.captured_queries])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + pages[0])
            plan = [(row[0], row[1], str(row[-1])) for row in cursor.fetchall()]
        reads = [text for _id, _parent, text in plan if " desk_case " in f"{text} "]
        assert reads[0] == "SEARCH desk_case USING INTEGER PRIMARY KEY (rowid=?)", (tab, plan)
        assert reads[1:] and all(f"USING COVERING INDEX {index} (" in r for r in reads[1:]), (
            tab,
            plan,
        )
        # The one sort is of the union's keys (a few per partition), not of a table.
        union_parent = next(parent for _id, parent, text in plan if text == "SCAN u")
        sorts = [(parent, text) for _id, parent, text in plan if "TEMP B-TREE" in text]
        assert sorts == [(union_parent, "USE TEMP B-TREE FOR ORDER BY")], (tab, plan)


def test_a_specialist_sees_the_cases_escalated_to_their_groups(en, w: World):
    escalated = w.open()
    actions.escalate(
        w.desk,
        escalated,
        kind=Escalation.Kind.SPECIALISTS,
        queue=w.specialists,
        summary="Kas arvutus on õige?",
    )
    w.open(subject="Teine")
    login(en, w.specialist)
    response = en.get(QUEUE)
    assert _ids(response) == [escalated.pk]
    assert [t for t, _label in response.context["tabs"]] == ["escalated"]
    # Asking for a desk tab does not widen the view.
    assert _ids(en.get(QUEUE, {"tab": "all"})) == [escalated.pk]
