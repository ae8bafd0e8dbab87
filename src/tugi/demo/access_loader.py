"""Loading the access part of the demo: the catalogue, holdings, deviations and requests.

Called by `loader` inside its transaction, after the organisation. Who acts, and why:

- `admin` writes the catalogue (systems, roles, entitlements, SoD rules) through the catalogue
  and SoD actions: the administrator's app role holds exactly those permissions.
- `desk` opens accounts and grants roles through `open_account` and `grant_role`: fulfilling
  access is the desk's work, and the administrator's app role holds no grant permissions. The
  desk person's own roles are not granted (nobody changes their own access); the plan asks for
  them with an access request instead.
- What lies in the past cannot go through the actions, which only ever reach into the future:
  past accounts and grants (history, and a leaver's never-closed account, which `open_account`
  rightly refuses) are written directly, each with a `demo.history` audit event by the system
  actor, like the loader's own `demo.load`. Absences are written directly with a `demo.absence`
  event, as they were before the absence actions existed (some lie in the past).
- Suspensions and access requests go through their actions, as the demo users named in the plan.
- Substitutions: an order goes through `order_substitution` as the unit head who gives it (the
  substitute's grants and the exclusive suspensions are the system's, as always); a proposal is
  made by the engine itself (`propose_for_absence`), as its daily run would.

Every day in the plan is resolved against one `now`, taken when this part starts, so the demo
makes sense relative to the day it is loaded.
"""

import datetime
import zoneinfo
from collections.abc import Callable, Mapping

from django.contrib.auth.models import User
from django.utils import timezone

from tugi.access import policy
from tugi.access.actions import catalogue, requests, sod
from tugi.access.actions import substitution as substitutions
from tugi.access.actions.grants import grant_role, open_account, suspend_grant
from tugi.access.models import Account, Approval, Grant, Role, TargetSystem
from tugi.core import audit
from tugi.demo.access_plan import (
    CATALOGUE_ACTOR,
    FULFILMENT_ACTOR,
    JOB_DESCRIPTION,
    AccessPlan,
    AccountPlan,
    Day,
    RequestPlan,
    SubstitutionPlan,
)
from tugi.people.models import Absence, Duty, Person

TALLINN = zoneinfo.ZoneInfo("Europe/Tallinn")
HISTORY_ACTION = "demo.history"
ABSENCE_ACTION = "demo.absence"
_GRANT_FIELDS = [
    "account_id",
    "role_id",
    "person_id",
    "valid_from",
    "valid_to",
    "basis",
    "basis_duty_id",
    "ended_reason",
]


# A plan decision → the action that makes it on the current approval step.
_DECIDE: dict[str, Callable[[User, Approval, str], Approval]] = {
    "approve": requests.approve,
    "reject": requests.reject,
    "return": requests.return_for_changes,
}


def moment(day: Day, now: datetime.datetime) -> datetime.datetime:
    """A plan day as a datetime: 0 is `now`, other days their midnight in Tallinn."""
    if isinstance(day, int):
        if day == 0:
            return now
        day = timezone.localdate(now, TALLINN) + datetime.timedelta(days=day)
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=TALLINN)


def date_of(day: int, now: datetime.datetime) -> datetime.date:
    """A plan day as a date in Tallinn."""
    return timezone.localdate(now, TALLINN) + datetime.timedelta(days=day)


class _Loader:
    """Writes an AccessPlan; holds the lookups from plan keys to rows."""

    def __init__(
        self,
        plan: AccessPlan,
        users: Mapping[str, User],
        persons: Mapping[str, Person],
        now: datetime.datetime,
    ) -> None:
        self.plan = plan
        self.users = users
        self.persons = persons
        self.now = now
        self.systems: dict[str, TargetSystem] = {}
        self.roles: dict[tuple[str, str], Role] = {}
        self.duties: dict[tuple[str, int], Duty] = {}

    def at(self, day: Day | None) -> datetime.datetime | None:
        return None if day is None else moment(day, self.now)

    def run(self) -> None:
        self.catalogue()
        self.holdings()
        self.absences()
        self.suspensions()
        for request in self.plan.requests:
            self.request(request)
        for substitution in self.plan.substitutions:
            self.substitution(substitution)

    def catalogue(self) -> None:
        admin = self.users[CATALOGUE_ACTOR]
        for s in self.plan.systems:
            self.systems[s.code] = catalogue.create_system(
                admin,
                code=s.code,
                name=s.name,
                name_en=s.name_en,
                kind=s.kind,
                description=s.description,
                owner=self.persons[s.owner],
                connector_kind=s.connector_kind,
                contact_channel=s.contact_channel,
                application_requirements=s.application_requirements,
            )
        for r in self.plan.roles:
            self.roles[(r.system, r.code)] = catalogue.create_role(
                admin,
                system=self.systems[r.system],
                code=r.code,
                name=r.name,
                name_en=r.name_en,
                module=r.module,
                description=r.description,
                sensitivity=r.sensitivity,
                delegable=r.delegable,
                requires_end_date=r.requires_end_date,
                max_duration_days=r.max_duration_days,
                suspend_during_absence=r.suspend_during_absence,
            )
        # The demo has one job description per post: a duty is (post, its number).
        for duty in Duty.objects.select_related("job_description__position"):
            self.duties[(duty.job_description.position.code, duty.order)] = duty
        for e in self.plan.entitlements:
            catalogue.add_entitlement(
                admin, self.duties[(e.position, e.duty)], self.roles[(e.system, e.role)]
            )
        for rule in self.plan.sod_rules:
            sod.create_sod_rule(
                admin,
                name=rule.name,
                description=rule.description,
                role_a=self.roles[rule.role_a],
                role_b=self.roles[rule.role_b],
            )

    def holdings(self) -> None:
        desk = self.users[FULFILMENT_ACTOR]
        for plan in self.plan.accounts:
            if plan.through_actions:
                person = self.persons[plan.person]
                account = open_account(
                    desk, person, self.systems[plan.system], username=plan.username
                )
                for g in plan.grants:
                    grant_role(
                        desk,
                        account,
                        self.roles[(plan.system, g.role)],
                        valid_from=self.now,
                        valid_to=self.at(g.valid_to),
                        basis=JOB_DESCRIPTION,
                        basis_duty=self.duties[(g.duty_position, g.duty)],
                    )
            else:
                self.history(plan)

    def history(self, plan: AccountPlan) -> None:
        """Past access, written directly: the actions only reach into the future."""
        person = self.persons[plan.person]
        account = Account(
            person=person,
            system=self.systems[plan.system],
            username=plan.username,
            state=Account.State.ACTIVE if plan.closed is None else Account.State.CLOSED,
            opened_at=self.at(plan.opened),
            closed_at=self.at(plan.closed),
        )
        account.full_clean()
        account.save()
        audit.record(
            None,
            HISTORY_ACTION,
            account,
            after=audit.snapshot(account),
            basis="demo: past access",
            subject_person_id=person.pk,
        )
        for g in plan.grants:
            grant = Grant(
                account=account,
                role=self.roles[(plan.system, g.role)],
                person=person,
                valid_from=moment(g.valid_from, self.now),
                valid_to=self.at(g.valid_to),
                basis=JOB_DESCRIPTION,
                basis_duty=self.duties[(g.duty_position, g.duty)],
                ended_reason=g.ended_reason,
            )
            grant.full_clean()
            grant.save()
            audit.record(
                None,
                HISTORY_ACTION,
                grant,
                after=audit.snapshot(grant, _GRANT_FIELDS),
                basis="demo: past access",
                subject_person_id=person.pk,
            )

    def absences(self) -> None:
        for a in self.plan.absences:
            person = self.persons[a.person]
            absence = Absence(
                person=person,
                kind=a.kind,
                starts_on=date_of(a.starts, self.now),
                ends_on=date_of(a.ends, self.now),
                source=a.source,
                note=a.note,
            )
            absence.full_clean()
            absence.save()
            audit.record(
                None,
                ABSENCE_ACTION,
                absence,
                after=audit.snapshot(absence),
                basis="demo: absence",
                subject_person_id=person.pk,
            )

    def suspensions(self) -> None:
        desk = self.users[FULFILMENT_ACTOR]
        for s in self.plan.suspensions:
            grant = Grant.objects.get(
                person=self.persons[s.person],
                role=self.roles[(s.system, s.role)],
                acting_for__isnull=True,
                valid_from=self.now,
            )
            suspend_grant(desk, grant, reason=s.reason, ends_at=self.at(s.until))

    def substitution(self, s: SubstitutionPlan) -> None:
        absentee = self.persons[s.absentee]
        absence = Absence.objects.get(person=absentee, starts_on=date_of(s.starts, self.now))
        if s.state == "proposed":
            if substitutions.propose_for_absence(absence, now=self.now) is None:
                raise RuntimeError(f"the demo absence of {s.absentee} got no proposal")
            return
        orderer = self.users[s.ordered_by]
        substitutions.order_substitution(
            orderer,
            absentee=absentee,
            substitute=self.persons[s.substitute],
            starts_at=moment(absence.starts_on, self.now),
            ends_at=moment(absence.ends_on + datetime.timedelta(days=1), self.now),
            ordered_by=Person.objects.get(user=orderer),
            exclusive=s.exclusive,
            absence=absence,
            directive=s.directive,
        )

    def request(self, r: RequestPlan) -> None:
        items: list[requests.ItemData] = [
            {
                "kind": item.kind,
                "system": self.systems[item.system],
                "role": self.roles[(item.system, item.role)],
                "valid_to": self.at(item.valid_to),
            }
            for item in r.items
        ]
        request = requests.file_request(
            self.users[r.filed_by], self.persons[r.person], items, r.justification
        )
        for d in r.decisions:
            approval = policy.current_approval(request)
            if approval is None:
                raise RuntimeError(f"the demo request for {r.person} has no step for {d.username}")
            _DECIDE[d.decision](self.users[d.username], approval, d.comment)
            request.refresh_from_db()
        if r.fulfilled_by:
            for item in request.items.order_by("id"):
                requests.fulfil_item(self.users[r.fulfilled_by], item)
            request.refresh_from_db()
        if request.state != r.state:
            raise RuntimeError(
                f"the demo request for {r.person} ended {request.state}, the plan says {r.state}"
            )


def load_access(plan: AccessPlan, users: Mapping[str, User]) -> datetime.datetime:
    """Write the access plan (the demo users by username); returns the `now` it used."""
    now = timezone.now()
    # Read afresh: the instances the organisation was written with predate the unit heads.
    persons = {p.email: p for p in Person.objects.select_related("org_unit__head")}
    _Loader(plan, users, persons, now).run()
    return now
