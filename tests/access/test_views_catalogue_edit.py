"""Editing the catalogue through its pages: systems, roles, entitlements and SoD rules."""

import pytest
from django.urls import reverse

from tests.access.factories import (
    DutyFactory,
    EntitlementFactory,
    JobDescriptionFactory,
    RoleFactory,
    TargetSystemFactory,
)
from tests.access.views_support import english, login
from tests.factories import PositionFactory
from tugi.access.models import Entitlement, Role, SodRule, TargetSystem
from tugi.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client):
    return english(client)


@pytest.fixture
def admin(en, admin_user):
    return login(en, admin_user)


def _system_data(**overrides):
    data = {
        "code": "SKAIS2",
        "name": "Sotsiaalkindlustuse infosüsteem",
        "name_en": "",
        "kind": TargetSystem.Kind.INTERNAL,
        "description": "",
        "owner": "",
        "connector_kind": TargetSystem.Connector.MANUAL,
        "contact_channel": "",
        "application_requirements": "",
        "active": "on",
    }
    data.update(overrides)
    return data


def _role_data(**overrides):
    data = {
        "code": "MENETLEJA",
        "name": "Menetleja",
        "name_en": "",
        "module": "",
        "description": "",
        "sensitivity": Role.Sensitivity.NORMAL,
        "max_duration_days": "",
        "active": "on",
    }
    data.update(overrides)
    return data


def _position_with_duty():
    position = PositionFactory(code="P-TEST", title="Pensionispetsialist")
    jd = JobDescriptionFactory(position=position)
    return position, DutyFactory(job_description=jd, description="Pensionitaotluste menetlemine")


# --- systems ------------------------------------------------------------------------------------


def test_admin_creates_and_edits_a_system(admin):
    assert "Add a system" in admin.get(reverse("access:system_list")).content.decode()
    response = admin.post(reverse("access:system_create"), _system_data())
    system = TargetSystem.objects.get(code="SKAIS2")
    assert response.status_code == 302
    assert response.url == reverse("access:system_detail", args=[system.pk])
    assert AuditEvent.objects.filter(action="access.system.create", object_id=str(system.pk))

    page = admin.get(reverse("access:system_detail", args=[system.pk])).content.decode()
    assert reverse("access:system_edit", args=[system.pk]) in page
    response = admin.post(
        reverse("access:system_edit", args=[system.pk]), _system_data(name="SKAIS 2")
    )
    assert response.status_code == 302
    system.refresh_from_db()
    assert system.name == "SKAIS 2"
    assert AuditEvent.objects.filter(action="access.system.update", object_id=str(system.pk))


def test_duplicate_system_code_is_refused(admin):
    TargetSystemFactory(code="SKAIS2")
    response = admin.post(reverse("access:system_create"), _system_data())
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert TargetSystem.objects.filter(code="SKAIS2").count() == 1
    assert not AuditEvent.objects.filter(action="access.system.create")


# --- roles --------------------------------------------------------------------------------------


def test_admin_creates_and_edits_a_role(admin):
    system = TargetSystemFactory()
    page = admin.get(reverse("access:system_detail", args=[system.pk])).content.decode()
    assert reverse("access:role_create", args=[system.pk]) in page
    response = admin.post(reverse("access:role_create", args=[system.pk]), _role_data())
    role = Role.objects.get(system=system, code="MENETLEJA")
    assert response.url == reverse("access:role_detail", args=[role.pk])
    assert AuditEvent.objects.filter(action="access.role.create", object_id=str(role.pk))

    response = admin.post(
        reverse("access:role_edit", args=[role.pk]),
        _role_data(sensitivity=Role.Sensitivity.PERSONAL_DATA, max_duration_days="90"),
    )
    assert response.status_code == 302
    role.refresh_from_db()
    assert role.sensitivity == Role.Sensitivity.PERSONAL_DATA and role.max_duration_days == 90
    assert AuditEvent.objects.filter(action="access.role.update", object_id=str(role.pk))


def test_duplicate_role_code_in_the_system_is_refused(admin):
    existing = RoleFactory(code="MENETLEJA")
    response = admin.post(reverse("access:role_create", args=[existing.system_id]), _role_data())
    assert response.status_code == 200
    assert "already has a role" in str(response.context["form"].errors["code"])
    assert Role.objects.filter(system=existing.system, code="MENETLEJA").count() == 1


def test_zero_day_limit_is_refused_on_edit(admin):
    role = RoleFactory()
    response = admin.post(
        reverse("access:role_edit", args=[role.pk]), _role_data(max_duration_days="0")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["max_duration_days"]
    role.refresh_from_db()
    assert role.max_duration_days is None


# --- entitlements -------------------------------------------------------------------------------


def test_admin_adds_and_removes_an_entitlement(admin):
    role = RoleFactory()
    position, duty = _position_with_duty()
    url = reverse("access:entitlement_add", args=[role.pk])

    # Step one: the position's duties are offered.
    response = admin.post(url, {"position": "p-test", "step": "find"})
    assert response.status_code == 200
    assert "Pensionitaotluste menetlemine" in response.content.decode()
    assert not Entitlement.objects.exists()

    response = admin.post(url, {"position": "P-TEST", "duty": duty.pk, "step": "add"})
    assert response.status_code == 302
    entitlement = Entitlement.objects.get(duty=duty, role=role)
    assert AuditEvent.objects.filter(action="access.entitlement.add")

    # The position's page shows what the duty justifies, linked to the role.
    page = admin.get(reverse("people:position_detail", args=[position.pk])).content.decode()
    assert reverse("access:role_detail", args=[role.pk]) in page

    response = admin.post(reverse("access:entitlement_remove", args=[entitlement.pk]))
    assert response.status_code == 302
    assert not Entitlement.objects.exists()
    assert AuditEvent.objects.filter(action="access.entitlement.remove")


def test_entitlement_by_title_and_errors(admin):
    role = RoleFactory()
    _position, duty = _position_with_duty()
    url = reverse("access:entitlement_add", args=[role.pk])
    response = admin.post(url, {"position": "pensionispets", "step": "find"})
    assert response.context["entitlement_form"].has_duties

    response = admin.post(url, {"position": "NOPE", "step": "add"})
    assert response.status_code == 400
    assert response.context["entitlement_form"].errors["position"]

    EntitlementFactory(duty=duty, role=role)
    response = admin.post(url, {"position": "P-TEST", "duty": duty.pk, "step": "add"})
    assert response.status_code == 400
    assert "already justifies" in str(response.context["entitlement_form"].non_field_errors())
    assert Entitlement.objects.count() == 1


def test_duty_of_another_position_is_refused(admin):
    role = RoleFactory()
    _position_with_duty()
    other_duty = DutyFactory()
    response = admin.post(
        reverse("access:entitlement_add", args=[role.pk]),
        {"position": "P-TEST", "duty": other_duty.pk, "step": "add"},
    )
    assert response.status_code == 400
    assert response.context["entitlement_form"].errors["duty"]
    assert not Entitlement.objects.exists()


# --- SoD rules ----------------------------------------------------------------------------------


def test_admin_creates_and_switches_an_sod_rule(admin):
    a, b = RoleFactory(), RoleFactory()
    assert (
        reverse("access:sod_rule_list") in admin.get(reverse("access:system_list")).content.decode()
    )
    response = admin.post(
        reverse("access:sod_rule_create"),
        {"name": "Menetleja ja kinnitaja", "role_a": a.pk, "role_b": b.pk, "description": ""},
    )
    rule = SodRule.objects.get()
    assert response.url == reverse("access:sod_rule_detail", args=[rule.pk])
    assert AuditEvent.objects.filter(action="access.sod_rule.create")
    assert "Menetleja ja kinnitaja" in admin.get(reverse("access:sod_rule_list")).content.decode()

    admin.post(reverse("access:sod_rule_set_active", args=[rule.pk]), {"active": "0"})
    rule.refresh_from_db()
    assert not rule.active
    admin.post(reverse("access:sod_rule_set_active", args=[rule.pk]), {"active": "1"})
    rule.refresh_from_db()
    assert rule.active


def test_sod_rule_needs_two_different_roles(admin):
    a = RoleFactory()
    response = admin.post(
        reverse("access:sod_rule_create"), {"name": "Sama", "role_a": a.pk, "role_b": a.pk}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["role_b"]
    assert not SodRule.objects.exists()


# --- who may edit -------------------------------------------------------------------------------


def test_desk_agent_cannot_edit_the_catalogue(en, desk_user):
    role = RoleFactory()
    _position, duty = _position_with_duty()
    entitlement = EntitlementFactory(role=role)
    rule = SodRule.objects.create(name="R", role_a=role, role_b=RoleFactory())
    login(en, desk_user)
    system_id = role.system_id
    for url in [
        reverse("access:system_create"),
        reverse("access:system_edit", args=[system_id]),
        reverse("access:role_create", args=[system_id]),
        reverse("access:role_edit", args=[role.pk]),
        reverse("access:sod_rule_create"),
    ]:
        assert en.get(url).status_code == 403, url
        assert en.post(url, {}).status_code == 403, url
    posts = [
        (
            reverse("access:entitlement_add", args=[role.pk]),
            {"position": "P-TEST", "duty": duty.pk},
        ),
        (reverse("access:entitlement_remove", args=[entitlement.pk]), {}),
        (reverse("access:sod_rule_set_active", args=[rule.pk]), {"active": "0"}),
    ]
    for url, data in posts:
        assert en.post(url, data).status_code == 403, url
    assert Entitlement.objects.count() == 1 and SodRule.objects.get().active
    # The desk still reads the catalogue, without the edit buttons.
    page = en.get(reverse("access:system_detail", args=[system_id])).content.decode()
    assert reverse("access:system_edit", args=[system_id]) not in page
    assert en.get(reverse("access:sod_rule_list")).status_code == 200
