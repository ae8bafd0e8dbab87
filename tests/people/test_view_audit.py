"""Opening one person's record is an audit event with a purpose (`tugi.people.view_log`).

Person pages and access pages, by anyone but the person: who, whose, why; at most once per
viewer, person, action and purpose in ten minutes; lists and one's own record are not logged.
"""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from tests.desk.factories import CaseFactory
from tests.factories import PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people import view_log
from tugi.people.models import Person

pytestmark = pytest.mark.django_db

VIEW = "people.person.view"
ACCESS_VIEW = "access.person.view"


def detail(person: Person, **query: str) -> str:
    url = reverse("people:person_detail", args=[person.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def access(person: Person, **query: str) -> str:
    url = reverse("access:person_access", args=[person.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def views(action: str = VIEW) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def audit_queries(ctx: CaptureQueriesContext) -> list[str]:
    table = AuditEvent._meta.db_table
    return [q["sql"].split()[0].upper() for q in ctx.captured_queries if table in q["sql"]]


@pytest.fixture
def subject() -> Person:
    return PersonFactory(first_name="Jüri", last_name="Jõgi")


# --- the event ----------------------------------------------------------------------------------


def test_a_desk_agent_opening_a_person_writes_one_event_with_who_whose_and_why(
    client, desk_user, subject
):
    client.force_login(desk_user)
    assert client.get(detail(subject)).status_code == 200
    [event] = views()
    assert event.actor_id == desk_user.pk and event.actor_label == "desk"
    assert event.subject_person_id == subject.pk
    assert (event.object_type, event.object_id) == ("people.person", str(subject.pk))
    assert event.object_repr == "Jüri Jõgi"
    assert event.purpose == "role duty: desk work"
    assert subject.personal_code not in event.object_repr + event.purpose


def test_opening_again_within_ten_minutes_writes_nothing_more(client, desk_user, subject):
    client.force_login(desk_user)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.get(detail(subject))
        client.get(detail(subject))
        clock.shift(datetime.timedelta(minutes=9))
        client.get(detail(subject), headers={"HX-Request": "true"})
        assert len(views()) == 1
        clock.shift(datetime.timedelta(minutes=2))  # 11 minutes after the first
        client.get(detail(subject))
    assert len(views()) == 2


def test_each_viewer_person_and_purpose_is_its_own_event(client, desk_user, subject):
    other = PersonFactory()
    colleague = make_user("desk2", AppRole.DESK_AGENT)
    client.force_login(desk_user)
    client.get(detail(subject))
    client.get(detail(other))
    client.get(detail(subject, ctx="case-7"))  # a new reason to look is a new event
    client.force_login(colleague)
    client.get(detail(subject))
    rows = [(e.actor_label, e.subject_person_id, e.purpose) for e in views()]
    assert rows == [
        ("desk", subject.pk, "role duty: desk work"),
        ("desk", other.pk, "role duty: desk work"),
        ("desk", subject.pk, "case #7"),
        ("desk2", subject.pk, "role duty: desk work"),
    ]


def test_own_record_is_not_logged(client, desk_user):
    own = PersonFactory(user=desk_user)
    client.force_login(desk_user)
    assert client.get(reverse("people:me")).status_code == 200
    assert client.get(detail(own)).status_code == 200
    assert client.get(reverse("access:my_access")).status_code == 200
    assert client.get(access(own)).status_code == 200
    assert not AuditEvent.objects.filter(subject_person_id=own.pk).exists()


def test_a_requester_sees_only_their_own_record_and_nothing_is_logged(
    client, requester_user, subject
):
    own = PersonFactory(user=requester_user)
    client.force_login(requester_user)
    assert client.get(detail(own)).status_code == 200
    assert client.get(detail(subject)).status_code == 403
    assert client.get(reverse("people:person_detail", args=[999999])).status_code == 403
    assert client.get(access(subject)).status_code == 403
    assert not AuditEvent.objects.exists()


def test_refused_and_missing_records_log_nothing(client, desk_user):
    assert client.get(reverse("people:person_detail", args=[1])).status_code == 302  # to login
    client.force_login(desk_user)
    assert client.get(reverse("people:person_detail", args=[999999])).status_code == 404
    assert client.get(reverse("access:person_access", args=[999999])).status_code == 404
    assert not AuditEvent.objects.exists()


# --- the purpose --------------------------------------------------------------------------------


def test_the_requester_link_on_a_case_carries_the_case_as_purpose(client, desk_user):
    case = CaseFactory()
    client.force_login(desk_user)
    html = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    link = f"{detail(case.requester)}?ctx=case-{case.pk}"
    assert f'href="{link}"' in html
    assert client.get(link).status_code == 200
    [event] = views()
    assert event.subject_person_id == case.requester_id
    assert event.purpose == f"case #{case.pk}"


@pytest.mark.parametrize(
    ("ctx", "purpose"),
    [
        ("request-45", "access request #45"),
        ("finding-3", "compliance finding #3"),
        ("change-9", "access change #9"),
        ("substitution-2", "substitution order #2"),
        ("import-5", "HR import #5"),
    ],
)
def test_each_known_context_reads_as_text(client, desk_user, subject, ctx, purpose):
    client.force_login(desk_user)
    client.get(access(subject, ctx=ctx))
    assert [e.purpose for e in views(ACCESS_VIEW)] == [purpose]


@pytest.mark.parametrize(
    "ctx", ["court-order", "case-0", "case-12x", "case-", "Case-1", "case-1%0Aforged", "x" * 400]
)
def test_an_unknown_context_is_ignored_and_the_role_duty_is_written(client, desk_user, ctx):
    subject = PersonFactory()
    client.force_login(desk_user)
    html = client.get(detail(subject, ctx=ctx)).content.decode()
    assert [e.purpose for e in views()] == ["role duty: desk work"]
    assert f'href="{access(subject)}"' in html  # nothing unchecked is carried on


def test_the_duty_follows_the_roles_held(client, subject):
    both = make_user("both", AppRole.DESK_AGENT, AppRole.APPROVER)
    auditor = make_user("auditor", AppRole.AUDITOR)
    client.force_login(both)
    client.get(detail(subject))
    client.get(access(subject))  # on the access page the desk is administering access
    client.force_login(auditor)
    client.get(detail(subject))
    assert [e.purpose for e in views()] == [
        "role duty: desk work, approval of access",
        "role duty: audit",
    ]
    assert [e.purpose for e in views(ACCESS_VIEW)] == [
        "role duty: access administration, approval of access"
    ]


def test_the_context_goes_on_from_the_person_to_their_access_and_back(client, desk_user, subject):
    client.force_login(desk_user)
    html = client.get(detail(subject, ctx="case-12")).content.decode()
    assert f'href="{access(subject)}?ctx=case-12"' in html
    html = client.get(access(subject, ctx="case-12")).content.decode()
    assert f'href="{detail(subject)}?ctx=case-12"' in html
    [event] = views(ACCESS_VIEW)
    assert (event.subject_person_id, event.purpose) == (subject.pk, "case #12")


def test_an_approver_coming_from_a_request_logs_the_request(client, subject):
    approver = make_user("boss", AppRole.APPROVER)
    client.force_login(approver)
    assert client.get(access(subject, ctx="request-45")).status_code == 200
    [event] = views(ACCESS_VIEW)
    assert (event.actor_label, event.purpose) == ("boss", "access request #45")


def test_why_does_the_person_hold_a_role_is_an_access_view(client, desk_user):
    from tests.access.views_support import justified_holder

    grant = justified_holder()
    client.force_login(desk_user)
    url = reverse("access:explain", args=[grant.person_id, grant.role_id])
    assert client.get(url).status_code == 200
    assert client.get(reverse("access:person_access", args=[grant.person_id])).status_code == 200
    [event] = views(ACCESS_VIEW)  # the same person, action and purpose: one event
    assert event.subject_person_id == grant.person_id
    assert client.get(reverse("access:explain", args=[grant.person_id, 999999])).status_code == 404
    assert len(views(ACCESS_VIEW)) == 1


# --- lists, the trail, the cost -----------------------------------------------------------------


def test_the_person_list_is_not_logged_and_shows_no_personal_code(client, desk_user, subject):
    client.force_login(desk_user)
    html = client.get(reverse("people:person_list")).content.decode()
    assert "Jõgi" in html and subject.personal_code not in html
    html = client.get(reverse("people:person_list"), {"q": "jogi"}).content.decode()
    assert "Jõgi" in html and subject.personal_code not in html
    # A search by a full code finds the person but does not print the code back in the rows.
    rows = client.get(reverse("people:person_list"), {"q": subject.personal_code})
    assert [p.pk for p in rows.context["page"].rows] == [subject.pk]
    assert not AuditEvent.objects.exists()


def test_the_detail_page_shows_the_personal_code_masked(client, desk_user, subject):
    client.force_login(desk_user)
    html = client.get(detail(subject)).content.decode()
    assert subject.personal_code not in html and subject.personal_code[:7] in html


def test_the_auditor_reads_who_saw_the_person_and_why(client, desk_user, auditor_user, subject):
    client.force_login(desk_user)
    client.get(detail(subject, ctx="case-31"))
    client.get(access(subject))
    client.force_login(auditor_user)
    html = client.get(reverse("core:audit_list"), {"person": subject.pk}).content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    seen = [r for r in rows if VIEW in r or ACCESS_VIEW in r]
    newest, older = seen
    assert "desk" in newest and ACCESS_VIEW in newest
    assert "role duty: access administration" in newest
    assert "desk" in older and VIEW in older and "case #31" in older
    # Filtering by action finds both kinds of view.
    html = client.get(reverse("core:audit_list"), {"action": "people.person.view"}).content.decode()
    assert "case #31" in html


def test_a_page_view_costs_one_read_and_one_insert_of_the_log(client, desk_user, subject):
    """Logged: the duplicate check, the chain's head (inside audit.record), the insert.
    Within the window only the duplicate check."""
    client.force_login(desk_user)
    client.get(reverse("people:person_list"))  # warm the session
    with CaptureQueriesContext(connection) as first:
        client.get(detail(subject))
    with CaptureQueriesContext(connection) as again:
        client.get(detail(subject))
    assert audit_queries(first) == ["SELECT", "SELECT", "INSERT"]
    assert audit_queries(again) == ["SELECT"]
    assert len(first.captured_queries) - len(again.captured_queries) == 2 + (
        connection.vendor == "postgresql"  # the advisory lock that orders the chain's writers
    )


def test_purposes_are_written_in_the_agency_language(monkeypatch, settings, desk_user):
    """Whatever the viewer reads, the stored text is made in settings.LANGUAGE_CODE."""
    monkeypatch.setattr(view_log, "_context_text", lambda token: translation.get_language())
    monkeypatch.setattr(view_log, "_role_duty", lambda viewer, action: translation.get_language())
    settings.LANGUAGE_CODE = "et"
    with translation.override("en"):
        assert view_log.purpose_of(desk_user, VIEW, ctx="case-4") == "et"
        assert view_log.purpose_of(desk_user, VIEW) == "et"
        assert translation.get_language() == "en"
