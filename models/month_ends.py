"""Each customer's balance at the end of a past day: the last month end's, plus the entries
since.

A month that is over (by `models.ledger_days.MARGIN`) has its customers' balances written once
into `balances_at_month_end`, the first time a report needs them: the month before's balances
plus the month's entries, summed by the database, so that writing a month reads one month of
the ledger. A past day's balances then read one month end and at most a month of entries,
however long the ledger.

Writing is safe to run twice at once: a month's rows and its marker row (the nil customer id)
are written in one transaction, and a row already there is left as it is (both writers summed
the same immutable entries).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from domain.reports import closed_until, day_bounds
from models import sql
from models.db import transaction
from models.ledger_days import MARGIN

NIL = UUID(int=0)


def month_end_before(day: date) -> date:
    """The last day of the month before `day`'s, or `day` itself when it ends its month."""
    if (day + timedelta(days=1)).month != day.month:
        return day
    return day.replace(day=1) - timedelta(days=1)


def next_month_end(month_end: date) -> date:
    first = month_end + timedelta(days=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _end_of(day: date, timezone: str) -> datetime:
    return day_bounds(day, timezone)[1].astimezone(UTC)


_WRITTEN = """
SELECT MAX(month_end) AS month_end FROM balances_at_month_end
WHERE location_id = $1 AND timezone = $2 AND customer_id = $3 AND month_end <= $4
"""

# A month's balances: the month before's (none before the first) and the month's entries.
_WRITE = """
INSERT INTO balances_at_month_end (location_id, timezone, month_end, customer_id, balance)
SELECT $1, $2, $3, customer_id, SUM(amount) FROM (
    SELECT customer_id, balance AS amount FROM balances_at_month_end
    WHERE location_id = $1 AND timezone = $2 AND month_end = $4 AND customer_id <> $7
    UNION ALL
    SELECT customer_id, delta AS amount FROM wallet_entries
    WHERE location_id = $1 AND created_at >= $5 AND created_at < $6
) AS month
GROUP BY customer_id
HAVING SUM(amount) <> 0
ON CONFLICT (location_id, timezone, month_end, customer_id) DO NOTHING
"""

_MARK = """
INSERT INTO balances_at_month_end (location_id, timezone, month_end, customer_id, balance)
VALUES ($1, $2, $3, $4, 0)
ON CONFLICT (location_id, timezone, month_end, customer_id) DO NOTHING
"""


async def written_through(
    location_id: UUID, timezone: str, month_end: date, first_day: date, now: datetime
) -> date | None:
    """Write the month ends from the last one written up to `month_end` (when it is closed);
    the latest month end written, on or before `month_end` (None: none, the ledger's first
    month is not over)."""
    closed = closed_until(now, timezone, MARGIN)
    target = month_end if month_end <= closed else month_end_before(closed)
    first = next_month_end(first_day - timedelta(days=1))  # the end of the first entry's month
    if target < first:
        return None
    rows = await sql.fetch(sql.pool(), _WRITTEN, [location_id, timezone, NIL, target])
    written: date | None = sql.day(rows[0]["month_end"])
    month = first if written is None else next_month_end(written)
    while month <= target:
        start = (
            _end_of(written, timezone) if written is not None else datetime(1970, 1, 1, tzinfo=UTC)
        )
        before = written or date(1970, 1, 31)
        async with transaction() as db:
            values = [location_id, timezone, month, before, start, _end_of(month, timezone), NIL]
            await sql.execute(db, _WRITE, values)
            await sql.execute(db, _MARK, [location_id, timezone, month, NIL])
        written, month = month, next_month_end(month)
    return written


# Each customer's balance at an instant: the month end's and the entries since.
BALANCES_AT = """
SELECT customer_id AS id, SUM(amount) AS balance FROM (
    SELECT customer_id, balance AS amount FROM balances_at_month_end
    WHERE location_id = $1 AND timezone = $3 AND month_end = $4 AND customer_id <> $6
    UNION ALL
    SELECT customer_id, delta AS amount FROM wallet_entries
    WHERE location_id = $1 AND created_at >= $5 AND created_at < $2
) AS since
GROUP BY customer_id
"""


def balances_at_values(
    location_id: UUID, end: datetime, timezone: str, month_end: date | None
) -> list[object]:
    """The parameters of `BALANCES_AT` for the balances at `end` from `month_end`'s (None:
    from the first entry)."""
    since = (
        _end_of(month_end, timezone) if month_end is not None else datetime(1970, 1, 1, tzinfo=UTC)
    )
    return [location_id, end, timezone, month_end or date(1970, 1, 31), since, NIL]
