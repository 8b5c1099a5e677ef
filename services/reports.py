"""The owner's reports (ADMIN): what the location owes in credits, how credits moved, what
discounts cost, and who used credits most.

Every figure comes from the ledger, the customers' stored balances or the sales, summed by the
database (`models.reports`); the rules that turn sums into a report's rows are
`domain.reports`'. Days are the location's calendar days, in its time zone: a report "from" a
date "to" a date covers both, whole.

Liability at a past day's end is read from the ledger (the balances are the sum of the entries
written before that instant; what is held and owed from the sales, their refunds and the
reversal entries); at today's end, from the balances stored now, which equal it (a test checks
both on generated data). The groups are today's: a customer in two groups counts in both.

The split by expiry month comes from the credit lots: today from what they hold now; at a past
day's end from what each held then, its amount less what the debits written before that instant
took from it and less its EXPIRE entry if written by then (`models.expiring_week_ends`: the
nearer week end's sums and the changes between). A lot whose expiry day had ended but that the
expiry check had not yet expired held its credits at that instant and counts under its month.
What no expiring lot held (credits without expiry, and every credit before lots were kept, in
0013) counts as never expiring: the outstanding less the months, so that the split always sums
to the outstanding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, timedelta
from uuid import UUID

from domain import entities
from domain.access import Principal
from domain.errors import ErrorCode, fail
from domain.messages import msg
from domain.reports import (
    DAYS_AHEAD,
    ActivityTotals,
    Liability,
    ReportInterval,
    ScheduledTopUp,
    activity,
    day_bounds,
    expiry_buckets,
    ledger_totals,
    parse_day,
    parse_first,
    parse_range,
    scheduled_amount,
)
from domain.schedule import due_indices, local_today
from models import expiring_week_ends, ledger_days, month_ends
from models import reports as report_repository
from models import schedules as schedule_repository
from models.month_ends import month_end_before
from services.runtime import Runtime


async def _location(runtime: Runtime, principal: Principal) -> entities.Location:
    return await runtime.stores.locations.get(principal.location_id)


async def activity_report(
    runtime: Runtime, principal: Principal, start: date, end: date, interval: ReportInterval
) -> list[tuple[date, ActivityTotals]]:
    """Credits issued by source, redeemed, refunded, expired, reversed, reduced, clawed back,
    written off and undone, per day, week (from Monday) or month."""
    span = parse_range(start, end)
    location = await _location(runtime, principal)
    sums = await ledger_days.day_sums(
        location.id, location.timezone, span.start, span.end, runtime.clock()
    )
    return activity(sums, span, interval)


async def liability_report(runtime: Runtime, principal: Principal, at: date | None) -> Liability:
    """What the location owes its customers in credits at the end of the day `at` (today by
    default; a day to come is refused: its balances are not known yet), with what of it
    expires in each month and what never does (see the module)."""
    location = await _location(runtime, principal)
    today = local_today(runtime.clock(), location.timezone)
    day = today if at is None else parse_day(at, "at")
    if day > today:
        raise fail(ErrorCode.INVALID, "at", msg("report.at_in_future"))
    if day == today:
        balances = await report_repository.balances_now(location.id)
        groups = await report_repository.by_group(location.id, None)
        expiring = await report_repository.expiring_by_day(location.id)
    else:
        balances, groups, expiring = await _at_days_end(runtime, location, day)
    by_expiry = expiry_buckets(expiring, balances.outstanding)
    return Liability(
        at=day,
        outstanding=balances.outstanding,
        held=balances.held,
        owed=balances.owed,
        by_group=tuple(sorted(groups, key=_group_order)),
        by_expiry=tuple(by_expiry),
        scheduled=await _scheduled(location.id, today),
    )


_Groups = list[tuple[UUID | None, int, int]]  # group id, credits held, customers


async def _at_days_end(
    runtime: Runtime, location: entities.Location, day: date
) -> tuple[report_repository.Balances, _Groups, list[tuple[date, int]]]:
    """The balances at the end of a past day, from the ledger: its totals from the summed days
    since the first entry; each customer's (for the groups) from the last month end's balances
    and the entries since; what the lots that expire held, by expiry day, from the nearer week
    end's sums and the changes between."""
    first = await ledger_days.first_entry_day(location.id, location.timezone)
    if first is None or first > day:
        return report_repository.Balances(0, 0, 0), [], []
    sums = await ledger_days.day_sums(location.id, location.timezone, first, day, runtime.clock())
    totals = ledger_totals(sums)
    _, end = day_bounds(day, location.timezone)
    held = await report_repository.held_before(location.id, end.astimezone(UTC), totals.released)
    month_end = await month_ends.written_through(
        location.id, location.timezone, month_end_before(day), first, runtime.clock()
    )
    groups = await report_repository.by_group(
        location.id, (end.astimezone(UTC), location.timezone, month_end)
    )
    expiring = await expiring_week_ends.at_days_end(
        location.id, location.timezone, day, first, runtime.clock()
    )
    return report_repository.Balances(totals.outstanding, held, totals.owed), groups, expiring


def _group_order(item: tuple[UUID | None, int, int]) -> tuple[int, int, str]:
    group_id, amount, _ = item
    return (group_id is None, -amount, str(group_id))


async def _scheduled(location_id: UUID, today: date) -> int:
    horizon = today + timedelta(days=DAYS_AHEAD)
    top_ups: list[ScheduledTopUp] = []
    for schedule in await schedule_repository.live_of_location(location_id):
        if schedule.operation not in ("ADD", "SET"):
            continue
        # the periods after the last one applied, dated on the horizon or before
        periods = len(due_indices(schedule.recurrence, schedule.last_period, horizon))
        if not periods:
            continue
        customers, shortfall = await schedule_repository.target_shortfall(schedule)
        top_ups.append(
            ScheduledTopUp(schedule.operation, schedule.amount, periods, customers, shortfall)
        )
    return scheduled_amount(top_ups)


@dataclass(frozen=True)
class DiscountCost:
    day: date
    group_id: UUID | None
    group_discounts: int
    promotions: int
    credits_used: int
    sales: int


async def discount_cost_report(
    runtime: Runtime, principal: Principal, start: date, end: date
) -> list[DiscountCost]:
    """Per business day and group, what group discounts, online promotions and credits took
    off the location's sales, and how many sales: a sale partly refunded counts at what is left
    of it (its refunds' shares of each figure taken off), one refunded whole is left out."""
    span = parse_range(start, end)
    groups = await runtime.stores.groups.in_location(principal.location_id)
    by_reference = {group.reference: group.id for group in groups}
    days = await report_repository.discount_cost(principal.location_id, span.start, span.end)
    rows = [
        DiscountCost(
            day=item.day,
            group_id=by_reference.get(item.reference) if item.reference else None,
            group_discounts=item.group_discounts,
            promotions=item.promotions,
            credits_used=item.credits_used,
            sales=item.sales,
        )
        for item in days
    ]
    return _merged(rows)


def _merged(rows: list[DiscountCost]) -> list[DiscountCost]:
    """One row per day and group (two references may name no group now: both count as none),
    by day, then groups by id, then the sales of no group."""
    merged: dict[tuple[date, UUID | None], DiscountCost] = {}
    for row in rows:
        key = (row.day, row.group_id)
        seen = merged.get(key)
        merged[key] = (
            row
            if seen is None
            else DiscountCost(
                row.day,
                row.group_id,
                seen.group_discounts + row.group_discounts,
                seen.promotions + row.promotions,
                seen.credits_used + row.credits_used,
                seen.sales + row.sales,
            )
        )
    return sorted(merged.values(), key=lambda r: (r.day, r.group_id is None, str(r.group_id)))


async def top_customers_report(
    runtime: Runtime, principal: Principal, start: date, end: date, first: int
) -> list[tuple[UUID, int, int]]:
    """The customers who used the most credits on the location's sales between the days, net
    of what refunds gave back (a sale refunded whole is left out): (customer id, credits used,
    sales), most first."""
    span = parse_range(start, end)
    first = parse_first(first)
    return await report_repository.top_customers(principal.location_id, span.start, span.end, first)
