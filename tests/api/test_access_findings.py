"""Compliance findings through the API: open by default, history on request, filters, the way
to each fix, and running the evaluation."""

import pytest
from django.http import HttpResponse
from django.urls import include, path

from tests.access.factories import AccountFactory, GrantFactory, RoleFactory
from tests.api.access_helpers import DAY, ids, later, query_count, walk, walk_back
from tests.factories import OrgUnitFactory, PersonFactory, make_user
from tugi.access.compliance import account_key, grant_key
from tugi.access.models import Finding
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import Person

pytestmark = pytest.mark.django_db

FINDINGS = "/api/v1/findings/"
EVALUATE = "/api/v1/findings/evaluate/"
Kind = Finding.Kind


def _page(request, pk):  # pragma: no cover - only reversed, never requested
    return HttpResponse()


# A URL configuration with only some of the access pages, to test both ways of `fix.url`.
urlpatterns = [
    path("api/v1/", include("tugi.api.urls")),
    path(
        "access/",
        include(([path("grants/<int:pk>/", _page, name="grant_detail")], "access")),
    ),
]


def finding_for(grant=None, *, kind=Kind.UNJUSTIFIED_GRANT, account=None, resolved=False, **kw):
    if account is not None:
        key, person = account_key(account.pk), account.person
    else:
        grant = grant or GrantFactory()
        key, person = grant_key(kind, grant.pk), grant.person
    return Finding.objects.create(
        kind=kind,
        person=person,
        grant=grant,
        account=account,
        key=key,
        detail="Põhjus",
        resolved_at=later(-1) if resolved else None,
        **kw,
    )


def test_open_findings_by_default_and_history_on_request(client_for, desk_user):
    open_one = finding_for()
    other = finding_for(kind=Kind.PAST_END)
    older = finding_for()
    resolved = finding_for(resolved=True)
    client = client_for(desk_user)
    # By kind, the oldest first within each.
    assert ids(client.get(FINDINGS)) == [other.pk, open_one.pk, older.pk]
    assert ids(client.get(FINDINGS, {"resolved": "false"})) == [other.pk, open_one.pk, older.pk]
    assert ids(client.get(FINDINGS, {"resolved": "true"})) == [resolved.pk]
    body = client.get(f"{FINDINGS}{open_one.pk}/").json()
    assert body["kind"] == "unjustified_grant" and body["grant"] == open_one.grant_id
    assert body["person"] == open_one.person_id and body["detail"] == "Põhjus"
    assert body["person_name"] == open_one.person.full_name
    assert body["resolved_at"] is None and body["first_seen"]


def test_findings_filters(client_for, auditor_user):
    department = OrgUnitFactory()
    unit = OrgUnitFactory(parent=department)
    elsewhere = OrgUnitFactory()
    in_unit = finding_for(GrantFactory(account=AccountFactory(person=PersonFactory(org_unit=unit))))
    in_department = finding_for(
        GrantFactory(account=AccountFactory(person=PersonFactory(org_unit=department))),
        kind=Kind.PAST_END,
    )
    away = finding_for(
        GrantFactory(account=AccountFactory(person=PersonFactory(org_unit=elsewhere))),
        kind=Kind.ABSENT_ACTIVE_GRANT,
    )
    client = client_for(auditor_user)

    def listed(query: str) -> set[int]:
        return set(ids(client.get(f"{FINDINGS}?{query}")))

    assert listed(f"org_unit={department.pk}") == {in_unit.pk, in_department.pk}
    assert listed(f"org_unit={unit.pk}") == {in_unit.pk}
    assert listed("kind=past_end") == {in_department.pk}
    assert listed("kind=past_end&kind=absent_active_grant") == {in_department.pk, away.pk}
    assert listed(f"person={away.person_id}") == {away.pk}
    bad = client.get(FINDINGS, {"kind": "bad_vibes", "org_unit": 99999})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"kind", "org_unit"}


@pytest.mark.urls(__name__)
def test_each_finding_links_to_its_fix_where_the_page_exists(client_for, desk_user):
    on_grant = finding_for()
    account = AccountFactory(person=PersonFactory(status=Person.Status.LEFT))
    on_account = finding_for(account=account, kind=Kind.LEAVER_ACCOUNT)
    rows = {r["id"]: r for r in client_for(desk_user).get(FINDINGS).json()["results"]}
    assert rows[on_grant.pk]["fix"] == {
        "label": "End the grant or give it a basis",
        # A page of the person's access: its read is logged with the finding as the purpose.
        "url": f"/access/grants/{on_grant.grant_id}/?ctx=finding-{on_grant.pk}",
    }
    # This configuration has no account page: the label still says what to do.
    assert rows[on_account.pk]["fix"] == {"label": "Close the account", "url": None}


def test_findings_pages_cover_every_finding_once(client_for, desk_user):
    kinds = [Kind.UNJUSTIFIED_GRANT, Kind.PAST_END, Kind.ABSENT_ACTIVE_GRANT] * 3
    made = [finding_for(kind=kind) for kind in kinds]
    client = client_for(desk_user)
    pages = walk(client, f"{FINDINGS}?page_size=4")
    assert [len(p) for p in pages] == [4, 4, 1]
    assert [pk for page in pages for pk in page] == [
        f.pk for f in sorted(made, key=lambda f: (f.kind, f.pk))
    ]
    assert walk_back(client, f"{FINDINGS}?page_size=4") == pages[::-1]


def test_resolved_findings_page_latest_resolved_first(client_for, desk_user):
    from django.utils import timezone

    moment = timezone.now() - DAY
    # One evaluation resolves many at one moment: the order then rests on the kind and the id.
    batch = [finding_for(kind=kind) for kind in [Kind.PAST_END, Kind.UNJUSTIFIED_GRANT] * 3]
    Finding.objects.filter(pk__in=[f.pk for f in batch]).update(resolved_at=moment)
    latest = finding_for()
    Finding.objects.filter(pk=latest.pk).update(resolved_at=moment + DAY / 2)
    finding_for()  # open: not in the history
    expected = [latest.pk] + [
        f.pk for f in sorted(batch, key=lambda f: (f.kind, f.pk), reverse=True)
    ]
    client = client_for(desk_user)
    pages = walk(client, f"{FINDINGS}?resolved=true&page_size=3")
    assert [pk for page in pages for pk in page] == expected
    assert walk_back(client, f"{FINDINGS}?resolved=true&page_size=3") == pages[::-1]


def test_the_finding_list_costs_the_same_queries_however_many(client_for, desk_user):
    client = client_for(desk_user)
    client.get(FINDINGS)
    finding_for()
    few = query_count(client, FINDINGS)
    for _ in range(20):
        finding_for()
    assert query_count(client, FINDINGS) == few <= 5


@pytest.mark.parametrize("role", [AppRole.REQUESTER, AppRole.DOMAIN_SPECIALIST])
def test_findings_need_the_permission(client_for, role):
    finding = finding_for()
    client = client_for(make_user("someone", role))
    assert client.get(FINDINGS).status_code == 403
    assert client.get(f"{FINDINGS}{finding.pk}/").status_code == 403


# --- evaluate ---------------------------------------------------------------------------------


def test_evaluate_opens_and_resolves_and_answers_the_counts(client_for, desk_user):
    grant = GrantFactory()  # its duty belongs to another position: not justified
    stale = finding_for(GrantFactory(valid_to=later(1)), kind=Kind.PAST_END)  # no longer true
    response = client_for(desk_user).post(EVALUATE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
        "open",
        "opened",
        "resolved",
        "total_open",
        "total_opened",
        "total_resolved",
    }
    assert body["opened"]["unjustified_grant"] >= 1 and body["resolved"]["past_end"] == 1
    assert body["total_open"] == sum(body["open"].values())
    assert set(body["open"]) == set(Kind.values)
    assert Finding.objects.filter(grant=grant, resolved_at__isnull=True).exists()
    stale.refresh_from_db()
    assert stale.resolved_at is not None
    event = AuditEvent.objects.get(action="access.compliance.evaluate")
    assert event.actor == desk_user


@pytest.mark.parametrize(
    ("role", "code"),
    [
        (AppRole.DESK_AGENT, 200),
        (AppRole.ADMINISTRATOR, 200),
        (AppRole.AUDITOR, 403),
        (AppRole.APPROVER, 403),
        (AppRole.SYSTEM_OWNER, 403),
        (AppRole.REQUESTER, 403),
    ],
)
def test_evaluate_is_for_the_desk_and_the_administrator(client_for, role, code):
    RoleFactory()
    response = client_for(make_user("someone", role)).post(EVALUATE)
    assert response.status_code == code
    assert AuditEvent.objects.filter(action="access.compliance.evaluate").exists() == (code == 200)


def test_evaluate_is_not_a_get(client_for, desk_user):
    assert client_for(desk_user).get(EVALUATE).status_code == 405


def test_the_fix_links_to_the_access_pages(client_for, desk_user):
    from django.urls import reverse

    finding = finding_for()
    [row] = client_for(desk_user).get(FINDINGS).json()["results"]
    assert row["fix"]["url"] == (
        reverse("access:grant_detail", kwargs={"pk": finding.grant_id})
        + f"?ctx=finding-{finding.pk}"
    )
