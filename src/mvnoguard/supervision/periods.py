"""Reporting periods: a year (2016), a quarter (2016-Q3) or a month (2016-07), and the one before.

A period is the half-open date range [start, end); the previous period is the one of the same
length just before it, for trends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from mvnoguard.errors import InvalidInput

# ASCII digits only: ``\d`` (and ``int``) would read full-width or Arabic-Indic digits as the
# same number under another label, a period of its own to every query and case.
_PATTERN = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$", re.ASCII)
FIRST_YEAR, LAST_YEAR = 1901, 2999


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date

    def previous(self) -> Period:
        year, quarter, month = _parts(self.label)
        if month is not None:
            y, m = (year, month - 1) if month > 1 else (year - 1, 12)
            return _period(f"{y:04d}-{m:02d}")
        if quarter is not None:
            y, q = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
            return _period(f"{y:04d}-Q{q}")
        return _period(f"{year - 1:04d}")

    @property
    def chinese(self) -> str:
        year, quarter, month = _parts(self.label)
        if month is not None:
            return f"{year}年{month}月"
        if quarter is not None:
            return f"{year}年第{quarter}季度"
        return f"{year}年"


def _parts(label: str) -> tuple[int, int | None, int | None]:
    match = _PATTERN.match(label)
    if match is None:
        raise InvalidInput(
            f"period {label!r} is not YYYY, YYYY-Qn or YYYY-MM", code="bad_period", field="period"
        )
    year = int(match.group(1))
    quarter = int(match.group(2)) if match.group(2) else None
    month = int(match.group(3)) if match.group(3) else None
    if month is not None and not 1 <= month <= 12:
        raise InvalidInput(
            f"period {label!r} has no month {month}", code="bad_period", field="period"
        )
    return year, quarter, month


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def parse_period(label: str) -> Period:
    """The period a user names; its year is from 1901 to 2999, so that the period before it
    (for trends) and the date after it are dates too."""
    year = _parts(label.strip())[0]
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            f"period {label.strip()!r} is not within {FIRST_YEAR} to {LAST_YEAR}",
            code="bad_period",
            field="period",
        )
    return _period(label)


def _period(label: str) -> Period:
    year, quarter, month = _parts(label.strip())
    if month is not None:
        return Period(label.strip(), date(year, month, 1), _month_start(year, month + 1))
    if quarter is not None:
        first = 3 * (quarter - 1) + 1
        return Period(label.strip(), date(year, first, 1), _month_start(year, first + 3))
    return Period(label.strip(), date(year, 1, 1), date(year + 1, 1, 1))
