"""The desk part of the demo plan: queues, SLA policies, routing rules, templates and cases.

Pure and deterministic like the rest of the plan: built from `desk_data` and the organisation
part of the plan with its own seeded random generator, no database, no clock. Every reference of
the data is resolved here (requesters to persons' e-mails, members and actors to demo usernames,
templates to the case's language, third parties to their name and address), so the loader only
looks rows up by those keys and calls the actions.

Who opens a case follows its channel: on the portal and through the API the requester opens it
(so they must have a login), an e-mail is opened by the mail intake (the system, with the mail's
Message-ID), a phone call is logged by the desk. The requester's later messages take the same
way: by mail, on the portal, or through the desk on the phone.

Times are not in the plan: cases are opened when the demo is loaded, and their SLA due times come
from the SLA engine. `CasePlan.sla_used` moves two cases along their clock (see `desk_loader`).
"""

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tugi.demo import desk_data
from tugi.demo.desk_data import (
    API,
    CASES,
    DESK,
    EMAIL,
    EXTERNAL_REQUESTERS,
    PARTIES,
    PHONE,
    PORTAL,
    QUEUES,
    ROUTING_RULES,
    SLA_POLICIES,
    TEMPLATES,
    CaseSpec,
    RuleSpec,
    SlaSpec,
    Step,
    TemplateSpec,
)

if TYPE_CHECKING:
    from tugi.demo.plan import LoginPlan, PersonPlan, UnitPlan

ACTIVE = "active"


@dataclass(frozen=True)
class QueuePlan:
    """A queue; its members by username."""

    code: str
    name: str
    name_en: str
    kind: str
    email: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class StepPlan:
    """One action on a case. `actor` is a demo username, or "" for the system (mail, link)."""

    kind: str
    actor: str
    text: str = ""
    value: str = ""
    template: str = ""  # the template's name, in the case's language
    party: str = ""
    party_email: str = ""
    reference: str = ""
    url: str = ""
    message_id: str = ""
    number: int = 0
    second: int = 0


@dataclass(frozen=True)
class CasePlan:
    """A case: opened by `opened_by` ("" for the mail intake) for a person (by e-mail) or for
    someone outside the agency (`requester_email` and `requester_name`); then its steps."""

    key: str
    requester: str
    requester_email: str
    requester_name: str
    channel: str
    opened_by: str
    system: str
    module: str
    category: str
    impact: int
    urgency: int
    subject: str
    body: str
    language: str
    tags: tuple[str, ...]
    message_id: str
    sla_used: int
    steps: tuple[StepPlan, ...]
    status: str


@dataclass(frozen=True)
class DeskPlan:
    """The desk part of the demo, in the order the loader writes it."""

    queues: tuple[QueuePlan, ...]
    sla_policies: tuple[SlaSpec, ...]
    routing_rules: tuple[RuleSpec, ...]
    templates: tuple[TemplateSpec, ...]
    cases: tuple[CasePlan, ...]

    def case(self, key: str) -> CasePlan:
        """The case with this key."""
        return next(c for c in self.cases if c.key == key)

    def statuses(self) -> Counter[str]:
        """How many cases end in each status."""
        return Counter(c.status for c in self.cases)


class _Builder:
    """Holds the organisation while the desk plan is built from it."""

    def __init__(
        self,
        units: "Sequence[UnitPlan]",
        persons: "Sequence[PersonPlan]",
        logins: "Sequence[LoginPlan]",
        seed: int,
    ) -> None:
        # A generator of its own, so the other parts of the plan are unchanged by this one.
        self.rng = random.Random(f"tugi-demo-desk-{seed}")
        self.heads = {u.code: u.head for u in units}
        self.persons = {p.email: p for p in persons}
        self.login_of = {x.username: x.person for x in logins}
        self.username_of = {x.person: x.username for x in logins}
        heads = set(self.heads.values())
        # Staff chosen by unit are ordinary active members: the heads and the demo users have
        # their own references, so that `unit:` never picks a login by chance.
        self.members = [
            p
            for p in persons
            if p.status == ACTIVE
            and p.email not in heads
            and p.email not in self.login_of.values()
            and not p.foreign_id_country
        ]
        self.used: Counter[str] = Counter()
        self.external = {x.key: x for x in EXTERNAL_REQUESTERS}
        self.parties = {p.key: p for p in PARTIES}
        self.templates = {(t.key, t.language): t.name for t in TEMPLATES}
        self.queue_codes = {q.code for q in QUEUES}
        self.planned: dict[str, CasePlan] = {}

    # --- references

    def member(self, ref: str) -> str:
        """A queue member's username from ``login:<username>`` or ``head:<unit>``."""
        kind, _sep, rest = ref.partition(":")
        if kind == "login":
            if rest not in self.login_of:
                raise ValueError(f"no demo login {rest!r}")
            return rest
        if kind == "head":
            head = self.heads.get(rest)
            if head is None or head not in self.username_of:
                raise ValueError(f"the head of {rest!r} has no login")
            return self.username_of[head]
        raise ValueError(f"unknown member reference {ref!r}")

    def requester(self, ref: str) -> tuple[str, str, str]:
        """(person's e-mail, or "" with an outside address and name) for a requester reference."""
        kind, _sep, rest = ref.partition(":")
        if kind == "ext":
            outside = self.external[rest]
            return "", outside.email, outside.name
        if kind == "same":
            earlier = self.planned[rest]
            return earlier.requester, earlier.requester_email, earlier.requester_name
        if kind == "login":
            email = self.login_of[rest]
        elif kind == "head":
            email = self.heads[rest] or ""
        elif kind == "foreign":
            email = next(
                p.email
                for p in self.persons.values()
                if p.foreign_id_country == rest and p.status == ACTIVE
            )
        elif kind == "unit":
            email = self.pick(rest)
        else:
            raise ValueError(f"unknown requester reference {ref!r}")
        self.used[email] += 1
        return email, "", ""

    def pick(self, unit: str) -> str:
        """An ordinary active member of the unit, one of those asked least often so far."""
        candidates = [p.email for p in self.members if p.unit == unit]
        if not candidates:
            raise ValueError(f"no ordinary active member in {unit} to be a demo requester")
        fewest = min(self.used[e] for e in candidates)
        return self.rng.choice([e for e in candidates if self.used[e] == fewest])

    # --- cases

    def message_id(self, key: str, n: int, address: str) -> str:
        """A stable Message-ID for the n-th mail of a case from this address's domain."""
        domain = address.rpartition("@")[2] or desk_data.DESK_CODE.lower()
        return f"<tugi-demo.{key}.{n}@{domain}>"

    def case(self, spec: CaseSpec) -> CasePlan:
        if spec.key in self.planned:
            raise ValueError(f"two demo cases have the key {spec.key!r}")
        requester, outside_email, outside_name = self.requester(spec.requester)
        address = requester or outside_email
        if spec.channel in (PORTAL, API):
            opened_by = self.username_of.get(requester, "")
            if not opened_by:
                raise ValueError(
                    f"{spec.key}: a {spec.channel} case needs a requester who signs in"
                )
        elif spec.channel == EMAIL:
            opened_by = ""
        elif spec.channel == PHONE:
            opened_by = DESK
        else:
            raise ValueError(f"{spec.key}: unknown channel {spec.channel!r}")
        mails = 1
        steps: list[StepPlan] = []
        for index in range(len(spec.steps)):
            plan = self.step(spec, index, opened_by, address, mails + 1)
            if plan.message_id:
                mails += 1
            steps.append(plan)
        planned = CasePlan(
            key=spec.key,
            requester=requester,
            requester_email=outside_email,
            requester_name=outside_name,
            channel=spec.channel,
            opened_by=opened_by,
            system=spec.system,
            module=spec.module,
            category=spec.category,
            impact=spec.impact,
            urgency=spec.urgency,
            subject=spec.subject,
            body=spec.body,
            language=spec.language,
            tags=spec.tags,
            message_id=self.message_id(spec.key, 1, address) if spec.channel == EMAIL else "",
            sla_used=spec.sla_used,
            steps=tuple(steps),
            status=spec.status,
        )
        self.planned[spec.key] = planned
        return planned

    def step(self, spec: CaseSpec, index: int, opened_by: str, address: str, n: int) -> StepPlan:
        """Step number `index` of the case, resolved; `n` numbers the mail it would be."""
        step: Step = spec.steps[index]
        kind = step.kind
        if kind in ("parent", "duplicate") and step.value not in self.planned:
            raise ValueError(f"{spec.key}: {kind} {step.value!r} is not an earlier case")
        if kind == "to_specialists" and step.value not in self.queue_codes:
            raise ValueError(f"{spec.key}: no queue {step.value!r}")
        if kind == "write":
            # The requester writes again the way the case came: by mail (the intake records it
            # with the mail's id), on the portal or the API (themselves), or by phone (the desk).
            if spec.channel == EMAIL:
                return StepPlan(
                    kind, "", step.text, message_id=self.message_id(spec.key, n, address)
                )
            return StepPlan(kind, opened_by, step.text)
        if kind == "reply":
            template = ""
            if step.template:
                template = self.templates[(step.template, spec.language)]
            return StepPlan(kind, step.by, step.text, step.value, template=template)
        if kind == "to_party":
            party = self.parties[step.value]
            return StepPlan(
                kind,
                step.by,
                step.text,
                party.key,
                party=party.name,
                party_email=party.email,
                reference=step.reference,
                url=party.url.format(reference=step.reference),
                number=step.number,
            )
        if kind == "party_reply":
            escalated = next(
                (s for s in reversed(spec.steps[:index]) if s.kind == "to_party"),
                None,
            )
            if escalated is None:
                raise ValueError(f"{spec.key}: a party's reply before any escalation to a party")
            email = self.parties[escalated.value].email
            return StepPlan(
                kind,
                "",
                step.text,
                party_email=email,
                message_id=self.message_id(spec.key, n, email),
            )
        return StepPlan(
            kind, step.by, step.text, step.value, number=step.number, second=step.second
        )

    def build(self) -> DeskPlan:
        queues = tuple(
            QueuePlan(
                q.code,
                q.name,
                q.name_en,
                q.kind,
                q.email,
                tuple(self.member(ref) for ref in q.members),
            )
            for q in QUEUES
        )
        for rule in ROUTING_RULES:
            if rule.queue not in self.queue_codes:
                raise ValueError(f"routing rule {rule.name!r}: no queue {rule.queue!r}")
        cases = tuple(self.case(spec) for spec in CASES)
        return DeskPlan(queues, SLA_POLICIES, ROUTING_RULES, TEMPLATES, cases)


def build_desk_plan(
    units: "Sequence[UnitPlan]",
    persons: "Sequence[PersonPlan]",
    logins: "Sequence[LoginPlan]",
    seed: int,
) -> DeskPlan:
    """The desk part of the demo for this organisation; the same inputs give the same plan."""
    return _Builder(units, persons, logins, seed).build()
