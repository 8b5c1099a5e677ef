"""The rules of the owner's reports, as arithmetic on dates and sums.

A report covers calendar days in the location's time zone, `start` to `end` inclusive. The
database sums the ledger by local day, entry kind, source and the sign of the delta
(`LedgerSum`); this module turns those sums into the report's columns (`activity_row`) and
rolls days into weeks (starting on Monday) or months (`period_start`). Every column is a
positive amount of credits, and the columns account for every entry: what was issued and
returned, less what left the wallet, is the change of the balances (`ActivityTotals.net`).

A date range is parsed once (`parse_range`): the end not before the start, and at most
`MAX_DAYS` days, so that no report reads an unbounded stretch of the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.errors import ErrorCode, Validator
from domain.messages import Message, msg

MAX_DAYS = 3 * 366 + 1  # three years and a day: a report compares at most three years
# The days a report may name: wide enough for any ledger, narrow enough that a day's bounds in
# any time zone are instants Python can hold.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(9998, 12, 31)
MAX_TOP_CUSTOMERS = 100
DAYS_AHEAD = 30  # the liability report's look at scheduled top-ups


class ReportInterval(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    def days(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)


def parse_range(start: date, end: date, *, fields: tuple[str, str] = ("from", "to")) -> DateRange:
    """The range `start`..`end` (inclusive), or a `DomainError` naming the field at fault."""
    checks = Validator()
    for day, name in zip((start, end), fields, strict=True):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            checks.add(ErrorCode.INVALID, name, _out_of_range())
    if checks.errors:
        checks.check()
    if end < start:
        checks.add(ErrorCode.INVALID, fields[1], msg("report.end_before_start"))
    elif (end - start).days + 1 > MAX_DAYS:
        checks.add(ErrorCode.INVALID, fields[1], msg("report.range_too_long", days=MAX_DAYS))
    checks.check()
    return DateRange(start, end)


def _out_of_range() -> Message:
    return msg(
        "report.day_out_of_range",
        earliest=EARLIEST_DAY.isoformat(),
        latest=LATEST_DAY.isoformat(),
    )


def parse_day(day: date, field_name: str) -> date:
    """A single day a report is for, within the days a report may name."""
    checks = Validator()
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        checks.add(ErrorCode.INVALID, field_name, _out_of_range())
    checks.check()
    return day


def parse_first(first: int, field_name: str = "first") -> int:
    checks = Validator()
    if not 1 <= first <= MAX_TOP_CUSTOMERS:
        checks.add(
            ErrorCode.INVALID, field_name, msg("report.first_out_of_range", most=MAX_TOP_CUSTOMERS)
        )
    checks.check()
    return first


def period_start(day: date, interval: ReportInterval) -> date:
    """The first day of the day's, week's (Monday) or month's period."""
    match interval:
        case ReportInterval.DAY:
            return day
        case ReportInterval.WEEK:
            return day - timedelta(days=day.weekday())
        case ReportInterval.MONTH:
            return day.replace(day=1)


def period_starts(span: DateRange, interval: ReportInterval) -> list[date]:
    """The periods a range touches, in order: every one of them is a row of the report, also
    one without a single entry."""
    starts: list[date] = []
    for day in span.days():
        start = period_start(day, interval)
        if not starts or starts[-1] != start:
            starts.append(start)
    return starts


def closed_until(now: datetime, timezone: str, margin: timedelta) -> date:
    """The last local day that is over by `margin` at `now`: no transaction that was under way
    when it ended can still be writing an entry dated in it."""
    return (now - margin).astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def runs_of(days: Iterable[date]) -> list[tuple[date, date]]:
    """Days as runs of consecutive days, first and last of each, in order."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


@dataclass(frozen=True)
class LedgerTotals:
    """A location's ledger summed up to a day's end: what the balances and debts were then."""

    outstanding: int  # the deltas of every entry
    owed: int  # reversals' shortfalls (requested + delta) less what clawbacks paid off
    released: int  # held cashback made spendable (CASHBACK_RELEASE, requested)


def ledger_totals(sums: Iterable[LedgerSum]) -> LedgerTotals:
    outstanding = owed = released = 0
    for item in sums:
        outstanding += item.delta
        if item.kind == "CASHBACK_REVERSAL":
            owed += item.requested + item.delta
        elif item.kind == "CLAWBACK":
            owed -= item.requested
        elif item.kind == "CASHBACK_RELEASE":
            released += item.requested
    return LedgerTotals(outstanding, owed, released)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The instants a local day starts and ends (exclusive), in the location's time zone; a
    day of a clock change is 23 or 25 hours long."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, datetime.min.time(), zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    return start, end


@dataclass(frozen=True)
class OffsetSpan:
    """A stretch of time over which the location's clock is `minutes` ahead of UTC."""

    until: datetime | None  # exclusive; None: to the end of the range
    minutes: int


def offset_spans(start: datetime, end: datetime, timezone: str) -> list[OffsetSpan]:
    """The location's UTC offsets between two instants, split where the clock changes: what
    a database without time zones needs to read an instant as a local date. Clocks change at
    most a few times a year, so the offset is looked at once a day and a change is found to the
    minute within that day."""
    zone = ZoneInfo(timezone)
    spans: list[OffsetSpan] = []
    step = timedelta(days=1)
    current = _offset_minutes(start, zone)
    moment = start
    while moment < end:
        following = min(moment + step, end)
        offset = _offset_minutes(following, zone)
        if offset != current:
            spans.append(OffsetSpan(_change_instant(moment, following, zone), current))
            current = offset
        moment = following
    spans.append(OffsetSpan(None, current))
    return spans


def _offset_minutes(moment: datetime, zone: ZoneInfo) -> int:
    offset = moment.astimezone(zone).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def _change_instant(low: datetime, high: datetime, zone: ZoneInfo) -> datetime:
    """The first minute in (low, high] with `high`'s offset (clocks change on whole minutes)."""
    target = _offset_minutes(high, zone)
    minute = timedelta(minutes=1)
    while high - low > minute:
        middle = low + (high - low) // 2
        middle = middle.replace(second=0, microsecond=0)
        if middle <= low:
            middle = low + minute
        if _offset_minutes(middle, zone) == target:
            high = middle
        else:
            low = middle
    return high


# ----------------------------------------------------------------------------- activity


@dataclass(frozen=True)
class LedgerSum:
    """The deltas of one local day's entries of one kind, source and sign (positive: the delta
    is above zero), summed."""

    day: date
    kind: str
    source: str
    positive: bool
    delta: int
    requested: int = 0  # the entries' requested amounts, summed


@dataclass
class ActivityTotals:
    """A period's movements of credits, each a positive amount."""

    issued_manual: int = 0
    issued_bulk: int = 0
    issued_schedule: int = 0
    issued_cashback: int = 0
    refunded: int = 0  # credits given back by refunds of sales
    undone_in: int = 0  # credits given back by undoing an operation that took them
    redeemed: int = 0
    expired: int = 0
    cashback_reversed: int = 0
    reduced: int = 0  # REDUCE, and SET to a lower balance
    clawed_back: int = 0
    written_off: int = 0
    undone_out: int = 0  # credits taken back by undoing an operation that gave them

    @property
    def net(self) -> int:
        """The change of the balances over the period."""
        incoming = (
            self.issued_manual
            + self.issued_bulk
            + self.issued_schedule
            + self.issued_cashback
            + self.refunded
            + self.undone_in
        )
        outgoing = (
            self.redeemed
            + self.expired
            + self.cashback_reversed
            + self.reduced
            + self.clawed_back
            + self.written_off
            + self.undone_out
        )
        return incoming - outgoing

    def add(self, other: ActivityTotals) -> None:
        for column in fields(self):
            setattr(self, column.name, getattr(self, column.name) + getattr(other, column.name))


_ISSUED_BY_SOURCE = {
    "MANUAL": "issued_manual",
    "BULK": "issued_bulk",
    "SCHEDULE": "issued_schedule",
}

# Where each kind's delta goes: a column for its increases and one for its decreases.
_COLUMNS: dict[str, tuple[str | None, str | None]] = {
    "REDEEM": (None, "redeemed"),
    "REFUND": ("refunded", None),
    "CASHBACK": ("issued_cashback", None),
    "CASHBACK_RELEASE": ("issued_cashback", None),
    "CASHBACK_REVERSAL": (None, "cashback_reversed"),
    "CLAWBACK": (None, "clawed_back"),
    "WRITE_OFF": (None, "written_off"),
    "EXPIRE": (None, "expired"),
    "REDUCE": (None, "reduced"),
    "UNDO": ("undone_in", "undone_out"),
}


def _column(item: LedgerSum) -> str:
    if item.kind in ("ADD", "SET"):
        if item.positive:
            return _ISSUED_BY_SOURCE.get(item.source, "issued_manual")
        return "reduced"
    increase, decrease = _COLUMNS.get(item.kind, (None, None))
    column = increase if item.positive else decrease
    if column is None:
        raise ValueError(f"a {item.kind} entry cannot move a balance that way: {item.delta}")
    return column


def activity(
    sums: Iterable[LedgerSum], span: DateRange, interval: ReportInterval
) -> list[tuple[date, ActivityTotals]]:
    """The report's rows: one per period the range touches, in order."""
    rows = {start: ActivityTotals() for start in period_starts(span, interval)}
    for item in sums:
        if not span.start <= item.day <= span.end or item.delta == 0:
            continue
        totals = rows[period_start(item.day, interval)]
        column = _column(item)
        setattr(totals, column, getattr(totals, column) + abs(item.delta))
    return list(rows.items())


# ----------------------------------------------------------------------------- liability


@dataclass(frozen=True)
class ScheduledTopUp:
    """A live schedule's next periods, for the liability report's look ahead."""

    operation: str  # ADD or SET (a REDUCE credits nothing)
    amount: int
    periods: int  # how many of its periods fall in the next `DAYS_AHEAD` days
    customers: int
    shortfall: int  # SET: what its first period would add to today's balances


def scheduled_amount(top_ups: Iterable[ScheduledTopUp]) -> int:
    """What live schedules would credit over the next days: an ADD its amount per customer and
    period; a SET what its first period adds to today's balances, and for each later period at
    most its amount per customer (a customer who spends it all is topped up in full)."""
    total = 0
    for top_up in top_ups:
        if top_up.periods <= 0:
            continue
        if top_up.operation == "ADD":
            total += top_up.amount * top_up.customers * top_up.periods
        elif top_up.operation == "SET":
            total += top_up.shortfall + top_up.amount * top_up.customers * (top_up.periods - 1)
    return total


@dataclass(frozen=True)
class ExpiryBucket:
    month: str | None  # "2027-01"; None: credits that never expire
    amount: int


def expiry_month(day: date | None) -> str | None:
    return None if day is None else f"{day.year:04d}-{day.month:02d}"


def expiry_buckets(expiring: Iterable[tuple[date, int]], outstanding: int) -> list[ExpiryBucket]:
    """What is held by the month it expires, soonest first, then what never expires: the rest
    of the outstanding credit (the lots always sum to the balances)."""
    months: dict[str, int] = {}
    for day, amount in expiring:
        month = expiry_month(day)
        assert month is not None
        months[month] = months.get(month, 0) + amount
    buckets = [ExpiryBucket(month, months[month]) for month in sorted(months) if months[month]]
    never = outstanding - sum(months.values())
    return [*buckets, ExpiryBucket(None, never)] if never else buckets


@dataclass(frozen=True)
class Liability:
    at: date
    outstanding: int
    held: int
    owed: int
    by_group: tuple[tuple[UUID | None, int, int], ...] = field(default=())  # group id, sum, count
    by_expiry: tuple[ExpiryBucket, ...] = field(default=())
    scheduled: int = 0
