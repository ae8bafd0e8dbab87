"""Reads for the desk pages: the queue views, a requester's cases, a case with its history.

The queue is the hot page (a million cases): it is sorted by SLA due time (cases without a
running clock last) then id, and paged by key on (sla_due, id), never by OFFSET and never with
a COUNT(*). A database cannot read `status IN (…) ORDER BY sla_due` in index order (each status
is its own run of the index), so the page is read as one small ordered index range per
*partition* — (queue, status), (assignee, status) or (status) — each at most a page long. Every
partition is an equality prefix of one of the indexes `case_queue_due`, `case_assignee_due` or
`case_status_due`, followed by the (sla_due, id) range: the cost is a few dozen index entries per
partition, whatever the size of the table. The ranges, their merge (UNION ALL, sorted and cut to
a page by the database) and the page's rows with what the table shows are one statement, so a
page is one round trip (on PostgreSQL each costs more than the index ranges) and the rows come
as plain values, not model instances. A search of the subjects with few matches reads those
matches instead (`tugi.desk.search`).
"""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Permission, User
from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tugi.access.models import TargetSystem
from tugi.access.page_queries import id_page
from tugi.core.models import AuditEvent
from tugi.desk import actions, calendar, sla
from tugi.desk.models import Case, Escalation, Message, Queue, ReplyTemplate
from tugi.desk.search import search_subjects
from tugi.people.models import Person
from tugi.people.queries import KeysetPage, decode_cursor, encode_cursor

PAGE_SIZE = 50
# Up to this many queues, "my queues" reads one index range per queue and status.
MAX_QUEUE_PARTITIONS = 3
OPEN_STATUSES: tuple[str, ...] = tuple(str(s) for s in actions.OPEN_STATUSES)

# Priority is stored as a number (1 … 4) computed from impact × urgency.
PRIORITY_LABELS = {
    1: gettext_lazy("critical"),
    2: gettext_lazy("high"),
    3: gettext_lazy("medium"),
    4: gettext_lazy("low"),
}


def priority_label(priority: int) -> str:
    return str(PRIORITY_LABELS.get(priority, priority))


def breaching_hours() -> int:
    """ "Breaching soon" means due within this many working hours (or already overdue)."""
    return int(getattr(settings, "TUGI_DESK_BREACHING_HOURS", 4))


# --- the queue ----------------------------------------------------------------------------------


class Tab:
    """The queue views of the desk (and the specialists' one)."""

    MINE = "mine"
    MY_QUEUES = "queues"
    UNASSIGNED = "unassigned"
    BREACHING = "breaching"
    ALL = "all"
    ESCALATED = "escalated"

    DESK = (MINE, MY_QUEUES, UNASSIGNED, BREACHING, ALL)


@dataclass
class QueueFilters:
    """What the queue shows: a tab and optional filters (empty means "any")."""

    tab: str = Tab.MINE
    queue_id: int | None = None
    status: str = ""
    priority: int | None = None
    system_id: int | None = None
    category: str = ""
    tag_id: int | None = None
    q: str = ""

    @property
    def filtered(self) -> bool:
        return bool(
            self.queue_id
            or self.status
            or self.priority
            or self.system_id
            or self.category
            or self.tag_id
            or self.q.strip()
        )


# A row's place in the queue order: (1 if it has no due time, due time, id).
Key = tuple[int, datetime.datetime | None, int]
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _key_to_cursor(direction: str, key: Key) -> str:
    null, due, pk = key
    micros = 0 if due is None else (due - _EPOCH) // datetime.timedelta(microseconds=1)
    return encode_cursor(direction, [null, micros, pk])


def _cursor_to_key(cursor: str) -> tuple[str, Key] | None:
    decoded = decode_cursor(cursor, 3)
    if decoded is None:
        return None
    direction, (null, micros, pk) = decoded
    if null not in (0, 1) or not isinstance(micros, int) or not isinstance(pk, int):
        return None
    due = None if null else _EPOCH + datetime.timedelta(microseconds=micros)
    return direction, (null, due, pk)


def _sort_key(key: Key) -> tuple[int, datetime.datetime, int]:
    null, due, pk = key
    return (null, due or _EPOCH, pk)


@dataclass
class QueuePlan:
    """How a queue view is read: its index partitions and what else each row must satisfy."""

    partitions: list[dict[str, Any]]
    residual: Q = field(default_factory=Q)
    due_until: datetime.datetime | None = None  # "breaching soon": only rows due by then
    # A search with few matches: the only rows that can be in the view (see `tugi.desk.search`).
    candidates: list[int] | None = None


def my_queue_ids(user: User | AnonymousUser) -> list[int]:
    """The active queues the user is a member of."""
    if not user.is_authenticated:
        return []
    return list(Queue.objects.filter(members=user, active=True).values_list("id", flat=True))


def _residual(f: QueueFilters) -> Q:
    q = Q()
    if f.priority:
        q &= Q(priority=f.priority)
    if f.system_id:
        q &= Q(system_id=f.system_id)
    if f.category:
        q &= Q(category=f.category)
    if f.tag_id is not None:
        q &= Q(id__in=Case.tags.through.objects.filter(tag_id=f.tag_id).values("case_id"))
    return q


def case_number(text: str) -> int | None:
    """The case number in "123", "#123" or "Tugi #123", else None."""
    digits = text.strip().lower().removeprefix("tugi").strip().lstrip("#").strip()
    return int(digits) if digits.isdigit() else None


def plan_queue(user: Any, f: QueueFilters, now: datetime.datetime) -> QueuePlan:
    """The partitions (equality prefixes of the queue indexes) and filters of a queue view."""
    statuses = [f.status] if f.status else list(OPEN_STATUSES)
    residual = _residual(f)
    due_until = None
    by_queue = [{"queue_id": f.queue_id, "status": s} for s in statuses] if f.queue_id else None
    if f.tab == Tab.MINE:
        parts = [{"assignee_id": user.pk, "status": s} for s in statuses]
        if f.queue_id:
            residual &= Q(queue_id=f.queue_id)
    elif f.tab == Tab.MY_QUEUES:
        ids = my_queue_ids(user)
        if f.queue_id:
            ids = [i for i in ids if i == f.queue_id]
        if len(ids) <= MAX_QUEUE_PARTITIONS:
            parts = [{"queue_id": i, "status": s} for i in ids for s in statuses]
        else:
            # A member of many queues sees much of the desk: one range per status, each row's
            # queue checked, costs less than a range per queue and status.
            parts = [{"status": s} for s in statuses] if ids else []
            residual &= Q(queue_id__in=ids)
    elif f.tab == Tab.UNASSIGNED:
        parts = [{"assignee__isnull": True, "status": s} for s in statuses]
        if f.queue_id:
            residual &= Q(queue_id=f.queue_id)
    elif f.tab == Tab.BREACHING:
        # Only running clocks have a due time; paused and finished cases are never "breaching".
        statuses = [s for s in statuses if s in OPEN_STATUSES]
        due_until = calendar.add_working_seconds(now, breaching_hours() * 3600)
        parts = (
            [{"queue_id": f.queue_id, "status": s} for s in statuses]
            if f.queue_id
            else [{"status": s} for s in statuses]
        )
    elif f.tab == Tab.ESCALATED:
        # Few cases are escalated to one group: read them by their escalations, then sort.
        escalated = Escalation.objects.filter(
            kind=Escalation.Kind.SPECIALISTS, queue__members=user
        ).exclude(status=Escalation.Status.CLOSED)
        parts = [{"id__in": escalated.values("case_id"), "status__in": statuses}]
        if f.queue_id:
            residual &= Q(queue_id=f.queue_id)
    else:  # all
        parts = by_queue or [{"status": s} for s in statuses]
    number = case_number(f.q) if f.q.strip() else None
    candidates = None
    if number is not None:
        # A case number: every partition becomes a primary-key lookup (the view's own
        # conditions still apply, so "mine" finds it only if it is mine).
        parts = [{**part, "pk": number} for part in parts]
    elif found := search_subjects(f.q, statuses=statuses):
        residual &= found.condition
        candidates = found.candidates
    return QueuePlan(parts, residual, due_until, candidates)


def _after(key: Key, forward: bool) -> Q:
    """Rows with a due time strictly beyond `key` (a row with one) in the direction of travel."""
    _null, due, pk = key
    op, id_op = ("gt", "gt") if forward else ("lt", "lt")
    # A leading range on sla_due lets the index scan start at the cursor.
    return Q(**{f"sla_due__{op}e": due}) & (
        Q(**{f"sla_due__{op}": due}) | Q(sla_due=due, **{f"id__{id_op}": pk})
    )


def _partition_ranges(
    plan: QueuePlan, after: Key | None, forward: bool, limit: int
) -> list[QuerySet[Case, Any]]:
    """Each partition's ordered index range beyond `after`, at most `limit` (id, sla_due) rows.

    Rows with a due time come before those without one; so forward from a row without one only
    those after it (by id) remain, and backward from a row with one only due rows come before it.
    """
    base = Case.objects.filter(plan.residual) if plan.residual else Case.objects.all()
    starts_without = after is not None and after[0] == 1
    with_due = not (forward and starts_without)
    # "Breaching soon" lists only running clocks, which always have a due time.
    without_due = plan.due_until is None and (forward or starts_without)
    due_order = ("sla_due", "id") if forward else ("-sla_due", "-id")
    ranges = []
    for part in plan.partitions:
        if with_due:
            qs = base.filter(**part, sla_due__isnull=False)
            if plan.due_until is not None:
                qs = qs.filter(sla_due__lte=plan.due_until)
            if after is not None and after[0] == 0:
                qs = qs.filter(_after(after, forward))
            ranges.append(qs.order_by(*due_order).values_list("id", "sla_due")[:limit])
        if without_due:
            qs = base.filter(**part, sla_due__isnull=True)
            if starts_without:
                assert after is not None
                qs = qs.filter(**{"id__gt" if forward else "id__lt": after[2]})
            # Ordered by (sla_due, id), which is by id here (sla_due is null throughout) and is
            # the partition index's own order: "ORDER BY id" let PostgreSQL walk the primary key
            # through every case when a search made the partition look well filled.
            ranges.append(qs.order_by(*due_order).values_list("id", "sla_due")[:limit])
    return ranges


def _page_ids_sql(plan: QueuePlan, after: Key | None, forward: bool, limit: int) -> RawSQL:
    """The ids of the next `limit` rows of the view, as one subquery for the database to run.

    Each partition is its own short ordered index range (see the module's docstring); the
    ranges are put together with UNION ALL and the database sorts their few hundred keys and
    keeps a page. One statement instead of one per partition: on PostgreSQL every round trip
    costs more than the index ranges themselves. (Each range is wrapped in a SELECT of its own
    because SQLite allows ORDER BY and LIMIT only there, not in a member of a compound.)
    """
    parts: list[str] = []
    params: list[Any] = []
    for n, qs in enumerate(_partition_ranges(plan, after, forward, limit)):
        sql, part_params = qs.query.sql_with_params()
        # The ORM's own SQL with its parameters kept apart: nothing from the request is pasted.
        parts.append(f"SELECT p{n}.id, p{n}.sla_due FROM ({sql}) p{n}")  # noqa: S608
        params.extend(part_params)
    direction = "" if forward else " DESC"
    order = f"(u.sla_due IS NULL){direction}, u.sla_due{direction}, u.id{direction}"
    union = " UNION ALL ".join(parts)
    sql = f"SELECT u.id FROM ({union}) u ORDER BY {order} LIMIT %s"  # noqa: S608 - as above
    return RawSQL(sql, (*params, limit))  # noqa: S611 - parameters passed apart


def _candidate_page(
    plan: QueuePlan, after: Key | None, forward: bool, limit: int
) -> QuerySet[Case, Any]:
    """The next `limit` rows of a search with few matches: those rows, filtered and sorted.

    Walking the view's index ranges would read every row of them when a rare word is found late
    or never; the candidates are at most `search.FEW` primary-key lookups.
    """
    assert plan.candidates is not None
    in_view = reduce(Q.__or__, (Q(**part) for part in plan.partitions))
    qs = Case.objects.filter(plan.residual, in_view)  # the residual holds `pk IN candidates`
    if plan.due_until is not None:
        qs = qs.filter(sla_due__lte=plan.due_until)
    if after is not None:
        null, _due, pk = after
        if forward:
            beyond = Q(sla_due__isnull=True, id__gt=pk) if null else Q(sla_due__isnull=True)
        else:
            beyond = Q(sla_due__isnull=True, id__lt=pk) | Q(sla_due__isnull=False) if null else Q()
        if not null:
            beyond |= Q(sla_due__isnull=False) & _after(after, forward)
        qs = qs.filter(beyond)
    if forward:
        order = (F("sla_due").asc(nulls_last=True), F("id").asc())
    else:
        order = (F("sla_due").desc(nulls_first=True), F("id").desc())
    return qs.order_by(*order)[:limit]


@dataclass
class QueueRow:
    """One case as the queue lists it: plain values, not a model instance (fifty of those with
    four related instances each cost more than the query that found them)."""

    pk: int
    subject: str
    status: str
    priority: int
    requester: str
    system: str
    module: str
    queue: str
    assignee_id: int | None
    sla_due: datetime.datetime | None
    sla_breached_at: datetime.datetime | None
    sla_policy_id: int | None
    tags: list[str]
    assignee: str = ""  # as people know them (`user_label`)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def key(self) -> Key:
        return (1, None, self.pk) if self.sla_due is None else (0, self.sla_due, self.pk)


# What a queue row shows, read with the page's ids in the same statement.
_ROW_VALUES = (
    "id",
    "subject",
    "status",
    "priority",
    "requester_name",
    "requester_email",
    "requester__first_name",
    "requester__last_name",
    "system__code",
    "module",
    "queue__name",
    "assignee_id",
    "sla_due",
    "sla_breached_at",
    "sla_policy_id",
)
# A case's tag names in the same statement, joined by a character no tag name contains.
_TAG_SEPARATOR = "\x1f"
_TAGS_SQL = {
    "postgresql": (
        "SELECT string_agg(t.name, chr(31)) FROM desk_case_tags ct"
        ' JOIN desk_tag t ON t.id = ct.tag_id WHERE ct.case_id = "desk_case"."id"'
    ),
    "sqlite": (
        "SELECT group_concat(t.name, char(31)) FROM desk_case_tags ct"
        ' JOIN desk_tag t ON t.id = ct.tag_id WHERE ct.case_id = "desk_case"."id"'
    ),
}


def _rows(qs: QuerySet[Case, Any]) -> list[QueueRow]:
    """The rows of a page (unordered), with their tags, in one statement."""
    tags_sql = _TAGS_SQL.get(connection.vendor)
    values = qs.values(*_ROW_VALUES)
    if tags_sql is not None:
        values = values.annotate(tag_list=RawSQL(tags_sql, ()))  # noqa: S611 - a constant
    rows = []
    for v in values:
        if v["requester__last_name"] is not None:
            requester = f"{v['requester__first_name']} {v['requester__last_name']}"
        else:
            requester = v["requester_name"] or v["requester_email"]
        rows.append(
            QueueRow(
                pk=v["id"],
                subject=v["subject"],
                status=v["status"],
                priority=v["priority"],
                requester=requester,
                system=v["system__code"] or "",
                module=v["module"],
                queue=v["queue__name"],
                assignee_id=v["assignee_id"],
                sla_due=v["sla_due"],
                sla_breached_at=v["sla_breached_at"],
                sla_policy_id=v["sla_policy_id"],
                tags=sorted((v.get("tag_list") or "").split(_TAG_SEPARATOR))
                if v.get("tag_list")
                else [],
            )
        )
    if tags_sql is None:
        names = tag_names([row.pk for row in rows])
        for row in rows:
            row.tags = names.get(row.pk, [])
    labels = user_labels({row.assignee_id for row in rows if row.assignee_id is not None})
    for row in rows:
        if row.assignee_id is not None:
            row.assignee = labels.get(row.assignee_id, "")
    return rows


def user_labels(ids: Iterable[int]) -> dict[int, str]:
    """`user_label` of each of these users, in one small query.

    Separate from the page's statement: joining users to their persons there made PostgreSQL
    plan a merge join along every person's user index, and a page has few distinct assignees.
    """
    wanted = list(ids)
    if not wanted:
        return {}
    rows = User.objects.filter(pk__in=wanted).values_list(
        "id", "username", "first_name", "last_name", "person__first_name", "person__last_name"
    )
    labels = {}
    for pk, username, first, last, person_first, person_last in rows:
        if person_last is not None:
            labels[pk] = f"{person_first} {person_last}"
        else:
            labels[pk] = f"{first} {last}".strip() or username
    return labels


def tag_names(ids: Sequence[int]) -> dict[int, list[str]]:
    """The tag names of these cases, in one query (lighter than a prefetch of Tag objects)."""
    names: dict[int, list[str]] = {}
    rows = (
        Case.tags.through.objects.filter(case_id__in=list(ids))
        .order_by("tag__name")
        .values_list("case_id", "tag__name")
    )
    for case_id, name in rows:
        names.setdefault(case_id, []).append(name)
    return names


def _read_page(plan: QueuePlan, after: Key | None, forward: bool, limit: int) -> list[QueueRow]:
    """Up to `limit` rows of the view beyond `after`, in the direction of travel."""
    if plan.candidates is not None:
        page = _candidate_page(plan, after, forward, limit)
        qs = Case.objects.filter(pk__in=page.values("pk"))
    else:
        qs = Case.objects.filter(pk__in=_page_ids_sql(plan, after, forward, limit))
    rows = _rows(qs.order_by())
    return sorted(rows, key=lambda row: _sort_key(row.key), reverse=not forward)


@dataclass
class QueuePage:
    """One page of a queue view and the opaque cursors of its neighbours (as `KeysetPage`)."""

    rows: list[QueueRow]
    next_cursor: str | None = None
    prev_cursor: str | None = None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.prev_cursor)


def queue_page(
    user: Any,
    filters: QueueFilters,
    cursor: str = "",
    now: datetime.datetime | None = None,
    size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of a queue view, soonest due first (no due time last), then by id."""
    now = now or timezone.now()
    plan = plan_queue(user, filters, now)
    if not plan.partitions:
        return QueuePage([])
    decoded = _cursor_to_key(cursor)
    direction, key = decoded if decoded is not None else ("n", None)
    forward = direction == "n"
    found = _read_page(plan, key, forward, size + 1)
    more = len(found) > size
    rows = found[:size]
    if not forward:
        rows.reverse()
    if not rows:
        return QueuePage([])
    has_next = more if forward else True
    has_prev = key is not None if forward else more
    return QueuePage(
        rows,
        _key_to_cursor("n", rows[-1].key) if has_next else None,
        _key_to_cursor("p", rows[0].key) if has_prev else None,
    )


# --- how SLA due times look in a list -----------------------------------------------------------


class DueRow(Protocol):
    """What `due_marks` reads of a case (a `Case` or a `QueueRow`)."""

    pk: Any
    sla_due: datetime.datetime | None
    sla_breached_at: datetime.datetime | None
    sla_policy_id: int | None

    @property
    def is_open(self) -> bool: ...


@dataclass(frozen=True)
class DueMark:
    """The SLA due time of a row as the queue shows it."""

    due: datetime.datetime | None
    level: str  # "breached", "warning", "ok", "paused" or "none"


def due_marks(cases: Iterable[DueRow], now: datetime.datetime) -> dict[int, DueMark]:
    """Per case: breached (past due or marked), warning (within its policy's warning window)."""
    horizons: dict[int, datetime.datetime] = {}
    marks: dict[int, DueMark] = {}
    warn_minutes: dict[int, int] | None = None
    for case in cases:
        if case.sla_due is None:
            paused = case.is_open and case.sla_policy_id is not None
            marks[case.pk] = DueMark(None, "paused" if paused else "none")
            continue
        if case.sla_due <= now or case.sla_breached_at is not None:
            level = "breached"
        else:
            if warn_minutes is None:  # a handful of policies, kept per process
                warn_minutes = {p.pk: p.warn_before_minutes for p in sla.policies().values()}
            warn = warn_minutes.get(case.sla_policy_id or 0, 0)
            if warn not in horizons:
                horizons[warn] = calendar.add_working_seconds(now, warn * 60)
            level = "warning" if case.sla_due <= horizons[warn] else "ok"
        marks[case.pk] = DueMark(case.sla_due, level)
    return marks


# --- a requester's cases ------------------------------------------------------------------------


def my_cases_page(person: Person, cursor: str = "") -> KeysetPage[Case]:
    """The requester's cases, newest first (the case_requester index)."""
    qs = Case.objects.filter(requester=person).select_related("system")
    return id_page(qs, cursor, descending=True, size=PAGE_SIZE)


def case_for_rating_token(token: str) -> Case | None:
    """The case a one-click rating link was made for, if the link is genuine and not expired."""
    case_id = actions.rating_token_case_id(token)
    return Case.objects.filter(pk=case_id).first() if case_id is not None else None


# --- one case -----------------------------------------------------------------------------------


def case_for_page(pk: int) -> Case | None:
    """A case with everything its header shows, in one query."""
    return (
        Case.objects.select_related(
            "requester__org_unit",
            "system",
            "queue",
            "assignee__person",
            "sla_policy",
            "parent",
            "duplicate_of",
            "merged_into",
        )
        .filter(pk=pk)
        .first()
    )


def messages_of(case: Case, *, public_only: bool) -> list[Message]:
    """The case's messages in order, with authors and attachments (two queries).

    Each message gets `author_label`: who wrote it, as people know them.
    """
    qs = case.messages.select_related("author__person", "escalation__queue").prefetch_related(
        "attachments"
    )
    if public_only:
        qs = qs.filter(kind__in=[Message.Kind.FROM_REQUESTER, Message.Kind.REPLY])
    messages = list(qs.order_by("id"))
    requester = case.requester.full_name if case.requester else case.requester_name
    for message in messages:
        if message.author is not None:
            label = user_label(message.author)
        elif message.kind == Message.Kind.FROM_REQUESTER and requester:
            label = requester
        else:
            label = message.author_email or "Tugi"
        message.author_label = label  # type: ignore[attr-defined]
    return messages


@dataclass
class HistoryEvent:
    """A change of the case that is not a message, in words."""

    at: datetime.datetime
    actor: str
    text: str
    audit_id: int


# Actions whose events are already visible as the message they wrote.
_SHOWN_AS_MESSAGE = {
    "desk.case.create",
    "desk.case.reply",
    "desk.case.note",
    "desk.case.requester_message",
    "desk.case.resolve",
    "desk.case.reopen",
    "desk.case.mark_duplicate",
    "desk.case.escalate",
    "desk.case.escalation_closed",
    "desk.case.party_replied",
    "desk.escalation.create",
    "desk.escalation.party_reply",
}


def _name_of_user(users: dict[int, User], pk: Any) -> str:
    user = users.get(pk) if isinstance(pk, int) else None
    if user is None:
        return _("nobody")
    return user_label(user)


@dataclass
class _Names:
    """What the history's events refer to by id, read once for the whole history."""

    users: dict[int, User] = field(default_factory=dict)
    queues: dict[int, Queue] = field(default_factory=dict)
    systems: dict[int, TargetSystem] = field(default_factory=dict)
    persons: dict[int, Person] = field(default_factory=dict)


def _classify_text(after: dict[str, Any], names: _Names) -> str | None:
    parts = []
    if "category" in after:
        categories = dict(Case.Category.choices)
        parts.append(
            _("category “%(category)s”")
            % {"category": categories.get(after["category"], after["category"])}
        )
    if "system_id" in after:
        system = names.systems.get(after["system_id"]) if after["system_id"] else None
        parts.append(
            _("application %(system)s") % {"system": system.code}
            if system is not None
            else _("no application")
        )
    if "module" in after:
        parts.append(
            _("module “%(module)s”") % {"module": after["module"]}
            if after["module"]
            else _("no module")
        )
    if "queue_id" in after:
        queue = names.queues.get(after["queue_id"])
        parts.append(_("routed to the queue “%(queue)s”") % {"queue": queue or "?"})
    if not parts:
        return None
    return _("Classified: %(what)s.") % {"what": _(", ").join(parts)}


def _event_text(event: AuditEvent, names: _Names) -> str | None:
    after: dict[str, Any] = event.after or {}
    action = event.action
    statuses = dict(Case.Status.choices)
    users, queues = names.users, names.queues
    if action == "desk.case.classify":
        return _classify_text(after, names)
    if action == "desk.case.link_requester":
        person = names.persons.get(after.get("requester_id") or 0)
        return _("Linked to the person %(person)s.") % {
            "person": person.full_name if person is not None else "?"
        }
    if action == "desk.case.assign":
        parts = []
        if "queue_id" in after:
            queue = queues.get(after["queue_id"])
            parts.append(_("moved to the queue “%(queue)s”") % {"queue": queue or "?"})
        if "assignee_id" in after:
            parts.append(
                _("assigned to %(user)s") % {"user": _name_of_user(users, after["assignee_id"])}
            )
        return _("Case %(what)s.") % {"what": _(", ").join(parts)} if parts else None
    if action == "desk.case.set_status":
        text = _("Status set to “%(status)s”.") % {
            "status": statuses.get(after.get("status", ""), after.get("status", ""))
        }
        if after.get("reason"):
            text += " " + _("Reason: %(reason)s") % {"reason": after["reason"]}
        return text
    if action == "desk.case.set_priority":
        if "priority" in after:
            return _("Priority set to %(priority)s.") % {
                "priority": priority_label(after["priority"])
            }
        return _("Impact and urgency changed.")
    if action == "desk.case.set_tags":
        tags = after.get("tags") or []
        return _("Tags: %(tags)s.") % {"tags": ", ".join(tags)} if tags else _("Tags removed.")
    if action == "desk.case.log_time":
        return _("%(minutes)s min of work logged.") % {"minutes": after.get("minutes", "?")}
    if action == "desk.case.close":
        return _("Closed.") if not event.basis else _("Closed automatically.")
    if action == "desk.case.link_parent":
        parent = after.get("parent_id")
        return (
            _("Linked under Tugi #%(parent)s.") % {"parent": parent}
            if parent
            else _("No longer under a parent case.")
        )
    if action == "desk.case.merge":
        return _("Merged into Tugi #%(target)s.") % {"target": after.get("merged_into")}
    if action == "desk.case.rate":
        return _("The requester rated the case %(score)s of 5.") % {"score": after.get("score")}
    if action == "desk.case.merge_in":
        return _("Tugi #%(source)s was merged into this case.") % {
            "source": after.get("merged_from")
        }
    if action == "desk.case.sla_warning":
        return _("SLA warning: the due time is near.")
    if action == "desk.case.sla_breach":
        return _("SLA breached: the due time passed.")
    if action == "desk.escalation.set_reference":
        return _("The third party's reference was recorded: %(ref)s.") % {
            "ref": after.get("external_reference") or "—"
        }
    if action == "desk.escalation.close":
        return _("An escalation was closed.")
    return None


def system_events(case: Case, escalation_ids: Sequence[int]) -> list[HistoryEvent]:
    """The case's changes from the audit log that are not messages, oldest first."""
    events = list(
        AuditEvent.objects.filter(
            Q(object_type=Case._meta.label_lower, object_id=str(case.pk))
            | Q(
                object_type=Escalation._meta.label_lower,
                object_id__in=[str(pk) for pk in escalation_ids],
            )
        )
        .exclude(action__in=_SHOWN_AS_MESSAGE)
        .select_related("actor__person")
        .order_by("id")[:500]
    )

    def ids(key: str) -> list[int]:
        return list(
            {
                e.after[key]
                for e in events
                if isinstance(e.after, dict) and isinstance(e.after.get(key), int)
            }
        )

    user_ids, queue_ids = ids("assignee_id"), ids("queue_id")
    system_ids, person_ids = ids("system_id"), ids("requester_id")
    names = _Names(
        users=User.objects.select_related("person").in_bulk(user_ids) if user_ids else {},
        queues=Queue.objects.in_bulk(queue_ids) if queue_ids else {},
        systems=TargetSystem.objects.in_bulk(system_ids) if system_ids else {},
        persons=Person.objects.in_bulk(person_ids) if person_ids else {},
    )
    out = []
    for event in events:
        text = _event_text(event, names)
        if text is None:
            continue
        actor = user_label(event.actor) if event.actor is not None else _("Tugi (automatic)")
        out.append(HistoryEvent(event.at, actor, text, event.pk))
    return out


def resolution_message_ids(case: Case) -> set[int]:
    """The ids of the messages with which the case was resolved (to mark them in the history)."""
    rows = AuditEvent.objects.filter(
        object_type=Case._meta.label_lower,
        object_id=str(case.pk),
        action__in=["desk.case.resolve", "desk.case.mark_duplicate"],
    ).values_list("after", flat=True)
    return {a["message"] for a in rows if isinstance(a, dict) and isinstance(a.get("message"), int)}


def open_descendants(case: Case, limit: int = 200) -> list[Case]:
    """The case's open children, and theirs: what resolving it resolves too (one query a level)."""
    found: list[Case] = []
    seen = {case.pk}
    level = [case.pk]
    while level and len(found) < limit:
        children = list(
            Case.objects.filter(parent_id__in=level)
            .only("id", "subject", "status", "parent_id")
            .order_by("id")
        )
        level = [c.pk for c in children if c.pk not in seen]
        seen.update(level)
        found.extend(c for c in children if c.status in OPEN_STATUSES)
    return found[:limit]


def requester_suggestions(case: Case, limit: int = 10) -> list[Person]:
    """Known persons who may be the unknown sender of a case: by name, and by the address's name.

    "Mari Tamm" <mari.tamm@gmail.com> suggests the persons named Mari Tamm (or Tamm Mari) and
    those whose address starts with "mari.tamm@". Each is an index range (the name keyset
    index, the unique e-mail index), never a scan of every person.
    """
    if case.requester_id is not None:
        return []
    found: dict[int, Person] = {}
    words = case.requester_name.split()
    if len(words) >= 2:
        for first, last in ((words[:-1], words[-1]), (words[1:], words[0])):
            for person in Person.objects.filter(
                last_name=last, first_name=" ".join(first)
            ).order_by("last_name", "first_name", "id")[:limit]:
                found.setdefault(person.pk, person)
    local = case.requester_email.partition("@")[0].lower()
    if local:
        start = f"{local}@"
        for person in Person.objects.filter(email__gte=start, email__lt=f"{start}\uffff").order_by(
            "email"
        )[:limit]:
            found.setdefault(person.pk, person)
    return list(found.values())[:limit]


def time_spent(case: Case) -> int:
    """Minutes logged on the case."""
    return case.time_entries.aggregate(total=Sum("minutes"))["total"] or 0


# --- choices for the forms ----------------------------------------------------------------------


def worker_ids() -> set[int]:
    """Active users who hold desk.work_case (through a group, directly, or as superusers)."""
    perm = Permission.objects.filter(content_type__app_label="desk", codename="work_case")
    return set(
        User.objects.filter(is_active=True)
        .filter(
            Q(groups__permissions__in=perm) | Q(user_permissions__in=perm) | Q(is_superuser=True)
        )
        .values_list("id", flat=True)
    )


def assignable_users() -> list[User]:
    """Who a case may be assigned to: the desk's agents and the members of any queue."""
    ids = worker_ids() | set(
        Queue.members.through.objects.filter(user__is_active=True).values_list("user_id", flat=True)
    )
    return list(User.objects.filter(pk__in=ids).select_related("person").order_by(*USER_ORDER))


# Users listed as people know them: by their person's name, then by login.
USER_ORDER = ("person__last_name", "person__first_name", "last_name", "first_name", "username")


def active_users() -> QuerySet[User]:
    """Active users with their person records, in name order (for choices)."""
    return User.objects.filter(is_active=True).select_related("person").order_by(*USER_ORDER)


def active_queues(kind: str | None = None) -> list[Queue]:
    qs = Queue.objects.filter(active=True)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("name"))


def reply_templates() -> list[ReplyTemplate]:
    return list(ReplyTemplate.objects.order_by("name"))


def user_label(user: Any) -> str:
    """A user as people know them: their person's name, else the account's name, else login.

    Load users with `select_related("person")` where many are labelled, or each costs a query.
    """
    if user is None:
        return ""
    try:
        person = user.person
    except Person.DoesNotExist:
        person = None
    if person is not None:
        return person.full_name
    return user.get_full_name() or user.get_username()
