"""Mail notices of access requests, connected to `requests.request_event` in AccessConfig.ready.

- filed, step approved, resubmitted: the approver whose turn it is is asked to decide;
- approved: the desk (settings.TUGI_DESK_EMAIL, else the users who may fulfil requests) is told
  that work waits in the fulfilment queue;
- rejected, returned: the person who filed the request is told.

Mails go out through `tugi.core.notices` (a Huey task with retries); failures are logged and
never raise into the action. The text is in the agency's language (settings.LANGUAGE_CODE,
Estonian by default).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from tugi.access import policy
from tugi.access.models import AccessRequest
from tugi.core.notices import base_url, notice_language, queue_notice, user_email

logger = logging.getLogger(__name__)

ASK_APPROVER = ("filed", "step_approved", "resubmitted")
TELL_DESK = ("approved",)
TELL_FILER = ("rejected", "returned")


def desk_recipients() -> list[str]:
    """settings.TUGI_DESK_EMAIL, else every active user who may fulfil approved requests."""
    configured = getattr(settings, "TUGI_DESK_EMAIL", "")
    if configured:
        return [configured] if isinstance(configured, str) else list(configured)
    users = User.objects.with_perm(
        "access.fulfil_accessrequest", is_active=True, include_superusers=False
    ).select_related("person")
    return [user_email(u) for u in users]


def _values(request: AccessRequest) -> dict[str, Any]:
    return {
        "number": request.pk,
        "person": str(request.person),
        "url": base_url() + reverse("access:request_detail", kwargs={"pk": request.pk}),
    }


def _compose(request: AccessRequest, event: str) -> tuple[str, str, list[str]] | None:
    """(subject, body, recipients) of the notice for an event, or None when there is none."""
    values = _values(request)
    if event in ASK_APPROVER:
        approval = policy.current_approval(request)
        if approval is None:
            return None
        subject = _("Access request %(number)s for %(person)s awaits your decision") % values
        lines = [
            _("Access request %(number)s for %(person)s awaits your decision.") % values,
            _("Please approve, reject or return it:"),
        ]
        recipients = [approval.approver.email]
    elif event in TELL_DESK:
        subject = _("Access request %(number)s for %(person)s is approved") % values
        lines = [
            _("Access request %(number)s for %(person)s is approved.") % values,
            _("The work waits in the fulfilment queue."),
        ]
        recipients = desk_recipients()
    elif event in TELL_FILER:
        if event == "rejected":
            subject = _("Access request %(number)s for %(person)s was rejected") % values
        else:
            subject = (
                _("Access request %(number)s for %(person)s was returned for changes") % values
            )
        lines = [subject + ".", _("See the decision and its reason:")]
        recipients = [user_email(request.requested_by)]
    else:
        return None
    return subject, "\n".join([*lines, "", values["url"]]), recipients


def notify_request(request: AccessRequest, event: str) -> bool:
    """Queue the notice for a request event; whether one was queued."""
    request = AccessRequest.objects.select_related("person", "requested_by__person").get(
        pk=request.pk
    )
    with translation.override(notice_language()):
        composed = _compose(request, event)
    if composed is None:
        return False
    subject, body, recipients = composed
    return queue_notice(subject, body, recipients)


def on_request_event(sender: Any, *, request: AccessRequest, event: str, **kwargs: Any) -> None:
    """Receiver of `requests.request_event`; never raises into the action."""
    if event not in (*ASK_APPROVER, *TELL_DESK, *TELL_FILER):
        return
    try:
        notify_request(request, event)
    except Exception:
        logger.exception("notice for access request %s (%s) failed", request.pk, event)


def connect() -> None:
    from tugi.access.actions import requests

    requests.request_event.connect(on_request_event, dispatch_uid="tugi.access.notify.request")
