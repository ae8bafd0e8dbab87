"""Reads for the access pages: bounded, a fixed number of queries whatever the data's size.

The domain reads (`holders_of`, `explain`, `entitlements_of` …) live in `tugi.access.queries`;
this module shapes them for the pages: keyset pages, the person's timeline with its geometry,
the role picker's marks, the request's history. Nothing here writes.
"""

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Count, Model, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tugi.access import policy
from tugi.access.actions.sod import excepted_rules
from tugi.access.compliance import fix_context, fix_hint
from tugi.access.models import (
    AccessRequest,
    AccessRequestItem,
    Account,
    Approval,
    Entitlement,
    Finding,
    Grant,
    GrantSuspension,
    Role,
    TargetSystem,
)
from tugi.access.queries import BasisChain, entitlements_of, holders_of
from tugi.core.models import AuditEvent
from tugi.people.models import Duty, OrgUnit, Person
from tugi.people.queries import KeysetPage, decode_cursor, encode_cursor, keyset_page, subtree_ids

PAGE_SIZE = 50
# A person's timeline shows at most this many grants, the most recent first; a longer history
# is rare (years of substitutions) and stays readable on the grant and audit pages.
TIMELINE_LIMIT = 200

M = TypeVar("M", bound=Model)


# --- keyset pages by id -------------------------------------------------------------------------


def id_page(
    queryset: QuerySet[M], cursor: str, *, descending: bool = False, size: int = PAGE_SIZE
) -> KeysetPage[M]:
    """One page of `queryset` ordered by id (newest first when `descending`), by key, not OFFSET.

    The lists paged this way (findings, requests, fulfilment items) each have an index ending in
    id behind their filter, so every page is one index range scan.
    """
    forward, backward = ("-id", "id") if descending else ("id", "-id")
    after, before = ("id__lt", "id__gt") if descending else ("id__gt", "id__lt")
    decoded = decode_cursor(cursor, 1)
    if decoded is None:
        rows = list(queryset.order_by(forward)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        return KeysetPage(rows, encode_cursor("n", [rows[-1].pk]) if more else None, None)
    direction, (key,) = decoded
    if direction == "n":
        rows = list(queryset.filter(**{after: key}).order_by(forward)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        return KeysetPage(
            rows,
            encode_cursor("n", [rows[-1].pk]) if more else None,
            encode_cursor("p", [rows[0].pk]) if rows else None,
        )
    rows = list(queryset.filter(**{before: key}).order_by(backward)[: size + 1])
    more = len(rows) > size
    rows = rows[:size][::-1]
    return KeysetPage(
        rows,
        encode_cursor("n", [rows[-1].pk]) if rows else None,
        encode_cursor("p", [rows[0].pk]) if more else None,
    )


# --- grants: status and basis --------------------------------------------------------------------

# Everything a single grant's page shows, in the one query that loads the grant.
GRANT_RELATED = (
    "role__system",
    "account",
    "basis_duty__job_description__position",
    "basis_item__request",
    "acting_for",
)

# The columns a list of grants shows (role and system by name, period, basis); `with_basis`
# adds what the basis column links to.
GRANT_ROW_FIELDS = (
    "id",
    "account",
    "role__name",
    "role__system__name",
    "role__system__code",
    "person",
    "valid_from",
    "valid_to",
    "basis",
    "basis_duty",
    "basis_item",
    "acting_for",
    "ended_reason",
)


def grant_rows(grants: QuerySet[Grant]) -> QuerySet[Grant]:
    """Grants as the lists show them: only the columns shown, the role and system joined (small
    tables), the basis chain and the suspensions fetched by separate queries (`with_basis`).

    Joining the basis chain too (duty, job description, position, request item, request, the
    substituted person) made a nine-table join that PostgreSQL took 15 ms to plan and under 1
    ms to run; each separate query is an IN list of the page's ids on a primary key.
    """
    return with_basis(grants.select_related("role__system").only(*GRANT_ROW_FIELDS))


def with_basis(grants: QuerySet[Grant]) -> QuerySet[Grant]:
    """Prefetch what `with_basis_cells` shows of each grant's basis (the duty with its job
    description's position, the request item's request, the substituted person) and the
    suspensions. At most four more queries, whatever the number of grants (one for each relation
    some grant has), each reading only the columns shown."""
    return grants.prefetch_related(
        Prefetch("suspensions", queryset=_suspensions()),
        *_basis_prefetches(),
    )


def _suspensions() -> QuerySet[GrantSuspension]:
    """Suspensions as the pages show them, in order."""
    return GrantSuspension.objects.order_by("starts_at", "id").only(
        "id", "grant", "starts_at", "ends_at", "reason"
    )


def _basis_prefetches() -> tuple[Prefetch, ...]:
    """The basis chain of grants, a query per relation, only the columns `_basis_cell` reads."""
    return (
        Prefetch(
            "basis_duty",
            queryset=Duty.objects.order_by()
            .select_related("job_description")
            .only("id", "description", "job_description__position"),
        ),
        Prefetch("basis_item", queryset=AccessRequestItem.objects.order_by().only("id", "request")),
        Prefetch(
            "acting_for", queryset=Person.objects.order_by().only("id", "first_name", "last_name")
        ),
    )


def suspensions_of(grants: Sequence[Grant]) -> dict[int, list[GrantSuspension]]:
    """The grants' suspensions by grant id, in one query.

    For a list page this replaces `prefetch_related("suspensions")`, which builds a related
    manager and a queryset for every grant (most have no suspension at all).
    """
    found: dict[int, list[GrantSuspension]] = defaultdict(list)
    if grants:
        for suspension in _suspensions().filter(grant_id__in=[g.pk for g in grants]):
            found[suspension.grant_id].append(suspension)
    return found


def grant_state(
    grant: Grant, now: datetime.datetime, suspensions: Iterable[GrantSuspension] | None = None
) -> str:
    """scheduled, in_force, suspended or ended at `now`; reads `suspensions` (the grant's own,
    from `suspensions_of`) or else the grant's prefetched suspensions."""
    if grant.valid_from > now:
        return "scheduled"
    if grant.valid_to is not None and grant.valid_to <= now:
        return "ended"
    for s in grant.suspensions.all() if suspensions is None else suspensions:
        if s.starts_at <= now and (s.ends_at is None or s.ends_at > now):
            return "suspended"
    return "in_force"


_STATE_LABELS = {
    "scheduled": gettext_lazy("scheduled"),
    "in_force": gettext_lazy("in force"),
    "suspended": gettext_lazy("suspended"),
    "ended": gettext_lazy("ended"),
}


def state_label(state: str) -> str:
    return str(_STATE_LABELS[state])


# --- the person's access page ---------------------------------------------------------------------


@dataclass
class Bar:
    """A period drawn on the timeline track, as percentages of its width."""

    left: float
    width: float
    open_end: bool = False

    @property
    def style(self) -> str:
        """The bar's place on the track, as the template writes it into `style`."""
        return f"left: {self.left:.2f}%; width: {self.width:.2f}%"


@dataclass
class BasisCell:
    """A grant's basis in one line: its kind, and what names it (the duty, the request, the
    substituted person), linked when the viewer may open that page.

    Made in Python (`with_basis_cells`) and written by the template as `{{ grant.basis_cell }}`:
    as an include with a `{% url %}` and permission checks, the basis of each row cost a list of
    50 grants some 10 ms.
    """

    kind: str
    label: str
    text: str = ""
    url: str = ""
    prefix: str = ""

    def __html__(self) -> str:
        kind = format_html('<span class="basis basis--{}">{}</span>', self.kind, self.label)
        if not self.text:
            return kind
        name = format_html('<a href="{}">{}</a>', self.url, self.text) if self.url else self.text
        prefix = format_html("{} ", self.prefix) if self.prefix else ""
        return format_html("{}: {}{}", kind, prefix, name)

    __str__ = __html__


@dataclass
class TimelineRow:
    """One grant on the person's page: its state now, its bar and suspension bars, its track as
    drawn (`_track`), and the addresses its row links to (made once, not per `{% url %}`)."""

    grant: Grant
    state: str
    state_label: str
    bar: Bar
    suspensions: list[tuple[GrantSuspension, Bar]] = field(default_factory=list)
    url: str = ""
    explain_url: str = ""
    track: str = ""


@dataclass
class Tick:
    label: str
    left: float


@dataclass
class Timeline:
    rows: list[TimelineRow]
    ticks: list[Tick]
    now_left: float
    start: datetime.datetime
    end: datetime.datetime
    truncated: bool = False

    @property
    def grid(self) -> str:
        """The ticks' dashed lines that every row's track repeats, made once for all rows."""
        return format_html_join(
            "",
            '<span class="timeline__grid" style="left: {}%"></span>',
            ((f"{t.left:.2f}",) for t in self.ticks),
        )


@dataclass
class Gap:
    """A role the person's job description justifies that they neither hold nor will hold."""

    role: Role
    duty: Duty
    has_account: bool


@dataclass
class FindingRow:
    finding: Finding
    fix_url_name: str
    fix_kwargs: dict[str, int]
    fix_label: str

    @property
    def fix_url(self) -> str:
        """The fix page; one of the person's access carries the finding as the purpose."""
        url = reverse(self.fix_url_name, kwargs=self.fix_kwargs)
        return url + fix_context(self.finding, self.fix_url_name)


@dataclass
class PersonAccess:
    """Everything the person's access page shows."""

    person: Person
    accounts: list[Account]
    current: list[TimelineRow]
    timeline: Timeline
    gaps: list[Gap]
    findings: list[FindingRow]
    has_job_description: bool


def _position(value: datetime.datetime, start: datetime.datetime, span: float) -> float:
    return max(0.0, min(100.0, (value - start).total_seconds() / span * 100))


def _bar(
    begin: datetime.datetime,
    end: datetime.datetime | None,
    start: datetime.datetime,
    stop: datetime.datetime,
    span: float,
) -> Bar:
    left = _position(begin, start, span)
    right = _position(end or stop, start, span)
    # A day-long grant on a ten-year axis would be invisible: give every bar a visible width.
    return Bar(round(left, 2), round(max(right - left, 0.8), 2), open_end=end is None)


def _ticks(start: datetime.datetime, end: datetime.datetime, span: float) -> list[Tick]:
    """Year marks, or quarter marks when the axis is short; labels in local time."""
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    years = local_end.year - local_start.year
    ticks = []
    if years >= 3:
        step = 1 if years <= 8 else 2
        for year in range(local_start.year + 1, local_end.year + 1, step):
            at = timezone.make_aware(datetime.datetime(year, 1, 1))
            ticks.append(Tick(str(year), round(_position(at, start, span), 2)))
    else:
        year, month = local_start.year, local_start.month
        while True:
            month += 1
            if month > 12:
                year, month = year + 1, 1
            if month not in (1, 4, 7, 10):
                continue
            at = timezone.make_aware(datetime.datetime(year, month, 1))
            if at >= end:
                break
            ticks.append(Tick(f"{month:02d}.{year}", round(_position(at, start, span), 2)))
    # A label at the very edge would stick out of the track: keep the ones inside.
    return [t for t in ticks if 3 <= t.left <= 95]


def build_timeline(
    grants: Sequence[Grant],
    now: datetime.datetime,
    truncated: bool = False,
    suspensions: dict[int, list[GrantSuspension]] | None = None,
) -> Timeline:
    """The timeline's geometry: from the earliest start to a little past the latest end or now.

    Suspensions come from `suspensions` (by grant id) or else from each grant's prefetched ones.
    """
    if not grants:
        return Timeline([], [], 100.0, now, now)
    earliest = min(g.valid_from for g in grants)
    latest = max(
        [now]
        + [g.valid_to for g in grants if g.valid_to is not None]
        + [g.valid_from for g in grants]
    )
    # Pad both ends so bars that start at the edge and open-ended ones read as such.
    pad = max((latest - earliest) * 0.06, datetime.timedelta(days=14))
    start, end = earliest - pad, latest + pad
    span = (end - start).total_seconds()
    rows = []
    for grant in sorted(grants, key=lambda g: (g.role.system.name, g.role.name, g.valid_from)):
        own = list(grant.suspensions.all()) if suspensions is None else suspensions[grant.pk]
        state = grant_state(grant, now, own)
        row = TimelineRow(
            grant,
            state,
            state_label(state),
            _bar(grant.valid_from, grant.valid_to, start, end, span),
        )
        for s in own:
            row.suspensions.append((s, _bar(s.starts_at, s.ends_at, start, end, span)))
        rows.append(row)
    now_left = round(_position(now, start, span), 2)
    # The "now" label wins over a tick it would overlap.
    ticks = [t for t in _ticks(start, end, span) if abs(t.left - now_left) > 6]
    timeline = Timeline(rows, ticks, now_left, start, end, truncated)
    grid, suspended = timeline.grid, _("suspended")
    for row in rows:
        row.track = _track(row, grid, now_left, suspended)
    return timeline


def _track(row: TimelineRow, grid: str, now_left: float, suspended: str) -> str:
    """A row's track: the ticks' lines, the grant's bar, its suspensions and the "now" line.

    Pure geometry, hidden from screen readers (the row's label says it in words), so it is
    drawn here: as template nodes, the track of each of a long timeline's rows cost the page
    about as much as everything else in the row.
    """
    bars = format_html_join(
        "",
        '<span class="timeline__suspension" style="{}" title="{}: {}"></span>',
        ((bar.style, suspended, s.reason) for s, bar in row.suspensions),
    )
    return format_html(
        '{}<span class="timeline__bar timeline__bar--{}{}" style="{}"></span>{}'
        '<span class="timeline__now" style="left: {}%"></span>',
        grid,
        row.state,
        " timeline__bar--open" if row.bar.open_end else "",
        row.bar.style,
        bars,
        f"{now_left:.2f}",
    )


def person_access(
    person: Person,
    now: datetime.datetime | None = None,
    *,
    link_positions: bool = True,
    link_access: bool = True,
) -> PersonAccess:
    """The person's accounts, grants (now and as a timeline), gaps and open findings.

    A fixed number of queries whatever the person holds (at most eleven): accounts; grants with
    their role and system; the grants' suspensions, duties (with their job descriptions),
    request items and substituted persons, one query each when some grant has one; the job
    description and its entitlements; the roles of the gaps; the findings.

    `link_positions` and `link_access` say whether the viewer may open position pages and other
    persons' access pages: a basis links there only then.
    """
    now = now or timezone.now()
    accounts = list(
        Account.objects.filter(person=person)
        .select_related("system")
        .order_by("system__name", "-id")
    )
    grants = list(
        Grant.objects.filter(person=person)
        .select_related("role__system")
        .only(*GRANT_ROW_FIELDS)
        .prefetch_related(*_basis_prefetches())
        .order_by("-valid_from", "-id")[: TIMELINE_LIMIT + 1]
    )
    truncated = len(grants) > TIMELINE_LIMIT
    grants = grants[:TIMELINE_LIMIT]
    timeline = build_timeline(grants, now, truncated, suspensions_of(grants))
    urls = _UrlMaker()
    with_basis_cells(grants, link_positions=link_positions, link_access=link_access, urls=urls)
    for row in timeline.rows:
        row.url = urls.grant(row.grant.pk)
    current = [row for row in timeline.rows if row.state in ("in_force", "suspended")]
    for row in current:
        row.explain_url = urls.explain(person.pk, row.grant.role_id)

    entitled = entitlements_of(person, timezone.localdate(now))
    # Held or coming: a gap is only what the person will not have without someone acting.
    covered = {
        row.grant.role_id
        for row in timeline.rows
        if row.state != "ended" and row.grant.acting_for_id is None
    }
    missing = [role_id for role_id in entitled if role_id not in covered]
    open_systems = {a.system_id for a in accounts if a.state != Account.State.CLOSED}
    gaps = [
        Gap(role, entitled[role.pk], role.system_id in open_systems)
        for role in Role.objects.filter(pk__in=missing)
        .select_related("system")
        .order_by("system__name", "name")
    ]
    # The list shows each finding's stored text and links by id: nothing to join.
    findings = with_fix_hints(
        Finding.objects.filter(person=person, resolved_at__isnull=True).order_by("kind", "id")
    )
    return PersonAccess(
        person=person,
        accounts=accounts,
        current=current,
        timeline=timeline,
        gaps=gaps,
        findings=findings,
        has_job_description=bool(entitled) or _has_job_description(person, now),
    )


class _UrlMaker:
    """The addresses a page repeats for many rows, each pattern reversed once.

    `reverse` costs some 10 µs a call, and the person's page links each grant two or three
    times: each route is reversed once with marker ids, which become format fields.
    """

    MARKS = ("987654321", "987654322")

    def __init__(self) -> None:
        self.grant = self._pattern("access:grant_detail", 1)
        self.explain = self._pattern("access:explain", 2)
        self.position = self._pattern("people:position_detail", 1)
        self.request = self._pattern("access:request_detail", 1)
        self.access = self._pattern("access:person_access", 1)
        self.remove_entitlement = self._pattern("access:entitlement_remove", 1)

    @classmethod
    def _pattern(cls, name: str, width: int) -> Callable[..., str]:
        path = reverse(name, args=cls.MARKS[:width]).replace("{", "{{").replace("}", "}}")
        for index, mark in enumerate(cls.MARKS[:width]):
            path = path.replace(mark, f"{{{index}}}")
        return path.format


def with_basis_cells(
    grants: Iterable[Grant],
    *,
    link_positions: bool,
    link_access: bool,
    urls: _UrlMaker | None = None,
) -> None:
    """Set `basis_cell` (a BasisCell) on each grant, from its basis chain (`with_basis`).

    `link_positions` and `link_access` say whether the viewer may open position pages and
    other persons' access pages: the basis links there only then.
    """
    urls = urls or _UrlMaker()
    for grant in grants:
        grant.basis_cell = _basis_cell(grant, urls, link_positions, link_access)  # type: ignore[attr-defined]


def _basis_cell(
    grant: Grant, urls: _UrlMaker, link_positions: bool, link_access: bool
) -> BasisCell:
    """A grant's basis, from its prefetched chain."""
    if grant.basis == Grant.Basis.JOB_DESCRIPTION:
        cell = BasisCell(grant.basis, _("Job description"))
        duty = grant.basis_duty
        if duty is not None:
            text = duty.description
            cell.text = text if len(text) <= 60 else Truncator(text).chars(60)
            if link_positions:
                cell.url = urls.position(duty.job_description.position_id)
        return cell
    if grant.basis == Grant.Basis.REQUEST:
        cell = BasisCell(grant.basis, _("Request"))
        if grant.basis_item is not None:
            request_id = grant.basis_item.request_id
            cell.text = _("no. %(id)s") % {"id": request_id}
            cell.url = urls.request(request_id)
        return cell
    cell = BasisCell(grant.basis, _("Substitution"))
    if grant.acting_for is not None:
        cell.prefix = _("acting for")
        cell.text = grant.acting_for.full_name
        if link_access:
            cell.url = urls.access(grant.acting_for_id)
    return cell


def _has_job_description(person: Person, now: datetime.datetime) -> bool:
    if person.position_id is None:
        return False
    return person.position.job_descriptions.filter(  # type: ignore[union-attr]
        valid_from__lte=timezone.localdate(now)
    ).exists()


def chain_for(grant: Grant, now: datetime.datetime | None = None) -> BasisChain:
    """The basis chain of one grant, as `explain` builds it for the grants in force."""
    chain = BasisChain(grant=grant)
    if grant.basis == Grant.Basis.JOB_DESCRIPTION and grant.basis_duty is not None:
        chain.duty = grant.basis_duty
        chain.job_description = grant.basis_duty.job_description
        entitled = entitlements_of(grant.person, timezone.localdate(now or timezone.now()))
        chain.still_justified = grant.role_id in entitled
    elif grant.basis == Grant.Basis.REQUEST and grant.basis_item is not None:
        chain.approvals = list(
            grant.basis_item.request.approvals.select_related("approver", "decided_by", "system")
        )
    return chain


def person_grants_of_role(person: Person, role: Role) -> list[Grant]:
    """Every grant of the role the person has had, newest first (the history beside 'why')."""
    return list(
        grant_rows(Grant.objects.filter(person=person, role=role)).order_by("-valid_from", "-id")[
            :TIMELINE_LIMIT
        ]
    )


# --- catalogue --------------------------------------------------------------------------------


def systems_with_role_counts() -> list[TargetSystem]:
    """Every target system with its owner and number of roles (systems number in tens)."""
    return list(
        TargetSystem.objects.select_related("owner")
        .annotate(role_count=Count("roles"))
        .order_by("-active", "name")
    )


def role_holders_page(
    role: Role,
    at: datetime.datetime,
    cursor: str = "",
    *,
    link_positions: bool = True,
) -> KeysetPage[Grant]:
    """One page of who held the role at `at` (`holders_of`), longest-held first, with each basis.

    Ordered as the (role, valid_from) index is, not by name: sorting every holder of a role that
    70,000 people hold costs a second; walking the index costs the page. Each grant gets its
    `basis_cell` and the addresses of its holder's access page and "why?" (`access_url`,
    `explain_url`); whoever may see the holders may open their access pages.
    """
    # The holder and unit joined, the basis fetched by id (`_basis_prefetches`): joining the
    # basis chain too made PostgreSQL plan a nine-table join for 20 ms to run it in 5.
    qs = (
        holders_of(role, at)
        .select_related(None)
        .select_related("person__org_unit")
        .prefetch_related(*_basis_prefetches())
    )
    page = keyset_page(qs, cursor, order=("valid_from", "id"))
    urls = _UrlMaker()
    with_basis_cells(page.rows, link_positions=link_positions, link_access=True, urls=urls)
    for grant in page.rows:
        grant.access_url = urls.access(grant.person_id)  # type: ignore[attr-defined]
        grant.explain_url = urls.explain(grant.person_id, role.pk)  # type: ignore[attr-defined]
    return page


def role_entitlements_page(role: Role, cursor: str = "") -> KeysetPage[Entitlement]:
    """One page of the duties that justify the role, by key on the duty's id, each with the
    addresses of its position and of removing it (`position_url`, `remove_url`).

    Duties are numbered as job descriptions are written, so a job description's duties stay
    together, and the order needs no join: the page walks the role's entitlements in an index
    and joins the page's rows to their duty, job description, position and unit. (Ordering by
    the position's title joined and sorted all of a role's entitlements, 2,787 for the most
    common role: 22 ms on PostgreSQL.)
    """
    qs = (
        Entitlement.objects.filter(role=role)
        .select_related("duty__job_description__position__org_unit")
        .only(
            "id",
            "role",
            "duty__description",
            "duty__job_description__valid_from",
            "duty__job_description__directive",
            "duty__job_description__position__title",
            "duty__job_description__position__org_unit__name",
        )
    )
    page = keyset_page(qs, cursor, order=("duty_id",))
    urls = _UrlMaker()
    for entitlement in page.rows:
        position_id = entitlement.duty.job_description.position_id
        entitlement.position_url = urls.position(position_id)  # type: ignore[attr-defined]
        entitlement.remove_url = urls.remove_entitlement(entitlement.pk)  # type: ignore[attr-defined]
    return page


# --- requests ---------------------------------------------------------------------------------


@dataclass
class RoleChoice:
    """A role in the request form's picker, with what the person already has of it."""

    role: Role
    justified: bool
    held: bool


def role_choices(person: Person, now: datetime.datetime | None = None) -> list[RoleChoice]:
    """Active roles of active systems, each marked justified (job description) and/or held."""
    now = now or timezone.now()
    entitled = entitlements_of(person, timezone.localdate(now))
    held = set(
        Grant.objects.filter(person=person, acting_for__isnull=True)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=now))
        .values_list("role_id", flat=True)
    )
    roles = (
        Role.objects.filter(active=True, system__active=True)
        .select_related("system")
        .order_by("system__name", "module", "name", "id")
    )
    return [RoleChoice(r, r.pk in entitled, r.pk in held) for r in roles]


def open_grants(person: Person, now: datetime.datetime | None = None) -> list[Grant]:
    """The person's grants that have not ended (in force or scheduled): what a request can end."""
    now = now or timezone.now()
    return list(
        Grant.objects.filter(person=person)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=now))
        .select_related("role__system")
        .order_by("role__system__name", "role__name", "valid_from")
    )


def request_for_detail(pk: int) -> AccessRequest | None:
    """A request with its person, filer, items and approval chain: four queries."""
    return (
        AccessRequest.objects.select_related("person__org_unit", "requested_by")
        .prefetch_related(
            _items_prefetch(),
            _approvals_prefetch(),
        )
        .filter(pk=pk)
        .first()
    )


def _items_prefetch(lookup: str = "items") -> Prefetch:
    return Prefetch(
        lookup,
        queryset=AccessRequestItem.objects.select_related(
            "system", "role__system", "grant__role__system", "fulfilled_by"
        ).order_by("id"),
    )


def _approvals_prefetch() -> Prefetch:
    return Prefetch(
        "approvals",
        queryset=Approval.objects.select_related("approver", "decided_by", "system").order_by(
            "order"
        ),
    )


def current_step(request: AccessRequest) -> Approval | None:
    """The step whose turn it is, from the prefetched chain (the policy's rule, no query)."""
    if request.state != AccessRequest.State.SUBMITTED:
        return None
    pending = [a for a in request.approvals.all() if a.decision == Approval.Decision.PENDING]
    return min(pending, key=lambda a: a.order) if pending else None


def _history_label(action: str) -> str:
    labels = {
        "access.request.file": _("Filed"),
        "access.request.resubmit": _("Changed and resubmitted"),
        "access.request.approve": _("Approved by every step"),
        "access.request.reject": _("Rejected"),
        "access.request.return": _("Returned for changes"),
        "access.request.cancel": _("Withdrawn by the filer"),
        "access.request.expire": _("Expired undecided"),
        "access.request.fulfil": _("Fulfilled"),
        "access.request_item.fulfil": _("An item was fulfilled"),
        "access.approval.approve": _("A step approved"),
        "access.approval.reject": _("A step rejected"),
        "access.approval.return": _("A step returned it for changes"),
    }
    return str(labels.get(action, action))


def request_history(request: AccessRequest) -> list[AuditEvent]:
    """The audit events of the request and of its items, oldest first (an indexed lookup).

    Each event gets a `label` saying what happened in words.
    """
    item_ids = [str(item.pk) for item in request.items.all()]
    approval_ids = [str(approval.pk) for approval in request.approvals.all()]
    events = list(
        AuditEvent.objects.filter(
            Q(object_type=AccessRequest._meta.label_lower, object_id=str(request.pk))
            | Q(object_type=AccessRequestItem._meta.label_lower, object_id__in=item_ids)
            | Q(object_type=Approval._meta.label_lower, object_id__in=approval_ids)
        )
        .select_related("actor")
        .order_by("id")[:200]
    )
    for event in events:
        event.label = _history_label(event.action)  # type: ignore[attr-defined]
    return events


def requests_visible_to(
    user: Any, person: Person | None, scope: str, state: str
) -> QuerySet[AccessRequest]:
    """Requests the list shows: the user's own (filed by them or for their person) or, for staff,
    everyone's. Own ones are matched on the request's own columns, no join."""
    qs = AccessRequest.objects.select_related("person", "requested_by").prefetch_related(
        _items_prefetch()
    )
    if scope != "all":
        mine = Q(requested_by_id=user.pk)
        if person is not None:
            mine |= Q(person_id=person.pk)
        qs = qs.filter(mine)
    if state:
        qs = qs.filter(state=state)
    return qs


def approvals_page(approver: Person, cursor: str) -> KeysetPage[Approval]:
    """The approver's inbox: current steps that are theirs, oldest request first."""
    qs = (
        policy.awaiting_decision(approver)
        .select_related("request__person__org_unit")
        .prefetch_related(_items_prefetch("request__items"))
    )
    return keyset_page(qs, cursor, order=("request_id", "id"))


def fulfilment_page(cursor: str) -> KeysetPage[AccessRequestItem]:
    """Approved items of approved requests, oldest first (the request_item_state index)."""
    qs = AccessRequestItem.objects.filter(
        state=AccessRequestItem.State.APPROVED, request__state=AccessRequest.State.APPROVED
    ).select_related("request__person__org_unit", "system", "role__system", "grant__role__system")
    return id_page(qs, cursor)


def open_account_pairs(items: Iterable[AccessRequestItem]) -> set[tuple[int, int]]:
    """(person id, system id) of the open accounts among the items' persons and systems."""
    persons = {item.request.person_id for item in items}
    systems = {item.system_id for item in items}
    if not persons:
        return set()
    rows = (
        Account.objects.filter(person_id__in=persons, system_id__in=systems)
        .exclude(state=Account.State.CLOSED)
        .values_list("person_id", "system_id")
    )
    return set(rows)


# --- compliance ---------------------------------------------------------------------------------


def finding_counts() -> dict[str, int]:
    """Open findings per kind: one GROUP BY served by the (resolved_at, kind, id) index."""
    rows = (
        Finding.objects.order_by()
        .filter(resolved_at__isnull=True)
        .values("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    counts: dict[str, int] = defaultdict(int)
    for kind, n in rows:
        counts[kind] = n
    return {kind: counts[kind] for kind in Finding.Kind.values}


def finding_page(kind: str, unit: OrgUnit | None, cursor: str) -> KeysetPage[Finding]:
    """One page of open findings, oldest first, narrowed by kind and by an org unit's subtree."""
    qs = Finding.objects.filter(resolved_at__isnull=True).select_related(
        "person__org_unit", "grant__role__system", "account__system", "rule"
    )
    if kind:
        qs = qs.filter(kind=kind)
    if unit is not None:
        qs = qs.filter(person__org_unit_id__in=subtree_ids(unit))
    return id_page(qs, cursor)


def with_fix_hints(findings: Iterable[Finding]) -> list[FindingRow]:
    return [FindingRow(f, *fix_hint(f)) for f in findings]


# --- segregation-of-duties flags -----------------------------------------------------------------


@dataclass
class ConflictNote:
    """One SoD conflict stored on a request item, as the pages flag it.

    status: "excepted" (an approved exception covers it), "asked" (the request asks for one,
    until `until`), "blocking" (neither: approval is blocked).
    """

    other_role: str
    rule: str
    status: str
    until: datetime.datetime | None = None


def annotate_conflicts(items: Sequence[AccessRequestItem]) -> bool:
    """Set `conflict_notes` on each item of one request; True if any conflict blocks approval."""
    asked = excepted_rules(items)
    blocking = False
    for item in items:
        notes = []
        for c in item.sod_conflicts:
            until = c.get("exception_until")
            if c.get("exception"):
                status = "excepted"
            elif int(c["rule"]) in asked:
                status = "asked"
            else:
                status, blocking = "blocking", True
            notes.append(
                ConflictNote(
                    other_role=str(c.get("other_role_name", "")),
                    rule=str(c.get("rule_name", "")),
                    status=status,
                    until=datetime.datetime.fromisoformat(until) if until else None,
                )
            )
        item.conflict_notes = notes  # type: ignore[attr-defined]
    return blocking
