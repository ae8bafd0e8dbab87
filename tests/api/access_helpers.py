"""Helpers shared by the access API tests."""

import datetime
import itertools
from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tests.access.factories import AccountFactory, GrantFactory, RoleFactory
from tests.factories import make_user
from tugi.access.models import AccessRequest, AccessRequestItem, Grant, Role
from tugi.people.models import Person

DAY = datetime.timedelta(days=1)
_filers = itertools.count(1)


def later(days: float) -> datetime.datetime:
    return timezone.now() + days * DAY


def ids(response, key: str = "id") -> list[int]:
    assert response.status_code == 200, response.content
    return [row[key] for row in response.json()["results"]]


def walk(client: APIClient, url: str, key: str = "id") -> list[list[int]]:
    """Every page from `url` on, following `next`: the ids of each page."""
    pages: list[list[int]] = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        pages.append(ids(response, key))
        next_url = response.json()["next"]
        assert len(pages) < 100, "the pages never end"
    return pages


def walk_back(client: APIClient, url: str, key: str = "id") -> list[list[int]]:
    """To the last page from `url`, then back through `previous`: the ids of each page."""
    response = client.get(url)
    while response.json()["next"]:
        response = client.get(response.json()["next"])
    pages = [ids(response, key)]
    previous = response.json()["previous"]
    while previous:
        response = client.get(previous)
        pages.append(ids(response, key))
        previous = response.json()["previous"]
    return pages


def query_count(client: APIClient, url: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
        assert response.status_code == 200, response.content
    return len(queries)


def request_grant(person: Person, role: Role | None = None, **extra) -> Grant:
    """A grant on a fulfilled request item, written directly (test setup, not a domain change)."""
    role = role or RoleFactory()
    request = AccessRequest.objects.create(
        person=person,
        requested_by=make_user(f"filer{next(_filers)}"),
        justification="Tööülesanded",
        state=AccessRequest.State.FULFILLED,
    )
    item = AccessRequestItem.objects.create(
        request=request,
        kind=AccessRequestItem.Kind.GRANT_ROLE,
        system=role.system,
        role=role,
        state=AccessRequestItem.State.FULFILLED,
    )
    account = AccountFactory(person=person, system=role.system)
    return GrantFactory(
        account=account,
        role=role,
        basis=Grant.Basis.REQUEST,
        basis_duty=None,
        basis_item=item,
        **extra,
    )


def substitution_grant(person: Person, absentee: Person, role: Role | None = None) -> Grant:
    role = role or RoleFactory(delegable=True)
    account = AccountFactory(person=person, system=role.system)
    return GrantFactory(
        account=account,
        role=role,
        basis=Grant.Basis.SUBSTITUTION,
        basis_duty=None,
        acting_for=absentee,
    )


ClientFor = Callable[..., APIClient]
