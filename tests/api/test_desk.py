"""The service-desk resources: listing and filtering cases in SLA order, who sees what, opening
cases (with files), messages, changes, resolving, escalating and rating; the OpenAPI paths."""

import datetime
import json
from dataclasses import dataclass
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.access.factories import TargetSystemFactory
from tests.desk.factories import CaseFactory, QueueFactory, SlaPolicyFactory
from tests.factories import PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.desk import actions
from tugi.desk.attachments import IncomingFile
from tugi.desk.mail import outbound
from tugi.desk.models import Attachment, Case, Escalation, Queue, Rating, Tag
from tugi.people.models import Person

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"
TALLINN = ZoneInfo("Europe/Tallinn")
# A Wednesday morning in office hours, no holiday near.
NOW = datetime.datetime(2025, 3, 12, 10, 0, tzinfo=TALLINN)
HOUR = datetime.timedelta(hours=1)
PDF = b"%PDF-1.7\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 40
Status = Case.Status


@dataclass
class Desk:
    requester: User
    person: Person
    other: User
    other_person: Person
    desk: User
    specialist: User
    queue: Queue
    specialists: Queue


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def mail(monkeypatch):
    sent = SimpleNamespace(messages=[], acks=[])
    monkeypatch.setattr(outbound, "queue_message", sent.messages.append)
    monkeypatch.setattr(outbound, "queue_acknowledgement", sent.acks.append)
    return sent


@pytest.fixture
def d(requester_user, desk_user) -> Desk:
    for priority, first, resolution in [(1, 30, 240), (2, 60, 480), (3, 240, 1440), (4, 480, 2400)]:
        SlaPolicyFactory(
            priority=priority, first_response_minutes=first, resolution_minutes=resolution
        )
    other = make_user("teine", AppRole.REQUESTER)
    specialist = make_user("spetsialist", AppRole.DOMAIN_SPECIALIST)
    PersonFactory(first_name="Kalle", last_name="Kask", user=desk_user)
    return Desk(
        requester=requester_user,
        person=PersonFactory(first_name="Mari", last_name="Jõgi", user=requester_user),
        other=other,
        other_person=PersonFactory(first_name="Toomas", last_name="Tamm", user=other),
        desk=desk_user,
        specialist=specialist,
        queue=QueueFactory(code="DESK", name="Rakendustugi"),
        specialists=QueueFactory(
            code="PENS",
            name="Pensionide spetsialistid",
            kind=Queue.Kind.SPECIALISTS,
            members=[specialist],
        ),
    )


def _open(d: Desk, actor: User | None = None, **extra) -> Case:
    data = {"channel": Case.Channel.PORTAL, "subject": "SKAIS ei avane", "body": "Viga 500."}
    data.update(extra)
    return actions.create_case(actor or d.requester, **data)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def errors(response, code: int = 400) -> dict:
    assert response.status_code == code, response.content
    return response.json()["errors"]


# --- the list ---------------------------------------------------------------------------------


def _due_world(d: Desk) -> dict[str, Case]:
    """Cases with and without due times across statuses, made directly (no SLA computation)."""

    def case(status: str, due_hours: float | None, **extra) -> Case:
        due = NOW + due_hours * HOUR if due_hours is not None else None
        return CaseFactory(status=status, sla_due=due, queue=d.queue, requester=d.person, **extra)

    return {
        "late": case(Status.OPEN, -2),
        "soon_new": case(Status.NEW, 1),
        "soon_tie_a": case(Status.WAITING_THIRD_PARTY, 3),
        "soon_tie_b": case(Status.OPEN, 3),
        "later": case(Status.NEW, 30),
        "paused": case(Status.WAITING_REQUESTER, None),
        "resolved": case(Status.RESOLVED, None),
        "closed": case(Status.CLOSED, None),
    }


def test_list_is_in_sla_order_with_cases_without_a_due_time_last(client_for, d):
    c = _due_world(d)
    expected = [
        c["late"].pk,
        c["soon_new"].pk,
        min(c["soon_tie_a"].pk, c["soon_tie_b"].pk),
        max(c["soon_tie_a"].pk, c["soon_tie_b"].pk),
        c["later"].pk,
        *sorted([c["paused"].pk, c["resolved"].pk, c["closed"].pk]),
    ]
    response = client_for(d.desk).get(CASES)
    assert ids(response) == expected
    rows = {row["id"]: row for row in response.json()["results"]}
    assert rows[c["late"].pk]["sla_breached"] is True
    assert rows[c["soon_new"].pk]["sla_breached"] is False
    assert rows[c["paused"].pk]["sla_due"] is None
    first = rows[c["late"].pk]
    assert first["reference"] == f"Tugi #{c['late'].pk}"
    assert first["queue_name"] == "Rakendustugi"
    assert first["requester_name"] == "Mari Jõgi"
    assert first["requester_email"] == d.person.email


def test_pages_cover_every_case_once_forward_and_back(client_for, d):
    _due_world(d)
    CaseFactory.create_batch(3, status=Status.CLOSED, queue=d.queue)
    client = client_for(d.desk)
    everything = ids(client.get(CASES))
    pages: list[list[int]] = []
    url: str | None = f"{CASES}?page_size=3"
    while url:
        response = client.get(url)
        pages.append(ids(response))
        url = response.json()["next"]
    assert [len(p) for p in pages] == [3, 3, 3, 2]
    assert [pk for page in pages for pk in page] == everything

    back: list[list[int]] = []
    response = client.get(f"{CASES}?page_size=3")
    while response.json()["next"]:
        response = client.get(response.json()["next"])
    back.append(ids(response))
    while response.json()["previous"]:
        response = client.get(response.json()["previous"])
        back.append(ids(response))
    assert list(reversed(back)) == pages


def test_filters(client_for, d):
    c = _due_world(d)
    skais = TargetSystemFactory(code="SKAIS2")
    other_queue = QueueFactory(code="ACC", name="Ligipääsud")
    special = CaseFactory(
        status=Status.OPEN,
        sla_due=NOW + 5 * HOUR,
        queue=other_queue,
        requester=d.other_person,
        assignee=d.desk,
        priority=1,
        system=skais,
        category=Case.Category.ACCESS,
        channel=Case.Channel.EMAIL,
        subject="Parool aegus STARis",
        tags=[Tag.objects.create(name="parool")],
    )
    client = client_for(d.desk)

    def listed(**params) -> set[int]:
        return set(ids(client.get(CASES, params)))

    assert listed(queue=other_queue.pk) == {special.pk}
    both = client.get(f"{CASES}?status=resolved&status=closed")
    assert set(ids(both)) == {c["resolved"].pk, c["closed"].pk}
    assert listed(is_open="false") == {c["resolved"].pk, c["closed"].pk}
    assert c["paused"].pk in listed(is_open="true") and c["closed"].pk not in listed(is_open="true")
    assert listed(assignee=d.desk.pk) == {special.pk} == listed(mine="true")
    assert special.pk not in listed(assignee="null")
    assert listed(requester=d.other_person.pk) == {special.pk}
    assert listed(priority=1) == {special.pk}
    assert listed(system=skais.pk) == {special.pk}
    assert listed(category="access") == {special.pk}
    assert listed(channel="email") == {special.pk}
    assert listed(tag="PAROOL") == {special.pk}
    assert listed(q="parool star") == {special.pk}
    assert listed(q=f"Tugi #{c['later'].pk}") == {c["later"].pk}
    assert listed(sla_breached="true") == {c["late"].pk}
    assert c["late"].pk not in listed(sla_breached="false")
    assert c["paused"].pk in listed(sla_breached="false")
    assert listed(queue=other_queue.pk, is_open="true", mine="true") == {special.pk}


def test_a_bad_filter_or_cursor_is_a_400_naming_it(client_for, d):
    client = client_for(d.desk)
    bad = errors(client.get(CASES, {"status": "done", "queue": 999999, "priority": 7}))
    assert set(bad) == {"status", "queue", "priority"}
    assert set(errors(client.get(CASES, {"cursor": "bm9wZQ"}))) == {"cursor"}


def test_list_queries_do_not_grow_with_rows(client_for, d):
    client = client_for(d.desk)
    skais = TargetSystemFactory(code="SKAIS2")
    tag = Tag.objects.create(name="parool")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(CASES).status_code == 200
        return len(queries)

    client.get(CASES)  # the first request also records when the token was used
    for n in range(3):
        CaseFactory(
            queue=d.queue, system=skais, assignee=d.desk, tags=[tag], sla_due=NOW + n * HOUR
        )
    few = count()
    for n in range(30):
        CaseFactory(
            queue=d.queue, system=skais, assignee=d.desk, tags=[tag], sla_due=NOW + n * HOUR
        )
        CaseFactory(queue=d.queue, status=Status.CLOSED)
    many = count()
    assert few == many
    assert many <= 20


# --- who sees what ----------------------------------------------------------------------------


def test_a_requester_sees_only_their_own_cases_and_only_public_messages(client_for, d):
    mine = _open(d)
    theirs = _open(d, actor=d.other, subject="Minu oma")
    actions.add_note(d.desk, mine, "Sisemine: kasutaja on SKAISis lukus.")
    actions.reply(d.desk, mine, "Palun proovige uuesti.")
    client = client_for(d.requester)

    assert ids(client.get(CASES)) == [mine.pk]
    assert client.get(f"{CASES}{theirs.pk}/").status_code == 404
    assert client.get(f"{CASES}{theirs.pk}/messages/").status_code == 404

    body = client.get(f"{CASES}{mine.pk}/").json()
    assert [m["kind"] for m in body["messages"]] == ["from_requester", "reply"]
    assert "Sisemine" not in json.dumps(body)
    assert body["escalations"] == []
    listed = client.get(f"{CASES}{mine.pk}/messages/").json()["results"]
    assert [m["kind"] for m in listed] == ["from_requester", "reply"]

    desk = client_for(d.desk).get(f"{CASES}{mine.pk}/").json()
    assert [m["kind"] for m in desk["messages"]] == ["from_requester", "note", "reply"]


def test_a_specialist_sees_the_cases_escalated_to_their_group_with_notes(client_for, d):
    case = _open(d)
    _open(d, subject="Teine")
    client = client_for(d.specialist)
    assert ids(client.get(CASES)) == []
    actions.escalate(
        d.desk, case, kind=Escalation.Kind.SPECIALISTS, queue=d.specialists, summary="Vaadake üle"
    )
    assert ids(client.get(CASES)) == [case.pk]
    response = client.post(f"{CASES}{case.pk}/messages/", {"body": "Andmed on korras."})
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "note"
    body = client.get(f"{CASES}{case.pk}/").json()
    assert [m["kind"] for m in body["messages"]] == ["from_requester", "note", "note"]


# --- opening cases ----------------------------------------------------------------------------


def test_a_requester_opens_a_case_for_themselves(client_for, d, mail):
    response = client_for(d.requester).post(
        CASES,
        {"subject": "  STAR   ei  laadi ", "body": "Leht jääb valgeks.", "impact": 2, "urgency": 1},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get(pk=body["id"])
    assert (case.channel, case.requester, case.subject) == ("api", d.person, "STAR ei laadi")
    assert (body["status"], body["priority"], body["queue"]) == ("new", 2, d.queue.pk)
    assert body["sla_due"] is not None
    assert [m["body"] for m in body["messages"]] == ["Leht jääb valgeks."]
    assert AuditEvent.objects.filter(action="desk.case.create", actor=d.requester).exists()


def test_the_desk_opens_a_case_for_someone_else_with_queue_and_tags(client_for, d):
    queue = QueueFactory(code="ACC", name="Ligipääsud")
    response = client_for(d.desk).post(
        CASES,
        {
            "subject": "Parool",
            "body": "Helistas: parool aegus.",
            "requester": d.other_person.pk,
            "queue": queue.pk,
            "tags": ["parool"],
            "category": "access",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["requester"], body["queue"], body["tags"]) == (
        d.other_person.pk,
        queue.pk,
        ["parool"],
    )
    assert body["category"] == "access" and body["channel"] == "api"


def test_a_requester_cannot_open_for_others_nor_choose_the_queue(client_for, d):
    client = client_for(d.requester)
    data = {"subject": "S", "body": "B"}
    assert set(errors(client.post(CASES, {**data, "requester": d.other_person.pk}))) == {
        "requester"
    }
    assert set(errors(client.post(CASES, {**data, "queue": d.queue.pk, "tags": ["x"]}))) == {
        "queue",
        "tags",
    }
    assert not Case.objects.exists()


def test_bad_input_is_refused_naming_the_fields_and_nothing_is_saved(client_for, d):
    client = client_for(d.requester)
    bad = errors(client.post(CASES, {"subject": "  ", "body": ""}, format="json"))
    assert bad["subject"] == ["Write a short subject: what is the case about?"]
    assert bad["body"] == ["Describe the question or problem."]
    bad = errors(client.post(CASES, {"subject": "x" * 301, "body": "b", "category": "wish"}))
    assert set(bad) == {"category"}  # types first: the action is not reached
    bad = errors(client.post(CASES, {"subject": "x" * 301, "body": "b"}))
    assert "at most 300 characters" in bad["subject"][0]
    assert not Case.objects.exists()


def test_a_case_with_attachments_and_their_download(client_for, d, tmp_path):
    client = client_for(d.requester)
    pdf = tmp_path / "otsus.pdf"
    pdf.write_bytes(PDF)
    with pdf.open("rb") as handle:
        response = client.post(
            CASES, {"subject": "Otsus", "body": "Vaata lisa.", "attachments": [handle]}
        )
    assert response.status_code == 201, response.content
    [attachment] = response.json()["messages"][0]["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == ("otsus.pdf", "application/pdf")
    download = client.get(attachment["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert "otsus.pdf" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]
    # Someone else's file does not exist for another requester.
    assert client_for(d.other).get(attachment["url"]).status_code == 404
    assert client_for(d.desk).get(attachment["url"]).status_code == 200


def test_oversize_and_disallowed_attachments_are_refused(client_for, d, tmp_path, settings):
    client = client_for(d.requester)
    exe = tmp_path / "arve.pdf"
    exe.write_bytes(EXE)
    with exe.open("rb") as handle:
        bad = errors(client.post(CASES, {"subject": "S", "body": "B", "attachments": [handle]}))
    assert "arve.pdf" in bad["attachments"][0] and "program" in bad["attachments"][0]
    page = tmp_path / "leht.html"
    page.write_bytes(b"<p>tere</p>")
    with page.open("rb") as handle:
        bad = errors(client.post(CASES, {"subject": "S", "body": "B", "attachments": [handle]}))
    assert "not accepted" in bad["attachments"][0]
    settings.TUGI_MAX_ATTACHMENT_BYTES = 10
    big = tmp_path / "suur.pdf"
    big.write_bytes(PDF + b"0" * 100)
    with big.open("rb") as handle:
        bad = errors(client.post(CASES, {"subject": "S", "body": "B", "attachments": [handle]}))
    assert "too large" in bad["attachments"][0]
    assert not Case.objects.exists() and not Attachment.objects.exists()


def test_an_internal_notes_file_is_not_the_requesters(client_for, d, tmp_path):
    case = _open(d)
    note = actions.add_note(d.desk, case, "Logi", attachments=[IncomingFile("logi.txt", b"x")])
    attachment = note.attachments.get()
    url = reverse("api-attachment-detail", kwargs={"pk": attachment.pk})
    assert client_for(d.requester).get(url).status_code == 404
    assert client_for(d.desk).get(url).status_code == 200


# --- messages and changes ---------------------------------------------------------------------


def test_the_desk_replies_and_the_requester_answers(
    client_for, d, mail, django_capture_on_commit_callbacks
):
    case = _open(d)
    desk, requester = client_for(d.desk), client_for(d.requester)
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(
            f"{CASES}{case.pk}/messages/",
            {"body": "Mis brauserit kasutate?", "set_status": "waiting_requester"},
            format="json",
        )
    assert response.status_code == 201, response.content
    reply = response.json()
    assert (reply["kind"], reply["author_name"]) == ("reply", "Kalle Kask")
    case.refresh_from_db()
    assert case.status == Status.WAITING_REQUESTER and case.sla_due is None
    assert mail.messages == [reply["id"]]

    response = requester.post(f"{CASES}{case.pk}/messages/", {"body": "Firefox."}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "from_requester"
    case.refresh_from_db()
    assert case.status == Status.OPEN and case.sla_due is not None

    assert requester.post(
        f"{CASES}{case.pk}/messages/", {"body": "x", "kind": "note"}
    ).status_code == (403)
    bad = errors(desk.post(f"{CASES}{case.pk}/messages/", {"body": " ", "kind": "reply"}))
    assert bad == {"body": ["Write the reply."]}
    bad = errors(desk.post(f"{CASES}{case.pk}/messages/", {"body": "x", "kind": "system"}))
    assert set(bad) == {"kind"}
    bad = errors(
        desk.post(
            f"{CASES}{case.pk}/messages/",
            {"body": "x", "kind": "note", "set_status": "open"},
        )
    )
    assert set(bad) == {"set_status"}


def test_a_reply_with_a_file(client_for, d, tmp_path):
    case = _open(d)
    shot = tmp_path / "juhend.png"
    shot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    with shot.open("rb") as handle:
        response = client_for(d.desk).post(
            f"{CASES}{case.pk}/messages/", {"body": "Vaadake pilti.", "attachments": [handle]}
        )
    assert response.status_code == 201, response.content
    assert [a["filename"] for a in response.json()["attachments"]] == ["juhend.png"]


def test_patch_changes_status_priority_assignee_queue_and_tags(client_for, d):
    case = _open(d)
    queue = QueueFactory(code="ACC", name="Ligipääsud")
    client = client_for(d.desk)
    response = client.patch(
        f"{CASES}{case.pk}/",
        {
            "status": "waiting_third_party",
            "impact": 1,
            "urgency": 1,
            "assignee": d.desk.pk,
            "queue": queue.pk,
            "tags": ["SKAIS", "parool"],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["assignee"], body["queue"]) == (
        "waiting_third_party",
        1,
        d.desk.pk,
        queue.pk,
    )
    assert sorted(body["tags"]) == ["SKAIS", "parool"]
    assert (
        client.patch(f"{CASES}{case.pk}/", {"assignee": None}, format="json").json()["assignee"]
        is None
    )


def test_patch_refusals(client_for, d):
    case = _open(d)
    client = client_for(d.desk)
    assert set(errors(client.patch(f"{CASES}{case.pk}/", {"priority": 1}, format="json"))) == {
        "priority"
    }
    assert set(errors(client.patch(f"{CASES}{case.pk}/", {"status": "resolved"}))) == {"status"}
    # Refused as a whole: the valid assignment before the bad status is not kept either.
    other = QueueFactory(code="ACC")
    bad = client.patch(f"{CASES}{case.pk}/", {"queue": other.pk, "status": "closed"}, format="json")
    assert set(errors(bad)) == {"status"}
    case.refresh_from_db()
    assert case.queue == d.queue
    assert client_for(d.requester).patch(f"{CASES}{case.pk}/", {"status": "open"}).status_code == (
        403
    )
    assert client.put(f"{CASES}{case.pk}/", {}).status_code == 405


def test_patch_classifies_and_routes_again(client_for, d):
    from tugi.desk.models import RoutingRule

    skais = TargetSystemFactory(code="SKAIS2")
    access_policy = SlaPolicyFactory(
        priority=4, category="access", first_response_minutes=60, resolution_minutes=480
    )
    access = QueueFactory(code="ACC", name="Ligipääsud")
    RoutingRule.objects.create(name="Access", category="access", queue=access)
    case = _open(d, module="Vana")
    client = client_for(d.desk)
    response = client.patch(
        f"{CASES}{case.pk}/",
        {"category": "access", "system": skais.pk, "module": "Pensionid"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["category"], body["system"], body["module"], body["queue"]) == (
        "access",
        skais.pk,
        "Pensionid",
        d.queue.pk,
    )
    case.refresh_from_db()
    assert case.sla_policy == access_policy
    assert body["first_response_due"] == "2025-03-12T11:00:00+02:00"  # 60 working minutes
    response = client.patch(f"{CASES}{case.pk}/", {"reroute": True}, format="json")
    assert response.json()["queue"] == access.pk
    body = client.patch(f"{CASES}{case.pk}/", {"system": None}, format="json").json()
    assert (body["system"], body["module"]) == (None, "")
    assert AuditEvent.objects.filter(action="desk.case.classify").count() == 3
    bad = client.patch(f"{CASES}{case.pk}/", {"category": "wish"}, format="json")
    assert set(errors(bad)) == {"category"}
    assert (
        client_for(d.requester)
        .patch(f"{CASES}{case.pk}/", {"category": "data"}, format="json")
        .status_code
        == 403
    )


def test_patch_links_a_case_from_an_unknown_sender_to_a_person(client_for, d):
    case = actions.create_case(
        None,
        channel=Case.Channel.EMAIL,
        subject="Parool",
        body="Tere",
        requester_email="mari@gmail.com",
    )
    client = client_for(d.desk)
    assert client.get(f"{CASES}{case.pk}/").json()["requester"] is None
    response = client.patch(f"{CASES}{case.pk}/", {"requester": d.person.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["requester"], body["requester_name"]) == (d.person.pk, "Mari Jõgi")
    event = AuditEvent.objects.get(action="desk.case.link_requester")
    assert event.subject_person_id == d.person.pk
    # Its requester sees it now.
    assert client_for(d.requester).get(f"{CASES}{case.pk}/").status_code == 200
    bad = client.patch(f"{CASES}{case.pk}/", {"requester": d.other_person.pk}, format="json")
    assert set(errors(bad)) == {"requester"}
    assert set(errors(client.patch(f"{CASES}{case.pk}/", {"requester": 0}, format="json"))) == {
        "requester"
    }


def test_resolve_rate_and_reopen(client_for, d, mail):
    case = _open(d)
    desk, requester = client_for(d.desk), client_for(d.requester)
    assert requester.post(f"{CASES}{case.pk}/resolve/", {"resolution": "x"}).status_code == 403
    bad = errors(requester.post(f"{CASES}{case.pk}/rating/", {"score": 5}))
    # The case's status refuses the rating: the error names that field, not "case".
    assert set(bad) == {"status"} and "resolved" in bad["status"][0]
    assert set(errors(desk.post(f"{CASES}{case.pk}/resolve/", {"resolution": " "}))) == {
        "resolution"
    }

    response = desk.post(f"{CASES}{case.pk}/resolve/", {"resolution": "Parandatud."})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"
    assert errors(desk.post(f"{CASES}{case.pk}/resolve/", {"resolution": "Veel."}))["status"]

    assert desk.post(f"{CASES}{case.pk}/rating/", {"score": 5}).status_code == 403
    assert set(errors(requester.post(f"{CASES}{case.pk}/rating/", {"score": 6}))) == {"score"}
    response = requester.post(f"{CASES}{case.pk}/rating/", {"score": 4, "comment": "Kiire!"})
    assert response.status_code == 200, response.content
    assert (response.json()["score"], response.json()["comment"]) == (4, "Kiire!")
    assert requester.get(f"{CASES}{case.pk}/").json()["rating"]["score"] == 4

    response = requester.post(f"{CASES}{case.pk}/reopen/", {"reason": "Ikka ei tööta."})
    assert response.status_code == 200 and response.json()["status"] == "open"


def test_rating_refusals_name_the_field_that_refuses(client_for, d, clock, mail):
    case = _open(d)
    requester = client_for(d.requester)
    bad = errors(requester.post(f"{CASES}{case.pk}/rating/", {"score": 9}))
    assert set(bad) == {"score"}
    actions.resolve(d.desk, case, resolution="Parandatud.")
    clock.shift(datetime.timedelta(days=31))
    bad = errors(requester.post(f"{CASES}{case.pk}/rating/", {"score": 4}))
    assert set(bad) == {"resolved_at"} and "30 days" in bad["resolved_at"][0]
    assert not Rating.objects.filter(case=case).exists()
    assert not AuditEvent.objects.filter(action="desk.case.rate").exists()


def test_escalate_to_a_third_party(client_for, d, mail):
    case = _open(d)
    client = client_for(d.desk)
    bad = errors(client.post(f"{CASES}{case.pk}/escalate/", {"kind": "third_party"}))
    assert set(bad) == {"summary"}
    bad = errors(
        client.post(f"{CASES}{case.pk}/escalate/", {"kind": "third_party", "summary": "Palun"})
    )
    assert set(bad) == {"party_email"}
    response = client.post(
        f"{CASES}{case.pk}/escalate/",
        {
            "kind": "third_party",
            "party_name": "Arendaja OÜ",
            "party_email": "tugi@arendaja.ee",
            "summary": "Palun vaadake viga 500.",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["party_email"] == "tugi@arendaja.ee"
    body = client.get(f"{CASES}{case.pk}/").json()
    assert body["status"] == "waiting_third_party"
    assert [e["kind"] for e in body["escalations"]] == ["third_party"]
    assert client_for(d.requester).post(f"{CASES}{case.pk}/escalate/", {}).status_code == 403


def test_detail_queries_do_not_grow_with_messages(client_for, d):
    case = _open(d)
    client = client_for(d.desk)
    client.get(f"{CASES}{case.pk}/")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{CASES}{case.pk}/").status_code == 200
        return len(queries)

    actions.reply(d.desk, case, "Üks")
    few = count()
    for n in range(10):
        actions.add_note(
            d.desk,
            case,
            f"Märge {n}",
            attachments=[IncomingFile(f"l{n}.txt", b"x")],
        )
        actions.reply(d.desk, case, f"Vastus {n}")
    assert count() == few <= 15


# --- the OpenAPI document ---------------------------------------------------------------------


def test_the_document_lists_the_desk_resources(anon):
    schema = json.loads(anon.get(reverse("api-schema")).content)
    paths = schema["paths"]
    assert set(paths["/api/v1/cases/"]) == {"get", "post"}
    assert set(paths["/api/v1/cases/{id}/"]) == {"get", "patch"}
    assert set(paths["/api/v1/cases/{id}/messages/"]) == {"get", "post"}
    for name in ("resolve", "escalate", "rating", "reopen"):
        assert set(paths[f"/api/v1/cases/{{id}}/{name}/"]) == {"post"}
    assert set(paths["/api/v1/attachments/{id}/"]) == {"get"}
    params = {p["name"] for p in paths["/api/v1/cases/"]["get"]["parameters"]}
    assert {"queue", "status", "assignee", "requester", "priority", "system", "category"} <= params
    assert {"tag", "sla_breached", "q", "cursor", "page_size"} <= params
    upload = paths["/api/v1/cases/{id}/messages/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    components = schema["components"]["schemas"]
    # The detail's status refers to the list's enum, which must exist under that name.
    assert "CaseStatusEnum" in components
    assert components["CaseDetail"]["properties"]["status"]["allOf"] == [
        {"$ref": "#/components/schemas/CaseStatusEnum"}
    ]
    assert {"messages", "escalations", "rating"} <= set(components["CaseDetail"]["properties"])


def test_the_written_out_representations_equal_drfs(client_for, d, rf):
    """The serializers answer with hand-written dicts (for speed); DRF's own field-by-field
    representation of the same objects must be identical."""
    from rest_framework import serializers
    from rest_framework.request import Request

    from tugi.api import desk as api

    case = _open(
        d,
        actor=d.desk,
        requester=d.person,
        tags=["parool", "SKAIS"],
        attachments=[IncomingFile("logi.txt", b"rida")],
    )
    actions.reply(d.desk, case, "Vaatame.")
    actions.escalate(
        d.desk, case, kind=Escalation.Kind.SPECIALISTS, queue=d.specialists, summary="Palun"
    )
    actions.resolve(d.desk, case, resolution="Tehtud.")
    actions.rate(d.requester, case, score=5, comment="Aitäh")
    request = Request(rf.get("/"))
    request.user = d.desk
    view = api.CaseViewSet(request=request, format_kwarg=None, action="retrieve", kwargs={})
    detail = view._detail(case.pk)
    context = {"request": request}

    def drf(serializer_class, instance) -> dict:
        serializer = serializer_class(context=context)
        return serializers.ModelSerializer.to_representation(serializer, instance)

    def fast(serializer_class, instance) -> dict:
        return serializer_class(context=context).to_representation(instance)

    assert fast(api.CaseSerializer, detail) == drf(api.CaseSerializer, detail)
    assert fast(api.CaseDetailSerializer, detail) == drf(api.CaseDetailSerializer, detail)
    for message in detail.shown_messages:
        assert fast(api.MessageSerializer, message) == drf(api.MessageSerializer, message)
        for attachment in message.attachments.all():
            assert fast(api.AttachmentSerializer, attachment) == drf(
                api.AttachmentSerializer, attachment
            )
    [escalation] = detail.shown_escalations
    assert fast(api.EscalationSerializer, escalation) == drf(api.EscalationSerializer, escalation)
    assert fast(api.RatingSerializer, detail.shown_rating) == drf(
        api.RatingSerializer, detail.shown_rating
    )
    listed = client_for(d.desk).get(CASES).json()["results"][0]
    assert listed == fast(api.CaseSerializer, detail)
    assert set(listed) == set(api.CaseSerializer.Meta.fields)


# --- opening cases in a batch -------------------------------------------------------------------

BATCH = CASES + "batch/"


def test_the_desk_opens_a_batch_in_order_with_one_insert_of_each_kind(
    client_for, d, mail, django_capture_on_commit_callbacks
):
    queue = QueueFactory(code="ACC", name="Ligipääsud")
    cases = [
        {"subject": "Parool aegus", "body": "Ei pääse sisse.", "requester": d.other_person.pk},
        {
            "subject": "STAR aeglane",
            "body": "Otsing kestab minuteid.",
            "requester_email": "Teadmata@Example.ee",
            "queue": queue.pk,
            "tags": ["STAR", "jõudlus"],
            "impact": 1,
            "urgency": 1,
        },
        {"subject": "Väljatrükk tühi", "body": "Tühi PDF.", "requester": d.person.pk},
    ]
    client = client_for(d.desk)
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        response = client.post(BATCH, {"cases": cases}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    opened = Case.objects.filter(pk__in=[row["id"] for row in body]).order_by("id")
    assert [c.subject for c in opened] == ["Parool aegus", "STAR aeglane", "Väljatrükk tühi"]
    assert [row["reference"] for row in body] == [f"Tugi #{c.pk}" for c in opened]
    first, second, third = opened
    assert (first.requester, first.queue, first.channel) == (d.other_person, d.queue, "api")
    assert (second.requester, second.requester_email) == (None, "teadmata@example.ee")
    assert (second.queue, second.priority, body[1]["priority"]) == (queue, 1, 1)
    assert sorted(second.tags.values_list("name", flat=True)) == ["STAR", "jõudlus"]
    assert third.requester == d.person and third.first_response_due is not None
    assert [c.messages.get().body for c in opened] == [c["body"] for c in cases]
    events = AuditEvent.objects.filter(action="desk.case.create", actor=d.desk)
    assert sorted(int(e.object_id) for e in events) == [c.pk for c in opened]
    assert {e.subject_person_id for e in events} == {d.other_person.pk, None, d.person.pk}
    assert mail.acks == [c.pk for c in opened]
    # One insert per kind whatever the batch's size: cases, messages, tag links, audit events.
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    tables = sorted(sql.split('"')[1] for sql in inserts)
    assert tables == sorted(
        ["desk_case", "desk_message", "desk_case_tags", "core_auditevent", "desk_tag", "desk_tag"]
    )
    from tugi.core.audit import verify_chain

    assert verify_chain().ok


def test_a_batch_with_one_bad_case_opens_none_and_names_position_and_field(client_for, d, mail):
    client = client_for(d.desk)
    good = {"subject": "Parool", "body": "Aegus.", "requester": d.person.pk}
    # Wrong types and choices are found first, for every case of the batch.
    shape = errors(
        client.post(
            BATCH,
            {"cases": [good, {**good, "category": "soov"}, {**good, "impact": 9}]},
            format="json",
        )
    )
    assert set(shape) == {"1.category", "2.impact"}
    # Then the ids and what the desk checks of every case.
    bad = errors(
        client.post(
            BATCH,
            {
                "cases": [
                    good,
                    {"subject": " ", "body": "", "requester": d.person.pk},
                    {**good, "requester": 999_999},
                ]
            },
            format="json",
        )
    )
    assert bad == {"2.requester": ["No person has this id."]}
    bad = errors(
        client.post(
            BATCH,
            {"cases": [good, {"subject": " ", "body": ""}, {**good, "tags": ["x" * 51]}]},
            format="json",
        )
    )
    assert set(bad) == {"1.subject", "1.body", "1.requester", "2.tags"}
    assert bad["1.subject"] == ["Write a short subject: what is the case about?"]
    assert not Case.objects.exists() and not mail.acks
    assert not AuditEvent.objects.filter(action="desk.case.create").exists()


def test_a_batch_must_have_one_to_the_most_cases(client_for, d, settings):
    client = client_for(d.desk)
    assert errors(client.post(BATCH, {"cases": []}, format="json")) == {
        "cases": ["Send at least one case."]
    }
    many = [{"subject": "S", "body": "B", "requester": d.person.pk}] * (actions.MAX_BATCH + 1)
    assert "cases" in errors(client.post(BATCH, {"cases": many}, format="json"))
    assert "cases" in errors(client.post(BATCH, {"cases": "kõik"}, format="json"))
    assert not Case.objects.exists()


def test_only_the_desk_opens_batches(client_for, d):
    one = {"cases": [{"subject": "S", "body": "B", "requester": d.person.pk}]}
    for user in (d.requester, d.specialist):
        assert client_for(user).post(BATCH, one, format="json").status_code == 403
    assert not Case.objects.exists()


def test_the_action_refuses_attachments_in_a_batch(d):
    spec = actions.NewCase(
        channel=Case.Channel.API,
        subject="Kuvatõmmis",
        body="Vaata lisa.",
        requester=d.person,
        attachments=[IncomingFile("a.pdf", PDF)],
    )
    with pytest.raises(actions.ValidationError) as raised:
        actions.create_cases(d.desk, [spec])
    assert set(raised.value.message_dict) == {"0.attachments"}
    assert not Case.objects.exists()
