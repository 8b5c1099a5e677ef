"""What the location's lots that expire held at the end of a past day, by expiry day: the
nearer week end's amounts, and the changes between.

A lot that expires holds its amount from the instant it is made, less what each debit takes
from it (a take is written with its debit entry), less its EXPIRE entry; nothing else changes
it. A refund's give-back is a lot of its own, made with the refund's entry, so a take counts
whole whatever was restored of it since. So what the lots of one expiry day held at an instant
is the sum of the lots made before it, less the takes of the debits written before it, less the
EXPIRE entries written before it: a lot whose expiry day had ended but whose EXPIRE entry was
written later (the check was late) still held its remainder at that instant.

A week (Monday to Sunday, in the location's time zone) that is over (by
`models.ledger_days.MARGIN`) has these sums written once into `expiring_at_week_end`, the first
time a report needs them: the week before's plus the week's changes, read through the week's
entries and lots, so that writing a week reads one week. A past day's sums then read one week
end and at most half a week of changes (forward from the Sunday before, or back from the one
after), however long the ledger: a day's debits are each joined to the lot they took from, so
the fewer days, the faster. Writing is safe to run twice at once, as `models.month_ends` is: a
week's rows and its marker row (expiry day `MARKER`) go in one transaction, and a row already
there is left.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from domain.reports import closed_until, day_bounds
from models import expiry, sql
from models.db import transaction
from models.ledger_days import MARGIN

MARKER = date(1, 1, 1)  # the expiry day of a written week's marker row
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NONE_BEFORE = date(1970, 1, 4)  # a week end (a Sunday) before every ledger: no rows
_WEEK = timedelta(days=7)


def week_end_before(day: date) -> date:
    """The last Sunday before `day`, or `day` itself when it is a Sunday."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _end_of(day: date, timezone: str) -> datetime:
    return day_bounds(day, timezone)[1].astimezone(UTC)


# What the lots that expire held at the week end $3, by expiry day, and with the sign $7 (1 or
# -1) what changed them between the instants $4 (inclusive) and $5: the lots made, the takes of
# the debits written (found by entry), the EXPIRE entries written (their lot found from the
# source id). Forward from the week end before, or back from the one after.
_FROM_MONTH_END = """
SELECT expires_on, amount FROM expiring_at_week_end
WHERE location_id = $1 AND timezone = $2 AND week_end = $3 AND expires_on <> $6
UNION ALL
SELECT expires_on, $7 * amount FROM credit_lots
WHERE location_id = $1 AND expires_on IS NOT NULL AND created_at >= $4 AND created_at < $5
UNION ALL
SELECT l.expires_on, -$7 * t.amount FROM wallet_entries d
JOIN credit_lot_takes t ON t.entry_id = d.id
JOIN credit_lots l ON l.id = t.lot_id
WHERE d.location_id = $1 AND d.created_at >= $4 AND d.created_at < $5 AND d.delta < 0
    AND l.expires_on IS NOT NULL
UNION ALL
SELECT l.expires_on, $7 * e.delta FROM wallet_entries e
JOIN credit_lots l ON l.id = {lot}
WHERE e.location_id = $1 AND e.created_at >= $4 AND e.created_at < $5 AND e.kind = 'EXPIRE'
    AND l.expires_on IS NOT NULL
"""

_WRITTEN = """
SELECT MAX(week_end) AS week_end FROM expiring_at_week_end
WHERE location_id = $1 AND timezone = $2 AND expires_on = $3 AND week_end <= $4
"""

_WRITE = """
INSERT INTO expiring_at_week_end (location_id, timezone, week_end, expires_on, amount)
SELECT $1, $2, $8, expires_on, SUM(amount) FROM ({since}) AS week
GROUP BY expires_on
HAVING SUM(amount) <> 0
ON CONFLICT (location_id, timezone, week_end, expires_on) DO NOTHING
"""

_MARK = """
INSERT INTO expiring_at_week_end (location_id, timezone, week_end, expires_on, amount)
VALUES ($1, $2, $3, $4, 0)
ON CONFLICT (location_id, timezone, week_end, expires_on) DO NOTHING
"""

_AT = """
SELECT expires_on, {split} FROM ({since}) AS since
GROUP BY expires_on
"""


def _since() -> str:
    return _FROM_MONTH_END.format(lot=expiry.lot_of_source_id("e.source_id"))


async def written_through(
    location_id: UUID, timezone: str, week_end: date, first_day: date, now: datetime
) -> date | None:
    """Write the week ends from the last one written up to `week_end` (when it is closed);
    the latest week end written, on or before `week_end` (None: none, the ledger's first
    week, from `first_day`, is not over)."""
    closed = closed_until(now, timezone, MARGIN)
    target = week_end if week_end <= closed else week_end_before(closed)
    first = week_end_before(first_day - timedelta(days=1)) + _WEEK  # the first entry's week's
    if target < first:
        return None
    rows = await sql.fetch(sql.pool(), _WRITTEN, [location_id, timezone, MARKER, target])
    written: date | None = sql.day(rows[0]["week_end"])
    week = first if written is None else written + _WEEK
    statement = _WRITE.format(since=_since())
    while week <= target:
        start = _end_of(written, timezone) if written is not None else _EPOCH
        before = written or _NONE_BEFORE
        async with transaction() as db:
            end = _end_of(week, timezone)
            values = [location_id, timezone, before, start, end, MARKER, 1, week]
            await sql.execute(db, statement, values)
            await sql.execute(db, _MARK, [location_id, timezone, week, MARKER])
        written, week = week, week + _WEEK
    return written


async def expiring_at(
    location_id: UUID, timezone: str, end: datetime, before: date | None, after: date | None
) -> list[tuple[date, int]]:
    """What the location's lots that expire held at the instant `end`, by expiry day; days
    that held nothing are left out. From the nearer of two written week ends: `before`'s (the
    last before `end`; None: from the first entry) and the changes since, or `after`'s (the
    first after `end`, None when it is not written) less the changes between."""
    start = _end_of(before, timezone) if before is not None else _EPOCH
    values: list[object] = [location_id, timezone, before or _NONE_BEFORE, start, end, MARKER, 1]
    if after is not None:
        following = _end_of(after, timezone)
        if following - end < end - start:
            values = [location_id, timezone, after, end, following, MARKER, -1]
    statement = _AT.format(since=_since(), split=sql.split_sum("amount", "amount"))
    rows = await sql.fetch(sql.pool(), statement, values)
    found = [(sql.day(row["expires_on"]), sql.joined(row, "amount")) for row in rows]
    return sorted((day, amount) for day, amount in found if amount)


async def at_days_end(
    location_id: UUID, timezone: str, day: date, first_day: date, now: datetime
) -> list[tuple[date, int]]:
    """What the location's lots that expire held at the end of the past `day`, by expiry day,
    from the nearer of the week ends around it (the one after only when its week is over),
    written first if they are not yet; `first_day` is the day of the location's first entry."""
    week_before = week_end_before(day)
    after = week_before + _WEEK
    written = await written_through(location_id, timezone, after, first_day, now)
    end = _end_of(day, timezone)
    if written is None or written < after:
        return await expiring_at(location_id, timezone, end, written, None)
    first = week_end_before(first_day - timedelta(days=1)) + _WEEK
    before = week_before if week_before >= first else None
    return await expiring_at(location_id, timezone, end, before, after)
