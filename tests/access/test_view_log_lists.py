"""Pages that list one person's rows are logged reads of that person, as the person's own pages
are (`tugi.people.view_log`): the Changes page when its search finds exactly one person and the
substitution list filtered by a person (`access.person.view`), the absence list filtered by a
person (`people.person.view`). The compliance findings' fix links carry the finding as the
purpose."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.access.factories import AccountFactory, GrantFactory
from tests.access.test_changes_lateness import make_change
from tests.access.views_support import english, login
from tests.factories import PersonFactory, make_user
from tugi.access.models import Change, Finding, Substitution
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import Absence, Person

pytestmark = pytest.mark.django_db

ACCESS_VIEW = "access.person.view"
PERSON_VIEW = "people.person.view"
CHANGES = reverse("access:changes")
SUBSTITUTIONS = reverse("access:substitution_list")
ABSENCES = reverse("people:absence_list")


@pytest.fixture
def en(client):
    return english(client)


def views(action: str = ACCESS_VIEW) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def all_views() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__in=[ACCESS_VIEW, PERSON_VIEW]).order_by("id"))


def recent_change(person: Person) -> Change:
    """A change of the person's, due an hour ago: in the page's default period."""
    due = timezone.now() - datetime.timedelta(hours=1)
    return make_change(account=AccountFactory(person=person), due_at=due)


def give_rows(person: Person) -> None:
    """A row of `person` in each list: a change, a substitution order, an absence."""
    recent_change(person)
    now = timezone.now()
    Substitution.objects.create(
        absentee=person,
        substitute=PersonFactory(),
        starts_at=now,
        ends_at=now + datetime.timedelta(days=3),
        state=Substitution.State.ORDERED,
    )
    today = timezone.localdate()
    Absence.objects.create(
        person=person, starts_on=today, ends_on=today + datetime.timedelta(days=3)
    )


@pytest.fixture
def someone(db) -> Person:
    person = PersonFactory(first_name="Mari", last_name="Maasikas", email="mari.maasikas@amet.ee")
    give_rows(person)
    return person


# Each list: its address, the parameter that names one person, the event, and the rows shown.
LISTS = {
    "changes": (CHANGES, "q", ACCESS_VIEW, "rows"),
    "substitutions": (SUBSTITUTIONS, "person", ACCESS_VIEW, "page"),
    "absences": (ABSENCES, "person", PERSON_VIEW, "page"),
}
DUTIES = {
    (AppRole.DESK_AGENT, ACCESS_VIEW): "role duty: access administration",
    (AppRole.DESK_AGENT, PERSON_VIEW): "role duty: desk work",
    (AppRole.AUDITOR, ACCESS_VIEW): "role duty: audit",
    (AppRole.HR_SPECIALIST, PERSON_VIEW): "role duty: HR work",
    (AppRole.HR_SPECIALIST, ACCESS_VIEW): "role duty: HR work",
}
# Who may open each list (the auditor reads no absences; HR reads no changes).
READERS = [
    ("changes", AppRole.DESK_AGENT),
    ("changes", AppRole.AUDITOR),
    ("substitutions", AppRole.DESK_AGENT),
    ("substitutions", AppRole.AUDITOR),
    ("substitutions", AppRole.HR_SPECIALIST),
    ("absences", AppRole.DESK_AGENT),
    ("absences", AppRole.HR_SPECIALIST),
]


def shown(response, name: str) -> list:
    rows = response.context[LISTS[name][3]]
    return list(rows if name == "changes" else rows.rows)


def get(client, name: str, person: Person | str, *, htmx: bool = False, **params: str):
    url, param, _action, _rows = LISTS[name]
    value = person if isinstance(person, str) else person.email
    headers = {"HX-Request": "true"} if htmx else {}
    return client.get(url, {param: value, **params}, headers=headers)


@pytest.mark.parametrize(("name", "role"), READERS)
def test_a_list_of_one_person_is_one_logged_read(en, someone, name, role):
    viewer = make_user("viewer", role)
    login(en, viewer)
    response = get(en, name, someone)
    assert response.status_code == 200
    assert shown(response, name)  # their rows are shown
    action = LISTS[name][2]
    [event] = all_views()
    assert event.action == action
    assert (event.actor_id, event.subject_person_id) == (viewer.pk, someone.pk)
    assert (event.object_type, event.object_id) == ("people.person", str(someone.pk))
    assert event.purpose == DUTIES[role, action]
    # Again, as htmx refreshes the results, within ten minutes: the same read.
    assert get(en, name, someone, when="all").status_code == 200
    assert get(en, name, someone, htmx=True).status_code == 200
    assert len(all_views()) == 1


@pytest.mark.parametrize("name", LISTS)
def test_the_context_of_the_link_is_the_purpose(en, desk_user, someone, name):
    login(en, desk_user)
    get(en, name, someone, ctx="finding-7")
    get(en, name, someone, ctx="court-order")  # unknown: the role duty
    assert [e.purpose for e in all_views()] == [
        "compliance finding #7",
        DUTIES[AppRole.DESK_AGENT, LISTS[name][2]],
    ]


@pytest.mark.parametrize("name", LISTS)
def test_the_list_across_people_is_not_logged(en, desk_user, someone, name):
    login(en, desk_user)
    response = en.get(LISTS[name][0])
    assert response.status_code == 200
    assert shown(response, name)
    assert not all_views()


@pytest.mark.parametrize("name", LISTS)
def test_ones_own_rows_are_not_logged(en, name):
    desk = make_user("desk2", AppRole.DESK_AGENT, person=PersonFactory(email="kalle@amet.ee"))
    give_rows(desk.person)
    login(en, desk)
    response = get(en, name, desk.person)
    assert shown(response, name)
    assert not all_views()


@pytest.mark.parametrize("name", LISTS)
def test_a_requester_is_refused_whoever_they_name_and_nothing_is_logged(
    en, requester_user, someone, name
):
    me = PersonFactory(user=requester_user, email="mina@amet.ee")
    login(en, requester_user)
    for person in (me, someone, "nobody@amet.ee"):
        assert get(en, name, person).status_code == 403
    assert not all_views()


@pytest.mark.parametrize("name", LISTS)
def test_a_person_who_does_not_exist_logs_nothing(en, desk_user, someone, name):
    login(en, desk_user)
    assert get(en, name, "nobody@amet.ee").status_code == 200
    assert not all_views()


def test_a_search_that_finds_several_persons_is_not_a_read_of_one(en, desk_user, someone):
    other = PersonFactory(first_name="Jüri", last_name="Maasikas")
    mine = recent_change(other)
    login(en, desk_user)
    several = en.get(CHANGES, {"q": "maasikas"})
    assert {r.change.person_id for r in shown(several, "changes")} == {someone.pk, other.pk}
    assert several.context["filtered"]
    assert not all_views()
    one = en.get(CHANGES, {"q": "jüri maasikas"})
    assert [r.change for r in shown(one, "changes")] == [mine]
    assert one.context["filtered"]
    assert [e.subject_person_id for e in all_views()] == [other.pk]


def test_the_access_page_links_to_the_persons_changes_with_its_context(en, desk_user, someone):
    make_change(
        account=AccountFactory(person=someone),
        state=Change.State.PENDING,
        due_at=timezone.now() + datetime.timedelta(days=1),
    )
    login(en, desk_user)
    page = en.get(reverse("access:person_access", args=[someone.pk]), {"ctx": "case-12"})
    link = f"{CHANGES}?q=mari.maasikas%40amet.ee&amp;ctx=case-12"
    assert link in page.content.decode()
    en.get(f"{CHANGES}?q=mari.maasikas%40amet.ee&ctx=case-12")
    # The access page and the list of the person's changes: one read for the case.
    assert [(e.subject_person_id, e.purpose) for e in views()] == [(someone.pk, "case #12")]


@pytest.mark.parametrize("name", LISTS)
def test_a_read_in_the_window_costs_one_select_more(en, desk_user, someone, name, monkeypatch):
    from tugi.people import view_log

    login(en, desk_user)
    get(en, name, someone)  # logged; the reads below fall in its window

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert get(en, name, someone).status_code == 200
        return len(ctx.captured_queries)

    logged = count()
    monkeypatch.setattr(view_log, "log_view", lambda *args, **kwargs: None)
    assert logged == count() + 1


# --- the findings' fix links ---------------------------------------------------------------------


def test_the_fix_links_carry_the_finding_and_opening_one_logs_it(en, desk_user):
    grant = GrantFactory()
    finding = Finding.objects.create(
        kind=Finding.Kind.UNJUSTIFIED_GRANT,
        person=grant.person,
        grant=grant,
        key=f"unjustified_grant:{grant.pk}",
        detail="Põhjus",
    )
    login(en, desk_user)
    fix = f"{reverse('access:grant_detail', args=[grant.pk])}?ctx=finding-{finding.pk}"
    assert fix in en.get(reverse("access:compliance")).content.decode()
    assert not views()  # the compliance page lists across people
    assert en.get(fix).status_code == 200
    [event] = views()
    assert (event.subject_person_id, event.purpose) == (
        grant.person_id,
        f"compliance finding #{finding.pk}",
    )
    # The same link in the findings on the person's access page.
    assert fix in en.get(reverse("access:person_access", args=[grant.person_id])).content.decode()


def test_a_fix_on_a_rule_page_carries_no_context():
    from tugi.access import compliance

    finding = Finding(pk=3, kind=Finding.Kind.SOD_CONFLICT, rule_id=5)
    name, _kwargs, _label = compliance.fix_hint(finding)
    assert compliance.fix_context(finding, name) == ""
    assert compliance.fix_context(finding, "access:account_detail") == "?ctx=finding-3"
