"""The access part of the demo plan: catalogue, entitlements, holdings, deviations and requests.

Pure and deterministic like the rest of the plan: built from `access_data` and the organisation
part of the plan with its own seeded random generator, no database, no clock. Times are *days
relative to the load* (`Day`): 0 is the moment of loading, -30 the midnight (Tallinn) thirty days
before the day of loading, and a `datetime.date` a fixed day (used for the persons who have left,
whose employment dates are fixed in the plan). The loader turns them into datetimes, so the demo
always makes sense relative to today.

What the loader does with each part:
- the catalogue, entitlements and SoD rules go through the catalogue and SoD actions as `admin`;
- an account opened at day 0 and a grant starting at day 0 go through `open_account` and
  `grant_role` as the `desk` user (the desk fulfils access; the administrator's app role holds
  no grant permissions). The desk person's own roles are not granted this way, since nobody
  grants their own access: they are an access request instead (see `requests`);
- anything that starts in the past (history, and the accounts of persons who have left, which
  `open_account` rightly refuses) is written directly, each row with a `demo.history` audit event;
- absences are written directly with a `demo.absence` event, like the rest of the holdings the
  plan places in the past; suspensions go through `suspend_grant`, requests through the request
  actions, substitutions through `order_substitution` (by the unit head) and the engine's own
  proposal for an absence (`propose_for_absence`).
"""

import datetime
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tugi.demo import access_data
from tugi.demo.access_data import ENTITLEMENTS, ROLES, SOD_RULES, SYSTEMS, RoleSpec

if TYPE_CHECKING:
    from tugi.demo.plan import JobDescriptionPlan, LoginPlan, PersonPlan, PositionPlan, UnitPlan

# A day relative to the load (int; 0 is the moment of loading) or a fixed day.
Day = int | datetime.date

ACTIVE, ON_LEAVE, LEFT = "active", "on_leave", "left"
JOB_DESCRIPTION = "job_description"

# Who does what in the demo (usernames of the plan's logins).
CATALOGUE_ACTOR = "admin"
FULFILMENT_ACTOR = "desk"

# Labels of the grants that are there for compliance to find (GrantPlan.deviation).
MOVED = "moved"  # justified by a duty of another post's job description
SOD = "sod"  # breaks a segregation-of-duties rule (and is on another post's duty)
LEAVER = "leaver"  # held by a person who has left, on an account still open
PAST_END = "past_end"  # lapsed on its end date, nobody recorded it, account still active
HISTORY = "history"  # ended in the past, recorded: only history


@dataclass(frozen=True)
class SystemPlan:
    """A target system; the owner by e-mail."""

    code: str
    name: str
    name_en: str
    kind: str
    owner: str
    connector_kind: str
    contact_channel: str
    application_requirements: str
    description: str


@dataclass(frozen=True)
class RolePlan:
    """A role of a system (by the system's code)."""

    system: str
    code: str
    name: str
    name_en: str
    module: str
    description: str
    sensitivity: str
    delegable: bool
    requires_end_date: bool
    max_duration_days: int | None
    suspend_during_absence: bool


@dataclass(frozen=True)
class EntitlementPlan:
    """Duty number `duty` (from 0) of the job description of `position` justifies a role."""

    position: str
    duty: int
    system: str
    role: str


@dataclass(frozen=True)
class SodRulePlan:
    """Two roles, each as (system, code), one person must not hold at the same time."""

    name: str
    description: str
    role_a: tuple[str, str]
    role_b: tuple[str, str]


@dataclass(frozen=True)
class GrantPlan:
    """A role held on a job-description duty (of `duty_position`, usually the holder's own post)."""

    role: str
    duty_position: str
    duty: int
    valid_from: Day
    valid_to: Day | None
    ended_reason: str = ""
    deviation: str = ""


@dataclass(frozen=True)
class AccountPlan:
    """A person's account in a system and the grants on it; open while `closed` is None."""

    person: str
    system: str
    username: str
    opened: Day
    closed: Day | None
    grants: tuple[GrantPlan, ...]

    @property
    def through_actions(self) -> bool:
        """Opened now, by `open_account`; otherwise written as history."""
        return self.opened == 0


@dataclass(frozen=True)
class AbsencePlan:
    """An absence, days inclusive, relative to the day of loading."""

    person: str
    kind: str
    starts: int
    ends: int
    source: str
    note: str


@dataclass(frozen=True)
class SuspensionPlan:
    """Suspend the person's grant of a role from the load until day `until` (exclusive)."""

    person: str
    system: str
    role: str
    until: int
    reason: str


@dataclass(frozen=True)
class SubstitutionPlan:
    """A substitution for one of the plan's absences (the absentee's, from day `starts`).

    An order (`state` "ordered") names the substitute and who orders it (a demo username); a
    proposal ("proposed") is left to the substitution engine, which picks the substitute from
    the job description as its daily run would.
    """

    absentee: str
    starts: int
    state: str
    substitute: str = ""
    ordered_by: str = ""
    exclusive: bool = False
    directive: str = ""


@dataclass(frozen=True)
class RequestItemPlan:
    """One change a request asks for: grant `role` until day `valid_to` (open when None)."""

    kind: str
    system: str
    role: str
    valid_to: int | None


@dataclass(frozen=True)
class DecisionPlan:
    """The current step decided by a demo user: approve, reject or return."""

    username: str
    decision: str
    comment: str


@dataclass(frozen=True)
class RequestPlan:
    """An access request, the decisions made on it, and who fulfils it; `state` is the outcome."""

    person: str
    filed_by: str
    justification: str
    items: tuple[RequestItemPlan, ...]
    decisions: tuple[DecisionPlan, ...]
    fulfilled_by: str
    state: str


@dataclass(frozen=True)
class AccessPlan:
    """The access part of the demo, in the order the loader writes it."""

    systems: tuple[SystemPlan, ...]
    roles: tuple[RolePlan, ...]
    entitlements: tuple[EntitlementPlan, ...]
    sod_rules: tuple[SodRulePlan, ...]
    accounts: tuple[AccountPlan, ...]
    absences: tuple[AbsencePlan, ...]
    suspensions: tuple[SuspensionPlan, ...]
    requests: tuple[RequestPlan, ...]
    substitutions: tuple[SubstitutionPlan, ...]

    def grants(self) -> Iterator[tuple[AccountPlan, GrantPlan]]:
        """Every planned grant with its account."""
        for account in self.accounts:
            for grant in account.grants:
                yield account, grant

    def role(self, system: str, code: str) -> RolePlan:
        """The role with this code in this system."""
        return next(r for r in self.roles if r.system == system and r.code == code)


# --- building ----------------------------------------------------------------------------------


def _ref(ref: str) -> tuple[str, str]:
    """ "SKAIS2:PEN_PROC" → ("SKAIS2", "PEN_PROC")."""
    system, code = ref.split(":")
    return system, code


def _in_units(unit: str, wanted: Sequence[str]) -> bool:
    return not wanted or any(unit == u or unit.startswith(f"{u}-") for u in wanted)


class _Builder:
    """Holds the organisation while the access plan is built from it."""

    def __init__(
        self,
        units: "Sequence[UnitPlan]",
        positions: "Sequence[PositionPlan]",
        job_descriptions: "Sequence[JobDescriptionPlan]",
        persons: "Sequence[PersonPlan]",
        logins: "Sequence[LoginPlan]",
        seed: int,
    ) -> None:
        # A generator of its own, so the organisation part of the plan is unchanged by this one.
        self.rng = random.Random(f"tugi-demo-access-{seed}")
        self.units = {u.code: u for u in units}
        self.positions = {p.code: p for p in positions}
        self.job_descriptions = {jd.position: jd for jd in job_descriptions}
        self.persons = list(persons)
        self.login_of = {x.username: x.person for x in logins}
        self.roles = {(r.system, r.code): r for r in ROLES}
        self.role_order = {(r.system, r.code): n for n, r in enumerate(ROLES)}
        self.system_order = {s.code: n for n, s in enumerate(SYSTEMS)}
        heads = {u.head for u in units}
        logins_ = set(self.login_of.values())
        # Deviations, absences and requests pick ordinary active staff: not a unit head, not a
        # demo user (their own access stays plain), and each person for one story only.
        self.eligible = [
            p
            for p in persons
            if p.status == ACTIVE and p.email not in heads and p.email not in logins_
        ]
        self.used: set[str] = set()
        self.lapsed = ""  # whose population-register right lapsed unnoticed
        self.entitlement_plans = self.entitlements()
        # Position → role → the first duty justifying it.
        self.entitled: dict[str, dict[tuple[str, str], int]] = {}
        for e in self.entitlement_plans:
            self.entitled.setdefault(e.position, {}).setdefault((e.system, e.role), e.duty)

    # --- the catalogue

    def owner(self, ref: str) -> str:
        kind, _sep, rest = ref.partition(":")
        if kind == "login":
            return self.login_of[rest]
        if kind == "head":
            head = self.units[rest].head
            assert head is not None, rest
            return head
        if kind == "post":
            code, _sep, n = rest.partition(":")
            holders = [p for p in self.persons if p.position == code and p.status == ACTIVE]
            return holders[int(n)].email
        raise ValueError(f"unknown owner reference {ref!r}")

    def systems(self) -> tuple[SystemPlan, ...]:
        return tuple(
            SystemPlan(
                s.code,
                s.name,
                s.name_en,
                s.kind,
                self.owner(s.owner),
                access_data.MANUAL,
                s.contact_channel,
                s.application_requirements,
                s.description,
            )
            for s in SYSTEMS
        )

    @staticmethod
    def role_plans() -> tuple[RolePlan, ...]:
        return tuple(
            RolePlan(
                r.system,
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
            for r in ROLES
        )

    def entitlements(self) -> tuple[EntitlementPlan, ...]:
        """For every job description, the roles its duties justify: duty order, then data order."""
        found: list[EntitlementPlan] = []
        for position_code, jd in self.job_descriptions.items():
            position = self.positions[position_code]
            post = position_code[len(position.unit) + 1 :]
            rows: list[tuple[int, int, str]] = []
            for n, spec in enumerate(ENTITLEMENTS):
                if spec.post != post or not _in_units(position.unit, spec.units):
                    continue
                if spec.duty >= len(jd.duties):
                    raise ValueError(f"{position_code} has no duty number {spec.duty}")
                rows.extend((spec.duty, n, ref) for ref in spec.roles)
            rows.sort(key=lambda row: (row[0], row[1]))  # stable: the roles keep their order
            seen: set[tuple[int, str]] = set()
            for duty, _n, ref in rows:
                if (duty, ref) not in seen:
                    seen.add((duty, ref))
                    found.append(EntitlementPlan(position_code, duty, *_ref(ref)))
        return tuple(found)

    @staticmethod
    def sod_rules() -> tuple[SodRulePlan, ...]:
        return tuple(
            SodRulePlan(r.name, r.description, _ref(r.role_a), _ref(r.role_b)) for r in SOD_RULES
        )

    # --- choosing people

    def pick(self, position: str, *, holding: Iterable[tuple[str, str]] = ()) -> "PersonPlan":
        """An eligible holder of the post not used yet (entitled to all `holding`, if given)."""
        need = set(holding)
        candidates = [
            p
            for p in self.eligible
            if p.position == position
            and p.email not in self.used
            and need <= set(self.entitled.get(position, {}))
        ]
        if not candidates:
            raise ValueError(f"no eligible holder of {position} left for the demo's access story")
        person = self.rng.choice(candidates)
        self.used.add(person.email)
        return person

    # --- holdings

    def build(self) -> AccessPlan:
        desk = self.login_of[FULFILMENT_ACTOR]
        extra: dict[str, list[tuple[tuple[str, str], GrantPlan]]] = {}
        skip: dict[str, set[tuple[str, str]]] = {}
        history: dict[str, list[AccountPlan]] = {}

        for post, old_post, duty, ref in access_data.MOVED:
            person = self.pick(post)
            grant = GrantPlan(_ref(ref)[1], old_post, duty, 0, None, deviation=MOVED)
            extra.setdefault(person.email, []).append((_ref(ref), grant))
        post, old_post, duty, ref = access_data.SOD_CONFLICT
        person = self.pick(post)
        grant = GrantPlan(_ref(ref)[1], old_post, duty, 0, None, deviation=SOD)
        extra.setdefault(person.email, []).append((_ref(ref), grant))

        # Population-register access is for a year at a time: two holders whose last year
        # lapsed and was closed (history), one whose lapsed unnoticed (past end, no renewal).
        rr = ("RR", "QUERY")
        for n, post in enumerate(("PEN-VT-VPS", "LAK-LT-LKS", "HYV-ET-EAS")):
            person = self.pick(post, holding=[rr])
            duty = self.entitled[person.position][rr]
            username = person.email.split("@")[0]
            if n < 2:
                grant = GrantPlan(
                    "QUERY",
                    person.position,
                    duty,
                    -420,
                    -55,
                    ended_reason="Õiguse tähtaeg saabus; konto suleti.",
                    deviation=HISTORY,
                )
                history.setdefault(person.email, []).append(
                    AccountPlan(person.email, "RR", username, -420, -55, (grant,))
                )
            else:
                grant = GrantPlan("QUERY", person.position, duty, -380, -15, deviation=PAST_END)
                history.setdefault(person.email, []).append(
                    AccountPlan(person.email, "RR", username, -380, None, (grant,))
                )
                skip.setdefault(person.email, set()).add(rr)
                self.lapsed = person.email

        accounts: list[AccountPlan] = []
        leaver_done = False
        for person in self.persons:
            if person.status == LEFT:
                left, kept_open = self.left_accounts(person, keep_open=not leaver_done)
                accounts.extend(left)
                leaver_done = leaver_done or kept_open
                continue
            accounts.extend(history.get(person.email, ()))
            if person.email == desk:
                continue  # nobody grants their own access: see the requests
            accounts.extend(
                self.current_accounts(
                    person, skip.get(person.email, set()), extra.get(person.email, [])
                )
            )

        absences, suspensions = self.absences(accounts)
        return AccessPlan(
            systems=self.systems(),
            roles=self.role_plans(),
            entitlements=self.entitlement_plans,
            sod_rules=self.sod_rules(),
            accounts=tuple(accounts),
            absences=absences,
            suspensions=suspensions,
            requests=self.requests(),
            substitutions=self.substitutions(),
        )

    def _end_day(self, role: RoleSpec) -> int | None:
        """When a grant made today ends: never, or within the role's longest period."""
        if not role.requires_end_date:
            return None
        longest = min(role.max_duration_days or 365, 365)
        return self.rng.randint(20, longest - 1)

    def current_accounts(
        self,
        person: "PersonPlan",
        skip: set[tuple[str, str]],
        extra: list[tuple[tuple[str, str], GrantPlan]],
    ) -> list[AccountPlan]:
        """The accounts and grants the person's job description justifies, opened today."""
        by_system: dict[str, list[tuple[int, GrantPlan]]] = {}
        for key, duty in self.entitled.get(person.position, {}).items():
            if key in skip:
                continue
            role = self.roles[key]
            grant = GrantPlan(role.code, person.position, duty, 0, self._end_day(role))
            by_system.setdefault(key[0], []).append((self.role_order[key], grant))
        for key, grant in extra:
            by_system.setdefault(key[0], []).append((self.role_order[key], grant))
        username = person.email.split("@")[0]
        return [
            AccountPlan(
                person.email,
                system,
                username,
                0,
                None,
                tuple(g for _n, g in sorted(by_system[system], key=lambda x: x[0])),
            )
            for system in sorted(by_system, key=self.system_order.__getitem__)
        ]

    def left_accounts(
        self, person: "PersonPlan", *, keep_open: bool
    ) -> tuple[list[AccountPlan], bool]:
        """A leaver's past accounts, closed when employment ended.

        With `keep_open`, the person's first own-system account was never closed and its grants
        never ended: the deviation "an account of a person who has left". Returns the accounts
        and whether that deviation was made.
        """
        assert person.employment_end is not None
        entitled = self.entitled.get(person.position, {})
        if not entitled:
            return [], False
        jd = self.job_descriptions[person.position]
        last = person.employment_end
        start = max(person.employment_start, jd.valid_from)
        if start >= last:
            start = person.employment_start
        end = last + datetime.timedelta(days=1)
        by_system: dict[str, list[tuple[int, GrantPlan]]] = {}
        for key, duty in entitled.items():
            role = self.roles[key]
            begins = start
            if role.max_duration_days:
                begins = max(start, end - datetime.timedelta(days=role.max_duration_days))
            grant = GrantPlan(role.code, person.position, duty, begins, end, "Töösuhe lõppes.")
            by_system.setdefault(key[0], []).append((self.role_order[key], grant))
        username = person.email.split("@")[0]
        accounts = []
        left_open = False
        for system in sorted(by_system, key=self.system_order.__getitem__):
            grants = tuple(g for _n, g in sorted(by_system[system], key=lambda x: x[0]))
            internal = next(s for s in SYSTEMS if s.code == system).kind == access_data.INTERNAL
            if keep_open and not left_open and internal:
                left_open = True
                grants = tuple(
                    GrantPlan(g.role, g.duty_position, g.duty, g.valid_from, None, "", LEAVER)
                    for g in grants
                )
                accounts.append(AccountPlan(person.email, system, username, start, None, grants))
            else:
                grants = tuple(
                    GrantPlan(
                        g.role,
                        g.duty_position,
                        g.duty,
                        g.valid_from,
                        g.valid_to,
                        g.ended_reason,
                        HISTORY,
                    )
                    for g in grants
                )
                accounts.append(AccountPlan(person.email, system, username, start, end, grants))
        return accounts, left_open

    # --- absences

    def absences(
        self, accounts: Sequence[AccountPlan]
    ) -> tuple[tuple[AbsencePlan, ...], tuple[SuspensionPlan, ...]]:
        """Long leave (handled), a vacation handled and one not, and some past and future ones."""
        suspendable: dict[str, list[tuple[str, str]]] = {}
        for account in accounts:
            if not account.through_actions:
                continue
            for grant in account.grants:
                if self.roles[(account.system, grant.role)].suspend_during_absence:
                    suspendable.setdefault(account.person, []).append((account.system, grant.role))
        absences: list[AbsencePlan] = []
        suspensions: list[SuspensionPlan] = []

        def suspend(person: str, until: int, reason: str) -> None:
            suspensions.extend(
                SuspensionPlan(person, system, role, until, reason)
                for system, role in suspendable.get(person, ())
            )

        for p in self.persons:
            if p.status == ON_LEAVE:
                ends = self.rng.randint(90, 300)
                absences.append(
                    AbsencePlan(
                        p.email,
                        "parental",
                        -self.rng.randint(60, 200),
                        ends,
                        "manual",
                        "Lapsehoolduspuhkus",
                    )
                )
                suspend(
                    p.email,
                    ends + 1,
                    "Lapsehoolduspuhkus: tundlik õigus on puhkuse ajaks peatatud.",
                )

        schedule = "Põhipuhkus (puhkusegraafik)"
        # On vacation now, holding a role to suspend, and nobody suspended it: a finding.
        forgotten = self.pick("PTH-PT-HIS")
        absences.append(AbsencePlan(forgotten.email, "vacation", -3, 9, "schedule", schedule))
        # On vacation now, and the desk suspended the sensitive role for the time.
        handled = self.pick("PEN-RT-RS")
        absences.append(AbsencePlan(handled.email, "vacation", -2, 6, "schedule", schedule))
        suspend(handled.email, 7, "Põhipuhkus: õigus on puhkuse ajaks peatatud.")
        # Coming up (the lifecycle engine will suspend in time) and one in the past.
        for post, starts, ends in (
            ("OHV-OT-OA", 21, 34),
            ("PEN-MT-PS", 28, 41),
            ("PHO-MT-PHS", -75, -62),
        ):
            absences.append(
                AbsencePlan(self.pick(post).email, "vacation", starts, ends, "schedule", schedule)
            )
        # Substituted (see `substitutions`): the pensions unit's lead specialist is away now,
        # the head of the foreign pensions unit soon.
        absences.append(
            AbsencePlan(self.login_of["specialist"], "vacation", -2, 7, "schedule", schedule)
        )
        head = self.units["PEN-VT"].head
        assert head is not None
        absences.append(AbsencePlan(head, "vacation", 9, 22, "schedule", schedule))
        return tuple(absences), tuple(suspensions)

    # --- substitutions

    def substitutions(self) -> tuple[SubstitutionPlan, ...]:
        """One in force, ordered by the unit head, exclusive; one proposed from the schedule.

        The lead specialist's own rights (among them confirming pension decisions, which is
        suspended during an absence) are suspended while a pension specialist acts for them.
        """
        head = self.units["PEN-VT"].head
        assert head is not None
        return (
            SubstitutionPlan(
                self.login_of["specialist"],
                -2,
                "ordered",
                substitute=self.pick("PEN-MT-PS").email,
                ordered_by="approver",
                exclusive=True,
                directive="Käskkiri nr 1-3/45",
            ),
            SubstitutionPlan(head, 9, "proposed"),
        )

    # --- requests

    def requests(self) -> tuple[RequestPlan, ...]:
        """Requests in every state the approval chain has, decided by the demo users.

        Only the pensions unit's head (`approver`) and the owner of SKAIS2 and STAR (`owner`) are
        demo users, so the requests that move along the chain are for pension specialists and
        for roles of those two systems; the others wait at an approver without a login.
        """
        desk = FULFILMENT_ACTOR
        head, owner = "approver", "owner"
        pension_unit = self.units["PEN-MT"]
        assert pension_unit.head == self.login_of[head], "the approver heads the pensions unit"

        def grant(ref: str, valid_to: int | None = None) -> RequestItemPlan:
            system, code = _ref(ref)
            return RequestItemPlan("grant_role", system, code, valid_to)

        def approve(username: str, comment: str = "") -> DecisionPlan:
            return DecisionPlan(username, "approve", comment)

        desk_person = self.login_of[desk]
        desk_roles = self.entitled[next(p.position for p in self.persons if p.email == desk_person)]
        specialist = self.login_of["specialist"]
        return (
            RequestPlan(
                self.pick("PEN-MT-PS").email,
                desk,
                "Aitab välispensionide talitusel lahendada EL-i koordineerimise juhtumite "
                "ummikut neli kuud.",
                (grant("SKAIS2:EU_COORD", 120),),
                (),
                "",
                "submitted",
            ),
            RequestPlan(
                self.pick("PEN-MT-PS").email,
                desk,
                "Kinnitab pensioniotsuseid juhtivspetsialisti pikema puudumise ajal.",
                (grant("SKAIS2:PEN_DECIDE", 60),),
                (approve(head, "Kooskõlastan juhtivspetsialisti puudumise ajaks."),),
                "",
                "submitted",
            ),
            RequestPlan(
                self.pick("PEN-MT-PS").email,
                desk,
                "Koostab talituse kuuaruandeid ja vaatab omavalitsustega ühiseid juhtumeid.",
                (grant("SKAIS2:STATS"), grant("STAR:SKA_VIEW")),
                (approve(head), approve(owner, "Ainult vaatamise õigus, sobib.")),
                "",
                "approved",
            ),
            RequestPlan(
                self.pick("PEN-MT-PS").email,
                desk,
                "Osaleb kolm kuud EL-i koordineerimise projektis.",
                (grant("SKAIS2:EU_COORD", 90),),
                (approve(head), approve(owner)),
                desk,
                "fulfilled",
            ),
            RequestPlan(
                specialist,
                "specialist",
                "Väljamaksete talitusel on puudus kinnitajatest; saaksin aidata maksepäeval.",
                (grant("SKAIS2:FIN_APPROVE"),),
                (
                    DecisionPlan(
                        head,
                        "reject",
                        "Pensioniotsuste kinnitaja ei tohi kinnitada väljamakseid "
                        "(ametiülesannete lahusus).",
                    ),
                ),
                "",
                "rejected",
            ),
            RequestPlan(
                self.pick("PEN-MT-PS").email,
                desk,
                "Rahvastikuregistri päringud elukoha kontrolliks.",
                (grant("RR:QUERY", 200),),
                (
                    DecisionPlan(
                        head,
                        "return",
                        "Lisage päringute eesmärk ja õiguslik alus, nagu Siseministeerium nõuab.",
                    ),
                ),
                "",
                "returned",
            ),
            RequestPlan(
                self.lapsed,
                desk,
                "Rahvastikuregistri õiguse pikendamine: eelmine aasta lõppes, ametijuhend nõuab "
                "andmevahetust kohtute ja kohtutäituritega.",
                (grant("RR:QUERY", 300),),
                (),
                "",
                "submitted",
            ),
            RequestPlan(
                desk_person,
                desk,
                "Rakendustoe spetsialisti õigused ametijuhendi järgi. Oma õigusi ei saa keegi "
                "endale ise anda, seepärast taotlusega.",
                tuple(
                    grant(f"{system}:{code}", self._request_end(system, code))
                    for system, code in sorted(desk_roles, key=self.role_order.__getitem__)
                ),
                (),
                "",
                "submitted",
            ),
        )

    def _request_end(self, system: str, code: str) -> int | None:
        role = self.roles[(system, code)]
        return min(role.max_duration_days or 365, 365) - 1 if role.requires_end_date else None


def build_access_plan(
    units: "Sequence[UnitPlan]",
    positions: "Sequence[PositionPlan]",
    job_descriptions: "Sequence[JobDescriptionPlan]",
    persons: "Sequence[PersonPlan]",
    logins: "Sequence[LoginPlan]",
    seed: int,
) -> AccessPlan:
    """The access part of the demo for this organisation; the same inputs give the same plan."""
    return _Builder(units, positions, job_descriptions, persons, logins, seed).build()
