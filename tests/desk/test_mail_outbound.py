"""Mail out: threading headers, stable Message-IDs, language, what is never sent, failures."""

import smtplib
import socket
from email import message_from_bytes, policy

import pytest
from django.core import mail as django_mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail.backends.base import BaseEmailBackend

from tests.desk.factories import CaseFactory, QueueFactory
from tests.desk.mail_support import MARI, PDF, configure, huey_immediate, make_mail
from tests.factories import PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.desk import actions
from tugi.desk.mail import outbound, tasks
from tugi.desk.mail.inbound import process_raw
from tugi.desk.models import Case, Escalation, Message

pytestmark = pytest.mark.django_db

ROOT = "<root.1@sotsiaalkindlustusamet.ee>"


@pytest.fixture(autouse=True)
def _mail_settings(settings, tmp_path):
    configure(settings, tmp_path)
    with huey_immediate():
        yield


@pytest.fixture
def agent(db):
    return make_user("agent", AppRole.DESK_AGENT)


@pytest.fixture
def case(db):
    """A case that came by mail from Mari: its thread root is her first mail."""
    QueueFactory(code="DESK")
    PersonFactory(first_name="Mari", last_name="Maasikas", email=MARI)
    row = process_raw(
        make_mail(message_id=ROOT, subject="SKAIS2 ei avane"), mailbox="test", uid="1"
    )
    return row.case


def reply(agent, case, text, capture, **kwargs) -> tuple[Message, django_mail.EmailMessage]:
    before = len(django_mail.outbox)
    with capture(execute=True):
        message = actions.reply(agent, case, text, **kwargs)
    message.refresh_from_db()
    (sent,) = django_mail.outbox[before:]
    return message, sent


def test_a_reply_has_a_stable_id_and_threads_under_the_requesters_mail(
    case, agent, django_capture_on_commit_callbacks
):
    message, sent = reply(agent, case, "Palun proovige uuesti.", django_capture_on_commit_callbacks)

    assert message.message_id == f"<tugi.case{case.pk}.msg{message.pk}@tugi.example>"
    assert message.sent_at is not None
    assert sent.from_email == "Tugi <tugi@tugi.example>"
    assert sent.to == [f"Mari Maasikas <{MARI}>"]
    assert sent.subject == f"[Tugi #{case.pk}] SKAIS2 ei avane"
    headers = sent.extra_headers
    assert headers["Message-ID"] == message.message_id
    assert headers["In-Reply-To"] == ROOT
    assert headers["References"] == ROOT
    assert "Auto-Submitted" not in headers  # a person wrote it
    assert headers["Content-Language"] == case.language
    assert headers["X-Loop"] == "tugi@tugi.example"


def test_later_mail_answers_the_latest_and_references_the_chain(
    case, agent, django_capture_on_commit_callbacks
):
    first, _ = reply(agent, case, "Esimene vastus", django_capture_on_commit_callbacks)
    process_raw(
        make_mail(message_id="<answer.2@sotsiaalkindlustusamet.ee>", in_reply_to=first.message_id),
        mailbox="test",
    )
    second, sent = reply(agent, case, "Teine vastus", django_capture_on_commit_callbacks)

    assert sent.extra_headers["In-Reply-To"] == "<answer.2@sotsiaalkindlustusamet.ee>"
    assert sent.extra_headers["References"].split() == [
        ROOT,
        first.message_id,
        "<answer.2@sotsiaalkindlustusamet.ee>",
    ]
    assert second.message_id != first.message_id


def test_the_mail_has_text_and_escaped_html_and_attachments(
    case, agent, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("juhend.pdf", PDF, content_type="application/pdf")

    _, sent = reply(
        agent,
        case,
        "Vaadake <script>alert(1)</script> & juhendit.",
        django_capture_on_commit_callbacks,
        attachments=[upload],
    )

    assert "Vaadake <script>alert(1)</script> & juhendit." in sent.body
    assert f"[Tugi #{case.pk}]" in sent.body  # the footer asks to keep the reference
    ((html, mimetype),) = sent.alternatives
    assert mimetype == "text/html"
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; juhendit." in html
    assert "<script>" not in html
    ((name, content, content_type),) = sent.attachments
    assert (name, content, content_type) == ("juhend.pdf", PDF, "application/pdf")
    # and it is a well-formed MIME mail with the Estonian subject intact
    parsed = message_from_bytes(sent.message().as_bytes(), policy=policy.default)
    assert parsed["Subject"] == f"[Tugi #{case.pk}] SKAIS2 ei avane"


@pytest.mark.estonian
def test_the_mail_is_in_the_cases_language(case, agent, django_capture_on_commit_callbacks):
    Case.objects.filter(pk=case.pk).update(language="et")
    _, estonian = reply(agent, case, "Tere", django_capture_on_commit_callbacks)
    Case.objects.filter(pk=case.pk).update(language="en")
    _, english = reply(agent, case, "Hello", django_capture_on_commit_callbacks)

    assert "Vastates jätke palun teemareale alles" in estonian.body
    assert "Please keep" in english.body


def test_sending_twice_sends_once_and_a_retry_reuses_the_id(
    case, agent, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "tests.desk.test_mail_outbound.FlakyBackend"
    FlakyBackend.failures = 1
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.reply(agent, case, "Vastus")
    message.refresh_from_db()
    first_id = message.message_id
    assert message.sent_at is None and first_id  # the id was set before the failed attempt

    assert outbound.send_message(message.pk).sent
    assert outbound.send_message(message.pk).reason == "already sent"

    message.refresh_from_db()
    assert message.message_id == first_id
    assert [m.extra_headers["Message-ID"] for m in FlakyBackend.sent] == [first_id]


def test_internal_notes_and_incoming_mail_are_never_sent(case, agent):
    note = actions.add_note(agent, case, "Sisemine märge: kasutaja parool on …")
    incoming = case.messages.get(kind=Message.Kind.FROM_REQUESTER)

    for message in (note, incoming):
        outcome = outbound.send_message(message.pk)
        assert not outcome.sent and "never sent" in outcome.reason
    assert django_mail.outbox == []


def test_mail_to_the_party_carries_only_the_summary_and_their_reference(
    case, agent, django_capture_on_commit_callbacks
):
    actions.add_note(agent, case, "SALAJANE märge")
    with django_capture_on_commit_callbacks(execute=True):
        escalation = actions.escalate(
            agent,
            case,
            kind=Escalation.Kind.THIRD_PARTY,
            party_name="Vendor Support",
            party_email="support@vendor.example",
            summary="Please look at the pension module.",
            external_reference="INC-4711",
        )
    (sent,) = [m for m in django_mail.outbox if m.to[0].endswith("<support@vendor.example>")]
    message = Message.objects.get(escalation=escalation)
    escalation.refresh_from_db()

    assert sent.subject == f"[Tugi #{case.pk}] SKAIS2 ei avane (your reference INC-4711)"
    assert "Please look at the pension module." in sent.body
    assert "SALAJANE" not in sent.body and "Tere! SKAIS2" not in sent.body
    # the party's thread is its own: it starts with this mail, not under the requester's
    assert escalation.thread_root == message.message_id
    assert "In-Reply-To" not in sent.extra_headers
    assert case.thread_root == ROOT


def test_a_second_mail_to_the_party_threads_under_their_reply(
    case, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        escalation = actions.escalate(
            agent,
            case,
            kind=Escalation.Kind.THIRD_PARTY,
            party_email="support@vendor.example",
            summary="First question",
        )
    first = Message.objects.get(escalation=escalation)
    process_raw(
        make_mail(
            sender="support@vendor.example",
            message_id="<v1@vendor.example>",
            in_reply_to=first.message_id,
        ),
        mailbox="test",
    )
    second = Message.objects.create(
        case=case, escalation=escalation, kind=Message.Kind.TO_PARTY, body="Follow-up"
    )

    email = outbound.build_message_mail(second)

    assert email.extra_headers["In-Reply-To"] == "<v1@vendor.example>"
    assert email.extra_headers["References"].split() == [first.message_id, "<v1@vendor.example>"]


def test_a_portal_cases_acknowledgement_starts_its_thread(db, agent):
    case = CaseFactory(queue=QueueFactory(), language="en", thread_root="")

    assert outbound.send_acknowledgement(case.pk).sent

    case.refresh_from_db()
    (ack,) = django_mail.outbox
    assert case.thread_root == ack.extra_headers["Message-ID"]
    assert "In-Reply-To" not in ack.extra_headers
    assert "we have received your message" in ack.body
    assert ack.extra_headers["X-Auto-Response-Suppress"] == "All"


# --- failures ---------------------------------------------------------------------------------


class FlakyBackend(BaseEmailBackend):
    """Refuses the first `failures` sends like a server that is down, then delivers."""

    failures = 0
    sent: list = []

    def send_messages(self, email_messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise ConnectionRefusedError(111, "Connection refused")
        FlakyBackend.sent = [*FlakyBackend.sent, *email_messages]
        return len(email_messages)


class RefusingBackend(BaseEmailBackend):
    """A server that refuses the recipient for good (550)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({"x@example.ee": (550, b"5.1.1 User unknown")})


@pytest.fixture(autouse=True)
def _reset_backends():
    FlakyBackend.failures, FlakyBackend.sent = 0, []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_failed_send_is_retried_then_recorded_for_the_desk(
    case, agent, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    settings.EMAIL_TIMEOUT = 2
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.reply(agent, case, "Vastus")

    # the task failed with retries left: Huey keeps it for later, nothing recorded yet
    message.refresh_from_db()
    assert message.sent_at is None
    assert not AuditEvent.objects.filter(action="desk.mail.failed").exists()
    with pytest.raises(outbound.TransientMailError):
        outbound.send_message(message.pk, last_attempt=False)

    outcome = outbound.send_message(message.pk, last_attempt=True)

    assert not outcome.sent and "Connection refused" in outcome.reason
    event = AuditEvent.objects.get(action="desk.mail.failed")
    assert event.object_id == str(message.pk)
    assert event.after["to"] == f"Mari Maasikas <{MARI}>"
    message.refresh_from_db()
    assert message.sent_at is None


def test_a_permanent_refusal_is_not_retried(case, agent, settings):
    settings.EMAIL_BACKEND = "tests.desk.test_mail_outbound.RefusingBackend"
    message = actions.reply(agent, case, "Vastus")

    outcome = outbound.send_message(message.pk, last_attempt=False)  # no TransientMailError

    assert not outcome.sent and "550" in outcome.reason
    assert AuditEvent.objects.filter(action="desk.mail.failed").count() == 1


def test_the_huey_task_sends_and_knows_its_last_attempt(case, agent):
    message = actions.reply(agent, case, "Vastus")

    assert tasks.send_message_task.call_local(message.pk) is True
    assert len(django_mail.outbox) == 1
    assert tasks.send_message_task.retries == tasks.SEND_RETRIES
    assert tasks.send_message_task.retry_delay == tasks.SEND_RETRY_DELAY


def test_a_case_without_an_address_is_not_mailed_and_the_desk_is_told(db, agent):
    case = CaseFactory(queue=QueueFactory(), requester=None, requester_email="")
    message = Message.objects.create(case=case, kind=Message.Kind.REPLY, body="x")

    outcome = outbound.send_message(message.pk)

    assert not outcome.sent and outcome.reason == "no recipient address"
    assert AuditEvent.objects.filter(action="desk.mail.failed").exists()
    assert not outbound.send_acknowledgement(case.pk).sent
