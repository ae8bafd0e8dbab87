"""The desk's configuration kept per process (`tugi.desk.config_cache`): routing rules, queues and
SLA policies are read once, and every change is seen — made here, made by another process, or
rolled back."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.desk.factories import QueueFactory, SlaPolicyFactory
from tests.factories import PersonFactory, make_user
from tugi.core import audit
from tugi.core.roles import AppRole
from tugi.desk import actions, admin_actions, config_cache, sla
from tugi.desk.mail import outbound
from tugi.desk.models import Case, RoutingRule


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(outbound, "queue_acknowledgement", lambda pk: None)
    config_cache.forget()
    yield
    config_cache.forget()


def _open(desk, person, subject: str = "SKAIS ei avane") -> Case:
    return actions.create_case(
        desk, channel=Case.Channel.PHONE, subject=subject, body="Tere", requester=person
    )


def _config_reads(ctx) -> list[str]:
    return [
        q["sql"]
        for q in ctx.captured_queries
        if any(t in q["sql"] for t in ('FROM "desk_routingrule"', 'FROM "desk_slapolicy"'))
    ]


@pytest.mark.django_db(transaction=True)
def test_committed_configuration_is_read_once_and_changes_are_seen_at_once():
    desk = make_user("desk", AppRole.DESK_AGENT)
    admin = make_user("admin", AppRole.ADMINISTRATOR)
    person = PersonFactory()
    general = QueueFactory(code="DESK")
    skais = QueueFactory(code="SKAIS")
    SlaPolicyFactory(priority=4)
    _open(desk, person)  # reads the configuration
    with CaptureQueriesContext(connection) as ctx:
        case = _open(desk, person)
    assert case.queue == general
    assert _config_reads(ctx) == []
    # A rule added through the settings actions routes the very next case.
    admin_actions.create_routing_rule(admin, name="SKAIS", keyword="skais", queue=skais)
    assert _open(desk, person).queue == skais
    assert _open(desk, person, subject="Muu mure").queue == general
    # A policy changed likewise.
    policy = sla.choose_policy(case)
    assert policy is not None
    admin_actions.update_sla_policy(admin, policy, first_response_minutes=99)
    assert sla.choose_policy(case).first_response_minutes == 99


@pytest.mark.django_db(transaction=True)
def test_a_change_made_by_another_process_is_seen_within_the_recheck(monkeypatch):
    desk = make_user("desk", AppRole.DESK_AGENT)
    person = PersonFactory()
    general = QueueFactory(code="DESK")
    other = QueueFactory(code="OTHER")
    rule = RoutingRule.objects.create(name="R", keyword="skais", queue=general)
    assert _open(desk, person).queue == general
    # Another process changes the rule through the action: no signal here, only the row and
    # its audit event.
    with transaction.atomic():
        RoutingRule.objects.filter(pk=rule.pk).update(queue=other)
        audit.record(None, "desk.routing_rule.update", rule, after={"queue": other.pk})
    monkeypatch.setattr(config_cache, "RECHECK_AFTER", 3600.0)
    assert _open(desk, person).queue == general  # within the recheck interval: as read
    monkeypatch.setattr(config_cache, "RECHECK_AFTER", 0.0)
    assert _open(desk, person).queue == other


@pytest.mark.django_db
def test_a_rolled_back_configuration_is_not_kept():
    desk = make_user("desk", AppRole.DESK_AGENT)
    person = PersonFactory()
    general = QueueFactory(code="DESK")
    special = QueueFactory(code="SPECIAL")
    try:
        with transaction.atomic():
            RoutingRule.objects.create(name="R", keyword="skais", queue=special)
            assert _open(desk, person).queue == special
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert not RoutingRule.objects.exists()
    assert _open(desk, person).queue == general
