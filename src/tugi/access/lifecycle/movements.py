"""What joiners, movers and leavers get and lose, when HR data says a person joined, moved or left.

Called by the HR import (file, command or the HR system's push) after it has written the
persons, in the same transaction. The roles follow the job description, on the policies in
settings (docs/operations.md, "Lifecycle policies"):

- A **joiner** (a new person, or one coming back after leaving) is entitled to the roles of the
  duties of their position's job description in force on the first day. `TUGI_JOINER_POLICY`
  "grant": their accounts are opened and the roles granted on the job-description basis, from
  the first working day (or now, if that has passed: nothing is backdated) until the employment
  ends; "request": an access request with those items is filed on their behalf by the user who
  applied the import, and goes through the approval chain like any other.
- A **mover** (new position or unit) keeps, for `TUGI_MOVER_GRACE_DAYS` full days after the
  move, the job-description roles the new position no longer justifies (time to hand work
  over), then they end. Roles the new position also justifies continue without a gap on the new
  job description: the grant on the old duty ends now and one on the new duty starts now, so
  the history says truthfully which document justified the role when. Newly justified roles are
  granted or requested as for joiners.
- A **leaver** (employment end set or changed): every grant still open when the last day ends
  ends then, whatever its basis, and the engine plans the accounts' suspension at that moment
  and closure `TUGI_LEAVER_CLOSE_AFTER_DAYS` later (`plan.sync_leavers`). A last day already
  past (HR told late) ends the grants now, and the suspension is planned at the real time, so it
  is applied at once and its lateness shows. A last day moved later, or removed, gives the
  person back the job-description roles that had been set to end with the old date.

**Set-based, as the grant actions' bulk twin.** A month's export moves hundreds of people and
thousands of grants; through `grant_role` and `end_grant` one at a time that is about 6 ms a
grant (a dozen statements each), minutes for a large agency. So the consequences of a batch of
persons are planned first (reads only) and then carried out together: accounts and grants
inserted in bulk, ends in one bulk update, one audit event per account or grant change written
in one multi-row insert (`audit.record_many`), and the lifecycle engine told once
(`plan.sync_grants`, `plan.sync_leavers`). The rules are the primitives' own
(`tugi.access.actions.grants`): the same checks (`check_person_can_hold_access`,
`check_role_period`, an open account, no overlapping grant of the role), ends never in the past
and idempotent (a grant already ending by then is left alone; one not yet started ends a
microsecond after its start: it never held). The writing is the grant actions' bulk twins
(`open_accounts_in_bulk`, `end_grants_in_bulk`, `grant_roles_in_bulk`, `record_bulk`): the same
audit events and, for every ended grant, the substitution engine's `follow_own_grant`.

The system is the actor: these consequences follow from the HR data and the policy, not from
the discretion of whoever applied the import (who need not hold the desk's right to grant by
hand); the import action checked that user's right to import. The audit events share the
import's request id. What cannot be done (a role that needs an end date, a suspended account,
no approver for a request) is reported back as a problem for the desk and does not stop the
import.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tugi.access.actions import grants as grant_actions
from tugi.access.actions import requests as request_actions
from tugi.access.lifecycle import plan
from tugi.access.models import Account, Entitlement, Grant, Role, TargetSystem
from tugi.access.rules import check_person_can_hold_access, check_role_period
from tugi.people.models import Duty, JobDescription, Person

# Problems kept for the page; the counts are always complete.
MAX_PROBLEMS = 500
_TICK = datetime.timedelta(microseconds=1)


@dataclass
class Movement:
    """What the HR data says happened to one person (already written)."""

    person: Person
    row: int
    joins: bool = False
    moves: bool = False
    end_changed: bool = False
    old_end: datetime.date | None = None


@dataclass
class Outcome:
    """What the consequences were: counts, and what could not be done (row, person, message)."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[dict[str, Any]] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, movement: Movement, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                {"row": movement.row, "person": str(movement.person), "message": message}
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            **dict(self.counts),
            "problems": self.problems,
            "problem_count": self.problem_count,
        }


def _message(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, PermissionDenied):
        return str(exc) or _("You do not have permission to do this.")
    return " ".join(exc.messages)


def end_at_of(end: datetime.date | None) -> datetime.datetime | None:
    """When access ends for a last working day: midnight after it, Tallinn time."""
    return plan.day_start(end + datetime.timedelta(days=1)) if end else None


@dataclass
class _End:
    """A grant to end: at `valid_to` (already the effective end), for `reason`."""

    grant: Grant
    valid_to: datetime.datetime
    reason: str
    count_as: str


@dataclass
class _New:
    """A grant to make on the job-description basis."""

    person: Person
    account: Account
    role: Role
    duty: Duty
    valid_from: datetime.datetime
    valid_to: datetime.datetime | None
    count_as: str


class Consequences:
    """Plans the consequences of a batch of movements, then carries them out together."""

    def __init__(self, *, filed_by: User | None, now: datetime.datetime | None = None) -> None:
        self.filed_by = filed_by
        self.fixed_now = now
        self.policy = settings.TUGI_JOINER_POLICY
        self.outcome = Outcome()
        # position → [(job description, in force from)], newest first; job description →
        # role → the first duty that justifies it.
        self._job_descriptions: dict[int, list[tuple[int, datetime.date]]] = {}
        self._entitlements: dict[int, dict[int, Duty]] = {}
        self._roles: dict[int, Role] = {}
        self._reset()

    def _reset(self) -> None:
        self.now = self.fixed_now or timezone.now()
        self.today = timezone.localdate(self.now)
        self._ends: dict[int, _End] = {}
        self._new: list[_New] = []
        self._new_accounts: dict[tuple[int, int], Account] = {}
        self._grants: dict[int, list[Grant]] = {}
        self._accounts: dict[int, dict[int, Account]] = {}

    # --- reads, cached --------------------------------------------------------------------------

    def entitled(self, position_id: int | None, on: datetime.date) -> dict[int, Duty]:
        """Role id → the duty that justifies it, from the job description in force on `on`."""
        if position_id is None:
            return {}
        if position_id not in self._job_descriptions:
            self._preload_entitlements({position_id})
        # The latest job description in force on the day (they are newest first).
        jd = next((j for j, since in self._job_descriptions[position_id] if since <= on), None)
        return self._entitlements.get(jd, {}) if jd is not None else {}

    def _preload_entitlements(self, position_ids: set[int]) -> None:
        """The job descriptions of these positions and the roles their duties justify: two
        queries for a whole batch, however many positions and days it asks about."""
        missing = position_ids - set(self._job_descriptions)
        if not missing:
            return
        for position_id in missing:
            self._job_descriptions[position_id] = []
        jds = JobDescription.objects.filter(position_id__in=missing).order_by(
            "position_id", "-valid_from"
        )
        for jd_id, position_id, since in jds.values_list("pk", "position_id", "valid_from"):
            self._job_descriptions[position_id].append((jd_id, since))
        jd_ids = [j for p in missing for j, _since in self._job_descriptions[p]]
        for e in (
            Entitlement.objects.filter(duty__job_description_id__in=jd_ids)
            .select_related("duty")
            .order_by("duty__order", "duty_id", "id")
        ):
            self._entitlements.setdefault(e.duty.job_description_id, {}).setdefault(
                e.role_id, e.duty
            )

    def role(self, role_id: int) -> Role:
        if role_id not in self._roles:
            self._preload_roles([role_id])
        return self._roles[role_id]

    def _preload_roles(self, role_ids: Iterable[int]) -> None:
        missing = set(role_ids) - set(self._roles)
        if missing:
            for role in Role.objects.select_related("system").filter(pk__in=missing):
                self._roles[role.pk] = role

    def _load(self, persons: list[Person]) -> None:
        """The batch's grants not ended by now, and open accounts: two queries for all."""
        ids = [p.pk for p in persons]
        by_id = {p.pk: p for p in persons}
        self._grants = defaultdict(list)
        grants = (
            Grant.objects.filter(person_id__in=ids)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=self.now))
            .select_related("basis_duty__job_description", "role__system")
            .order_by("valid_from", "id")
        )
        for grant in grants:
            grant.person = by_id[grant.person_id]  # the updated person, and no query for str()
            self._grants[grant.person_id].append(grant)
            self._roles.setdefault(grant.role_id, grant.role)
        self._accounts = defaultdict(dict)
        for account in (
            Account.objects.filter(person_id__in=ids)
            .exclude(state=Account.State.CLOSED)
            .select_related("system")
        ):
            account.person = by_id[account.person_id]
            self._accounts[account.person_id][account.system_id] = account

    def _open_grants(self, person: Person, at: datetime.datetime) -> list[Grant]:
        """The person's grants not ended by `at` (started or not), as planned so far."""
        found = []
        for grant in self._grants.get(person.pk, []):
            end = self._ends[grant.pk].valid_to if grant.pk in self._ends else grant.valid_to
            if end is None or end > at:
                found.append(grant)
        return found

    def _held(
        self, person: Person, start: datetime.datetime, end: datetime.datetime | None
    ) -> set[int]:
        """Roles the person holds (or is about to be granted) at some time in [start, end)."""
        held = {
            g.role_id
            for g in self._open_grants(person, start)
            if g.acting_for_id is None and (end is None or g.valid_from < end)
        }
        for new in self._new:
            if (
                new.person.pk == person.pk
                and (new.valid_to is None or new.valid_to > start)
                and (end is None or new.valid_from < end)
            ):
                held.add(new.role.pk)
        return held

    # --- planning -------------------------------------------------------------------------------

    def follow(self, movements: Iterable[Movement]) -> Outcome:
        """Carry out each movement's consequences, then plan the leavers' account changes."""
        movements = list(movements)
        self._reset()
        self._load([m.person for m in movements])
        self._preload_entitlements(
            {m.person.position_id for m in movements if m.person.position_id is not None}
        )
        leavers: list[Movement] = []
        for movement in movements:
            person = movement.person
            end_at = end_at_of(person.employment_end)
            if movement.joins:
                start = plan.day_start(person.employment_start)
                self.grant_entitled(movement, max(start, self.now), end_at, joining=True)
            elif movement.moves:
                self.move(movement, end_at)
            if movement.end_changed and not movement.joins:
                self.end_changed(movement, end_at)
            if movement.end_changed or (movement.joins and person.employment_end):
                leavers.append(movement)
        self._carry_out()
        self._plan_leavers(leavers)
        return self.outcome

    def _end(
        self, grant: Grant, at: datetime.datetime, reason: str, count_as: str
    ) -> datetime.datetime:
        """Plan the grant's end at `at` (never before now); returns when it will end."""
        at = max(at, self.now)
        planned = self._ends.get(grant.pk)
        current = planned.valid_to if planned else grant.valid_to
        if current is not None and current <= at:
            return current  # already ends by then: as end_grant, nothing to do
        # A grant that has not started yet ends before it begins: it never held.
        valid_to = max(at, grant.valid_from + _TICK)
        self._ends[grant.pk] = _End(grant, valid_to, reason[:300], count_as)
        return valid_to

    def grant_entitled(
        self,
        movement: Movement,
        start: datetime.datetime,
        end: datetime.datetime | None,
        *,
        joining: bool,
    ) -> None:
        """Grant (or request) the entitled roles the person does not hold from `start`."""
        person = movement.person
        if end is not None and end <= start:
            return  # the employment ends before the access would start
        entitled = self.entitled(person.position_id, timezone.localdate(start))
        if not entitled:
            return
        held = self._held(person, start, end)
        wanted = {role_id: duty for role_id, duty in entitled.items() if role_id not in held}
        if not wanted:
            return
        self._preload_roles(wanted)
        if self.policy == "request":
            self._request(movement, wanted, start, end, joining=joining)
        else:
            for role_id, duty in wanted.items():
                self._grant(movement, self.role(role_id), duty, start, end, "grants_started")

    def _account(self, movement: Movement, system: TargetSystem) -> Account:
        person = movement.person
        account = self._accounts[person.pk].get(system.pk)
        if account is None:
            account = self._new_accounts.get((person.pk, system.pk))
        if account is None:
            account = Account(
                person=person,
                system=system,
                state=Account.State.ACTIVE,
                opened_at=self.now,
            )
            self._new_accounts[(person.pk, system.pk)] = account
        return account

    def _grant(
        self,
        movement: Movement,
        role: Role,
        duty: Duty,
        start: datetime.datetime,
        end: datetime.datetime | None,
        count_as: str,
    ) -> None:
        """Plan one job-description grant, if the grant rules allow it."""
        person = movement.person
        try:
            check_person_can_hold_access(person, start)
            check_role_period(role, role.system, start, end)
        except ValidationError as exc:
            self.outcome.problem(
                movement,
                _("“%(role)s” was not granted: %(error)s")
                % {"role": role.name, "error": _message(exc)},
            )
            return
        account = self._account(movement, role.system)
        if account.state == Account.State.SUSPENDED:
            self.outcome.problem(
                movement,
                _("The account in %(system)s is suspended: reactivate it for “%(role)s”.")
                % {"system": role.system.name, "role": role.name},
            )
        self._new.append(_New(person, account, role, duty, start, end, count_as))

    def _request(
        self,
        movement: Movement,
        wanted: dict[int, Duty],
        start: datetime.datetime,
        end: datetime.datetime | None,
        *,
        joining: bool,
    ) -> None:
        person = movement.person
        if self.filed_by is None:
            self.outcome.problem(
                movement,
                _(
                    "No access request was filed: the policy asks for one, and nobody applied "
                    "the import as a user to file it (the command needs --filed-by)."
                ),
            )
            return
        open_systems = set(self._accounts[person.pk])
        # "From when fulfilled" unless the work starts later: a start a little in the past is
        # refused by the request rules.
        valid_from = start if start > self.now + datetime.timedelta(minutes=5) else None
        items: list[request_actions.ItemData] = []
        for role_id in wanted:
            role = self.role(role_id)
            try:
                check_role_period(role, role.system, valid_from or self.now, end)
            except ValidationError as exc:
                self.outcome.problem(
                    movement,
                    _("“%(role)s” was not requested: %(error)s")
                    % {"role": role.name, "error": _message(exc)},
                )
                continue
            if role.system_id not in open_systems:
                open_systems.add(role.system_id)
                items.append({"kind": "create_account", "system": role.system})
            items.append(
                {
                    "kind": "grant_role",
                    "role": role,
                    "system": role.system,
                    "valid_from": valid_from,
                    "valid_to": end,
                }
            )
        if not any(i["kind"] == "grant_role" for i in items):
            return
        position = person.position.title if person.position else ""
        justification = (
            _("Joins as %(position)s: the roles its job description justifies.")
            if joining
            else _("Moves to %(position)s: the roles its job description justifies.")
        ) % {"position": position}
        try:
            request_actions.file_request(self.filed_by, person, items, justification)
            self.outcome.counts["requests_filed"] += 1
        except (ValidationError, PermissionDenied) as exc:
            self.outcome.problem(
                movement,
                _("The access request could not be filed: %(error)s") % {"error": _message(exc)},
            )

    def move(self, movement: Movement, end_at: datetime.datetime | None) -> None:
        """A new position: rebase what continues, end what no longer holds after the grace days."""
        person = movement.person
        position_id = person.position_id
        entitled = self.entitled(position_id, self.today)
        grace = plan.day_start(
            self.today + datetime.timedelta(days=settings.TUGI_MOVER_GRACE_DAYS + 1)
        )
        grace_end = min(grace, end_at) if end_at else grace
        position_name = person.position.title if person.position else "–"
        for grant in self._open_grants(person, self.now):
            if grant.basis != Grant.Basis.JOB_DESCRIPTION:
                continue  # requests and substitutions have their own basis and end
            duty = grant.basis_duty
            duty_position = duty.job_description.position_id if duty else None
            if grant.role_id not in entitled:
                self._end(
                    grant,
                    grace_end,
                    f"moved to position {position_name}: no longer justified",
                    "grants_ending_after_move",
                )
            elif duty_position != position_id:
                self._rebase(movement, grant, entitled[grant.role_id], position_name, end_at)
        start = max(plan.day_start(person.employment_start), self.now)
        self.grant_entitled(movement, start, end_at, joining=False)

    def _rebase(
        self,
        movement: Movement,
        grant: Grant,
        duty: Duty,
        position_name: str,
        end_at: datetime.datetime | None,
    ) -> None:
        """End the grant on the old duty and continue it on the new one, from the same moment."""
        at = max(grant.valid_from, self.now)
        until = grant.valid_to if grant.valid_to is not None else end_at
        if until is not None and until <= at:
            return
        # Where the old one ends: now, or (for a grant that had not started) a microsecond after
        # its start, as a grant that never held ends.
        ends = self._end(grant, at, f"moved to position {position_name}: continues on its duty", "")
        self._grant(movement, self.role(grant.role_id), duty, ends, until, "grants_rebased")

    def end_changed(self, movement: Movement, end_at: datetime.datetime | None) -> None:
        """The last day was set, moved or removed."""
        person = movement.person
        if end_at is not None:
            reason = f"left {person.employment_end:%d.%m.%Y}"
            for grant in self._open_grants(person, max(end_at, self.now)):
                self._end(grant, end_at, reason, "grants_ending_on_leaving")
            for new in self._new:
                if new.person.pk == person.pk and (new.valid_to is None or new.valid_to > end_at):
                    new.valid_to = end_at
        old_end_at = end_at_of(movement.old_end)
        if old_end_at is not None and (end_at is None or end_at > old_end_at):
            # Staying longer: the job-description roles that were to end with the old last day
            # continue, as new grants from that moment.
            self.grant_entitled(movement, max(old_end_at, self.now), end_at, joining=False)

    # --- carrying out ---------------------------------------------------------------------------

    def _carry_out(self) -> None:
        """Write the planned accounts, ends and grants with their audit events, then tell the
        engine: the grant actions' bulk twins (`actions.grants.*_in_bulk`)."""
        accounts = list(self._new_accounts.values())
        entries = grant_actions.open_accounts_in_bulk(accounts)
        self.outcome.counts["accounts_opened"] += len(accounts)

        entries += grant_actions.end_grants_in_bulk(
            [(end.grant, end.valid_to, end.reason) for end in self._ends.values()]
        )
        for end in self._ends.values():
            if end.count_as:
                self.outcome.counts[end.count_as] += 1

        made = []
        for new in self._new:
            if new.valid_to is not None and new.valid_to <= new.valid_from:
                continue  # cut to nothing by a last day planned after it
            made.append(
                Grant(
                    account=new.account,
                    role=new.role,
                    person=new.person,
                    valid_from=new.valid_from,
                    valid_to=new.valid_to,
                    basis=Grant.Basis.JOB_DESCRIPTION,
                    basis_duty=new.duty,
                )
            )
            self.outcome.counts[new.count_as] += 1
        entries += grant_actions.grant_roles_in_bulk(made)
        ended = [end.grant for end in self._ends.values()]
        grant_actions.record_bulk(entries, ended, made, self.now)

    def _plan_leavers(self, movements: list[Movement]) -> None:
        if not movements:
            return
        on_time: list[int] = []
        late: list[tuple[int, datetime.datetime]] = []
        for movement in movements:
            end_at = end_at_of(movement.person.employment_end)
            if end_at is not None and end_at < self.now - plan.PAST_HORIZON:
                late.append((movement.person.pk, end_at))
            else:
                on_time.append(movement.person.pk)
        plan.sync_leavers(on_time)
        if late:
            # Planned at their real time, so they are applied at once and count as late.
            plan.sync_leavers(
                [pk for pk, _at in late],
                not_before=min(at for _pk, at in late) - datetime.timedelta(seconds=1),
            )
        self.outcome.counts["leavers_planned"] += len(movements)
