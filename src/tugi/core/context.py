"""Per-request context read by the audit log: the request id and whom the actor is acting for.

Context variables rather than thread-locals so that the same code is right under threads, the
Huey worker and async views.
"""

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("tugi_request_id", default="")
acting_for: ContextVar[str] = ContextVar("tugi_acting_for", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def request_scope(rid: str | None = None, on_behalf_of: str = "") -> Iterator[str]:
    """Run a block (a web request, a CLI command, a background task) under one request id."""
    rid = rid or new_request_id()
    t1 = request_id.set(rid)
    t2 = acting_for.set(on_behalf_of)
    try:
        yield rid
    finally:
        request_id.reset(t1)
        acting_for.reset(t2)
