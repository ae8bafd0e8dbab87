"""Pages of one record that show a person's access are logged reads of that person
(`access.person.view`), as the grant and account pages are: an access request (a read of the
person it is for), a substitution order (of the absent person and of the substitute, one event
each) and the request form filed for someone (it shows their current and justified roles). The
purpose is the link's context (`?ctx=`), else the viewer's role duty; the viewer's own person is
never logged; at most one event per viewer, person and purpose in ten minutes."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.access.factories import TargetSystemFactory, request_world
from tests.access.substitution_support import build_world
from tests.access.views_support import english, login
from tests.factories import PersonFactory, make_user
from tugi.access.actions import requests as request_actions
from tugi.access.models import AccessRequest, AccessRequestItem, Substitution
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import Person

pytestmark = pytest.mark.django_db

ACCESS_VIEW = "access.person.view"


@pytest.fixture
def en(client):
    return english(client)


@pytest.fixture
def mari(db) -> Person:
    return PersonFactory(first_name="Mari", last_name="Maasikas")


def views() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=ACCESS_VIEW).order_by("id"))


def audit_statements(ctx: CaptureQueriesContext) -> list[str]:
    table = AuditEvent._meta.db_table
    return [q["sql"].split()[0].upper() for q in ctx.captured_queries if table in q["sql"]]


def access_request(person: Person, filer) -> AccessRequest:
    request = AccessRequest.objects.create(person=person, requested_by=filer, justification="Tööks")
    AccessRequestItem.objects.create(
        request=request, kind=AccessRequestItem.Kind.CREATE_ACCOUNT, system=TargetSystemFactory()
    )
    return request


def order(absentee: Person, substitute: Person) -> Substitution:
    now = timezone.now()
    return Substitution.objects.create(
        absentee=absentee,
        substitute=substitute,
        starts_at=now,
        ends_at=now + datetime.timedelta(days=5),
        state=Substitution.State.ORDERED,
    )


def request_url(access_request: AccessRequest, query: str = "") -> str:
    return reverse("access:request_detail", args=[access_request.pk]) + query


def order_url(substitution: Substitution, query: str = "") -> str:
    return reverse("access:substitution_detail", args=[substitution.pk]) + query


def form_url(person: Person, query: str = "") -> str:
    return reverse("access:request_create") + f"?person={person.pk}" + query


# --- the request page ---------------------------------------------------------------------------


def test_a_request_page_is_a_read_of_the_person_it_is_for(en, desk_user, mari):
    filed = access_request(mari, make_user("filer"))
    login(en, desk_user)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        assert en.get(request_url(filed)).status_code == 200
        assert en.get(request_url(filed)).status_code == 200  # a reload: the same read
        [event] = views()
        assert (event.actor_id, event.subject_person_id) == (desk_user.pk, mari.pk)
        assert (event.object_type, event.object_id) == ("people.person", str(mari.pk))
        assert event.purpose == "role duty: access administration"
        clock.shift(datetime.timedelta(minutes=11))
        en.get(request_url(filed))
    assert len(views()) == 2


def test_the_context_of_the_link_is_the_purpose(en, desk_user, mari):
    filed = access_request(mari, make_user("filer"))
    login(en, desk_user)
    en.get(request_url(filed, "?ctx=case-123"))
    en.get(request_url(filed, "?ctx=court-order"))  # unknown: the role duty
    assert [e.purpose for e in views()] == ["case #123", "role duty: access administration"]


def test_the_approvers_inbox_and_the_request_page_read_as_the_request(
    en, requester_user, desk_user
):
    w = request_world(requester_user, desk_user)
    filed = request_actions.file_request(
        w.requester, w.person, [{"kind": "grant_role", "role": w.benefits_role}], "Tööks vajalik."
    )
    login(en, w.unit_head_user)
    inbox = en.get(reverse("access:approvals")).content.decode()
    link = request_url(filed, f"?ctx=request-{filed.pk}")
    assert link in inbox
    assert not views()  # the inbox lists names, it is not logged
    assert en.get(link).status_code == 200
    # The person link on the request page carries the same purpose: one read in the window.
    en.get(reverse("access:person_access", args=[w.person.pk]) + f"?ctx=request-{filed.pk}")
    assert [(e.actor_id, e.subject_person_id, e.purpose) for e in views()] == [
        (w.unit_head_user.pk, w.person.pk, f"access request #{filed.pk}")
    ]


def test_the_fulfilment_queue_links_with_the_request(en, requester_user, desk_user):
    w = request_world(requester_user, desk_user)
    filed = access_request(w.person, w.requester)
    AccessRequest.objects.filter(pk=filed.pk).update(state=AccessRequest.State.APPROVED)
    filed.items.update(state=AccessRequestItem.State.APPROVED)
    login(en, desk_user)
    queue = en.get(reverse("access:fulfilment")).content.decode()
    assert request_url(filed, f"?ctx=request-{filed.pk}") in queue


def test_ones_own_request_is_not_logged(en, requester_user):
    me = PersonFactory(user=requester_user)
    filed = access_request(me, requester_user)
    login(en, requester_user)
    assert en.get(request_url(filed)).status_code == 200
    assert not views()


def test_the_filer_of_someone_elses_request_reads_them(en, requester_user, mari):
    filed = access_request(mari, requester_user)
    login(en, requester_user)
    assert en.get(request_url(filed)).status_code == 200
    assert [(e.subject_person_id, e.purpose) for e in views()] == [(mari.pk, "role duty: no role")]


def test_refused_and_missing_requests_log_nothing(en, requester_user, desk_user, mari):
    filed = access_request(mari, make_user("filer"))
    login(en, requester_user)
    assert en.get(request_url(filed)).status_code == 403
    login(en, desk_user)
    assert en.get(reverse("access:request_detail", args=[999999])).status_code == 404
    assert not views()


def test_a_decision_form_shown_again_is_the_same_read(en, requester_user, desk_user):
    w = request_world(requester_user, desk_user)
    filed = request_actions.file_request(
        w.requester, w.person, [{"kind": "grant_role", "role": w.benefits_role}], "Tööks vajalik."
    )
    login(en, w.unit_head_user)
    en.get(request_url(filed))
    response = en.post(reverse("access:request_decide", args=[filed.pk]), {"decision": "nonsense"})
    assert response.status_code == 200
    assert len(views()) == 1


# --- the substitution order page ------------------------------------------------------------------


def test_an_order_page_is_a_read_of_both_its_persons(en, desk_user, mari):
    kati = PersonFactory(first_name="Kati")
    substitution = order(mari, kati)
    login(en, desk_user)
    assert (
        en.get(order_url(substitution, f"?ctx=substitution-{substitution.pk}")).status_code == 200
    )
    assert (
        en.get(order_url(substitution, f"?ctx=substitution-{substitution.pk}")).status_code == 200
    )
    assert [(e.subject_person_id, e.purpose) for e in views()] == [
        (mari.pk, f"substitution order #{substitution.pk}"),
        (kati.pk, f"substitution order #{substitution.pk}"),
    ]
    en.get(order_url(substitution))  # another purpose: the role duty
    assert len(views()) == 4


def test_the_substitute_reading_their_order_logs_the_absent_person(en, mari):
    kati_user = make_user("kati", AppRole.REQUESTER)
    substitution = order(mari, PersonFactory(first_name="Kati", user=kati_user))
    login(en, kati_user)
    assert en.get(order_url(substitution)).status_code == 200
    assert [(e.actor_id, e.subject_person_id) for e in views()] == [(kati_user.pk, mari.pk)]


def test_refused_and_missing_orders_log_nothing(en, requester_user, desk_user, mari):
    substitution = order(mari, PersonFactory())
    login(en, requester_user)
    assert en.get(order_url(substitution)).status_code == 403
    login(en, desk_user)
    assert en.get(reverse("access:substitution_detail", args=[999999])).status_code == 403
    assert not views()


def test_the_proposals_inbox_links_with_the_order(en):
    world = build_world(timezone.now() - datetime.timedelta(days=30))
    now = timezone.now()
    proposal = Substitution.objects.create(
        absentee=world.absentee,
        substitute=world.substitute,
        starts_at=now + datetime.timedelta(days=3),
        ends_at=now + datetime.timedelta(days=8),
        state=Substitution.State.PROPOSED,
    )
    login(en, world.unit_head_user)
    inbox = en.get(reverse("access:substitution_proposals")).content.decode()
    assert order_url(proposal, f"?ctx=substitution-{proposal.pk}") in inbox


# --- the request form for someone ---------------------------------------------------------------


def test_the_request_form_for_someone_is_a_read_of_them(en, desk_user, mari):
    login(en, desk_user)
    assert en.get(form_url(mari, "&ctx=case-12")).status_code == 200
    assert en.get(form_url(mari, "&ctx=case-12")).status_code == 200
    assert [(e.actor_id, e.subject_person_id, e.purpose) for e in views()] == [
        (desk_user.pk, mari.pk, "case #12")
    ]


def test_the_access_page_passes_its_context_to_the_request_form(en, desk_user, mari):
    login(en, desk_user)
    page = en.get(reverse("access:person_access", args=[mari.pk]) + "?ctx=case-12")
    assert f"?person={mari.pk}&amp;ctx=case-12" in page.content.decode()


def test_the_request_form_for_oneself_is_not_logged(en, requester_user, desk_user):
    login(en, requester_user)
    me = PersonFactory(user=requester_user)
    assert en.get(form_url(me)).status_code == 200
    assert en.get(reverse("access:request_create")).status_code == 200
    login(en, desk_user)
    desk_me = PersonFactory(user=desk_user)
    assert en.get(form_url(desk_me)).status_code == 200
    assert not views()


def test_a_requester_cannot_open_the_form_for_someone_else(en, requester_user, mari):
    PersonFactory(user=requester_user)
    login(en, requester_user)
    assert en.get(form_url(mari)).status_code == 403
    assert not views()


# --- the cost -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["request", "order", "form"])
def test_a_read_costs_one_select_per_person_within_the_window(en, desk_user, mari, page):
    """Logged: per person the duplicate check, the chain's head, the insert; within the window
    the duplicate check only. (The request page reads the log itself too, for its history.)"""
    url, persons = {
        "request": (lambda: request_url(access_request(mari, make_user("filer"))), 1),
        "order": (lambda: order_url(order(mari, PersonFactory())), 2),
        "form": (lambda: form_url(mari), 1),
    }[page]
    address = url()
    login(en, desk_user)
    en.get(reverse("home"))  # warm the session
    with CaptureQueriesContext(connection) as first:
        assert en.get(address).status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert en.get(address).status_code == 200
    history = ["SELECT"] if page == "request" else []
    assert audit_statements(first) == ["SELECT", "SELECT", "INSERT"] * persons + history
    assert audit_statements(again) == ["SELECT"] * persons + history


@pytest.mark.parametrize("page", ["request", "order", "form"])
def test_the_log_adds_one_query_per_person_to_the_page(en, desk_user, mari, page, monkeypatch):
    from tugi.people import view_log

    url, persons = {
        "request": (lambda: request_url(access_request(mari, make_user("filer"))), 1),
        "order": (lambda: order_url(order(mari, PersonFactory())), 2),
        "form": (lambda: form_url(mari), 1),
    }[page]
    address = url()
    login(en, desk_user)
    en.get(address)  # logged; the reads below fall in its window

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert en.get(address).status_code == 200
        return len(ctx.captured_queries)

    logged = count()
    monkeypatch.setattr(view_log, "log_view", lambda *args, **kwargs: None)
    assert logged == count() + persons
