"""Catalogue actions: systems, roles and entitlements, validated, permission-checked and audited."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from tests.access.factories import (
    DutyFactory,
    EntitlementFactory,
    GrantFactory,
    RoleFactory,
    TargetSystemFactory,
)
from tests.factories import PersonFactory
from tugi.access.actions import catalogue
from tugi.access.models import Entitlement, Role, TargetSystem
from tugi.core.audit import verify_chain
from tugi.core.models import AuditEvent
from tugi.people.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The messages are checked in English, whatever the installation's language."""
    with translation.override("en"):
        yield


def _system_data(**extra):
    data = {
        "code": "STAR",
        "name": "Sotsiaalteenuste ja -toetuste andmeregister",
        "name_en": "Social services and benefits register",
        "kind": TargetSystem.Kind.INTERNAL,
        "contact_channel": "star@sotsiaalkindlustusamet.ee",
        "application_requirements": "Nimi, isikukood, ametinimetus, rollid, e-post.",
    }
    data.update(extra)
    return data


def _role_data(system, **extra):
    data = {
        "system": system,
        "code": "PEN_PROC",
        "name": "Pensionide menetleja",
        "name_en": "Pension case handler",
        "module": "pensionid",
        "sensitivity": Role.Sensitivity.PENSION_INSURANCE,
        "delegable": True,
    }
    data.update(extra)
    return data


# --- systems -----------------------------------------------------------------------------------


def test_create_system_saves_it_with_its_owner_and_audits_it(admin_user):
    owner = PersonFactory()
    system = catalogue.create_system(admin_user, **_system_data(owner=owner))
    assert system.pk and system.owner == owner
    assert system.connector_kind == TargetSystem.Connector.MANUAL
    event = AuditEvent.objects.get(action="access.system.create")
    assert event.actor_id == admin_user.pk
    assert event.object_id == str(system.pk)
    assert event.after["code"] == "STAR" and event.after["owner_id"] == owner.pk
    assert verify_chain().ok


def test_create_system_names_every_bad_field_and_saves_nothing(admin_user):
    with pytest.raises(ValidationError) as exc:
        catalogue.create_system(admin_user, **_system_data(code="", kind="cloud"))
    assert {"code", "kind"} <= set(exc.value.message_dict)
    assert not TargetSystem.objects.exists()
    assert not AuditEvent.objects.exists()


def test_duplicate_system_code_and_unknown_fields_are_refused(admin_user):
    catalogue.create_system(admin_user, **_system_data())
    with pytest.raises(ValidationError) as exc:
        catalogue.create_system(admin_user, **_system_data(name="Teine"))
    assert "code" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        catalogue.create_system(admin_user, **_system_data(code="X", colour="red"))
    assert exc.value.message_dict == {"colour": ["This field cannot be set here."]}
    assert TargetSystem.objects.count() == 1


def test_a_person_who_has_left_cannot_own_a_system(admin_user):
    gone = PersonFactory(status=Person.Status.LEFT, employment_end=datetime.date(2024, 5, 31))
    with pytest.raises(ValidationError) as exc:
        catalogue.create_system(admin_user, **_system_data(owner=gone))
    assert "has left" in exc.value.message_dict["owner"][0]


def test_update_system_records_only_what_changed(admin_user):
    system = catalogue.create_system(admin_user, **_system_data())
    owner = PersonFactory()
    catalogue.update_system(admin_user, system, owner=owner, contact_channel="star@ska.ee")
    event = AuditEvent.objects.get(action="access.system.update")
    assert event.before == {"owner_id": None, "contact_channel": "star@sotsiaalkindlustusamet.ee"}
    assert event.after == {"owner_id": owner.pk, "contact_channel": "star@ska.ee"}
    # Nothing changed, nothing recorded.
    catalogue.update_system(admin_user, system, owner=owner)
    assert AuditEvent.objects.filter(action="access.system.update").count() == 1


@pytest.mark.parametrize("who", ["desk_user", "requester_user", "auditor_user"])
def test_only_the_administrator_changes_the_catalogue(request, who):
    user = request.getfixturevalue(who)
    system = TargetSystemFactory()
    with pytest.raises(PermissionDenied):
        catalogue.create_system(user, **_system_data())
    with pytest.raises(PermissionDenied):
        catalogue.update_system(user, system, name="Uus nimi")
    with pytest.raises(PermissionDenied):
        catalogue.create_role(user, **_role_data(system))
    with pytest.raises(PermissionDenied):
        catalogue.add_entitlement(user, DutyFactory(), RoleFactory())
    with pytest.raises(PermissionDenied):
        catalogue.remove_entitlement(user, EntitlementFactory())
    with pytest.raises(PermissionDenied):
        catalogue.create_system(None, **_system_data())
    assert not AuditEvent.objects.exists()


# --- roles -------------------------------------------------------------------------------------


def test_create_role_saves_its_rules_and_audits_it(admin_user):
    system = TargetSystemFactory(code="RR")
    role = catalogue.create_role(
        admin_user,
        **_role_data(
            system,
            code="QUERY",
            sensitivity=Role.Sensitivity.PERSONAL_DATA,
            delegable=False,
            requires_end_date=True,
            max_duration_days=365,
        ),
    )
    assert role.system == system and role.is_sensitive
    assert (role.requires_end_date, role.max_duration_days) == (True, 365)
    event = AuditEvent.objects.get(action="access.role.create")
    assert event.after["system_id"] == system.pk and event.after["max_duration_days"] == 365


def test_a_role_code_is_unique_within_its_system_only(admin_user):
    skais, star = TargetSystemFactory(code="SKAIS2"), TargetSystemFactory(code="STAR")
    catalogue.create_role(admin_user, **_role_data(skais, code="ADMIN"))
    catalogue.create_role(admin_user, **_role_data(star, code="ADMIN"))
    with pytest.raises(ValidationError) as exc:
        catalogue.create_role(admin_user, **_role_data(skais, code="ADMIN", name="Teine"))
    assert exc.value.message_dict["code"] == [
        f"{skais.name} already has a role with the code “ADMIN”."
    ]
    assert Role.objects.count() == 2


def test_bad_role_fields_are_named(admin_user):
    system = TargetSystemFactory()
    with pytest.raises(ValidationError) as exc:
        catalogue.create_role(
            admin_user, **_role_data(system, name="", sensitivity="secret", max_duration_days=0)
        )
    assert {"name", "sensitivity", "max_duration_days"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        catalogue.create_role(admin_user, **_role_data(None))
    assert "system" in exc.value.message_dict
    assert not Role.objects.exists()
    assert not AuditEvent.objects.exists()


def test_update_role_changes_its_rules_but_a_held_role_stays_in_its_system(admin_user):
    grant = GrantFactory()
    role = grant.role
    updated = catalogue.update_role(admin_user, role, suspend_during_absence=True, module="x")
    assert updated.suspend_during_absence
    event = AuditEvent.objects.get(action="access.role.update")
    assert event.after == {"suspend_during_absence": True, "module": "x"}
    with pytest.raises(ValidationError) as exc:
        catalogue.update_role(admin_user, role, system=TargetSystemFactory())
    assert "cannot move to another system" in exc.value.message_dict["system"][0]
    role.refresh_from_db()
    assert role.system_id == grant.account.system_id
    # Unheld and unjustified, it may still move.
    free = RoleFactory()
    other = TargetSystemFactory()
    assert catalogue.update_role(admin_user, free, system=other).system == other


# --- entitlements ------------------------------------------------------------------------------


def test_add_entitlement_links_a_duty_to_a_role_and_audits_it(admin_user):
    duty, role = DutyFactory(), RoleFactory()
    entitlement = catalogue.add_entitlement(admin_user, duty, role)
    assert Entitlement.objects.get() == entitlement
    event = AuditEvent.objects.get(action="access.entitlement.add")
    assert event.after == {
        "duty_id": duty.pk,
        "job_description_id": duty.job_description_id,
        "role_id": role.pk,
    }


def test_an_entitlement_is_added_once_and_only_for_a_role_in_use(admin_user):
    duty, role = DutyFactory(), RoleFactory()
    catalogue.add_entitlement(admin_user, duty, role)
    with pytest.raises(ValidationError) as exc:
        catalogue.add_entitlement(admin_user, duty, role)
    assert exc.value.message_dict["role"] == [f"The duty already justifies “{role.name}”."]
    retired = RoleFactory(active=False)
    with pytest.raises(ValidationError) as exc:
        catalogue.add_entitlement(admin_user, duty, retired)
    assert "no longer in use" in exc.value.message_dict["role"][0]
    assert Entitlement.objects.count() == 1


def test_remove_entitlement_deletes_it_and_keeps_what_it_was_in_the_log(admin_user):
    entitlement = EntitlementFactory()
    pk, duty_id, role_id = entitlement.pk, entitlement.duty_id, entitlement.role_id
    catalogue.remove_entitlement(admin_user, entitlement)
    assert not Entitlement.objects.exists()
    event = AuditEvent.objects.get(action="access.entitlement.remove")
    assert event.object_type == "access.entitlement" and event.object_id == str(pk)
    assert event.before["duty_id"] == duty_id and event.before["role_id"] == role_id
    assert verify_chain().ok


def test_editing_a_job_description_keeps_the_roles_its_duties_justify(admin_user):
    """Duties are updated in place: a reworded duty keeps its entitlements; dropping one that
    still justifies a role is refused by name and nothing changes."""
    from tests.access.factories import RoleFactory
    from tests.factories import PositionFactory
    from tugi.access.models import Entitlement
    from tugi.people.actions import save_job_description

    position = PositionFactory()
    jd = save_job_description(
        admin_user,
        position=position,
        valid_from=datetime.date(2025, 1, 1),
        duties=[{"description": "Menetleb pensionitaotlusi"}, {"description": "Nõustab"}],
    )
    first = jd.duties.get(order=0)
    Entitlement.objects.create(duty=first, role=RoleFactory())

    save_job_description(
        admin_user,
        jd,
        position=position,
        valid_from=jd.valid_from,
        duties=[
            {"description": "Menetleb pensionitaotlusi ja -otsuseid"},
            {"description": "Nõustab"},
        ],
    )
    first.refresh_from_db()
    assert first.description == "Menetleb pensionitaotlusi ja -otsuseid"
    assert Entitlement.objects.filter(duty=first).count() == 1

    with pytest.raises(ValidationError, match="cannot be removed") as exc:
        save_job_description(
            admin_user,
            jd,
            position=position,
            valid_from=jd.valid_from,
            duties=[{"description": "Nõustab"}],
        )
    assert "duties" in exc.value.message_dict
    assert jd.duties.count() == 2 and Entitlement.objects.filter(duty=first).exists()
