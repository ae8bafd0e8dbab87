"""The desk's queue views: mine, my queues, unassigned, breaching soon, all open; filters.

Sorted by SLA due time (cases without a running clock last), then by case number, 50 rows a page,
paged by key; see `tugi.desk.queries` for how the page stays fast at a million cases. A domain
specialist (who does not work cases) sees the cases escalated to their groups instead.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
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
    """One case in the queue table, everything in it already in words.

    Built in Python rather than looked up in the template: fifty rows of template lookups,
    includes and date filters cost more than the queries that found them.
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


def _row(case: Case, mark: DueMark, url: str, now: datetime.datetime) -> Row:
    due = timezone.localtime(mark.due) if mark.due else None
    if case.requester_id is not None and case.requester is not None:
        requester = case.requester.full_name
    else:
        requester = case.requester_name or case.requester_email
    return Row(
        pk=case.pk,
        url=url,
        subject=case.subject,
        queue=case.queue.name,
        tags=getattr(case, "tag_names", []),
        requester=requester,
        system=case.system.code if case.system_id and case.system else "",
        module=case.module,
        priority=case.priority,
        priority_label=queries.priority_label(case.priority),
        status=case.status,
        status_label=str(STATUS_LABELS.get(case.status, case.status)),
        assignee=queries.user_label(case.assignee) if case.assignee_id else "",
        due=mark,
        due_text=relative(due, now) if due else "",
        due_iso=due.isoformat() if due else "",
        due_short=_short(due) if due else "",
    )


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
    rows = [_row(case, marks[case.pk], url.format(case.pk), now) for case in page.rows]
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
