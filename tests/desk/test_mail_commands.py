"""`tugi fetchmail` and the Huey tasks around the mail intake."""

import shutil

import pytest
from django.core.management import CommandError, call_command

from tests.desk.factories import QueueFactory
from tests.desk.mail_support import FIXTURES, configure
from tugi.desk.mail import imap, tasks
from tugi.desk.mail.imap import PollResult
from tugi.desk.models import Case, InboundMail

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_settings(settings, tmp_path):
    configure(settings, tmp_path)
    settings.TUGI_IMAP_HOST = ""


def test_fetchmail_reads_saved_mail_files_once(tmp_path, capsys):
    QueueFactory(code="DESK")
    folder = tmp_path / "saved"
    folder.mkdir()
    for name in ("thunderbird_new_case.eml", "auto_reply_exchange.eml", "html_only_script.eml"):
        shutil.copy(FIXTURES / name, folder / name)

    call_command("fetchmail", "--file", str(folder))
    call_command("fetchmail", "--file", str(folder))  # the same files again: nothing new

    out = capsys.readouterr().out
    assert "3 files: ignored 1, new_case 2" in out
    assert "auto_reply_exchange.eml: ignored" in out
    assert Case.objects.count() == 2
    assert InboundMail.objects.count() == 3


def test_fetchmail_without_a_mailbox_says_what_to_set():
    with pytest.raises(CommandError, match="TUGI_IMAP_HOST is not set"):
        call_command("fetchmail")


def test_fetchmail_names_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("fetchmail", "--file", str(tmp_path / "nothing.eml"))


def test_the_periodic_poll_runs_only_when_a_mailbox_is_configured(settings, monkeypatch):
    polls = []
    monkeypatch.setattr(imap, "poll", lambda: polls.append(1) or PollResult())

    tasks.poll_mailbox.call_local()
    settings.TUGI_IMAP_HOST = "imap.example.ee"
    tasks.poll_mailbox.call_local()

    assert polls == [1]


def test_a_failing_poll_is_logged_and_waits_for_the_next_minute(settings, monkeypatch, caplog):
    settings.TUGI_IMAP_HOST = "imap.example.ee"

    def down():
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(imap, "poll", down)

    tasks.poll_mailbox.call_local()  # does not raise

    assert "polling the mailbox failed" in caplog.text


def test_the_mail_tasks_are_registered_for_the_consumer():
    from huey.contrib.djhuey import HUEY

    import tugi.desk.tasks  # noqa: F401 - what the consumer imports

    names = set(HUEY._registry._registry)
    assert {
        "tugi.desk.mail.tasks.send_message_task",
        "tugi.desk.mail.tasks.send_acknowledgement_task",
        "tugi.desk.mail.tasks.poll_mailbox",
    } <= names
