"""The business calendar: Estonian public holidays, shortened days, office hours, working time.

Dates are checked against a calendar for 2026–2027 written out by hand, not against the
`holidays` package alone, so a wrong package release would be caught.
"""

import datetime as dt
import random

import holidays
import pytest
from django.core.exceptions import ImproperlyConfigured

from tugi.desk import calendar
from tugi.desk.calendar import TALLINN

UTC = dt.UTC
HOUR = 3600


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A Tallinn wall-clock moment."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=TALLINN)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --- public holidays ---------------------------------------------------------------------------

# Public Holidays and Days of National Importance Act § 2, for 2026 and 2027.
HOLIDAYS = {
    "2026-01-01": "New Year's Day",
    "2026-02-24": "Independence Day",
    "2026-04-03": "Good Friday",
    "2026-04-05": "Easter Sunday",
    "2026-05-01": "May Day",
    "2026-05-24": "Pentecost",
    "2026-06-23": "Victory Day",
    "2026-06-24": "Midsummer Day",
    "2026-08-20": "Independence Restoration Day",
    "2026-12-24": "Christmas Eve",
    "2026-12-25": "Christmas Day",
    "2026-12-26": "Second Day of Christmas",
    "2027-01-01": "New Year's Day",
    "2027-02-24": "Independence Day",
    "2027-03-26": "Good Friday",
    "2027-03-28": "Easter Sunday",
    "2027-05-01": "May Day",
    "2027-05-16": "Pentecost",
    "2027-06-23": "Victory Day",
    "2027-06-24": "Midsummer Day",
    "2027-08-20": "Independence Restoration Day",
    "2027-12-24": "Christmas Eve",
    "2027-12-25": "Christmas Day",
    "2027-12-26": "Second Day of Christmas",
}


@pytest.mark.parametrize("day", sorted(HOLIDAYS))
def test_public_holidays_are_not_working_days(day):
    assert calendar.is_public_holiday(d(day))
    assert not calendar.is_working_day(d(day))
    assert calendar.working_hours(d(day)) is None


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_holiday_list_is_exactly_the_statutory_one(year):
    found = {
        day.isoformat()
        for day in (dt.date(year, 1, 1) + dt.timedelta(n) for n in range(365))
        if calendar.is_public_holiday(day)
    }
    assert found == {day for day in HOLIDAYS if day.startswith(str(year))}


@pytest.mark.parametrize(
    "day",
    [
        "2026-04-06",  # Easter Monday is not a holiday in Estonia
        "2026-05-25",  # nor Whit Monday
        "2026-04-02",  # Maundy Thursday
        "2027-03-29",  # Easter Monday 2027
        "2026-11-16",  # Day of Declaration of Sovereignty: a day of national importance, worked
        "2026-12-28",  # between Christmas and New Year
        "2027-01-04",  # first Monday of 2027
    ],
)
def test_ordinary_weekdays_are_full_working_days(day):
    assert calendar.is_working_day(d(day))
    opening, closing = calendar.working_hours(d(day))
    assert (opening.time(), closing.time()) == (dt.time(8, 30), dt.time(17, 0))


@pytest.mark.parametrize("day", ["2026-03-28", "2026-03-29", "2027-05-15", "2027-12-26"])
def test_weekends_are_closed(day):
    assert not calendar.is_working_day(d(day))
    assert calendar.working_hours(d(day)) is None


@pytest.mark.parametrize(
    "day, language, name",
    [
        ("2026-12-24", "et", "jõululaupäev"),
        ("2026-12-24", "en", "Christmas Eve"),
        ("2026-06-24", "et", "jaanipäev"),
        ("2026-12-23", "en", None),
    ],
)
def test_holiday_names_follow_the_language(day, language, name):
    assert calendar.holiday_name(d(day), language) == name


def test_holiday_name_defaults_to_the_active_language():
    # Tests run in English (tests/conftest.py).
    assert calendar.holiday_name(d("2026-08-20")) == "Independence Restoration Day"


def test_a_datetime_is_refused_where_a_date_is_meant():
    with pytest.raises(TypeError):
        calendar.is_working_day(at(2026, 3, 2, 23, 30).astimezone(UTC))


# --- shortened days (Employment Contracts Act § 53) ---------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        "2026-02-23",  # Monday before Independence Day (Tue)
        "2026-06-22",  # Monday before Victory Day (Tue)
        "2026-12-23",  # Wednesday before Christmas Eve (Thu)
        "2026-12-31",  # Thursday before New Year's Day (Fri)
        "2027-02-23",  # Tuesday before Independence Day (Wed)
        "2027-06-22",  # Tuesday before Victory Day (Wed)
        "2027-12-23",  # Thursday before Christmas Eve (Fri)
        "2027-12-31",  # Friday before New Year's Day (Sat)
    ],
)
def test_the_working_day_before_the_four_holidays_ends_three_hours_early(day):
    assert calendar.is_working_day(d(day))
    assert calendar.is_shortened_day(d(day))
    opening, closing = calendar.working_hours(d(day))
    assert (opening.time(), closing.time()) == (dt.time(8, 30), dt.time(14, 0))


@pytest.mark.parametrize(
    "day",
    [
        "2025-02-21",  # Friday; 23 Feb 2025 is a Sunday, so no day is shortened
        "2025-06-20",  # Friday; 22 Jun 2025 is a Sunday
        "2028-12-29",  # Friday; 31 Dec 2028 is a Sunday
        "2026-06-23",  # Victory Day itself precedes Midsummer Day: a holiday, not shortened
        "2026-04-02",  # before Good Friday: not one of the four
        "2026-08-19",  # before Restoration of Independence Day: not one of the four
    ],
)
def test_only_the_day_immediately_before_is_shortened(day):
    assert not calendar.is_shortened_day(d(day))
    hours = calendar.working_hours(d(day))
    assert hours is None or hours[1].time() == dt.time(17, 0)


@pytest.mark.parametrize("year", range(2026, 2031))
def test_shortened_days_agree_with_the_holidays_package(year):
    """The package lists the pre-holiday dates whatever the weekday; we shorten working ones."""
    listed = holidays.country_holidays("EE", years=year, categories=holidays.HALF_DAY)
    ours = {
        day
        for day in (dt.date(year, 1, 1) + dt.timedelta(n) for n in range(365))
        if calendar.is_shortened_day(day)
    }
    assert ours == {day for day in listed if calendar.is_working_day(day)}


# --- office hours configuration ----------------------------------------------------------------


def test_office_hours_come_from_settings(settings):
    settings.TUGI_OFFICE_HOURS = {0: ("09:00", "12:00"), 5: (dt.time(10), dt.time(15))}
    assert calendar.is_working_day(d("2026-03-02"))  # Monday
    assert not calendar.is_working_day(d("2026-03-03"))  # Tuesday: not configured
    assert calendar.is_working_day(d("2026-03-07"))  # Saturday
    assert calendar.working_hours(d("2026-03-07"))[1].time() == dt.time(15)
    # The shortening applies to the desk's own working days: Saturday 23 Dec 2028.
    assert calendar.working_hours(d("2028-12-23"))[1].time() == dt.time(12)
    # Monday 3 h long: shortened by 3 h nothing is left (Monday 22 June 2026).
    assert calendar.working_hours(d("2026-06-22")) is None
    assert calendar.add_working_seconds(at(2026, 3, 2, 11), 2 * HOUR) == at(2026, 3, 7, 11)


@pytest.mark.parametrize(
    "hours",
    [
        {},
        {7: ("08:00", "16:00")},
        {0: ("17:00", "08:00")},
        {0: ("8 o'clock", "16:00")},
        {0: ("08:00",)},
        {"mon": ("08:00", "16:00")},
        {0: "08:00-16:00"},
        [(0, ("08:00", "16:00"))],
    ],
)
def test_bad_office_hours_are_named(settings, hours):
    settings.TUGI_OFFICE_HOURS = hours
    with pytest.raises(ImproperlyConfigured, match="TUGI_OFFICE_HOURS"):
        calendar.is_working_day(d("2026-03-02"))


# --- working-time arithmetic -------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, seconds, expected",
    [
        # within a day
        (at(2026, 3, 2, 9), 2 * HOUR, at(2026, 3, 2, 11)),
        # a target that runs out at closing is due at closing, not at the next opening
        (at(2026, 3, 6, 16), HOUR, at(2026, 3, 6, 17)),
        # across a weekend
        (at(2026, 3, 6, 16), 2 * HOUR, at(2026, 3, 9, 9, 30)),
        # from outside office hours: before opening, after closing, on a Saturday
        (at(2026, 3, 2, 7), HOUR, at(2026, 3, 2, 9, 30)),
        (at(2026, 3, 2, 18), HOUR, at(2026, 3, 3, 9, 30)),
        (at(2026, 3, 7, 12), HOUR, at(2026, 3, 9, 9, 30)),
        (at(2026, 3, 6, 17), 1, at(2026, 3, 9, 8, 30) + dt.timedelta(seconds=1)),
        # across Good Friday (Easter Monday is worked)
        (at(2026, 4, 2, 16), 2 * HOUR, at(2026, 4, 6, 9, 30)),
        # across Christmas: 23 Dec closes at 14:00, 24–26 Dec are holidays, 27 Dec a Sunday
        (at(2026, 12, 23, 13), 2 * HOUR, at(2026, 12, 28, 9, 30)),
        # across Victory Day and Midsummer: 22 Jun closes at 14:00, 23 and 24 Jun are holidays
        (at(2026, 6, 22, 13), 2 * HOUR, at(2026, 6, 25, 9, 30)),
        # across New Year: 31 Dec 2026 closes at 14:00, 1 Jan 2027 is a Friday holiday
        (at(2026, 12, 31, 12), 3 * HOUR, at(2027, 1, 4, 9, 30)),
        # a whole working week of 5 × 8.5 h
        (at(2026, 3, 2, 8, 30), int(5 * 8.5 * HOUR), at(2026, 3, 6, 17)),
    ],
)
def test_add_working_seconds(start, seconds, expected):
    result = calendar.add_working_seconds(start, seconds)
    assert result == expected
    assert result.tzinfo == TALLINN


@pytest.mark.parametrize(
    "opened, monday, offset",
    [
        # Clocks go forward on the last Sunday of March (EET +2 → EEST +3) …
        (at(2026, 3, 27, 16), d("2026-03-30"), dt.timedelta(hours=3)),
        # … in 2027 on Easter Sunday, so Good Friday is crossed too: opened on Thursday.
        (at(2027, 3, 25, 16), d("2027-03-29"), dt.timedelta(hours=3)),
        # … and back on the last Sunday of October.
        (at(2026, 10, 23, 16), d("2026-10-26"), dt.timedelta(hours=2)),
        (at(2027, 10, 29, 16), d("2027-11-01"), dt.timedelta(hours=2)),
    ],
)
def test_add_working_seconds_across_a_daylight_saving_change(opened, monday, offset):
    """Opened 16:00 on the last working day, due 8 working hours later: 1 h then 7 h → 15:30."""
    due = calendar.add_working_seconds(opened, 8 * HOUR)
    assert (due.date(), due.time()) == (monday, dt.time(15, 30))
    assert due.utcoffset() == offset
    assert due.utcoffset() != opened.utcoffset()
    # Adding 8 h plus the weekend as a plain timedelta would be an hour off: the wall clock moved.
    naive_sum = (opened + (due.astimezone(UTC) - opened.astimezone(UTC))).replace(tzinfo=None)
    assert naive_sum != due.replace(tzinfo=None)
    # The same answer when the start comes in UTC, as it does from the database.
    assert calendar.add_working_seconds(opened.astimezone(UTC), 8 * HOUR) == due
    assert calendar.working_seconds_between(opened, due) == 8 * HOUR


def test_a_working_week_has_the_same_hours_whatever_the_clock_change():
    # The weeks of the spring and the autumn change, and an ordinary week.
    for monday, next_monday in [
        (at(2026, 3, 23), at(2026, 3, 30)),
        (at(2026, 10, 19), at(2026, 10, 26)),
        (at(2026, 3, 2), at(2026, 3, 9)),
    ]:
        assert calendar.working_seconds_between(monday, next_monday) == int(5 * 8.5 * HOUR)


@pytest.mark.parametrize(
    "start, seconds, expected",
    [
        (at(2026, 3, 9, 9), -HOUR, at(2026, 3, 6, 16, 30)),
        (at(2026, 3, 9, 7), -HOUR, at(2026, 3, 6, 16)),
        (at(2026, 3, 30, 9), -HOUR, at(2026, 3, 27, 16, 30)),  # back across the spring change
        (at(2026, 12, 28, 9), -HOUR, at(2026, 12, 23, 13, 30)),  # back across Christmas
    ],
)
def test_negative_seconds_count_backwards(start, seconds, expected):
    assert calendar.add_working_seconds(start, seconds) == expected


def test_zero_seconds_is_the_start_itself():
    saturday = at(2026, 3, 7, 12)
    assert calendar.add_working_seconds(saturday, 0) == saturday


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        calendar.add_working_seconds(dt.datetime(2026, 3, 2, 9), 60)
    with pytest.raises(ValueError, match="naive"):
        calendar.working_seconds_between(dt.datetime(2026, 3, 2, 9), at(2026, 3, 2, 10))


@pytest.mark.parametrize(
    "a, b, seconds",
    [
        (at(2026, 3, 6, 16), at(2026, 3, 9, 9, 30), 2 * HOUR),
        (at(2026, 3, 7, 0), at(2026, 3, 8, 23), 0),  # all weekend
        (at(2026, 3, 2, 12), at(2026, 3, 2, 12), 0),
        (at(2026, 3, 9, 9, 30), at(2026, 3, 6, 16), -2 * HOUR),
        (at(2026, 12, 23, 8, 30), at(2026, 12, 24, 8, 30), int(5.5 * HOUR)),  # shortened day
        (at(2026, 3, 27, 0), at(2026, 3, 31, 0), 17 * HOUR),  # Fri + Mon across the change
    ],
)
def test_working_seconds_between(a, b, seconds):
    assert calendar.working_seconds_between(a, b) == seconds


def test_opening_hours_and_next_working_moment():
    assert calendar.is_open(at(2026, 3, 2, 8, 30))
    assert not calendar.is_open(at(2026, 3, 2, 17))
    assert not calendar.is_open(at(2026, 12, 23, 14, 30))
    assert calendar.next_working_moment(at(2026, 3, 2, 12)) == at(2026, 3, 2, 12)
    assert calendar.next_working_moment(at(2026, 12, 23, 15)) == at(2026, 12, 28, 8, 30)
    assert calendar.next_working_moment(at(2026, 3, 29, 3, 30).astimezone(UTC)) == at(
        2026, 3, 30, 8, 30
    )


def _random_moment(rng: random.Random) -> dt.datetime:
    """Any moment in 2026–2027, including nights, weekends, holidays and the DST hours."""
    base = dt.datetime(2026, 1, 1, tzinfo=UTC)
    moment = base + dt.timedelta(
        seconds=rng.randrange(2 * 365 * 86400), microseconds=rng.randrange(10**6)
    )
    return moment if rng.random() < 0.5 else moment.astimezone(TALLINN)


def test_add_and_between_are_inverses():
    """A seeded property test (no extra dependency): many random starts and durations."""
    rng = random.Random(20260329)
    for _ in range(1500):
        start = _random_moment(rng)
        seconds = rng.choice([rng.randrange(1, 3 * HOUR), rng.randrange(1, 15 * 8 * HOUR)])
        seconds *= rng.choice([1, -1])
        end = calendar.add_working_seconds(start, seconds)
        assert calendar.working_seconds_between(start, end) == seconds, (start, seconds)
        # The earliest such moment (forward) or the latest (backward): one microsecond less
        # working time would not do.
        nudge = dt.timedelta(microseconds=1) if seconds > 0 else -dt.timedelta(microseconds=1)
        assert abs(calendar.working_seconds_between(start, end - nudge)) < abs(seconds)


def test_between_then_add_lands_at_or_before_the_end():
    rng = random.Random(1918)
    for _ in range(1500):
        a = _random_moment(rng)
        b = a + dt.timedelta(seconds=rng.randrange(60 * 86400))
        seconds = calendar.working_seconds_between(a, b)
        landed = calendar.add_working_seconds(a, seconds)
        assert landed <= b
        # What is left between is less than one working second (the floor to whole seconds).
        assert calendar.working_seconds_between(landed, b) == 0
