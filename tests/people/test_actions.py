"""People actions: validation with clear messages, nothing half-saved, every change audited."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import OrgUnitFactory, PersonFactory, PositionFactory, personal_code
from tugi.core.audit import verify_chain
from tugi.core.models import AuditEvent
from tugi.people import actions
from tugi.people.models import OrgUnit, Person

pytestmark = pytest.mark.django_db


def _person_data(unit, **extra):
    data = {
        "first_name": "Jüri",
        "last_name": "Jõgi",
        "email": "Juri.Jogi@sotsiaalkindlustusamet.ee",
        "personal_code": "37605030299",
        "org_unit": unit,
        "employment_start": datetime.date(2024, 3, 1),
    }
    data.update(extra)
    return data


def test_create_person_writes_the_person_and_its_audit_event(admin_user):
    unit = OrgUnitFactory()
    person = actions.create_person(admin_user, **_person_data(unit))
    assert person.email == "juri.jogi@sotsiaalkindlustusamet.ee"
    assert person.search_text == "juri jogi juri.jogi@sotsiaalkindlustusamet.ee"
    event = AuditEvent.objects.get(action="people.person.create")
    assert event.object_id == str(person.pk)
    assert event.subject_person_id == person.pk
    assert event.actor_id == admin_user.pk
    # The log records that a code exists, never the code.
    assert "37605030299" not in str(event.after)
    assert event.after["has_personal_code"] is True
    assert verify_chain().ok


def test_invalid_personal_code_names_the_field_and_saves_nothing(admin_user):
    unit = OrgUnitFactory()
    with pytest.raises(ValidationError) as exc:
        actions.create_person(admin_user, **_person_data(unit, personal_code="37605030298"))
    assert "personal_code" in exc.value.message_dict
    assert "check digit" in exc.value.message_dict["personal_code"][0]
    assert not Person.objects.exists()
    assert not AuditEvent.objects.exists()


def test_duplicate_personal_code_and_email_are_refused(admin_user):
    unit = OrgUnitFactory()
    actions.create_person(admin_user, **_person_data(unit))
    with pytest.raises(ValidationError) as exc:
        actions.create_person(admin_user, **_person_data(unit, email="teine@ska.ee"))
    assert "personal_code" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        actions.create_person(admin_user, **_person_data(unit, personal_code=personal_code()))
    assert "email" in exc.value.message_dict
    assert Person.objects.count() == 1


def test_duplicate_foreign_id_is_refused(admin_user):
    unit = OrgUnitFactory()
    foreign = {"personal_code": None, "foreign_id_country": "lv", "foreign_id_code": "120190-12345"}
    person = actions.create_person(admin_user, **_person_data(unit, **foreign))
    assert person.foreign_id_country == "LV"
    with pytest.raises(ValidationError, match="foreign id"):
        actions.create_person(admin_user, **_person_data(unit, email="x@ska.ee", **foreign))


def test_foreign_id_needs_a_country(admin_user):
    with pytest.raises(ValidationError) as exc:
        actions.create_person(
            admin_user,
            **_person_data(OrgUnitFactory(), personal_code=None, foreign_id_code="X1"),
        )
    assert "foreign_id_country" in exc.value.message_dict


def test_unknown_org_unit_is_refused(admin_user):
    ghost = OrgUnit(pk=999_999, name="Ghost", code="G")
    with pytest.raises(ValidationError) as exc:
        actions.create_person(admin_user, **_person_data(ghost))
    assert "org_unit" in exc.value.message_dict
    assert not Person.objects.exists()


def test_position_of_another_unit_is_refused(admin_user):
    position = PositionFactory()
    with pytest.raises(ValidationError) as exc:
        actions.create_person(admin_user, **_person_data(OrgUnitFactory(), position=position))
    assert "position" in exc.value.message_dict


def test_employment_end_before_start_is_refused(admin_user):
    with pytest.raises(ValidationError, match="before it starts"):
        actions.create_person(
            admin_user,
            **_person_data(OrgUnitFactory(), employment_end=datetime.date(2024, 2, 1)),
        )


def test_manager_cycle_is_refused(admin_user):
    a = PersonFactory()
    b = PersonFactory(manager=a)
    c = PersonFactory(manager=b)
    with pytest.raises(ValidationError) as exc:
        actions.update_person(admin_user, a, manager=c)
    assert "manager" in exc.value.message_dict
    with pytest.raises(ValidationError, match="own manager"):
        actions.update_person(admin_user, a, manager=a)
    a.refresh_from_db()
    assert a.manager is None


def test_update_records_only_what_changed(admin_user):
    person = PersonFactory(phone="")
    actions.update_person(admin_user, person, phone="+372 5123 4567")
    event = AuditEvent.objects.get(action="people.person.update")
    assert event.before == {"phone": ""}
    assert event.after == {"phone": "+372 5123 4567"}


def test_changing_the_personal_code_is_logged_without_the_code(admin_user):
    person = PersonFactory()
    new_code = personal_code()
    actions.update_person(admin_user, person, personal_code=new_code)
    event = AuditEvent.objects.get(action="people.person.update")
    assert event.after == {"personal_code": "changed"}
    assert new_code not in str(event.after) + str(event.before)


def test_update_without_changes_writes_no_event(admin_user):
    person = PersonFactory()
    actions.update_person(admin_user, person, first_name=person.first_name)
    assert not AuditEvent.objects.exists()


def test_unknown_field_is_refused(admin_user):
    with pytest.raises(ValidationError) as exc:
        actions.update_person(admin_user, PersonFactory(), is_superuser=True)
    assert "is_superuser" in exc.value.message_dict


def test_permission_is_checked(requester_user, desk_user):
    with pytest.raises(PermissionDenied):
        actions.create_person(requester_user, **_person_data(OrgUnitFactory()))
    with pytest.raises(PermissionDenied):
        actions.create_org_unit(desk_user, name="X", code="X", kind=OrgUnit.Kind.UNIT)
    with pytest.raises(PermissionDenied):
        actions.create_person(None, **_person_data(OrgUnitFactory()))


def test_org_unit_tree_paths_and_move(admin_user):
    root = actions.create_org_unit(admin_user, name="Amet", code="SKA", kind="agency")
    dept = actions.create_org_unit(
        admin_user, name="Osakond", code="O", kind="department", parent=root
    )
    unit = actions.create_org_unit(admin_user, name="Talitus", code="T", kind="unit", parent=dept)
    sub = actions.create_org_unit(admin_user, name="Rühm", code="R", kind="unit", parent=unit)
    other = actions.create_org_unit(
        admin_user, name="Teine", code="O2", kind="department", parent=root
    )
    assert sub.path == f"/{root.pk}/{dept.pk}/{unit.pk}/{sub.pk}/" and sub.depth == 3

    actions.update_org_unit(admin_user, unit, parent=other)
    sub.refresh_from_db()
    assert sub.path == f"/{root.pk}/{other.pk}/{unit.pk}/{sub.pk}/" and sub.depth == 3

    actions.update_org_unit(admin_user, unit, parent=root)
    sub.refresh_from_db()
    assert sub.path == f"/{root.pk}/{unit.pk}/{sub.pk}/" and sub.depth == 2


def test_org_unit_cycle_is_refused(admin_user):
    root = actions.create_org_unit(admin_user, name="Amet", code="SKA", kind="agency")
    dept = actions.create_org_unit(
        admin_user, name="Osakond", code="O", kind="department", parent=root
    )
    unit = actions.create_org_unit(admin_user, name="Talitus", code="T", kind="unit", parent=dept)
    for new_parent in (unit, dept):
        with pytest.raises(ValidationError) as exc:
            actions.update_org_unit(admin_user, dept, parent=new_parent)
        assert "parent" in exc.value.message_dict
    dept.refresh_from_db()
    assert dept.parent == root


def test_job_description_with_duties_and_substitutes(admin_user):
    unit = OrgUnitFactory()
    lead, spec = PositionFactory(org_unit=unit), PositionFactory(org_unit=unit)
    jd = actions.save_job_description(
        admin_user,
        position=spec,
        valid_from=datetime.date(2025, 1, 1),
        directive="1.1-2/25",
        duties=[
            {"description": "Nõustab teenistujaid SKAISi kasutamisel", "expected_result": "Vastus"},
            {"description": "  "},
        ],
        substitutes=[lead],
        substituted_by=[lead],
    )
    assert list(jd.duties.values_list("description", flat=True)) == [
        "Nõustab teenistujaid SKAISi kasutamisel"
    ]
    assert spec.current_job_description() == jd
    with pytest.raises(ValidationError, match="at least one duty"):
        actions.save_job_description(
            admin_user, position=lead, valid_from=datetime.date(2025, 1, 1), duties=[]
        )
    with pytest.raises(ValidationError, match="substitute itself"):
        actions.save_job_description(
            admin_user,
            position=lead,
            valid_from=datetime.date(2025, 1, 1),
            duties=[{"description": "x"}],
            substitutes=[lead],
        )


def test_viewing_a_personal_code_is_logged_with_its_purpose(desk_user, requester_user):
    person = PersonFactory(personal_code="47101010033")
    assert actions.view_personal_code(desk_user, person, "pöördumine 2026-118") == "47101010033"
    event = AuditEvent.objects.get(action="people.person.view_personal_code")
    assert event.purpose == "pöördumine 2026-118"
    assert event.subject_person_id == person.pk
    with pytest.raises(ValidationError):
        actions.view_personal_code(desk_user, person, " ")
    with pytest.raises(PermissionDenied):
        actions.view_personal_code(requester_user, person, "uudishimu")
    assert AuditEvent.objects.count() == 1
