"""Case actions: every change with its audit event, every refusal leaving nothing saved, routing,
the SLA clock through waiting and answers, cascades, merges, escalations, ratings, and mail only
after commit."""

import datetime
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError

from tests.access.factories import RoleFactory, TargetSystemFactory
from tests.desk.factories import QueueFactory, SlaPolicyFactory
from tests.factories import PersonFactory, make_user
from tugi.core.audit import verify_chain
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.desk import actions, calendar
from tugi.desk.attachments import IncomingFile
from tugi.desk.mail import outbound
from tugi.desk.models import (
    Attachment,
    Case,
    Escalation,
    Message,
    Queue,
    Rating,
    ReplyTemplate,
    RoutingRule,
    Tag,
    TimeEntry,
)
from tugi.people.models import Person

pytestmark = pytest.mark.django_db

TALLINN = ZoneInfo("Europe/Tallinn")
# A Wednesday morning in office hours (08:30–17:00), no holiday near.
NOW = datetime.datetime(2025, 3, 12, 10, 0, tzinfo=TALLINN)
HOUR = datetime.timedelta(hours=1)
PDF = b"%PDF-1.7\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 40

Status = Case.Status


@dataclass
class World:
    requester: User
    person: Person
    other: User
    other_person: Person
    desk: User
    specialist: User
    desk_queue: Queue
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
    """What the actions hand to the mail module (only ever after commit)."""
    sent = SimpleNamespace(messages=[], acks=[])
    monkeypatch.setattr(outbound, "queue_message", sent.messages.append)
    monkeypatch.setattr(outbound, "queue_acknowledgement", sent.acks.append)
    return sent


@pytest.fixture
def w(requester_user, desk_user) -> World:
    for priority, first, resolution in [(1, 30, 240), (2, 60, 480), (3, 240, 1440), (4, 480, 2400)]:
        SlaPolicyFactory(
            priority=priority, first_response_minutes=first, resolution_minutes=resolution
        )
    person = PersonFactory(first_name="Mari", last_name="Jõgi", user=requester_user)
    other = make_user("teine", AppRole.REQUESTER)
    specialist = make_user("spetsialist", AppRole.DOMAIN_SPECIALIST)
    PersonFactory(first_name="Kalle", last_name="Kask", user=desk_user)
    return World(
        requester=requester_user,
        person=person,
        other=other,
        other_person=PersonFactory(first_name="Toomas", user=other),
        desk=desk_user,
        specialist=specialist,
        desk_queue=QueueFactory(code="DESK", name="Rakendustugi", kind=Queue.Kind.DESK),
        specialists=QueueFactory(
            code="PENS",
            name="Pensionide spetsialistid",
            kind=Queue.Kind.SPECIALISTS,
            members=[specialist],
        ),
    )


def _open(w: World, actor: Any = "requester", **extra) -> Case:
    """A case opened by the requester, unless another actor (None: the mail intake) is given."""
    data = {
        "channel": Case.Channel.PORTAL,
        "subject": "SKAIS ei avane",
        "body": "Avalehel tuleb viga 500.",
    }
    data.update(extra)
    return actions.create_case(w.requester if actor == "requester" else actor, **data)


def _events(action: str | None = None):
    events = AuditEvent.objects.filter(action__startswith="desk.")
    return events.filter(action=action) if action else events


def _assert_nothing_saved() -> None:
    assert not Case.objects.exists()
    assert not Message.objects.exists()
    assert not Attachment.objects.exists()
    assert not _events().exists()


# --- creating cases ---------------------------------------------------------------------------


def test_requester_opens_a_case_routed_to_the_desk_with_sla_and_acknowledgement(
    w, mail, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = _open(w, attachments=[IncomingFile("viga.pdf", PDF, "application/pdf")])
    case.refresh_from_db()
    assert case.requester == w.person
    assert (case.status, case.queue, case.priority) == (Status.NEW, w.desk_queue, 4)
    assert case.sla_policy.priority == 4
    assert case.sla_clock_started_at == NOW
    # 480 working minutes: 7 hours today (10:00–17:00) and one tomorrow from 08:30.
    assert case.first_response_due == datetime.datetime(2025, 3, 13, 9, 30, tzinfo=TALLINN)
    assert case.sla_due == case.first_response_due
    first = case.messages.get()
    assert (first.kind, first.author, first.body) == (
        Message.Kind.FROM_REQUESTER,
        w.requester,
        "Avalehel tuleb viga 500.",
    )
    assert first.author_email == w.person.email
    assert first.attachments.get().filename == "viga.pdf"
    event = _events("desk.case.create").get()
    assert event.actor == w.requester
    assert event.subject_person_id == w.person.pk
    assert event.after["status"] == "new"
    assert event.after["message"] == first.pk
    assert mail.acks == [case.pk]
    assert mail.messages == []  # the requester's own words are not mailed back
    assert verify_chain().ok


def test_acknowledgement_is_sent_only_after_commit(w, mail, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case = _open(w)
    assert mail.acks == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert mail.acks == [case.pk]


def test_desk_logs_a_phone_case_for_someone_with_queue_and_tags(w, mail):
    queue = QueueFactory(code="ACCESS", name="Ligipääsud")
    case = _open(
        w,
        actor=w.desk,
        channel=Case.Channel.PHONE,
        requester=w.other_person,
        queue=queue,
        tags=["parool", "Parool ", "  SKAIS  "],
        impact=1,
        urgency=2,
        category=Case.Category.ACCESS,
    )
    assert (case.queue, case.requester, case.channel) == (queue, w.other_person, "phone")
    assert case.priority == 2
    assert sorted(case.tags.values_list("name", flat=True)) == ["SKAIS", "parool"]
    first = case.messages.get()
    assert first.author is None  # logged on the requester's behalf; the audit says by whom
    assert _events("desk.case.create").get().actor == w.desk


def test_mail_intake_links_a_known_sender_and_keeps_an_unknown_one_by_address(w):
    known = _open(
        w,
        actor=None,
        channel=Case.Channel.EMAIL,
        requester_email=w.person.email.upper(),
        message_id="<abc@example.ee>",
    )
    assert known.requester == w.person
    assert (known.requester_email, known.thread_root) == ("", "<abc@example.ee>")
    assert known.messages.get().message_id == "<abc@example.ee>"
    stranger = _open(
        w,
        actor=None,
        channel=Case.Channel.EMAIL,
        requester_email="Vadim@Partner.ee",
        requester_name="Vadim",
    )
    assert stranger.requester is None
    assert (stranger.requester_email, stranger.requester_name) == ("vadim@partner.ee", "Vadim")
    assert _events("desk.case.create").filter(actor__isnull=True).count() == 2


def test_empty_subject_and_body_are_refused_with_clear_messages(w):
    with pytest.raises(ValidationError) as exc:
        _open(w, subject="  ", body="\n")
    assert set(exc.value.message_dict) == {"subject", "body"}
    assert "subject" in exc.value.message_dict["subject"][0]
    _assert_nothing_saved()


def test_bad_choices_are_named(w):
    with pytest.raises(ValidationError) as exc:
        _open(w, actor=w.desk, requester=w.person, channel="fax", category="x", impact=7)
    assert {"channel", "category", "impact"} <= set(exc.value.message_dict)
    _assert_nothing_saved()


def test_a_requester_is_required(w):
    with pytest.raises(ValidationError) as exc:
        _open(w, actor=w.desk)
    assert "requester" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _open(w, actor=None, channel="email", requester_email="not-an-address")
    assert "requester_email" in exc.value.message_dict
    _assert_nothing_saved()


def test_a_requester_cannot_open_cases_for_others_or_by_phone(w):
    with pytest.raises(PermissionDenied):
        _open(w, requester=w.other_person)
    with pytest.raises(PermissionDenied):
        _open(w, actor=AnonymousUser())
    with pytest.raises(ValidationError) as exc:
        _open(w, channel=Case.Channel.PHONE, queue=w.desk_queue, tags=["x"])
    assert {"channel", "queue", "tags"} <= set(exc.value.message_dict)
    _assert_nothing_saved()


def test_without_an_active_desk_queue_the_error_says_so(w):
    Queue.objects.filter(kind=Queue.Kind.DESK).update(active=False)
    with pytest.raises(ValidationError) as exc:
        _open(w)
    assert "no active desk queue" in exc.value.message_dict["queue"][0]
    _assert_nothing_saved()


def test_attachments_are_checked_before_anything_is_saved(w, settings):
    with pytest.raises(ValidationError) as exc:
        _open(w, attachments=[IncomingFile("arve.pdf", EXE, "application/pdf")])
    assert "arve.pdf" in exc.value.message_dict["attachments"][0]
    settings.TUGI_MAX_ATTACHMENT_BYTES = 10
    with pytest.raises(ValidationError) as exc:
        _open(w, attachments=[IncomingFile("otsus.pdf", PDF)])
    assert "too large" in exc.value.message_dict["attachments"][0]
    with pytest.raises(ValidationError):
        _open(w, attachments=[IncomingFile("leht.html", b"<p>hi</p>")])
    _assert_nothing_saved()


def test_the_module_takes_the_spelling_of_the_systems_roles_but_free_text_is_kept(w):
    skais = TargetSystemFactory(code="SKAIS2")
    RoleFactory(system=skais, module="Pensionid")
    assert _open(w, system=skais, module="  pensionid ").module == "Pensionid"
    assert _open(w, system=skais, module="Toetused").module == "Toetused"


# --- routing ----------------------------------------------------------------------------------


def test_routing_by_system_category_and_folded_keyword_first_rule_wins(w):
    skais, star = TargetSystemFactory(code="SKAIS2"), TargetSystemFactory(code="STAR")
    q_skais, q_access, q_jogi, q_late = (QueueFactory() for _ in range(4))
    agent = make_user("agent", AppRole.DESK_AGENT)
    RoutingRule.objects.create(order=10, name="SKAIS", system=skais, queue=q_skais, assignee=agent)
    RoutingRule.objects.create(order=20, name="Access", category="access", queue=q_access)
    RoutingRule.objects.create(order=30, name="Jõgeva", keyword="Jõgeva", queue=q_jogi)
    RoutingRule.objects.create(order=40, name="Later", keyword="jogeva", queue=q_late)
    RoutingRule.objects.create(order=5, name="Off", system=star, queue=q_late, active=False)

    by_system = _open(w, system=skais, category="access")
    assert (by_system.queue, by_system.assignee) == (q_skais, agent)
    assert _events("desk.case.create").last().after["routing_rule"] is not None
    assert _open(w, system=star, category="access").queue == q_access
    # "jogeva" typed without õ finds the rule written with it, and the other way round.
    assert _open(w, subject="Probleem", body="JOGEVA büroos ei tööta").queue == q_jogi
    assert _open(w, subject="Jõgeva kontor").queue == q_jogi
    assert _open(w, system=star).queue == w.desk_queue  # the inactive rule is skipped


def test_a_rules_assignee_who_can_no_longer_work_is_not_assigned(w):
    queue = QueueFactory()
    RoutingRule.objects.create(name="R", keyword="skais", queue=queue, assignee=w.other)
    case = _open(w)
    assert (case.queue, case.assignee) == (queue, None)


# --- classifying a case, and linking an unknown sender to a person ---------------------------


def test_a_new_category_brings_its_sla_policy_counting_the_time_used(w, clock):
    access = SlaPolicyFactory(
        priority=4, category="access", first_response_minutes=60, resolution_minutes=480
    )
    case = _open(w)
    assert case.sla_policy.category == ""
    clock.shift(datetime.timedelta(minutes=30))
    actions.classify(w.desk, case, category=Case.Category.ACCESS)
    case.refresh_from_db()
    assert (case.category, case.sla_policy) == ("access", access)
    # 30 working minutes are used: 30 of 60 are left to the first response, 450 of 480 to the
    # resolution (390 of them until 17:00 today, the last 60 from 08:30 tomorrow).
    now = NOW + datetime.timedelta(minutes=30)
    assert case.first_response_due == now + datetime.timedelta(minutes=30)
    assert case.resolution_due == datetime.datetime(2025, 3, 13, 9, 30, tzinfo=TALLINN)
    assert case.sla_due == case.first_response_due
    event = _events("desk.case.classify").get()
    assert event.actor == w.desk
    assert event.subject_person_id == w.person.pk
    assert (event.before["category"], event.after["category"]) == ("question", "access")
    assert (event.before["sla_policy_id"], event.after["sla_policy_id"]) != (None, None)
    assert event.after["sla_policy_id"] == access.pk
    assert "queue_id" not in event.after  # not rerouted: the case stays where it was
    assert verify_chain().ok


def test_classifying_the_application_and_module(w):
    skais, star = TargetSystemFactory(code="SKAIS2"), TargetSystemFactory(code="STAR")
    RoleFactory(system=skais, module="Pensionid")
    case = _open(w, system=star, module="Aruanded")
    # A module typed as the application's roles spell it is stored in their spelling.
    actions.classify(w.desk, case, system=skais, module="  pensionid ")
    case.refresh_from_db()
    assert (case.system, case.module, case.category) == (skais, "Pensionid", "question")
    # A new application without a module: the old module named a part of the old application.
    actions.classify(w.desk, case, system=star)
    case.refresh_from_db()
    assert (case.system, case.module) == (star, "")
    actions.classify(w.desk, case, system=None, module="Üldine")
    case.refresh_from_db()
    assert (case.system, case.module) == (None, "Üldine")
    events = list(_events("desk.case.classify").order_by("id"))
    assert [e.after for e in events] == [
        {"system_id": skais.pk, "module": "Pensionid"},
        {"system_id": star.pk, "module": ""},
        {"system_id": None, "module": "Üldine"},
    ]
    # Nothing changed: no event.
    actions.classify(w.desk, case, system=None, module="Üldine", category="question")
    assert _events("desk.case.classify").count() == 3


def test_classify_refusals_leave_the_case_as_it_was(w):
    retired = TargetSystemFactory(code="OLD", active=False)
    case = _open(w)
    with pytest.raises(PermissionDenied):
        actions.classify(w.requester, case, category=Case.Category.ACCESS)
    with pytest.raises(ValidationError) as exc:
        actions.classify(w.desk, case, category="wish", module="x" * 101)
    assert set(exc.value.message_dict) == {"category", "module"}
    with pytest.raises(ValidationError) as exc:
        actions.classify(w.desk, case, system=retired)
    assert set(exc.value.message_dict) == {"system"}
    actions.resolve(w.desk, case, resolution="Tehtud.")
    actions.close(w.desk, case)
    with pytest.raises(ValidationError) as exc:
        actions.classify(w.desk, case, category=Case.Category.ACCESS)
    assert set(exc.value.message_dict) == {"status"}
    case.refresh_from_db()
    assert (case.category, case.system) == ("question", None)
    assert not _events("desk.case.classify").exists()


def test_classify_with_reroute_sends_the_case_where_the_rules_send_it_now(w):
    access_queue = QueueFactory(code="ACCESS", name="Ligipääsud")
    agent = make_user("agent", AppRole.DESK_AGENT)
    rule = RoutingRule.objects.create(
        order=10, name="Access", category="access", queue=access_queue, assignee=agent
    )
    case = _open(w)
    actions.assign(w.desk, case, assignee=w.desk)
    # Without reroute the desk's placement stays.
    actions.classify(w.desk, case, category=Case.Category.ACCESS)
    case.refresh_from_db()
    assert (case.queue, case.assignee) == (w.desk_queue, w.desk)
    actions.classify(w.desk, case, reroute=True)
    case.refresh_from_db()
    assert (case.queue, case.assignee) == (access_queue, agent)
    event = _events("desk.case.classify").order_by("id").last()
    assert event.after["routing_rule"] == rule.pk
    assert (event.after["queue_id"], event.after["assignee_id"]) == (access_queue.pk, agent.pk)
    # Back to a question: no rule matches, the default queue takes it; the assignee works
    # cases, so they may stay.
    actions.classify(w.desk, case, category=Case.Category.QUESTION, reroute=True)
    case.refresh_from_db()
    assert (case.queue, case.assignee) == (w.desk_queue, agent)
    assert _events("desk.case.classify").order_by("id").last().after["routing_rule"] is None


def test_the_desk_links_a_case_from_an_unknown_sender_to_the_person(w, mail):
    case = _open(
        w,
        actor=None,
        channel=Case.Channel.EMAIL,
        requester_email="mari.joggi@gmail.com",
        requester_name="Mari Jõgi",
    )
    assert case.requester is None
    assert not actions.can_view(w.requester, case)
    with pytest.raises(PermissionDenied):
        actions.link_requester(w.requester, case, w.person)
    actions.link_requester(w.desk, case, w.person)
    case.refresh_from_db()
    assert case.requester == w.person
    # The address the mail came from stays, so that more mail from it finds the case.
    assert case.requester_email == "mari.joggi@gmail.com"
    assert actions.can_view(w.requester, case)
    event = _events("desk.case.link_requester").get()
    assert (event.actor, event.subject_person_id) == (w.desk, w.person.pk)
    assert (event.before, event.after) == ({"requester_id": None}, {"requester_id": w.person.pk})
    # The same person again changes nothing; another person is refused.
    actions.link_requester(w.desk, case, w.person)
    with pytest.raises(ValidationError) as exc:
        actions.link_requester(w.desk, case, w.other_person)
    assert set(exc.value.message_dict) == {"requester"}
    case.refresh_from_db()
    assert case.requester == w.person
    assert _events("desk.case.link_requester").count() == 1
    # Replies now go to the person's address.
    assert outbound._requester_address(case)[1] == w.person.email


def test_a_known_sender_is_found_by_address_on_the_unique_index(w):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        case = _open(
            w, actor=None, channel=Case.Channel.EMAIL, requester_email=w.person.email.upper()
        )
    assert case.requester == w.person
    lookups = [q["sql"] for q in queries if 'FROM "people_person"' in q["sql"]]
    assert lookups, "the sender was not looked up"
    # An exact match on the stored (lower-cased) address, without the name ordering that made
    # both databases walk the name index.
    assert all("UPPER" not in sql and "ORDER BY" not in sql for sql in lookups)


# --- the requester's messages and the SLA pause -----------------------------------------------


def test_waiting_for_the_requester_pauses_the_sla_and_their_answer_resumes_it(w, clock):
    case = _open(w)
    clock.shift(HOUR)
    actions.reply(w.desk, case, "Mis brauserit kasutate?", set_status=Status.WAITING_REQUESTER)
    case.refresh_from_db()
    assert case.status == Status.WAITING_REQUESTER
    assert (case.sla_clock_started_at, case.sla_due) == (None, None)
    assert case.sla_used_seconds == 3600
    assert case.first_responded_at == NOW + HOUR
    resolution_due_before = case.resolution_due

    clock.shift(3 * HOUR)  # the paused time does not count
    actions.add_requester_message(case, body="Firefox.", author=w.requester)
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert case.sla_clock_started_at == NOW + 4 * HOUR
    # The due time moves by the three working hours the clock stood still.
    assert case.resolution_due == calendar.add_working_seconds(resolution_due_before, 3 * 3600)
    assert case.sla_due == case.resolution_due
    event = _events("desk.case.requester_message").get()
    assert event.before["status"] == "waiting_requester"
    assert event.after["status"] == "open"


def test_mail_from_the_requester_reopens_a_resolved_case(w):
    case = _open(w)
    actions.resolve(w.desk, case, resolution="Tühjendage vahemälu.")
    message = actions.add_requester_message(
        case, body="Ei aidanud.", author_email=w.person.email, message_id="<r2@x.ee>"
    )
    case.refresh_from_db()
    assert (case.status, case.resolved_at) == (Status.OPEN, None)
    assert case.sla_clock_started_at is not None
    assert (message.author, message.message_id) == (None, "<r2@x.ee>")


def test_a_closed_case_is_not_reopened_by_mail(w):
    case = _open(w)
    actions.resolve(w.desk, case, resolution="Tehtud.")
    actions.close(w.desk, case)
    count = Message.objects.count()
    with pytest.raises(ValidationError) as exc:
        actions.add_requester_message(case, body="Veel üks küsimus")
    assert set(exc.value.message_dict) == {"status"}
    assert "closed" in exc.value.message_dict["status"][0]
    assert Message.objects.count() == count
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    # The intake opens a follow-up linked to the closed case instead.
    follow_up = _open(w, actor=None, channel="email", requester_email=w.person.email, parent=case)
    assert follow_up.parent == case


def test_mail_to_a_merged_case_lands_in_the_case_it_was_merged_into(w):
    source, target = _open(w), _open(w, subject="Sama viga")
    actions.merge(w.desk, source, target)
    message = actions.add_requester_message(source, body="Lisainfo")
    assert message.case == target


def test_a_requester_cannot_write_to_someone_elses_case(w):
    case = _open(w)
    with pytest.raises(PermissionDenied):
        actions.add_requester_message(case, body="Minu jutt", author=w.other)
    assert case.messages.count() == 1


# --- replies and notes ------------------------------------------------------------------------


def test_reply_records_first_response_opens_the_case_and_is_mailed_on_commit(
    w, mail, django_capture_on_commit_callbacks, clock
):
    case = _open(w)
    clock.shift(HOUR / 2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = actions.reply(w.desk, case, "Uurime.")
    assert mail.messages == []
    for callback in callbacks:
        callback()
    assert mail.messages == [message.pk]
    case.refresh_from_db()
    assert (case.status, case.first_responded_at) == (Status.OPEN, NOW + HOUR / 2)
    assert case.sla_due == case.resolution_due
    assert (message.kind, message.author) == (Message.Kind.REPLY, w.desk)
    event = _events("desk.case.reply").get()
    assert event.before["status"] == "new"
    assert event.after["message"] == message.pk
    assert "Uurime" not in str(event.after)  # message texts stay out of the audit log


def test_reply_template_placeholders_are_filled_in(w):
    case = _open(w)
    template = ReplyTemplate.objects.create(
        name="Tere",
        body="Tere, {requester_name}!\nTeie pöördumine {case_reference} ({case_subject}) "
        "on vastu võetud. {{märkus}}\n{agent_name}",
    )
    message = actions.reply(w.desk, case, "", template=template)
    assert message.body == (
        f"Tere, Mari Jõgi!\nTeie pöördumine Tugi #{case.pk} (SKAIS ei avane) "
        "on vastu võetud. {märkus}\nKalle Kask"
    )


def test_an_unknown_placeholder_is_refused_and_nothing_is_saved(w, mail):
    case = _open(w)
    template = ReplyTemplate.objects.create(name="Vigane", body="Tere, {nimi}! {case_reference}")
    with pytest.raises(ValidationError) as exc:
        actions.reply(w.desk, case, "", template=template)
    text = exc.value.message_dict["body"][0]
    assert "{nimi}" in text
    assert "{requester_name}" in text
    case.refresh_from_db()
    assert case.first_responded_at is None
    assert case.messages.count() == 1
    assert not _events("desk.case.reply").exists()


def test_reply_is_the_desks_and_refuses_bad_input(w):
    case = _open(w)
    with pytest.raises(PermissionDenied):
        actions.reply(w.requester, case, "Vastan ise")
    with pytest.raises(ValidationError) as exc:
        actions.reply(w.desk, case, " ", set_status=Status.RESOLVED)
    assert {"body", "set_status"} <= set(exc.value.message_dict)
    assert case.messages.count() == 1


def test_an_internal_note_is_never_mailed(w, mail, django_capture_on_commit_callbacks):
    case = _open(w)
    with django_capture_on_commit_callbacks(execute=True):
        note = actions.add_note(w.desk, case, "Sisemine: kasutaja konto on lukus.")
    assert note.kind == Message.Kind.NOTE
    assert not note.is_public
    assert mail.messages == []
    assert _events("desk.case.note").get().after["message"] == note.pk


def test_a_specialist_notes_only_cases_escalated_to_their_group_and_answers_it(w):
    case = _open(w)
    with pytest.raises(PermissionDenied):
        actions.add_note(w.specialist, case, "Vaatan")
    assert not actions.can_view(w.specialist, case)
    escalation = actions.escalate(
        w.desk, case, kind="specialists", queue=w.specialists, summary="Kas arvestus on õige?"
    )
    assert actions.can_view(w.specialist, case)
    note = actions.add_note(w.specialist, case, "Arvestus on õige.")
    assert note.escalation == escalation
    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.ANSWERED
    with pytest.raises(PermissionDenied):
        actions.reply(w.specialist, case, "Vastan ise")
    actions.close_escalation(w.desk, escalation)
    with pytest.raises(PermissionDenied):
        actions.add_note(w.specialist, case, "Veel")


# --- assignment, status, priority, tags, time -------------------------------------------------


def test_assign_to_a_queue_member_or_an_agent(w):
    case = _open(w)
    member = make_user("liige", AppRole.REQUESTER)
    queue = QueueFactory(members=[member])
    actions.assign(w.desk, case, queue=queue, assignee=member)
    case.refresh_from_db()
    assert (case.queue, case.assignee) == (queue, member)
    event = _events("desk.case.assign").get()
    assert event.before == {"queue_id": w.desk_queue.pk, "assignee_id": None}
    assert event.after == {"queue_id": queue.pk, "assignee_id": member.pk}
    # Moving to a queue the assignee does not belong to leaves the case unassigned.
    actions.assign(w.desk, case, queue=w.desk_queue)
    case.refresh_from_db()
    assert (case.queue, case.assignee) == (w.desk_queue, None)
    actions.assign(w.desk, case, assignee=w.desk)
    case.refresh_from_db()
    assert case.assignee == w.desk


def test_assign_to_a_non_member_is_refused(w):
    case = _open(w)
    with pytest.raises(ValidationError) as exc:
        actions.assign(w.desk, case, assignee=w.other)
    assert "not a member" in exc.value.message_dict["assignee"][0]
    with pytest.raises(ValidationError):
        actions.assign(w.desk, case, queue=QueueFactory(active=False))
    with pytest.raises(PermissionDenied):
        actions.assign(w.requester, case, assignee=w.desk)
    case.refresh_from_db()
    assert (case.queue, case.assignee) == (w.desk_queue, None)
    assert not _events("desk.case.assign").exists()


def test_set_status_pauses_and_resumes_and_refuses_resolving(w, clock):
    case = _open(w)
    actions.set_status(w.desk, case, Status.WAITING_REQUESTER, reason="Ootame ekraanipilti")
    case.refresh_from_db()
    assert case.sla_clock_started_at is None
    event = _events("desk.case.set_status").get()
    assert event.after["reason"] == "Ootame ekraanipilti"
    clock.shift(HOUR)
    actions.set_status(w.desk, case, Status.OPEN)
    case.refresh_from_db()
    assert case.sla_clock_started_at == NOW + HOUR
    with pytest.raises(ValidationError):
        actions.set_status(w.desk, case, Status.RESOLVED)


def test_set_priority_recomputes_the_sla(w):
    case = _open(w)
    due_low = case.sla_due
    actions.set_priority(w.desk, case, impact=1, urgency=1)
    case.refresh_from_db()
    assert case.priority == 1
    assert case.sla_policy.priority == 1
    assert case.sla_due == NOW + datetime.timedelta(minutes=30)
    assert case.sla_due < due_low
    event = _events("desk.case.set_priority").get()
    assert (event.before["priority"], event.after["priority"]) == (4, 1)
    with pytest.raises(ValidationError):
        actions.set_priority(w.desk, case, impact=0, urgency=1)


def test_set_tags_creates_and_reuses_tags(w):
    Tag.objects.create(name="SKAIS")
    case = _open(w)
    actions.set_tags(w.desk, case, ["skais", "parool", "", "Parool"])
    assert sorted(case.tags.values_list("name", flat=True)) == ["SKAIS", "parool"]
    assert Tag.objects.count() == 2
    event = _events("desk.case.set_tags").get()
    assert (event.before, event.after) == ({"tags": []}, {"tags": ["SKAIS", "parool"]})
    with pytest.raises(ValidationError):
        actions.set_tags(w.desk, case, ["x" * 51])


def test_log_time(w):
    case = _open(w)
    entry = actions.log_time(w.desk, case, 25, "Telefonikõne")
    assert (entry.minutes, entry.user, entry.note) == (25, w.desk, "Telefonikõne")
    assert _events("desk.case.log_time").get().after["minutes"] == 25
    for bad in (0, -5, 24 * 60 + 1, 1.5):
        with pytest.raises(ValidationError):
            actions.log_time(w.desk, case, bad, "")
    with pytest.raises(PermissionDenied):
        actions.log_time(w.requester, case, 5, "")
    assert TimeEntry.objects.count() == 1


# --- resolving --------------------------------------------------------------------------------


def test_resolve_replies_stops_the_sla_and_mails_on_commit(
    w, mail, clock, django_capture_on_commit_callbacks
):
    case = _open(w)
    clock.shift(2 * HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.resolve(w.desk, case, resolution="Parool lähtestatud.")
    case.refresh_from_db()
    assert (case.status, case.resolved_at) == (Status.RESOLVED, NOW + 2 * HOUR)
    assert (case.sla_clock_started_at, case.sla_due) == (None, None)
    assert case.first_responded_at == NOW + 2 * HOUR
    assert (message.kind, message.body) == (Message.Kind.REPLY, "Parool lähtestatud.")
    assert mail.messages == [message.pk]
    assert _events("desk.case.resolve").get().after["status"] == "resolved"
    with pytest.raises(ValidationError):
        actions.resolve(w.desk, case, resolution="Uuesti")
    with pytest.raises(ValidationError):
        actions.resolve(w.desk, _open(w), resolution="  ")


def test_resolving_a_parent_resolves_its_open_children_with_one_message_each(
    w, mail, django_capture_on_commit_callbacks
):
    parent = _open(w, actor=w.desk, requester=w.person, subject="SKAIS maas")
    children = [_open(w, actor=w.desk, requester=w.other_person) for _ in range(2)]
    done = _open(w)
    grandchild = _open(w)
    for child in [*children, done]:
        actions.link_parent(w.desk, child, parent)
    actions.link_parent(w.desk, grandchild, children[0])
    actions.resolve(w.desk, done, resolution="Eraldi lahendatud")
    before = {c.pk: c.messages.count() for c in [*children, done, grandchild]}
    mail.messages.clear()

    with django_capture_on_commit_callbacks(execute=True):
        actions.resolve(w.desk, parent, resolution="Server taaskäivitatud.")

    for child in [*children, grandchild]:
        child.refresh_from_db()
        assert child.status == Status.RESOLVED
        assert child.messages.count() == before[child.pk] + 1
        last = child.messages.last()
        assert last.kind == Message.Kind.REPLY
        assert "Server taaskäivitatud." in last.body
        assert f"Tugi #{parent.pk}" in last.body
    assert done.messages.count() == before[done.pk]  # already resolved: untouched
    assert len(mail.messages) == 4  # the parent's and the three cascaded replies
    cascaded = _events("desk.case.resolve").filter(basis=f"resolved with Tugi #{parent.pk}")
    assert cascaded.count() == 3
    assert verify_chain().ok


def test_close_reopen_and_auto_close(w, clock):
    case, old = _open(w), _open(w)
    with pytest.raises(ValidationError):
        actions.close(w.desk, case)  # not resolved yet
    actions.resolve(w.desk, case, resolution="Tehtud")
    actions.close(w.desk, case)
    case.refresh_from_db()
    assert (case.status, case.closed_at) == (Status.CLOSED, NOW)
    with pytest.raises(ValidationError):
        actions.reopen(w.requester, case, "Ei ole tehtud")  # closed: only the desk
    actions.reopen(w.desk, case, "Kasutaja helistas")
    case.refresh_from_db()
    assert (case.status, case.closed_at, case.resolved_at) == (Status.OPEN, None, None)
    assert case.sla_clock_started_at == NOW
    with pytest.raises(ValidationError):
        actions.reopen(w.desk, case, "")

    actions.resolve(w.desk, old, resolution="Tehtud")
    clock.shift(datetime.timedelta(days=15))
    actions.resolve(w.desk, case, resolution="Nüüd tehtud")
    closed = actions.close_resolved_before(
        NOW + datetime.timedelta(days=15) - datetime.timedelta(days=14)
    )
    assert closed == 1
    old.refresh_from_db()
    case.refresh_from_db()
    assert (old.status, case.status) == (Status.CLOSED, Status.RESOLVED)
    auto = _events("desk.case.close").get(object_id=str(old.pk))
    assert (auto.actor, auto.basis) == (None, "auto-close")


def test_the_requester_may_reopen_their_resolved_case_but_not_anothers(w):
    case = _open(w)
    actions.resolve(w.desk, case, resolution="Tehtud")
    with pytest.raises(PermissionDenied):
        actions.reopen(w.other, case, "Minu oma")
    actions.reopen(w.requester, case, "Viga kordub")
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert case.messages.last().kind == Message.Kind.FROM_REQUESTER


# --- links, duplicates, merges ----------------------------------------------------------------


def test_link_parent_refuses_self_and_cycles(w):
    a, b, c = _open(w), _open(w), _open(w)
    actions.link_parent(w.desk, b, a)
    actions.link_parent(w.desk, c, b)
    with pytest.raises(ValidationError) as exc:
        actions.link_parent(w.desk, a, c)
    assert "cycle" in exc.value.message_dict["parent"][0]
    with pytest.raises(ValidationError):
        actions.link_parent(w.desk, a, a)
    a.refresh_from_db()
    assert a.parent is None
    assert _events("desk.case.link_parent").count() == 2
    actions.link_parent(w.desk, c, None)
    c.refresh_from_db()
    assert c.parent is None


def test_mark_duplicate_resolves_with_a_pointer_to_the_original(w, mail):
    original, duplicate = _open(w), _open(w)
    message = actions.mark_duplicate(w.desk, duplicate, original)
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.duplicate_of) == (Status.RESOLVED, original)
    assert f"Tugi #{original.pk}" in message.body
    assert message.kind == Message.Kind.REPLY
    assert _events("desk.case.mark_duplicate").get().after["duplicate_of"] == original.pk
    with pytest.raises(ValidationError):
        actions.mark_duplicate(w.desk, original, original)


def test_merge_moves_history_in_time_order_and_closes_the_source(w, clock):
    target = _open(w, subject="Sihtjuhtum")
    clock.shift(HOUR)
    source = actions.create_case(
        w.desk,
        channel="phone",
        subject="Sama viga",
        body="Helistas",
        requester=w.other_person,
        attachments=[IncomingFile("pilt.pdf", PDF)],
        tags=["kiire"],
    )
    clock.shift(HOUR)
    actions.reply(w.desk, target, "Vastus sihtjuhtumile")
    actions.log_time(w.desk, source, 10, "")
    actions.merge(w.desk, source, target)

    source.refresh_from_db()
    assert (source.status, source.merged_into, source.closed_at) == (
        Status.CLOSED,
        target,
        NOW + 2 * HOUR,
    )
    assert not source.messages.exists()
    times = list(target.messages.values_list("created_at", flat=True))
    assert times == sorted(times)
    bodies = [m.body for m in target.messages.all()]
    assert bodies[:3] == ["Avalehel tuleb viga 500.", "Helistas", "Vastus sihtjuhtumile"]
    note = target.messages.last()
    assert note.kind == Message.Kind.NOTE
    assert f"Tugi #{source.pk}" in note.body
    assert w.other_person.email in note.body
    assert Attachment.objects.get().message.case == target
    assert TimeEntry.objects.get().case == target
    assert list(target.tags.values_list("name", flat=True)) == ["kiire"]
    assert _events("desk.case.merge").get().after["merged_into"] == target.pk
    assert _events("desk.case.merge_in").get().after["merged_from"] == source.pk


def test_merge_into_itself_or_into_a_closed_case_is_refused(w):
    a, b = _open(w), _open(w)
    with pytest.raises(ValidationError):
        actions.merge(w.desk, a, a)
    actions.resolve(w.desk, b, resolution="Tehtud")
    actions.close(w.desk, b)
    with pytest.raises(ValidationError) as exc:
        actions.merge(w.desk, a, b)
    assert "closed" in exc.value.message_dict["target"][0]
    a.refresh_from_db()
    assert (a.status, a.merged_into) == (Status.NEW, None)
    assert a.messages.count() == 1
    assert not _events("desk.case.merge").exists()


# --- escalations ------------------------------------------------------------------------------


def test_third_party_escalation_mails_only_the_summary_and_waits(
    w, mail, django_capture_on_commit_callbacks, clock
):
    case = _open(w)
    actions.add_note(w.desk, case, "SALAJANE: kasutaja on juhi sugulane")
    mail.messages.clear()
    due = NOW + datetime.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        escalation = actions.escalate(
            w.desk,
            case,
            kind="third_party",
            party_name="Tarnija AS",
            party_email="Tugi@Tarnija.ee",
            summary="Palun kontrollige SKAIS liidese viga 500.",
            due_at=due,
        )
    sent = Message.objects.get(pk=mail.messages[0])
    assert len(mail.messages) == 1
    assert (sent.kind, sent.escalation) == (Message.Kind.TO_PARTY, escalation)
    assert sent.body == "Palun kontrollige SKAIS liidese viga 500."
    assert "SALAJANE" not in sent.body
    assert not sent.is_public
    assert escalation.party_email == "tugi@tarnija.ee"
    case.refresh_from_db()
    assert case.status == Status.WAITING_THIRD_PARTY
    assert case.sla_clock_started_at is not None  # the SLA keeps running
    assert _events("desk.escalation.create").get().after["due_at"] is not None

    actions.set_external_reference(w.desk, escalation, "INC-4711", "https://tarnija.ee/INC-4711")
    clock.shift(HOUR)
    reply = actions.record_party_reply(
        escalation,
        body="Parandatud.",
        author_email="tugi@tarnija.ee",
        message_id="<p1@tarnija.ee>",
    )
    assert (reply.kind, reply.escalation) == (Message.Kind.FROM_PARTY, escalation)
    escalation.refresh_from_db()
    case.refresh_from_db()
    assert escalation.status == Escalation.Status.ANSWERED
    assert escalation.external_reference == "INC-4711"
    assert case.status == Status.OPEN
    assert _events("desk.escalation.party_reply").get().actor is None
    actions.close_escalation(w.desk, escalation)
    escalation.refresh_from_db()
    assert (escalation.status, escalation.closed_at) == ("closed", NOW + HOUR)
    with pytest.raises(ValidationError):
        actions.close_escalation(w.desk, escalation)


def test_escalation_refusals_name_the_fields(w):
    case = _open(w)
    with pytest.raises(ValidationError) as exc:
        actions.escalate(w.desk, case, kind="third_party", summary=" ")
    assert {"party_email", "summary"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        actions.escalate(w.desk, case, kind="specialists", queue=w.desk_queue, summary="x")
    assert "not a specialist group" in exc.value.message_dict["queue"][0]
    with pytest.raises(ValidationError) as exc:
        actions.escalate(
            w.desk,
            case,
            kind="third_party",
            party_email="a@b.ee",
            summary="x",
            due_at=NOW - HOUR,
            external_url="javascript:alert(1)",
        )
    assert {"due_at", "external_url"} <= set(exc.value.message_dict)
    with pytest.raises(PermissionDenied):
        actions.escalate(w.requester, case, kind="specialists", queue=w.specialists, summary="x")
    assert not Escalation.objects.exists()
    case.refresh_from_db()
    assert case.status == Status.NEW


def test_a_party_reply_to_a_case_waiting_for_two_parties_keeps_it_waiting(w):
    case = _open(w)
    first = actions.escalate(w.desk, case, kind="third_party", party_email="a@a.ee", summary="A?")
    actions.escalate(w.desk, case, kind="third_party", party_email="b@b.ee", summary="B?")
    actions.record_party_reply(first, body="A vastus", author_email="a@a.ee", message_id="<a>")
    case.refresh_from_db()
    assert case.status == Status.WAITING_THIRD_PARTY


# --- ratings ----------------------------------------------------------------------------------


def _resolved(w: World) -> Case:
    case = _open(w)
    actions.resolve(w.desk, case, resolution="Tehtud")
    return case


def test_the_requester_rates_a_resolved_case_and_may_change_it(w):
    case = _resolved(w)
    rating = actions.rate(w.requester, case, score=4, comment="Kiire")
    assert (rating.score, rating.comment) == (4, "Kiire")
    actions.rate(w.requester, case, score=5)
    assert Rating.objects.get(case=case).score == 5
    events = list(_events("desk.case.rate").order_by("id"))
    assert [e.after["score"] for e in events] == [4, 5]
    assert events[1].before == {"score": 4, "has_comment": True}


def test_one_click_rating_with_a_signed_token(w, clock):
    case = _resolved(w)
    token = actions.make_rating_token(case)
    actions.rate(None, case, score=3, token=token)
    event = _events("desk.case.rate").get()
    assert (event.actor, event.basis) == (None, "rating link")
    other = _resolved(w)
    with pytest.raises(PermissionDenied):
        actions.rate(None, other, score=3, token=token)  # made for another case
    with pytest.raises(PermissionDenied):
        actions.rate(None, case, score=3, token=token + "x")
    clock.shift(datetime.timedelta(days=31))
    with pytest.raises(PermissionDenied):
        actions.rate(None, case, score=1, token=token)
    with pytest.raises(ValidationError) as exc:
        actions.rate(w.requester, case, score=1)  # the rating period is over
    # The refusal names the case's field that refuses it, not the score that was fine.
    assert set(exc.value.message_dict) == {"resolved_at"}
    assert "30 days" in exc.value.message_dict["resolved_at"][0]
    assert Rating.objects.get().score == 3


def test_rating_refusals(w):
    open_case, case = _open(w), _resolved(w)
    for score in (0, 6, "5", True):
        with pytest.raises(ValidationError) as exc:
            actions.rate(w.requester, case, score=score)
        assert "score" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        actions.rate(w.requester, open_case, score=5)
    assert set(exc.value.message_dict) == {"status"}
    assert "resolved" in exc.value.message_dict["status"][0]
    with pytest.raises(PermissionDenied):
        actions.rate(w.other, case, score=1)
    with pytest.raises(PermissionDenied):
        actions.rate(w.desk, case, score=5)
    assert not Rating.objects.exists()
    assert not _events("desk.case.rate").exists()


# --- who sees what ----------------------------------------------------------------------------


def test_a_requester_sees_and_acts_only_on_their_own_cases(w):
    mine = _open(w)
    theirs = _open(w, actor=w.other)
    assert actions.can_view(w.requester, mine)
    assert not actions.can_view(w.requester, theirs)
    assert actions.can_view(w.desk, theirs)
    assert not actions.can_view(None, mine)
    with pytest.raises(PermissionDenied):
        actions.require_view(w.requester, theirs)
    for act in (
        lambda: actions.add_requester_message(theirs, body="x", author=w.requester),
        lambda: actions.reopen(w.requester, theirs, "x"),
        lambda: actions.set_status(w.requester, theirs, Status.OPEN),
        lambda: actions.resolve(w.requester, theirs, resolution="x"),
        lambda: actions.add_note(w.requester, theirs, "x"),
        lambda: actions.merge(w.requester, theirs, mine),
        lambda: actions.link_parent(w.requester, theirs, mine),
    ):
        with pytest.raises(PermissionDenied):
            act()


def test_merging_a_case_into_its_own_descendant_keeps_the_tree_free_of_cycles(w):
    top, source = _open(w), _open(w)
    middle, target, sibling = _open(w), _open(w), _open(w)
    actions.link_parent(w.desk, source, top)
    actions.link_parent(w.desk, middle, source)
    actions.link_parent(w.desk, target, middle)
    actions.link_parent(w.desk, sibling, source)
    actions.merge(w.desk, source, target)
    for case in (middle, target, sibling):
        case.refresh_from_db()
    # The target's ancestor takes the source's place; the other child goes under the target.
    assert (middle.parent, target.parent, sibling.parent) == (top, middle, target)


def test_a_reply_cannot_set_the_status_of_a_resolved_case(w):
    case = _resolved(w)
    with pytest.raises(ValidationError) as exc:
        actions.reply(w.desk, case, "Veel üks asi", set_status=Status.WAITING_REQUESTER)
    assert "reopen" in exc.value.message_dict["set_status"][0]
    actions.reply(w.desk, case, "Veel üks asi")  # a plain reply to a resolved case is fine
    case.refresh_from_db()
    assert case.status == Status.RESOLVED


def test_the_mail_intake_never_loses_mail_for_its_subject_or_text(w):
    long = _open(w, actor=None, channel="email", requester_email="a@b.ee", subject="x" * 400)
    assert len(long.subject) == 300
    assert long.subject.endswith("…")
    empty = _open(w, actor=None, channel="email", requester_email="a@b.ee", subject="", body="")
    assert empty.subject == "(no subject)"
    assert empty.messages.get().body == "(no text)"
    with pytest.raises(ValidationError) as exc:
        _open(w, subject="x" * 301)  # a person typing is told
    assert "300" in exc.value.message_dict["subject"][0]
