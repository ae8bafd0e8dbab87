"""Fixtures for API tests: clients that authenticate with real bearer tokens, and an org tree."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.factories import OrgUnitFactory, PersonFactory, PositionFactory
from tugi.api.actions import create_token
from tugi.people.models import OrgUnit, Person, Position


def token_client(user: User) -> APIClient:
    """A client that sends a freshly issued token for the user, in English."""
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    key = create_token(None, user=user, name="test").key
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def client_for(db) -> Callable[[User], APIClient]:
    return token_client


@pytest.fixture
def anon() -> APIClient:
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


@dataclass
class Org:
    """A small organisation: agency > department > unit, with a position in the lower two."""

    agency: OrgUnit
    department: OrgUnit
    unit: OrgUnit
    dept_position: Position
    unit_position: Position


@pytest.fixture
def org(db) -> Org:
    agency = OrgUnitFactory(name="Amet", kind=OrgUnit.Kind.AGENCY)
    department = OrgUnitFactory(name="Osakond", parent=agency, kind=OrgUnit.Kind.DEPARTMENT)
    unit = OrgUnitFactory(name="Talitus", parent=department)
    return Org(
        agency=agency,
        department=department,
        unit=unit,
        dept_position=PositionFactory(title="Juhataja", org_unit=department),
        unit_position=PositionFactory(title="Spetsialist", org_unit=unit),
    )


@pytest.fixture
def person(org: Org) -> Person:
    return PersonFactory(first_name="Jüri", last_name="Jõgi", org_unit=org.unit)
