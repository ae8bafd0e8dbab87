"""The notice queue's sending task: headers, and the audit event when the last try fails."""

import socket

import pytest
from django.core import mail

from tugi.core import notices
from tugi.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_notice_is_auto_submitted_with_a_message_id_on_tugis_domain(settings):
    settings.TUGI_MAIL_FROM = "Tugi <tugi@sotsiaalkindlustusamet.ee>"
    settings.TUGI_MAIL_DOMAIN = ""
    notices.send_notice("Teade", "Sisu", ["mari@example.ee"])
    (message,) = mail.outbox
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert message.extra_headers["Message-ID"].endswith("@sotsiaalkindlustusamet.ee>")
    settings.TUGI_MAIL_DOMAIN = "tugi.example"
    assert notices.mail_domain() == "tugi.example"


def test_the_last_failed_try_is_audited_and_raised(settings):
    # A real SMTP client against a loopback port nobody listens on.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    with pytest.raises(ConnectionRefusedError):
        # Called as the worker's last try would run it (no retries left).
        notices.send_notice_task.call_local("Asendamine algab", "Sisu", ["a@x.ee", "b@x.ee"])
    event = AuditEvent.objects.get(action=notices.FAILED_AUDIT_ACTION)
    assert event.actor is None and event.object_repr == "Asendamine algab"
    assert event.after["recipients"] == 2 and "refused" in event.after["error"].lower()
