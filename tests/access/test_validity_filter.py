"""The "until" column shows a grant's last day, not the exclusive midnight after it."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tests.access.factories import GrantFactory
from tests.access.views_support import login
from tugi.access.templatetags.validity import last_day

TALLINN = ZoneInfo("Europe/Tallinn")


@pytest.mark.parametrize(
    ("valid_to", "shown"),
    [
        (datetime.datetime(2026, 12, 1, 0, 0, tzinfo=TALLINN), "30.11.2026"),
        # Midnight in Tallinn is 22:00 UTC the day before in winter: the local day counts.
        (datetime.datetime(2026, 11, 30, 22, 0, tzinfo=datetime.UTC), "30.11.2026"),
        (datetime.datetime(2026, 11, 30, 15, 30, tzinfo=TALLINN), "30.11.2026 15:30"),
        (None, ""),
    ],
)
def test_last_day(valid_to, shown):
    with translation.override("et"):
        assert last_day(valid_to) == shown


@pytest.mark.django_db
def test_the_person_access_page_shows_the_last_day(client, desk_user):
    last = timezone.localdate() + datetime.timedelta(days=3)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time(), TALLINN)
    grant = GrantFactory(valid_from=end - datetime.timedelta(days=30), valid_to=end)
    login(client, desk_user)
    with translation.override("et"):
        html = client.get(reverse("access:person_access", args=[grant.person_id])).content.decode()
    assert last.strftime("%d.%m.%Y") in html
    assert end.strftime("%d.%m.%Y") not in html
