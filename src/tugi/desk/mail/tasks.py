"""Huey tasks for the desk's mail: sending with retries, and polling the mailbox every minute.

Sending retries a transient failure (connection refused, timeouts, 4xx) 6 times with delays of
30 s, 1, 2, 4, 8 and 16 minutes (about half an hour in all); the last failure, or a permanent one
(5xx), is recorded as `desk.mail.failed` (see `outbound`).

The consumer registers these tasks by importing this module: `tugi.desk.tasks` imports it.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.api import Task
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from tugi.desk.mail import conf, outbound

logger = logging.getLogger(__name__)

SEND_RETRIES = 6
SEND_RETRY_DELAY = 30  # seconds; doubled after each attempt
SEND_RETRY_BACKOFF = 2


@db_task(
    retries=SEND_RETRIES,
    retry_delay=SEND_RETRY_DELAY,
    retry_backoff=SEND_RETRY_BACKOFF,
    context=True,
)
def send_message_task(message_pk: int, task: Task | None = None) -> bool:
    """Send a reply or party mail; raises (so Huey retries) while attempts are left."""
    last = task is None or not task.retries
    return outbound.send_message(message_pk, last_attempt=last).sent


@db_task(
    retries=SEND_RETRIES,
    retry_delay=SEND_RETRY_DELAY,
    retry_backoff=SEND_RETRY_BACKOFF,
    context=True,
)
def send_acknowledgement_task(case_pk: int, task: Task | None = None) -> bool:
    """Send a new case's acknowledgement; raises (so Huey retries) while attempts are left."""
    last = task is None or not task.retries
    return outbound.send_acknowledgement(case_pk, last_attempt=last).sent


@db_periodic_task(crontab(minute="*"))
def poll_mailbox() -> None:
    """Every minute, when TUGI_IMAP_HOST is set: fetch and process the desk's new mail."""
    if not conf.imap_enabled():
        return
    from tugi.desk.mail import imap

    # One poll at a time: a slow poll must not overlap the next minute's.
    with lock_task("tugi-desk-mail-poll"):
        try:
            imap.poll()
        except Exception:
            # The mailbox may be down; the next minute tries again, nothing was marked.
            logger.exception("mail: polling the mailbox failed")
