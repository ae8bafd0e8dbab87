"""The compliance page: counts per kind, filters, keyset pages, fix links, "evaluate now"."""

import pytest
from django.urls import reverse

from tests.access.factories import AccountFactory, GrantFactory, RoleFactory
from tests.access.views_support import english, login
from tests.factories import OrgUnitFactory, PersonFactory
from tugi.access import page_queries
from tugi.access.models import Finding
from tugi.core.models import AuditEvent
from tugi.people.models import Person

pytestmark = pytest.mark.django_db

PAGE = reverse("access:compliance")
Kind = Finding.Kind


@pytest.fixture
def en(client):
    return english(client)


def _finding(kind=Kind.UNJUSTIFIED_GRANT, person=None, **extra) -> Finding:
    person = person or PersonFactory()
    if kind in (Kind.UNJUSTIFIED_GRANT, Kind.PAST_END, Kind.ABSENT_ACTIVE_GRANT):
        extra.setdefault("grant", GrantFactory(account=AccountFactory(person=person)))
    if kind == Kind.LEAVER_ACCOUNT:
        extra.setdefault("account", AccountFactory(person=person))
    n = Finding.objects.count()
    return Finding.objects.create(
        kind=kind, person=person, key=f"{kind}:{n}", detail=f"Leid {n}", **extra
    )


def test_compliance_is_for_those_who_read_findings(en, requester_user, auditor_user):
    login(en, requester_user)
    assert en.get(PAGE).status_code == 403
    login(en, auditor_user)
    assert en.get(PAGE).status_code == 200


def test_page_lists_open_findings_with_counts_and_fix_links(en, desk_user):
    unjustified = _finding()
    leaver = _finding(Kind.LEAVER_ACCOUNT)
    resolved = _finding()
    Finding.objects.filter(pk=resolved.pk).update(resolved_at="2026-01-01T00:00Z")
    login(en, desk_user)
    response = en.get(PAGE)
    assert [row.finding for row in response.context["rows"]] == [unjustified, leaver]
    counts = {k: n for k, _label, n in response.context["counts"]}
    assert counts[Kind.UNJUSTIFIED_GRANT] == 1 and counts[Kind.LEAVER_ACCOUNT] == 1
    assert response.context["total"] == 2
    html = response.content.decode()
    assert reverse("access:grant_detail", args=[unjustified.grant_id]) in html
    assert reverse("access:account_detail", args=[leaver.account_id]) in html
    assert "Leid 0" in html


def test_every_fix_link_resolves_to_a_page_the_desk_can_open(en, desk_user):
    from tugi.access.models import SodRule

    rule = SodRule.objects.create(name="Lahus", role_a=RoleFactory(), role_b=RoleFactory())
    findings = [
        _finding(),
        _finding(Kind.PAST_END),
        _finding(Kind.ABSENT_ACTIVE_GRANT),
        _finding(Kind.LEAVER_ACCOUNT),
        _finding(Kind.SOD_CONFLICT, rule=rule),
    ]
    login(en, desk_user)
    for row in page_queries.with_fix_hints(findings):
        assert en.get(row.fix_url).status_code == 200, row.fix_url_name


def test_filters_by_kind_and_org_unit(en, auditor_user):
    department = OrgUnitFactory()
    unit = OrgUnitFactory(parent=department)
    inside = _finding(person=PersonFactory(org_unit=unit))
    _finding(person=PersonFactory())
    leaver = _finding(Kind.LEAVER_ACCOUNT, person=PersonFactory(org_unit=department))
    login(en, auditor_user)

    def shown(**params) -> list[Finding]:
        return [row.finding for row in en.get(PAGE, params).context["rows"]]

    assert shown(org_unit=department.pk) == [inside, leaver]
    assert shown(org_unit=department.pk, kind=Kind.LEAVER_ACCOUNT) == [leaver]
    assert shown(kind="no-such-kind", org_unit="x") != []  # a bad filter is dropped
    fragment = en.get(PAGE, {"kind": Kind.PAST_END}, HTTP_HX_REQUEST="true")
    assert b"<html" not in fragment.content
    assert "No open findings match" in fragment.content.decode()


def test_findings_page_by_key(en, auditor_user):
    person = PersonFactory()
    made = [_finding(person=person) for _ in range(page_queries.PAGE_SIZE + 2)]
    login(en, auditor_user)
    first = en.get(PAGE)
    assert len(first.context["rows"]) == page_queries.PAGE_SIZE
    second = en.get(PAGE, {"cursor": first.context["page"].next_cursor})
    seen = [r.finding for r in first.context["rows"] + second.context["rows"]]
    assert seen == made
    back = en.get(PAGE, {"cursor": second.context["page"].prev_cursor})
    assert [r.finding for r in back.context["rows"]] == made[: page_queries.PAGE_SIZE]


def test_empty_state(en, auditor_user):
    login(en, auditor_user)
    assert "No open findings" in en.get(PAGE).content.decode()


def test_desk_evaluates_now_and_sees_what_changed(en, desk_user, auditor_user):
    person = PersonFactory(status=Person.Status.LEFT)
    account = AccountFactory(person=person)
    login(en, auditor_user)
    assert "Evaluate now" not in en.get(PAGE).content.decode()
    assert en.post(reverse("access:compliance_evaluate")).status_code == 403
    login(en, desk_user)
    assert "Evaluate now" in en.get(PAGE).content.decode()
    response = en.post(reverse("access:compliance_evaluate"), follow=True)
    assert "1 new" in response.content.decode()
    assert [row.finding.account for row in response.context["rows"]] == [account]
    assert AuditEvent.objects.filter(action="access.compliance.evaluate").exists()
    assert en.get(reverse("access:compliance_evaluate")).status_code == 405
