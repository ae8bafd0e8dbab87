"""Loading the desk part of the demo: settings through the admin actions, cases through the desk's.

Called by `loader` inside its transaction, after the access part. Who acts, and why:

- `admin` writes the queues, SLA policies, routing rules and reply templates through
  `tugi.desk.admin_actions`: the administrator's app role holds `desk.manage_desk`.
- A case is opened the way its channel opens one (see `desk_plan`): by its requester on the
  portal or the API, by the mail intake (the system) for e-mail, by the `desk` user for a phone
  call. The desk works it (`reply`, `assign`, `escalate`, `resolve` …) as `desk`; the domain
  specialist writes the notes on cases escalated to their group; a third party's mail is
  recorded as the intake records it; a rating is given through the signed one-click link, as
  the requester would.
- Cases are opened at the load, so their SLA due times come from the SLA engine, counted from
  then. Two cases say they came in earlier (`CasePlan.sla_used`): the working time their clock
  had used before the load is added directly, with a `demo.sla_history` audit event by the system
  actor (the actions never reach into the past). One of them is then close to its due time and
  the other past it; the SLA check (`run_sla_check`, the worker's job) marks the warning and
  the breach as it would within the minute.

Mail: the actions queue the desk's replies and the mail to third parties after the commit, like
always. On the default SQLite Huey queue that is a row in the queue's own file, so the load
neither blocks nor fails when no worker runs; the mail waits for one (and goes to the console
unless SMTP is configured). Cases are opened without the acknowledgement mail.
"""

import datetime
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from tugi.access.models import TargetSystem
from tugi.core import audit
from tugi.demo.desk_data import DESK, MANAGER
from tugi.demo.desk_plan import CasePlan, DeskPlan, StepPlan
from tugi.desk import actions, admin_actions, calendar, sla
from tugi.desk.models import Case, Escalation, Queue, ReplyTemplate
from tugi.desk.tasks import run_sla_check
from tugi.people.models import Person

HISTORY_ACTION = "demo.sla_history"
_SLA_FIELDS = [
    "sla_used_seconds",
    "sla_clock_started_at",
    "first_response_due",
    "resolution_due",
    "sla_due",
]


class _Loader:
    """Writes a DeskPlan; holds the lookups from plan keys to rows."""

    def __init__(self, plan: DeskPlan, users: Mapping[str, User]) -> None:
        self.plan = plan
        self.users = users
        self.desk = users[DESK]
        emails = {c.requester for c in plan.cases if c.requester}
        self.persons = {p.email: p for p in Person.objects.filter(email__in=emails)}
        self.systems = {s.code: s for s in TargetSystem.objects.all()}
        self.queues: dict[str, Queue] = {}
        self.templates: dict[tuple[str, str], ReplyTemplate] = {}
        self.cases: dict[str, Case] = {}

    def run(self) -> None:
        self.settings()
        for planned in self.plan.cases:
            self.case(planned)
        run_sla_check(timezone.now())
        self.check()

    # --- settings

    def settings(self) -> None:
        admin = self.users[MANAGER]
        for q in self.plan.queues:
            self.queues[q.code] = admin_actions.create_queue(
                admin,
                members=[self.users[name] for name in q.members],
                code=q.code,
                name=q.name,
                name_en=q.name_en,
                kind=q.kind,
                email=q.email,
            )
        for p in self.plan.sla_policies:
            admin_actions.create_sla_policy(
                admin,
                name=p.name,
                priority=p.priority,
                category=p.category,
                first_response_minutes=p.first_response_minutes,
                resolution_minutes=p.resolution_minutes,
                warn_before_minutes=p.warn_before_minutes,
            )
        for r in self.plan.routing_rules:
            admin_actions.create_routing_rule(
                admin,
                order=r.order,
                name=r.name,
                system=self.systems[r.system] if r.system else None,
                category=r.category,
                keyword=r.keyword,
                queue=self.queues[r.queue],
                assignee=self.users[r.assignee] if r.assignee else None,
            )
        for t in self.plan.templates:
            self.templates[(t.name, t.language)] = admin_actions.create_reply_template(
                admin, name=t.name, language=t.language, body=t.body
            )

    # --- cases

    def case(self, planned: CasePlan) -> None:
        opener = self.users[planned.opened_by] if planned.opened_by else None
        # Only the desk and the mail intake may tag a new case; a requester's case is tagged
        # by the desk right after.
        tag_now = opener is None or opener.has_perm("desk.add_case")
        case = actions.create_case(
            opener,
            channel=planned.channel,
            subject=planned.subject,
            body=planned.body,
            requester=self.persons[planned.requester] if planned.requester else None,
            requester_email=planned.requester_email,
            requester_name=planned.requester_name,
            system=self.systems[planned.system] if planned.system else None,
            module=planned.module,
            category=planned.category,
            impact=planned.impact,
            urgency=planned.urgency,
            language=planned.language,
            tags=planned.tags if tag_now else (),
            message_id=planned.message_id,
            acknowledge=False,
        )
        self.cases[planned.key] = case
        if planned.tags and not tag_now:
            actions.set_tags(self.desk, case, planned.tags)
        if planned.sla_used:
            self.time_used_before(case, planned.sla_used)
        for step in planned.steps:
            self.step(case, step)

    def time_used_before(self, case: Case, minutes: int) -> None:
        """The case came in earlier: its clock had used `minutes` working minutes by now."""
        case.refresh_from_db()
        before = audit.snapshot(case, _SLA_FIELDS)
        now = timezone.now()
        sla.pause(case, now)  # folds the time used since the case was opened
        case.sla_used_seconds += minutes * 60
        sla.resume(case, now)  # due times from the time left, counted from now
        case.save(update_fields=[*_SLA_FIELDS, "sla_warned_at", "sla_breached_at"])
        b, a = audit.diff(before, audit.snapshot(case, _SLA_FIELDS))
        audit.record(
            None,
            HISTORY_ACTION,
            case,
            before=b,
            after={**a, "used_before_load_minutes": minutes},
            basis="demo: SLA time used before the load",
            subject_person_id=case.requester_id,
        )

    def _escalation(self, case: Case, kind: str = "") -> Escalation:
        escalations = case.escalations.order_by("-id")
        if kind:
            escalations = escalations.filter(kind=kind)
        escalation = escalations.first()
        if escalation is None:
            raise RuntimeError(f"demo case {case.reference} has no escalation for this step")
        return escalation

    def step(self, case: Case, s: StepPlan) -> None:
        actor = self.users[s.actor] if s.actor else None
        kind = s.kind
        if kind == "reply":
            template = self.templates[(s.template, case.language)] if s.template else None
            actions.reply(actor, case, s.text, template=template, set_status=s.value or None)
        elif kind == "note":
            actions.add_note(actor, case, s.text)
        elif kind == "write":
            actions.add_requester_message(case, body=s.text, author=actor, message_id=s.message_id)
        elif kind == "assign":
            actions.assign(actor, case, assignee=self.users[s.value])
        elif kind == "to_party":
            due = calendar.add_working_seconds(timezone.now(), s.number * 3600)
            actions.escalate(
                actor,
                case,
                kind=Escalation.Kind.THIRD_PARTY,
                party_name=s.party,
                party_email=s.party_email,
                summary=s.text,
                due_at=due,
                external_reference=s.reference,
                external_url=s.url,
            )
        elif kind == "party_reply":
            actions.record_party_reply(
                self._escalation(case, Escalation.Kind.THIRD_PARTY),
                body=s.text,
                author_email=s.party_email,
                message_id=s.message_id,
            )
        elif kind == "close_escalation":
            actions.close_escalation(actor, self._escalation(case))
        elif kind == "to_specialists":
            actions.escalate(
                actor,
                case,
                kind=Escalation.Kind.SPECIALISTS,
                queue=self.queues[s.value],
                summary=s.text,
            )
        elif kind == "priority":
            actions.set_priority(actor, case, impact=s.number, urgency=s.second)
        elif kind == "time":
            actions.log_time(actor, case, s.number, s.text)
        elif kind == "resolve":
            actions.resolve(actor, case, resolution=s.text)
        elif kind == "rate":
            token = actions.make_rating_token(case)
            actions.rate(None, case, score=s.number, comment=s.text, token=token)
        elif kind == "close":
            actions.close(actor, case)
        elif kind == "parent":
            actions.link_parent(actor, case, self.cases[s.value])
        elif kind == "duplicate":
            actions.mark_duplicate(actor, case, self.cases[s.value])
        elif kind == "status":
            actions.set_status(actor, case, s.value, reason=s.text)
        else:
            raise ValueError(f"unknown demo step {kind!r}")

    def check(self) -> None:
        """Every case ended in the status its plan says (else the data and actions disagree)."""
        status_of: dict[int, Any] = dict(
            Case.objects.filter(pk__in=[c.pk for c in self.cases.values()]).values_list(
                "pk", "status"
            )
        )
        wrong = [
            f"{p.key}: {status_of[self.cases[p.key].pk]} (planned {p.status})"
            for p in self.plan.cases
            if status_of[self.cases[p.key].pk] != p.status
        ]
        if wrong:
            raise RuntimeError("demo cases ended in other statuses: " + "; ".join(wrong))


def load_desk(plan: DeskPlan, users: Mapping[str, User]) -> datetime.datetime:
    """Write the desk plan (the demo users by username); returns when it started."""
    now = timezone.now()
    _Loader(plan, users).run()
    return now
