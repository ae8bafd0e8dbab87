"""Permissions from the role table: the same answers as Django's ModelBackend, in one query."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_user
from tugi.core.roles import ROLE_PERMISSIONS, AppRole

pytestmark = pytest.mark.django_db


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # no permission cache, as at the start of a request


@pytest.mark.parametrize("role", list(AppRole))
def test_each_role_has_what_the_role_table_and_the_database_say(role):
    user = make_user(f"u-{role.value}", role)
    ours = fresh(user).get_all_permissions()
    assert ours == set(ROLE_PERMISSIONS[role])
    assert ours == ModelBackend().get_all_permissions(fresh(user))  # the synced groups agree


def test_a_request_asks_once_however_many_checks():
    user = fresh(make_user("kaks", AppRole.DESK_AGENT, AppRole.APPROVER))
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("desk.work_case")
        assert user.has_perm("access.approve_accessrequest")
        assert not user.has_perm("core.view_auditevent")
    assert len(queries) == 1


def test_a_group_that_is_no_role_gives_its_permissions_from_the_database():
    user = make_user("lugeja")
    group = Group.objects.create(name="catalogue-only")
    group.permissions.set(Permission.objects.filter(codename="view_role"))
    user.groups.add(group)
    assert fresh(user).get_all_permissions() == {"access.view_role"}


def test_inactive_users_have_nothing_and_superusers_everything():
    blocked = make_user("blokeeritud", AppRole.DESK_AGENT)
    blocked.is_active = False
    blocked.save()
    assert not fresh(blocked).has_perm("desk.work_case")
    root = User.objects.create_superuser("juur", password="x")
    assert fresh(root).has_perm("core.view_auditevent")
