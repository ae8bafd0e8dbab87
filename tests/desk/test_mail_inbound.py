"""The mail intake: new cases, threading into cases and escalations, guards, dedupe, failures."""

import pytest
from django.core import mail as django_mail

from tests.desk.factories import CaseFactory, QueueFactory
from tests.desk.mail_support import (
    MARI,
    PDF,
    answering,
    configure,
    eml,
    huey_immediate,
    make_mail,
)
from tests.factories import PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.desk import actions
from tugi.desk.mail import inbound, outbound
from tugi.desk.mail.inbound import process_raw
from tugi.desk.mail.threading import acknowledgement_id
from tugi.desk.models import Attachment, Case, Escalation, InboundMail, Message

pytestmark = pytest.mark.django_db

Outcome = InboundMail.Outcome
VENDOR = "support@vendor.example"


@pytest.fixture(autouse=True)
def _mail_settings(settings, tmp_path):
    configure(settings, tmp_path)
    with huey_immediate():
        yield


@pytest.fixture
def desk_queue():
    return QueueFactory(code="DESK")


@pytest.fixture
def mari(db):
    return PersonFactory(first_name="Mari", last_name="Maasikas", email=MARI)


@pytest.fixture
def agent(db):
    return make_user("agent", AppRole.DESK_AGENT)


def intake(raw: bytes, uid: str = "") -> InboundMail:
    return process_raw(raw, mailbox="test", uid=uid)


def new_case(django_capture_on_commit_callbacks) -> Case:
    with django_capture_on_commit_callbacks(execute=True):
        row = intake(eml("thunderbird_new_case.eml"))
    assert row.outcome == Outcome.NEW_CASE, row.reason
    assert row.case is not None
    return row.case


def desk_reply(agent, case: Case, text: str, capture) -> Message:
    """The desk answers; the mail goes out after commit (Huey immediate, locmem backend)."""
    with capture(execute=True):
        message = actions.reply(agent, case, text)
    message.refresh_from_db()
    assert message.sent_at is not None
    return message


# --- new cases --------------------------------------------------------------------------------


def test_a_new_mail_becomes_a_case_of_the_known_person(
    desk_queue, mari, django_capture_on_commit_callbacks
):
    case = new_case(django_capture_on_commit_callbacks)

    assert case.channel == Case.Channel.EMAIL
    assert case.subject == "Tere! SKAIS2 pensioni moodul ei avane. Tõrge, öösel ümber käivitus ära"
    assert case.requester == mari
    assert case.language == "et"
    assert case.thread_root == "<5f1c9e2a-7d3b-4c1e-9a0f-2b6d8e4c1a77@sotsiaalkindlustusamet.ee>"
    (first,) = case.messages.all()
    assert first.kind == Message.Kind.FROM_REQUESTER
    assert first.message_id == case.thread_root
    assert "SKAIS2 pensioni moodul ei avane" in first.body
    assert first.body_html.startswith("<p>Tere!</p>")
    row = InboundMail.objects.get()
    assert row.sender == MARI and row.raw is None and row.mailbox == "test"


def test_the_new_case_is_acknowledged_once_threaded_under_the_mail(
    desk_queue, mari, django_capture_on_commit_callbacks
):
    case = new_case(django_capture_on_commit_callbacks)

    (ack,) = django_mail.outbox
    (to,) = ack.to
    assert to.endswith(f"<{MARI}>")
    assert ack.subject == f"[Tugi #{case.pk}] {case.subject}"
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    assert ack.extra_headers["Message-ID"] == acknowledgement_id(case.pk)
    assert ack.extra_headers["In-Reply-To"] == case.thread_root
    assert outbound.send_acknowledgement(case.pk).reason == "already sent"
    assert len(django_mail.outbox) == 1
    assert AuditEvent.objects.filter(action="desk.mail.acknowledged").count() == 1


def test_an_unknown_sender_gets_a_case_by_address(desk_queue):
    row = intake(make_mail(sender="Uus.Inimene@Example.EE", sender_name="Uus Inimene"))

    case = row.case
    assert case.requester is None
    assert case.requester_email == "uus.inimene@example.ee"
    assert case.requester_name == "Uus Inimene"


def test_the_same_mail_twice_is_one_case(desk_queue, mari):
    raw = eml("thunderbird_new_case.eml")

    first = intake(raw, uid="7")
    second = intake(raw, uid="8")

    assert second.pk == first.pk
    assert Case.objects.count() == 1
    assert InboundMail.objects.count() == 1


def test_mail_without_message_id_is_still_deduplicated(desk_queue):
    raw = eml("no_message_id_no_subject.eml")

    first, second = intake(raw), intake(raw)

    assert first.pk == second.pk
    assert first.message_id.startswith("<sha256.")
    assert first.case.subject == "(no subject)"
    assert Case.objects.count() == 1


def test_mail_with_only_a_subject_is_still_taken(desk_queue, mari):
    row = intake(make_mail(subject="STAR ei avane", body=""))
    assert row.outcome == Outcome.NEW_CASE
    assert row.case.messages.get().body == "(no text)"

    answer = intake(make_mail(subject=f"[Tugi #{row.case.pk}] veel üks asi", body=""))
    assert answer.outcome == Outcome.THREADED
    assert (
        answer.case.messages.order_by("-id").first().body == f"[Tugi #{row.case.pk}] veel üks asi"
    )


def test_html_only_mail_is_stored_sanitised(desk_queue):
    row = intake(eml("html_only_script.eml"))

    message = row.case.messages.get()
    assert "Tere! Kõik nupud on hallid." in message.body
    assert "<script" not in message.body_html and "javascript:" not in message.body_html
    assert "onload" not in message.body_html


def test_broken_mime_and_unknown_charset_still_make_a_case(desk_queue):
    row = intake(eml("broken_mime.eml"))

    assert row.outcome == Outcome.NEW_CASE
    assert row.case.subject == "Aruanne tõrkus"
    message = row.case.messages.get()
    assert "Aruande tõmbamine katkeb" in message.body
    # the "PDF" was not a PDF (broken base64): left out, and said so
    assert "aruanne.pdf" in message.body
    assert not Attachment.objects.exists()


# --- attachments ------------------------------------------------------------------------------


def test_good_attachments_are_kept_and_a_disguised_program_is_named_and_left_out(desk_queue):
    row = intake(eml("attachments.eml"))

    assert row.outcome == Outcome.NEW_CASE
    message = row.case.messages.get()
    (kept,) = message.attachments.all()
    assert kept.filename == "väljavõte.pdf"
    assert kept.content_type == "application/pdf"
    assert "arve.pdf" in message.body and "program" in message.body
    assert "arve.pdf" in row.reason


def test_an_oversize_attachment_is_refused_but_the_case_is_created(desk_queue, settings):
    settings.TUGI_MAX_ATTACHMENT_BYTES = 10_000
    raw = make_mail(
        attachments=[
            ("suur.pdf", "application/pdf", PDF + b"%" * 20_000),
            ("väike.pdf", "application/pdf", PDF),
        ]
    )

    row = intake(raw)

    assert row.outcome == Outcome.NEW_CASE
    message = row.case.messages.get()
    assert [a.filename for a in message.attachments.all()] == ["väike.pdf"]
    assert "“suur.pdf” is too large" in message.body
    assert "suur.pdf" in row.reason


# --- guards -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("auto_reply_exchange.eml", "Auto-Submitted: auto-replied"),
        ("vacation_x_autoreply.eml", "x-autoreply"),
        ("bounce.eml", "Return-Path: <>"),
        ("newsletter_bulk.eml", "Precedence: bulk"),
        ("no_from.eml", "no sender address"),
    ],
)
def test_automatic_and_senderless_mail_is_ignored_with_its_reason(desk_queue, fixture, reason):
    raw = eml(fixture)

    row = intake(raw)

    assert row.outcome == Outcome.IGNORED
    assert reason in row.reason
    assert bytes(row.raw) == raw  # kept: nothing is lost
    assert not Case.objects.exists()
    assert intake(raw).pk == row.pk  # and it is not looked at twice


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-generated"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"X-Autorespond": "vacation"},
        {"Return-Path": "<>"},
        {"X-Loop": "tugi@tugi.example"},
    ],
)
def test_each_loop_header_is_a_guard(desk_queue, headers):
    assert intake(make_mail(headers=headers)).outcome == Outcome.IGNORED


def test_auto_submitted_no_is_a_person(desk_queue):
    assert intake(make_mail(headers={"Auto-Submitted": "no"})).outcome == Outcome.NEW_CASE


def test_mail_from_our_own_address_is_a_loop(desk_queue):
    row = intake(make_mail(sender="TUGI@tugi.example", subject="[Tugi #1] x"))
    assert row.outcome == Outcome.IGNORED
    assert "own address" in row.reason


def test_a_sender_over_the_rate_limit_is_ignored(desk_queue, settings):
    settings.TUGI_MAIL_RATE_LIMIT = 3
    settings.TUGI_MAIL_RATE_WINDOW_MINUTES = 10

    rows = [intake(make_mail(subject=f"Kiri {n}")) for n in range(5)]

    assert [r.outcome for r in rows] == [Outcome.NEW_CASE] * 3 + [Outcome.IGNORED] * 2
    assert "rate limit: more than 3 mails" in rows[3].reason
    assert intake(make_mail(sender="teine@example.ee")).outcome == Outcome.NEW_CASE


def test_an_unusable_sender_address_is_ignored(desk_queue):
    row = intake(b"From: not an address <nobody>\r\nSubject: x\r\n\r\nbody\r\n")
    assert row.outcome == Outcome.IGNORED


# --- threading into a case --------------------------------------------------------------------


def test_thunderbird_reply_with_references_threads_into_the_case(
    desk_queue, mari, agent, django_capture_on_commit_callbacks
):
    case = new_case(django_capture_on_commit_callbacks)
    ours = desk_reply(
        agent, case, "Palun logige välja ja uuesti sisse.", django_capture_on_commit_callbacks
    )

    row = intake(answering(eml("thunderbird_reply.eml"), ours.message_id, case.pk))

    assert row.outcome == Outcome.THREADED
    assert row.case == case
    assert "matched by message-id" in row.reason
    answer = case.messages.order_by("-id").first()
    assert answer.kind == Message.Kind.FROM_REQUESTER
    assert answer.in_reply_to == ours.message_id
    assert Case.objects.count() == 1


def test_outlook_reply_with_only_in_reply_to_threads_into_the_case(
    desk_queue, agent, django_capture_on_commit_callbacks
):
    raw = make_mail(sender="juri.ounapuu@sotsiaalkindlustusamet.ee", subject="STAR aruanne")
    case = intake(raw).case
    ours = desk_reply(agent, case, "Saatke palun ekraanipilt.", django_capture_on_commit_callbacks)

    row = intake(answering(eml("outlook_reply.eml"), ours.message_id, case.pk))

    assert row.outcome == Outcome.THREADED and row.case == case
    assert "Tööriistade menüüs" in case.messages.order_by("-id").first().body


def test_a_reply_to_the_acknowledgement_threads_into_the_case(
    desk_queue, mari, django_capture_on_commit_callbacks
):
    case = new_case(django_capture_on_commit_callbacks)
    ack_id = django_mail.outbox[0].extra_headers["Message-ID"]

    row = intake(make_mail(subject="Re: vastuvõtt", in_reply_to=ack_id))

    assert row.outcome == Outcome.THREADED and row.case == case
    assert "acknowledgement" in row.reason


def test_a_made_up_acknowledgement_id_does_not_thread(desk_queue, mari):
    case = intake(make_mail()).case
    forged = f"<tugi.case{case.pk}.ack.0000000000000000@tugi.example>"

    row = intake(make_mail(sender="keegi@example.ee", in_reply_to=forged))

    assert row.outcome == Outcome.NEW_CASE and row.case != case


def test_the_subject_reference_threads_only_for_the_known_requester(desk_queue, mari):
    case = intake(make_mail()).case
    subject = f"Re: [Tugi #{case.pk}] {case.subject}"

    own = intake(make_mail(subject=subject, body="Lisainfo"))
    stranger = intake(make_mail(sender="voor@example.ee", subject=subject, body="Võõras"))

    assert own.outcome == Outcome.THREADED and own.case == case
    assert "matched by subject" in own.reason
    assert stranger.outcome == Outcome.NEW_CASE and stranger.case != case
    # the stranger's case does not carry our old reference and its Re:
    assert stranger.case.subject == case.subject


@pytest.mark.parametrize("body", ["Ikka ei tööta", ""])
def test_a_reply_to_a_resolved_case_reopens_it(desk_queue, mari, agent, body):
    case = intake(make_mail()).case
    actions.resolve(agent, case, resolution="Parandatud.")

    row = intake(make_mail(subject=f"Re: [Tugi #{case.pk}] ikka ei tööta", body=body))

    case.refresh_from_db()
    assert row.outcome == Outcome.THREADED, row.reason
    assert case.status == Case.Status.OPEN


def test_a_reply_to_a_closed_case_opens_a_follow_up(desk_queue, mari, agent):
    case = intake(make_mail()).case
    actions.resolve(agent, case, resolution="Parandatud.")
    actions.close(agent, case)

    row = intake(make_mail(subject=f"Re: [Tugi #{case.pk}] {case.subject}", body="Jälle"))

    assert row.outcome == Outcome.NEW_CASE
    assert row.case != case
    assert row.case.parent == case
    assert row.case.subject == case.subject
    assert f"follow-up of closed Tugi #{case.pk}" in row.reason


def test_mail_to_a_merged_case_lands_in_the_target(desk_queue, mari, agent):
    source = intake(make_mail(subject="Esimene")).case
    target = intake(make_mail(subject="Teine")).case
    actions.merge(agent, source, target)

    row = intake(make_mail(in_reply_to=source.thread_root, body="Vastus esimesele"))

    assert row.outcome == Outcome.THREADED and row.case == target


# --- third parties ----------------------------------------------------------------------------


@pytest.fixture
def escalation(desk_queue, mari, agent, django_capture_on_commit_callbacks):
    case = intake(make_mail()).case
    with django_capture_on_commit_callbacks(execute=True):
        escalation = actions.escalate(
            agent,
            case,
            kind=Escalation.Kind.THIRD_PARTY,
            party_name="Vendor Support",
            party_email=VENDOR,
            summary="Pensioni moodul ei avane, palun uurige.",
            external_reference="INC-4711",
        )
    escalation.refresh_from_db()
    return escalation


def test_the_partys_reply_by_message_id_is_matched_to_the_escalation(escalation):
    sent = Message.objects.get(escalation=escalation, kind=Message.Kind.TO_PARTY)
    assert sent.sent_at is not None

    row = intake(
        make_mail(
            sender=VENDOR,
            subject="RE: Fix",
            in_reply_to=sent.message_id,
            references=[sent.message_id],
            body="Fixed.",
        )
    )

    escalation.refresh_from_db()
    assert row.outcome == Outcome.PARTY_REPLY
    assert row.case == escalation.case
    assert escalation.status == Escalation.Status.ANSWERED
    reply = Message.objects.get(escalation=escalation, kind=Message.Kind.FROM_PARTY)
    assert reply.body == "Fixed." and reply.author_email == VENDOR


def test_the_partys_reply_by_their_reference_needs_their_address(escalation):
    row = intake(eml("party_reply_reference.eml"))
    spoofed = intake(
        make_mail(sender="someone@elsewhere.example", subject="INC-4711 status update")
    )

    assert row.outcome == Outcome.PARTY_REPLY
    assert "their-reference" in row.reason
    assert spoofed.outcome == Outcome.NEW_CASE


def test_the_partys_reply_with_our_subject_reference_is_matched(escalation):
    case = escalation.case
    row = intake(make_mail(sender=VENDOR, subject=f"Re: [Tugi #{case.pk}] question"))

    assert row.outcome == Outcome.PARTY_REPLY
    assert Message.objects.filter(escalation=escalation, kind=Message.Kind.FROM_PARTY).exists()


# --- failures ---------------------------------------------------------------------------------


def test_a_mail_the_desk_cannot_take_is_failed_with_its_raw_bytes(db):
    raw = make_mail(subject="Keegi ei võta vastu")  # no desk queue exists yet

    row = intake(raw)

    assert row.outcome == Outcome.FAILED
    assert "no active desk queue" in row.reason
    assert bytes(row.raw) == raw
    assert not Case.objects.exists()


def test_a_crash_in_the_action_leaves_no_half_case(desk_queue, monkeypatch):
    def boom(*args, **kwargs):
        Case.objects.create(subject="half", channel="email", queue=desk_queue)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(actions, "create_case", boom)
    raw = make_mail()

    row = intake(raw)

    assert row.outcome == Outcome.FAILED
    assert row.reason == "RuntimeError: disk on fire"
    assert bytes(row.raw) == raw
    assert not Case.objects.exists()


def test_failed_mail_can_be_retried(db):
    row = intake(make_mail(subject="Hiljem"))
    assert row.outcome == Outcome.FAILED
    QueueFactory(code="DESK")

    again = inbound.retry(row)

    assert again.pk == row.pk
    assert again.outcome == Outcome.NEW_CASE
    assert again.case.subject == "Hiljem"
    assert again.raw is None


def test_case_factory_cases_thread_by_subject_for_their_requester(desk_queue):
    case = CaseFactory(queue=desk_queue)
    row = intake(make_mail(sender=case.requester.email, subject=f"[Tugi #{case.pk}] lisa"))
    assert row.outcome == Outcome.THREADED and row.case == case
