"""The desk's queue views: mine, my queues, unassigned, breaching soon, all open; filters.

Sorted by SLA due time (cases without a running clock last), then by case number, 50 rows a page,
paged by key; see `tugi.desk.queries` for how the page stays fast at a million cases. A domain
specialist (who does not work cases) sees the cases escalated to their groups instead.
"""

import datetime
from dataclasses import dataclass, field
from html import escape as e
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tugi.desk import queries
from tugi.desk.forms import QueueFilterForm
from tugi.desk.models import Case
from tugi.desk.queries import DueMark, Tab
from tugi.desk.views._common import permission, relative, render_maybe_partial

TAB_LABELS = {
    Tab.MINE: gettext_lazy("Mine"),
    Tab.MY_QUEUES: gettext_lazy("My queues"),
    Tab.UNASSIGNED: gettext_lazy("Unassigned"),
    Tab.BREACHING: gettext_lazy("Breaching soon"),
    Tab.ALL: gettext_lazy("All open"),
    Tab.ESCALATED: gettext_lazy("Escalated to my groups"),
}


@dataclass
class Row:
    """One case in the queue table, everything in it already in words, and its markup.

    Built in Python rather than looked up in the template: fifty rows of a dozen template
    lookups, escapes and localisations each cost more than the query that found them (about a
    third of the page's time), the same reason `FastSelect` draws its options in Python. The
    markup is `_ROW` below; `desk/_queue_results.html` only places the rows.
    """

    pk: int
    url: str
    subject: str
    queue: str
    tags: list[str]
    requester: str
    system: str
    module: str
    priority: int
    priority_label: str
    status: str
    status_label: str
    assignee: str
    due: DueMark
    due_text: str
    due_iso: str
    due_short: str
    html: SafeString = field(default=SafeString(""), repr=False)


@dataclass(frozen=True)
class Words:
    """The words every row uses, translated once for the page."""

    priority: str
    nobody: str
    breached: str
    due_soon: str
    paused: str

    @classmethod
    def now(cls) -> "Words":
        return cls(_("Priority"), _("nobody"), _("breached"), _("due soon"), _("paused"))


# One queue row. Every value put into it is escaped in `_row_html`.
_ROW = (
    '<tr class="queue-row queue-row--{level}">'
    '<td class="nowrap numeric"><a href="{url}">{pk}</a></td>'
    '<th scope="row" class="table__wrap queue-table__subject"><a href="{url}">{subject}</a>'
    ' <span class="queue-table__meta">{queue}{tags}</span></th>'
    "<td>{requester}</td>"
    "<td>{system}{module}</td>"
    '<td><span class="tag priority priority--{priority}"><span class="visually-hidden">'
    "{priority_word}: </span>{priority_label}</span></td>"
    '<td><span class="tag case-status case-status--{status}">{status_label}</span></td>'
    "<td>{assignee}</td>"
    '<td class="nowrap sla-cell">{due}</td>'
    "</tr>"
)


def _row_html(row: Row, words: Words) -> SafeString:
    level = row.due.level
    if row.due_iso:
        badge = {
            "breached": f'<span class="sla-badge sla-badge--breached">{e(words.breached)}</span> ',
            "warning": f'<span class="sla-badge sla-badge--warning">{e(words.due_soon)}</span> ',
        }.get(level, "")
        due = (
            f'<time datetime="{e(row.due_iso)}">{e(row.due_text)}</time>'
            f' <span class="queue-table__meta">{badge}{e(row.due_short)}</span>'
        )
    elif level == "paused":
        due = f'<span class="sla-badge sla-badge--paused">{e(words.paused)}</span>'
    else:
        due = '<span class="muted">—</span>'
    html = _ROW.format(
        level=e(level),
        url=e(row.url),
        pk=row.pk,
        subject=e(row.subject),
        queue=e(row.queue),
        tags="".join(f' · <span class="case-tag">{e(tag)}</span>' for tag in row.tags),
        requester=e(row.requester),
        system=e(row.system or "—"),
        module=f'<span class="queue-table__meta">{e(row.module)}</span>' if row.module else "",
        priority=row.priority,
        priority_word=e(words.priority),
        priority_label=e(row.priority_label),
        status=e(row.status),
        status_label=e(row.status_label),
        assignee=e(row.assignee)
        if row.assignee
        else f'<span class="muted">{e(words.nobody)}</span>',
        due=due,
    )
    return mark_safe(html)  # noqa: S308 - every value is escaped above


def _row(
    case: queries.QueueRow, mark: DueMark, url: str, now: datetime.datetime, words: Words
) -> Row:
    due = timezone.localtime(mark.due) if mark.due else None
    row = Row(
        pk=case.pk,
        url=url,
        subject=case.subject,
        queue=case.queue,
        tags=case.tags,
        requester=case.requester,
        system=case.system,
        module=case.module,
        priority=case.priority,
        priority_label=queries.priority_label(case.priority),
        status=case.status,
        status_label=str(STATUS_LABELS.get(case.status, case.status)),
        assignee=case.assignee,
        due=mark,
        due_text=relative(due, now) if due else "",
        due_iso=due.isoformat() if due else "",
        due_short=_short(due) if due else "",
    )
    row.html = _row_html(row, words)
    return row


def _short(moment: datetime.datetime) -> str:
    """ "Mon 23.11. 16:30": the weekday and the day (Django's date formatting costs more)."""
    weekday = WEEKDAYS_ABBR[moment.weekday()]
    return f"{weekday} {moment.day}.{moment.month}. {moment:%H:%M}"


STATUS_LABELS = dict(Case.Status.choices)


def _tabs_for(user: Any) -> tuple[str, ...]:
    if user.has_perm("desk.work_case"):
        return Tab.DESK
    return (Tab.ESCALATED,)


@permission("desk.view_case")
def queue(request: HttpRequest) -> HttpResponse:
    """The queue: one tab, the filters, 50 cases soonest due first."""
    tabs = _tabs_for(request.user)
    form = QueueFilterForm(request.GET or None, tabs=tabs)
    filters = form.filters()
    now = timezone.now()
    page = queries.queue_page(request.user, filters, request.GET.get("cursor", ""), now)
    marks = queries.due_marks(page.rows, now)
    # One reverse() for the page: the case address differs only in its number.
    url = reverse("desk:case", args=[_PK]).replace(str(_PK), "{}")
    words = Words.now()
    rows = [_row(case, marks[case.pk], url.format(case.pk), now, words) for case in page.rows]
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": rows,
        "tabs": [(tab, TAB_LABELS[tab]) for tab in tabs],
        "tab": filters.tab,
        "tab_label": TAB_LABELS[filters.tab],
        "breaching_hours": queries.breaching_hours(),
        "now": now,
        "empty_text": _empty_text(filters.tab),
    }
    return render_maybe_partial(request, "desk/queue.html", "desk/_queue_results.html", context)


_PK = 918273645


def _empty_text(tab: str) -> str:
    return {
        Tab.MINE: _("No open cases are assigned to you."),
        Tab.MY_QUEUES: _("No open cases in your queues (or you are a member of no queue)."),
        Tab.UNASSIGNED: _("Every open case has someone working on it."),
        Tab.BREACHING: _("No case is near its SLA due time."),
        Tab.ALL: _("No open cases."),
        Tab.ESCALATED: _("No open cases are escalated to your groups."),
    }.get(tab, _("No cases."))
