"""Timed operations on the service desk: the queue page, the case API, opening cases through the
API, and a burst of incoming mail.

The queue inputs are the worst cases at the scale: the queue with the most open cases (its open
cases are the most to order by SLA due time), and "mine" for the runner's agent, who works as
many cases as the busiest agent. The two throughput goals (cases a second through the API, 1,000
mails in a minute) are judged by the mean of the calls: their total time is what counts.

Opening cases and processing mail write to the benchmark database: each run adds about 500 cases
through the API one by one, 1,100 in batches and about 1,000 through mail (all of them new, due
long after the generated ones, so the queue's first pages stay as generated).
"""

import email.policy
import itertools
import json
import logging
import random
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import format_datetime

from django.db import close_old_connections
from django.db.models import Count
from django.utils import timezone

from bench.registry import BenchContext, OperationError, operation
from tugi.desk.models import Case, InboundMail, Message
from tugi.people.models import Person

QUEUE_GOAL_MS = 30
API_GOAL_MS = 30
# 200 cases a second in one process: 5 ms a case on average.
CREATE_RATE = 200
CREATE_N = 500
# 1,000 mails in 60 s: 60 ms a mail on average.
MAIL_N = 1_000
MAIL_GOAL_S = 60
API_CASES = "/api/v1/cases/"
OPEN_STATUSES = ("new", "open", "waiting_requester", "waiting_third_party")
DOMAIN = "sotsiaalkindlustusamet.ee"


def busiest_queue() -> int:
    """The queue with the most open cases (a scan of the open cases, untimed)."""
    top = (
        Case.objects.filter(status__in=OPEN_STATUSES)
        .values("queue_id")
        .annotate(n=Count("id"))
        .order_by("-n", "queue_id")
        .first()
    )
    if top is None:
        raise OperationError("no open cases: is the scale data loaded?")
    return int(top["queue_id"])


# --- the desk's queue page --------------------------------------------------------------------


@operation("desk queue page, busiest queue", goal_ms=QUEUE_GOAL_MS)
def queue_page_queue(ctx: BenchContext) -> Callable[[], object]:
    """The "all open" tab filtered to the queue with the most open cases: 50 rows by SLA due."""
    url = ctx.url("desk:queue")
    params = {"tab": "all", "queue": busiest_queue()}
    ctx.get(url, params, expect='class="queue-row')
    return lambda: ctx.get(url, params)


@operation("desk queue page, mine", goal_ms=QUEUE_GOAL_MS)
def queue_page_mine(ctx: BenchContext) -> Callable[[], object]:
    """The agent's own open cases by SLA due ("mine", the tab the queue opens on)."""
    url = ctx.url("desk:queue")
    params = {"tab": "mine"}
    if not Case.objects.filter(assignee=ctx.user, status__in=OPEN_STATUSES).exists():
        raise OperationError(f"{ctx.user} has no open cases: is the desk data loaded?")
    ctx.get(url, params, expect='class="queue-row')
    return lambda: ctx.get(url, params)


# --- searching subjects -------------------------------------------------------------------------

# A word no subject has, two words about 130 cases have, a word in about 4 % of them (every
# "… on väga aeglane" case), and one in 0.3 % (a module's name: 3,400 cases, 140 of them open).
# The first two are where an ordered walk finds nothing to stop at; the last is the hard middle:
# too many matches to read them first, too few among the open cases for the walk to stop early.
NO_MATCH = "olematu"
RARE_WORDS = "summa (dokumendid)"
COMMON_WORD = "aeglane"
SPARSE_WORD = "dokumendid"


def _rows_contain(html: str, words: str) -> bool:
    """Whether every row of the queue page names each word in its subject (case ignored)."""
    subjects = [
        part.split("</a>", 1)[0].rsplit(">", 1)[-1]
        for part in html.split('queue-table__subject">')[1:]
    ]
    return bool(subjects) and all(
        w.casefold() in subject.casefold() for subject in subjects for w in words.split()
    )


def _open_matches(q: str) -> bool:
    """Whether any open case has every word of `q` in its subject (untimed: a scan)."""
    cases = Case.objects.filter(status__in=OPEN_STATUSES)
    for word in q.split():
        cases = cases.filter(subject__icontains=word)
    return cases.exists()


def _queue_search(ctx: BenchContext, q: str) -> Callable[[], object]:
    url = ctx.url("desk:queue")
    params = {"tab": "all", "q": q}
    html = ctx.get(url, params).content.decode()
    listed = 'class="queue-row' in html
    if listed != _open_matches(q) or (listed and not _rows_contain(html, q)):
        raise OperationError(f"{url} {params} did not answer the matching cases")
    return lambda: ctx.get(url, params)


@operation("desk queue search, no match", goal_ms=QUEUE_GOAL_MS)
def queue_search_none(ctx: BenchContext) -> Callable[[], object]:
    """All open cases searched for a word no subject has (an ordered walk never stops early)."""
    return _queue_search(ctx, NO_MATCH)


@operation("desk queue search, rare words", goal_ms=QUEUE_GOAL_MS)
def queue_search_rare(ctx: BenchContext) -> Callable[[], object]:
    """All open cases searched for two words about 130 of the million subjects have."""
    return _queue_search(ctx, RARE_WORDS)


@operation("desk queue search, common word", goal_ms=QUEUE_GOAL_MS)
def queue_search_common(ctx: BenchContext) -> Callable[[], object]:
    """All open cases searched for a word in about 4 % of the subjects."""
    return _queue_search(ctx, COMMON_WORD)


@operation("desk queue search, sparse word", goal_ms=QUEUE_GOAL_MS)
def queue_search_sparse(ctx: BenchContext) -> Callable[[], object]:
    """All open cases searched for a word in 0.3 % of the subjects, few of them open."""
    return _queue_search(ctx, SPARSE_WORD)


def _api_search(ctx: BenchContext, q: str, *, empty: bool) -> Callable[[], object]:
    path = ctx.path(API_CASES)
    params = {"q": q}
    rows = ctx.get_api(path, params).get("results") or []
    if empty != (not rows) or any(
        w.casefold() not in r["subject"].casefold() for r in rows for w in q.split()
    ):
        raise OperationError(f"{path} {params} did not answer the matching cases")
    return lambda: ctx.get(path, params, headers=ctx.api_headers)


@operation("case list API search, no match", goal_ms=API_GOAL_MS)
def case_list_api_search_none(ctx: BenchContext) -> Callable[[], object]:
    """GET /api/v1/cases/?q=… for a word no subject has, over every case (closed ones too)."""
    return _api_search(ctx, NO_MATCH, empty=True)


@operation("case list API search, common word", goal_ms=API_GOAL_MS)
def case_list_api_search_common(ctx: BenchContext) -> Callable[[], object]:
    """GET /api/v1/cases/?q=… for a word in about 4 % of the subjects, in SLA order."""
    return _api_search(ctx, COMMON_WORD, empty=False)


# --- the case API -----------------------------------------------------------------------------


@operation("case list API, busiest queue", goal_ms=API_GOAL_MS)
def case_list_api_queue(ctx: BenchContext) -> Callable[[], object]:
    """GET /api/v1/cases/?queue=…&is_open=true: the busiest queue's open cases by SLA due."""
    path = ctx.path(API_CASES)
    params = {"queue": busiest_queue(), "is_open": "true"}
    rows = ctx.get_api(path, params).get("results") or []
    dues = [r["sla_due"] for r in rows if r["sla_due"]]
    if not rows or dues != sorted(dues) or {r["queue"] for r in rows} != {params["queue"]}:
        raise OperationError(f"{path} {params} did not answer the queue's cases in SLA order")
    return lambda: ctx.get(path, params, headers=ctx.api_headers)


@operation("case list API, mine", goal_ms=API_GOAL_MS)
def case_list_api_mine(ctx: BenchContext) -> Callable[[], object]:
    """GET /api/v1/cases/?mine=true&is_open=true: the agent's own open cases by SLA due."""
    path = ctx.path(API_CASES)
    params = {"mine": "true", "is_open": "true"}
    if not ctx.get_api(path, params).get("results"):
        raise OperationError(f"{path} {params} returned no cases")
    return lambda: ctx.get(path, params, headers=ctx.api_headers)


@operation("case list API, all cases", goal_ms=API_GOAL_MS)
def case_list_api_all(ctx: BenchContext) -> Callable[[], object]:
    """GET /api/v1/cases/ with no filter: every case, soonest due first, the finished ones last."""
    path = ctx.path(API_CASES)
    if len(ctx.get_api(path).get("results") or []) < 50:
        raise OperationError(f"{path} returned fewer than 50 cases")
    return lambda: ctx.get(path, headers=ctx.api_headers)


@operation("case detail API", goal_ms=API_GOAL_MS)
def case_detail_api(ctx: BenchContext) -> Callable[[], object]:
    """GET /api/v1/cases/{id}/ with its history, for a random case each time."""
    ctx.path(f"{API_CASES}1/")
    ids = ctx.sample_ids(Case, 200)
    first = next(ids)
    if ctx.get_api(f"{API_CASES}{first}/").get("id") != first:
        raise OperationError(f"{API_CASES}{first}/ did not answer the case")
    return lambda: ctx.get(f"{API_CASES}{next(ids)}/", headers=ctx.api_headers)


# --- opening cases through the API --------------------------------------------------------------

SUBJECTS = (
    "SKAIS2 ei avane",
    "Viga 500 pensioni taotluse salvestamisel",
    "Palun ligipääs STAR-i",
    "Väljatrükk jääb tühjaks",
    "Isiku aadress ei uuendu",
)


def _new_case(i: int, requester: int) -> dict[str, object]:
    """The i-th case an integration opens, for this requester (a person id)."""
    return {
        "subject": SUBJECTS[i % len(SUBJECTS)],
        "body": f"Integratsioon: viga kell {i % 24:02d}:{i % 60:02d}. Palun vaadake üle.",
        "requester": requester,
        "category": ("question", "malfunction", "access", "data")[i % 4],
        "impact": 1 + i % 3,
        "urgency": 1 + (i // 3) % 3,
    }


@operation(
    "create case via API",
    goal_ms=1000 / CREATE_RATE,
    repeat=CREATE_N,
    judge="mean",
    description=f"POST /api/v1/cases/, {CREATE_N} in a row: goal {CREATE_RATE} cases a second",
)
def create_case_api(ctx: BenchContext) -> Callable[[], object]:
    """An integration opens cases for staff (the desk's token names the requester)."""
    path = ctx.path(API_CASES)
    people = ctx.sample_ids(Person, 500, status=Person.Status.ACTIVE)
    n = itertools.count()
    headers = dict(ctx.api_headers)

    def post() -> object:
        body = _new_case(next(n), next(people))
        response = ctx.client.post(
            path, json.dumps(body), content_type="application/json", headers=headers
        )
        close_old_connections()
        if response.status_code != 201:
            raise OperationError(
                f"POST {path} answered {response.status_code}: {response.content!r}"
            )
        return response

    post()  # checked once, untimed: it must make a case
    return post


BATCH_SIZE = 100
BATCH_N = 10
API_BATCH = "/api/v1/cases/batch/"


@operation(
    "create cases via API batch",
    goal_ms=BATCH_SIZE * 1000 / CREATE_RATE,
    repeat=BATCH_N,
    judge="mean",
    description=f"POST /api/v1/cases/batch/ with {BATCH_SIZE} cases, {BATCH_N} in a row: goal "
    f"{CREATE_RATE} cases a second",
)
def create_cases_batch(ctx: BenchContext) -> Callable[[], object]:
    """An integration opens its cases in batches (one transaction and one insert of each kind)."""
    path = ctx.path(API_BATCH)
    people = ctx.sample_ids(Person, 500, status=Person.Status.ACTIVE)
    n = itertools.count()
    headers = dict(ctx.api_headers)

    def post() -> object:
        cases = [_new_case(next(n), next(people)) for _ in range(BATCH_SIZE)]
        response = ctx.client.post(
            path, json.dumps({"cases": cases}), content_type="application/json", headers=headers
        )
        close_old_connections()
        if response.status_code != 201 or len(response.json()) != BATCH_SIZE:
            raise OperationError(
                f"POST {path} answered {response.status_code}: {response.content[:500]!r}"
            )
        return response

    post()  # checked once, untimed: it must open the whole batch
    return post


# --- a burst of incoming mail -------------------------------------------------------------------

NEW_SUBJECTS = (
    "SKAIS2 ei avane",
    "Viga pensioni arvutamisel",
    "Palun ligipääs registrisse",
    "Töövõime otsuse väljatrükk on tühi",
    "Peretoetuse makse ei kajastu",
    "STAR: nupp Kinnita ei tööta",
    "Küsimus: kuidas lisada volitus",
    "Parool aegus",
)
BODIES = (
    "Tere!\n\nAvan rakenduse ja tuleb veateade. Proovisin teise brauseriga.\n\nLugupidades\n{name}",
    "Tere\n\nPalun abi: {subject}. Töö seisab.\n\n{name}\nSotsiaalkindlustusamet",
    "Tere,\n\nkolleegil on sama mure. Lisan kuvatõmmise.\n\nAitäh!\n{name}",
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"0" * 20_000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 30_000


class MailBurst:
    """Realistic raw mails for the intake, made on demand; Message-IDs unique to this run.

    Of each hundred: about 70 new questions from staff (plain text, or text with an HTML part;
    some in a Baltic charset; some with a PDF or a screenshot), 15 answers to open cases (In-Reply-
    To and References naming the desk's reply; the requester's own address), 3 answers to closed
    cases (they open follow-ups), 5 from people outside the agency, 4 forwarded into the desk with
    References nobody here knows, and 3 out-of-office auto-replies, which the intake ignores.
    """

    def __init__(self, ctx: BenchContext) -> None:
        self.rng = random.Random(ctx.rng.random())
        self.run = uuid.uuid4().hex[:12]
        self.count = itertools.count()
        emails = list(
            Person.objects.filter(status=Person.Status.ACTIVE)
            .order_by("pk")
            .values_list("email", "first_name", "last_name")[:50_000]
        )
        if not emails:
            raise OperationError("no persons: is the scale data loaded?")
        self.staff = self.rng.sample(emails, min(len(emails), 3_000))
        # Cases the desk has answered (new ones have no reply to answer yet; and the newest cases
        # are the ones earlier runs opened through the API and mail).
        self.open_threads = self._threads(("open", "waiting_requester"))
        self.closed_threads = self._threads(("closed",))

    def _threads(self, statuses: tuple[str, ...]) -> list[tuple[str, str, str, int]]:
        """(reply Message-ID, requester's address, subject, case id) of replies in such cases."""
        cases = list(
            Case.objects.filter(status__in=statuses, requester__isnull=False)
            .order_by("-id")
            .values_list("id", flat=True)[:300]
        )
        rows = (
            Message.objects.filter(case_id__in=cases, kind=Message.Kind.REPLY)
            .exclude(message_id="")
            .values_list("message_id", "case__requester__email", "case__subject", "case_id")
        )
        return list(rows)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        i = next(self.count)
        rng = self.rng
        roll = rng.random()
        mail = EmailMessage(policy=email.policy.SMTP)
        mail["To"] = f"Tugi <tugi@{DOMAIN}>"
        mail["Message-ID"] = f"<{self.run}.{i}@mail.{DOMAIN}>"
        mail["Date"] = format_datetime(timezone.now())
        address, first, last = rng.choice(self.staff)
        name = f"{first} {last}"
        subject = rng.choice(NEW_SUBJECTS)
        if roll < 0.15 and self.open_threads:
            mid, address, case_subject, case_id = rng.choice(self.open_threads)
            subject = f"Re: [Tugi #{case_id}] {case_subject}"
            mail["In-Reply-To"] = mid
            mail["References"] = mid
        elif roll < 0.18 and self.closed_threads:
            mid, address, case_subject, case_id = rng.choice(self.closed_threads)
            subject = f"Re: [Tugi #{case_id}] {case_subject}"
            mail["In-Reply-To"] = mid
            mail["References"] = mid
        elif roll < 0.23:
            address = f"kodanik{rng.randrange(100_000)}@{rng.choice(('gmail.com', 'mail.ee'))}"
            name = "Kodanik"
        elif roll < 0.27:
            foreign = f"<{uuid.uuid4().hex}@outlook.example>"
            mail["References"] = f"{foreign} <{uuid.uuid4().hex}@outlook.example>"
            mail["In-Reply-To"] = foreign
            subject = f"FW: {subject}"
        elif roll < 0.30:
            mail["Auto-Submitted"] = "auto-replied"
            subject = f"Automaatne vastus: {subject}"
        mail["From"] = f"{name} <{address}>"
        mail["Subject"] = subject
        body = rng.choice(BODIES).format(name=name, subject=subject)
        charset = "windows-1257" if rng.random() < 0.1 else "utf-8"
        mail.set_content(body, charset=charset, cte="quoted-printable")
        if rng.random() < 0.3:
            paragraphs = "".join(f"<p>{line}</p>" for line in body.split("\n") if line)
            mail.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
        attach = rng.random()
        if attach < 0.08:
            mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="otsus.pdf")
        elif attach < 0.12:
            mail.add_attachment(PNG, maintype="image", subtype="png", filename="image001.png")
        return mail.as_bytes()


@operation(
    "1,000 incoming e-mails into cases",
    goal_ms=MAIL_GOAL_S * 1000 / MAIL_N,
    repeat=MAIL_N,
    judge="mean",
    description=f"process_raw on {MAIL_N} realistic mails in a row: goal {MAIL_GOAL_S} s in all",
)
def incoming_mail(ctx: BenchContext) -> Callable[[], object]:
    """The intake (`tugi.desk.mail.inbound.process_raw`) on a burst of mail, one mail a call."""
    try:
        from tugi.desk.mail.inbound import process_raw
    except ImportError:
        raise OperationError("tugi.desk.mail.inbound.process_raw is missing") from None
    # One INFO line per mail is what production logs; here it would bury the runner's table.
    logging.getLogger("tugi.desk.mail.inbound").setLevel(logging.WARNING)
    burst = MailBurst(ctx)
    first = process_raw(next(burst), mailbox="bench")
    if first.outcome == InboundMail.Outcome.FAILED:
        raise OperationError(f"the intake failed on a plain mail: {first.reason}")

    def receive() -> object:
        row = process_raw(next(burst), mailbox="bench")
        close_old_connections()
        if row.outcome == InboundMail.Outcome.FAILED:
            raise OperationError(f"the intake failed on mail {row.message_id}: {row.reason}")
        return row

    return receive
