"""Which case (or third-party escalation) an incoming mail belongs to, and our own Message-IDs.

The order of evidence, strongest first:

1. Headers. In-Reply-To, then References from the newest back to the root, are looked up among
   the Message-IDs of stored messages (indexed), then among the thread roots of escalations and
   cases, then recognised as one of our own acknowledgement ids (which carry a signature, so they
   cannot be made up). A message of a third-party escalation's mail thread (to or from the
   party) makes the mail the party's reply; any other message makes it the requester's.
2. The subject, only when the headers found nothing, and only for a sender we know for that case:
   "[Tugi #123]" from the case's requester threads into the case; "[Tugi #123]" or the party's own
   reference ("INC-4711") from the escalation's party address is the party's reply. Anyone else
   writing "[Tugi #123]" gets a new case: a subject is easy to copy, a known sender is not enough
   to guess but enough to trust.

A merged case forwards to the case it was merged into.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.crypto import constant_time_compare, salted_hmac

from tugi.desk.mail.conf import mail_domain
from tugi.desk.models import Case, Escalation, Message

SUBJECT_REFERENCE = re.compile(r"\[\s*Tugi\s*#\s*(\d{1,12})\s*\]", re.IGNORECASE)
_OWN_ID = re.compile(r"^<tugi\.case(\d+)\.(?:msg(\d+)|ack\.([0-9a-f]{16}))@([^<>@\s]+)>$")
_TOKEN = re.compile(r"[#A-Za-z0-9][A-Za-z0-9._/#:-]*[A-Za-z0-9]")
# A mail names at most this many ancestors we look up (References can be very long).
MAX_THREAD_IDS = 60

_PARTY_KINDS = (Message.Kind.TO_PARTY, Message.Kind.FROM_PARTY)


@dataclass(frozen=True)
class Thread:
    """Where a mail belongs: a case, and the escalation when it is the third party's mail."""

    case: Case
    escalation: Escalation | None
    via: str  # "message-id", "thread-root", "acknowledgement", "subject", "their-reference"

    @property
    def is_party(self) -> bool:
        return self.escalation is not None


def message_id_for(case_pk: int, message_pk: int) -> str:
    """The stable Message-ID of a message we send: the same message always gets the same id."""
    return f"<tugi.case{case_pk}.msg{message_pk}@{mail_domain()}>"


def _ack_signature(case_pk: int) -> str:
    return salted_hmac("tugi.desk.mail.ack", str(case_pk)).hexdigest()[:16]


def acknowledgement_id(case_pk: int) -> str:
    """The Message-ID of a case's acknowledgement; signed, since no row stores it."""
    return f"<tugi.case{case_pk}.ack.{_ack_signature(case_pk)}@{mail_domain()}>"


def case_of_acknowledgement(message_id: str) -> int | None:
    """The case pk an acknowledgement id of ours names, if the id is ours and genuine."""
    found = _OWN_ID.match(message_id)
    if not found or found.group(3) is None or found.group(4) != mail_domain():
        return None
    case_pk = int(found.group(1))
    return case_pk if constant_time_compare(found.group(3), _ack_signature(case_pk)) else None


def subject_case_number(subject: str) -> int | None:
    found = SUBJECT_REFERENCE.search(subject or "")
    return int(found.group(1)) if found else None


def reference_tokens(subject: str) -> list[str]:
    """Words of a subject that could be someone's reference number ("INC-4711", "#4711")."""
    tokens: dict[str, None] = {}
    for token in _TOKEN.findall(subject or ""):
        if len(token) > 100:
            continue
        tokens.setdefault(token, None)
        tokens.setdefault(token.lstrip("#"), None)
    tokens.pop("", None)
    return list(tokens)[:40]


def _final(case: Case) -> Case:
    """A merged case's mail goes to the case it was merged into (following a chain)."""
    for _ in range(10):
        if case.merged_into_id is None:
            return case
        case = Case.objects.select_related("requester").get(pk=case.merged_into_id)
    return case


def is_requester(case: Case, address: str) -> bool:
    """Whether the address is the case's known requester (their person record or the mail)."""
    address = address.lower()
    if not address:
        return False
    known = {case.requester_email.lower()}
    if case.requester is not None:
        known.add(case.requester.email.lower())
    known.discard("")
    return address in known


def _by_message_id(ids: list[str]) -> Thread | None:
    messages = (
        Message.objects.filter(message_id__in=ids)
        .select_related("case", "case__requester", "escalation")
        .order_by("id")
    )
    first_of: dict[str, Message] = {}
    for message in messages:
        first_of.setdefault(message.message_id, message)
    for mid in ids:
        found = first_of.get(mid)
        if found is None:
            continue
        message = found
        escalation = message.escalation
        if (
            escalation is not None
            and escalation.kind == Escalation.Kind.THIRD_PARTY
            and message.kind in _PARTY_KINDS
        ):
            return Thread(_final(message.case), escalation, "message-id")
        return Thread(_final(message.case), None, "message-id")
    return None


def _by_thread_root(ids: list[str]) -> Thread | None:
    escalations = {
        e.thread_root: e
        for e in Escalation.objects.filter(
            thread_root__in=ids, kind=Escalation.Kind.THIRD_PARTY
        ).select_related("case", "case__requester")
    }
    cases = {
        c.thread_root: c
        for c in Case.objects.filter(thread_root__in=ids).select_related("requester")
    }
    for mid in ids:
        if mid in escalations:
            escalation = escalations[mid]
            return Thread(_final(escalation.case), escalation, "thread-root")
        if mid in cases:
            return Thread(_final(cases[mid]), None, "thread-root")
    return None


def _by_acknowledgement(ids: Iterable[str]) -> Thread | None:
    for mid in ids:
        case_pk = case_of_acknowledgement(mid)
        if case_pk is None:
            continue
        case = Case.objects.select_related("requester").filter(pk=case_pk).first()
        if case is not None:
            return Thread(_final(case), None, "acknowledgement")
    return None


def _party_escalation(candidates: Iterable[Escalation], sender: str) -> Escalation | None:
    """The sender's escalation among candidates: an open one first, then the newest."""
    mine = [e for e in candidates if e.party_email.lower() == sender]
    if not mine:
        return None
    mine.sort(key=lambda e: (e.status == Escalation.Status.CLOSED, -e.pk))
    return mine[0]


def _by_subject(subject: str, sender: str) -> Thread | None:
    sender = sender.lower()
    if not sender:
        return None
    case_pk = subject_case_number(subject)
    if case_pk is not None:
        case = Case.objects.select_related("requester").filter(pk=case_pk).first()
        if case is not None:
            if is_requester(case, sender):
                return Thread(_final(case), None, "subject")
            escalation = _party_escalation(
                case.escalations.filter(kind=Escalation.Kind.THIRD_PARTY), sender
            )
            if escalation is not None:
                return Thread(_final(case), escalation, "subject")
    tokens = reference_tokens(subject)
    if tokens:
        # Most mail names no reference of ours: a narrow query first, the full rows only on a hit.
        candidates = list(
            Escalation.objects.filter(
                kind=Escalation.Kind.THIRD_PARTY, external_reference__in=tokens
            ).values_list("pk", "party_email")
        )
        ids = [pk for pk, party in candidates if party.lower() == sender]
        if ids:
            escalation = _party_escalation(
                Escalation.objects.filter(pk__in=ids).select_related("case", "case__requester"),
                sender,
            )
            if escalation is not None:
                return Thread(_final(escalation.case), escalation, "their-reference")
    return None


def find_thread(thread_ids: list[str], subject: str, sender: str) -> Thread | None:
    """The case or escalation a mail answers, or None for a new case (see the module's notes)."""
    ids = thread_ids[:MAX_THREAD_IDS]
    if ids:
        found = _by_message_id(ids) or _by_thread_root(ids) or _by_acknowledgement(ids)
        if found is not None:
            return found
    return _by_subject(subject, sender)
