"""Shared pieces of the access page tests: an English-speaking client and small data builders."""

import datetime

from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.access.factories import (
    AccountFactory,
    DutyFactory,
    EntitlementFactory,
    GrantFactory,
    JobDescriptionFactory,
    RoleFactory,
)
from tests.factories import PersonFactory, PositionFactory
from tugi.access.models import Grant, Role
from tugi.people.models import Person

DAY = datetime.timedelta(days=1)


def later(days: float) -> datetime.datetime:
    return timezone.now() + days * DAY


def english(client: Client) -> Client:
    """The test client, speaking English: assertions read the source strings, whatever the
    state of the Estonian catalogue. Each test module wraps this in its own `en` fixture."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def justified_holder(
    role: Role | None = None, *, person: Person | None = None, directive: str = "KK 1-2/24"
) -> Grant:
    """A person whose position's job description justifies `role`, holding it on that basis."""
    role = role or RoleFactory()
    if person is None:
        person = PersonFactory(position=PositionFactory())
    jd = person.position.job_descriptions.order_by("-valid_from").first() or JobDescriptionFactory(
        position=person.position, directive=directive
    )
    duty = DutyFactory(job_description=jd, description="Pensionitaotluste menetlemine")
    EntitlementFactory(duty=duty, role=role)
    account = AccountFactory(person=person, system=role.system)
    return GrantFactory(account=account, role=role, basis_duty=duty)
