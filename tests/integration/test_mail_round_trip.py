"""The desk's mail with real servers on loopback: pymap (IMAP) in, aiosmtpd (SMTP) out.

Mail in → case → reply out → the requester's answer → the same case; a third party's mail out
and their answers back into the escalation; polling twice, crashing between commit and marking,
and a burst of mail: no mail is lost and none is fetched into two cases.
"""

import email.utils

import pytest
from django.core.management import call_command

from tests.desk.factories import QueueFactory
from tests.desk.mail_support import DESK_ADDRESS, MARI, configure, eml, huey_immediate, make_mail
from tests.factories import PersonFactory, make_user
from tests.integration.mailservers import ImapServer, SmtpSink
from tugi.core.roles import AppRole
from tugi.desk import actions
from tugi.desk.mail import imap
from tugi.desk.models import Case, Escalation, InboundMail, Message

pytestmark = pytest.mark.django_db(transaction=True)

Outcome = InboundMail.Outcome
VENDOR = "support@vendor.example"


@pytest.fixture
def desk(settings, tmp_path, smtp_settings, imap_folder):
    """Tugi wired to both servers; Huey runs tasks at once, so mail goes out on commit."""
    configure(settings, tmp_path)
    QueueFactory(code="DESK")
    PersonFactory(first_name="Mari", last_name="Maasikas", email=MARI)
    with huey_immediate():
        yield make_user("agent", AppRole.DESK_AGENT)


def _reply_to(delivered, *, sender: str, body: str) -> bytes:
    """What a mail client sends when its user answers the delivered mail."""
    original = delivered.message
    references = [*str(original.get("References", "")).split(), original["Message-ID"]]
    return make_mail(
        sender=sender,
        subject=f"Re: {original['Subject'].strip()}",
        body=body,
        in_reply_to=original["Message-ID"],
        references=references,
    )


def test_round_trip_mail_in_reply_out_answer_into_the_same_case(
    desk, imap_server: ImapServer, imap_folder: str, smtp_server: SmtpSink
):
    agent = desk
    imap_server.append(imap_folder, eml("thunderbird_new_case.eml"))

    first_poll = imap.poll()

    assert first_poll.outcomes == {Outcome.NEW_CASE: 1}
    case = Case.objects.get()
    assert case.subject.startswith("Tere! SKAIS2 pensioni moodul ei avane.")
    assert case.requester.email == MARI
    # the acknowledgement went out through the real SMTP server, threaded under Mari's mail
    (ack,) = smtp_server.to(MARI)
    assert ack.message["Auto-Submitted"] == "auto-replied"
    assert ack.message["In-Reply-To"] == case.thread_root
    assert ack.mail_from == DESK_ADDRESS

    reply = actions.reply(agent, case, "Tere, Mari! Palun logige välja ja uuesti sisse.")

    reply.refresh_from_db()
    delivered = smtp_server.to(MARI)[-1]
    sent = delivered.message
    assert (
        sent["Message-ID"] == reply.message_id == f"<tugi.case{case.pk}.msg{reply.pk}@tugi.example>"
    )
    assert sent["In-Reply-To"] == case.thread_root
    assert sent["References"] == case.thread_root
    # UTF-8 subject intact (Django folds it onto a continuation line: strip that whitespace)
    assert sent["Subject"].strip() == f"[Tugi #{case.pk}] {case.subject}"
    assert "Palun logige välja" in sent.get_body(("plain",)).get_content()
    assert reply.sent_at is not None

    # Mari answers from her mail client; the mail arrives in the desk's mailbox
    imap_server.append(imap_folder, _reply_to(delivered, sender=MARI, body="Aitäh, nüüd töötab!"))
    second_poll = imap.poll()

    assert second_poll.outcomes == {Outcome.THREADED: 1}
    assert Case.objects.count() == 1
    answer = case.messages.order_by("-id").first()
    assert answer.kind == Message.Kind.FROM_REQUESTER
    assert answer.body == "Aitäh, nüüd töötab!"
    assert answer.in_reply_to == reply.message_id

    # every mail is marked once committed; another poll finds nothing and changes nothing
    assert imap_server.uids(imap_folder, "UNSEEN") == []
    assert imap.poll().fetched == 0
    assert InboundMail.objects.count() == 2


def test_third_party_mail_out_and_their_answers_back_into_the_escalation(
    desk, imap_server: ImapServer, imap_folder: str, smtp_server: SmtpSink
):
    agent = desk
    imap_server.append(imap_folder, make_mail(subject="Pensioni arvutus vale"))
    imap.poll()
    case = Case.objects.get()

    escalation = actions.escalate(
        agent,
        case,
        kind=Escalation.Kind.THIRD_PARTY,
        party_name="Vendor Support",
        party_email=VENDOR,
        summary="The pension calculation is wrong for case X. Please investigate.",
        external_reference="INC-4711",
    )

    (to_vendor,) = smtp_server.to(VENDOR)
    assert to_vendor.message["Subject"].strip() == (
        f"[Tugi #{case.pk}] Pensioni arvutus vale (your reference INC-4711)"
    )
    text = to_vendor.message.get_body(("plain",)).get_content()
    assert "Please investigate." in text and "Tere!" not in text  # only what we ask

    # their answer by Message-ID, and a later status mail that carries only their reference
    imap_server.append(
        imap_folder,
        _reply_to(to_vendor, sender=VENDOR, body="We are on it."),
        make_mail(
            sender=VENDOR,
            sender_name="Vendor Support",
            subject="INC-4711: fix deployed",
            body="Deployed.",
        ),
    )
    result = imap.poll()

    assert result.outcomes == {Outcome.PARTY_REPLY: 2}
    replies = Message.objects.filter(escalation=escalation, kind=Message.Kind.FROM_PARTY)
    assert [m.body for m in replies.order_by("id")] == ["We are on it.", "Deployed."]
    reasons = sorted(
        InboundMail.objects.filter(outcome=Outcome.PARTY_REPLY).values_list("reason", flat=True)
    )
    assert reasons == [
        "third party's reply, matched by message-id",
        "third party's reply, matched by their-reference",
    ]
    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.ANSWERED
    # nothing from the party reached the requester
    assert all("Deployed" not in m.content.decode() for m in smtp_server.to(MARI))


def test_a_crash_after_commit_before_marking_fetches_again_but_never_doubles(
    desk, imap_server: ImapServer, imap_folder: str, monkeypatch
):
    imap_server.append(imap_folder, *(make_mail(subject=f"Kiri {n}") for n in range(3)))

    def crash(*args, **kwargs):
        raise ConnectionResetError("the IMAP server went away")

    monkeypatch.setattr(imap, "_mark_done", crash)
    with pytest.raises(ConnectionResetError):
        imap.poll()
    assert Case.objects.count() == 3
    assert len(imap_server.uids(imap_folder, "UNSEEN")) == 3  # committed but not marked

    monkeypatch.undo()
    again = imap.poll()

    assert again.fetched == 3
    assert again.outcomes == {Outcome.NEW_CASE: 3}  # the rows of the first poll, not new ones
    assert Case.objects.count() == 3
    assert InboundMail.objects.count() == 3
    assert imap_server.uids(imap_folder, "UNSEEN") == []


def test_a_mail_whose_row_cannot_be_written_stays_unseen_for_the_next_poll(
    desk, imap_server: ImapServer, imap_folder: str, monkeypatch
):
    imap_server.append(imap_folder, make_mail(subject="Oota"), make_mail(subject="Kohe"))
    real = imap.process_raw

    def database_down(raw, **kwargs):
        if b"Oota" in raw:
            raise ConnectionError("database is down")
        return real(raw, **kwargs)

    monkeypatch.setattr(imap, "process_raw", database_down)
    first = imap.poll()
    monkeypatch.undo()

    assert first.outcomes == {Outcome.NEW_CASE: 1} and first.left_for_next_poll == 1
    assert len(imap_server.uids(imap_folder, "UNSEEN")) == 1
    assert imap.poll().outcomes == {Outcome.NEW_CASE: 1}
    assert sorted(Case.objects.values_list("subject", flat=True)) == ["Kohe", "Oota"]


def test_ignored_and_broken_mail_is_marked_too_and_kept(
    desk, imap_server: ImapServer, imap_folder: str
):
    imap_server.append(
        imap_folder,
        eml("auto_reply_exchange.eml"),
        eml("bounce.eml"),
        eml("broken_mime.eml"),
        eml("no_from.eml"),
    )

    result = imap.poll()

    assert result.outcomes == {Outcome.IGNORED: 3, Outcome.NEW_CASE: 1}
    assert imap_server.uids(imap_folder, "UNSEEN") == []
    ignored = InboundMail.objects.filter(outcome=Outcome.IGNORED)
    assert all(row.raw for row in ignored)
    assert Case.objects.get().subject == "Aruanne tõrkus"


def test_processed_mail_can_be_moved_to_a_folder(
    desk, imap_server: ImapServer, imap_folder: str, settings
):
    settings.TUGI_IMAP_PROCESSED_FOLDER = f"{imap_folder}-done"
    imap_server.append(imap_folder, make_mail(subject="Üks"), make_mail(subject="Kaks"))
    # someone opened one in a mail client first: with a processed folder it is still taken
    with imap_server.mailbox(imap_folder) as box:
        box.flag(box.uids()[:1], "\\Seen", True)

    result = imap.poll()

    assert result.outcomes == {Outcome.NEW_CASE: 2}
    assert imap_server.uids(imap_folder) == []
    assert len(imap_server.uids(settings.TUGI_IMAP_PROCESSED_FOLDER)) == 2


def test_the_fetchmail_command_polls_the_mailbox(
    desk, imap_server: ImapServer, imap_folder: str, capsys
):
    imap_server.append(imap_folder, make_mail(subject="Käsurealt"))

    call_command("fetchmail")

    assert "fetched 1: new_case 1" in capsys.readouterr().out
    assert Case.objects.get().subject == "Käsurealt"


def test_a_burst_of_mail_becomes_one_case_each(
    desk, imap_server: ImapServer, imap_folder: str, smtp_server: SmtpSink
):
    count = 200
    mails = [
        make_mail(
            sender=f"isik{n}@sotsiaalkindlustusamet.ee",
            sender_name=f"Isik {n}",
            subject=f"Pöördumine {n}: STAR ei salvesta",
            message_id=email.utils.make_msgid(idstring=f"burst{n}", domain="ska.example"),
        )
        for n in range(count)
    ]
    imap_server.append(imap_folder, *mails)

    result = imap.poll()
    again = imap.poll()

    assert result.outcomes == {Outcome.NEW_CASE: count}
    assert again.fetched == 0
    assert Case.objects.count() == count
    assert InboundMail.objects.filter(outcome=Outcome.NEW_CASE).count() == count
    assert len(smtp_server.messages) == count  # one acknowledgement each
