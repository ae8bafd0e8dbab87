"""Outbound mail: the desk's replies to requesters, mail to third parties, acknowledgements.

Threading headers make every mail client show one thread per case (and one per third-party
escalation): each mail we send has a stable Message-ID, `<tugi.case123.msg456@DOMAIN>`, written on
its Message before the first attempt, so a retried send reuses it; In-Reply-To names the latest
mail of that thread we know and References the chain from the thread's root. An acknowledgement
has no Message row; its id is signed instead (see `threading.acknowledgement_id`) so replies to it
still find the case.

Only public replies (`reply`) and mail to a party (`to_party`) are ever sent: internal notes,
the requester's own messages and the party's replies never leave. A party's mail carries only the
text the agent wrote for the party.

Failures: a transient SMTP problem raises `TransientMailError`, and the Huey task retries it with
growing delays; when the retries run out, or the server refuses for good (5xx), the failure is
logged and recorded as the audit event `desk.mail.failed`, and `sent_at` stays empty so the desk
sees the message was not delivered.
"""

from __future__ import annotations

import logging
import smtplib
import socket
from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone, translation
from django.utils.html import escape, linebreaks
from django.utils.translation import gettext as _

from tugi.core import audit
from tugi.desk.mail import conf
from tugi.desk.mail.threading import acknowledgement_id, message_id_for
from tugi.desk.models import Case, Escalation, Message

logger = logging.getLogger(__name__)

SENDABLE = (Message.Kind.REPLY, Message.Kind.TO_PARTY)
REQUESTER_THREAD = (Message.Kind.FROM_REQUESTER, Message.Kind.REPLY)
PARTY_THREAD = (Message.Kind.TO_PARTY, Message.Kind.FROM_PARTY)
# References keeps the root and the newest ids (RFC 5322 §3.6.4 allows trimming the middle).
MAX_REFERENCES = 20
ACK_AUDIT_ACTION = "desk.mail.acknowledged"
FAILED_AUDIT_ACTION = "desk.mail.failed"


class TransientMailError(Exception):
    """The mail could not be sent now but may go later (the task retries)."""


@dataclass(frozen=True)
class Outcome:
    """What one send attempt did."""

    sent: bool
    reason: str = ""


# --- queueing ---------------------------------------------------------------------------------


def queue_message(message_pk: int) -> None:
    """Send the mail for a stored Message in the background (at once when Huey is immediate).

    Called by the desk actions after their transaction commits.
    """
    from tugi.desk.mail import tasks

    tasks.send_message_task(message_pk)


def queue_acknowledgement(case_pk: int) -> None:
    """Send "we received your case #N" to the requester in the background."""
    from tugi.desk.mail import tasks

    tasks.send_acknowledgement_task(case_pk)


# --- threading headers ------------------------------------------------------------------------


def _thread_messages(message: Message) -> list[str]:
    """Message-IDs of the earlier mail of this message's thread, oldest first."""
    if message.kind == Message.Kind.TO_PARTY and message.escalation_id is not None:
        earlier = Message.objects.filter(escalation_id=message.escalation_id, kind__in=PARTY_THREAD)
    else:
        earlier = Message.objects.filter(case_id=message.case_id, kind__in=REQUESTER_THREAD)
    return list(
        earlier.filter(id__lt=message.pk)
        .exclude(message_id="")
        .order_by("id")
        .values_list("message_id", flat=True)
    )


def _chain(root: str, earlier: list[str]) -> list[str]:
    chain: dict[str, None] = {}
    for mid in [root, *earlier]:
        if mid:
            chain.setdefault(mid, None)
    ids = list(chain)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def threading_headers(root: str, earlier: list[str], own: str = "") -> dict[str, str]:
    """In-Reply-To (the latest known mail) and References (root first) for a new mail."""
    chain = [mid for mid in _chain(root, earlier) if mid != own]
    if not chain:
        return {}
    return {"In-Reply-To": chain[-1], "References": " ".join(chain)}


# --- composing --------------------------------------------------------------------------------


def _requester_address(case: Case) -> tuple[str, str]:
    """(name, address) of the case's requester: the person's record first, else the mail."""
    if case.requester is not None and case.requester.email:
        return str(case.requester), case.requester.email
    return case.requester_name, case.requester_email


def _subject(case: Case, escalation: Escalation | None = None) -> str:
    subject = f"[{case.reference}] {case.subject}"
    if escalation is not None and escalation.external_reference:
        subject += " " + _("(your reference %(reference)s)") % {
            "reference": escalation.external_reference
        }
    return subject


def _footer(case: Case) -> str:
    return _("Please keep [%(reference)s] in the subject when you reply.") % {
        "reference": case.reference
    }


def _html(text: str, language: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="{escape(language)}"><head><meta charset="utf-8"></head>'
        f"<body>{linebreaks(escape(text))}</body></html>"
    )


def _compose(
    *,
    case: Case,
    to: tuple[str, str],
    subject: str,
    text: str,
    message_id: str,
    thread: dict[str, str],
    automatic: bool,
) -> EmailMultiAlternatives:
    headers = {
        "Message-ID": message_id,
        "Content-Language": case.language,
        # Kept by forwarding rules and list managers: our own mail coming back is then a loop.
        "X-Loop": conf.mail_from_address(),
        **thread,
    }
    if automatic:
        # RFC 3834: an automatic answer; Outlook's own header asks it not to auto-reply to us.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    body = f"{text.rstrip()}\n\n-- \n{_footer(case)}\n"
    email = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=conf.mail_from(),
        to=[formataddr(to)],
        headers=headers,
        connection=_connection(),
    )
    email.attach_alternative(_html(body, case.language), "text/html")
    return email


def _connection() -> Any:
    timeout = getattr(settings, "EMAIL_TIMEOUT", None) or 30
    return get_connection(timeout=timeout)


def _attach_files(email: EmailMultiAlternatives, message: Message) -> None:
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)


def _recipient(message: Message) -> tuple[str, str]:
    """(name, address) a reply or party mail goes to."""
    if message.kind == Message.Kind.TO_PARTY and message.escalation is not None:
        return message.escalation.party_name, message.escalation.party_email
    return _requester_address(message.case)


def is_resolution_reply(message: Message) -> bool:
    """Whether the message is the reply that resolved its case.

    `actions.resolve` saves the case as resolved and then writes the resolution as a public reply,
    so the resolution is the case's latest reply while the case is resolved (a later reply would
    be a newer one, and reopening changes the status).
    """
    case = message.case
    if message.kind != Message.Kind.REPLY or case.status != Case.Status.RESOLVED:
        return False
    latest = (
        Message.objects.filter(case_id=case.pk, kind=Message.Kind.REPLY)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return latest == message.pk


def rating_link(case: Case) -> str:
    """The one-click rating link (signed, valid 30 days) for the resolution mail."""
    from django.urls import reverse

    from tugi.desk.actions import make_rating_token

    base = str(getattr(settings, "TUGI_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")
    return base + reverse("desk:rate_token", kwargs={"token": make_rating_token(case)})


def _rating_line(case: Case) -> str:
    return _("How did we do? Rate the answer with one click: %(link)s") % {
        "link": rating_link(case)
    }


def build_message_mail(message: Message) -> EmailMultiAlternatives:
    """The mail for a reply or a party mail, in the case's language (no sending)."""
    case = message.case
    escalation = message.escalation if message.kind == Message.Kind.TO_PARTY else None
    to = _recipient(message)
    root = escalation.thread_root if escalation is not None else case.thread_root
    with translation.override(case.language):
        text = message.body
        if is_resolution_reply(message):
            text = f"{text.rstrip()}\n\n{_rating_line(case)}"
        email = _compose(
            case=case,
            to=to,
            subject=_subject(case, escalation),
            text=text,
            message_id=message.message_id,
            thread=threading_headers(root, _thread_messages(message), message.message_id),
            automatic=False,
        )
    _attach_files(email, message)
    return email


def build_acknowledgement(case: Case) -> EmailMultiAlternatives:
    """The "we received your case" mail, threaded under the requester's first mail."""
    with translation.override(case.language):
        text = _(
            "Hello,\n\nwe have received your message and registered it as case %(reference)s:"
            " “%(subject)s”. The desk will answer you as soon as possible.\n\nTugi, the support"
            " desk"
        ) % {"reference": case.reference, "subject": case.subject}
        return _compose(
            case=case,
            to=_requester_address(case),
            subject=_subject(case),
            text=text,
            message_id=acknowledgement_id(case.pk),
            thread=threading_headers(case.thread_root, [], acknowledgement_id(case.pk)),
            automatic=True,
        )


# --- sending ----------------------------------------------------------------------------------


def _is_permanent(exc: Exception) -> bool:
    """A 5xx refusal will not get better by trying again; connection trouble and 4xx may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _deliver(email: EmailMultiAlternatives) -> None:
    email.send(fail_silently=False)


_SEND_ERRORS = (smtplib.SMTPException, OSError, socket.timeout)


def _record_failure(obj: Case | Message, to: str, reason: str) -> None:
    logger.error("mail: sending %s to %s failed for good: %s", obj, to, reason)
    audit.record(
        None,
        FAILED_AUDIT_ACTION,
        obj,
        after={"to": to, "reason": reason[:300]},
        subject_person_id=(obj if isinstance(obj, Case) else obj.case).requester_id,
    )


def _ensure_message_id(message: Message) -> str:
    """The message's Message-ID, set once (before the first attempt) and reused by retries."""
    if message.message_id:
        return message.message_id
    mid = message_id_for(message.case_id, message.pk)
    Message.objects.filter(pk=message.pk, message_id="").update(message_id=mid)
    message.refresh_from_db(fields=["message_id"])
    # The first mail of a thread becomes its root, for the threading of every later one.
    if message.kind == Message.Kind.TO_PARTY and message.escalation_id:
        Escalation.objects.filter(pk=message.escalation_id, thread_root="").update(
            thread_root=message.message_id
        )
    else:
        Case.objects.filter(pk=message.case_id, thread_root="").update(
            thread_root=message.message_id
        )
    return message.message_id


def send_message(message_pk: int, *, last_attempt: bool = True) -> Outcome:
    """Send one reply or party mail now. Idempotent: a message already sent is not sent again.

    On a transient failure with attempts left it raises TransientMailError (for the task to
    retry); otherwise a failure is recorded (`desk.mail.failed`) and returned.
    """
    message = (
        Message.objects.select_related("case", "case__requester", "escalation")
        .filter(pk=message_pk)
        .first()
    )
    if message is None:
        logger.warning("mail: message %s no longer exists; nothing sent", message_pk)
        return Outcome(False, "no such message")
    if message.kind not in SENDABLE:
        # Internal notes and incoming mail are never sent, whoever asks.
        logger.error("mail: refused to send message %s of kind %s", message.pk, message.kind)
        return Outcome(False, f"a {message.kind} message is never sent")
    if message.sent_at is not None:
        return Outcome(True, "already sent")
    name, address = _recipient(message)
    if not address:
        return _give_up(message, "", "no recipient address")
    _ensure_message_id(message)
    message.case.refresh_from_db(fields=["thread_root"])
    if message.escalation is not None:
        message.escalation.refresh_from_db(fields=["thread_root"])
    email = build_message_mail(message)
    to = formataddr((name, address))
    try:
        _deliver(email)
    except _SEND_ERRORS as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if not last_attempt and not _is_permanent(exc):
            logger.warning(
                "mail: sending message %s to %s failed, will retry: %s", message.pk, to, reason
            )
            raise TransientMailError(reason) from exc
        return _give_up(message, to, reason)
    Message.objects.filter(pk=message.pk).update(sent_at=timezone.now())
    logger.info("mail: message %s sent to %s as %s", message.pk, to, message.message_id)
    return Outcome(True)


def _give_up(message: Message, to: str, reason: str) -> Outcome:
    _record_failure(message, to, reason)
    return Outcome(False, reason)


def acknowledged(case_pk: int) -> bool:
    """Whether the case's acknowledgement went out (its audit event is the record)."""
    from tugi.core.models import AuditEvent

    return AuditEvent.objects.filter(
        action=ACK_AUDIT_ACTION, object_type="desk.case", object_id=str(case_pk)
    ).exists()


def send_acknowledgement(case_pk: int, *, last_attempt: bool = True) -> Outcome:
    """Send the acknowledgement of a new case to its requester, once."""
    case = Case.objects.select_related("requester").filter(pk=case_pk).first()
    if case is None:
        return Outcome(False, "no such case")
    name, address = _requester_address(case)
    if not address:
        return Outcome(False, "the requester has no e-mail address")
    if acknowledged(case_pk):
        return Outcome(True, "already sent")
    # A case that came by portal or phone has no mail thread yet: the acknowledgement starts it.
    Case.objects.filter(pk=case.pk, thread_root="").update(thread_root=acknowledgement_id(case.pk))
    case.refresh_from_db(fields=["thread_root"])
    email = build_acknowledgement(case)
    to = formataddr((name, address))
    try:
        _deliver(email)
    except _SEND_ERRORS as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if not last_attempt and not _is_permanent(exc):
            logger.warning("mail: acknowledgement of %s failed, will retry: %s", case, reason)
            raise TransientMailError(reason) from exc
        _record_failure(case, to, reason)
        return Outcome(False, reason)
    audit.record(
        None,
        ACK_AUDIT_ACTION,
        case,
        after={"to": address, "message_id": email.extra_headers["Message-ID"]},
        subject_person_id=case.requester_id,
    )
    return Outcome(True)
