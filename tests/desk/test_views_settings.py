"""Desk settings: the pages need desk.manage_desk; every change is an admin action with its audit
event; refusals show on the form and save nothing."""

import pytest
from django.urls import reverse

from tests.access.views_support import login
from tests.desk.factories import CaseFactory
from tests.desk.views_support import (
    World,
    catch_mail,
    desk_world,
    english_client,
)
from tugi.core.audit import verify_chain
from tugi.core.models import AuditEvent
from tugi.desk import admin_actions
from tugi.desk.models import Queue, ReplyTemplate, RoutingRule, SlaPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client):
    return english_client(client)


@pytest.fixture
def mail(monkeypatch):
    return catch_mail(monkeypatch)


@pytest.fixture
def w(requester_user, desk_user, admin_user, time_machine, settings, tmp_path, mail) -> World:
    return desk_world(requester_user, desk_user, admin_user, time_machine, settings, tmp_path)


SETTINGS = reverse("desk:settings")


@pytest.mark.parametrize(
    "name",
    [
        "desk:settings",
        "desk:queue_create",
        "desk:sla_policy_create",
        "desk:routing_rule_create",
        "desk:reply_template_create",
    ],
)
def test_settings_pages_need_manage_desk(en, w: World, name):
    for user in (w.requester, w.desk, w.specialist):
        login(en, user)
        assert en.get(reverse(name)).status_code == 403
    login(en, w.admin)
    assert en.get(reverse(name)).status_code == 200


def test_edit_pages_and_moves_need_manage_desk_too(en, w: World):
    rule = admin_actions.create_routing_rule(w.admin, name="Kõik", queue=w.desk_queue)
    login(en, w.desk)
    assert en.get(reverse("desk:queue_edit", args=[w.desk_queue.pk])).status_code == 403
    assert (
        en.post(reverse("desk:routing_rule_move", args=[rule.pk]), {"direction": "up"}).status_code
        == 403
    )
    assert (
        en.post(reverse("desk:queue_edit", args=[w.desk_queue.pk]), {"code": "X"}).status_code
        == 403
    )


def test_the_settings_page_lists_everything(en, w: World):
    SlaPolicy.objects.filter(priority=1).update(name="Kriitiline")
    admin_actions.create_routing_rule(
        w.admin, name="Paroolid", keyword="parool", queue=w.desk_queue
    )
    admin_actions.create_reply_template(w.admin, name="Tervitus", body="Tere, {requester_name}!")
    login(en, w.admin)
    html = en.get(SETTINGS).content.decode()
    for text in (
        "Rakendustugi",
        "Pensionide spetsialistid",
        "Kriitiline",
        "30 min",
        "Paroolid",
        "“parool”",
        "Tervitus",
    ):
        assert text in html, text
    labels = {str(i["label"]) for i in en.get(SETTINGS).context["nav_items"]}
    assert "Desk settings" in labels


def test_create_and_edit_a_queue_with_members(en, w: World):
    login(en, w.admin)
    response = en.post(
        reverse("desk:queue_create"),
        {
            "code": "acc",
            "name": "Ligipääsud",
            "name_en": "Access",
            "kind": "desk",
            "email": "",
            "active": "on",
            "members": [w.desk.pk],
        },
    )
    assert response.status_code == 302
    queue = Queue.objects.get(code="ACC")
    assert list(queue.members.all()) == [w.desk]
    event = AuditEvent.objects.get(action="desk.queue.create")
    assert event.actor == w.admin and event.after["members"] == [w.desk.pk]
    clash = en.post(
        reverse("desk:queue_create"),
        {"code": "ACC", "name": "Teine", "kind": "desk"},
    )
    assert clash.status_code == 200 and "already exists" in clash.content.decode()
    assert Queue.objects.filter(code="ACC").count() == 1
    en.post(
        reverse("desk:queue_edit", args=[queue.pk]),
        {
            "code": "ACC",
            "name": "Ligipääsud ja õigused",
            "kind": "desk",
            "active": "on",
            "members": [w.desk.pk, w.admin.pk],
        },
    )
    queue.refresh_from_db()
    assert queue.name == "Ligipääsud ja õigused" and queue.members.count() == 2
    update = AuditEvent.objects.get(action="desk.queue.update")
    assert update.before["name"] == "Ligipääsud" and len(update.after["members"]) == 2
    assert verify_chain().ok


def test_a_queue_with_open_cases_cannot_be_retired(en, w: World):
    CaseFactory(queue=w.second_queue)
    login(en, w.admin)
    response = en.post(
        reverse("desk:queue_edit", args=[w.second_queue.pk]),
        {"code": "SKAIS", "name": "SKAIS-i tugi", "kind": "desk"},
    )
    assert response.status_code == 200
    assert "still has open cases" in response.content.decode()
    w.second_queue.refresh_from_db()
    assert w.second_queue.active


def test_sla_policies_are_validated(en, w: World):
    login(en, w.admin)
    duplicate = en.post(
        reverse("desk:sla_policy_create"),
        {
            "name": "P1 bis",
            "priority": "1",
            "category": "",
            "first_response_minutes": "10",
            "resolution_minutes": "60",
            "warn_before_minutes": "5",
        },
    )
    assert "already exists" in duplicate.content.decode()
    backwards = en.post(
        reverse("desk:sla_policy_create"),
        {
            "name": "P1 ligipääs",
            "priority": "1",
            "category": "access",
            "first_response_minutes": "120",
            "resolution_minutes": "60",
            "warn_before_minutes": "5",
        },
    )
    assert "cannot be shorter than the first-response target" in backwards.content.decode()
    ok = en.post(
        reverse("desk:sla_policy_create"),
        {
            "name": "P1 ligipääs",
            "priority": "1",
            "category": "access",
            "first_response_minutes": "15",
            "resolution_minutes": "120",
            "warn_before_minutes": "5",
        },
    )
    assert ok.status_code == 302
    policy = SlaPolicy.objects.get(name="P1 ligipääs")
    en.post(
        reverse("desk:sla_policy_edit", args=[policy.pk]),
        {
            "name": "P1 ligipääs",
            "priority": "1",
            "category": "access",
            "first_response_minutes": "20",
            "resolution_minutes": "120",
            "warn_before_minutes": "5",
        },
    )
    policy.refresh_from_db()
    assert policy.first_response_minutes == 20
    assert AuditEvent.objects.filter(action__startswith="desk.sla_policy.").count() == 2


def test_routing_rules_are_created_and_reordered(en, w: World):
    login(en, w.admin)
    for name, keyword in (("Paroolid", "parool"), ("Pensionid", "pension"), ("Muu", "")):
        response = en.post(
            reverse("desk:routing_rule_create"),
            {
                "order": "100",
                "name": name,
                "keyword": keyword,
                "queue": w.desk_queue.pk,
                "active": "on",
            },
        )
        assert response.status_code == 302
    last = RoutingRule.objects.get(name="Muu")
    en.post(reverse("desk:routing_rule_move", args=[last.pk]), {"direction": "up"})
    assert list(RoutingRule.objects.order_by("order", "id").values_list("name", flat=True)) == [
        "Paroolid",
        "Muu",
        "Pensionid",
    ]
    assert list(RoutingRule.objects.order_by("order").values_list("order", flat=True)) == [
        10,
        20,
        30,
    ]
    bad = en.post(
        reverse("desk:routing_rule_create"),
        {
            "order": "5",
            "name": "Adminile",
            "queue": w.second_queue.pk,
            "assignee": w.admin.pk,
            "active": "on",
        },
    )
    assert "is not a member of the queue" in bad.content.decode()


def test_reply_templates_may_use_only_known_placeholders(en, w: World):
    login(en, w.admin)
    bad = en.post(
        reverse("desk:reply_template_create"),
        {"name": "Vigane", "language": "et", "body": "Tere, {nimi}!"},
    )
    assert bad.status_code == 200 and "Unknown placeholder {nimi}" in bad.content.decode()
    assert not ReplyTemplate.objects.exists()
    ok = en.post(
        reverse("desk:reply_template_create"),
        {"name": "Tervitus", "language": "et", "body": "Tere, {requester_name}!"},
    )
    assert ok.status_code == 302
    template = ReplyTemplate.objects.get()
    en.post(
        reverse("desk:reply_template_edit", args=[template.pk]),
        {"name": "Tervitus", "language": "en", "body": "Hello, {requester_name}!"},
    )
    template.refresh_from_db()
    assert template.language == "en"
    assert AuditEvent.objects.filter(action="desk.reply_template.update").exists()


def test_admin_actions_refuse_without_the_permission(w: World):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        admin_actions.create_queue(w.desk, code="X", name="X")
    with pytest.raises(PermissionDenied):
        admin_actions.update_sla_policy(w.desk, SlaPolicy.objects.first(), name="Y")


def test_admin_actions_validate_everything_and_save_nothing_on_refusal(w: World):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        admin_actions.create_queue(w.admin, code="desk", name="Teine", members=[w.desk])
    assert "already has the code" in str(exc.value.message_dict["code"])
    with pytest.raises(ValidationError) as exc:
        admin_actions.create_sla_policy(
            w.admin, name="P1 bis", priority=1, first_response_minutes=10, resolution_minutes=60
        )
    assert "already a policy" in str(exc.value)
    with pytest.raises(ValidationError):
        admin_actions.create_queue(w.admin, code="X", name="X", colour="red")
    assert Queue.objects.count() == 3
    assert not AuditEvent.objects.filter(action__startswith="desk.queue.").exists()
