"""The page of one grant and of one account show one person's access: opening either by anyone
but that person is a logged read of the person (`access.person.view`), like their access page,
with the same purpose rules and the same ten-minute window (`tugi.people.view_log`)."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.access.views_support import english, justified_holder, login
from tests.factories import PersonFactory, PositionFactory, make_user
from tugi.access.models import Grant
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole

pytestmark = pytest.mark.django_db

ACCESS_VIEW = "access.person.view"


@pytest.fixture
def en(client):
    return english(client)


@pytest.fixture
def grant() -> Grant:
    return justified_holder()


def grant_url(grant: Grant, query: str = "") -> str:
    return reverse("access:grant_detail", args=[grant.pk]) + query


def account_url(grant: Grant, query: str = "") -> str:
    return reverse("access:account_detail", args=[grant.account_id]) + query


def views() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=ACCESS_VIEW).order_by("id"))


def audit_statements(ctx: CaptureQueriesContext) -> list[str]:
    table = AuditEvent._meta.db_table
    return [q["sql"].split()[0].upper() for q in ctx.captured_queries if table in q["sql"]]


@pytest.mark.parametrize("url", [grant_url, account_url])
def test_opening_a_grant_or_an_account_is_a_read_of_the_person(en, desk_user, grant, url):
    login(en, desk_user)
    assert en.get(url(grant)).status_code == 200
    [event] = views()
    assert (event.actor_id, event.subject_person_id) == (desk_user.pk, grant.person_id)
    assert (event.object_type, event.object_id) == ("people.person", str(grant.person_id))
    assert event.purpose == "role duty: access administration"


def test_the_grant_its_account_and_the_access_page_are_one_read_in_the_window(en, desk_user, grant):
    login(en, desk_user)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        en.get(grant_url(grant))
        en.get(account_url(grant))
        en.get(reverse("access:person_access", args=[grant.person_id]))
        assert len(views()) == 1
        clock.shift(datetime.timedelta(minutes=11))
        en.get(grant_url(grant))
    assert len(views()) == 2


def test_the_context_of_the_link_is_the_purpose(en, desk_user, grant):
    login(en, desk_user)
    en.get(grant_url(grant, "?ctx=finding-7"))
    en.get(account_url(grant, "?ctx=change-9"))
    en.get(grant_url(grant, "?ctx=court-order"))  # unknown: the role duty
    assert [e.purpose for e in views()] == [
        "compliance finding #7",
        "access change #9",
        "role duty: access administration",
    ]


def test_an_auditor_and_an_approver_log_their_own_duty(en, grant):
    for username, role in (("auditor", AppRole.AUDITOR), ("boss", AppRole.APPROVER)):
        login(en, make_user(username, role))
        assert en.get(grant_url(grant)).status_code == 200
    assert [(e.actor_label, e.purpose) for e in views()] == [
        ("auditor", "role duty: audit"),
        ("boss", "role duty: approval of access"),
    ]


def test_ones_own_grant_and_account_are_not_logged(en, requester_user):
    own = justified_holder(person=PersonFactory(position=PositionFactory(), user=requester_user))
    login(en, requester_user)
    assert en.get(grant_url(own)).status_code == 200
    assert en.get(account_url(own)).status_code == 200
    assert not views()


def test_refused_and_missing_records_log_nothing(en, requester_user, desk_user, grant):
    login(en, requester_user)
    assert en.get(grant_url(grant)).status_code == 403
    assert en.get(account_url(grant)).status_code == 403
    login(en, desk_user)
    assert en.get(reverse("access:grant_detail", args=[999999])).status_code == 403
    assert en.get(reverse("access:account_detail", args=[999999])).status_code == 403
    assert not views()


def test_a_form_shown_again_with_errors_is_the_same_read(en, desk_user, grant):
    login(en, desk_user)
    en.get(grant_url(grant))
    response = en.post(reverse("access:grant_end", args=[grant.pk]), {"end-reason": ""})
    assert response.status_code == 200  # the page again, with the error
    assert len(views()) == 1


@pytest.mark.parametrize("url", [grant_url, account_url])
def test_a_read_costs_one_select_within_the_window(en, desk_user, grant, url):
    """Logged: the duplicate check, the chain's head (inside audit.record), the insert; within
    the window the duplicate check only."""
    login(en, desk_user)
    en.get(reverse("home"))  # warm the session
    with CaptureQueriesContext(connection) as first:
        en.get(url(grant))
    with CaptureQueriesContext(connection) as again:
        en.get(url(grant))
    assert audit_statements(first) == ["SELECT", "SELECT", "INSERT"]
    assert audit_statements(again) == ["SELECT"]
    assert len(first.captured_queries) - len(again.captured_queries) == 2 + (
        connection.vendor == "postgresql"  # the advisory lock that orders the chain's writers
    )


@pytest.mark.parametrize("url", [grant_url, account_url])
def test_the_log_adds_one_query_to_the_page_within_the_window(
    en, desk_user, grant, url, monkeypatch
):
    from tugi.people import view_log

    login(en, desk_user)
    en.get(url(grant))  # logged; the reads below fall in its window

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert en.get(url(grant)).status_code == 200
        return len(ctx.captured_queries)

    logged = count()
    monkeypatch.setattr(view_log, "log_view", lambda *args, **kwargs: None)
    assert logged == count() + 1
