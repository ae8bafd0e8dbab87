"""Reads for the desk pages: the queue views, a requester's cases, a case with its history.

The queue is the hot page (a million cases): it is sorted by SLA due time (cases without a
running clock last) then id, and paged by key on (sla_due, id), never by OFFSET and never with
a COUNT(*). A database cannot read `status IN (…) ORDER BY sla_due` in index order (each status
is its own run of the index), so the page is read as one small ordered index range per
*partition* — (queue, status), (assignee, status) or (status) — each at most a page long, merged
here, and the page's rows are then loaded by id with what the table shows. Every partition
query is an equality prefix of one of the indexes `case_queue_due`, `case_assignee_due` or
`case_status_due`, followed by the (sla_due, id) range: the cost is a few dozen index entries per
partition, whatever the size of the table.
"""

import datetime
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Permission, User
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tugi.access.page_queries import id_page
from tugi.core.models import AuditEvent
from tugi.desk import actions, calendar
from tugi.desk.models import Case, Escalation, Message, Queue, ReplyTemplate, SlaPolicy, Tag
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
    queue: Queue | None = None
    status: str = ""
    priority: int | None = None
    system_id: int | None = None
    category: str = ""
    tag: Tag | None = None
    q: str = ""

    @property
    def filtered(self) -> bool:
        return bool(
            self.queue
            or self.status
            or self.priority
            or self.system_id
            or self.category
            or self.tag
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
    if f.tag is not None:
        q &= Q(id__in=Case.tags.through.objects.filter(tag_id=f.tag.pk).values("case_id"))
    text = " ".join(f.q.split())
    if text and case_number(text) is None:
        # A substring of the subject: a scan of the view's rows (cheap in a queue, slow across
        # every open case of a very large desk; a full-text index would be the next step).
        q &= Q(subject__icontains=text)
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
    by_queue = [{"queue_id": f.queue.pk, "status": s} for s in statuses] if f.queue else None
    if f.tab == Tab.MINE:
        parts = [{"assignee_id": user.pk, "status": s} for s in statuses]
        if f.queue:
            residual &= Q(queue_id=f.queue.pk)
    elif f.tab == Tab.MY_QUEUES:
        ids = my_queue_ids(user)
        if f.queue:
            ids = [i for i in ids if i == f.queue.pk]
        if len(ids) <= MAX_QUEUE_PARTITIONS:
            parts = [{"queue_id": i, "status": s} for i in ids for s in statuses]
        else:
            # A member of many queues sees much of the desk: one range per status, each row's
            # queue checked, costs less than a range per queue and status.
            parts = [{"status": s} for s in statuses] if ids else []
            residual &= Q(queue_id__in=ids)
    elif f.tab == Tab.UNASSIGNED:
        parts = [{"assignee__isnull": True, "status": s} for s in statuses]
        if f.queue:
            residual &= Q(queue_id=f.queue.pk)
    elif f.tab == Tab.BREACHING:
        # Only running clocks have a due time; paused and finished cases are never "breaching".
        statuses = [s for s in statuses if s in OPEN_STATUSES]
        due_until = calendar.add_working_seconds(now, breaching_hours() * 3600)
        parts = (
            [{"queue_id": f.queue.pk, "status": s} for s in statuses]
            if f.queue
            else [{"status": s} for s in statuses]
        )
    elif f.tab == Tab.ESCALATED:
        # Few cases are escalated to one group: read them by their escalations, then sort.
        escalated = Escalation.objects.filter(
            kind=Escalation.Kind.SPECIALISTS, queue__members=user
        ).exclude(status=Escalation.Status.CLOSED)
        parts = [{"id__in": escalated.values("case_id"), "status__in": statuses}]
        if f.queue:
            residual &= Q(queue_id=f.queue.pk)
    else:  # all
        parts = by_queue or [{"status": s} for s in statuses]
    number = case_number(f.q) if f.q.strip() else None
    if number is not None:
        # A case number: every partition becomes a primary-key lookup (the view's own
        # conditions still apply, so "mine" finds it only if it is mine).
        parts = [{**part, "pk": number} for part in parts]
    return QueuePlan(parts, residual, due_until)


def _after(key: Key, forward: bool) -> Q:
    """Rows with a due time strictly beyond `key` (a row with one) in the direction of travel."""
    _null, due, pk = key
    op, id_op = ("gt", "gt") if forward else ("lt", "lt")
    # A leading range on sla_due lets the index scan start at the cursor.
    return Q(**{f"sla_due__{op}e": due}) & (
        Q(**{f"sla_due__{op}": due}) | Q(sla_due=due, **{f"id__{id_op}": pk})
    )


def _read_keys(plan: QueuePlan, after: Key | None, forward: bool, limit: int) -> list[Key]:
    """Up to `limit` keys of the view beyond `after`, in the direction of travel."""
    base = Case.objects.filter(plan.residual) if plan.residual else Case.objects.all()
    due_order = ("sla_due", "id") if forward else ("-sla_due", "-id")
    id_order = "id" if forward else "-id"

    def with_due() -> list[Key]:
        found: list[Key] = []
        for part in plan.partitions:
            qs = base.filter(**part, sla_due__isnull=False)
            if plan.due_until is not None:
                qs = qs.filter(sla_due__lte=plan.due_until)
            if after is not None and after[0] == 0:
                qs = qs.filter(_after(after, forward))
            found.extend(
                (0, due, pk)
                for pk, due in qs.order_by(*due_order).values_list("id", "sla_due")[:limit]
            )
        return found

    def without_due(need: int) -> list[Key]:
        found: list[Key] = []
        for part in plan.partitions:
            qs = base.filter(**part, sla_due__isnull=True)
            if after is not None and after[0] == 1:
                qs = qs.filter(**{"id__gt" if forward else "id__lt": after[2]})
            found.extend(
                (1, None, pk) for pk in qs.order_by(id_order).values_list("id", flat=True)[:need]
            )
        return found

    pick = heapq.nsmallest if forward else heapq.nlargest
    # Forward: due rows first, then (if the page is not full) the rows without a due time.
    # Backward from a row without one: those first, then the due rows before them.
    regions = []
    starts_without = after is not None and after[0] == 1
    if forward:
        regions = ["without"] if starts_without else ["with", "without"]
    else:
        regions = ["without", "with"] if starts_without else ["with"]
    keys: list[Key] = []
    for region in regions:
        if region == "with":
            keys.extend(with_due())
        elif plan.due_until is None:
            keys.extend(without_due(limit - len(keys) if forward else limit))
        keys = pick(limit, keys, key=_sort_key)
        if len(keys) >= limit:
            break
    return keys


# Only what a queue row shows: a case row has twenty-odd columns, half of them times that each
# cost a conversion, and the page loads fifty.
ROW_FIELDS = (
    "id",
    "subject",
    "requester_id",
    "requester_name",
    "requester_email",
    "system_id",
    "module",
    "priority",
    "status",
    "queue_id",
    "assignee_id",
    "sla_due",
    "sla_breached_at",
    "sla_policy_id",
    "requester__first_name",
    "requester__last_name",
    "system__code",
    "queue__name",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__person__first_name",
    "assignee__person__last_name",
)


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


def _load(ids: Sequence[int]) -> list[Case]:
    """The page's cases by id, in the given order, each with `tag_names`."""
    if not ids:
        return []
    qs = (
        Case.objects.select_related("requester", "system", "queue", "assignee__person")
        .only(*ROW_FIELDS)
        .filter(id__in=list(ids))
    )
    by_id = {case.pk: case for case in qs}
    tags = tag_names(ids)
    rows = [by_id[pk] for pk in ids if pk in by_id]
    for case in rows:
        case.tag_names = tags.get(case.pk, [])  # type: ignore[attr-defined]
    return rows


def _key_of(case: Case) -> Key:
    return (1, None, case.pk) if case.sla_due is None else (0, case.sla_due, case.pk)


def queue_page(
    user: Any,
    filters: QueueFilters,
    cursor: str = "",
    now: datetime.datetime | None = None,
    size: int = PAGE_SIZE,
) -> KeysetPage[Case]:
    """One page of a queue view, soonest due first (no due time last), then by id."""
    now = now or timezone.now()
    plan = plan_queue(user, filters, now)
    if not plan.partitions:
        return KeysetPage([])
    decoded = _cursor_to_key(cursor)
    if decoded is None:
        keys = _read_keys(plan, None, True, size + 1)
        more = len(keys) > size
        rows = _load([k[2] for k in keys[:size]])
        return KeysetPage(rows, _key_to_cursor("n", _key_of(rows[-1])) if more and rows else None)
    direction, key = decoded
    if direction == "n":
        keys = _read_keys(plan, key, True, size + 1)
        more = len(keys) > size
        rows = _load([k[2] for k in keys[:size]])
        return KeysetPage(
            rows,
            _key_to_cursor("n", _key_of(rows[-1])) if more and rows else None,
            _key_to_cursor("p", _key_of(rows[0])) if rows else None,
        )
    keys = _read_keys(plan, key, False, size + 1)
    more = len(keys) > size
    rows = _load([k[2] for k in reversed(keys[:size])])
    return KeysetPage(
        rows,
        _key_to_cursor("n", _key_of(rows[-1])) if rows else None,
        _key_to_cursor("p", _key_of(rows[0])) if more and rows else None,
    )


# --- how SLA due times look in a list -----------------------------------------------------------


@dataclass(frozen=True)
class DueMark:
    """The SLA due time of a row as the queue shows it."""

    due: datetime.datetime | None
    level: str  # "breached", "warning", "ok", "paused" or "none"


def due_marks(cases: Iterable[Case], now: datetime.datetime) -> dict[int, DueMark]:
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
            if warn_minutes is None:  # a handful of policies: one small query for the page
                warn_minutes = dict(SlaPolicy.objects.values_list("id", "warn_before_minutes"))
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


def _event_text(event: AuditEvent, users: dict[int, User], queues: dict[int, Queue]) -> str | None:
    after: dict[str, Any] = event.after or {}
    action = event.action
    statuses = dict(Case.Status.choices)
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
    user_ids = {
        e.after.get("assignee_id")
        for e in events
        if isinstance(e.after, dict) and isinstance(e.after.get("assignee_id"), int)
    }
    queue_ids = {
        e.after.get("queue_id")
        for e in events
        if isinstance(e.after, dict) and isinstance(e.after.get("queue_id"), int)
    }
    users = User.objects.select_related("person").in_bulk(list(user_ids)) if user_ids else {}
    queues = Queue.objects.in_bulk(list(queue_ids)) if queue_ids else {}
    out = []
    for event in events:
        text = _event_text(event, users, queues)
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
