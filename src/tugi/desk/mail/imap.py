"""Polling the desk's IMAP mailbox: fetch, process, and only then mark.

A mail is fetched with BODY.PEEK (it stays unseen), processed by `inbound.process_raw` (which
commits its InboundMail row), and only after that flagged \\Seen, or moved to
TUGI_IMAP_PROCESSED_FOLDER when one is set. A crash between fetch and commit leaves it unseen, so
the next poll fetches it again; a crash between commit and flag makes the next poll fetch it again
too, and the Message-ID dedupe returns the existing row: no mail is lost and none becomes two
cases. A mail whose processing raised (the database went away) stays unseen for the next poll.

Without a processed folder the poll takes UNSEEN mail; with one it takes everything left in the
folder, so a mail someone opened in a mail client before Tugi polled is not skipped.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.consts import MailMessageFlags

from tugi.core.context import request_scope
from tugi.desk.mail import conf
from tugi.desk.mail.inbound import process_raw

logger = logging.getLogger(__name__)


@dataclass
class PollResult:
    """What one poll did: mails fetched, outcomes by kind, and mails left for the next poll."""

    fetched: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    left_for_next_poll: int = 0

    def __str__(self) -> str:
        done = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "nothing new"
        text = f"fetched {self.fetched}: {done}"
        if self.left_for_next_poll:
            text += f"; {self.left_for_next_poll} left for the next poll"
        return text


@contextmanager
def connect(settings: conf.ImapSettings) -> Iterator[BaseMailBox]:
    """A logged-in mailbox with the configured folder selected."""
    box: BaseMailBox
    if settings.ssl:
        box = MailBox(settings.host, settings.port, timeout=settings.timeout)
    elif settings.starttls:
        box = MailBoxStartTls(settings.host, settings.port, timeout=settings.timeout)
    else:
        box = MailBoxUnencrypted(settings.host, settings.port, timeout=settings.timeout)
    # One small command per mail: without this, Nagle's algorithm and delayed ACKs add ~40 ms each.
    sock = getattr(box.client, "sock", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    box.login(settings.user, settings.password, initial_folder=settings.folder)
    try:
        yield box
    finally:
        try:
            box.logout()
        except Exception:  # the server may already have gone; the work is committed
            logger.debug("mail: logout failed", exc_info=True)


def fetch_raw(box: BaseMailBox, uid: str) -> bytes | None:
    """The raw bytes of one mail, without setting \\Seen; None if it is gone."""
    status, data = box.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        raise RuntimeError(f"IMAP FETCH {uid} failed: {status} {data!r}")
    for item in data or ():
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _mark_done(box: BaseMailBox, uids: list[str], settings: conf.ImapSettings) -> None:
    if not uids:
        return
    if settings.processed_folder:
        box.move(uids, settings.processed_folder)
    else:
        box.flag(uids, MailMessageFlags.SEEN, True)


def _ensure_folder(box: BaseMailBox, name: str) -> None:
    if name and not box.folder.exists(name):
        box.folder.create(name)


def poll(settings: conf.ImapSettings | None = None, *, limit: int | None = None) -> PollResult:
    """Fetch and process the waiting mail once (at most `limit` mails)."""
    settings = settings or conf.imap_settings()
    result = PollResult()
    with connect(settings) as box:
        _ensure_folder(box, settings.processed_folder)
        criteria = AND(all=True) if settings.processed_folder else AND(seen=False)
        uids = sorted(box.uids(criteria), key=int)
        if limit is not None:
            result.left_for_next_poll = max(0, len(uids) - limit)
            uids = uids[:limit]
        for start in range(0, len(uids), settings.batch):
            done: list[str] = []
            for uid in uids[start : start + settings.batch]:
                raw = fetch_raw(box, uid)
                if raw is None:  # expunged by someone else meanwhile
                    continue
                result.fetched += 1
                try:
                    with request_scope():  # one request id for the audit events of one mail
                        inbound = process_raw(raw, mailbox=settings.label, uid=uid)
                except Exception:
                    # The row could not be written (database trouble): leave the mail unseen.
                    logger.exception("mail: uid %s left for the next poll", uid)
                    result.left_for_next_poll += 1
                    continue
                result.outcomes[inbound.outcome] += 1
                done.append(uid)
            # Only committed mail is marked; the batch keeps IMAP round trips few.
            _mark_done(box, done, settings)
    if result.fetched:
        logger.info("mail: poll of %s %s", settings.label, result)
    return result
