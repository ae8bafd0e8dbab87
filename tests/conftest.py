"""Shared test fixtures.

The audit table's append-only triggers would stop Django from emptying tables between
transactional tests (live server, browser); `_audit_triggers_around_flush` lifts them only for
that flush and puts them back for the next test.
"""

import os

import pytest
from django.db import connection

from tests.factories import make_user
from tugi.core import audit_triggers
from tugi.core.roles import AppRole


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> None:
    """Real password hashing is slow on purpose; tests sign in hundreds of times."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _huey_in_memory():
    """Background tasks run at once and in memory, never in the real queue file.

    Actions queue mail after commit; a task left in var/huey.sqlite3 by a test would be picked
    up later by a real worker (and mail a message of the same id from the real database).
    """
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` run in the PostgreSQL pass; in CI that pass must have a server."""
    url = os.environ.get("DATABASE_URL", "")
    on_postgres = url.startswith(("postgres://", "postgresql://"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="PostgreSQL-only: runs in the PostgreSQL pass"))


@pytest.fixture(autouse=True)
def _english_unless_marked(request: pytest.FixtureRequest):
    """Tests assert the English source messages; tests marked `estonian` see the real default.

    Tugi speaks Estonian by default (settings.LANGUAGE_CODE); the tests of that default and of
    the Estonian pages carry the marker, every other test reads the English source strings.
    """
    from django.utils import translation

    if request.node.get_closest_marker("estonian"):
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and (
        marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    ):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _audit_triggers_around_flush(request: pytest.FixtureRequest):
    if not _is_transactional(request):
        yield
        return
    # Set up the database first so that its teardown (the flush) runs after ours.
    request.getfixturevalue("_django_db_helper")
    audit_triggers.install(connection)
    yield
    audit_triggers.drop(connection)  # runs before pytest-django's flush of this test's tables


@pytest.fixture
def admin_user(db):
    return make_user("admin", AppRole.ADMINISTRATOR)


@pytest.fixture
def desk_user(db):
    return make_user("desk", AppRole.DESK_AGENT)


@pytest.fixture
def auditor_user(db):
    return make_user("auditor", AppRole.AUDITOR)


@pytest.fixture
def requester_user(db):
    return make_user("requester", AppRole.REQUESTER)
