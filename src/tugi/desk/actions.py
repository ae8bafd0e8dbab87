"""Actions on support cases: the only code that changes cases, messages and escalations.

Each action checks who may do it, validates everything first (a ValidationError whose keys name
the fields, so nothing is saved when anything is wrong), then writes the change and its audit
event (`desk.case.*`, `desk.escalation.*`) in one transaction, and leaves mail to run after
commit (`tugi.desk.mail.outbound`). The SLA clocks are kept by `tugi.desk.sla`; actions call it
whenever a status or the priority changes. Audit events name the case and the messages by id and
never copy message texts: the log is append-only, texts may carry personal data.

Who may do what:

- requesters (no permission) create cases for themselves on the portal or the API, write to their
  own cases, reopen their resolved cases and rate them; nobody else's (PermissionDenied);
- the desk (`desk.add_case`) logs cases for anyone on any channel (phone cases);
  `desk.work_case` does everything else: reply, assign, route, classify (category, application,
  module), link a case from an unknown sender to a person, link cases, merge, escalate, resolve;
- domain specialists (`desk.note_case`) add internal notes and log time on cases escalated to a
  specialist group they belong to;
- the system (actor None: the mail intake, the worker) creates cases from mail, adds the
  requester's and third parties' mail and closes resolved cases after a while.

Decisions worth knowing:

- Statuses: a case is NEW until the desk first replies (then OPEN). Waiting for the requester
  pauses the SLA clock; the requester's next message (portal or mail) sets the case OPEN again
  and resumes it. Waiting for a third party does NOT pause it: the agency owes its requester the
  answer whoever is slow, and each escalation has its own answer due time.
- A requester's message reopens a RESOLVED case. A CLOSED case is never reopened by mail: the
  intake makes a new case with `parent=` the closed one (the follow-up is linked, the old case's
  history stays as it was closed). Mail to a case merged into another lands in the target.
- Resolving a case resolves its open children (and theirs) in the same transaction, each with one
  public message: the same resolution text and "resolved together with Tugi #parent".
- Merging moves the source's messages (with their attachments), escalations, time entries, tags,
  children and duplicates to the target; message order stays by time (ids grow with time). The
  source is closed with `merged_into`, and an internal note on the target names it and its
  requester. No merging into itself, into a closed case, or of a closed case.
- Third-party escalations mail only the summary the agent wrote (a `to_party` message); internal
  notes and the requester's messages are never part of it.
- Ratings: one per case, 1–5, on a resolved or closed case, by its requester or by whoever holds
  the signed one-click link (`make_rating_token`, valid 30 days). It may be changed (not added
  anew) for 30 days after the case was resolved; after that the rating is final.
"""

import dataclasses
import datetime
import functools
import string
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tugi.access.models import Role, TargetSystem
from tugi.core import audit
from tugi.core.permissions import Actor, require
from tugi.core.text import fold
from tugi.desk import attachments as attachment_files
from tugi.desk import routing, sla
from tugi.desk.attachments import CheckedFile, FileLike, IncomingFile
from tugi.desk.models import (
    Case,
    Escalation,
    Message,
    Queue,
    Rating,
    ReplyTemplate,
    RoutingRule,
    Tag,
    TimeEntry,
)
from tugi.people.models import Person

Status = Case.Status
Kind = Message.Kind
OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING_REQUESTER, Status.WAITING_THIRD_PARTY)
DONE_STATUSES = (Status.RESOLVED, Status.CLOSED)

RATING_SALT = "tugi.desk.rating"
RATING_DAYS = 30
MAX_MINUTES_PER_ENTRY = 24 * 60
MAX_TAG_LENGTH = 50
# Cases `create_cases` opens in one call: enough for an integration's burst, small enough that
# one transaction holds the write lock only briefly.
MAX_BATCH = 200

# The placeholders a reply template may use.
PLACEHOLDERS = ("requester_name", "case_reference", "case_subject", "agent_name")

# The case fields whose changes the audit log records.
CASE_AUDIT_FIELDS = [
    "subject",
    "requester_id",
    "requester_email",
    "requester_name",
    "language",
    "channel",
    "system_id",
    "module",
    "category",
    "impact",
    "urgency",
    "priority",
    "status",
    "queue_id",
    "assignee_id",
    "parent_id",
    "duplicate_of_id",
    "merged_into_id",
    "sla_policy_id",
    "first_response_due",
    "resolution_due",
    "sla_due",
    "first_responded_at",
    "resolved_at",
    "closed_at",
]
ESCALATION_AUDIT_FIELDS = [
    "case_id",
    "kind",
    "queue_id",
    "party_name",
    "party_email",
    "external_reference",
    "external_url",
    "due_at",
    "status",
    "closed_at",
]

UploadLike = IncomingFile | FileLike


class _Unset:
    """Marks an argument that was not given (None means "nobody" for an assignee)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# --- who may do what --------------------------------------------------------------------------


def person_of(user: Actor) -> Person | None:
    """The person record of a signed-in user, if any."""
    if user is None or not user.is_authenticated:
        return None
    # No ORDER BY: `user` is unique, and Person's name ordering could send a planner walking
    # the name index instead of the unique one.
    return next(iter(Person.objects.filter(user_id=user.pk).order_by()[:1]), None)


def person_by_email(address: str) -> Person | None:
    """The person whose e-mail is this address (case is ignored), if any.

    The people actions store addresses lower-cased (`people.actions._check_person`), so an exact
    match on the lower-cased address finds them on the unique index. `email__iexact` would compare
    UPPER(email) with every row, and `.first()` would add the name ordering: a walk of the
    whole name index per lookup (70–100 ms at 100,000 persons) instead of one index probe.
    """
    address = (address or "").strip().lower()
    if not address:
        return None
    return next(iter(Person.objects.filter(email=address).order_by()[:1]), None)


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) and actor.is_authenticated else None


def is_requester(actor: Actor, case: Case) -> bool:
    """Whether the user is the case's requester."""
    if actor is None or not actor.is_authenticated or case.requester_id is None:
        return False
    return Person.objects.filter(pk=case.requester_id, user_id=actor.pk).exists()


def escalated_to(actor: Actor, case: Case, *, open_only: bool = False) -> bool:
    """Whether the case is escalated to a specialist group the user belongs to."""
    if actor is None or not actor.is_authenticated:
        return False
    escalations = Escalation.objects.filter(
        case_id=case.pk, kind=Escalation.Kind.SPECIALISTS, queue__members=actor
    )
    if open_only:
        escalations = escalations.exclude(status=Escalation.Status.CLOSED)
    return escalations.exists()


def can_view(actor: Actor, case: Case) -> bool:
    """The desk sees every case; a specialist the cases escalated to them; a requester their own."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.has_perm("desk.work_case") or is_requester(actor, case):
        return True
    return actor.has_perm("desk.view_case") and escalated_to(actor, case)


def require_view(actor: Actor, case: Case) -> None:
    """PermissionDenied unless the user may see the case."""
    if not can_view(actor, case):
        raise PermissionDenied(_("You do not have permission to do this."))


def can_note(actor: Actor, case: Case) -> bool:
    """The desk, or a specialist of a group the case is (still) escalated to."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.has_perm("desk.work_case"):
        return True
    return actor.has_perm("desk.note_case") and escalated_to(actor, case, open_only=True)


def _require_note(actor: Actor, case: Case) -> None:
    if not can_note(actor, case):
        raise PermissionDenied(_("You do not have permission to do this."))


def _may_be_assigned(user: User, queue: Queue) -> bool:
    return user.is_active and (
        user.has_perm("desk.work_case") or queue.members.filter(pk=user.pk).exists()
    )


# --- helpers ----------------------------------------------------------------------------------


def _snap(case: Case) -> dict[str, Any]:
    return audit.snapshot(case, CASE_AUDIT_FIELDS)


def _record(
    actor: Actor,
    action: str,
    case: Case,
    before: dict[str, Any] | None,
    *,
    extra: dict[str, Any] | None = None,
    basis: str = "",
) -> None:
    """One audit event for the case: the changed fields from both sides, plus `extra` after."""
    if before is None:
        b, a = None, _snap(case)
    else:
        b, a = audit.diff(before, _snap(case))
    audit.record(
        actor,
        action,
        case,
        before=b,
        after={**a, **(extra or {})},
        subject_person_id=case.requester_id,
        basis=basis,
    )


def _lock(case: Case) -> None:
    """Lock the case's row for this transaction and reload it, so checks see its latest state."""
    list(Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True))
    case.refresh_from_db()


def _send_message(message_pk: int) -> None:
    from tugi.desk.mail import outbound

    outbound.queue_message(message_pk)


def _send_acknowledgement(case_pk: int) -> None:
    from tugi.desk.mail import outbound

    outbound.queue_acknowledgement(case_pk)


def _mail_on_commit(message: Message) -> None:
    transaction.on_commit(functools.partial(_send_message, message.pk))


def _message(
    case: Case,
    kind: str,
    body: str,
    *,
    author: Actor = None,
    author_email: str = "",
    escalation: Escalation | None = None,
    message_id: str = "",
    in_reply_to: str = "",
    body_html: str = "",
    files: Sequence[CheckedFile] = (),
) -> Message:
    message = Message.objects.create(
        case=case,
        escalation=escalation,
        kind=kind,
        author=_user(author),
        author_email=author_email,
        body=body,
        body_html=body_html,
        message_id=message_id,
        in_reply_to=in_reply_to,
    )
    attachment_files.store_all(message, files)
    return message


def _message_facts(message: Message, files: Sequence[CheckedFile] = ()) -> dict[str, Any]:
    facts: dict[str, Any] = {"message": message.pk, "message_kind": message.kind}
    if files:
        facts["attachments"] = [{"sha256": f.sha256, "size": f.size} for f in files]
    return facts


def _check_files(uploads: Iterable[UploadLike]) -> list[CheckedFile]:
    return attachment_files.check_files(list(uploads))


def _required_text(value: str, field: str, message: str, errors: dict[str, Any]) -> str:
    value = (value or "").strip()
    if not value:
        errors[field] = message
    return value


def _check_email(value: str, field: str, errors: dict[str, Any]) -> str:
    value = (value or "").strip().lower()
    if value:
        try:
            validate_email(value)
        except ValidationError:
            errors[field] = _("“%(email)s” is not a valid e-mail address.") % {"email": value}
    return value


def _check_open(case: Case, field: str = "status") -> None:
    if case.status not in OPEN_STATUSES:
        raise ValidationError(
            {field: _("%(case)s is %(status)s.") % _case_names(case)}, code="not_open"
        )


def _check_not_closed(case: Case) -> None:
    if case.status == Status.CLOSED:
        raise ValidationError(
            {"status": _("%(case)s is closed.") % _case_names(case)}, code="closed"
        )


def _case_names(case: Case) -> dict[str, Any]:
    return {"case": case.reference, "status": case.get_status_display()}


def _move_status(case: Case, status: str, now: datetime.datetime) -> None:
    """Change the status of an open case, pausing or resuming the SLA clock as needed."""
    if case.status == status:
        return
    if status == Status.WAITING_REQUESTER:
        sla.pause(case, now)
    elif case.status == Status.WAITING_REQUESTER:
        sla.resume(case, now)
    case.status = status


def _reopen_in_memory(case: Case, now: datetime.datetime) -> None:
    """A resolved or closed case becomes open again and its clock runs on."""
    case.status = Status.OPEN
    case.resolved_at = None
    case.closed_at = None
    sla.resume(case, now)


def _requester_label(case: Case) -> str:
    if case.requester is not None:
        return str(case.requester)
    return case.requester_name or case.requester_email


def _agent_name(actor: Actor) -> str:
    user = _user(actor)
    if user is None:
        return ""
    person = person_of(user)
    if person is not None:
        return str(person)
    return user.get_full_name() or user.get_username()


def _validate_choice(value: Any, choices: Any, field: str, errors: dict[str, Any]) -> None:
    if value not in choices.values:
        errors[field] = _("Choose one of: %(choices)s.") % {
            "choices": ", ".join(str(v) for v in choices.values)
        }


# --- templates --------------------------------------------------------------------------------


def placeholder_values(actor: Actor, case: Case) -> dict[str, str]:
    """What each template placeholder stands for, for this case and agent."""
    return {
        "requester_name": _requester_label(case),
        "case_reference": case.reference,
        "case_subject": case.subject,
        "agent_name": _agent_name(actor),
    }


def render_placeholders(text: str, values: dict[str, str]) -> str:
    """Fill {placeholders}; an unknown one is a clear error ({{ and }} are literal braces)."""
    available = ", ".join(f"{{{name}}}" for name in values)
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(
            {
                "body": _(
                    "The text has a brace that does not close a placeholder. "
                    "Write {{ and }} for literal braces."
                )
            }
        ) from exc
    unknown = sorted(
        {
            "{" + (field or "") + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            for _literal, field, spec, conv in parts
            if field is not None and (field not in values or spec or conv)
        }
    )
    if unknown:
        raise ValidationError(
            {
                "body": _("Unknown placeholder %(unknown)s. You can use: %(available)s.")
                % {"unknown": ", ".join(unknown), "available": available}
            },
            code="unknown_placeholder",
        )
    return "".join(
        literal + (values[field] if field is not None else "") for literal, field, _s, _c in parts
    )


# --- creating cases ---------------------------------------------------------------------------


def _canonical_module(
    system: TargetSystem | None, module: str, known: dict[int, dict[str, str]] | None = None
) -> str:
    """A module typed as the system's roles name it is stored in their spelling; else as typed.

    `known` keeps each system's modules across calls (a batch of cases reads each system once).
    """
    module = " ".join(module.split())
    if system is None or not module:
        return module
    known = {} if known is None else known
    if system.pk not in known:
        names = (
            Role.objects.filter(system=system).exclude(module="").values_list("module", flat=True)
        )
        known[system.pk] = {fold(m): m for m in names}
    return known[system.pk].get(fold(module), module)


@dataclasses.dataclass
class NewCase:
    """What opens a case: `create_case`'s fields, for `create_cases` to take many at once."""

    channel: str
    subject: str
    body: str
    requester: Person | None = None
    requester_email: str = ""
    requester_name: str = ""
    system: TargetSystem | None = None
    module: str = ""
    category: str = Case.Category.QUESTION
    impact: int = Case.Level.LOW
    urgency: int = Case.Level.LOW
    queue: Queue | None = None
    attachments: Iterable[UploadLike] = ()
    message_id: str = ""
    in_reply_to: str = ""
    body_html: str = ""
    language: str | None = None
    tags: Iterable[str] = ()
    parent: Case | None = None


@dataclasses.dataclass
class _Opening:
    """A checked new case, not yet saved, with what its first message needs."""

    case: Case
    body: str
    files: list[CheckedFile]
    tag_names: list[str]
    body_html: str
    in_reply_to: str


def create_case(
    actor: Actor,
    *,
    channel: str,
    subject: str,
    body: str,
    requester: Person | None = None,
    requester_email: str = "",
    requester_name: str = "",
    system: TargetSystem | None = None,
    module: str = "",
    category: str = Case.Category.QUESTION,
    impact: int = Case.Level.LOW,
    urgency: int = Case.Level.LOW,
    queue: Queue | None = None,
    attachments: Iterable[UploadLike] = (),
    message_id: str = "",
    in_reply_to: str = "",
    body_html: str = "",
    language: str | None = None,
    tags: Iterable[str] = (),
    parent: Case | None = None,
    acknowledge: bool = True,
) -> Case:
    """Open a case with the requester's first message; route it, start its SLA, acknowledge it.

    actor None is the system (the mail intake): it is never refused for a missing or overlong
    subject or an empty text (stand-ins are used). A requester may open cases only for themselves,
    on the portal or the API, without choosing queue or tags; `desk.add_case` opens them for
    anyone on any channel. `parent` links a follow-up (the intake uses it for mail to a closed
    case). `acknowledge=False` sends no acknowledgement (e.g. for mail the intake knows is bulk).
    """
    spec = NewCase(
        channel=channel,
        subject=subject,
        body=body,
        requester=requester,
        requester_email=requester_email,
        requester_name=requester_name,
        system=system,
        module=module,
        category=category,
        impact=impact,
        urgency=urgency,
        queue=queue,
        attachments=attachments,
        message_id=message_id,
        in_reply_to=in_reply_to,
        body_html=body_html,
        language=language,
        tags=tags,
        parent=parent,
    )
    opening = _check_opening(actor, spec)
    case = opening.case
    with transaction.atomic():
        rule = _route(opening, timezone.now())
        case.save()
        # The requester's own words; a case the desk logs for someone has no author user (the
        # audit event says who logged it).
        first = _message(
            case,
            Kind.FROM_REQUESTER,
            opening.body,
            author=_first_author(actor, case),
            author_email=_first_author_email(case),
            message_id=case.thread_root,
            in_reply_to=opening.in_reply_to,
            body_html=opening.body_html,
            files=opening.files,
        )
        if opening.tag_names:
            case.tags.set(_tags(opening.tag_names))
        # For callers that show the new case at once (the API's 201), so they need not read it.
        cast(Any, case).first_message = first
        _record(actor, "desk.case.create", case, None, extra=_opening_facts(opening, first, rule))
        if acknowledge:
            transaction.on_commit(functools.partial(_send_acknowledgement, case.pk))
    return case


def create_cases(actor: Actor, specs: Sequence[NewCase]) -> list[Case]:
    """Open many cases at once (an integration's batch): all of them, or none.

    The desk only (`desk.add_case`), at most MAX_BATCH, without attachments. Each case is checked
    as `create_case` checks one; when any is wrong nothing is saved and the ValidationError's keys
    name the position and the field (`3.subject`). The cases, their first messages, their tags
    and their audit events are each written with one insert; every requester is acknowledged.
    """
    require(actor, "desk.add_case")
    if not specs:
        raise ValidationError({"cases": _("Send at least one case.")})
    if len(specs) > MAX_BATCH:
        raise ValidationError(
            {
                "cases": _("At most %(max)d cases at once (%(n)d were sent).")
                % {"max": MAX_BATCH, "n": len(specs)}
            }
        )
    openings: list[_Opening] = []
    errors: dict[str, Any] = {}
    modules: dict[int, dict[str, str]] = {}
    for position, spec in enumerate(specs):
        if spec.attachments:
            errors[f"{position}.attachments"] = _(
                "Cases opened in a batch have no attachments: open this one on its own."
            )
            continue
        try:
            openings.append(_check_opening(actor, spec, modules))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors[f"{position}.{field}"] = messages
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    with transaction.atomic():
        rules = [_route(opening, now) for opening in openings]
        cases = Case.objects.bulk_create([o.case for o in openings])
        firsts = Message.objects.bulk_create(
            Message(
                case=case,
                kind=Kind.FROM_REQUESTER,
                author=_user(_first_author(actor, case)),
                author_email=_first_author_email(case),
                body=opening.body,
                body_html=opening.body_html,
                message_id=case.thread_root,
                in_reply_to=opening.in_reply_to,
            )
            for case, opening in zip(cases, openings, strict=True)
        )
        named = sorted({n for o in openings for n in o.tag_names}, key=str.lower)
        by_name = {t.name.lower(): t for t in _tags(named)} if named else {}
        Case.tags.through.objects.bulk_create(
            Case.tags.through(case_id=case.pk, tag_id=by_name[n.lower()].pk)
            for case, opening in zip(cases, openings, strict=True)
            for n in opening.tag_names
        )
        audit.record_many(
            actor,
            (
                (
                    "desk.case.create",
                    case,
                    {
                        "after": {**_snap(case), **_opening_facts(opening, first, rule)},
                        "subject_person_id": case.requester_id,
                    },
                )
                for case, opening, first, rule in zip(cases, openings, firsts, rules, strict=True)
            ),
        )
        for case, first in zip(cases, firsts, strict=True):
            cast(Any, case).first_message = first
            transaction.on_commit(functools.partial(_send_acknowledgement, case.pk))
    return cases


def _check_opening(
    actor: Actor, spec: NewCase, modules: dict[int, dict[str, str]] | None = None
) -> _Opening:
    """Who may open this case and whether its fields are right; the unsaved case if so."""
    subject, body, requester = spec.subject, spec.body, spec.requester
    requester_email, channel, queue = spec.requester_email, spec.channel, spec.queue
    tags, parent, language = spec.tags, spec.parent, spec.language
    system_actor = actor is None
    desk = not system_actor and actor is not None and actor.has_perm("desk.add_case")
    errors: dict[str, Any] = {}
    if not system_actor and not desk:
        if actor is None or not actor.is_authenticated:
            raise PermissionDenied(_("You do not have permission to do this."))
        own = person_of(actor)
        if own is None:
            raise ValidationError(
                {
                    "requester": _(
                        "Your user account is not linked to a person; ask the desk to link it."
                    )
                }
            )
        if requester is not None and requester.pk != own.pk:
            raise PermissionDenied(_("You can open cases only for yourself."))
        requester, requester_email = own, ""
        if channel not in (Case.Channel.PORTAL, Case.Channel.API):
            errors["channel"] = _("Cases can be opened on the portal or through the API.")
        if queue is not None:
            errors["queue"] = _("The desk chooses the queue.")
        if tags:
            errors["tags"] = _("The desk sets the tags.")
        if parent is not None and parent.requester_id != own.pk:
            raise PermissionDenied(_("You do not have permission to do this."))

    subject = " ".join((subject or "").split())
    if system_actor:
        # Mail must never be lost for its form: the intake's case gets a stand-in subject or
        # text, and an overlong subject is cut (the full text is in the message).
        if len(subject) > 300:
            subject = subject[:299].rstrip() + "…"
        subject = subject or _("(no subject)")
        if not (body or "").strip():
            body = _("(no text)")
    if not subject:
        errors["subject"] = _("Write a short subject: what is the case about?")
    elif len(subject) > 300:
        errors["subject"] = _("The subject may be at most 300 characters (it has %(n)d).") % {
            "n": len(subject)
        }
    if not (body or "").strip():
        errors["body"] = _("Describe the question or problem.")
    _validate_choice(channel, Case.Channel, "channel", errors)
    _validate_choice(spec.category, Case.Category, "category", errors)
    _validate_choice(spec.impact, Case.Level, "impact", errors)
    _validate_choice(spec.urgency, Case.Level, "urgency", errors)
    requester_email = _check_email(requester_email, "requester_email", errors)
    if requester is None and requester_email and "requester_email" not in errors:
        requester = person_by_email(requester_email)
    if requester is None and not requester_email and "requester_email" not in errors:
        errors["requester"] = _("Name the requester: a person or an e-mail address.")
    module = _canonical_module(spec.system, spec.module or "", modules)
    if len(module) > 100:
        errors["module"] = _("The module may be at most 100 characters.")
    languages = [code for code, _name in settings.LANGUAGES]
    if language is not None and language not in languages:
        errors["language"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(languages)}
    if queue is not None and not queue.active:
        errors["queue"] = _("The queue “%(queue)s” is no longer in use.") % {"queue": queue}
    tag_names = _clean_tags(tags, errors)
    files: list[CheckedFile] = []
    try:
        files = _check_files(spec.attachments)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    case = Case(
        subject=subject,
        requester=requester,
        requester_email="" if requester is not None else requester_email,
        requester_name=(spec.requester_name or "").strip()[:200],
        language=language or settings.LANGUAGE_CODE[:2],
        channel=channel,
        system=spec.system,
        module=module,
        category=spec.category,
        impact=spec.impact,
        urgency=spec.urgency,
        priority=sla.priority_from(spec.impact, spec.urgency),
        status=Status.NEW,
        queue=queue,
        parent=parent,
        thread_root=spec.message_id,
    )
    return _Opening(case, body.strip(), files, tag_names, spec.body_html, spec.in_reply_to)


def _route(opening: _Opening, now: datetime.datetime) -> RoutingRule | None:
    """Send a case with no queue where the routing rules say, and start its SLA clocks."""
    case, rule = opening.case, None
    if case.queue_id is None:
        where = routing.destination(case, opening.body)
        case.queue, case.assignee, rule = where.queue, where.assignee, where.rule
    sla.start(case, now)  # also chooses the policy
    return rule


def _first_author(actor: Actor, case: Case) -> Actor:
    """The first message's author: the actor when it is the requester writing, else nobody."""
    requester = case.requester
    if requester is not None and requester.user_id == getattr(actor, "pk", 0):
        return actor
    return None


def _first_author_email(case: Case) -> str:
    return case.requester.email if case.requester is not None else case.requester_email


def _opening_facts(opening: _Opening, first: Message, rule: RoutingRule | None) -> dict[str, Any]:
    facts = _message_facts(first, opening.files)
    if opening.tag_names:
        facts["tags"] = opening.tag_names
    if rule is not None:
        facts["routing_rule"] = rule.pk
    return facts


# --- the requester's messages -----------------------------------------------------------------


def add_requester_message(
    case: Case,
    *,
    body: str,
    author: Actor = None,
    author_email: str = "",
    message_id: str = "",
    in_reply_to: str = "",
    body_html: str = "",
    attachments: Iterable[UploadLike] = (),
) -> Message:
    """The requester writes again (portal: author is the user; mail intake: author None).

    A case waiting for the requester is open again and its SLA resumes; a resolved case reopens.
    A closed case refuses (the intake opens a follow-up case with `parent=`). Mail to a case that
    was merged lands in the case it was merged into. The desk (`desk.work_case`) may add a
    requester's message it took by phone.
    """
    if author is not None and not (is_requester(author, case) or author.has_perm("desk.work_case")):
        raise PermissionDenied(_("You do not have permission to do this."))
    errors: dict[str, Any] = {}
    body = (body or "").strip()
    files: list[CheckedFile] = []
    try:
        files = _check_files(attachments)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not body and not files and not errors:
        errors["body"] = _("Write a message.")
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    with transaction.atomic():
        _lock(case)
        seen = {case.pk}
        while case.merged_into_id is not None and case.merged_into_id not in seen:
            seen.add(case.merged_into_id)
            case = Case.objects.select_for_update().get(pk=case.merged_into_id)
        if case.status == Status.CLOSED:
            raise ValidationError(
                {
                    "status": _(
                        "%(case)s is closed; please open a new case (it can refer to this one)."
                    )
                    % _case_names(case)
                },
                code="closed",
            )
        before = _snap(case)
        if case.status == Status.RESOLVED:
            _reopen_in_memory(case, now)
        elif case.status == Status.WAITING_REQUESTER:
            _move_status(case, Status.OPEN, now)
        case.save()
        if not author_email:
            requester = case.requester
            author_email = requester.email if requester is not None else case.requester_email
        message = _message(
            case,
            Kind.FROM_REQUESTER,
            body,
            author=author,
            author_email=author_email,
            message_id=message_id,
            in_reply_to=in_reply_to,
            body_html=body_html,
            files=files,
        )
        _record(
            author,
            "desk.case.requester_message",
            case,
            before,
            extra=_message_facts(message, files),
        )
    return message


# --- the desk's messages ----------------------------------------------------------------------

_REPLY_STATUSES = (Status.OPEN, Status.WAITING_REQUESTER)


def reply(
    actor: Actor,
    case: Case,
    body: str,
    *,
    template: ReplyTemplate | None = None,
    set_status: str | None = None,
    attachments: Iterable[UploadLike] = (),
) -> Message:
    """A public reply to the requester, mailed after commit; the first one stops that SLA target.

    With a template, its placeholders are filled in (an empty body takes the template's text).
    `set_status` (open or waiting_requester) sets the status after the reply; waiting for the
    requester pauses the SLA. Without it a new case becomes open.
    """
    require(actor, "desk.work_case")
    errors: dict[str, Any] = {}
    text = (body or "").strip()
    if template is not None and not text:
        text = template.body.strip()
    if set_status is not None and set_status not in _REPLY_STATUSES:
        errors["set_status"] = _("After a reply the case can be: %(choices)s.") % {
            "choices": ", ".join(_REPLY_STATUSES)
        }
    files: list[CheckedFile] = []
    try:
        files = _check_files(attachments)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not text:
        errors["body"] = _("Write the reply.")
    elif template is not None:
        try:
            text = render_placeholders(text, placeholder_values(actor, case))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    with transaction.atomic():
        _lock(case)
        _check_not_closed(case)
        if set_status is not None and case.status not in OPEN_STATUSES:
            raise ValidationError(
                {"set_status": _("%(case)s is %(status)s; reopen it first.") % _case_names(case)}
            )
        before = _snap(case)
        if case.first_responded_at is None:
            sla.record_first_response(case, now)
        if set_status is not None:
            _move_status(case, set_status, now)
        elif case.status == Status.NEW:
            case.status = Status.OPEN
        case.save()
        message = _message(case, Kind.REPLY, text, author=actor, files=files)
        extra = _message_facts(message, files)
        if template is not None:
            extra["template"] = template.pk
        _record(actor, "desk.case.reply", case, before, extra=extra)
        _mail_on_commit(message)
    return message


def add_note(
    actor: Actor, case: Case, body: str, *, attachments: Iterable[UploadLike] = ()
) -> Message:
    """An internal note: never shown or mailed to the requester or a third party.

    The desk notes any case; a domain specialist the cases escalated to their group, and their
    note answers that escalation.
    """
    _require_note(actor, case)
    errors: dict[str, Any] = {}
    body = (body or "").strip()
    if not body:
        errors["body"] = _("Write the note.")
    files: list[CheckedFile] = []
    try:
        files = _check_files(attachments)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock(case)
        before = _snap(case)
        escalation = None
        user = _user(actor)
        if user is not None and not user.has_perm("desk.work_case"):
            escalation = (
                Escalation.objects.select_for_update()
                .filter(case=case, kind=Escalation.Kind.SPECIALISTS, queue__members=user)
                .exclude(status=Escalation.Status.CLOSED)
                .order_by("id")
                .first()
            )
        message = _message(case, Kind.NOTE, body, author=actor, escalation=escalation, files=files)
        extra = _message_facts(message, files)
        if escalation is not None and escalation.status == Escalation.Status.OPEN:
            escalation.status = Escalation.Status.ANSWERED
            escalation.save(update_fields=["status"])
            extra["escalation"] = escalation.pk
            extra["escalation_status"] = escalation.status
        _record(actor, "desk.case.note", case, before, extra=extra)
    return message


# --- working the case -------------------------------------------------------------------------


def assign(actor: Actor, case: Case, *, assignee: Any = UNSET, queue: Any = UNSET) -> Case:
    """Move the case to a queue and/or an agent (assignee None: nobody).

    The assignee must be a member of the queue or hold `desk.work_case`. Moving to another queue
    keeps the assignee only if they may work that queue.
    """
    require(actor, "desk.work_case")
    errors: dict[str, Any] = {}
    with transaction.atomic():
        _lock(case)
        _check_not_closed(case)
        before = _snap(case)
        new_queue: Queue = case.queue if queue is UNSET else queue
        if queue is not UNSET:
            if queue is None:
                errors["queue"] = _("A case always has a queue.")
            elif not queue.active:
                errors["queue"] = _("The queue “%(queue)s” is no longer in use.") % {"queue": queue}
        if (
            assignee is not UNSET
            and assignee is not None
            and "queue" not in errors
            and not _may_be_assigned(assignee, new_queue)
        ):
            errors["assignee"] = _(
                "%(user)s is not a member of the queue “%(queue)s” and does not work cases."
            ) % {
                "user": assignee.get_full_name() or assignee.get_username(),
                "queue": new_queue,
            }
        if errors:
            raise ValidationError(errors)
        case.queue = new_queue
        if assignee is not UNSET:
            case.assignee = assignee
        elif case.assignee is not None and not _may_be_assigned(case.assignee, new_queue):
            case.assignee = None
        if _snap(case) == before:
            return case
        case.save()
        _record(actor, "desk.case.assign", case, before)
    return case


_SETTABLE_STATUSES = (Status.OPEN, Status.WAITING_REQUESTER, Status.WAITING_THIRD_PARTY)


def set_status(actor: Actor, case: Case, status: str, *, reason: str = "") -> Case:
    """Set an open case's working status (open, waiting for the requester or a third party).

    Resolving, closing and reopening have their own actions. Waiting for the requester pauses
    the SLA; leaving it resumes the clock.
    """
    require(actor, "desk.work_case")
    if status not in _SETTABLE_STATUSES:
        raise ValidationError(
            {
                "status": _("Choose one of: %(choices)s (resolve, close and reopen are separate).")
                % {"choices": ", ".join(_SETTABLE_STATUSES)}
            }
        )
    now = timezone.now()
    with transaction.atomic():
        _lock(case)
        if case.status not in OPEN_STATUSES:
            raise ValidationError(
                {"status": _("%(case)s is %(status)s; reopen it first.") % _case_names(case)}
            )
        if case.status == status:
            return case
        before = _snap(case)
        _move_status(case, status, now)
        case.save()
        _record(
            actor,
            "desk.case.set_status",
            case,
            before,
            extra={"reason": reason.strip()} if reason.strip() else None,
        )
    return case


def set_priority(actor: Actor, case: Case, *, impact: int, urgency: int) -> Case:
    """Change impact and urgency; the priority, the SLA policy and the due times follow."""
    require(actor, "desk.work_case")
    errors: dict[str, Any] = {}
    _validate_choice(impact, Case.Level, "impact", errors)
    _validate_choice(urgency, Case.Level, "urgency", errors)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        _lock(case)
        _check_not_closed(case)
        if (case.impact, case.urgency) == (impact, urgency):
            return case
        before = _snap(case)
        case.impact, case.urgency = impact, urgency
        case.priority = sla.priority_from(impact, urgency)
        sla.reprioritise(case, now)
        case.save()
        _record(actor, "desk.case.set_priority", case, before)
    return case


def _first_text(case: Case) -> str:
    """The requester's first message: what keyword routing rules are matched against."""
    first = (
        Message.objects.filter(case_id=case.pk, kind=Kind.FROM_REQUESTER)
        .order_by("id")
        .values_list("body", flat=True)[:1]
    )
    return next(iter(first), "")


def classify(
    actor: Actor,
    case: Case,
    *,
    category: Any = UNSET,
    system: Any = UNSET,
    module: Any = UNSET,
    reroute: bool = False,
) -> Case:
    """Change what the case is about: its category, application (None: none) and module.

    The SLA policy is chosen by priority and category, so a new category may bring another
    policy; its targets then count the working time already used, as with a new priority
    (`sla.reprioritise`: the due times move, a paused clock gets them when it resumes).
    Routing decides where a *new* case goes and an open case stays where the desk put it,
    unless `reroute` asks for the routing rules to decide again with the new classification:
    then the case moves to the matching rule's queue (or the default queue), the rule's
    assignee takes it if the rule names one, and otherwise the assignee stays if they may work
    the new queue. A closed case is final and refuses.
    """
    require(actor, "desk.work_case")
    errors: dict[str, Any] = {}
    if category is not UNSET:
        _validate_choice(category, Case.Category, "category", errors)
    if system is not UNSET and system is not None and not isinstance(system, TargetSystem):
        errors["system"] = _("Choose an application.")
    if module is not UNSET:
        module = " ".join(str(module or "").split())
        if len(module) > 100:
            errors["module"] = _("The module may be at most 100 characters.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        _lock(case)
        _check_not_closed(case)
        before = _snap(case)
        new_system = case.system if system is UNSET else system
        system_changed = (new_system.pk if new_system else None) != case.system_id
        if system_changed and new_system is not None and not new_system.active:
            raise ValidationError(
                {
                    "system": _("The application “%(system)s” is no longer in use.")
                    % {"system": new_system.name}
                }
            )
        new_module = case.module if module is UNSET else module
        if system_changed and module is UNSET:
            # A module names a part of one application: it does not carry over to another.
            new_module = ""
        old_category = case.category
        if category is not UNSET:
            case.category = category
        case.system = new_system
        case.module = _canonical_module(new_system, new_module)
        if case.category != old_category:
            sla.reprioritise(case, now)
        rule = None
        if reroute:
            where = routing.destination(case, _first_text(case))
            rule = where.rule
            case.queue = where.queue
            if where.assignee is not None:
                case.assignee = where.assignee
            elif case.assignee is not None and not _may_be_assigned(case.assignee, where.queue):
                case.assignee = None
        if _snap(case) == before:
            return case
        case.save()
        extra: dict[str, Any] = {}
        if reroute:
            extra["routing_rule"] = rule.pk if rule is not None else None
        _record(actor, "desk.case.classify", case, before, extra=extra or None)
    return case


def link_requester(actor: Actor, case: Case, person: Person) -> Case:
    """Make a known person the requester of a case that came from an unknown address.

    Mail from someone who is not a known person opens a case kept by address
    (`requester_email`); the desk, recognising the sender, picks their person record. From then
    on the case is theirs: it shows on their portal page, replies and the resolution go to the
    person's address, and the audit trail of the person includes it. The address the mail came
    from stays on the case, so that further mail from it still finds the case. Only a case
    without a requester can be linked: a case of a known person is not handed to another.
    """
    require(actor, "desk.work_case")
    if not isinstance(person, Person):
        raise ValidationError({"requester": _("Choose the person.")})
    with transaction.atomic():
        _lock(case)
        if case.requester_id == person.pk:
            return case
        if case.requester_id is not None:
            raise ValidationError(
                {
                    "requester": _(
                        "%(case)s already has a requester; only a case from an unknown sender "
                        "can be linked to a person."
                    )
                    % _case_names(case)
                },
                code="has_requester",
            )
        before = _snap(case)
        case.requester = person
        case.save()
        _record(actor, "desk.case.link_requester", case, before)
    return case


def _clean_tags(names: Iterable[str], errors: dict[str, Any]) -> list[str]:
    """Tag names trimmed, without repeats (case-insensitively), in the order given."""
    cleaned: dict[str, str] = {}
    for raw in names:
        name = " ".join(str(raw).split())
        if not name:
            continue
        if len(name) > MAX_TAG_LENGTH:
            errors["tags"] = _("“%(tag)s” is too long: a tag may be at most %(n)d characters.") % {
                "tag": name,
                "n": MAX_TAG_LENGTH,
            }
            continue
        cleaned.setdefault(name.lower(), name)
    return list(cleaned.values())


def _tags(names: Sequence[str]) -> list[Tag]:
    """The tags of these names, created when new (an existing tag keeps its spelling)."""
    tags = []
    for name in names:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    return tags


def set_tags(actor: Actor, case: Case, names: Iterable[str]) -> Case:
    """Replace the case's tags with these names."""
    require(actor, "desk.work_case")
    errors: dict[str, Any] = {}
    cleaned = _clean_tags(names, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock(case)
        before = sorted(case.tags.values_list("name", flat=True))
        tags = _tags(cleaned)
        after = sorted(t.name for t in tags)
        if after == before:
            return case
        case.tags.set(tags)
        audit.record(
            actor,
            "desk.case.set_tags",
            case,
            before={"tags": before},
            after={"tags": after},
            subject_person_id=case.requester_id,
        )
    return case


def log_time(actor: Actor, case: Case, minutes: int, note: str = "") -> TimeEntry:
    """Record working time spent on the case (1 minute to a day per entry)."""
    _require_note(actor, case)
    errors: dict[str, Any] = {}
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 1 <= minutes <= MAX_MINUTES_PER_ENTRY
    ):
        errors["minutes"] = _("Give the time in whole minutes, from 1 to %(max)d.") % {
            "max": MAX_MINUTES_PER_ENTRY
        }
    note = (note or "").strip()
    if len(note) > 300:
        errors["note"] = _("The note may be at most 300 characters.")
    if errors:
        raise ValidationError(errors)
    user = _user(actor)
    assert user is not None  # _require_note admits signed-in users only
    with transaction.atomic():
        entry = TimeEntry.objects.create(case=case, user=user, minutes=minutes, note=note)
        audit.record(
            actor,
            "desk.case.log_time",
            case,
            after={"time_entry": entry.pk, "minutes": minutes},
            subject_person_id=case.requester_id,
        )
    return entry


# --- resolving, closing, reopening ------------------------------------------------------------


def _resolve_one(
    actor: Actor,
    case: Case,
    text: str,
    now: datetime.datetime,
    *,
    action: str = "desk.case.resolve",
    basis: str = "",
    extra: dict[str, Any] | None = None,
) -> Message:
    before = _snap(case)
    if case.first_responded_at is None:
        sla.record_first_response(case, now)
    sla.stop(case, now)
    case.status = Status.RESOLVED
    case.resolved_at = now
    case.save()
    message = _message(case, Kind.REPLY, text, author=actor)
    _record(
        actor, action, case, before, extra={**_message_facts(message), **(extra or {})}, basis=basis
    )
    _mail_on_commit(message)
    return message


def _resolve_children(actor: Actor, parent: Case, resolution: str, now: datetime.datetime) -> int:
    """Resolve the open descendants of a case with one message each; how many were resolved."""
    resolved = 0
    seen = {parent.pk}
    pending = [parent.pk]
    while pending:
        current = pending.pop(0)
        children = Case.objects.select_for_update().filter(parent_id=current).order_by("id")
        for child in children:
            if child.pk in seen:
                continue
            seen.add(child.pk)
            pending.append(child.pk)
            if child.status not in OPEN_STATUSES:
                continue
            with translation.override(child.language):
                text = _("%(resolution)s\n\n(Resolved together with %(parent)s.)") % {
                    "resolution": resolution,
                    "parent": parent.reference,
                }
            _resolve_one(
                actor,
                child,
                text,
                now,
                basis=f"resolved with {parent.reference}",
                extra={"resolved_with": parent.pk},
            )
            resolved += 1
    return resolved


def resolve(actor: Actor, case: Case, *, resolution: str) -> Message:
    """Resolve with a public reply; the case's open children are resolved with it."""
    require(actor, "desk.work_case")
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": _("Write the resolution for the requester.")})
    now = timezone.now()
    with transaction.atomic():
        _lock(case)
        _check_open(case)
        message = _resolve_one(actor, case, resolution, now)
        _resolve_children(actor, case, resolution, now)
    return message


def close(actor: Actor, case: Case) -> Case:
    """Close a resolved case: it is final (new mail about it opens a follow-up case)."""
    require(actor, "desk.work_case")
    with transaction.atomic():
        _lock(case)
        if case.status != Status.RESOLVED:
            raise ValidationError(
                {
                    "status": _("Only a resolved case can be closed; %(case)s is %(status)s.")
                    % _case_names(case)
                }
            )
        _close_resolved(actor, case, timezone.now())
    return case


def _close_resolved(actor: Actor, case: Case, now: datetime.datetime, basis: str = "") -> None:
    before = _snap(case)
    case.status = Status.CLOSED
    case.closed_at = now
    case.save()
    _record(actor, "desk.case.close", case, before, basis=basis)


def auto_close_days() -> int:
    """After how many days a resolved case is closed by the worker."""
    return int(getattr(settings, "TUGI_DESK_AUTO_CLOSE_DAYS", 14))


def close_resolved_before(cutoff: datetime.datetime, *, batch: int = 500) -> int:
    """Close every case resolved before the cutoff (the worker's periodic job); how many."""
    closed = 0
    while True:
        pks = list(
            Case.objects.filter(status=Status.RESOLVED, resolved_at__lt=cutoff)
            .order_by("resolved_at", "id")
            .values_list("pk", flat=True)[:batch]
        )
        if not pks:
            return closed
        with transaction.atomic():
            for case in Case.objects.select_for_update().filter(pk__in=pks).order_by("id"):
                # Someone may have reopened it since the list was read.
                if (
                    case.status == Status.RESOLVED
                    and case.resolved_at
                    and case.resolved_at < cutoff
                ):
                    _close_resolved(None, case, timezone.now(), basis="auto-close")
                    closed += 1
        if len(pks) < batch:
            return closed


def reopen(actor: Actor, case: Case, reason: str) -> Case:
    """Reopen a resolved case (the desk or its requester) or a closed one (the desk only)."""
    desk = actor is not None and actor.has_perm("desk.work_case")
    if not desk and not is_requester(actor, case):
        raise PermissionDenied(_("You do not have permission to do this."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the case is reopened.")})
    now = timezone.now()
    with transaction.atomic():
        _lock(case)
        if case.status not in DONE_STATUSES:
            raise ValidationError({"status": _("%(case)s is still open.") % _case_names(case)})
        if case.merged_into_id is not None:
            raise ValidationError(
                {
                    "status": _("%(case)s was merged into another case; work on that one.")
                    % _case_names(case)
                }
            )
        if case.status == Status.CLOSED and not desk:
            raise ValidationError(
                {"status": _("%(case)s is closed; please open a new case.") % _case_names(case)}
            )
        before = _snap(case)
        _reopen_in_memory(case, now)
        case.save()
        kind = Kind.NOTE if desk else Kind.FROM_REQUESTER
        with translation.override(case.language):
            text = _("Reopened: %(reason)s") % {"reason": reason}
        message = _message(case, kind, text, author=actor)
        _record(actor, "desk.case.reopen", case, before, extra=_message_facts(message))
    return case


# --- links between cases ----------------------------------------------------------------------


def _ancestor_ids(case: Case) -> set[int]:
    """The case and every case above it."""
    ids = {case.pk}
    parent_id = case.parent_id
    while parent_id is not None and parent_id not in ids:
        ids.add(parent_id)
        parent_id = Case.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return ids


def link_parent(actor: Actor, child: Case, parent: Case | None) -> Case:
    """Make `parent` the parent of `child` (None: unlink); no self-links and no cycles."""
    require(actor, "desk.work_case")
    with transaction.atomic():
        _lock(child)
        if parent is not None:
            if parent.pk == child.pk:
                raise ValidationError({"parent": _("A case cannot be its own parent.")})
            if child.pk in _ancestor_ids(Case.objects.get(pk=parent.pk)):
                raise ValidationError(
                    {
                        "parent": _(
                            "%(parent)s is already under %(child)s: the links would form a cycle."
                        )
                        % {"parent": parent.reference, "child": child.reference}
                    }
                )
        if child.parent_id == (parent.pk if parent else None):
            return child
        before = _snap(child)
        child.parent = parent
        child.save()
        _record(actor, "desk.case.link_parent", child, before)
    return child


def mark_duplicate(actor: Actor, case: Case, original: Case) -> Message:
    """Resolve the case as a duplicate of `original`, telling its requester where it continues."""
    require(actor, "desk.work_case")
    if original.pk == case.pk:
        raise ValidationError({"original": _("A case cannot duplicate itself.")})
    now = timezone.now()
    with transaction.atomic():
        _lock(case)
        _lock(original)
        _check_open(case)
        if original.merged_into_id is not None:
            raise ValidationError(
                {"original": _("%(case)s was merged into another case.") % _case_names(original)}
            )
        node: Case | None = original
        seen: set[int] = set()
        while node is not None and node.pk not in seen:
            if node.duplicate_of_id == case.pk:
                raise ValidationError(
                    {
                        "original": _("%(case)s is itself a duplicate of this case.")
                        % _case_names(original)
                    }
                )
            seen.add(node.pk)
            node = node.duplicate_of
        case.duplicate_of = original
        with translation.override(case.language):
            text = _(
                "This case is the same as %(original)s and is handled there; "
                "this case is therefore resolved."
            ) % {"original": original.reference}
        message = _resolve_one(
            actor,
            case,
            text,
            now,
            action="desk.case.mark_duplicate",
            extra={"duplicate_of": original.pk},
        )
        _resolve_children(actor, case, text, now)
    return message


def merge(actor: Actor, source: Case, target: Case) -> Case:
    """Merge `source` into `target`: its history moves there and the source is closed."""
    require(actor, "desk.work_case")
    if source.pk == target.pk:
        raise ValidationError({"target": _("A case cannot be merged into itself.")})
    now = timezone.now()
    with transaction.atomic():
        _lock(source)
        _lock(target)
        if target.status == Status.CLOSED:
            raise ValidationError(
                {"target": _("%(case)s is closed; merge into an open case.") % _case_names(target)}
            )
        if source.status == Status.CLOSED:
            raise ValidationError(
                {"source": _("%(case)s is already closed.") % _case_names(source)}
            )
        source_before, target_before = _snap(source), _snap(target)
        moved = list(source.messages.order_by("id").values_list("pk", flat=True))
        Message.objects.filter(case=source).update(case=target)
        Escalation.objects.filter(case=source).update(case=target)
        TimeEntry.objects.filter(case=source).update(case=target)
        # The source's children go under the target, except the target and its own ancestors
        # (which would make a cycle): those take the source's place under its parent.
        ancestors = _ancestor_ids(target)
        Case.objects.filter(parent=source).exclude(pk__in=ancestors).update(parent=target)
        Case.objects.filter(parent=source, pk__in=ancestors).exclude(pk=target.pk).update(
            parent=source.parent_id
        )
        if target.parent_id == source.pk:
            target.parent_id = source.parent_id
        Case.objects.filter(duplicate_of=source).update(duplicate_of=target)
        Case.objects.filter(merged_into=source).update(merged_into=target)
        target.tags.add(*source.tags.all())
        target.save()

        sla.stop(source, now)
        source.status = Status.CLOSED
        source.closed_at = now
        source.merged_into = target
        source.save()

        with translation.override(target.language):
            who = _requester_label(source)
            email = source.requester.email if source.requester else source.requester_email
            text = _(
                "%(source)s (“%(subject)s”) was merged into this case. Its requester: "
                "%(requester)s."
            ) % {
                "source": source.reference,
                "subject": source.subject,
                "requester": f"{who} <{email}>" if email and who != email else who,
            }
        note = _message(target, Kind.NOTE, text, author=actor)
        _record(
            actor,
            "desk.case.merge",
            source,
            source_before,
            extra={"merged_into": target.pk, "moved_messages": moved},
        )
        _record(
            actor,
            "desk.case.merge_in",
            target,
            target_before,
            extra={"merged_from": source.pk, "moved_messages": moved, "message": note.pk},
        )
    return target


# --- escalations ------------------------------------------------------------------------------


def _snap_escalation(escalation: Escalation) -> dict[str, Any]:
    return audit.snapshot(escalation, ESCALATION_AUDIT_FIELDS)


def _record_escalation(
    actor: Actor,
    action: str,
    escalation: Escalation,
    before: dict[str, Any] | None,
    *,
    extra: dict[str, Any] | None = None,
) -> None:
    if before is None:
        b, a = None, _snap_escalation(escalation)
    else:
        b, a = audit.diff(before, _snap_escalation(escalation))
    audit.record(
        actor,
        action,
        escalation,
        before=b,
        after={**a, **(extra or {})},
        subject_person_id=escalation.case.requester_id,
    )


def _check_url(url: str, errors: dict[str, Any]) -> str:
    url = (url or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            errors["external_url"] = _("Give the link as a full web address (https://…).")
    return url


def escalate(
    actor: Actor,
    case: Case,
    *,
    kind: str,
    queue: Queue | None = None,
    party_name: str = "",
    party_email: str = "",
    summary: str,
    due_at: datetime.datetime | None = None,
    external_reference: str = "",
    external_url: str = "",
) -> Escalation:
    """Hand the case to a specialist group or a third party, tracked as an escalation.

    Specialists get it in their group (an internal note with the summary). A third party gets
    a mail with only the summary the agent wrote, and the case waits for the third party; its
    SLA keeps running (the requester is owed an answer however slow the party is).
    """
    require(actor, "desk.work_case")
    errors: dict[str, Any] = {}
    summary = (summary or "").strip()
    if not summary:
        errors["summary"] = _("Write what we ask: this is the text the other side receives.")
    party_name = " ".join((party_name or "").split())
    party_email = _check_email(party_email, "party_email", errors)
    if kind == Escalation.Kind.SPECIALISTS:
        if queue is None:
            errors["queue"] = _("Choose the specialist group.")
        elif queue.kind != Queue.Kind.SPECIALISTS:
            errors["queue"] = _("“%(queue)s” is not a specialist group.") % {"queue": queue}
        elif not queue.active:
            errors["queue"] = _("The queue “%(queue)s” is no longer in use.") % {"queue": queue}
    elif kind == Escalation.Kind.THIRD_PARTY:
        if not party_email and "party_email" not in errors:
            errors["party_email"] = _("Give the third party's e-mail address.")
        if queue is not None:
            errors["queue"] = _("A third-party escalation goes to an e-mail address, not a queue.")
    else:
        _validate_choice(kind, Escalation.Kind, "kind", errors)
    if due_at is not None:
        if timezone.is_naive(due_at):
            errors["due_at"] = _("Give a date and time with its time zone.")
        elif due_at <= timezone.now():
            errors["due_at"] = _("The answer due time must be in the future.")
    external_reference = (external_reference or "").strip()
    if len(external_reference) > 100:
        errors["external_reference"] = _("Their reference may be at most 100 characters.")
    external_url = _check_url(external_url, errors)
    if len(party_name) > 200:
        errors["party_name"] = _("The party's name may be at most 200 characters.")
    if errors:
        raise ValidationError(errors)

    user = _user(actor)
    assert user is not None  # require() admits signed-in users only
    now = timezone.now()
    with transaction.atomic():
        _lock(case)
        _check_open(case)
        before = _snap(case)
        escalation = Escalation.objects.create(
            case=case,
            kind=kind,
            queue=queue if kind == Escalation.Kind.SPECIALISTS else None,
            party_name=party_name if kind == Escalation.Kind.THIRD_PARTY else "",
            party_email=party_email if kind == Escalation.Kind.THIRD_PARTY else "",
            summary=summary,
            due_at=due_at,
            external_reference=external_reference,
            external_url=external_url,
            created_by=user,
        )
        if kind == Escalation.Kind.THIRD_PARTY:
            message = _message(case, Kind.TO_PARTY, summary, author=actor, escalation=escalation)
            _move_status(case, Status.WAITING_THIRD_PARTY, now)
            if case.status == Status.NEW:
                case.status = Status.OPEN
        else:
            message = _message(case, Kind.NOTE, summary, author=actor, escalation=escalation)
        case.save()
        _record_escalation(actor, "desk.escalation.create", escalation, None)
        _record(
            actor,
            "desk.case.escalate",
            case,
            before,
            extra={"escalation": escalation.pk, **_message_facts(message)},
        )
        if kind == Escalation.Kind.THIRD_PARTY:
            _mail_on_commit(message)
    return escalation


def set_external_reference(
    actor: Actor, escalation: Escalation, reference: str, url: str = ""
) -> Escalation:
    """Record the third party's own reference (and link) for the escalation."""
    require(actor, "desk.work_case")
    errors: dict[str, Any] = {}
    reference = (reference or "").strip()
    if len(reference) > 100:
        errors["external_reference"] = _("Their reference may be at most 100 characters.")
    url = _check_url(url, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        escalation = (
            Escalation.objects.select_for_update().select_related("case").get(pk=escalation.pk)
        )
        before = _snap_escalation(escalation)
        escalation.external_reference, escalation.external_url = reference, url
        if _snap_escalation(escalation) == before:
            return escalation
        escalation.save(update_fields=["external_reference", "external_url"])
        _record_escalation(actor, "desk.escalation.set_reference", escalation, before)
    return escalation


def _no_party_waiting(case: Case, but: Escalation) -> bool:
    return (
        not Escalation.objects.filter(
            case_id=case.pk, kind=Escalation.Kind.THIRD_PARTY, status=Escalation.Status.OPEN
        )
        .exclude(pk=but.pk)
        .exists()
    )


def record_party_reply(
    escalation: Escalation,
    *,
    body: str,
    author_email: str,
    message_id: str,
    in_reply_to: str = "",
    body_html: str = "",
    attachments: Iterable[UploadLike] = (),
) -> Message:
    """The third party's mail (from the mail intake): the escalation is answered.

    A case that was waiting for this party (and no other) is open again for the desk.
    """
    errors: dict[str, Any] = {}
    body = (body or "").strip()
    files: list[CheckedFile] = []
    try:
        files = _check_files(attachments)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not body and not files and not errors:
        errors["body"] = _("The reply is empty.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
        case = escalation.case
        _lock(case)
        before_case, before = _snap(case), _snap_escalation(escalation)
        message = _message(
            case,
            Kind.FROM_PARTY,
            body,
            author_email=(author_email or "").strip().lower(),
            escalation=escalation,
            message_id=message_id,
            in_reply_to=in_reply_to,
            body_html=body_html,
            files=files,
        )
        if escalation.status == Escalation.Status.OPEN:
            escalation.status = Escalation.Status.ANSWERED
            escalation.save(update_fields=["status"])
        if case.status == Status.WAITING_THIRD_PARTY and _no_party_waiting(case, escalation):
            _move_status(case, Status.OPEN, now)
            case.save()
        _record_escalation(
            None,
            "desk.escalation.party_reply",
            escalation,
            before,
            extra=_message_facts(message, files),
        )
        if _snap(case) != before_case:
            _record(
                None,
                "desk.case.party_replied",
                case,
                before_case,
                extra={"escalation": escalation.pk},
            )
    return message


def close_escalation(actor: Actor, escalation: Escalation) -> Escalation:
    """Close an escalation; a case that waited only for this party is open again."""
    require(actor, "desk.work_case")
    now = timezone.now()
    with transaction.atomic():
        escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
        if escalation.status == Escalation.Status.CLOSED:
            raise ValidationError({"status": _("The escalation is already closed.")})
        case = escalation.case
        _lock(case)
        before_case, before = _snap(case), _snap_escalation(escalation)
        escalation.status = Escalation.Status.CLOSED
        escalation.closed_at = now
        escalation.save(update_fields=["status", "closed_at"])
        if (
            escalation.kind == Escalation.Kind.THIRD_PARTY
            and case.status == Status.WAITING_THIRD_PARTY
            and _no_party_waiting(case, escalation)
        ):
            _move_status(case, Status.OPEN, now)
            case.save()
        _record_escalation(actor, "desk.escalation.close", escalation, before)
        if _snap(case) != before_case:
            _record(
                actor,
                "desk.case.escalation_closed",
                case,
                before_case,
                extra={"escalation": escalation.pk},
            )
    return escalation


# --- ratings ----------------------------------------------------------------------------------


def make_rating_token(case: Case) -> str:
    """A signed token for the one-click rating link in the resolution mail (valid 30 days)."""
    return signing.dumps({"case": case.pk}, salt=RATING_SALT)


def rating_token_case_id(token: str) -> int | None:
    """The id of the case a rating token was made for, if it is genuine and under 30 days old."""
    try:
        data = signing.loads(token, salt=RATING_SALT, max_age=datetime.timedelta(days=RATING_DAYS))
    except signing.BadSignature:  # also an expired one
        return None
    case_id = data.get("case") if isinstance(data, dict) else None
    return case_id if isinstance(case_id, int) else None


def check_rating_token(token: str, case: Case) -> bool:
    """Whether the token was made for this case and is less than 30 days old."""
    return rating_token_case_id(token) == case.pk


def rate(
    actor: Actor, case: Case, *, score: int, comment: str = "", token: str | None = None
) -> Rating:
    """The requester's rating (1–5) of a resolved case; changeable for 30 days after resolution."""
    by_token = token is not None and check_rating_token(token, case)
    if not by_token and not is_requester(actor, case):
        raise PermissionDenied(_("You do not have permission to do this."))
    errors: dict[str, Any] = {}
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        errors["score"] = _("Give a score from 1 to 5.")
    comment = (comment or "").strip()
    if len(comment) > 4000:
        errors["comment"] = _("The comment may be at most 4000 characters.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        _lock(case)
        # The errors name the case's field that refuses the rating: its status, or the time
        # it was resolved; the score and comment the requester sent are fine.
        if case.status not in DONE_STATUSES:
            raise ValidationError(
                {
                    "status": _("Only a resolved case can be rated; %(case)s is %(status)s.")
                    % _case_names(case)
                },
                code="not_resolved",
            )
        done_at = case.resolved_at or case.closed_at
        if done_at is not None and now - done_at > datetime.timedelta(days=RATING_DAYS):
            raise ValidationError(
                {
                    "resolved_at": _("Ratings are taken for %(n)d days after a case is resolved.")
                    % {"n": RATING_DAYS}
                },
                code="rating_closed",
            )
        existing = Rating.objects.select_for_update().filter(case=case).first()
        before = (
            {"score": existing.score, "has_comment": bool(existing.comment)} if existing else None
        )
        rating = existing or Rating(case=case)
        rating.score, rating.comment = score, comment
        rating.save()
        audit.record(
            actor,
            "desk.case.rate",
            case,
            before=before,
            after={"score": rating.score, "has_comment": bool(rating.comment)},
            subject_person_id=case.requester_id,
            basis="rating link" if by_token else "",
        )
    return rating
