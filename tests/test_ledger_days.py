"""The ledger summed by day for the reports, on SQLite and PostgreSQL: a closed day is summed
once and read from its sums ever after; today is read from the entries, so a credit shows at
once; two reports summing the same days at once write each day once; a past day's balances per
customer read the last month end's, and what its lots that expire held by expiry day the nearer
week end's, each written once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain.reports import ReportInterval
from domain.requests import CreditRequest, Target
from models import ledger_days
from models.tables.wallet import BalanceAtMonthEnd, ExpiringAtWeekEnd, LedgerDay, WalletEntry
from services import reports, wallet
from services.runtime import Runtime
from tests.helpers import Clock
from tests.lots_helpers import expire_due
from tests.test_checkout_service import Shop, new_customer, open_shop

# 12:00 in Warsaw
DAY_ONE = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


async def _add(
    runtime: Runtime,
    shop: Shop,
    customer_id: UUID,
    amount: str,
    expires_on: date | None = None,
    operation: str = "ADD",
) -> None:
    request = CreditRequest(
        Target(customer_ids=(str(customer_id),)), operation, Decimal(amount), expires_on=expires_on
    )
    await wallet.apply_once(runtime, shop.principal, request)


async def _three_days(runtime: Runtime, clock: Clock) -> tuple[Shop, UUID]:
    clock.now = DAY_ONE
    shop = await open_shop("Dni")
    someone = await new_customer(shop)
    for n, amount in enumerate(("1.00", "2.00", "4.00")):
        clock.now = DAY_ONE + timedelta(days=n)
        await _add(runtime, shop, someone, amount)
    return shop, someone


async def test_closed_days_are_summed_once_and_read_from_their_sums(
    runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, _ = await _three_days(runtime, clock)
    first, today = date(2026, 3, 2), date(2026, 3, 4)
    read = ledger_days.entry_sums
    ranges: list[tuple[date, date]] = []

    async def recorded(location_id: UUID, timezone: str, a: date, b: date) -> object:
        ranges.append((a, b))
        return await read(location_id, timezone, a, b)

    monkeypatch.setattr(ledger_days, "entry_sums", recorded)

    once = await reports.activity_report(runtime, shop.principal, first, today, ReportInterval.DAY)
    ranges_first = list(ranges)
    ranges.clear()
    again = await reports.activity_report(runtime, shop.principal, first, today, ReportInterval.DAY)

    assert [(d, t.issued_manual) for d, t in once] == [
        (date(2026, 3, 2), 100),
        (date(2026, 3, 3), 200),
        (date(2026, 3, 4), 400),
    ]
    assert again == once
    # the closed days were summed from the entries once; today is read from them each time
    assert ranges_first == [(first, date(2026, 3, 3)), (today, today)]
    assert ranges == [(today, today)]
    marked = await LedgerDay.filter(location_id=shop.location_id, kind="").values_list(
        "day", flat=True
    )
    assert sorted(marked) == [date(2026, 3, 2), date(2026, 3, 3)]


async def test_todays_credit_shows_at_once_and_yesterday_closes_an_hour_after_midnight(
    runtime: Runtime, clock: Clock
) -> None:
    shop, someone = await _three_days(runtime, clock)
    principal = shop.principal
    # 00:30 in Warsaw on 5 March: the 4th is not closed yet
    clock.now = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    await _add(runtime, shop, someone, "8.00")
    early = await reports.activity_report(
        runtime, principal, date(2026, 3, 4), date(2026, 3, 5), ReportInterval.DAY
    )
    marked_early = await LedgerDay.filter(location_id=shop.location_id, kind="").count()
    clock.now = datetime(2026, 3, 5, 0, 30, tzinfo=UTC)
    later = await reports.activity_report(
        runtime, principal, date(2026, 3, 4), date(2026, 3, 5), ReportInterval.DAY
    )

    assert [(d, t.issued_manual) for d, t in early] == [
        (date(2026, 3, 4), 400),
        (date(2026, 3, 5), 800),
    ]
    assert later == early
    assert marked_early == 0
    assert await LedgerDay.filter(location_id=shop.location_id, kind="").count() == 1


async def test_two_reports_summing_the_same_days_at_once_write_each_day_once(
    runtime: Runtime, clock: Clock
) -> None:
    shop, _ = await _three_days(runtime, clock)
    clock.now = DAY_ONE + timedelta(days=10)
    first, last = date(2026, 3, 1), date(2026, 3, 10)

    answers = await asyncio.gather(
        *(
            reports.activity_report(runtime, shop.principal, first, last, ReportInterval.MONTH)
            for _ in range(4)
        )
    )

    assert all(a == answers[0] for a in answers)
    assert [(d, t.issued_manual) for d, t in answers[0]] == [(date(2026, 3, 1), 700)]
    rows = await LedgerDay.filter(location_id=shop.location_id).values_list("day", "kind")
    assert len(rows) == len(set(rows)) == 10 + 3


async def test_a_past_days_group_balances_read_the_last_month_end_written_once(
    runtime: Runtime, clock: Clock
) -> None:
    clock.now = datetime(2026, 1, 10, 11, tzinfo=UTC)
    shop = await open_shop("Miesiące")
    grouped = await new_customer(shop, shop.vip_group)
    alone = await new_customer(shop)
    for month, amount in ((1, "1.00"), (2, "2.00"), (3, "4.00"), (4, "8.00")):
        clock.now = datetime(2026, month, 10, 11, tzinfo=UTC)
        await _add(runtime, shop, grouped, amount)
        await _add(runtime, shop, alone, amount)
    clock.now = datetime(2026, 4, 20, 11, tzinfo=UTC)

    answers = await asyncio.gather(
        *(reports.liability_report(runtime, shop.principal, date(2026, 3, 15)) for _ in range(3))
    )
    again = await reports.liability_report(runtime, shop.principal, date(2026, 3, 15))

    vip = UUID(shop.vip_group)
    assert [a.by_group for a in answers] == [((vip, 700, 1), (None, 700, 1))] * 3
    assert again.by_group == answers[0].by_group
    assert again.outstanding == 1400
    written = await BalanceAtMonthEnd.filter(location_id=shop.location_id).values_list(
        "month_end", "balance"
    )
    # January's and February's ends, a row per customer holding credits and a marker each
    assert sorted(written) == sorted(
        [(date(2026, 1, 31), 100)] * 2
        + [(date(2026, 2, 28), 300)] * 2
        + [(date(2026, 1, 31), 0), (date(2026, 2, 28), 0)]
    )


async def test_a_past_days_split_by_expiry_reads_the_nearer_week_end_written_once(
    runtime: Runtime, clock: Clock
) -> None:
    clock.now = datetime(2026, 1, 10, 11, tzinfo=UTC)  # a Saturday
    shop = await open_shop("Wygasanie")
    anna = await new_customer(shop)
    await _add(runtime, shop, anna, "1.00", date(2026, 2, 15))
    await _add(runtime, shop, anna, "5.00", date(2026, 6, 30))
    clock.now = datetime(2026, 2, 16, 11, tzinfo=UTC)
    await expire_due(runtime)
    expired = await WalletEntry.filter(customer_id=anna, kind="EXPIRE").values_list(
        "delta", flat=True
    )
    assert expired == [-100]  # 15 February's
    clock.now = datetime(2026, 2, 20, 11, tzinfo=UTC)
    await _add(runtime, shop, anna, "2.00", date(2026, 3, 31))
    await _add(runtime, shop, anna, "0.50", operation="REDUCE")  # of 31 March's
    clock.now = datetime(2026, 3, 10, 11, tzinfo=UTC)
    await _add(runtime, shop, anna, "4.00", date(2026, 4, 30))
    await _add(runtime, shop, anna, "3.00", operation="REDUCE")  # 31 March's, 1.50 of April's
    clock.now = datetime(2026, 4, 20, 11, tzinfo=UTC)
    await _add(runtime, shop, anna, "8.00")
    principal = shop.principal

    answers = await asyncio.gather(
        *(reports.liability_report(runtime, principal, date(2026, 3, 15)) for _ in range(3))
    )
    # Saturday 14 February back from Sunday 15th, before the expiry; Tuesday 17th on from the
    # 15th, after it; Thursday 19th back from Sunday 22nd, before the credit and the reduction;
    # Saturday 21st back from the 22nd, after them; Wednesday 11 March on from Sunday 8th, after
    # the credit and the reduction; Sunday 15 March its own week end
    days = [date(2026, 2, d) for d in (14, 17, 19, 21)] + [date(2026, 3, d) for d in (11, 15)]
    again = [await reports.liability_report(runtime, principal, day) for day in days]

    split = [[(b.month, b.amount) for b in answer.by_expiry] for answer in again]
    assert [[(b.month, b.amount) for b in a.by_expiry] for a in answers] == [split[-1]] * 3
    assert split == [
        [("2026-02", 100), ("2026-06", 500)],
        [("2026-06", 500)],
        [("2026-06", 500)],
        [("2026-03", 150), ("2026-06", 500)],
        [("2026-04", 250), ("2026-06", 500)],
        [("2026-04", 250), ("2026-06", 500)],
    ]
    assert [answer.outstanding for answer in again] == [600, 500, 500, 650, 750, 750]
    written = await ExpiringAtWeekEnd.filter(location_id=shop.location_id).values_list(
        "week_end", "expires_on", "amount"
    )
    # every Sunday from the first entry's week to the one after 15 March, a marker each; what
    # the lots held then (15 February's expired on the 16th: no row after)
    sundays = [date(2026, 1, 11) + timedelta(days=7 * n) for n in range(11)]
    weeks = (
        (sundays[:6], ((date(2026, 2, 15), 100), (date(2026, 6, 30), 500))),
        (sundays[6:9], ((date(2026, 3, 31), 150), (date(2026, 6, 30), 500))),
        (sundays[9:], ((date(2026, 4, 30), 250), (date(2026, 6, 30), 500))),
    )
    held = {sunday: rows for ends, rows in weeks for sunday in ends}
    assert sundays[-1] == date(2026, 3, 22)
    assert sorted(written) == sorted(
        (sunday, expires_on, amount)
        for sunday in sundays
        for expires_on, amount in [(date(1, 1, 1), 0), *held[sunday]]
    )
