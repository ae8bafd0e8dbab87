"""Shared pieces of the desk page tests: a fixed clock, mail caught, a small desk world.

Each test module wraps these in its own small fixtures (`en`, `mail`, `w`), as the access page
tests do.
"""

import datetime
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.access.factories import TargetSystemFactory
from tests.access.views_support import english
from tests.desk.factories import QueueFactory, SlaPolicyFactory
from tests.factories import PersonFactory, make_user
from tugi.access.models import TargetSystem
from tugi.core.roles import AppRole
from tugi.desk import actions
from tugi.desk.mail import outbound
from tugi.desk.models import Case, Queue
from tugi.people.models import Person

TALLINN = ZoneInfo("Europe/Tallinn")
# A Wednesday morning in office hours (08:30–17:00), no holiday near.
NOW = datetime.datetime(2025, 3, 12, 10, 0, tzinfo=TALLINN)
PDF = b"%PDF-1.7\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 40


@dataclass
class World:
    requester: User
    person: Person
    other: User
    other_person: Person
    desk: User
    desk_person: Person
    specialist: User
    admin: User
    desk_queue: Queue
    second_queue: Queue
    specialists: Queue
    system: TargetSystem

    def open(self, actor: Any = None, **extra: Any) -> Case:
        """A case opened on the portal by the requester (or by `actor`)."""
        data: dict[str, Any] = {
            "channel": Case.Channel.PORTAL,
            "subject": "SKAIS ei avane",
            "body": "Avalehel tuleb viga 500.",
        }
        data.update(extra)
        return actions.create_case(actor or self.requester, **data)


def catch_mail(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """What the actions hand to the mail module (only ever after commit)."""
    sent = SimpleNamespace(messages=[], acks=[])
    monkeypatch.setattr(outbound, "queue_message", sent.messages.append)
    monkeypatch.setattr(outbound, "queue_acknowledgement", sent.acks.append)
    return sent


def english_client(client: Client) -> Client:
    return english(client)


def desk_world(
    requester_user: User,
    desk_user: User,
    admin_user: User,
    time_machine: Any,
    settings: Any,
    tmp_path: Any,
) -> World:
    """A requester, another requester, the desk, a specialist and the administrator; three
    queues, one SLA policy per priority, one application; the clock on a Wednesday morning."""
    time_machine.move_to(NOW, tick=False)
    settings.MEDIA_ROOT = tmp_path
    for priority, first, resolution in [(1, 30, 240), (2, 60, 480), (3, 240, 1440), (4, 480, 2400)]:
        SlaPolicyFactory(
            priority=priority, first_response_minutes=first, resolution_minutes=resolution
        )
    person = PersonFactory(first_name="Mari", last_name="Jõgi", user=requester_user)
    other = make_user("teine", AppRole.REQUESTER)
    specialist = make_user("spetsialist", AppRole.DOMAIN_SPECIALIST)
    desk_person = PersonFactory(first_name="Kalle", last_name="Kask", user=desk_user)
    desk_user.first_name, desk_user.last_name = "Kalle", "Kask"
    desk_user.save()
    desk_queue = QueueFactory(code="DESK", name="Rakendustugi", kind=Queue.Kind.DESK)
    desk_queue.members.add(desk_user)
    return World(
        requester=requester_user,
        person=person,
        other=other,
        other_person=PersonFactory(first_name="Toomas", last_name="Tamm", user=other),
        desk=desk_user,
        desk_person=desk_person,
        specialist=specialist,
        admin=admin_user,
        desk_queue=desk_queue,
        second_queue=QueueFactory(code="SKAIS", name="SKAIS-i tugi", kind=Queue.Kind.DESK),
        specialists=QueueFactory(
            code="PENS",
            name="Pensionide spetsialistid",
            kind=Queue.Kind.SPECIALISTS,
            members=[specialist],
        ),
        system=TargetSystemFactory(code="SKAIS2", name="SKAIS2"),
    )
