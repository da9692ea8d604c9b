"""Dates as the rules see them: China Standard Time (UTC+8, no daylight saving since 1991).

Rules take effect on calendar dates, and a sign-up at 23:30 Beijing time belongs to that
Beijing date, whatever the UTC date. Timestamps without a zone are read as Beijing time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from mvnoguard.errors import InvalidInput

CHINA_TZ = timezone(timedelta(hours=8), "CST")
# A clock a little ahead of ours is not a moment in the future.
CLOCK_SKEW = timedelta(minutes=5)


def as_aware(moment: datetime) -> datetime:
    """A zone-less timestamp is Beijing time; an aware one is kept as it is."""
    return moment.replace(tzinfo=CHINA_TZ) if moment.tzinfo is None else moment


def local_date(moment: datetime) -> date:
    return as_aware(moment).astimezone(CHINA_TZ).date()


def utc_now() -> datetime:
    return datetime.now(UTC)


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def not_in_future(moment: datetime, *, now: datetime, what: str, field: str) -> datetime:
    """``moment`` (aware) when it is not later than ``now`` (give or take the clock skew);
    otherwise ``InvalidInput`` (code ``future_time``) saying ``what`` may not be in the future."""
    aware = as_aware(moment)
    if aware > as_aware(now) + CLOCK_SKEW:
        raise InvalidInput(f"{what} cannot be in the future", code="future_time", field=field)
    return aware
