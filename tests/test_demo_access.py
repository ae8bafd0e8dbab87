"""The demo's access part: a realistic catalogue, holdings that follow the job descriptions, and
the deviations compliance is there to find.

The plan is checked without a database; one load, at a frozen moment so that every planned day
resolves to a known datetime, checks that the database holds exactly the plan and that the
compliance evaluation finds exactly the planned deviations.
"""

import datetime
from collections import Counter

import pytest
import time_machine

from tugi.access.compliance import evaluate_all
from tugi.access.models import (
    AccessRequest,
    Account,
    Approval,
    Entitlement,
    Finding,
    Grant,
    GrantSuspension,
    Role,
    SodRule,
    Substitution,
    TargetSystem,
)
from tugi.access.queries import holders_of
from tugi.core.audit import verify_chain
from tugi.core.models import AuditEvent
from tugi.demo.access_loader import date_of, moment
from tugi.demo.access_plan import (
    HISTORY,
    LEAVER,
    MOVED,
    PAST_END,
    SOD,
    RolePlan,
    SodRulePlan,
    SystemPlan,
)
from tugi.demo.loader import load_demo
from tugi.demo.plan import DemoPlan, build_plan
from tugi.people.models import Absence

SKAIS2_MODULES = {
    "pensionid",
    "hüvitised",
    "perehüvitised",
    "elatisabi",
    "puude raskusastme tuvastamine",
    "töövõime hindamine",
    "abivahendid",
    "rehabilitatsioon",
    "ohvriabi",
    "EL sotsiaalkindlustuse koordineerimine",
    "maksed ja finants",
}
# A moment well after the plan's reference date, in winter time, away from midnight.
NOW = datetime.datetime(2027, 3, 10, 8, 30, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def plan() -> DemoPlan:
    return build_plan()


def _login(plan: DemoPlan, username: str) -> str:
    return next(x.person for x in plan.logins if x.username == username)


def _absent_unhandled(plan: DemoPlan) -> set[str]:
    """Who is absent at the load, holds a role to suspend, and was not suspended."""
    access = plan.access
    absent = {a.person for a in access.absences if a.starts <= 0 <= a.ends}
    # Suspended by the desk, or by an exclusive substitution order.
    suspended = {s.person for s in access.suspensions} | {
        s.absentee for s in access.substitutions if s.state == "ordered" and s.exclusive
    }
    holding = {
        account.person
        for account, grant in access.grants()
        if account.through_actions
        and access.role(account.system, grant.role).suspend_during_absence
    }
    return (absent & holding) - suspended


# --- the plan ----------------------------------------------------------------------------------


def test_catalogue_has_the_agencys_systems_and_realistic_roles(plan):
    access = plan.access
    persons = {p.email: p for p in plan.persons}
    systems = {s.code: s for s in access.systems}
    assert list(systems) == ["SKAIS2", "SKAIS1", "STAR", "RR", "AR", "EESSI", "TK", "TEK", "MTA"]
    assert {c for c, s in systems.items() if s.kind == "external"} == {
        "RR",
        "AR",
        "EESSI",
        "TK",
        "TEK",
        "MTA",
    }
    assert systems["SKAIS2"].owner == systems["STAR"].owner == _login(plan, "owner")
    for s in access.systems:
        assert persons[s.owner].status == "active", s.code
        assert s.connector_kind == "manual"  # no connector exists yet
        assert s.name_en and s.contact_channel and s.application_requirements and s.description
    star = systems["STAR"].application_requirements
    for field in ("Nimi", "isikukood", "ametinimetus", "rollid", "e-post", "allkirjastatud"):
        assert field in star
    assert "Siseministeeriumi" in systems["RR"].contact_channel

    assert 40 <= len(access.roles) <= 70
    keys = [(r.system, r.code) for r in access.roles]
    assert len(set(keys)) == len(keys)
    assert {r.system for r in access.roles} == set(systems)
    assert all(r.name and r.name_en and r.description for r in access.roles)
    assert {r.module for r in access.roles if r.system == "SKAIS2"} >= SKAIS2_MODULES
    assert len([r for r in access.roles if r.system == "SKAIS1"]) <= 3
    star_names = {r.name for r in access.roles if r.system == "STAR"}
    for name in (
        "Administraator (kohalik omavalitsus)",
        "Sotsiaaltöötaja (kohalik omavalitsus)",
        "Arveldaja (kohalik omavalitsus)",
        "Administraator (teenuseosutaja)",
        "Teenuseosutaja esindaja",
        "STAR-i kasutajatugi",
    ):
        assert name in star_names

    # Pension-insurance register data: SKAIS roles, and they pass to substitutes.
    pension = [r for r in access.roles if r.sensitivity == "pension_insurance"]
    assert {r.system for r in pension} <= {"SKAIS2", "SKAIS1", "EESSI"}
    assert all(r.delegable for r in pension)
    assert {r.code for r in pension if r.module == "pensionid"} >= {"PEN_PROC", "PKR_EDIT"}
    health = {r.module for r in access.roles if r.sensitivity == "special_category"}
    assert {"puude raskusastme tuvastamine", "töövõime hindamine"} <= health
    assert all(
        r.sensitivity == "administration"
        for r in access.roles
        if "ADMIN" in r.code and r.system != "SKAIS2"
    )
    # External registers: named users until an end date; the population register a year at most.
    for r in access.roles:
        if systems[r.system].kind == "external" and r.system != "EESSI":
            assert r.requires_end_date and r.max_duration_days, r
    assert access.role("RR", "QUERY").max_duration_days == 365
    assert 5 <= sum(r.suspend_during_absence for r in access.roles) <= 20


def test_job_description_duties_justify_the_roles_of_the_work(plan):
    access = plan.access
    jds = {jd.position: jd for jd in plan.job_descriptions}
    keys = {(r.system, r.code) for r in access.roles}
    rows = [(e.position, e.duty, e.system, e.role) for e in access.entitlements]
    assert len(set(rows)) == len(rows)
    for e in access.entitlements:
        assert e.duty < len(jds[e.position].duties)
        assert (e.system, e.role) in keys

    def justified(position: str) -> dict[tuple[str, str], str]:
        return {
            (e.system, e.role): jds[position].duties[e.duty][0]
            for e in reversed(access.entitlements)
            if e.position == position
        }

    pension = justified("PEN-MT-PS")
    assert "pensioni" in pension[("SKAIS2", "PEN_PROC")]
    assert "pensionikindlustuse registris" in pension[("SKAIS2", "PKR_VIEW")]
    desk = justified("ARE-AT-RTS")
    assert {("STAR", "SKA_SUPPORT"), ("SKAIS2", "CLIENT_VIEW"), ("SKAIS2", "USER_ADMIN")} <= set(
        desk
    )
    assert ("SKAIS2", "FIN_PAYFILE") in justified("FIN-VT-VMS")
    assert ("SKAIS2", "FIN_APPROVE") in justified("FIN-VT-TJ")
    assert ("SKAIS2", "FIN_APPROVE") not in justified("FIN-VT-VMS")
    assert ("EESSI", "CLERK_PEN") in justified("PEN-VT-VPS")
    assert ("SKAIS2", "PUUE_EXPERT") in justified("PTH-PT-AE")
    assert ("SKAIS2", "TV_EXPERT") in justified("PTH-TT-AE")
    # Most posts need some system; those that need none are the exception.
    with_roles = {e.position for e in access.entitlements}
    assert len(with_roles) >= 0.8 * len(plan.positions)


def test_holdings_follow_the_job_descriptions_except_for_the_planned_deviations(plan):
    access = plan.access
    persons = {p.email: p for p in plan.persons}
    entitled = {(e.position, e.system, e.role) for e in access.entitlements}
    desk = _login(plan, "desk")
    deviations: Counter[str] = Counter()
    current: dict[str, set[tuple[str, str]]] = {}
    for account, grant in access.grants():
        person = persons[account.person]
        role = access.role(account.system, grant.role)
        deviations[grant.deviation] += 1
        # Every grant names a duty that does justify the role, on some job description …
        assert (grant.duty_position, account.system, grant.role) in entitled
        # … the holder's own, unless the deviation is that it is not.
        assert (grant.duty_position != person.position) == (grant.deviation in (MOVED, SOD))
        if account.through_actions:
            assert person.status in ("active", "on_leave") and person.email != desk
            assert grant.valid_from == 0
            if role.requires_end_date:
                assert isinstance(grant.valid_to, int)
                assert 0 < grant.valid_to <= (role.max_duration_days or 0)
            else:
                assert grant.valid_to is None
            if not grant.deviation:
                current.setdefault(person.email, set()).add((account.system, grant.role))
        else:
            # Past access: of a leaver (fixed dates), or lapsed rights of staff (days back).
            if person.status == "left":
                assert grant.deviation in (HISTORY, LEAVER)
            else:
                assert grant.deviation in (HISTORY, PAST_END)
                assert isinstance(grant.valid_from, int) and grant.valid_from < 0
    assert deviations[MOVED] == 3 and deviations[SOD] == 1 and deviations[PAST_END] == 1
    assert deviations[LEAVER] >= 1 and deviations[HISTORY] >= 5

    # Everybody still here holds exactly what their job description justifies (the desk person
    # and the person whose population-register right lapsed aside: requests ask for those).
    lapsed = next(a.person for a, g in access.grants() if g.deviation == PAST_END)
    for p in plan.persons:
        if p.status == "left" or p.email == desk:
            assert p.email not in current
            continue
        wanted = {(s, r) for pos, s, r in entitled if pos == p.position}
        if p.email == lapsed:
            wanted.discard(("RR", "QUERY"))
        assert current.get(p.email, set()) == wanted, p.email

    # One leaver kept one account open; every other leaver's account is closed.
    open_leaver_accounts = [
        a for a in access.accounts if persons[a.person].status == "left" and a.closed is None
    ]
    assert len(open_leaver_accounts) == 1
    assert all(g.deviation == LEAVER for g in open_leaver_accounts[0].grants)
    # The SoD deviation holds both roles of a rule.
    sod_holder = next(a.person for a, g in access.grants() if g.deviation == SOD)
    held = {(a.system, g.role) for a, g in access.grants() if a.person == sod_holder}
    assert any({r.role_a, r.role_b} <= held for r in access.sod_rules)


def test_absences_and_requests_cover_what_the_desk_meets(plan):
    access = plan.access
    persons = {p.email: p for p in plan.persons}
    absent_now = {a.person for a in access.absences if a.starts <= 0 <= a.ends}
    # Everyone on long leave is absent now; their roles to suspend are suspended.
    on_leave = {p.email for p in plan.persons if p.status == "on_leave"}
    assert on_leave <= absent_now
    assert len(_absent_unhandled(plan)) == 1
    assert {s.person for s in access.suspensions} <= absent_now
    assert any(a.starts > 0 for a in access.absences) and any(a.ends < 0 for a in access.absences)
    for a in access.absences:
        assert a.starts <= a.ends and persons[a.person].status != "left"
    # One substitution in force (ordered by the absentee's unit head), one proposed to come.
    states = Counter(s.state for s in access.substitutions)
    assert states == {"ordered": 1, "proposed": 1}
    absence_of = {(a.person, a.starts): a for a in access.absences}
    for s in access.substitutions:
        absence = absence_of[(s.absentee, s.starts)]
        assert (absence.starts <= 0 <= absence.ends) == (s.state == "ordered")

    states = Counter(r.state for r in access.requests)
    assert set(states) == {"submitted", "approved", "fulfilled", "rejected", "returned"}
    desk = _login(plan, "desk")
    desk_request = next(r for r in access.requests if r.person == desk)
    desk_post = persons[desk].position
    assert {(i.system, i.role) for i in desk_request.items} == {
        (e.system, e.role) for e in access.entitlements if e.position == desk_post
    }


# --- loading -----------------------------------------------------------------------------------


def _systems_back() -> list[SystemPlan]:
    return [
        SystemPlan(
            s.code,
            s.name,
            s.name_en,
            s.kind,
            s.owner.email if s.owner else "",
            s.connector_kind,
            s.contact_channel,
            s.application_requirements,
            s.description,
        )
        for s in TargetSystem.objects.select_related("owner").order_by("id")
    ]


def _roles_back() -> list[RolePlan]:
    return [
        RolePlan(
            r.system.code,
            r.code,
            r.name,
            r.name_en,
            r.module,
            r.description,
            r.sensitivity,
            r.delegable,
            r.requires_end_date,
            r.max_duration_days,
            r.suspend_during_absence,
        )
        for r in Role.objects.select_related("system").order_by("id")
    ]


def _accounts_back() -> set[tuple]:
    """Accounts with their job-description grants, in the plan's terms with datetimes.

    Not the accounts a substitution opened for its substitute: the plan does not list those.
    """
    rows = set()
    only_acting = Account.objects.filter(grants__basis=Grant.Basis.SUBSTITUTION).exclude(
        grants__basis__in=[Grant.Basis.JOB_DESCRIPTION, Grant.Basis.REQUEST]
    )
    for a in Account.objects.exclude(pk__in=only_acting.values("pk")).select_related(
        "person", "system"
    ):
        grants = frozenset(
            (
                g.role.code,
                g.basis_duty.job_description.position.code,
                g.basis_duty.order,
                g.valid_from,
                g.valid_to,
                g.ended_reason,
            )
            for g in a.grants.filter(basis=Grant.Basis.JOB_DESCRIPTION).select_related(
                "role", "basis_duty__job_description__position"
            )
        )
        rows.add(
            (a.person.email, a.system.code, a.username, a.state, a.opened_at, a.closed_at, grants)
        )
    return rows


def _accounts_planned(plan: DemoPlan) -> set[tuple]:
    def at(day):
        return None if day is None else moment(day, NOW)

    return {
        (
            a.person,
            a.system,
            a.username,
            "active" if a.closed is None else "closed",
            at(a.opened),
            at(a.closed),
            frozenset(
                (g.role, g.duty_position, g.duty, at(g.valid_from), at(g.valid_to), g.ended_reason)
                for g in a.grants
            ),
        )
        for a in plan.access.accounts
    }


@pytest.mark.django_db
def test_loaded_access_is_the_plan_and_compliance_finds_exactly_the_deviations(plan):
    access = plan.access
    with time_machine.travel(NOW, tick=False):
        assert load_demo(plan=plan) is True

        # The catalogue, entitlements and SoD rules are the plan's.
        assert _systems_back() == list(access.systems)
        assert _roles_back() == list(access.roles)
        assert {
            (
                e.duty.job_description.position.code,
                e.duty.order,
                e.role.system.code,
                e.role.code,
            )
            for e in Entitlement.objects.select_related(
                "duty__job_description__position", "role__system"
            )
        } == {(e.position, e.duty, e.system, e.role) for e in access.entitlements}
        assert [
            SodRulePlan(
                r.name,
                r.description,
                (r.role_a.system.code, r.role_a.code),
                (r.role_b.system.code, r.role_b.code),
            )
            for r in SodRule.objects.select_related("role_a__system", "role_b__system").order_by(
                "id"
            )
        ] == list(access.sod_rules)

        # Accounts and grants are the plan's, every day resolved against the load.
        assert _accounts_back() == _accounts_planned(plan)
        assert Grant.objects.filter(basis=Grant.Basis.JOB_DESCRIPTION).count() == sum(
            1 for _ in access.grants()
        )
        assert {
            (a.person.email, a.starts_on, a.ends_on, a.kind, a.source)
            for a in Absence.objects.select_related("person")
        } == {
            (a.person, date_of(a.starts, NOW), date_of(a.ends, NOW), a.kind, a.source)
            for a in access.absences
        }
        ordered = next(s for s in access.substitutions if s.state == "ordered")
        order = Substitution.objects.get(state="ordered")
        substituted_roles = {r.code for r in order.roles.all()}
        absence = next(
            a for a in access.absences if (a.person, a.starts) == (ordered.absentee, ordered.starts)
        )
        assert {
            (s.grant.person.email, s.grant.role.code, s.starts_at, s.ends_at)
            for s in GrantSuspension.objects.select_related("grant__person", "grant__role")
        } == {(s.person, s.role, NOW, moment(s.until, NOW)) for s in access.suspensions} | {
            (ordered.absentee, code, NOW, moment(absence.ends + 1, NOW))
            for code in substituted_roles
        }

        # The substitution in force: the substitute holds the absentee's pension roles until
        # the absence ends; the proposal has no grants yet.
        assert order.absentee.email == ordered.absentee
        assert order.substitute.email == ordered.substitute
        assert order.ordered_by.user.username == ordered.ordered_by and order.exclusive
        assert (order.starts_at, order.ends_at) == (
            moment(absence.starts, NOW),
            moment(absence.ends + 1, NOW),
        )
        assert "PEN_DECIDE" in substituted_roles
        assert {
            (g.role.code, g.valid_from, g.valid_to)
            for g in Grant.objects.filter(substitution=order).select_related("role")
        } == {(code, NOW, moment(absence.ends + 1, NOW)) for code in substituted_roles}
        proposal = Substitution.objects.get(state="proposed")
        proposed = next(s for s in access.substitutions if s.state == "proposed")
        assert proposal.absentee.email == proposed.absentee
        assert not Grant.objects.filter(substitution=proposal).exists()
        assert proposal.substitute.position in (
            proposal.absentee.position.job_descriptions.get().substituted_by.all()
        )

        # Every grant names its basis record, and a request's is approved, for that role.
        for grant in Grant.objects.select_related("basis_item__request", "basis_duty"):
            if grant.basis == Grant.Basis.JOB_DESCRIPTION:
                assert Entitlement.objects.filter(duty=grant.basis_duty, role=grant.role).exists()
            elif grant.basis == Grant.Basis.SUBSTITUTION:
                assert grant.substitution is not None
                assert grant.acting_for_id == grant.substitution.absentee_id
            else:
                assert grant.basis == Grant.Basis.REQUEST
                item = grant.basis_item
                assert item is not None and item.state == "fulfilled"
                assert item.role_id == grant.role_id
                assert item.request.person_id == grant.person_id

        # Requests ended in the planned states, each decision made by its approver.
        for r in access.requests:
            request = AccessRequest.objects.get(
                person__email=r.person, justification=r.justification
            )
            assert request.state == r.state
            decided = request.approvals.exclude(decision=Approval.Decision.PENDING)
            assert [a.decided_by.username for a in decided.order_by("order")] == [
                d.username for d in r.decisions
            ]
        assert Grant.objects.filter(basis=Grant.Basis.REQUEST).count() == 1

        # Compliance finds exactly the deviations, for exactly the planned persons.
        summary = evaluate_all()
        assert summary.open == {
            "unjustified_grant": 4,
            "past_end": 1,
            "sod_conflict": 1,
            "leaver_account": 1,
            "absent_active_grant": 1,
        }
        open_findings = Finding.objects.filter(resolved_at__isnull=True).select_related("person")
        found = {(f.kind, f.person.email) for f in open_findings}

        def planned(*deviations: str) -> set[str]:
            return {a.person for a, g in access.grants() if g.deviation in deviations}

        assert {p for k, p in found if k == "unjustified_grant"} == planned(MOVED, SOD)
        assert {p for k, p in found if k == "sod_conflict"} == planned(SOD)
        assert {p for k, p in found if k == "leaver_account"} == planned(LEAVER)
        assert {p for k, p in found if k == "past_end"} == planned(PAST_END)
        assert {p for k, p in found if k == "absent_active_grant"} == _absent_unhandled(plan)

        # History answers "who held it then": the population register a hundred days ago.
        rr = Role.objects.get(system__code="RR", code="QUERY")
        then = moment(-100, NOW)
        assert {g.person.email for g in holders_of(rr, then)} == {
            a.person
            for a, g in access.grants()
            if a.system == "RR" and isinstance(g.valid_from, int) and g.valid_from < 0
        }

    # The audit log: the catalogue by admin, access by the desk, the past by the system.
    assert verify_chain().ok
    actors = Counter(
        (e.action, e.actor_label)
        for e in AuditEvent.objects.filter(action__startswith="access.").only(
            "action", "actor_label"
        )
    )
    assert actors[("access.system.create", "admin")] == len(access.systems)
    assert actors[("access.role.create", "admin")] == len(access.roles)
    assert actors[("access.entitlement.add", "admin")] == len(access.entitlements)
    assert actors[("access.sod_rule.create", "admin")] == len(access.sod_rules)
    through_actions = [g for a, g in access.grants() if a.through_actions]
    assert actors[("access.grant.create", "desk")] == len(through_actions) + 1  # + the request's
    assert actors[("access.grant.suspend", "desk")] == len(access.suspensions)
    history = sum(1 + len(a.grants) for a in access.accounts if not a.through_actions)
    assert AuditEvent.objects.filter(action="demo.history", actor__isnull=True).count() == history
    assert AuditEvent.objects.filter(action="demo.absence").count() == len(access.absences)
    assert actors[("access.substitution.order", "approver")] == 1
    assert actors[("access.substitution.propose", "system")] == 1
