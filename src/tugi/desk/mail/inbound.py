"""Turning one fetched mail into a case, a reply in a case, a party's reply, or a logged refusal.

`process_raw` is the whole intake for one mail and is safe to call twice with the same bytes:

1. parse (never raises for bad mail; see `parse`);
2. dedupe: a Message-ID already in `InboundMail` returns that row, nothing else happens;
3. guards: no usable sender, our own address, auto-replies (Auto-Submitted other than "no",
   Precedence bulk/junk/list, X-Autoreply, X-Autorespond, Return-Path <>, delivery reports, an
   X-Loop naming us) and a per-sender rate limit make the mail IGNORED, with its reason and raw
   bytes kept;
4. attachments are checked one by one (`attachments.check_file`): a refused one is left out and
   named, with the reason, at the end of the message text (the desk and the requester see it);
5. threading (`threading.find_thread`), then the desk action: `create_case`,
   `add_requester_message` or `record_party_reply`; a reply to a closed case opens a follow-up case
   whose parent is the closed one;
6. the InboundMail row is written in the same transaction as the case change, so the row exists
   exactly when the change does. Anything that goes wrong is caught: the mail is recorded FAILED
   with its raw bytes and the reason, never lost; `retry` processes it again once the cause is
   fixed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tugi.desk import actions
from tugi.desk import attachments as attachment_files
from tugi.desk.attachments import IncomingFile
from tugi.desk.mail import conf
from tugi.desk.mail.parse import MailPart, ParsedMail, parse, synthesised_message_id
from tugi.desk.mail.threading import SUBJECT_REFERENCE, Thread, find_thread
from tugi.desk.models import Case, InboundMail

logger = logging.getLogger(__name__)

Outcome = InboundMail.Outcome
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|vs|vast|fw|fwd|edasi)\s*(\[\d+\])?\s*:\s*)+", re.I)


@dataclass
class _Delivery:
    outcome: str
    case: Case
    notes: list[str] = field(default_factory=list)


# The rate limit looks at this many of the newest intake rows: a primary-key range, cheap however
# long the log grows (minutes never hold more mail than this in practice).
RATE_LIMIT_LOOKBACK_ROWS = 5000


def _recent_from(sender: str) -> int:
    """How many mails from the sender the intake logged within the rate-limit window."""
    _limit, minutes = conf.rate_limit()
    since = timezone.now() - timedelta(minutes=minutes)
    newest = InboundMail.objects.order_by("-pk").values_list("pk", flat=True).first()
    if newest is None:
        return 0
    return InboundMail.objects.filter(
        pk__gt=newest - RATE_LIMIT_LOOKBACK_ROWS, sender=sender, received_at__gte=since
    ).count()


def _ignore_reason(mail: ParsedMail) -> str:
    """Why the mail must not become a case (auto-reply, loop, no sender, flood); '' if none."""
    sender = mail.sender_email
    if not sender:
        return "no sender address (From is missing or unreadable)"
    try:
        validate_email(sender)
    except ValidationError:
        return f"unusable sender address {sender!r}"
    if sender in conf.own_addresses():
        return f"mail from Tugi's own address {sender} (a loop)"
    headers = mail.headers
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"automatic mail (Auto-Submitted: {auto[:80]})"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"bulk or list mail (Precedence: {precedence})"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return f"automatic reply ({name}: {headers[name][:80]})"
    if headers.get("return-path", "").replace(" ", "") == "<>":
        return "bounce or automatic notice (Return-Path: <>)"
    if mail.content_type == "multipart/report":
        return "delivery or read report (multipart/report)"
    loop = headers.get("x-loop", "").lower()
    if loop and any(own in loop for own in conf.own_addresses()):
        return f"mail that passed through Tugi before (X-Loop: {loop[:80]})"
    limit, minutes = conf.rate_limit()
    if _recent_from(sender) >= limit:
        return f"rate limit: more than {limit} mails from {sender} within {minutes} minutes"
    return ""


def _check_attachments(parts: list[MailPart]) -> tuple[list[IncomingFile], list[str]]:
    """The files that may be kept, and one sentence for each that may not (naming it and why)."""
    kept: list[IncomingFile] = []
    problems: list[str] = []
    limit = attachment_files.max_bytes()
    for part in parts:
        incoming = IncomingFile(part.filename, part.content, part.content_type)
        if part.refused == "too_big" or part.size > limit:
            name = attachment_files.sanitise_filename(part.filename)
            problems.append(
                _("“%(name)s” is too large: files may be at most %(limit)s.")
                % {"name": name, "limit": attachment_files.megabytes(limit)}
            )
            continue
        try:
            attachment_files.check_file(incoming)
        except ValidationError as exc:
            problems.extend(exc.messages)
            continue
        kept.append(incoming)
    return kept, problems


def _body_with_notes(mail: ParsedMail, problems: list[str], *, stand_in: bool) -> str:
    """The message text, with the refused attachments named at its end.

    A new case gets its stand-in text from `create_case`; an answer with neither text nor files
    (a reply typed into the subject line) takes the subject, so that it is not refused as empty.
    """
    body = mail.body.strip()
    if not body and stand_in:
        body = mail.subject or _("(no text)")
    if problems:
        heading = _("Attachments that were not kept:")
        lines = "\n".join(f"- {p}" for p in problems)
        body = f"{body}\n\n[{heading}]\n{lines}"
    return body


def _new_case_subject(subject: str) -> str:
    """A follow-up's subject without our old reference and the Re: in front of it."""
    if not SUBJECT_REFERENCE.search(subject):
        return subject
    cleaned = " ".join(SUBJECT_REFERENCE.sub(" ", subject).split())
    cleaned = _REPLY_PREFIX.sub("", cleaned).strip()
    return cleaned or subject


def _deliver(mail: ParsedMail, thread: Thread | None) -> _Delivery:
    """Call the desk action the mail asks for, in the caller's transaction."""
    files, problems = _check_attachments(mail.attachments)
    # An answer in an existing thread (a closed case's mail opens a new case instead).
    answer = thread is not None and (
        thread.escalation is not None or thread.case.status != Case.Status.CLOSED
    )
    # Texts the intake adds are in Tugi's language: they are read by the desk.
    with translation.override(settings.LANGUAGE_CODE):
        body = _body_with_notes(mail, problems, stand_in=answer and not files)
    notes = [f"attachment not kept: {p}" for p in problems]
    in_reply_to = mail.in_reply_to[0] if mail.in_reply_to else ""
    if thread is not None and thread.escalation is not None:
        message = actions.record_party_reply(
            thread.escalation,
            body=body,
            author_email=mail.sender_email,
            message_id=mail.message_id,
            in_reply_to=in_reply_to,
            body_html=mail.body_html,
            attachments=files,
        )
        notes.insert(0, f"third party's reply, matched by {thread.via}")
        return _Delivery(Outcome.PARTY_REPLY, message.case, notes)
    parent = None
    if thread is not None:
        if thread.case.status != Case.Status.CLOSED:
            message = actions.add_requester_message(
                thread.case,
                body=body,
                author_email=mail.sender_email,
                message_id=mail.message_id,
                in_reply_to=in_reply_to,
                body_html=mail.body_html,
                attachments=files,
            )
            notes.insert(0, f"matched by {thread.via}")
            return _Delivery(Outcome.THREADED, message.case, notes)
        parent = thread.case
        notes.insert(0, f"follow-up of closed {parent.reference} (matched by {thread.via})")
    case = actions.create_case(
        None,
        channel=Case.Channel.EMAIL,
        subject=_new_case_subject(mail.subject),
        requester_email=mail.sender_email,
        requester_name=mail.sender_name,
        language=mail.language or None,
        parent=parent,
        body=body,
        message_id=mail.message_id,
        in_reply_to=in_reply_to,
        body_html=mail.body_html,
        attachments=files,
    )
    return _Delivery(Outcome.NEW_CASE, case, notes)


def _existing(message_id: str) -> InboundMail | None:
    return InboundMail.objects.filter(message_id=message_id).first()


def _record_unprocessed(
    raw: bytes,
    *,
    message_id: str,
    mailbox: str,
    uid: str,
    sender: str,
    subject: str,
    outcome: str,
    reason: str,
) -> InboundMail:
    """An IGNORED or FAILED mail: its reason and its raw bytes, so that nothing is lost."""
    try:
        with transaction.atomic():
            return InboundMail.objects.create(
                message_id=message_id,
                mailbox=mailbox[:200],
                uid=uid[:50],
                sender=sender[:300],
                subject=subject[:500],
                outcome=outcome,
                reason=reason[:500],
                raw=raw,
            )
    except IntegrityError:
        existing = _existing(message_id)
        if existing is None:
            raise
        return existing


def _failure_reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = (
            [f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()]
            if hasattr(exc, "error_dict")
            else exc.messages
        )
        return "refused by the desk: " + "; ".join(parts)
    return f"{type(exc).__name__}: {exc}"


def process_raw(raw: bytes, *, mailbox: str, uid: str = "") -> InboundMail:
    """Process one raw mail once: returns its InboundMail row (the existing one for a repeat)."""
    try:
        mail = parse(raw, max_file_bytes=attachment_files.max_bytes())
    except Exception as exc:  # parse is built not to raise; keep the mail if it ever does
        logger.exception("mail: unreadable message in %s uid %s", mailbox, uid)
        message_id = synthesised_message_id(raw)
        return _existing(message_id) or _record_unprocessed(
            raw,
            message_id=message_id,
            mailbox=mailbox,
            uid=uid,
            sender="",
            subject="",
            outcome=Outcome.FAILED,
            reason=f"unreadable: {type(exc).__name__}: {exc}",
        )

    existing = _existing(mail.message_id)
    if existing is not None:
        logger.info("mail: %s seen before (%s), skipped", mail.message_id, existing.outcome)
        return existing

    fields = {
        "message_id": mail.message_id,
        "mailbox": mailbox,
        "uid": uid,
        "sender": mail.sender_email,
        "subject": mail.subject,
    }
    reason = _ignore_reason(mail)
    if reason:
        logger.info("mail: %s from %r ignored: %s", mail.message_id, mail.sender_email, reason)
        return _record_unprocessed(raw, outcome=Outcome.IGNORED, reason=reason, **fields)

    try:
        with transaction.atomic():
            # The row first: a second poller handling the same mail at the same moment stops at
            # the unique Message-ID before it changes any case.
            inbound = InboundMail.objects.create(
                message_id=mail.message_id,
                mailbox=mailbox[:200],
                uid=uid[:50],
                sender=mail.sender_email[:300],
                subject=mail.subject[:500],
                outcome=Outcome.FAILED,
            )
            thread = find_thread(mail.thread_ids, mail.subject, mail.sender_email)
            delivery = _deliver(mail, thread)
            inbound.outcome = delivery.outcome
            inbound.case = delivery.case
            inbound.reason = "; ".join(delivery.notes)[:500]
            inbound.save(update_fields=["outcome", "case", "reason"])
    except Exception as exc:
        existing = _existing(mail.message_id)
        if existing is not None:  # another poller got there first
            return existing
        reason = _failure_reason(exc)
        logger.warning("mail: %s from %r failed: %s", mail.message_id, mail.sender_email, reason)
        return _record_unprocessed(raw, outcome=Outcome.FAILED, reason=reason, **fields)
    logger.info(
        "mail: %s from %s → %s %s",
        mail.message_id,
        mail.sender_email,
        inbound.outcome,
        inbound.case,
    )
    return inbound


def retry(row: InboundMail) -> InboundMail:
    """Process a FAILED mail again from its kept bytes (after the cause was fixed); same row.

    The guards are not asked again: they passed the first time. On success the raw bytes are
    dropped (the case holds the mail now); on another failure the new reason is recorded.
    """
    if row.outcome != Outcome.FAILED or row.raw is None:
        return row
    mail = parse(bytes(row.raw), max_file_bytes=attachment_files.max_bytes())
    try:
        with transaction.atomic():
            locked = InboundMail.objects.select_for_update().get(pk=row.pk)
            if locked.outcome != Outcome.FAILED:  # retried by someone else meanwhile
                return locked
            thread = find_thread(mail.thread_ids, mail.subject, mail.sender_email)
            delivery = _deliver(mail, thread)
            locked.outcome, locked.case = delivery.outcome, delivery.case
            locked.reason = "; ".join(["retried", *delivery.notes])[:500]
            locked.raw = None
            locked.save(update_fields=["outcome", "case", "reason", "raw"])
            return locked
    except Exception as exc:
        reason = _failure_reason(exc)
        logger.warning("mail: retry of %s failed again: %s", row.message_id, reason)
        InboundMail.objects.filter(pk=row.pk).update(reason=reason[:500])
        row.refresh_from_db()
        return row
