"""The auditor's audit page and the administrator's user management."""

import datetime

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.factories import PersonFactory, make_user
from tugi.core import audit
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole

pytestmark = pytest.mark.django_db


def test_audit_page_is_for_auditors_only(client, admin_user, desk_user, requester_user):
    url = reverse("core:audit_list")
    assert client.get(url).status_code == 302  # anonymous: to sign-in
    for user in (admin_user, desk_user, requester_user):
        client.force_login(user)
        assert client.get(url).status_code == 403


def test_audit_page_filters_by_person_and_logs_that_read(client, auditor_user, admin_user):
    anne, toomas = PersonFactory(first_name="Anne"), PersonFactory(first_name="Toomas")
    audit.record(admin_user, "people.person.update", anne, subject_person_id=anne.pk)
    audit.record(admin_user, "people.person.update", toomas, subject_person_id=toomas.pk)
    client.force_login(auditor_user)

    response = client.get(reverse("core:audit_list"), {"person": anne.pk})
    assert response.status_code == 200
    events = response.context["events"]
    assert [e.object_id for e in events] == [str(anne.pk)]
    trail_read = AuditEvent.objects.get(action="core.audit.view_person_trail")
    assert trail_read.subject_person_id == anne.pk
    assert trail_read.actor_id == auditor_user.pk


def test_audit_page_filters_by_actor_action_and_period(client, auditor_user, admin_user, desk_user):
    audit.record(admin_user, "people.org_unit.create")
    audit.record(desk_user, "people.person.create")
    client.force_login(auditor_user)
    url = reverse("core:audit_list")

    by_actor = client.get(url, {"actor": "desk"}).context["events"]
    assert [e.action for e in by_actor] == ["people.person.create"]
    by_action = client.get(url, {"action": "people.org_unit"}).context["events"]
    assert [e.actor_label for e in by_action] == ["admin"]
    today = datetime.date.today()
    assert len(client.get(url, {"date_from": today, "date_to": today}).context["events"]) == 2
    earlier = today - datetime.timedelta(days=3)
    assert client.get(url, {"date_to": earlier}).context["events"] == []


def test_audit_page_rejects_a_reversed_period(client, auditor_user):
    client.force_login(auditor_user)
    response = client.get(
        reverse("core:audit_list"), {"date_from": "2026-05-02", "date_to": "2026-05-01"}
    )
    assert response.status_code == 200
    assert "date_to" in response.context["form"].errors


def test_audit_page_paginates_by_keyset(client, auditor_user, admin_user):
    for i in range(120):
        audit.record(admin_user, "test.bulk", after={"i": i})
    client.force_login(auditor_user)
    url = reverse("core:audit_list")
    seen: list[int] = []
    response = client.get(url, {"action": "test.bulk"})
    while True:
        seen += [e.pk for e in response.context["events"]]
        if not response.context["next_url"]:
            break
        response = client.get(url + response.context["next_url"])
    assert len(seen) == 120 == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_audit_detail_shows_before_and_after(client, auditor_user, admin_user):
    event = audit.record(admin_user, "test.change", before={"phone": "1"}, after={"phone": "2"})
    client.force_login(auditor_user)
    response = client.get(reverse("core:audit_detail", args=[event.pk]))
    assert response.status_code == 200
    assert response.context["changes"] == [("phone", "1", "2")]


def test_administrator_creates_a_user_linked_to_a_person(client, admin_user):
    person = PersonFactory(email="kadri.kask@sotsiaalkindlustusamet.ee")
    client.force_login(admin_user)
    response = client.post(
        reverse("core:user_create"),
        {
            "username": "kadri",
            "password": "Pikk-parool-2026",
            "roles": ["desk_agent", "approver"],
            "person_email": "Kadri.Kask@sotsiaalkindlustusamet.ee",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="kadri")
    assert set(user.groups.values_list("name", flat=True)) == {"desk_agent", "approver"}
    person.refresh_from_db()
    assert person.user == user
    assert user.check_password("Pikk-parool-2026")
    assert AuditEvent.objects.filter(action="core.user.create", object_id=str(user.pk)).exists()


def test_user_creation_with_bad_input_saves_nothing(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("core:user_create"),
        {"username": "admin", "password": "123", "person_email": "nobody@ska.ee"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "password" in errors and "person_email" in errors
    assert User.objects.count() == 1


def test_nobody_changes_their_own_roles(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("core:user_edit", args=[admin_user.pk]), {"roles": ["auditor"], "is_active": "on"}
    )
    assert response.status_code == 200
    assert "own app roles" in str(response.context["form"].errors["roles"])
    assert list(admin_user.groups.values_list("name", flat=True)) == ["administrator"]


def test_administrator_changes_roles_and_blocks_sign_in(client, admin_user):
    other = make_user("toomas", AppRole.REQUESTER)
    client.force_login(admin_user)
    response = client.post(reverse("core:user_edit", args=[other.pk]), {"roles": ["auditor"]})
    assert response.status_code == 302
    other.refresh_from_db()
    assert list(other.groups.values_list("name", flat=True)) == ["auditor"]
    assert other.is_active is False
    event = AuditEvent.objects.get(action="core.user.set_roles")
    assert event.before == {"roles": ["requester"]} and event.after == {"roles": ["auditor"]}


def test_user_pages_need_the_permission(client, desk_user, auditor_user):
    for user in (desk_user, auditor_user):
        client.force_login(user)
        assert client.get(reverse("core:user_list")).status_code == 403
        assert client.get(reverse("core:user_create")).status_code == 403


def test_health_check(client):
    assert client.get("/healthz").json() == {"status": "ok"}
