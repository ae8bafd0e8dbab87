"""The desk's queue views: mine, my queues, unassigned, breaching soon, all open; filters.

Sorted by SLA due time (cases without a running clock last), then by case number, 50 rows a page,
paged by key; see `tugi.desk.queries` for how the page stays fast at a million cases. A domain
specialist (who does not work cases) sees the cases escalated to their groups instead.
"""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
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
    """One case in the queue table, with its SLA due time in words."""

    case: Case
    priority: str
    due: DueMark
    due_text: str
    assignee: str


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
    rows = [
        Row(
            case,
            queries.priority_label(case.priority),
            marks[case.pk],
            relative(case.sla_due, now) if case.sla_due else "",
            queries.user_label(case.assignee),
        )
        for case in page.rows
    ]
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


def _empty_text(tab: str) -> str:
    return {
        Tab.MINE: _("No open cases are assigned to you."),
        Tab.MY_QUEUES: _("No open cases in your queues (or you are a member of no queue)."),
        Tab.UNASSIGNED: _("Every open case has someone working on it."),
        Tab.BREACHING: _("No case is near its SLA due time."),
        Tab.ALL: _("No open cases."),
        Tab.ESCALATED: _("No open cases are escalated to your groups."),
    }.get(tab, _("No cases."))
