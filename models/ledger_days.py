"""A location's ledger summed by local day, kind, source and sign: what the reports read.

A closed day (over by `MARGIN`, see `domain.reports.closed_until`) is summed once from the
entries, the first time a report needs it, into `ledger_days` (`models.tables.wallet.LedgerDay`),
and read from there ever after: a year of a busy location's reports reads a few thousand summed
rows instead of a million entries. The days not closed yet (today, and yesterday for its first
hour) are summed from the entries on every call.

Filling is safe to run twice at once: a day's rows and its marker row (kind "") are written in
one transaction, and a row already there is left as it is (both writers computed the same sums
from the same immutable entries).

Local days: PostgreSQL reads an instant in the location's time zone itself (`AT TIME ZONE`);
SQLite, which knows no time zones, is given the location's UTC offsets over the range, split
where the clock changes (`domain.reports.offset_spans`), so both put an entry on the same day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.reports import (
    LedgerSum,
    OffsetSpan,
    closed_until,
    day_bounds,
    offset_spans,
    runs_of,
)
from models import sql
from models.db import transaction

MARGIN = timedelta(hours=1)
_INSERT_ROWS = 400  # rows per INSERT statement (SQLite allows 32,766 parameters)
_MARKER = ""


def _local_day(spans: list[OffsetSpan], column: str) -> str:
    """The local date of the instant in `column`, on this engine (see the module)."""
    if sql.dialect().numbered:
        return f"({column} AT TIME ZONE $4)::date"
    cases = " ".join(
        f"WHEN {column} < '{_text_time(span.until)}' THEN {_shifted(column, span.minutes)}"
        for span in spans
        if span.until is not None
    )
    last = _shifted(column, spans[-1].minutes)
    return f"(CASE {cases} ELSE {last} END)" if cases else last


def _shifted(column: str, minutes: int) -> str:
    return f"date({column}, '{minutes:+d} minutes')"


def _text_time(moment: datetime) -> str:
    """An instant as SQLite stores it (`isoformat(" ")` in UTC)."""
    return moment.astimezone(UTC).isoformat(" ")


def _sum_of(row: Any) -> LedgerSum:
    return LedgerSum(
        day=sql.day(row["day"]),
        kind=row["kind"],
        source=row["source"],
        positive=bool(row["positive"]),
        delta=sql.joined(row, "delta"),
        requested=sql.joined(row, "requested"),
    )


async def entry_sums(location_id: UUID, timezone: str, first: date, last: date) -> list[LedgerSum]:
    """The location's entries dated on the local days `first` to `last`, summed."""
    start, _ = day_bounds(first, timezone)
    _, end = day_bounds(last, timezone)
    spans = offset_spans(start, end, timezone)
    statement = f"""
    SELECT {_local_day(spans, "created_at")} AS day, kind, source, delta > 0 AS positive,
           {sql.split_sum("delta", "delta")}, {sql.split_sum("requested", "requested_amount")}
    FROM wallet_entries
    WHERE location_id = $1 AND created_at >= $2 AND created_at < $3
    GROUP BY 1, 2, 3, 4
    """
    values: list[object] = [location_id, start.astimezone(UTC), end.astimezone(UTC)]
    if sql.dialect().numbered:
        values.append(timezone)
    return [_sum_of(row) for row in await sql.fetch(sql.pool(), statement, values)]


_SUMMED = """
SELECT day, kind, source, positive, delta_high, delta_low, requested_high, requested_low
FROM ledger_days
WHERE location_id = $1 AND timezone = $2 AND day >= $3 AND day <= $4 AND kind <> ''
"""

_SUMMED_DAYS = """
SELECT day FROM ledger_days
WHERE location_id = $1 AND timezone = $2 AND day >= $3 AND day <= $4 AND kind = ''
"""

_COLUMNS = (
    "location_id, timezone, day, kind, source, positive, delta_high, delta_low, "
    "requested_high, requested_low"
)


async def day_sums(
    location_id: UUID, timezone: str, first: date, last: date, now: datetime
) -> list[LedgerSum]:
    """The location's ledger on the local days `first` to `last`, summed by day, kind, source
    and sign: closed days from `ledger_days` (summed now if they were not yet), the others
    from the entries."""
    if last < first:
        return []
    closed = min(last, closed_until(now, timezone, MARGIN))
    sums: list[LedgerSum] = []
    if first <= closed:
        await _fill(location_id, timezone, first, closed)
        rows = await sql.fetch(sql.pool(), _SUMMED, [location_id, timezone, first, closed])
        sums += [_sum_of(row) for row in rows]
    open_from = max(first, closed + timedelta(days=1))
    if open_from <= last:
        sums += await entry_sums(location_id, timezone, open_from, last)
    return sums


async def _fill(location_id: UUID, timezone: str, first: date, last: date) -> None:
    """Sum the closed days from `first` to `last` that are not summed yet."""
    rows = await sql.fetch(sql.pool(), _SUMMED_DAYS, [location_id, timezone, first, last])
    summed = {sql.day(row["day"]) for row in rows}
    missing = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    for start, end in runs_of(day for day in missing if day not in summed):
        sums = await entry_sums(location_id, timezone, start, end)
        markers = [
            LedgerSum(start + timedelta(days=n), _MARKER, _MARKER, False, 0)
            for n in range((end - start).days + 1)
        ]
        written = [*sums, *markers]
        async with transaction() as db:
            for at in range(0, len(written), _INSERT_ROWS):
                await _insert(db, location_id, timezone, written[at : at + _INSERT_ROWS])


async def _insert(db: Any, location_id: UUID, timezone: str, batch: list[LedgerSum]) -> None:
    mark = sql.dialect().mark
    values: list[object] = []
    rows = []
    for item in batch:
        first = len(values) + 1
        rows.append("(" + ", ".join(mark(first + n) for n in range(10)) + ")")
        values += [
            location_id,
            timezone,
            item.day,
            item.kind,
            item.source,
            item.positive,
            *_parts(item.delta),
            *_parts(item.requested),
        ]
    statement = (
        f"INSERT INTO ledger_days ({_COLUMNS}) VALUES {', '.join(rows)} "
        "ON CONFLICT (location_id, timezone, day, kind, source, positive) DO NOTHING"
    )
    await sql.execute(db, statement, values)


def _parts(amount: int) -> tuple[int, int]:
    """`amount` as the two parts `sql.split_sum` sums it in: the quotient and the remainder by
    `sql.SPLIT`, both with the sign of `amount` (as SQL's `/` and `%` keep it)."""
    high, low = divmod(abs(amount), sql.SPLIT)
    return (high, low) if amount >= 0 else (-high, -low)


async def first_entry_day(location_id: UUID, timezone: str) -> date | None:
    """The local day of the location's first entry; None before any."""
    rows = await sql.fetch(
        sql.pool(),
        "SELECT MIN(created_at) AS first FROM wallet_entries WHERE location_id = $1",
        [location_id],
    )
    first: datetime | None = sql.time(rows[0]["first"])
    if first is None:
        return None
    return first.astimezone(ZoneInfo(timezone)).date()
