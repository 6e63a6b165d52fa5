"""The reporting period: a calendar year in China Standard Time (UTC+08:00), the one rule for which year a record
or a block belongs to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")
FIRST_YEAR, LAST_YEAR = 2000, 2200  # the years a maximum or a report may name


def year_of(at: datetime | str | int) -> int:
    """The year of an ISO time, a datetime (naive = UTC) or unix seconds, in China Standard Time."""
    if isinstance(at, int):
        moment = datetime.fromtimestamp(at, UTC)
    elif isinstance(at, str):
        moment = datetime.fromisoformat(at)
    else:
        moment = at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CST).year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[start, end) of `year` as UTC datetimes."""
    return (datetime(year, 1, 1, tzinfo=CST).astimezone(UTC), datetime(year + 1, 1, 1, tzinfo=CST).astimezone(UTC))
