"""The demo's desk part: queues, SLA policies, routing, templates and cases in every state.

The plan is checked without a database. One load, frozen on a Friday afternoon five minutes
before the desk closes, checks that the database holds the plan, that the SLA engine put one case
just before its due time (over the weekend) and one past it, that the audit log tells who did
what and still verifies, and that the mail the load leaves behind goes only to requesters and
third parties. Another load checks that running the demo again changes nothing.
"""

import datetime
import io
import re
from collections import Counter
from email.utils import parseaddr

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from tugi.core.audit import verify_chain
from tugi.core.models import AuditEvent
from tugi.demo import data, desk_data
from tugi.demo.desk_plan import DeskPlan, StepPlan, build_desk_plan
from tugi.demo.loader import load_demo
from tugi.demo.plan import DemoPlan, build_plan
from tugi.desk import actions, calendar, sla
from tugi.desk.models import (
    Case,
    Escalation,
    Message,
    Queue,
    Rating,
    ReplyTemplate,
    RoutingRule,
    SlaPolicy,
    Tag,
    TimeEntry,
)

TALLINN = calendar.TALLINN
# Friday 12 March 2027, 16:55 in Tallinn: five working minutes before the weekend.
NOW = datetime.datetime(2027, 3, 12, 16, 55, tzinfo=TALLINN)
ALL_STATUSES = {"new", "open", "waiting_requester", "waiting_third_party", "resolved", "closed"}


@pytest.fixture(scope="module")
def plan() -> DemoPlan:
    return build_plan()


def _steps(desk: DeskPlan, kind: str) -> list[tuple[str, StepPlan]]:
    return [(c.key, s) for c in desk.cases for s in c.steps if s.kind == kind]


# --- the plan ----------------------------------------------------------------------------------


def test_desk_plan_is_deterministic_and_depends_on_the_seed(plan):
    again = build_desk_plan(plan.units, plan.persons, plan.logins, data.DEMO_SEED)
    assert again == plan.desk
    other = build_desk_plan(plan.units, plan.persons, plan.logins, data.DEMO_SEED + 1)
    assert [c.requester for c in other.cases] != [c.requester for c in plan.desk.cases]


def test_desk_settings_cover_the_agreed_framework(plan):
    desk = plan.desk
    kinds = {q.code: q.kind for q in desk.queues}
    assert kinds == {"RAKENDUSTUGI": "desk", "SKAIS2-PEN": "specialists", "STAR": "specialists"}
    members = {q.code: set(q.members) for q in desk.queues}
    assert members["RAKENDUSTUGI"] == {"desk"}
    assert {"specialist", "approver"} <= members["SKAIS2-PEN"] and len(members["SKAIS2-PEN"]) >= 3
    assert "specialist" in members["STAR"]

    by_priority = {p.priority: p for p in desk.sla_policies if not p.category}
    assert set(by_priority) == {1, 2, 3, 4}
    day = desk_data.WORKING_DAY
    assert [
        (by_priority[n].first_response_minutes, by_priority[n].resolution_minutes)
        for n in (1, 2, 3, 4)
    ] == [(30, 240), (120, day), (240, 3 * day), (day, 10 * day)]
    for policy in desk.sla_policies:
        assert 0 < policy.warn_before_minutes < policy.first_response_minutes * 2
        assert policy.first_response_minutes <= policy.resolution_minutes

    rules = {(r.system, r.category, r.keyword): r for r in desk.routing_rules}
    assert rules[("SKAIS2", "", "")].queue == "RAKENDUSTUGI"
    assert rules[("", "access", "")].queue == "RAKENDUSTUGI"
    assert rules[("", "", "parool")].assignee == "desk"
    assert len({r.order for r in desk.routing_rules}) == len(desk.routing_rules)

    # Every template in Estonian and English, using only the placeholders the desk knows.
    languages: dict[str, set[str]] = {}
    for t in desk.templates:
        languages.setdefault(t.key, set()).add(t.language)
        values = {name: f"<{name}>" for name in actions.PLACEHOLDERS}
        text = actions.render_placeholders(t.body, values)
        assert "<agent_name>" in text and "<case_reference>" in text
    assert all(langs == {"et", "en"} for langs in languages.values())
    assert any("{requester_name}" in t.body for t in desk.templates)


def test_desk_cases_cover_channels_states_and_links(plan):
    desk = plan.desk
    cases = desk.cases
    assert 55 <= len(cases) <= 65
    assert len({c.key for c in cases}) == len(cases)
    assert {c.channel for c in cases} == {"portal", "email", "phone", "api"}
    assert set(desk.statuses()) == ALL_STATUSES
    assert {c.category for c in cases} == {"question", "malfunction", "data", "access"}
    assert {c.language for c in cases} == {"et", "en"}
    systems = Counter(c.system for c in cases)
    assert systems["SKAIS2"] >= 25 and {"STAR", "EESSI", "SKAIS1", "RR"} <= set(systems)

    persons = {p.email: p for p in plan.persons}
    logins = {x.person: x.username for x in plan.logins}
    for c in cases:
        # A person of the agency who still works there, or somebody from outside by address.
        if c.requester:
            assert persons[c.requester].status == "active", c.key
            assert not c.requester_email
        else:
            assert c.requester_email.endswith(".example") and c.requester_name
        # The portal and the API are used by the requester themselves; mail comes in through
        # the intake with its own Message-ID; the desk logs phone calls.
        if c.channel in ("portal", "api"):
            assert c.opened_by == logins[c.requester]
        elif c.channel == "email":
            assert c.opened_by == "" and re.fullmatch(r"<tugi-demo\.[\w.-]+@[\w.-]+>", c.message_id)
        else:
            assert c.opened_by == "desk"
        assert c.subject and c.body and "{" not in c.body
    ids = [c.message_id for c in cases if c.message_id] + [
        s.message_id for c in cases for s in c.steps if s.message_id
    ]
    assert len(set(ids)) == len(ids)

    # A parent with two children, and duplicates of earlier cases.
    parents = Counter(s.value for _key, s in _steps(desk, "parent"))
    assert parents == {"pension-outage": 2}
    assert len(_steps(desk, "duplicate")) >= 1
    # Escalations: to RIT with their reference, a vendor, the pension specialists with a note.
    parties = {(s.party, s.reference) for _key, s in _steps(desk, "to_party")}
    assert ("Riigi Info- ja Kommunikatsioonitehnoloogia Keskus (RIT)", "RIT-2026-4411") in parties
    assert any("arendaja" in party for party, _ref in parties)
    specialists = {s.value for _key, s in _steps(desk, "to_specialists")}
    assert specialists == {"SKAIS2-PEN", "STAR"}
    assert any(s.actor == "specialist" for _key, s in _steps(desk, "note"))
    ratings = [s.number for _key, s in _steps(desk, "rate")]
    assert len(ratings) >= 8 and set(ratings) >= {2, 3, 4, 5}
    # One case close to its due time and one past it.
    assert sorted(c.sla_used for c in cases if c.sla_used) == [18, 165]


# --- loading -----------------------------------------------------------------------------------


def _requester_of(case: Case) -> str:
    return case.requester.email if case.requester else case.requester_email


def _desk_counts() -> dict[str, int]:
    models = (Queue, SlaPolicy, RoutingRule, ReplyTemplate, Case, Message, Escalation, Rating)
    return {
        **{m.__name__: m.objects.count() for m in (*models, Tag, TimeEntry)},
        "AuditEvent": AuditEvent.objects.count(),
    }


@pytest.mark.django_db
def test_loaded_desk_is_the_plan_with_its_sla_audit_and_mail(
    plan, django_capture_on_commit_callbacks
):
    desk = plan.desk
    with (
        time_machine.travel(NOW, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert load_demo(plan=plan) is True

    # The settings are the plan's.
    queues = {q.code: q for q in Queue.objects.prefetch_related("members")}
    assert {
        code: (q.name, q.kind, sorted(u.username for u in q.members.all()))
        for code, q in queues.items()
    } == {q.code: (q.name, q.kind, sorted(q.members)) for q in desk.queues}
    assert sorted(
        SlaPolicy.objects.values_list(
            "priority", "category", "first_response_minutes", "resolution_minutes"
        )
    ) == sorted(
        (p.priority, p.category, p.first_response_minutes, p.resolution_minutes)
        for p in desk.sla_policies
    )
    assert list(
        RoutingRule.objects.order_by("order").values_list("name", "keyword", "queue__code")
    ) == [(r.name, r.keyword, r.queue) for r in desk.routing_rules]
    assert ReplyTemplate.objects.count() == len(desk.templates)

    # The cases, in plan order, as planned.
    loaded = list(
        Case.objects.order_by("id").select_related(
            "requester", "system", "queue", "parent", "duplicate_of"
        )
    )
    assert len(loaded) == len(desk.cases)
    key_of = {case.pk: p.key for case, p in zip(loaded, desk.cases, strict=True)}
    for case, p in zip(loaded, desk.cases, strict=True):
        assert case.subject == p.subject
        assert case.channel == p.channel
        assert case.status == p.status, p.key
        assert case.language == p.language
        assert _requester_of(case) == (p.requester or p.requester_email)
        assert (case.system.code if case.system else "") == p.system
        assert case.queue.code == "RAKENDUSTUGI"
        assert set(case.tags.values_list("name", flat=True)) == set(p.tags)
        if case.status != "new":
            assert case.assignee is not None and case.assignee.username == "desk", p.key
    children = Counter(key_of[c.parent_id] for c in loaded if c.parent_id)
    assert children == {"pension-outage": 2}
    duplicates = {key_of[c.pk]: key_of[c.duplicate_of_id] for c in loaded if c.duplicate_of_id}
    assert duplicates == {key: s.value for key, s in _steps(desk, "duplicate")}
    assert Counter(c.status for c in loaded) == desk.statuses()

    # Escalations: the outage with RIT, due four working hours on (over the weekend); the
    # vendor answered; the pension specialist answered with a note.
    outage = next(c for c in loaded if key_of[c.pk] == "pension-outage")
    rit = outage.escalations.get()
    assert (rit.kind, rit.status, rit.external_reference) == (
        "third_party",
        "open",
        "RIT-2026-4411",
    )
    assert rit.external_url.endswith("/RIT-2026-4411")
    assert rit.due_at == calendar.add_working_seconds(NOW, 4 * 3600)
    assert rit.due_at.astimezone(TALLINN) == datetime.datetime(2027, 3, 15, 12, 25, tzinfo=TALLINN)
    assert Escalation.objects.filter(kind="third_party", status="answered").count() == len(
        _steps(desk, "party_reply")
    )
    specialist_notes = Message.objects.filter(
        kind="note", author__username="specialist", escalation__isnull=False
    )
    assert specialist_notes.count() == sum(
        1 for _key, s in _steps(desk, "note") if s.actor == "specialist"
    )
    assert Rating.objects.count() == len(_steps(desk, "rate"))

    # SLA: the payment-file case is due twelve working minutes on, Monday 08:37, and warned;
    # the assistive-devices case was due 45 working minutes ago, at 16:10, and is breached.
    soon = next(c for c in loaded if key_of[c.pk] == "payment-file-breaks")
    late = next(c for c in loaded if key_of[c.pk] == "assistive-exceptions-stuck")
    soon.refresh_from_db()
    late.refresh_from_db()
    assert soon.sla_due == datetime.datetime(2027, 3, 15, 8, 37, tzinfo=TALLINN)
    assert soon.sla_warned_at == NOW and soon.sla_breached_at is None
    assert late.sla_due == datetime.datetime(2027, 3, 12, 16, 10, tzinfo=TALLINN)
    assert late.sla_breached_at == NOW
    assert sla.state(late, NOW).first_response_breached
    assert not sla.state(soon, NOW).breached
    # Nothing else is warned or breached: every other clock is fresh.
    assert Case.objects.exclude(sla_warned_at=None).count() == 1
    assert Case.objects.exclude(sla_breached_at=None).count() == 1
    # Waiting for the requester pauses the clock; finished cases have none running.
    for case in Case.objects.filter(status="waiting_requester"):
        assert case.sla_due is None and sla.state(case, NOW).status == "paused"
    assert not Case.objects.filter(status__in=("resolved", "closed"), sla_due__isnull=False)

    # The audit log: settings by admin, cases opened the channel's way, worked by the desk.
    assert verify_chain().ok
    events = AuditEvent.objects.filter(action__startswith="desk.")
    actors = Counter((e.action, e.actor_label) for e in events.only("action", "actor_label"))
    assert actors[("desk.queue.create", "admin")] == len(desk.queues)
    assert actors[("desk.sla_policy.create", "admin")] == len(desk.sla_policies)
    assert actors[("desk.routing_rule.create", "admin")] == len(desk.routing_rules)
    assert actors[("desk.reply_template.create", "admin")] == len(desk.templates)
    openers = list(
        events.filter(action="desk.case.create")
        .order_by("id")
        .values_list("actor_label", flat=True)
    )
    assert openers == [p.opened_by or "system" for p in desk.cases]
    assert actors[("desk.case.resolve", "desk")] == len(_steps(desk, "resolve"))
    assert actors[("desk.case.sla_breach", "system")] == 1
    assert actors[("desk.case.sla_warning", "system")] == 1
    history = AuditEvent.objects.filter(action="demo.sla_history")
    assert history.count() == 2 and all(e.actor_id is None for e in history)
    # One load, one request id; the lifecycle engine applies the grants' starts afterwards, on
    # its own (after the commit, as a worker would), so its events carry none.
    engine = AuditEvent.objects.filter(action="access.change.apply")
    assert engine.exists() and set(engine.values_list("request_id", flat=True)) == {""}
    assert len({e.request_id for e in AuditEvent.objects.exclude(pk__in=engine)}) == 1

    # The mail the load queued went out after the commit: only public replies and mail to
    # parties, each to its requester or party, never an internal note.
    sendable = Message.objects.filter(kind__in=("reply", "to_party"))
    # (The rest of the outbox is staff notices: SLA warnings and breaches, request steps.)
    case_mail = [
        m for m in mail.outbox if m.extra_headers.get("Message-ID", "").startswith("<tugi.case")
    ]
    assert len(case_mail) == sendable.count() > 40
    allowed = {_requester_of(c) for c in loaded} | {
        e.party_email for e in Escalation.objects.filter(kind="third_party")
    }
    notes = list(Message.objects.filter(kind="note").values_list("body", flat=True))
    for sent in case_mail:
        assert len(sent.to) == 1 and parseaddr(sent.to[0])[1] in allowed
        assert not any(n in sent.body for n in notes)
    assert all(m.sent_at is not None for m in sendable)


@pytest.mark.django_db
def test_second_run_changes_nothing_and_counts_queues_and_cases(plan):
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert f"{len(plan.desk.queues)} desk queues with {len(plan.desk.cases)} cases" in (
        out.getvalue()
    )
    before = _desk_counts()
    assert before["Case"] == len(plan.desk.cases) and before["Queue"] == len(plan.desk.queues)

    out = io.StringIO()
    call_command("demo", stdout=out)
    assert "already loaded; nothing was changed" in out.getvalue()
    assert load_demo(plan=plan) is False
    assert _desk_counts() == before
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_database_with_a_queue_of_the_same_code_is_refused():
    Queue.objects.create(code="RAKENDUSTUGI", name="Rakendustugi")
    with pytest.raises(CommandError, match="desk queue codes taken: RAKENDUSTUGI"):
        call_command("demo", stdout=io.StringIO())
    assert not Case.objects.exists() and not AuditEvent.objects.exists()
