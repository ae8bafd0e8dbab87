"""The demo organisation: a deterministic plan, loaded exactly and once, valid, with working logins.

Determinism is tested on the plan (no database needed, and across processes with different hash
seeds); the loader is tested to write exactly the plan, so the two together say that every load
gives the same data.
"""

import datetime
import io
import os
import re
import subprocess
import sys

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from stdnum.fi import hetu
from stdnum.lv import pvn

from tests.factories import make_user
from tugi.access.models import (
    AccessRequest,
    Account,
    Entitlement,
    Grant,
    GrantSuspension,
    Role,
    SodRule,
    TargetSystem,
)
from tugi.core.audit import verify_chain
from tugi.core.models import AuditEvent
from tugi.core.personal_code import birth_date, validate_personal_code
from tugi.core.roles import AppRole
from tugi.demo import data
from tugi.demo.loader import is_loaded, load_demo
from tugi.demo.plan import (
    DemoPlan,
    JobDescriptionPlan,
    LoginPlan,
    PersonPlan,
    PositionPlan,
    UnitPlan,
    build_plan,
    genitive,
)
from tugi.people.models import Absence, Duty, JobDescription, OrgUnit, Person, Position

_DIGEST = "from tugi.demo.plan import build_plan; print(build_plan().digest())"


@pytest.fixture(scope="module")
def plan() -> DemoPlan:
    return build_plan()


def _age(born: datetime.date, on: datetime.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# --- the plan ----------------------------------------------------------------------------------


def test_plan_is_the_same_every_time_and_in_every_process(plan):
    assert build_plan() == plan
    # Another process with another hash seed: set or dict order could not leak into the data.
    digests = {
        subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
            [sys.executable, "-c", _DIGEST],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert digests == {plan.digest()}
    assert build_plan(seed=data.DEMO_SEED + 1).digest() != plan.digest()


def test_plan_has_the_agency_structure(plan):
    by_code = {u.code: u for u in plan.units}
    assert plan.root == UnitPlan(
        "SKA", "Sotsiaalkindlustusamet", "Social Insurance Board", "agency", None, plan.root.head
    )
    departments = {u.name for u in plan.units if u.kind == "department"}
    for name in (
        "arendusosakond",
        "pensioniosakond",
        "hüvitiste osakond",
        "perehüvitiste osakond",
        "puude ja töövõime hindamise osakond",
        "rehabilitatsiooniosakond",
        "ohvriabi osakond",
        "finantsosakond",
        "personaliosakond",
        "õigusosakond",
    ):
        assert name in departments
    assert by_code["ARE-AT"].name == "arendustalitus"
    assert by_code["ARE-AT"].parent == "ARE"
    for unit in plan.units:
        assert unit.name_en and unit.head, unit.code
        assert (unit.parent is None) == (unit.kind == "agency")
        if unit.parent:
            parent_kind = by_code[unit.parent].kind
            assert (parent_kind, unit.kind) in {("agency", "department"), ("department", "unit")}
    assert genitive("pensionide määramise talitus") == "pensionide määramise talituse"
    assert genitive("õigusosakond") == "õigusosakonna"


def test_plan_persons_are_realistic_and_valid(plan):
    persons = plan.persons
    assert 190 <= len(persons) <= 210
    assert len({p.email for p in persons}) == len(persons)
    assert len({p.phone for p in persons}) == len(persons)
    codes = [p.personal_code for p in persons if p.personal_code]
    assert len(set(codes)) == len(codes)
    for p in persons:
        # A reserved domain: a demo with a real mail server configured can never mail real staff.
        email = r"[a-z-]+\.[a-z-]+\d*@sotsiaalkindlustusamet\.example"
        assert re.fullmatch(email, p.email), p.email
        assert re.fullmatch(r"\+372 5\d{3} \d{4}", p.phone), p.phone
        if p.personal_code:
            validate_personal_code(p.personal_code)
            assert 22 <= _age(birth_date(p.personal_code), data.REFERENCE_DATE) <= 65
            assert not p.foreign_id_code
        else:
            valid = {"LV": pvn.is_valid, "FI": hetu.is_valid}[p.foreign_id_country]
            assert valid(p.foreign_id_code), p.foreign_id_code
        assert p.employment_start < data.REFERENCE_DATE
        assert (p.status == "left") == (p.employment_end is not None)
        if p.employment_end:
            assert p.employment_start < p.employment_end < data.REFERENCE_DATE
    assert {p.foreign_id_country for p in persons if not p.personal_code} == {"LV", "FI"}
    assert sum(p.status == "left" for p in persons) == data.LEFT_COUNT
    assert sum(p.status == "on_leave" for p in persons) == data.ON_LEAVE_COUNT
    names = " ".join(p.full_name for p in persons).lower()
    assert set("õäöüšž") <= set(names)


def test_plan_posts_managers_and_substitutes_hang_together(plan):
    units = {u.code: u for u in plan.units}
    positions = {p.code: p for p in plan.positions}
    persons = {p.email: p for p in plan.persons}
    # Every person's post is in their unit, and every post has a holder.
    for p in plan.persons:
        assert positions[p.position].unit == p.unit
    assert {p.position for p in plan.persons} == set(positions)
    # Managers: members report to their unit's head, heads to the parent unit's head; no cycles.
    for p in plan.persons:
        head = units[p.unit].head
        if p.email == head:
            parent = units[p.unit].parent
            assert p.manager == (units[parent].head if parent else None)
        else:
            assert p.manager == head
        seen, node = {p.email}, p.manager
        while node is not None:
            assert node not in seen, f"manager cycle through {node}"
            seen.add(node)
            node = persons[node].manager
    assert persons[plan.root.head].manager is None
    heads = {u.head for u in plan.units}
    assert all(persons[h].status == "active" for h in heads)
    # Job descriptions: one per post, 3-6 duties with results, substitution both ways round.
    jds = {jd.position: jd for jd in plan.job_descriptions}
    assert set(jds) == set(positions)
    for jd in plan.job_descriptions:
        assert jd.purpose and "{" not in jd.purpose
        assert 3 <= len(jd.duties) <= 6
        assert all(duty and result for duty, result in jd.duties)
        assert jd.position not in jd.substitutes + jd.substituted_by
        for other in jd.substituted_by:
            assert jd.position in jds[other].substitutes
        for other in jd.substitutes:
            assert jd.position in jds[other].substituted_by
    assert jds["ARE-AT-TJ"].substituted_by == ("ARE-AT-RTJ",)


def test_plan_has_one_login_per_app_role_and_one_per_unit_head(plan):
    assert {x.role for x in plan.logins} == {r.value for r in AppRole}
    heads = {u.head for u in plan.units if u.head}
    active = {p.email for p in plan.persons if p.status == "active"}
    head_logins = [x for x in plan.logins[8:]]
    assert all(x.role == "approver" and x.person in heads for x in head_logins)
    assert {x.person for x in plan.logins} >= heads & active
    assert len({x.username for x in plan.logins}) == len(plan.logins)
    assert [x.username for x in plan.logins[:8]] == [
        "admin",
        "desk",
        "specialist",
        "approver",
        "owner",
        "auditor",
        "requester",
        "hr",
    ]
    persons = {p.email: p for p in plan.persons}
    by_name = {x.username: persons[x.person] for x in plan.logins}
    assert all(p.status == "active" and p.personal_code for p in by_name.values())
    assert by_name["desk"].unit == "ARE-AT"
    assert by_name["specialist"].unit == "PEN-MT"
    assert by_name["approver"].email == next(u.head for u in plan.units if u.code == "PEN-MT")


# --- loading -----------------------------------------------------------------------------------


def _read_back() -> dict[str, dict]:
    """The demo as the database holds it, in the plan's own shapes, keyed like the plan."""
    units = {
        u.code: UnitPlan(
            u.code,
            u.name,
            u.name_en,
            u.kind,
            u.parent.code if u.parent else None,
            u.head.email if u.head else None,
        )
        for u in OrgUnit.objects.select_related("parent", "head")
    }
    positions = {
        p.code: PositionPlan(p.code, p.title, p.title_en, p.org_unit.code)
        for p in Position.objects.select_related("org_unit")
    }
    jds = {
        jd.position.code: JobDescriptionPlan(
            jd.position.code,
            jd.valid_from,
            jd.directive,
            jd.purpose,
            tuple((d.description, d.expected_result) for d in jd.duties.all()),
            tuple(sorted(p.code for p in jd.substitutes.all())),
            tuple(sorted(p.code for p in jd.substituted_by.all())),
        )
        for jd in JobDescription.objects.select_related("position")
    }
    persons = {
        p.email: PersonPlan(
            p.email,
            p.first_name,
            p.last_name,
            p.phone,
            p.personal_code,
            p.foreign_id_country,
            p.foreign_id_code,
            p.org_unit.code,
            p.position.code if p.position else "",
            p.manager.email if p.manager else None,
            p.employment_start,
            p.employment_end,
            p.status,
        )
        for p in Person.objects.select_related("org_unit", "position", "manager")
    }
    person_of = dict(Person.objects.filter(user__isnull=False).values_list("user_id", "email"))
    logins = {
        u.username: LoginPlan(u.username, "+".join(g.name for g in u.groups.all()), person_of[u.pk])
        for u in User.objects.prefetch_related("groups")
    }
    return {
        "units": units,
        "positions": positions,
        "job_descriptions": jds,
        "persons": persons,
        "logins": logins,
    }


def _counts() -> dict[str, int]:
    models = (
        OrgUnit,
        Position,
        JobDescription,
        Duty,
        Person,
        User,
        Group,
        AuditEvent,
        TargetSystem,
        Role,
        Entitlement,
        SodRule,
        Account,
        Grant,
        GrantSuspension,
        Absence,
        AccessRequest,
    )
    return {m.__name__: m.objects.count() for m in models}


@pytest.mark.django_db
def test_load_writes_exactly_the_plan_through_audited_actions(plan):
    assert not is_loaded(plan)
    assert load_demo(plan=plan) is True
    assert is_loaded(plan)

    assert _read_back() == {
        "units": {u.code: u for u in plan.units},
        "positions": {p.code: p for p in plan.positions},
        "job_descriptions": {jd.position: jd for jd in plan.job_descriptions},
        "persons": {p.email: p for p in plan.persons},
        "logins": {x.username: x for x in plan.logins},
    }
    # What the database itself says, beyond the plan: valid codes, no manager cycles.
    for person in Person.objects.select_related("position", "manager"):
        if person.personal_code:
            validate_personal_code(person.personal_code)
        assert person.position.org_unit_id == person.org_unit_id
        seen, node = {person.pk}, person.manager
        while node is not None:
            assert node.pk not in seen
            seen.add(node.pk)
            node = node.manager
    assert OrgUnit.objects.get(code="ARE-AT").path.startswith(OrgUnit.objects.get(code="ARE").path)

    # The audit log tells the story: the system created admin, admin created the organisation
    # and the catalogue, the desk granted access (tests/test_demo_access.py tells the rest).
    result = verify_chain()
    assert result.ok and result.checked == AuditEvent.objects.count()
    events = list(AuditEvent.objects.order_by("id"))
    assert events[0].action == "demo.load" and events[0].actor_label == "system"
    assert events[0].after["plan_digest"] == plan.digest()
    by_actor = {e.actor_label for e in events if e.action.startswith(("people.", "core."))}
    assert by_actor == {"admin"}
    assert len({e.request_id for e in events}) == 1 and events[0].request_id
    actions = [e.action for e in events]
    assert actions.count("people.person.create") == len(plan.persons)
    assert actions.count("core.user.create") == len(plan.logins) - 1
    assert actions.count("people.org_unit.update") == len(plan.units)


@pytest.mark.django_db
def test_second_run_changes_nothing_and_prints_the_logins(plan):
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert "Loaded the demo organisation" in out.getvalue()
    before = _counts()

    out = io.StringIO()
    call_command("demo", stdout=out)
    assert "already loaded; nothing was changed" in out.getvalue()
    assert _counts() == before
    assert load_demo(plan=plan) is False
    assert _counts() == before
    for login in plan.logins:
        if login.role != "approver" or login.username == "approver":
            assert re.search(rf"^  {login.username}\s+.+\s+demo\s+", out.getvalue(), re.MULTILINE)
    assert "more unit heads as approvers" in out.getvalue()
    assert "[user missing]" not in out.getvalue()


@pytest.mark.django_db
def test_demo_users_hold_their_roles_and_sign_in_with_the_demo_password(plan):
    load_demo(plan=plan)
    for login in plan.logins:
        user = User.objects.get(username=login.username)
        assert sorted(user.groups.values_list("name", flat=True)) == [login.role]
        assert Person.objects.get(user=user).email == login.person
        assert user.email == login.person
        assert Client().login(username=login.username, password=data.DEMO_PASSWORD)
    admin = User.objects.get(username="admin")
    assert admin.has_perm("core.manage_users")
    assert not admin.has_perm("core.view_auditevent")  # separation: the auditor checks admin
    assert User.objects.get(username="auditor").has_perm("core.view_auditevent")
    assert not Client().login(username="admin", password="wrong")


@pytest.mark.django_db
def test_a_database_with_conflicting_data_is_refused_and_left_as_it_was():
    make_user("admin", AppRole.REQUESTER)
    with pytest.raises(CommandError, match="usernames taken: admin"):
        call_command("demo", stdout=io.StringIO())
    assert not OrgUnit.objects.exists()
    assert not AuditEvent.objects.exists()
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_a_database_with_a_system_of_the_same_code_is_refused():
    TargetSystem.objects.create(code="STAR", name="STAR", kind=TargetSystem.Kind.INTERNAL)
    with pytest.raises(CommandError, match="target system codes taken: STAR"):
        call_command("demo", stdout=io.StringIO())
    assert not OrgUnit.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action",
    [
        "tugi.demo.loader.create_person",
        # Late in the load, after the catalogue and every grant: they go too.
        "tugi.demo.access_loader.suspend_grant",
    ],
)
def test_a_failing_action_rolls_the_whole_load_back(plan, monkeypatch, action):
    def refuse(*args, **kwargs):
        raise ValidationError({"email": "refused for the test"})

    monkeypatch.setattr(action, refuse)
    with pytest.raises(CommandError, match="nothing was changed: refused for the test"):
        call_command("demo", stdout=io.StringIO())
    counts = _counts()
    del counts["Group"]  # the app roles, made by migrate
    assert set(counts.values()) == {0}, counts
