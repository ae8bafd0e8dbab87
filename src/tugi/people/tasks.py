"""Background work of the people app: applying a large HR import."""

from __future__ import annotations

from django.contrib.auth.models import User
from huey.contrib.djhuey import db_task

from tugi.core.context import request_scope


@db_task()
def apply_import_task(import_id: int, filed_by_id: int | None = None, request_id: str = "") -> str:
    """Apply an import the user chose to apply; the page polls its progress."""
    from tugi.people.imports.actions import run_import

    filed_by = User.objects.filter(pk=filed_by_id).first() if filed_by_id else None
    with request_scope(request_id or None):
        return run_import(import_id, filed_by=filed_by).state
