"""Mail notices of access requests and the periodic jobs of access governance."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from tests.access.factories import RequestWorld, request_world
from tugi.access import notify, policy, tasks
from tugi.access.actions import requests
from tugi.access.models import AccessRequest
from tugi.core import notices

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(requester_user, desk_user) -> RequestWorld:
    return request_world(requester_user, desk_user)


def _file(w: RequestWorld) -> AccessRequest:
    return requests.file_request(
        w.requester,
        w.person,
        [{"kind": "grant_role", "role": w.star_role}],
        "Vajan ligipääsu.",
    )


def _recipients() -> list[list[str]]:
    return [m.to for m in mail.outbox]


def test_filing_mails_the_unit_head(w, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = _file(w)
    assert _recipients() == [[w.unit_head.email.lower()]]
    message = mail.outbox[0]
    assert "awaits your decision" in message.subject
    assert message.body.rstrip().endswith(notify.base_url() + _detail_path(request))


def _detail_path(request: AccessRequest) -> str:
    from django.urls import reverse

    return reverse("access:request_detail", kwargs={"pk": request.pk})


def test_approving_the_last_step_mails_the_desk(w, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = _file(w)
    users = {w.unit_head.pk: w.unit_head_user, w.dept_head.pk: w.dept_head_user}
    users[w.owner.pk] = w.owner_user
    while (step := policy.current_approval(request)) is not None:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            requests.approve(users[step.approver_id], step, "Nõus.")
        request.refresh_from_db()
    assert request.state == AccessRequest.State.APPROVED
    assert _recipients() == [[w.desk_person.email.lower()]]
    assert "fulfilment queue" in mail.outbox[0].body


def test_the_desk_address_setting_wins(w, settings, django_capture_on_commit_callbacks):
    settings.TUGI_DESK_EMAIL = "kasutajatugi@example.ee"
    with django_capture_on_commit_callbacks(execute=True):
        request = _file(w)
    users = {w.unit_head.pk: w.unit_head_user, w.owner.pk: w.owner_user}
    while (step := policy.current_approval(request)) is not None:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            requests.approve(users[step.approver_id], step, "Nõus.")
        request.refresh_from_db()
    assert request.state == AccessRequest.State.APPROVED
    assert _recipients() == [["kasutajatugi@example.ee"]]


def test_rejection_mails_the_filer(w, django_capture_on_commit_callbacks):
    w.requester.email = "mari@example.ee"
    w.requester.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        request = _file(w)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        requests.reject(w.unit_head_user, policy.current_approval(request), "Ei ole vaja.")
    assert _recipients() == [["mari@example.ee"]]
    assert "rejected" in mail.outbox[0].subject


def test_a_failing_mail_never_breaks_the_action(w, monkeypatch, django_capture_on_commit_callbacks):
    def boom(*args, **kwargs):
        raise RuntimeError("SMTP on maas")

    monkeypatch.setattr(notices, "send_notice_task", boom)
    with django_capture_on_commit_callbacks(execute=True):
        request = _file(w)
    assert request.state == AccessRequest.State.SUBMITTED
    assert mail.outbox == []


def _periodic_task_names() -> set[str]:
    """What the consumer schedules after djhuey's autodiscovery of `<app>.tasks`."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("tasks")  # what `manage.py run_huey` does at start
    return {f"{task.__module__}.{task.__name__}" for task in HUEY._registry._periodic_tasks}


def test_periodic_jobs_are_registered():
    names = _periodic_task_names()
    assert {"tugi.access.tasks.expire_requests", "tugi.access.tasks.evaluate_compliance"} <= names


def test_expire_job_expires_stale_requests(w):
    request = _file(w)
    AccessRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert tasks.expire_requests.call_local() == 1
    request.refresh_from_db()
    assert request.state == AccessRequest.State.EXPIRED


def test_compliance_job_runs(w):
    from tugi.core.models import AuditEvent

    tasks.evaluate_compliance.call_local()
    assert AuditEvent.objects.filter(action__startswith="access.compliance").exists()
