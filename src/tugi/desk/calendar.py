"""The desk's business calendar: Estonian public holidays, office hours and working-time arithmetic.

SLA targets are agreed in *working* time, so every due time is computed here. The rules:

* **Public holidays** (riigipühad) come from the `holidays` package, which follows the Public
  Holidays and Days of National Importance Act (pühade ja tähtpäevade seadus) § 2: 1 Jan, 24 Feb,
  Good Friday, Easter Sunday, 1 May, Pentecost, 23 Jun, 24 Jun, 20 Aug, 24–26 Dec.
* **Office hours** are configured per weekday in ``settings.TUGI_OFFICE_HOURS`` (a mapping from
  weekday, 0 = Monday, to an ``(opening, closing)`` pair of ``"HH:MM"`` strings or ``time``
  objects; a weekday that is missing is closed). The default is Monday to Friday 08:30–17:00.
* **Shortened days.** The Employment Contracts Act (töölepingu seadus, RT I 2009, 5, 35) § 53
  shortens by three hours the working day *immediately* preceding New Year's Day, Independence Day
  (24 Feb), Victory Day (23 Jun) and Christmas Eve (24 Dec). The Labour Inspectorate reads
  "preceding" as the calendar day directly before the holiday: when that day is not a working day
  (say 23 Jun is a Sunday), no earlier day is shortened. So 23 Feb, 22 Jun, 23 Dec and 31 Dec
  close three hours early when they are working days. Sources: the Act in English,
  https://www.riigiteataja.ee/en/eli/ee/Riigikogu/act/522122023008/consolide, and the
  Inspectorate's guidance, https://tooelu.ee/en/Employer/Working-relations/Working-time-and-rest-
  period/Shortening-Working-Time-Before-National-and-State-Holidays.
* **Time zone.** Office hours are Tallinn wall-clock times. Each day's interval is built from the
  wall clock with zoneinfo and converted to UTC, and all arithmetic is done on those UTC instants,
  so a daylight-saving change (last Sunday of March and of October) never shifts a due time.
  Inputs may be in any time zone (the database hands back UTC); results are in Tallinn time.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

TALLINN = ZoneInfo("Europe/Tallinn")

DEFAULT_OFFICE_HOURS: dict[int, tuple[str, str]] = {
    weekday: ("08:30", "17:00") for weekday in range(5)
}

# Employment Contracts Act § 53 (1): the working day before these holidays is three hours shorter.
SHORTENED_BEFORE: frozenset[tuple[int, int]] = frozenset({(1, 1), (2, 24), (6, 23), (12, 24)})
SHORTENED_BY = dt.timedelta(hours=3)

_ONE_DAY = dt.timedelta(days=1)
_ONE_SECOND = dt.timedelta(seconds=1)

# Opening and closing per weekday (index 0 = Monday), None when closed; a tuple so that it can
# be part of a cache key.
OfficeHours = tuple[tuple[dt.time, dt.time] | None, ...]


# --- configuration -----------------------------------------------------------------------------


def _parse_time(value: object, weekday: int) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            pass
    raise ImproperlyConfigured(
        f"TUGI_OFFICE_HOURS[{weekday}]: {value!r} is not a time; write it as 'HH:MM'."
    )


@functools.lru_cache(maxsize=8)
def _parse_office_hours(raw: tuple[tuple[object, object], ...]) -> OfficeHours:
    parsed: dict[int, tuple[dt.time, dt.time]] = {}
    for weekday, hours in raw:
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ImproperlyConfigured(
                f"TUGI_OFFICE_HOURS: {weekday!r} is not a weekday; use 0 (Monday) to 6 (Sunday)."
            )
        if not isinstance(hours, list | tuple) or len(hours) != 2:
            raise ImproperlyConfigured(
                f"TUGI_OFFICE_HOURS[{weekday}]: give a pair (opening, closing), not {hours!r}."
            )
        opening, closing = (_parse_time(v, weekday) for v in hours)
        if opening >= closing:
            raise ImproperlyConfigured(
                f"TUGI_OFFICE_HOURS[{weekday}]: opening {opening} is not before closing {closing}."
            )
        parsed[weekday] = (opening, closing)
    if not parsed:
        raise ImproperlyConfigured("TUGI_OFFICE_HOURS: at least one weekday must be open.")
    return tuple(parsed.get(weekday) for weekday in range(7))


def office_hours() -> OfficeHours:
    """The configured weekly office hours: (opening, closing) per weekday from Monday, or None."""
    raw = getattr(settings, "TUGI_OFFICE_HOURS", None)
    if raw is None:
        raw = DEFAULT_OFFICE_HOURS
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured("TUGI_OFFICE_HOURS: give a mapping of weekday → hours.")
    # Read on every call (cheap, parsing is cached) so a settings override takes effect at once.
    return _parse_office_hours(
        tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in raw.items())
    )


# --- days --------------------------------------------------------------------------------------


@functools.cache
def _public_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("EE", years=year))


def _check_date(day: dt.date) -> None:
    # A datetime is a date too; its .date() in UTC may be another day than in Tallinn.
    if isinstance(day, dt.datetime):
        raise TypeError("pass a date; for a moment in time use local_date(moment)")


def local_date(moment: dt.datetime) -> dt.date:
    """The Tallinn calendar date of an aware moment."""
    return _tallinn(moment).date()


def is_public_holiday(day: dt.date) -> bool:
    """Whether the day is an Estonian public holiday (riigipüha)."""
    _check_date(day)
    return day in _public_holidays(day.year)


def holiday_name(day: dt.date, language: str | None = None) -> str | None:
    """The holiday's name in the given (default: the active) language, or None on other days."""
    _check_date(day)
    if not is_public_holiday(day):
        return None
    language = (language or translation.get_language() or "et").split("-")[0]
    return _holiday_names(day.year, "en_US" if language == "en" else "et").get(day)


@functools.cache
def _holiday_names(year: int, language: str) -> dict[dt.date, str]:
    return dict(holidays.country_holidays("EE", years=year, language=language))


def _is_working_day(day: dt.date, hours: OfficeHours) -> bool:
    return hours[day.weekday()] is not None and not is_public_holiday(day)


def is_working_day(day: dt.date) -> bool:
    """Whether the desk works on this day: an office weekday that is not a public holiday."""
    _check_date(day)
    return _is_working_day(day, office_hours())


def _is_shortened(day: dt.date, hours: OfficeHours) -> bool:
    following = day + _ONE_DAY
    return (following.month, following.day) in SHORTENED_BEFORE and _is_working_day(day, hours)


def is_shortened_day(day: dt.date) -> bool:
    """Whether this working day closes three hours early (Employment Contracts Act § 53)."""
    _check_date(day)
    return _is_shortened(day, office_hours())


def _working_hours(day: dt.date, hours: OfficeHours) -> tuple[dt.datetime, dt.datetime] | None:
    of_the_day = hours[day.weekday()]
    if of_the_day is None or is_public_holiday(day):
        return None
    opening_time, closing_time = of_the_day
    # Wall-clock times on this date, resolved by zoneinfo (fold=0 picks the earlier reading if a
    # configured time ever falls into a daylight-saving gap or overlap).
    opening = dt.datetime.combine(day, opening_time, tzinfo=TALLINN)
    closing = dt.datetime.combine(day, closing_time, tzinfo=TALLINN)
    if _is_shortened(day, hours):
        # Three hours off the wall-clock closing time, on the naive time so no UTC offset leaks in.
        shortened = dt.datetime.combine(day, closing_time) - SHORTENED_BY
        if shortened.date() != day or shortened.time() <= opening_time:
            return None
        closing = dt.datetime.combine(day, shortened.time(), tzinfo=TALLINN)
    return opening, closing


def working_hours(day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
    """Opening and closing on this day as aware Tallinn datetimes, or None if the desk is closed."""
    _check_date(day)
    return _working_hours(day, office_hours())


_Interval = tuple[dt.datetime, dt.datetime] | None


@functools.lru_cache(maxsize=8)
def _interval_cache(hours: OfficeHours) -> dict[dt.date, _Interval]:
    return {}


def _intervals(hours: OfficeHours) -> Callable[[dt.date], _Interval]:
    """A lookup of each day's office hours as UTC instants, for these office hours.

    The arithmetic asks for the same days over and over (the due times of every case this
    month), so each day is worked out once per configuration.
    """
    cache = _interval_cache(hours)
    if len(cache) > 50_000:  # decades of days: a runaway caller, not real use
        cache.clear()

    def interval(day: dt.date) -> _Interval:
        try:
            return cache[day]
        except KeyError:
            local = _working_hours(day, hours)
            found: _Interval = None
            if local is not None:
                found = (local[0].astimezone(dt.UTC), local[1].astimezone(dt.UTC))
            cache[day] = found
            return found

    return interval


# --- moments -----------------------------------------------------------------------------------


def _tallinn(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is naive; pass an aware datetime")
    return moment.astimezone(TALLINN)


def is_open(moment: dt.datetime) -> bool:
    """Whether the moment falls within office hours (opening inclusive, closing exclusive)."""
    interval = _intervals(office_hours())(local_date(moment))
    return interval is not None and interval[0] <= moment < interval[1]


def next_working_moment(moment: dt.datetime) -> dt.datetime:
    """The moment itself if the desk is open then, otherwise the next opening (Tallinn time)."""
    return _tallinn(moment) if is_open(moment) else _next_opening(moment)


def _next_opening(moment: dt.datetime) -> dt.datetime:
    interval_of = _intervals(office_hours())
    day = _tallinn(moment).date()
    while True:
        interval = interval_of(day)
        if interval is not None and interval[0] >= moment:
            return interval[0].astimezone(TALLINN)
        day += _ONE_DAY


def add_working_seconds(start: dt.datetime, seconds: int) -> dt.datetime:
    """The moment when `seconds` of working time have passed since `start` (Tallinn time).

    A start outside office hours counts from the next opening. The result is the *earliest* such
    moment, so a target that runs out exactly at closing is due at closing, not at the next
    opening. Zero returns `start` itself. Negative seconds count backwards: the latest moment from
    which that much working time remains until `start`.
    """
    _tallinn(start)  # refuses naive input
    interval_of = _intervals(office_hours())
    cursor = start.astimezone(dt.UTC)
    day = local_date(start)
    remaining = dt.timedelta(seconds=abs(seconds))
    if seconds == 0:
        return start.astimezone(TALLINN)
    if seconds > 0:
        while True:
            interval = interval_of(day)
            if interval is not None and cursor < interval[1]:
                begin = max(cursor, interval[0])
                available = interval[1] - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(TALLINN)
                remaining -= available
            day += _ONE_DAY
    while True:
        interval = interval_of(day)
        if interval is not None and cursor > interval[0]:
            end = min(cursor, interval[1])
            available = end - interval[0]
            if remaining <= available:
                return (end - remaining).astimezone(TALLINN)
            remaining -= available
        day -= _ONE_DAY


def working_seconds_between(a: dt.datetime, b: dt.datetime) -> int:
    """Whole seconds of working time from `a` to `b` (negative if `b` is before `a`).

    The inverse of `add_working_seconds`: ``working_seconds_between(s, add_working_seconds(s, n))
    == n`` for every start and whole number of seconds.
    """
    _tallinn(a)
    _tallinn(b)
    if b < a:
        return -working_seconds_between(b, a)
    interval_of = _intervals(office_hours())
    a_utc, b_utc = a.astimezone(dt.UTC), b.astimezone(dt.UTC)
    total = dt.timedelta(0)
    day, last = local_date(a), local_date(b)
    while day <= last:
        interval = interval_of(day)
        if interval is not None:
            begin, end = max(a_utc, interval[0]), min(b_utc, interval[1])
            if end > begin:
                total += end - begin
        day += _ONE_DAY
    # timedelta is exact to the microsecond; floor division avoids float rounding down to n - 1.
    return total // _ONE_SECOND
