"""The Changes page: who may see it and act on it, the lists, confirming (one, many, four eyes),
retrying a failed change, the engine's health badge, and the desk's alert that links here."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.access.factories import AccountFactory, GrantFactory
from tests.access.test_changes_lateness import make_change
from tests.access.views_support import english, login
from tests.factories import PersonFactory, make_user
from tugi.access.lifecycle import alerts, apply, plan, reconcile
from tugi.access.models import Change, ReconcilerRun
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole

pytestmark = pytest.mark.django_db

PAGE = reverse("access:changes")
BULK = reverse("access:changes_confirm")
State = Change.State


def confirm_url(change: Change) -> str:
    return reverse("access:change_confirm", args=[change.pk])


def retry_url(change: Change) -> str:
    return reverse("access:change_retry", args=[change.pk])


@pytest.fixture
def en(client):
    return english(client)


def ago(**delta: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


# --- who may see and act ------------------------------------------------------------------------


def test_a_requester_may_neither_see_nor_confirm(en, requester_user):
    change = make_change(due_at=ago(hours=1))
    login(en, requester_user)
    assert en.get(PAGE).status_code == 403
    assert en.post(confirm_url(change)).status_code == 403
    assert en.post(BULK, {"change": [change.pk]}).status_code == 403
    assert en.post(retry_url(change)).status_code == 403
    change.refresh_from_db()
    assert change.confirmed_at is None


def test_the_desk_sees_the_figures_and_confirms(en, desk_user):
    change = make_change(due_at=ago(hours=1), late_ms=2_000)
    login(en, desk_user)
    response = en.get(PAGE)
    assert response.status_code == 200
    assert response.context["report"].applied.count == 1
    assert [r.change for r in response.context["rows"]] == [change]
    html = response.content.decode()
    assert "2 s" in html and confirm_url(change) in html
    response = en.post(confirm_url(change), {"note": "SKAIS-is tehtud", "next": PAGE}, follow=True)
    assert "confirmed as done" in response.content.decode()
    change.refresh_from_db()
    assert change.confirmed_by == desk_user and change.confirmed_at is not None
    event = AuditEvent.objects.get(action="access.change.confirm", object_id=str(change.pk))
    assert event.actor == desk_user and event.basis == "SKAIS-is tehtud"
    assert event.subject_person_id == change.person_id
    # A second confirmation says so and changes nothing.
    response = en.post(confirm_url(change), follow=True)
    assert "already confirmed" in response.content.decode()
    assert AuditEvent.objects.filter(action="access.change.confirm").count() == 1


def test_the_auditor_sees_but_cannot_confirm(en, auditor_user):
    change = make_change(due_at=ago(hours=1))
    failed = make_change(state=State.FAILED, due_at=ago(hours=2), error="RuntimeError: x")
    login(en, auditor_user)
    response = en.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert confirm_url(change) not in html and retry_url(failed) not in html
    assert 'name="change"' not in html
    assert en.post(confirm_url(change)).status_code == 403
    assert en.post(retry_url(failed)).status_code == 403
    change.refresh_from_db()
    assert change.confirmed_at is None


def test_navigation_has_the_page_for_those_who_may_see_it(
    en, desk_user, auditor_user, requester_user
):
    for user, shown in ((desk_user, True), (auditor_user, True), (requester_user, False)):
        login(en, user)
        labels = {str(i["label"]) for i in en.get(reverse("home")).context["nav_items"]}
        assert ("Changes" in labels) is shown


# --- four eyes ----------------------------------------------------------------------------------


def test_nobody_confirms_a_change_of_their_own_access(en, desk_user):
    own = make_change(
        account=AccountFactory(person=PersonFactory(user=desk_user)), due_at=ago(hours=1)
    )
    login(en, desk_user)
    response = en.get(PAGE)
    row = response.context["rows"][0]
    assert row.own and not row.confirmable
    assert confirm_url(own) not in response.content.decode()
    response = en.post(confirm_url(own), follow=True)
    assert "your own access" in response.content.decode()
    own.refresh_from_db()
    assert own.confirmed_at is None
    assert not AuditEvent.objects.filter(action="access.change.confirm").exists()


# --- bulk ---------------------------------------------------------------------------------------


def test_bulk_confirm_confirms_every_ticked_change(en, desk_user):
    changes = [make_change(due_at=ago(hours=n + 1)) for n in range(3)]
    untouched = make_change(due_at=ago(hours=5))
    login(en, desk_user)
    response = en.post(
        BULK, {"change": [c.pk for c in changes], "note": "tehtud", "next": PAGE}, follow=True
    )
    assert "3 changes are confirmed" in response.content.decode()
    assert Change.objects.filter(confirmed_by=desk_user).count() == 3
    untouched.refresh_from_db()
    assert untouched.confirmed_at is None
    events = AuditEvent.objects.filter(action="access.change.confirm")
    assert sorted(int(e.object_id) for e in events) == sorted(c.pk for c in changes)


def test_bulk_confirm_is_all_or_nothing(en, desk_user):
    others = [make_change(due_at=ago(hours=n + 1)) for n in range(2)]
    own = make_change(account=AccountFactory(person=PersonFactory(user=desk_user)))
    pending = make_change(state=State.PENDING, due_at=ago(minutes=1))
    login(en, desk_user)
    response = en.post(BULK, {"change": [c.pk for c in [*others, own, pending]]}, follow=True)
    html = response.content.decode()
    assert "your own access" in html and "only an applied change" in html
    assert not Change.objects.filter(confirmed_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(action="access.change.confirm").exists()


def test_bulk_confirm_leaves_what_someone_else_confirmed(en, desk_user):
    from tests.factories import make_user
    from tugi.core.roles import AppRole

    first, second = make_change(due_at=ago(hours=2)), make_change(due_at=ago(hours=1))
    colleague = make_user("kolleeg", AppRole.DESK_AGENT)
    from tugi.access.actions import changes as actions

    actions.confirm_change(colleague, first)
    login(en, desk_user)
    response = en.post(BULK, {"change": [first.pk, second.pk]}, follow=True)
    html = response.content.decode()
    assert "1 change is confirmed" in html and "already been confirmed" in html
    first.refresh_from_db()
    assert first.confirmed_by == colleague


def test_bulk_confirm_needs_a_choice(en, desk_user):
    login(en, desk_user)
    response = en.post(BULK, {"change": []}, follow=True)
    assert "Choose the changes to confirm" in response.content.decode()


# --- retry --------------------------------------------------------------------------------------


def test_a_failed_change_is_retried_and_applied(en, desk_user, django_capture_on_commit_callbacks):
    grant = GrantFactory(valid_to=timezone.now() + datetime.timedelta(minutes=1))
    plan.sync_grants([grant.pk])
    change = Change.objects.get(grant=grant)
    Change.objects.filter(pk=change.pk).update(
        state=State.FAILED,
        attempts=apply.MAX_ATTEMPTS,
        error="RuntimeError: target unreachable",
        alerted_at=timezone.now(),
    )
    login(en, desk_user)
    with time_machine.travel(grant.valid_to + datetime.timedelta(minutes=40), tick=False):
        response = en.get(PAGE + "?show=failed")
        assert retry_url(change) in response.content.decode()
        assert "target unreachable" in response.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            response = en.post(retry_url(change), {"next": PAGE + "?show=failed"})
        assert response.status_code == 302 and response["Location"] == PAGE + "?show=failed"
    change.refresh_from_db()
    # Back to the engine, which applied it at once (Huey runs in memory in the tests).
    assert change.state == State.APPLIED and change.attempts == 1 and change.error == ""
    assert change.alerted_at is None
    event = AuditEvent.objects.get(action="access.change.retry", object_id=str(change.pk))
    assert event.before["state"] == "failed" and event.after["state"] == "pending"
    assert event.actor == desk_user


def test_only_a_failed_change_can_be_retried(en, desk_user):
    change = make_change(due_at=ago(hours=1))
    login(en, desk_user)
    response = en.post(retry_url(change), follow=True)
    assert "only a failed change can be retried" in response.content.decode()
    assert not AuditEvent.objects.filter(action="access.change.retry").exists()


# --- lists, search, health -------------------------------------------------------------------


def test_late_1_shows_the_late_list(en, desk_user):
    late = make_change(due_at=ago(hours=2), late_ms=300_000)
    make_change(due_at=ago(hours=1), late_ms=100)
    failed = make_change(state=State.FAILED, due_at=ago(hours=3))
    login(en, desk_user)
    response = en.get(PAGE + "?late=1")
    assert response.context["show"] == "late"
    assert [r.change for r in response.context["rows"]] == [late, failed]
    assert "5 min" in response.content.decode()
    assert [r.change for r in en.get(PAGE + "?show=failed").context["rows"]] == [failed]


def test_search_by_person(en, desk_user):
    tamm = PersonFactory(first_name="Kadri", last_name="Tamm")
    mine = make_change(account=AccountFactory(person=tamm), due_at=ago(hours=1))
    make_change(due_at=ago(hours=2))
    login(en, desk_user)
    response = en.get(PAGE, {"q": "tamm"})
    assert [r.change for r in response.context["rows"]] == [mine]
    assert response.context["filtered"]


def test_the_list_is_paged_by_key(en, desk_user):
    account = AccountFactory()
    for n in range(55):
        make_change(account=account, due_at=ago(minutes=n + 1))
    login(en, desk_user)
    first = en.get(PAGE)
    assert len(first.context["rows"]) == 50
    second = en.get(PAGE, {"cursor": first.context["page"].next_cursor})
    assert len(second.context["rows"]) == 5
    seen = {r.change.pk for r in first.context["rows"]} | {
        r.change.pk for r in second.context["rows"]
    }
    assert len(seen) == 55


def test_htmx_gets_the_results_only(en, desk_user):
    make_change(due_at=ago(hours=1))
    login(en, desk_user)
    response = en.get(PAGE, {"period": "24h"}, HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "access/_change_results.html"
    assert "<html" not in response.content.decode()


def test_the_health_badge(en, desk_user):
    login(en, desk_user)
    html = en.get(PAGE).content.decode()
    assert "engine-health--down" in html and "never run" in html
    ReconcilerRun.objects.create(
        started_at=ago(minutes=1),
        finished_at=ago(minutes=1),
        window_from=ago(minutes=2),
        window_to=ago(minutes=1),
    )
    html = en.get(PAGE).content.decode()
    assert "engine-health--ok" in html and "Engine running" in html
    ReconcilerRun.objects.update(finished_at=ago(minutes=4))
    assert "engine-health--down" in en.get(PAGE).content.decode()


def test_the_person_page_lists_scheduled_changes(en, desk_user, requester_user):
    grant = GrantFactory(valid_to=timezone.now() + datetime.timedelta(days=3))
    plan.sync_grants([grant.pk])
    login(en, desk_user)
    html = en.get(reverse("access:person_access", args=[grant.person_id])).content.decode()
    assert "Scheduled changes" in html and grant.role.name in html


# --- the desk's alert -------------------------------------------------------------------------


def test_a_failed_changes_alert_links_to_the_page(en, settings, desk_user):
    settings.TUGI_DESK_EMAIL = "desk@tugi.example"
    settings.TUGI_BASE_URL = "https://tugi.example"
    change = make_change(state=State.FAILED, due_at=ago(hours=1), error="RuntimeError: down")
    reconcile.reconcile()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["desk@tugi.example"]
    assert "Failed after repeated attempts" in message.body
    assert "RuntimeError: down" in message.body and str(change.person) in message.body
    link = f"https://tugi.example{PAGE}?show=failed"
    assert link in message.body
    assert f"https://tugi.example{PAGE}?late=1" in message.body
    # The link shows the change to the desk.
    login(en, desk_user)
    response = en.get(link.removeprefix("https://tugi.example"))
    assert [r.change for r in response.context["rows"]] == [change]


def test_an_alert_nobody_could_be_told_of_is_tried_again(settings, django_user_model):
    """No desk address and no desk user: the change stays unalerted until someone can be told."""
    settings.TUGI_DESK_EMAIL = ""
    change = make_change(state=State.FAILED, due_at=ago(hours=1), error="RuntimeError: down")
    django_user_model.objects.filter(groups__name=AppRole.DESK_AGENT.value).delete()
    assert alerts.tell_desk_of_trouble(timezone.now()) == 0
    change.refresh_from_db()
    assert change.alerted_at is None and not mail.outbox
    desk = make_user("valves", AppRole.DESK_AGENT)
    desk.email = "valves@tugi.example"
    desk.save()
    assert alerts.tell_desk_of_trouble(timezone.now()) == 1
    change.refresh_from_db()
    assert change.alerted_at is not None and mail.outbox[0].to == ["valves@tugi.example"]
