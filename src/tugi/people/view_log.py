"""Logging who opened whose record, and why.

Opening one person's record by anyone but that person is an audit event with a purpose: the
person page (`people.person.view`), the person's access page, "why do they hold this role", the
pages of one of their grants or accounts, of an access request for them, of a substitution order
in which they are the absent person or the substitute (one event for each of the two), and the
request form filed for them (it shows their current and justified roles) (`access.person.view`);
in the API the person detail (`people.person.view`), explain, one grant, account, access request
or request item (a read of the person the request is for, not of the filer), finding, change or
substitution (both its persons) (`access.person.view`).

A list narrowed to one person shows that person's data, so it is logged the same way: the
absence list filtered by a person (`people.person.view`); the substitution list filtered by a
person and the Changes page when its search finds exactly one person (`access.person.view`); in
the API the accounts, grants, access requests and their items, findings and changes filtered by
`person`, the items filtered by `request` (its person), and substitutions by `person`, `absentee`
or `substitute` (`access.person.view`, one event per person named; `tugi.api.person_reads`).
Lists are logged only for callers who may read everyone's rows: the others see their own rows
only, and may name only the persons of those rows (any other id is the same 400 as one that does
not exist); one record is logged for whoever may open it. Lists and search results across people
show names and units only and are not logged; one's own record is never logged. The auditor's
trail of one person (`core.audit.view_person_trail`) goes through the same duplicate check
(`log_once`).

The purpose, in this order:

1. The context the viewer came from, when the link carried one: `?ctx=case-123` from a desk case,
   `request-45` from an access request (the approver's inbox and the desk's fulfilment queue
   lead to the request page with it), `finding-7`, `change-9`, `substitution-3` (the proposals
   inbox leads to the order with it), `import-5`. Only a known kind and a number are accepted
   and the token is turned into text ("case #123"); anything else is ignored, so a link cannot
   smuggle free text into the log. The API takes a free-text `purpose` instead (a token is
   expanded).
2. Otherwise the viewer's duty from their app roles: "role duty: desk work, approval of access".

Purposes Tugi writes are in the agency's language (`settings.LANGUAGE_CODE`), whatever language
the viewer reads, so the trail reads the same for every auditor.

Not flooding the log: at most one event per viewer × person × action × purpose in `WINDOW`
(10 minutes). Reloads and htmx refreshes of the same page write nothing more; coming to the same
person for a different reason does. The check is one read of the log on its indexed columns,
shared by the web and the API and by every web process; two requests racing may both write,
which costs a duplicate, never a missing event.
"""

import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from tugi.core import audit
from tugi.core.backends import role_names
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import Person

VIEW_PERSON = "people.person.view"
VIEW_PERSON_ACCESS = "access.person.view"
WINDOW = timedelta(minutes=10)
# AuditEvent.purpose holds 300 characters; the duplicate check compares what is stored.
PURPOSE_MAX = 300

# The contexts a link to a person may name (`?ctx=<kind>-<id>`), and how each reads in the log.
CONTEXTS = {
    "case": _("case #%(id)s"),
    "request": _("access request #%(id)s"),
    "finding": _("compliance finding #%(id)s"),
    "change": _("access change #%(id)s"),
    "substitution": _("substitution order #%(id)s"),
    "import": _("HR import #%(id)s"),
}
_TOKEN = re.compile(r"([a-z]+)-([1-9][0-9]{0,17})")

# Why someone in each role opens a person's record, in the order roles are listed.
ROLE_DUTIES = {
    AppRole.DESK_AGENT: _("desk work"),
    AppRole.DOMAIN_SPECIALIST: _("specialist work on cases"),
    AppRole.HR_SPECIALIST: _("HR work"),
    AppRole.APPROVER: _("approval of access"),
    AppRole.SYSTEM_OWNER: _("system ownership"),
    AppRole.AUDITOR: _("audit"),
    AppRole.ADMINISTRATOR: _("administration"),
}
# On a person's access page the desk is administering access, not answering a case.
_ACCESS_DUTIES = {AppRole.DESK_AGENT: _("access administration")}


def valid_ctx(token: str | None) -> str:
    """The token if it names a known context (`case-123`), else ""."""
    match = _TOKEN.fullmatch(token or "")
    return match.group(0) if match and match.group(1) in CONTEXTS else ""


def _context_text(token: str) -> str:
    kind, _sep, number = token.partition("-")
    return str(CONTEXTS[kind]) % {"id": number}


def _role_duty(viewer: Any, action: str) -> str:
    held = role_names(viewer)
    duties = [
        str((_ACCESS_DUTIES if action == VIEW_PERSON_ACCESS else {}).get(role, duty))
        for role, duty in ROLE_DUTIES.items()
        if role.value in held
    ]
    if not duties:
        duties = [str(_("superuser") if getattr(viewer, "is_superuser", False) else _("no role"))]
    return str(_("role duty: %(duties)s")) % {"duties": ", ".join(duties)}


def purpose_of(viewer: Any, action: str, *, ctx: str = "", given: str = "") -> str:
    """The purpose written for a view: the given text, else the context's, else the role duty."""
    with translation.override(settings.LANGUAGE_CODE):
        given = " ".join(given.split())  # no line breaks or tabs in a one-line field
        if valid_ctx(given):
            return _context_text(given)
        if given:
            return given[:PURPOSE_MAX]
        if valid_ctx(ctx):
            return _context_text(ctx)
        return _role_duty(viewer, action)[:PURPOSE_MAX]


def is_own(viewer: Any, person: Person) -> bool:
    return person.user_id is not None and person.user_id == viewer.pk


def log_view(
    viewer: Any, person: Person, action: str, *, ctx: str = "", given: str = ""
) -> AuditEvent | None:
    """Record that the viewer saw the person's record and why, unless it is their own record or
    the same view was recorded within WINDOW. Call it after the permission check, before
    rendering: a view that cannot be logged is not shown."""
    if is_own(viewer, person):
        return None
    purpose = purpose_of(viewer, action, ctx=ctx, given=given)
    return log_once(viewer, action, person.pk, purpose, person)


def log_once(
    viewer: Any,
    action: str,
    person_id: int,
    purpose: str,
    obj: Any = None,
    **record: Any,
) -> AuditEvent | None:
    """Write a read of one person's data as an audit event, unless the same viewer, person,
    action and purpose was written within WINDOW: one read of the log on its indexed columns,
    and the insert only when nothing was found. For reads that are not a person page (the
    auditor's trail of a person); `record` goes on to `audit.record` (object_type, object_id)."""
    recent = AuditEvent.objects.filter(
        subject_person_id=person_id,
        actor_id=viewer.pk,
        action=action,
        purpose=purpose,
        at__gte=timezone.now() - WINDOW,
    )
    if recent.exists():
        return None
    return audit.record(viewer, action, obj, subject_person_id=person_id, purpose=purpose, **record)
