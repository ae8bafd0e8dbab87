"""Telling people before a time-limited grant ends, so that an extension can be asked for in time.

`settings.TUGI_GRANT_END_NOTICE_DAYS` before the last day of a grant:

- a grant on an approved request: the user who filed the request is told (the person, if the
  filer's user is blocked or has no address), with a link to the request form filled in with
  the person and the role;
- a grant on the job description (a mover's grace period, an end set by the desk): the person,
  with the same link for themselves, and their manager (else the head of their unit), with a link
  to the person's access page.

Not told: substitution grants (their order's period is known to all involved and has its own
notices), a grant ended early on purpose (a request grant with an `ended_reason`), a grant that
ends because the employment ends, a grant already followed by another grant of the same role,
and a role for which a request is already open.

Each grant is noticed once: the notice is the audit event `access.grant.end_notice`, written in
the same transaction that checks for it, and the mail goes out after commit. A recipient with
several grants ending gets one mail. The check is by date, not by the hour: a run missed (the
worker down) is made up by the next, up to the last day.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tugi.access import notify, policy
from tugi.access.lifecycle.plan import day_start
from tugi.access.models import AccessRequest, AccessRequestItem, Grant
from tugi.core import audit
from tugi.core.models import AuditEvent
from tugi.people.models import Person

log = logging.getLogger(__name__)

ACTION = "access.grant.end_notice"
CHUNK = 200
OPEN_REQUEST_STATES = (
    AccessRequest.State.SUBMITTED,
    AccessRequest.State.RETURNED,
    AccessRequest.State.APPROVED,
)

FILER, HOLDER, MANAGER = "filer", "holder", "manager"


@dataclass(frozen=True)
class Notice:
    """One grant to tell one address about, and as whom (filer, holder, manager)."""

    address: str
    audience: str
    grant: Grant


def horizon(now: datetime.datetime) -> datetime.datetime:
    """Grants ending before this moment have their last day within the notice period."""
    days = settings.TUGI_GRANT_END_NOTICE_DAYS
    return day_start(timezone.localdate(now) + datetime.timedelta(days=days + 1))


def candidates(now: datetime.datetime) -> Q:
    """Started grants whose end falls in the notice period, of the bases that are told."""
    return Q(valid_to__gt=now, valid_to__lte=horizon(now), valid_from__lte=now) & (
        Q(basis=Grant.Basis.JOB_DESCRIPTION) | Q(basis=Grant.Basis.REQUEST, ended_reason="")
    )


def _ends_with_employment(grant: Grant) -> bool:
    end = grant.person.employment_end
    return grant.person.status == Person.Status.LEFT or (
        end is not None
        and grant.valid_to is not None
        and grant.valid_to >= day_start(end + datetime.timedelta(days=1))
    )


def _not_needed(grants: list[Grant]) -> set[int]:
    """Ids of grants with a follower of the same role, or an open request for the role."""
    persons = {g.person_id for g in grants}
    roles = {g.role_id for g in grants}
    later: dict[tuple[int, int], list[Grant]] = defaultdict(list)
    others = Grant.objects.filter(person_id__in=persons, role_id__in=roles).exclude(
        pk__in=[g.pk for g in grants]
    )
    for other in others.only("id", "person_id", "role_id", "valid_from", "valid_to"):
        later[(other.person_id, other.role_id)].append(other)
    asked = set(
        AccessRequestItem.objects.filter(
            kind=AccessRequestItem.Kind.GRANT_ROLE,
            role_id__in=roles,
            request__person_id__in=persons,
            request__state__in=OPEN_REQUEST_STATES,
        ).values_list("request__person_id", "role_id")
    )
    skip = set()
    for grant in grants:
        end = grant.valid_to
        assert end is not None  # every candidate ends
        followed = any(
            o.valid_from <= end and (o.valid_to is None or o.valid_to > end)
            for o in later[(grant.person_id, grant.role_id)]
        )
        if followed or (grant.person_id, grant.role_id) in asked:
            skip.add(grant.pk)
    return skip


def recipients(grant: Grant) -> list[Notice]:
    """Who is told of this grant's end, and as whom."""
    person = grant.person
    if grant.basis == Grant.Basis.REQUEST and grant.basis_item is not None:
        filer = grant.basis_item.request.requested_by
        address = notify.user_email(filer) if filer.is_active else ""
        if address:
            return [Notice(address, FILER, grant)]
        return [Notice(person.email, HOLDER, grant)]
    told = [Notice(person.email, HOLDER, grant)]
    manager = policy.manager_of(person)
    if manager is not None and manager.email and manager.pk != person.pk:
        told.append(Notice(manager.email, MANAGER, grant))
    return told


def extension_url(grant: Grant) -> str:
    """The request form, filled in with the person and the role."""
    query = f"?person={grant.person_id}&role={grant.role_id}"
    return notify.base_url() + reverse("access:request_create") + query


def _when(grant: Grant) -> str:
    assert grant.valid_to is not None
    local = timezone.localtime(grant.valid_to)
    if local.time() == datetime.time.min:
        last_day = local.date() - datetime.timedelta(days=1)
        return _("at the end of %(day)s") % {"day": last_day.strftime("%d.%m.%Y")}
    return _("on %(day)s at %(time)s") % {
        "day": local.strftime("%d.%m.%Y"),
        "time": local.strftime("%H:%M"),
    }


def _item(notice: Notice) -> str:
    grant = notice.grant
    values = {
        "person": str(grant.person),
        "role": grant.role.name,
        "system": grant.role.system.name,
        "when": _when(grant),
    }
    if notice.audience == FILER:
        assert grant.basis_item is not None
        values["number"] = str(grant.basis_item.request_id)
        text = (
            _("%(person)s: “%(role)s” in %(system)s ends %(when)s (access request %(number)s).")
            % values
        )
        action = _("To extend it, file a new request in time:")
        link = extension_url(grant)
    elif notice.audience == HOLDER:
        text = _("Your role “%(role)s” in %(system)s ends %(when)s.") % values
        action = _("If you still need it, ask for it in time:")
        link = extension_url(grant)
    else:
        text = _("%(person)s: “%(role)s” in %(system)s ends %(when)s.") % values
        action = _("If they still need it, they or the desk can file a request:")
        link = notify.base_url() + reverse("access:person_access", args=[grant.person_id])
    return f"- {text}\n  {action}\n  {link}"


def compose(notices: list[Notice]) -> tuple[str, str]:
    """(subject, body) of one recipient's mail about their grants ending, in the active language."""
    if len(notices) == 1:
        grant = notices[0].grant
        subject = _("Access ends %(when)s: %(role)s (%(person)s)") % {
            "when": _when(grant),
            "role": grant.role.name,
            "person": grant.person,
        }
    else:
        subject = _("%(n)d access rights end soon") % {"n": len(notices)}
    days = settings.TUGI_GRANT_END_NOTICE_DAYS
    lines = [
        ngettext(
            "This access ends within %(days)d day:",
            "This access ends within %(days)d days:",
            days,
        )
        % {"days": days},
        "",
        *(_item(n) for n in notices),
        "",
        _("If the access is no longer needed, nothing needs to be done."),
    ]
    return subject, "\n".join(lines)


def _send(by_address: dict[str, list[Notice]]) -> None:
    with translation.override(notify.notice_language()):
        for address, notices in sorted(by_address.items()):
            subject, body = compose(notices)
            notify.queue_notice(subject, body, [address])


def _chunk(ids: list[int], now: datetime.datetime) -> int:
    """Notice the grants of one chunk that still need it; how many were noticed."""
    with transaction.atomic():
        # Locked, so that a second run (another worker) waits here and then finds the events.
        grants = list(
            Grant.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .filter(candidates(now))
            .select_related(
                "person__manager",
                "person__org_unit",
                "role__system",
                "basis_item__request__requested_by__person",
            )
            .order_by("valid_to", "id")
        )
        told_before = set(
            AuditEvent.objects.filter(
                action=ACTION,
                object_type=Grant._meta.label_lower,
                object_id__in=[str(g.pk) for g in grants],
            ).values_list("object_id", flat=True)
        )
        grants = [
            g for g in grants if str(g.pk) not in told_before and not _ends_with_employment(g)
        ]
        skip = _not_needed(grants) if grants else set()
        by_address: dict[str, list[Notice]] = defaultdict(list)
        entries = []
        for grant in grants:
            if grant.pk in skip:
                continue
            notices = recipients(grant)
            for notice in notices:
                by_address[notice.address.strip().lower()].append(notice)
            entries.append(
                (
                    ACTION,
                    grant,
                    {
                        "after": {
                            "valid_to": grant.valid_to,
                            "told": sorted({n.audience for n in notices}),
                        },
                        "subject_person_id": grant.person_id,
                        "basis": f"ends within {settings.TUGI_GRANT_END_NOTICE_DAYS} days",
                    },
                )
            )
        audit.record_many(None, entries)
        if by_address:
            transaction.on_commit(lambda: _send(by_address))
    return len(entries)


def send_grant_end_notices(now: datetime.datetime | None = None) -> int:
    """Tell the people concerned of every grant whose last day is near; how many grants."""
    now = now or timezone.now()
    ending = Grant.objects.filter(candidates(now)).order_by("valid_to", "id")
    ids = list(ending.values_list("pk", flat=True))
    noticed = 0
    for start in range(0, len(ids), CHUNK):
        noticed += _chunk(ids[start : start + CHUNK], now)
    if noticed:
        log.info("access: %d grants ending soon were noticed", noticed)
    return noticed
