"""The audit log: chained hashes, append-only triggers, tamper detection."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from tugi.core import audit, audit_triggers
from tugi.core.models import AuditEvent


@pytest.mark.django_db
def test_events_chain_and_verify(admin_user):
    first = audit.record(admin_user, "test.one", after={"name": "Õie"})
    second = audit.record(admin_user, "test.two", before={"n": 1}, after={"n": 2})
    assert first.prev_hash == audit.GENESIS
    assert second.prev_hash == first.hash
    result = audit.verify_chain()
    assert result.ok and result.checked == 2 and result.head == second.hash


@pytest.mark.django_db
def test_update_and_delete_are_refused_by_the_database(admin_user):
    event = audit.record(admin_user, "test.one")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="test.forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET purpose = 'x'")
    assert AuditEvent.objects.get(pk=event.pk).action == "test.one"


def _tamper(sql: str, params: list) -> None:
    """What an attacker with database rights could do: lift the triggers, change rows."""
    audit_triggers.drop(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    audit_triggers.install(connection)


@pytest.mark.django_db
def test_verify_finds_a_changed_event(admin_user):
    events = [audit.record(admin_user, f"test.{i}", after={"i": i}) for i in range(5)]
    _tamper("UPDATE core_auditevent SET purpose = %s WHERE id = %s", ["forged", events[2].pk])
    result = audit.verify_chain()
    assert not result.ok
    assert result.broken_id == events[2].pk
    assert result.checked == 2
    with pytest.raises(CommandError, match=f"event {events[2].pk}"):
        call_command("audit", "verify")


@pytest.mark.django_db
def test_verify_finds_a_deleted_event(admin_user):
    events = [audit.record(admin_user, f"test.{i}") for i in range(4)]
    _tamper("DELETE FROM core_auditevent WHERE id = %s", [events[1].pk])
    result = audit.verify_chain()
    assert result.broken_id == events[2].pk
    assert "link" in result.reason


@pytest.mark.django_db
def test_verify_finds_a_rehashed_forgery(admin_user):
    """Even recomputing the forged row's own hash is caught: the next row links to the old one."""
    events = [audit.record(admin_user, f"test.{i}") for i in range(3)]
    forged = AuditEvent.objects.get(pk=events[1].pk)
    forged.purpose = "forged"
    new_hash = audit._hash(forged.prev_hash, audit._hashed_fields(forged))
    _tamper(
        "UPDATE core_auditevent SET purpose = %s, hash = %s WHERE id = %s",
        ["forged", new_hash, forged.pk],
    )
    assert audit.verify_chain().broken_id == events[2].pk


@pytest.mark.django_db
def test_audit_verify_command_reports_intact(admin_user, capsys):
    audit.record(admin_user, "test.one")
    call_command("audit", "verify")
    assert "1 events" in capsys.readouterr().out


@pytest.mark.django_db
def test_event_rolls_back_with_the_change(admin_user):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(admin_user, "test.rolled_back")
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    assert audit.verify_chain().ok
