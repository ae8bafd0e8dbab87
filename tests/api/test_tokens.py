"""Issuing, listing and revoking API tokens: the `tugi token` command and the actions."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from tests.factories import make_user
from tugi.api import actions
from tugi.api.management.commands.token import Command
from tugi.api.models import ApiToken
from tugi.core.models import AuditEvent


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):  # the messages of the actions are translated
        call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_create_prints_the_key_once_and_stores_only_its_hash(admin_user):
    out, err = run("create", "admin", "--name", "hr-import")
    key = out.strip()
    assert key.startswith("tugi_") and len(key) > 40
    assert "not shown again" in err and key not in err
    token = ApiToken.objects.get()
    assert token.user == admin_user and token.name == "hr-import"
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[: len(token.prefix)] and len(token.prefix) < 16
    # The key is nowhere in the row or the audit log.
    stored = [str(v) for v in ApiToken.objects.values().get().values()]
    assert not any(key in v for v in stored)
    event = AuditEvent.objects.get(action="api.token.create")
    assert event.actor is None and event.actor_label == "system"
    assert event.basis == actions.OPERATOR_BASIS
    assert event.request_id  # the command runs in a request scope
    assert key not in str(event.after) and token.key_hash not in str(event.after)
    assert event.after["prefix"] == token.prefix


@pytest.mark.django_db
def test_create_with_expiry(admin_user):
    run("create", "admin", "--expires-days", "30")
    token = ApiToken.objects.get()
    assert token.name == "cli"
    expected = timezone.now() + timedelta(days=30)
    assert token.expires_at is not None and abs(token.expires_at - expected) < timedelta(minutes=1)


@pytest.mark.django_db
def test_create_refuses_a_non_positive_expiry(admin_user):
    with pytest.raises(CommandError, match="expires-days"):
        run("create", "admin", "--expires-days", "0")
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_create_for_an_unknown_user_fails_clearly():
    with pytest.raises(CommandError, match="No user named “nobody”"):
        run("create", "nobody")
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_unknown_user_exits_non_zero_from_the_command_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["tugi", "token", "create", "nobody"])
    assert exit_info.value.code != 0
    assert "No user named" in capsys.readouterr().err


@pytest.mark.django_db
def test_create_for_a_blocked_user_fails(admin_user):
    blocked = make_user("blocked")
    blocked.is_active = False
    blocked.save()
    with pytest.raises(CommandError, match="blocked"):
        run("create", "blocked")


@pytest.mark.django_db
def test_list_shows_prefixes_and_states_never_keys(admin_user, desk_user):
    key = run("create", "admin", "--name", "first")[0].strip()
    run("create", "desk", "--name", "second")
    actions.revoke_token(None, ApiToken.objects.get(name="second"))
    out, _ = run("list")
    assert key not in out
    assert ApiToken.objects.get(name="first").prefix in out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "PREFIX", "USER"]
    assert any("first" in line and line.rstrip().endswith("active") for line in lines)
    assert any("second" in line and line.rstrip().endswith("revoked") for line in lines)
    only_desk, _ = run("list", "desk")
    assert "second" in only_desk and "first" not in only_desk


@pytest.mark.django_db
def test_revoke_by_prefix_and_by_id(admin_user):
    run("create", "admin", "--name", "a")
    run("create", "admin", "--name", "b")
    a, b = ApiToken.objects.get(name="a"), ApiToken.objects.get(name="b")
    out, _ = run("revoke", a.prefix)
    assert "revoked" in out
    run("revoke", str(b.pk))
    assert all(t.revoked_at is not None for t in ApiToken.objects.all())
    assert AuditEvent.objects.filter(action="api.token.revoke").count() == 2
    again, _ = run("revoke", str(b.pk))
    assert "already revoked" in again
    assert AuditEvent.objects.filter(action="api.token.revoke").count() == 2
    with pytest.raises(CommandError, match="No token"):
        run("revoke", "tugi_nothing")


@pytest.mark.django_db
def test_issuing_needs_the_permission(admin_user, desk_user, requester_user):
    with pytest.raises(PermissionDenied):
        actions.create_token(desk_user, user=desk_user, name="mine")
    issued = actions.create_token(admin_user, user=requester_user, name="kiosk")
    event = AuditEvent.objects.get(action="api.token.create")
    assert event.actor == admin_user and event.basis == ""
    assert event.object_id == str(issued.token.pk)


@pytest.mark.django_db
def test_no_token_for_a_user_with_rights_the_issuer_lacks(admin_user, auditor_user):
    """Otherwise the administrator could read the audit log through the auditor's token."""
    with pytest.raises(ValidationError) as info:
        actions.create_token(admin_user, user=auditor_user, name="x")
    assert "core.view_auditevent" in str(info.value.message_dict["user"])
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_token_needs_a_name_and_a_future_expiry(admin_user):
    with pytest.raises(ValidationError) as info:
        actions.create_token(
            admin_user, user=admin_user, name=" ", expires_at=timezone.now() - timedelta(days=1)
        )
    assert set(info.value.message_dict) == {"name", "expires_at"}


@pytest.mark.django_db
def test_a_user_may_revoke_their_own_token_but_not_others(admin_user, desk_user):
    own = actions.create_token(None, user=desk_user, name="own").token
    other = actions.create_token(None, user=make_user("someone"), name="other").token
    actions.revoke_token(desk_user, own)
    with pytest.raises(PermissionDenied):
        actions.revoke_token(desk_user, other)
    actions.revoke_token(admin_user, other)
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_created_token_is_usable_as_cli_output(admin_user, anon):
    """The printed key is exactly what a client sends."""
    key = run("create", "admin")[0].strip()
    response = anon.get("/api/v1/positions/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
