"""Every Huey task lock is one the worker clears at start (settings.TASK_LOCKS).

A lock left by a killed worker is never released otherwise (Huey's SQLite storage has no expiry),
and the task it guards would never run again: the reconciler, the compliance evaluation.
"""

import re
from pathlib import Path

from django.conf import settings

import tugi

SOURCE = Path(tugi.__file__).parent


def test_the_worker_clears_every_lock_the_source_takes() -> None:
    taken = {
        name
        for path in SOURCE.rglob("*.py")
        for name in re.findall(r'lock_task\(\s*"([^"]+)"', path.read_text())
    }
    assert "tugi-lifecycle-reconcile" in taken
    assert taken <= set(settings.TASK_LOCKS), taken - set(settings.TASK_LOCKS)
    assert settings.HUEY["consumer"]["extra_locks"].split(",") == settings.TASK_LOCKS
