"""The service desk at scale: queues, SLA policies, agents and five years of cases with their mail.

Reads the persons the people generator wrote (and the target systems, when the access generator
ran before this one) and adds, for the same seed:

- the desk's set-up: desk queues (the general queue and one per large application or area) and
  specialist groups, SLA policies per priority (faster ones for access cases), routing rules,
  reply templates, tags; desk agents (`bench-desk`, the user the runner signs in as, among them)
  and specialists, each a member of one to three queues;
- `scale.cases` cases over five years, more in later years, ids growing with time. The status
  follows the age: nearly every case older than a few weeks is closed, but about 3.5 % of the old
  ones are still open (waiting for a third party or the requester, or forgotten), and the last
  weeks hold the new, open and resolved ones: about 5 % of all cases are open. Requesters are the
  generated persons with a Zipf-like skew (some staff ask a lot), 3 % unknown senders known only
  by e-mail; channel, category, impact and urgency (hence priority) are drawn, the queue and the
  assignee follow the application and category as routing would;
- the SLA fields as the actions keep them: open cases have their policy, a running clock (or a
  paused one while waiting for the requester), first-response and resolution due times computed
  on the business calendar, and `sla_due` (the soonest open target); past due ones are marked
  breached. Closed cases keep their stored due times, with `sla_due` null;
- 2–5 messages per case (a new case: 1–2): the requester's first message, replies, more from the
  requester, internal notes, the resolution; mail Message-IDs on e-mail messages and on every
  reply (as the outgoing mail set them), threads rooted as the mail code roots them; an
  `InboundMail` row for every mail the intake took in (and the auto-replies it ignored);
  attachments on some messages (rows only: no files are written); escalations to specialists and
  third parties (every case waiting for a third party has an open one); ratings on a quarter of
  the finished cases; tags on some.

Everything is relative to AS_OF (noon of REFERENCE_DATE), not to the wall clock, so that a (scale,
seed) pair gives the same rows whenever it runs: at the wall clock's later "now" every running
clock is overdue, which changes no order the queue sorts by. Rows are built as light tuples, a
chunk of cases at a time, and written with `copy_insert`.
"""

import collections
import datetime
import hashlib
import itertools
import logging
import math
import random
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group, User
from django.db import connection, models, transaction

from bench.generators.base import (
    REFERENCE_DATE,
    GenContext,
    bulk_insert,
    copy_insert,
    first_free_id,
    weighted_picker,
)
from tugi.access.models import Role, TargetSystem
from tugi.core.roles import AppRole
from tugi.desk import calendar, sla
from tugi.desk.mail.conf import mail_domain
from tugi.desk.models import (
    Attachment,
    Case,
    Escalation,
    InboundMail,
    Message,
    Queue,
    Rating,
    ReplyTemplate,
    RoutingRule,
    SlaPolicy,
    Tag,
)
from tugi.people.models import Person

logger = logging.getLogger(__name__)

NAME = "desk"
# Raise when the rows this generator writes change: the runner then rebuilds benchmark databases.
VERSION = 1

# The user the runner signs in as (bench.run.BENCH_USERNAME): an agent with cases of their own.
BENCH_USERNAME = "bench-desk"

TALLINN = zoneinfo.ZoneInfo("Europe/Tallinn")
UTC = datetime.UTC
AS_OF = datetime.datetime.combine(REFERENCE_DATE, datetime.time(12), tzinfo=TALLINN).astimezone(UTC)
YEARS = 5
START = AS_OF - datetime.timedelta(days=YEARS * 365)
MAILBOX = "tugi@sotsiaalkindlustusamet.ee@imap.sotsiaalkindlustusamet.ee/INBOX"
AGENCY_DOMAIN = "sotsiaalkindlustusamet.ee"

# --- rates ------------------------------------------------------------------------------------

# Share of cases older than RECENT_DAYS that are still open, by open status (the backlog).
OLD_OPEN_SHARE = 0.035
OLD_OPEN_MIX = (
    (Case.Status.WAITING_THIRD_PARTY, 0.35),
    (Case.Status.WAITING_REQUESTER, 0.30),
    (Case.Status.OPEN, 0.30),
    (Case.Status.NEW, 0.05),
)
RECENT_DAYS = 45
# (younger than this many days, share open, share resolved; the rest closed)
AGE_BANDS = ((2, 0.85, 0.15), (14, 0.45, 0.45), (RECENT_DAYS, 0.15, 0.02))
RECENT_OPEN_MIX = (
    (Case.Status.NEW, 0.45),
    (Case.Status.OPEN, 0.30),
    (Case.Status.WAITING_REQUESTER, 0.15),
    (Case.Status.WAITING_THIRD_PARTY, 0.10),
)
CHANNELS = (
    (Case.Channel.PORTAL, 0.45),
    (Case.Channel.EMAIL, 0.35),
    (Case.Channel.PHONE, 0.12),
    (Case.Channel.API, 0.08),
)
CATEGORIES = (
    (Case.Category.QUESTION, 0.45),
    (Case.Category.MALFUNCTION, 0.30),
    (Case.Category.ACCESS, 0.15),
    (Case.Category.DATA, 0.10),
)
LEVELS = ((Case.Level.HIGH, 0.07), (Case.Level.MEDIUM, 0.28), (Case.Level.LOW, 0.65))
UNKNOWN_SENDER_SHARE = 0.03
ENGLISH_SHARE = 0.06
WITH_SYSTEM_SHARE = 0.8
TAGGED_SHARE = 0.15
RATED_SHARE = 0.25
FOLLOW_UP_SHARE = 0.005
# Finished cases that were escalated on the way (waiting_third_party cases always are).
ESCALATED_SHARE = 0.02
THIRD_PARTY_OF_ESCALATIONS = 0.6
ATTACHMENT_SHARE_REQUESTER = 0.08
ATTACHMENT_SHARE_REPLY = 0.03
NOTE_SHARE = 0.25
QUICK_SHARE = 0.3
# Open, assigned: the rest of the open cases wait in the queue for someone to take them.
ASSIGNED_OPEN_SHARE = 0.7
ASSIGNED_NEW_SHARE = 0.3
# Auto-replies and bulk mail the intake ignored, per mail it took in.
IGNORED_MAIL_SHARE = 0.02
# The runner's agent works about as many cases as the busiest regular agent.
BENCH_AGENT_WEIGHT = 2.0

CHUNK = 50_000
PROGRESS_EVERY = 200_000
# 1 GiB of page cache while loading on SQLite (see `_large_page_cache`).
SQLITE_CACHE_KIB = 1024 * 1024

# Desk queues: code, name, English name, the systems (codes) and categories routed there, weight
# of the cases that come without a system or category rule.
DESK_QUEUES = (
    ("TUGI", "Rakendustugi", "Application support", (), ()),
    ("SKAIS", "SKAIS tugi", "SKAIS support", ("SKAIS2", "SKAIS1"), ()),
    ("STAR", "STAR tugi", "STAR support", ("STAR",), ()),
    ("PENS", "Pensionide menetluse tugi", "Pension processing support", ("EESSI",), ()),
    ("REG", "Registrid ja X-tee", "Registers and X-Road", ("RR", "AR", "TK", "TEK", "MTA"), ()),
    ("DOK", "Dokumendihaldus", "Document management", ("DELTA",), ()),
    ("LIG", "Ligipääsud ja kontod", "Access and accounts", (), (Case.Category.ACCESS,)),
    ("ANDM", "Andmeparandused", "Data corrections", (), (Case.Category.DATA,)),
)
SPECIALIST_GROUPS = (
    ("SP-PENS", "Pensionide spetsialistid", "Pension specialists"),
    ("SP-PERE", "Peretoetuste spetsialistid", "Family benefit specialists"),
    ("SP-TV", "Töövõime spetsialistid", "Work ability specialists"),
    ("SP-IT", "IT arendus", "IT development"),
)
VENDORS = (
    ("Nortal AS", "tugi@nortal.example", "NRT"),
    ("Helmes AS", "support@helmes.example", "HLM"),
    ("RIA", "help@ria.example", "RIA"),
    ("Tieto Estonia", "servicedesk@tieto.example", "INC"),
)
# (priority, category, first response, resolution, warning): working minutes.
POLICIES = (
    (1, "", 30, 240, 30),
    (2, "", 60, 480, 60),
    (3, "", 240, 1440, 60),
    (4, "", 480, 2400, 120),
    (3, Case.Category.ACCESS, 120, 960, 60),
    (4, Case.Category.ACCESS, 240, 1440, 60),
)
TAGS = (
    "parool",
    "ID-kaart",
    "Mobiil-ID",
    "Smart-ID",
    "aeglane",
    "viga 500",
    "X-tee",
    "väljatrükk",
    "aruanne",
    "kordumatu",
    "uus töötaja",
    "lahkuja",
    "juurdepääs",
    "andmeparandus",
    "maksed",
    "otsus",
    "teavitus",
    "e-post",
    "printer",
    "brauser",
    "sertifikaat",
    "import",
    "eksport",
    "koolitus",
    "juhend",
    "kiire",
    "VIP",
    "korduv",
    "arendus",
    "teadaolev viga",
)

# --- texts ------------------------------------------------------------------------------------

SUBJECTS = {
    Case.Category.QUESTION: (
        "Kuidas {system}is {module} moodulis otsust parandada?",
        "Küsimus: {module} väljatrükk",
        "Kus näen {system}is menetluse ajalugu?",
        "Kuidas lisada {module} taotlusele dokument?",
        "{system}: kuidas määrata asendaja?",
        "Küsimus aruande kohta ({module})",
        "Kuidas otsida isikut {system}is vana isikukoodiga?",
    ),
    Case.Category.MALFUNCTION: (
        "{system} ei avane",
        "{system}: viga 500 {module} moodulis",
        "{module} salvestamine ebaõnnestub",
        "{system} on väga aeglane",
        "Väljatrükk jääb tühjaks ({system})",
        "{system}: nupp „Kinnita” ei tööta",
        "X-tee päring {system}ist ei vasta",
    ),
    Case.Category.ACCESS: (
        "Palun ligipääs {system}i ({module})",
        "Parool aegus, ei pääse {system}i",
        "Uue töötaja kontod: {system}",
        "{system}: roll puudub, ei näe {module} menetlusi",
        "Konto lukus ({system})",
    ),
    Case.Category.DATA: (
        "Vale aadress {system}is",
        "{module}: topeltkirje tuleb kustutada",
        "Isiku andmed ei uuendu rahvastikuregistrist",
        "Palun parandada makse summa ({module})",
        "{system}: vale staatus menetlusel",
    ),
}
FIRST_MESSAGES = (
    "Tere! {subject}. Proovisin mitu korda, tulemus on sama. Palun abi.",
    "Tere,\n\n{subject}. Viga tekkis täna hommikul. Lisan kuvatõmmise.\n\nTänan",
    "{subject}. Kolleegil on sama probleem. Kas saate vaadata?",
    "Tere! Mul on küsimus: {subject}. Juhendist ei leidnud vastust.",
    "Hea tugi, {subject}. Töö on seisma jäänud, palun kiiresti. Lugupidamisega",
)
REPLIES = (
    "Tere! Täname pöördumise eest. Vaatame asja üle ja anname teada.",
    "Tere! Palun proovige uuesti pärast brauseri vahemälu tühjendamist.",
    "Tere! Palun saatke kuvatõmmis ja kellaaeg, millal viga tekkis.",
    "Tere! Edastasime küsimuse arendajale, vastus tuleb lähipäevil.",
    "Tere! Juhend on siin: intranet → Juhendid → {module}. Kas see aitab?",
)
REQUESTER_AGAIN = (
    "Proovisin, ikka ei tööta.",
    "Lisan kuvatõmmise. Viga tekkis kell 10.15.",
    "Aitäh, see aitas osaliselt. Kas saaks ka {module} osa vaadata?",
    "Kas on mingeid uudiseid?",
)
NOTES = (
    "Sama viga on veel kahel kasutajal; seotud arendaja intsidendiga.",
    "Kontrollisin logisid: päring aegub X-tee poolel.",
    "Kasutaja on {system}is lukus, avasin konto.",
    "Helistasin kasutajale, lepime kokku homme.",
)
RESOLUTIONS = (
    "Tere! Viga on parandatud, palun kontrollige. Kui probleem kordub, vastake sellele kirjale.",
    "Tere! Ligipääs on antud, roll kehtib alates homsest.",
    "Tere! Andmed on parandatud.",
    "Tere! Küsimusele vastasime; sulgeme pöördumise. Aitäh!",
    "Tere! Tegemist oli teadaoleva veaga, mis parandati uues versioonis.",
)
PARTY_TEXTS = (
    "Palun vaadake viga {system}is: {subject}. Kasutajal ei õnnestu töö lõpetada.",
    "Palun kontrollige X-tee teenust: päringud aeguvad alates hommikust.",
)
PARTY_REPLIES = (
    "Hello, we have registered the incident and are investigating.",
    "Tere, parandus on paigaldatud testkeskkonda, toodangusse homme.",
)
RATING_COMMENTS = ("", "", "", "Kiire ja asjalik!", "Aitäh!", "Võttis kaua aega.", "Super.")
FILES = (
    ("kuvatommis.png", "image/png", 180_000),
    ("viga.jpg", "image/jpeg", 240_000),
    ("otsus.pdf", "application/pdf", 95_000),
    (
        "taotlus.docx",
        f"{'application/vnd.openxmlformats-officedocument'}.wordprocessingml.document",
        40_000,
    ),
    ("andmed.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 30_000),
    ("logi.txt", "text/plain", 12_000),
    ("leping.asice", "application/vnd.etsi.asic-e+zip", 60_000),
)
MODULES_FALLBACK = ("Pensionid", "Peretoetused", "Töövõime", "Maksed", "Menetlus", "Aruanded")
AUTO_REPLY = b"Auto-Submitted: auto-replied\r\nSubject: Automaatne vastus\r\n\r\nPuhkusel.\r\n"
EXTERNAL_DOMAINS = ("gmail.com", "hot.ee", "mail.ee", "outlook.com", "vald.ee", "linn.ee")


# --- rows -------------------------------------------------------------------------------------


def _row_type(model: type[models.Model]) -> Any:
    """A light row (a named tuple of the model's columns) for copy_insert: no model instances."""
    names = [f.attname for f in model._meta.concrete_fields]
    return collections.namedtuple(f"{model.__name__}Row", names)


CaseRow = _row_type(Case)
MessageRow = _row_type(Message)
InboundRow = _row_type(InboundMail)
EscalationRow = _row_type(Escalation)
RatingRow = _row_type(Rating)
CaseTagRow = _row_type(Case.tags.through)
AttachmentRow = _row_type(Attachment)
QueueMemberRow = _row_type(Queue.members.through)
UserGroupRow = _row_type(User.groups.through)

# The builders fill rows by keyword; these checks make a changed model fail loudly here.
assert set(CaseRow._fields) >= {"sla_due", "thread_root", "sla_breached_at"}, CaseRow._fields
assert "escalation_id" in MessageRow._fields, MessageRow._fields


@dataclass(frozen=True)
class FirstIds:
    """The first id each table's rows get (1 on an empty database)."""

    queue: int = 1
    policy: int = 1
    tag: int = 1
    rule: int = 1
    template: int = 1
    user: int = 1
    case: int = 1
    message: int = 1
    inbound: int = 1
    escalation: int = 1
    rating: int = 1
    attachment: int = 1
    case_tag: int = 1
    member: int = 1
    user_group: int = 1

    @classmethod
    def from_database(cls) -> "FirstIds":
        return cls(
            queue=first_free_id(Queue),
            policy=first_free_id(SlaPolicy),
            tag=first_free_id(Tag),
            rule=first_free_id(RoutingRule),
            template=first_free_id(ReplyTemplate),
            user=first_free_id(User),
            case=first_free_id(Case),
            message=first_free_id(Message),
            inbound=first_free_id(InboundMail),
            escalation=first_free_id(Escalation),
            rating=first_free_id(Rating),
            attachment=first_free_id(Attachment),
            case_tag=first_free_id(Case.tags.through),
            member=first_free_id(Queue.members.through),
            user_group=first_free_id(User.groups.through),
        )


@dataclass
class Requester:
    """A person who asks: their id, e-mail and (rarely) Tugi user."""

    id: int | None
    email: str
    name: str
    user_id: int | None


@dataclass
class Setup:
    """The desk's set-up rows and what the case builder needs to know about them."""

    queues: list[Queue] = field(default_factory=list)
    policies: list[SlaPolicy] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    rules: list[RoutingRule] = field(default_factory=list)
    templates: list[ReplyTemplate] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    members: list[Any] = field(default_factory=list)
    user_groups: list[Any] = field(default_factory=list)
    # queue code → queue id; queue id → (agent ids, cumulative weights)
    queue_ids: dict[str, int] = field(default_factory=dict)
    agents_of: dict[int, tuple[list[int], list[float]]] = field(default_factory=dict)
    specialist_queues: list[int] = field(default_factory=list)
    # (priority, category) → (policy id, first response, resolution, warning) minutes
    policy_of: dict[tuple[int, str], tuple[int, int, int, int]] = field(default_factory=dict)
    system_queue: dict[int, int] = field(default_factory=dict)
    category_queue: dict[str, int] = field(default_factory=dict)
    bench_user_id: int = 0


class _Ids:
    """Hands out consecutive ids per table, from the first free ones."""

    def __init__(self, first: FirstIds) -> None:
        self._next = {name: getattr(first, name) for name in first.__dataclass_fields__}

    def next(self, table: str) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value


def _mix(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Callable[[], Any]:
    values = [v for v, _w in pairs]
    cumulative = list(itertools.accumulate(w for _v, w in pairs))

    def pick() -> Any:
        return rng.choices(values, cum_weights=cumulative)[0]

    return pick


# --- the set-up ---------------------------------------------------------------------------------


def _setup(ctx: GenContext, ids: _Ids) -> Setup:
    rng = ctx.rng("desk.setup")
    s = Setup()
    systems = dict(TargetSystem.objects.values_list("code", "id"))
    for code, name, name_en, system_codes, categories in DESK_QUEUES:
        qid = ids.next("queue")
        s.queue_ids[code] = qid
        s.queues.append(
            Queue(
                id=qid,
                code=code,
                name=name,
                name_en=name_en,
                kind=Queue.Kind.DESK,
                email=f"{code.lower()}@{AGENCY_DOMAIN}" if code == "TUGI" else "",
                active=True,
            )
        )
        for sc in system_codes:
            if sc in systems:
                s.system_queue[systems[sc]] = qid
        for category in categories:
            s.category_queue[category] = qid
    for code, name, name_en in SPECIALIST_GROUPS:
        qid = ids.next("queue")
        s.queue_ids[code] = qid
        s.specialist_queues.append(qid)
        s.queues.append(
            Queue(id=qid, code=code, name=name, name_en=name_en, kind=Queue.Kind.SPECIALISTS)
        )
    for priority, category, first, resolution, warn in POLICIES:
        pid = ids.next("policy")
        s.policy_of[(priority, category)] = (pid, first, resolution, warn)
        label = f"P{priority}" + (f" {category}" if category else "")
        s.policies.append(
            SlaPolicy(
                id=pid,
                name=label,
                priority=priority,
                category=category,
                first_response_minutes=first,
                resolution_minutes=resolution,
                warn_before_minutes=warn,
            )
        )
    s.tags = [Tag(id=ids.next("tag"), name=name) for name in TAGS]
    order = 10
    for code, _n, _e, system_codes, categories in DESK_QUEUES:
        for sc in system_codes:
            if sc in systems:
                s.rules.append(
                    RoutingRule(
                        id=ids.next("rule"),
                        order=order,
                        name=f"{sc} → {code}",
                        system_id=systems[sc],
                        queue_id=s.queue_ids[code],
                    )
                )
                order += 10
        for category in categories:
            s.rules.append(
                RoutingRule(
                    id=ids.next("rule"),
                    order=order,
                    name=f"{category} → {code}",
                    category=category,
                    queue_id=s.queue_ids[code],
                )
            )
            order += 10
    for keyword, code in (("parool", "LIG"), ("ligipääs", "LIG"), ("pension", "PENS")):
        s.rules.append(
            RoutingRule(
                id=ids.next("rule"),
                order=order,
                name=f"„{keyword}” → {code}",
                keyword=keyword,
                queue_id=s.queue_ids[code],
            )
        )
        order += 10
    for name, body in (
        ("Tervitus", "Tere, {requester_name}!\n\nTäname pöördumise {case_reference} eest."),
        ("Lahendatud", "Tere!\n\nPöördumine {case_reference} on lahendatud.\n\n{agent_name}"),
        ("Lisainfo", "Tere!\n\nPalun saatke kuvatõmmis ja kellaaeg.\n\n{agent_name}"),
    ):
        s.templates.append(ReplyTemplate(id=ids.next("template"), name=name, body=body))
    _users(ctx, ids, s, rng)
    return s


def _users(ctx: GenContext, ids: _Ids, s: Setup, rng: random.Random) -> None:
    """Desk agents (the runner's user among them) and specialists, with queues and roles."""
    groups = dict(Group.objects.values_list("name", "id"))
    desk_group = groups.get(AppRole.DESK_AGENT.value)
    specialist_group = groups.get(AppRole.DOMAIN_SPECIALIST.value)
    desk_queues = [s.queue_ids[code] for code, *_rest in DESK_QUEUES]
    weights: dict[int, dict[int, float]] = collections.defaultdict(dict)
    existing = User.objects.filter(username=BENCH_USERNAME).values_list("id", flat=True).first()
    agents: list[tuple[int, float]] = []
    for i in range(max(ctx.scale.desk_agents, 1)):
        if i == 0 and existing is not None:
            user_id = existing  # the runner made it before this generator ran
        else:
            user_id = ids.next("user")
            s.users.append(
                User(
                    id=user_id,
                    username=BENCH_USERNAME if i == 0 else f"bench-desk-agent-{i:03d}",
                    password=UNUSABLE_PASSWORD_PREFIX,
                    first_name="Tugi",
                    last_name=f"Agent {i}",
                    email=f"tugi.agent{i}@{AGENCY_DOMAIN}",
                )
            )
        if desk_group is not None and not (
            user_id == existing
            and User.groups.through.objects.filter(user_id=user_id, group_id=desk_group).exists()
        ):
            s.user_groups.append(UserGroupRow(ids.next("user_group"), user_id, desk_group))
        # Agents' workloads differ; the runner's agent is a busy one.
        agents.append((user_id, BENCH_AGENT_WEIGHT if i == 0 else 0.3 + rng.random() * 1.7))
    s.bench_user_id = agents[0][0]
    for n, (user_id, weight) in enumerate(agents):
        home = desk_queues[0] if n == 0 else desk_queues[n % len(desk_queues)]
        mine = {home}
        if n == 0:
            mine.add(s.queue_ids["SKAIS"])
        mine.update(rng.sample(desk_queues, rng.randint(0, 2)))
        for qid in sorted(mine):
            weights[qid][user_id] = weight * (1.0 if qid == home else 0.3)
            s.members.append(QueueMemberRow(ids.next("member"), qid, user_id))
    for qid in desk_queues:
        if not weights[qid]:  # a queue nobody works would have no assignees: give it one
            user_id, weight = agents[qid % len(agents)]
            weights[qid][user_id] = weight
            s.members.append(QueueMemberRow(ids.next("member"), qid, user_id))
        members = sorted(weights[qid].items())
        s.agents_of[qid] = (
            [u for u, _w in members],
            list(itertools.accumulate(w for _u, w in members)),
        )
    for n, qid in enumerate(s.specialist_queues):
        for k in range(2):
            user_id = ids.next("user")
            s.users.append(
                User(
                    id=user_id,
                    username=f"bench-specialist-{n + 1}-{k + 1}",
                    password=UNUSABLE_PASSWORD_PREFIX,
                    first_name="Spetsialist",
                    last_name=f"{n + 1}.{k + 1}",
                    email=f"spetsialist{n + 1}.{k + 1}@{AGENCY_DOMAIN}",
                )
            )
            s.members.append(QueueMemberRow(ids.next("member"), qid, user_id))
            if specialist_group is not None:
                s.user_groups.append(
                    UserGroupRow(ids.next("user_group"), user_id, specialist_group)
                )


# --- the cases ----------------------------------------------------------------------------------


def _created_times(rng: random.Random, n: int) -> list[datetime.datetime]:
    """n creation moments over the five years, more in later years, sorted (ids grow with time).

    Most in office hours on working days, some in the evening and at weekends (the portal and
    mail never close).
    """
    span = (AS_OF - START).total_seconds()
    times = []
    for _ in range(n):
        # Linear growth of the intake: density ∝ (1 + 2t), by inverting its distribution.
        u = rng.random()
        t = (math.sqrt(1 + 8 * u) - 1) / 2  # in [0, 1)
        moment = START + datetime.timedelta(seconds=t * span)
        local = moment.astimezone(TALLINN)
        if rng.random() < 0.85:
            # Move into office hours of that day (a weekend day moves to the Friday before).
            day = local.date()
            while day.weekday() >= 5:
                day -= datetime.timedelta(days=1)
            minutes = 8 * 60 + 30 + rng.randrange(8 * 60 + 30)
            moment = datetime.datetime.combine(day, datetime.time(), tzinfo=TALLINN)
            moment = moment + datetime.timedelta(minutes=minutes, seconds=rng.randrange(60))
            moment = moment.astimezone(UTC)
        times.append(min(moment, AS_OF - datetime.timedelta(minutes=5)))
    times.sort()
    return times


def _working_after(start: datetime.datetime, minutes: int) -> datetime.datetime:
    """A cheap stand-in for the calendar, for the history of closed cases: about 8.5 working
    hours a day, five days a week. Open cases get the real calendar."""
    days, rest = divmod(minutes, 510)
    calendar_days = days // 5 * 7 + days % 5
    return start + datetime.timedelta(days=calendar_days, minutes=rest)


class _Builder:
    """Builds the cases and everything hanging off them, a chunk at a time."""

    def __init__(self, ctx: GenContext, ids: _Ids, s: Setup) -> None:
        self.ctx, self.ids, self.s = ctx, ids, s
        self.rng = ctx.rng("desk.cases")
        self.text_rng = ctx.rng("desk.texts")
        self.domain = mail_domain()
        self.channel = _mix(self.rng, CHANNELS)
        self.category = _mix(self.rng, CATEGORIES)
        self.level = _mix(self.rng, LEVELS)
        self.old_open = _mix(self.rng, OLD_OPEN_MIX)
        self.recent_open = _mix(self.rng, RECENT_OPEN_MIX)
        self.requesters = self._requesters()
        self.pick_requester = weighted_picker(self.rng, self.requesters, exponent=0.6)
        systems = list(TargetSystem.objects.order_by("id").values_list("id", "code"))
        self.systems = systems
        self.pick_system = weighted_picker(self.rng, systems, 0.9) if systems else None
        modules: dict[int, list[str]] = collections.defaultdict(list)
        for system_id, module in (
            Role.objects.exclude(module="").values_list("system_id", "module").distinct()
        ):
            modules[system_id].append(module)
        self.modules = {k: sorted(v) for k, v in modules.items()}
        self.pick_tag = weighted_picker(self.rng, [t.id for t in s.tags], 1.0)
        self.uid = itertools.count(1)
        self.last_case_of: dict[int, int] = {}
        self.vendor = weighted_picker(self.rng, VENDORS, 1.0)
        self.counts: collections.Counter[str] = collections.Counter()

    def _requesters(self) -> list[Requester]:
        rows = list(
            Person.objects.order_by("id").values_list(
                "id", "email", "first_name", "last_name", "user_id"
            )
        )
        rng = self.ctx.rng("desk.requesters")
        rng.shuffle(rows)  # the skew falls on random persons, not on the first ids
        return [
            Requester(pid, email, f"{first} {last}", uid) for pid, email, first, last, uid in rows
        ]

    # --- one case ---------------------------------------------------------------------------

    def status_for(self, created: datetime.datetime) -> str:
        age = (AS_OF - created).total_seconds() / 86400
        r = self.rng.random()
        for days, open_share, resolved_share in AGE_BANDS:
            if age < days:
                if r < open_share:
                    return self.recent_open()
                if r < open_share + resolved_share:
                    return Case.Status.RESOLVED
                return Case.Status.CLOSED
        return self.old_open() if r < OLD_OPEN_SHARE else Case.Status.CLOSED

    def build_chunk(self, created_times: Sequence[datetime.datetime]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = collections.defaultdict(list)
        for created in created_times:
            self.case(created, out)
        return out

    def case(self, created: datetime.datetime, out: dict[str, list[Any]]) -> None:
        rng, s = self.rng, self.s
        cid = self.ids.next("case")
        status = self.status_for(created)
        self.counts[status] += 1
        channel = self.channel()
        category = self.category()
        impact, urgency = self.level(), self.level()
        priority = sla.PRIORITY_MATRIX[(impact, urgency)]
        if rng.random() < UNKNOWN_SENDER_SHARE:
            local = f"{self.text_rng.choice(('mari', 'jaan', 'kati', 'toomas', 'liis'))}"
            email = f"{local}.{rng.randrange(10_000)}@{rng.choice(EXTERNAL_DOMAINS)}"
            requester = Requester(None, email, "", None)
            channel = Case.Channel.EMAIL
        else:
            requester = self.pick_requester()
        system_id, system_code = (None, "")
        if self.pick_system is not None and rng.random() < WITH_SYSTEM_SHARE:
            system_id, system_code = self.pick_system()
        modules = self.modules.get(system_id or 0) or MODULES_FALLBACK
        module = rng.choice(modules) if system_id else ""
        subject = rng.choice(SUBJECTS[category]).format(
            system=system_code or "SKAIS2", module=module or rng.choice(MODULES_FALLBACK)
        )
        queue_id = s.category_queue.get(category) or s.system_queue.get(system_id or 0)
        queue_id = queue_id or s.queue_ids["TUGI"]
        policy_id, first_min, resolution_min, warn_min = s.policy_of.get(
            (priority, category), s.policy_of[(priority, "")]
        )
        done = status in (Case.Status.RESOLVED, Case.Status.CLOSED)
        assigned = done or rng.random() < (
            ASSIGNED_NEW_SHARE if status == Case.Status.NEW else ASSIGNED_OPEN_SHARE
        )
        agents, cumulative = s.agents_of[queue_id]
        assignee = rng.choices(agents, cum_weights=cumulative)[0] if assigned else None
        # Whoever answers: the assignee, or someone from the queue.
        answerer = assignee or rng.choices(agents, cum_weights=cumulative)[0]

        # --- SLA and the case's life -------------------------------------------------------
        first_responded = resolved = closed = None
        clock_started = None
        used = 0
        first_due = resolution_due = sla_due = warned = breached = None
        if done:
            first_due = _working_after(created, first_min)
            resolution_due = _working_after(created, resolution_min)
            # Most answered and resolved in time, some late.
            first_responded = created + datetime.timedelta(
                minutes=first_min * (0.1 + rng.random() * (1.6 if rng.random() < 0.1 else 0.9))
            )
            lateness = 1.5 + rng.random() * 3 if rng.random() < 0.12 else rng.random()
            resolved = max(
                first_responded + datetime.timedelta(minutes=5),
                created + datetime.timedelta(minutes=resolution_min * 2.5 * lateness),
            )
            resolved = min(resolved, AS_OF - datetime.timedelta(minutes=1))
            first_responded = min(first_responded, resolved)
            used = int(min(resolution_min * 60 * lateness, 10_000_000))
            if status == Case.Status.CLOSED:
                closed = min(resolved + datetime.timedelta(days=14), AS_OF)
        else:
            first_due = calendar.add_working_seconds(created, first_min * 60)
            resolution_due = calendar.add_working_seconds(created, resolution_min * 60)
            if status != Case.Status.NEW:
                first_responded = min(
                    created + datetime.timedelta(minutes=first_min * (0.2 + rng.random())),
                    AS_OF - datetime.timedelta(minutes=1),
                )
            if status == Case.Status.WAITING_REQUESTER:
                # Paused: the clock stood still since the desk asked.
                paused_at = first_responded or created
                used = max(0, calendar.working_seconds_between(created, paused_at))
            else:
                clock_started = created
                sla_due = first_due if first_responded is None else resolution_due
                if sla_due < AS_OF:
                    breached = sla_due + datetime.timedelta(minutes=5)
                    warned = sla_due - datetime.timedelta(minutes=warn_min)
        # A third of the finished cases were answered with the resolution itself.
        quick = done and rng.random() < QUICK_SHARE
        if quick:
            first_responded = resolved

        follow_up = None
        if requester.id is not None:
            previous = self.last_case_of.get(requester.id)
            if previous is not None and rng.random() < FOLLOW_UP_SHARE:
                follow_up = previous
            self.last_case_of[requester.id] = cid

        # --- messages ------------------------------------------------------------------------
        messages = self.messages(
            cid=cid,
            status=status,
            channel=channel,
            created=created,
            first_responded=first_responded,
            resolved=resolved,
            requester=requester,
            answerer=answerer,
            subject=subject,
            module=module or "Menetlus",
            system_code=system_code or "SKAIS2",
            quick=quick,
            out=out,
        )
        updated = closed or max(m.created_at for m in messages)
        thread_root = messages[0].message_id if channel == Case.Channel.EMAIL else ""
        if not thread_root:
            replies = [m for m in messages if m.kind == Message.Kind.REPLY]
            thread_root = replies[0].message_id if replies else ""

        out["cases"].append(
            CaseRow(
                id=cid,
                subject=subject[:300],
                requester_id=requester.id,
                requester_email="" if requester.id else requester.email,
                requester_name="" if requester.id else requester.name,
                language="en" if rng.random() < ENGLISH_SHARE else "et",
                channel=channel,
                system_id=system_id,
                module=module,
                category=category,
                impact=impact,
                urgency=urgency,
                priority=priority,
                status=status,
                queue_id=queue_id,
                assignee_id=assignee,
                parent_id=follow_up,
                duplicate_of_id=None,
                merged_into_id=None,
                created_at=created,
                updated_at=updated,
                sla_policy_id=policy_id,
                sla_clock_started_at=clock_started,
                sla_used_seconds=used,
                first_response_due=first_due,
                resolution_due=resolution_due,
                sla_due=sla_due,
                first_responded_at=first_responded,
                resolved_at=resolved,
                closed_at=closed,
                sla_warned_at=warned,
                sla_breached_at=breached,
                thread_root=thread_root,
            )
        )
        if rng.random() < TAGGED_SHARE:
            for tag_id in {self.pick_tag() for _ in range(rng.randint(1, 2))}:
                out["case_tags"].append(CaseTagRow(self.ids.next("case_tag"), cid, tag_id))
        if done and requester.id is not None and rng.random() < RATED_SHARE:
            score = rng.choices((5, 4, 3, 2, 1), weights=(55, 25, 10, 5, 5))[0]
            out["ratings"].append(
                RatingRow(
                    id=self.ids.next("rating"),
                    case_id=cid,
                    score=score,
                    comment=rng.choice(RATING_COMMENTS),
                    created_at=(resolved or created) + datetime.timedelta(hours=2),
                )
            )

    # --- a case's history ---------------------------------------------------------------------

    def _mail_id(self, local: str, domain: str) -> str:
        digest = hashlib.blake2b(f"{self.ctx.seed}:{local}".encode(), digest_size=8).hexdigest()
        return f"<{digest}.{local}@{domain}>"

    def messages(
        self,
        *,
        cid: int,
        status: str,
        channel: str,
        created: datetime.datetime,
        first_responded: datetime.datetime | None,
        resolved: datetime.datetime | None,
        requester: Requester,
        answerer: int,
        subject: str,
        module: str,
        system_code: str,
        quick: bool,
        out: dict[str, list[Any]],
    ) -> list[Any]:
        rng, t = self.rng, self.text_rng
        by_mail = channel == Case.Channel.EMAIL
        sender_domain = requester.email.rpartition("@")[2] or AGENCY_DOMAIN
        fill = {"subject": subject.rstrip("?"), "module": module, "system": system_code}
        rows: list[Any] = []
        thread: list[str] = []

        def add(
            kind: str,
            at: datetime.datetime,
            body: str,
            *,
            author: int | None = None,
            escalation: int | None = None,
            email: str = "",
            reply_to: str = "",
        ) -> Any:
            mid = self.ids.next("message")
            message_id, in_reply_to = "", reply_to
            sent_at = None
            if kind in (Message.Kind.REPLY, Message.Kind.TO_PARTY):
                message_id = f"<tugi.case{cid}.msg{mid}@{self.domain}>"
                sent_at = at + datetime.timedelta(seconds=20)
            elif kind == Message.Kind.FROM_REQUESTER and by_mail:
                message_id = self._mail_id(f"m{mid}", sender_domain)
            elif kind == Message.Kind.FROM_PARTY:
                message_id = self._mail_id(f"p{mid}", email.rpartition("@")[2])
            if message_id and thread and kind in (Message.Kind.REPLY, Message.Kind.FROM_REQUESTER):
                in_reply_to = thread[-1]
            row = MessageRow(
                id=mid,
                case_id=cid,
                escalation_id=escalation,
                kind=kind,
                author_id=author,
                author_email=email,
                body=body,
                body_html="",
                created_at=at,
                message_id=message_id,
                in_reply_to=in_reply_to,
                sent_at=sent_at,
            )
            rows.append(row)
            out["messages"].append(row)
            if message_id and kind in (Message.Kind.REPLY, Message.Kind.FROM_REQUESTER):
                thread.append(message_id)
            if kind == Message.Kind.FROM_REQUESTER and by_mail:
                self.inbound(row, requester.email, subject, cid, first=len(rows) == 1, out=out)
            share = ATTACHMENT_SHARE_REQUESTER if kind == Message.Kind.FROM_REQUESTER else 0
            share = ATTACHMENT_SHARE_REPLY if kind == Message.Kind.REPLY else share
            if share and rng.random() < share:
                self.attachment(mid, out)
            return row

        requester_author = requester.user_id if channel == Case.Channel.PORTAL else None
        add(
            Message.Kind.FROM_REQUESTER,
            created,
            t.choice(FIRST_MESSAGES).format(**fill),
            author=requester_author,
            email=requester.email,
        )
        if status == Case.Status.NEW:
            if rng.random() < 0.3:
                at = created + datetime.timedelta(minutes=rng.randrange(5, 120))
                add(
                    Message.Kind.FROM_REQUESTER,
                    min(at, AS_OF - datetime.timedelta(minutes=2)),
                    t.choice(REQUESTER_AGAIN).format(**fill),
                    author=requester_author,
                    email=requester.email,
                )
            return rows

        done = resolved is not None
        assert first_responded is not None
        end = resolved or AS_OF - datetime.timedelta(minutes=1)
        # 2–5 in all for a finished case: the first message, the first reply (unless the
        # resolution was the first reply), up to two more in between, the resolution; an open
        # one has no resolution yet.
        extra = rng.randint(0, 2)
        begin = created if quick else first_responded
        if not quick:
            add(
                Message.Kind.REPLY,
                first_responded,
                t.choice(REPLIES).format(**fill),
                author=answerer,
            )
        span = max((end - begin).total_seconds(), 120)
        moments = sorted(
            min(begin + datetime.timedelta(seconds=span * rng.random()), end) for _ in range(extra)
        )
        escalated = status == Case.Status.WAITING_THIRD_PARTY or rng.random() < ESCALATED_SHARE
        for k, at in enumerate(moments):
            if escalated and k == 0:
                # The party answers before whatever comes next in the case.
                until = moments[1] if len(moments) > 1 else end
                self.escalation(cid, status, at, until, end, answerer, fill, add, out)
            elif rng.random() < NOTE_SHARE:
                add(Message.Kind.NOTE, at, t.choice(NOTES).format(**fill), author=answerer)
            else:
                add(
                    Message.Kind.FROM_REQUESTER,
                    at,
                    t.choice(REQUESTER_AGAIN).format(**fill),
                    author=requester_author,
                    email=requester.email,
                )
        if escalated and not moments:
            self.escalation(cid, status, begin, end, end, answerer, fill, add, out)
        if done:
            add(Message.Kind.REPLY, end, t.choice(RESOLUTIONS), author=answerer)
        return rows

    def escalation(
        self,
        cid: int,
        status: str,
        at: datetime.datetime,
        until: datetime.datetime,
        end: datetime.datetime,
        answerer: int,
        fill: dict[str, str],
        add: Callable[..., Any],
        out: dict[str, list[Any]],
    ) -> None:
        rng, t = self.rng, self.text_rng
        eid = self.ids.next("escalation")
        third = (
            status == Case.Status.WAITING_THIRD_PARTY or rng.random() < THIRD_PARTY_OF_ESCALATIONS
        )
        open_ = status not in (Case.Status.RESOLVED, Case.Status.CLOSED)
        summary = t.choice(PARTY_TEXTS).format(**fill)
        if third:
            party, party_email, prefix = self.vendor()
            reference = f"{prefix}-{rng.randrange(10_000, 999_999)}" if rng.random() < 0.7 else ""
            sent = add(Message.Kind.TO_PARTY, at, summary, author=answerer, escalation=eid)
            answered = not open_ or (
                status != Case.Status.WAITING_THIRD_PARTY and rng.random() < 0.5
            )
            if answered:
                add(
                    Message.Kind.FROM_PARTY,
                    at + (until - at) * (0.2 + 0.6 * rng.random()),
                    t.choice(PARTY_REPLIES),
                    escalation=eid,
                    email=party_email,
                    reply_to=sent.message_id,
                )
            row = EscalationRow(
                id=eid,
                case_id=cid,
                kind=Escalation.Kind.THIRD_PARTY,
                queue_id=None,
                party_name=party,
                party_email=party_email,
                external_reference=reference,
                external_url="",
                summary=summary,
                due_at=at + datetime.timedelta(days=5),
                status=(
                    Escalation.Status.CLOSED
                    if not open_
                    else Escalation.Status.ANSWERED
                    if answered and status != Case.Status.WAITING_THIRD_PARTY
                    else Escalation.Status.OPEN
                ),
                created_by_id=answerer,
                created_at=at,
                closed_at=end if not open_ else None,
                thread_root=sent.message_id,
            )
        else:
            add(Message.Kind.NOTE, at, summary, author=answerer, escalation=eid)
            row = EscalationRow(
                id=eid,
                case_id=cid,
                kind=Escalation.Kind.SPECIALISTS,
                queue_id=rng.choice(self.s.specialist_queues),
                party_name="",
                party_email="",
                external_reference="",
                external_url="",
                summary=summary,
                due_at=None,
                status=Escalation.Status.OPEN if open_ else Escalation.Status.CLOSED,
                created_by_id=answerer,
                created_at=at,
                closed_at=end if not open_ else None,
                thread_root="",
            )
        out["escalations"].append(row)

    def inbound(
        self,
        message: Any,
        sender: str,
        subject: str,
        cid: int,
        *,
        first: bool,
        out: dict[str, list[Any]],
    ) -> None:
        """The intake's record of a mail it took in (now and then an auto-reply it ignored)."""
        out["inbound"].append(
            InboundRow(
                id=self.ids.next("inbound"),
                message_id=message.message_id,
                mailbox=MAILBOX,
                uid=str(next(self.uid)),
                received_at=message.created_at,
                sender=sender,
                subject=subject if first else f"Re: [Tugi #{cid}] {subject}"[:500],
                outcome=InboundMail.Outcome.NEW_CASE if first else InboundMail.Outcome.THREADED,
                reason="" if first else "matched by message-id",
                case_id=cid,
                raw=None,
            )
        )
        if self.rng.random() < IGNORED_MAIL_SHARE:
            at = message.created_at + datetime.timedelta(minutes=1)
            out["inbound"].append(
                InboundRow(
                    id=self.ids.next("inbound"),
                    message_id=self._mail_id(f"auto{message.id}", AGENCY_DOMAIN),
                    mailbox=MAILBOX,
                    uid=str(next(self.uid)),
                    received_at=at,
                    sender=sender,
                    subject=f"Automaatne vastus: {subject}"[:500],
                    outcome=InboundMail.Outcome.IGNORED,
                    reason="automatic mail (Auto-Submitted: auto-replied)",
                    case_id=None,
                    raw=AUTO_REPLY,
                )
            )

    def attachment(self, message_id: int, out: dict[str, list[Any]]) -> None:
        name, content_type, size = self.rng.choice(FILES)
        digest = hashlib.sha256(f"{self.ctx.seed}:{message_id}".encode()).hexdigest()
        out["attachments"].append(
            AttachmentRow(
                id=self.ids.next("attachment"),
                message_id=message_id,
                file=f"attachments/{digest[:2]}/{digest}",
                filename=name,
                content_type=content_type,
                size=int(size * (0.2 + self.rng.random())),
                sha256=digest,
            )
        )


# --- writing --------------------------------------------------------------------------------------


def _sqlite_datetime(value: datetime.datetime) -> str:
    # What Django's SQLite backend stores for an aware datetime: naive UTC, ISO with a space.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def fast_insert(model: type[models.Model], rows: Sequence[Any]) -> int:
    """Insert light rows (tuples in the model's column order, ids set) as `copy_insert` does.

    The same statements (COPY on PostgreSQL, one prepared INSERT run many times on SQLite), but
    without Django's per-value conversion: profiled at the `smoke` scale, converting the
    datetimes (a case has eleven) through the fields took 40 % of the generation. The rows hold
    only values the drivers take as they are (aware datetimes, str, int, bytes, None), so
    PostgreSQL gets them unchanged and SQLite gets its datetimes as Django would store them.
    """
    if not rows:
        return 0
    fields = list(model._meta.concrete_fields)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return len(rows)
        stamps = [i for i, f in enumerate(fields) if isinstance(f, models.DateTimeField)]
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        for start in range(0, len(rows), 20_000):
            batch = []
            for row in rows[start : start + 20_000]:
                values = list(row)
                for i in stamps:
                    if values[i] is not None:
                        values[i] = _sqlite_datetime(values[i])
                batch.append(values)
            cursor.executemany(sql, batch)
    return len(rows)


_TABLES = (
    ("cases", Case),
    ("messages", Message),
    ("inbound", InboundMail),
    ("escalations", Escalation),
    ("ratings", Rating),
    ("attachments", Attachment),
    ("case_tags", Case.tags.through),
)


@contextmanager
def _large_page_cache() -> Iterator[None]:
    """On SQLite, a page cache large enough for the indexes being filled.

    The load is one transaction of a few GB; with SQLite's default cache (2 MB) every insert into
    an index on a random key (Message-IDs) reads and rewrites pages that just left the cache, and
    the load runs ten times longer. PostgreSQL's shared buffers need no such help.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def generate(ctx: GenContext) -> dict[str, int]:
    """Build the desk for the context's scale on the people (and systems) in the database."""
    ids = _Ids(FirstIds.from_database())
    counts: collections.Counter[str] = collections.Counter()
    with transaction.atomic(), _large_page_cache():
        s = _setup(ctx, ids)
        counts["queues"] = copy_insert(Queue, s.queues)
        counts["SLA policies"] = copy_insert(SlaPolicy, s.policies)
        counts["tags"] = copy_insert(Tag, s.tags)
        counts["users"] = bulk_insert(User, s.users)
        counts["queue members"] = copy_insert(Queue.members.through, s.members)
        counts["user roles"] = copy_insert(User.groups.through, s.user_groups)
        counts["routing rules"] = copy_insert(RoutingRule, s.rules)
        counts["reply templates"] = copy_insert(ReplyTemplate, s.templates)
        builder = _Builder(ctx, ids, s)
        times = _created_times(ctx.rng("desk.times"), ctx.scale.cases)
        for start in range(0, len(times), CHUNK):
            chunk = builder.build_chunk(times[start : start + CHUNK])
            for key, model in _TABLES:
                counts[key] += fast_insert(model, chunk.get(key, ()))
            done = start + CHUNK
            if done % PROGRESS_EVERY == 0 and done < len(times):
                logger.info("desk: %s of %s cases written", f"{done:,}", f"{len(times):,}")
    names = {
        "cases": "cases",
        "messages": "messages",
        "inbound": "inbound mails",
        "escalations": "escalations",
        "ratings": "ratings",
        "attachments": "attachments",
        "case_tags": "case tags",
    }
    return {names.get(k, k): v for k, v in counts.items()}
