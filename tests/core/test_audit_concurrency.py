"""Concurrent writers keep one unbroken chain (PostgreSQL, where several workers run at once)."""

import threading

import pytest
from django.db import connection, transaction

from tugi.core import audit
from tugi.core.models import AuditEvent


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain():
    writers, per_writer = 6, 30
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                with transaction.atomic():
                    audit.record(None, "test.concurrent", after={"writer": n, "i": i})
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    assert AuditEvent.objects.count() == writers * per_writer
    # Every prev_hash is used exactly once: no two events claim the same predecessor.
    prevs = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(set(prevs)) == len(prevs)
    assert audit.verify_chain().ok
