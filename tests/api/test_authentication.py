"""Bearer-token authentication: good, revoked, expired and garbage tokens, blocked users."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from tugi.api import actions
from tugi.api.models import ApiToken

URL = "/api/v1/positions/"


def bearer(client: APIClient, key: str):
    return client.get(URL, HTTP_AUTHORIZATION=f"Bearer {key}")


def assert_refused(response, words: str) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert words in response.json()["errors"]["detail"][0]


@pytest.mark.django_db
def test_a_good_token_authenticates_as_its_user(anon, desk_user):
    key = actions.create_token(None, user=desk_user, name="t").key
    response = bearer(anon, key)
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.last_used_at is not None


@pytest.mark.django_db
def test_the_keyword_is_case_insensitive(anon, desk_user):
    key = actions.create_token(None, user=desk_user, name="t").key
    assert anon.get(URL, HTTP_AUTHORIZATION=f"bearer {key}").status_code == 200


@pytest.mark.django_db
def test_a_revoked_token_is_refused(anon, desk_user):
    issued = actions.create_token(None, user=desk_user, name="t")
    actions.revoke_token(None, issued.token)
    assert_refused(bearer(anon, issued.key), "revoked")


@pytest.mark.django_db
def test_an_expired_token_is_refused(anon, desk_user):
    issued = actions.create_token(
        None, user=desk_user, name="t", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert bearer(anon, issued.key).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert_refused(bearer(anon, issued.key), "expired")


@pytest.mark.django_db
def test_a_blocked_users_token_is_refused(anon, desk_user):
    key = actions.create_token(None, user=desk_user, name="t").key
    desk_user.is_active = False
    desk_user.save()
    assert_refused(bearer(anon, key), "blocked")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "Bearer tugi_not-a-real-key",
        "Bearer " + "x" * 500,
        "Bearer",
        "Bearer two parts",
    ],
)
def test_garbage_is_refused(anon, desk_user, header):
    actions.create_token(None, user=desk_user, name="t")
    response = anon.get(URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["errors"]["detail"]


@pytest.mark.django_db
def test_a_hash_is_not_a_key(anon, desk_user):
    """Someone who reads the database gets hashes; a hash does not authenticate."""
    token = actions.create_token(None, user=desk_user, name="t").token
    assert_refused(bearer(anon, token.key_hash), "not valid")


@pytest.mark.django_db
def test_no_credentials_is_401_not_403(anon):
    response = anon.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"errors"}


@pytest.mark.django_db
def test_other_schemes_are_left_to_the_session(anon, desk_user):
    response = anon.get(URL, HTTP_AUTHORIZATION="Basic ZGVzazpwYXJvb2wtMTIz")
    assert response.status_code == 401
    anon.force_login(desk_user)
    assert anon.get(URL).status_code == 200


@pytest.mark.django_db
def test_last_used_is_written_at_most_once_a_minute(anon, desk_user):
    key = actions.create_token(None, user=desk_user, name="t").key
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        bearer(anon, key)
    first = ApiToken.objects.get().last_used_at
    assert first == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        bearer(anon, key)
    assert ApiToken.objects.get().last_used_at == first
    later = start + timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        bearer(anon, key)
    assert ApiToken.objects.get().last_used_at == later
