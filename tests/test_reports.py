"""The owner's reports on SQLite and PostgreSQL: every figure equals the same figure computed
from the ledger entries and the sales by a plain query, on generated data.

A seeded scenario runs a location through nine days in Europe/Warsaw, across the night the
clocks move forward (29 March 2026): manual, bulk and SET credits, REDUCE, sales at the till
and online with credits, cashback (held for a day in one group) and its release, refunds whole
and by the line, and a deleted customer. Some credits expire: on the first day's end, two
days later and in April and May; one sale spends expiring credits and its refund, after their
day has passed, gives them back to expire at the refund's day's end; the expiry check runs
early each day but one, so that one EXPIRE entry is written a day late. At each day's end it
notes what the customers hold, and what their lots hold by the month they expire; the
liability report for that day must say the same, read from the ledger and the lots afterwards.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from domain.bill import SalesChannel
from domain.checkouts import lines_of
from domain.errors import DomainError
from domain.lots import expiry_source_id
from domain.refunds import RefundLineInput, SaleFigures, reversed_so_far
from domain.reports import ReportInterval, expiry_month
from domain.requests import CreditRequest, CustomerGroupInput, Target
from models.tables.checkouts import Checkout
from models.tables.crm import Customer, GroupMembership
from models.tables.wallet import CreditLot, CreditLotTake, ExpiringAtWeekEnd, WalletEntry
from services import checkout, customers, groups, reports, wallet
from services.checkout.release import release_held_cashback
from services.runtime import Runtime
from tests.helpers import Clock
from tests.lots_helpers import expire_due
from tests.test_checkout_service import Shop, for_customer, new_customer, open_shop

WARSAW = ZoneInfo("Europe/Warsaw")
FIRST_DAY = date(2026, 3, 24)
DAYS = 9  # to 1 April: the clocks move forward on 29 March
LATE_CHECK = 3  # the day the expiry check does not run: 26 March's lots expire on the 28th


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=WARSAW).astimezone(UTC)


@dataclass
class Noted:
    """What the customers held at a day's end, read from their stored balances."""

    outstanding: int
    held: int
    owed: int
    balances: dict[UUID, int]
    by_expiry: dict[str | None, int]  # what the lots hold, by the month they expire


@dataclass
class Scenario:
    shop: Shop
    customer_ids: list[UUID]
    sales: list[UUID] = field(default_factory=list)
    partly: set[UUID] = field(default_factory=set)
    noted: dict[date, Noted] = field(default_factory=dict)
    spent_expiring: UUID | None = None  # the sale that spends expiring credits


async def _live_figures(location_id: UUID) -> Noted:
    rows = await Customer.filter(location_id=location_id).values(
        "id", "credit_balance", "cashback_held", "cashback_owed"
    )
    by_expiry: dict[str | None, int] = defaultdict(int)
    for lot in await CreditLot.filter(location_id=location_id, remaining__gt=0).values(
        "remaining", "expires_on"
    ):
        by_expiry[expiry_month(lot["expires_on"])] += lot["remaining"]
    return Noted(
        outstanding=sum(r["credit_balance"] for r in rows),
        held=sum(r["cashback_held"] for r in rows),
        owed=sum(r["cashback_owed"] for r in rows),
        balances={r["id"]: r["credit_balance"] for r in rows},
        by_expiry=dict(by_expiry),
    )


async def _by_todays_groups(
    location_id: UUID, balances: dict[UUID, int]
) -> dict[UUID | None, tuple[int, int]]:
    """Balances summed by the groups customers are in today (in none: under None)."""
    members: dict[UUID, list[UUID]] = defaultdict(list)
    for m in await GroupMembership.filter(customer__location_id=location_id).values(
        "customer_id", "group_id"
    ):
        members[m["customer_id"]].append(m["group_id"])
    by_group: dict[UUID | None, tuple[int, int]] = {}
    for customer_id, balance in balances.items():
        if balance <= 0:
            continue
        for group_id in members.get(customer_id) or [None]:
            amount, count = by_group.get(group_id, (0, 0))
            by_group[group_id] = (amount + balance, count + 1)
    return by_group


async def _credit(
    runtime: Runtime,
    shop: Shop,
    ids: list[UUID],
    operation: str,
    amount: str,
    expires_on: date | None = None,
) -> None:
    await wallet.apply_once(
        runtime,
        shop.principal,
        CreditRequest(
            Target(customer_ids=tuple(str(i) for i in ids)),
            operation,
            Decimal(amount),
            expires_on=expires_on,
        ),
    )


async def _expiring_step(runtime: Runtime, scenario: Scenario, offset: int, day: date) -> None:
    """The day's first moves, before the others: the expiry check (not on `LATE_CHECK`'s
    day), then the credits that expire, a sale that spends some of 26 March (all its customer
    holds) and its refund after that day."""
    shop, people = scenario.shop, scenario.customer_ids
    if offset != LATE_CHECK:
        await expire_due(runtime)
    if offset == 0:
        await _credit(runtime, shop, [people[0]], "ADD", "15.00", day)
        await _credit(runtime, shop, people[0:3], "ADD", "25.00", day + timedelta(days=2))
        await _credit(runtime, shop, [people[4]], "ADD", "40.00", date(2026, 4, 20))
        sale = await checkout.commit(
            runtime, shop.principal, for_customer(people[1], ("1", "30.00")), idempotency_key="exp"
        )
        scenario.spent_expiring = sale.id
    elif offset == 4:
        assert scenario.spent_expiring is not None
        await checkout.refund(
            runtime, shop.principal, str(scenario.spent_expiring), idempotency_key="exp-back"
        )
    elif offset == 6:
        await _credit(runtime, shop, [people[5]], "ADD", "30.00", date(2026, 5, 31))


async def _step(runtime: Runtime, scenario: Scenario, rng: random.Random, n: int) -> None:
    shop, people = scenario.shop, scenario.customer_ids
    action = rng.choice(["add", "bulk", "reduce", "set", "sale", "sale", "online", "refund"])
    someone = rng.choice(people)
    amount = f"{rng.randint(1, 40)}.{rng.randint(0, 99):02d}"
    if action == "add":
        await _credit(runtime, shop, [someone], "ADD", amount)
    elif action == "bulk":
        await _credit(runtime, shop, rng.sample(people, 3), "ADD", amount)
    elif action == "reduce":
        await _credit(runtime, shop, [someone], "REDUCE", amount)
    elif action == "set":
        await _credit(runtime, shop, [someone], "SET", amount)
    elif action in ("sale", "online"):
        channel = SalesChannel.ONLINE if action == "online" else SalesChannel.POS
        # online, two units from 50.00 reach the promotion's basket of 100.00
        price = f"{rng.randint(50 if action == 'online' else 10, 65)}.00"
        sale = await checkout.commit(
            runtime,
            shop.principal,
            for_customer(someone, ("2", price), channel=channel),
            idempotency_key=f"sale-{n}",
        )
        scenario.sales.append(sale.id)
    elif scenario.sales:
        at = rng.randrange(len(scenario.sales))
        sale_id = scenario.sales[at]
        if rng.random() < 0.5 and sale_id not in scenario.partly:
            # one of its two units: the rest may be refunded later
            scenario.partly.add(sale_id)
            lines = [RefundLineInput(0, Decimal("1"))]
        else:
            scenario.sales.pop(at)
            lines = None
        await checkout.refund(
            runtime, shop.principal, str(sale_id), idempotency_key=f"ref-{n}", lines=lines
        )


async def run_scenario(runtime: Runtime, clock: Clock, seed: int) -> Scenario:
    rng = random.Random(seed)
    clock.now = local(FIRST_DAY, 8)
    shop = await open_shop(f"Raporty {seed}")
    held = await groups.create_group(
        shop.location_id,
        CustomerGroupInput(
            name="Z czekaniem", cashback_percent=Decimal("10"), cashback_hold_days=1
        ),
    )
    memberships = [(shop.regular_group,), (shop.vip_group,), (str(held.id),), ()]
    people = [await new_customer(shop, *memberships[i % 4], name=f"Gość {i}") for i in range(10)]
    scenario = Scenario(shop, people)
    n = 0
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        clock.now = local(day, 0)
        await _expiring_step(runtime, scenario, offset, day)
        for hour in sorted(rng.sample(range(0, 24), 6)):
            clock.now = local(day, hour, rng.randint(0, 59))
            await release_held_cashback(runtime)
            n += 1
            await _step(runtime, scenario, rng, n)
        if offset == 5:
            clock.now = local(day, 23, 30)
            await _credit(runtime, shop, [people[-1]], "ADD", "12.34")
            await customers.delete_customer(shop.location_id, str(people[-1]), now=clock.now)
            people.pop()
        scenario.noted[day] = await _live_figures(shop.location_id)
    clock.now = local(FIRST_DAY + timedelta(days=DAYS - 1), 23, 59)
    return scenario


@pytest.fixture
async def scenario(runtime: Runtime, clock: Clock) -> Scenario:
    return await run_scenario(runtime, clock, seed=19)


# ------------------------------------------------------------------------ plain queries


async def _entries(location_id: UUID) -> list[dict[str, Any]]:
    return await WalletEntry.filter(location_id=location_id).values(
        "kind", "source", "delta", "created_at"
    )


def _plain_column(kind: str, source: str, delta: int) -> str:
    """Which report column an entry belongs to, spelled out entry by entry."""
    if kind in ("ADD", "SET") and delta > 0:
        return {"MANUAL": "issued_manual", "BULK": "issued_bulk"}[source]
    return {
        "SET": "reduced",
        "REDUCE": "reduced",
        "REDEEM": "redeemed",
        "REFUND": "refunded",
        "CASHBACK": "issued_cashback",
        "CASHBACK_RELEASE": "issued_cashback",
        "CASHBACK_REVERSAL": "cashback_reversed",
        "CLAWBACK": "clawed_back",
        "WRITE_OFF": "written_off",
        "EXPIRE": "expired",
    }[kind]


async def _plain_activity(location_id: UUID) -> dict[date, dict[str, int]]:
    days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in await _entries(location_id):
        if e["delta"]:
            day = e["created_at"].astimezone(WARSAW).date()
            days[day][_plain_column(e["kind"], e["source"], e["delta"])] += abs(e["delta"])
            days[day]["net"] += e["delta"]
    return days


async def _plain_lots_at(location_id: UUID, end: datetime) -> dict[str | None, int]:
    """What the lots held at the instant `end` by the month they expire, lot by lot: its
    amount if made before `end`, less each take of a debit written before `end`, less its
    EXPIRE entry if written before `end`."""
    lots = await CreditLot.filter(location_id=location_id).values(
        "id", "customer_id", "amount", "expires_on", "created_at"
    )
    entries = await WalletEntry.filter(location_id=location_id).values(
        "id", "kind", "source_id", "customer_id", "delta", "created_at"
    )
    written = {e["id"]: e["created_at"] for e in entries}
    expired = {(e["source_id"], e["customer_id"]): e for e in entries if e["kind"] == "EXPIRE"}
    held = {lot["id"]: lot["amount"] for lot in lots if lot["created_at"] < end}
    for take in await CreditLotTake.filter(lot_id__in=list(held)).values(
        "entry_id", "lot_id", "amount"
    ):
        if written[take["entry_id"]] < end:
            held[take["lot_id"]] -= take["amount"]
    by_month: dict[str | None, int] = defaultdict(int)
    for lot in lots:
        if lot["id"] not in held:
            continue
        entry = expired.get((expiry_source_id(lot["id"]), lot["customer_id"]))
        if entry is not None and entry["created_at"] < end:
            held[lot["id"]] += entry["delta"]
        assert held[lot["id"]] >= 0, lot
        if held[lot["id"]]:
            by_month[expiry_month(lot["expires_on"])] += held[lot["id"]]
    return dict(by_month)


def _as_buckets(by_month: dict[str | None, int]) -> list[tuple[str | None, int]]:
    """The months soonest first, then what never expires."""
    months = sorted(m for m in by_month if m is not None)
    never = [(None, by_month[None])] if by_month.get(None) else []
    return [(m, by_month[m]) for m in months] + never


# ------------------------------------------------------------------------ activity


async def test_each_day_of_activity_equals_the_ledger_entries_of_that_local_day(
    runtime: Runtime, scenario: Scenario
) -> None:
    last = FIRST_DAY + timedelta(days=DAYS - 1)

    rows = await reports.activity_report(
        runtime, scenario.shop.principal, FIRST_DAY, last, ReportInterval.DAY
    )

    plain = await _plain_activity(scenario.shop.location_id)
    assert [start for start, _ in rows] == [FIRST_DAY + timedelta(days=i) for i in range(DAYS)]
    for start, totals in rows:
        expected = plain.get(start, {})
        columns = {
            name: getattr(totals, name)
            for name in (
                "issued_manual",
                "issued_bulk",
                "issued_cashback",
                "refunded",
                "redeemed",
                "cashback_reversed",
                "reduced",
                "clawed_back",
                "written_off",
                "expired",
            )
        }
        assert columns == {name: expected.get(name, 0) for name in columns}, start
        assert totals.net == expected.get("net", 0)
        assert (totals.issued_schedule, totals.undone_in) == (0, 0)
    assert sum(t.redeemed for _, t in rows) > 0
    assert sum(t.expired for _, t in rows) > 0
    assert sum(t.issued_cashback for _, t in rows) > 0
    assert sum(t.written_off for _, t in rows) > 0


async def test_weeks_start_on_monday_and_months_on_the_first_and_sum_the_days(
    runtime: Runtime, scenario: Scenario
) -> None:
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    principal = scenario.shop.principal

    days = await reports.activity_report(runtime, principal, FIRST_DAY, last, ReportInterval.DAY)
    weeks = await reports.activity_report(runtime, principal, FIRST_DAY, last, ReportInterval.WEEK)
    months = await reports.activity_report(
        runtime, principal, FIRST_DAY, last, ReportInterval.MONTH
    )

    assert [start for start, _ in weeks] == [date(2026, 3, 23), date(2026, 3, 30)]
    assert [start for start, _ in months] == [date(2026, 3, 1), date(2026, 4, 1)]
    assert weeks[0][1].net == sum(t.net for d, t in days if d < date(2026, 3, 30))
    assert months[1][1].redeemed == sum(t.redeemed for d, t in days if d >= date(2026, 4, 1))
    assert sum(t.net for _, t in months) == sum(t.net for _, t in days)


async def test_an_entry_counts_on_its_local_day_across_the_change_of_clocks(
    runtime: Runtime, clock: Clock
) -> None:
    shop = await open_shop("Zmiana czasu")
    someone = await new_customer(shop)
    # 00:30 and 23:30 UTC on 29 March: 01:30 CET that day, and 01:30 CEST the next
    for moment, amount in (
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "1.00"),
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "2.00"),
        (datetime(2026, 3, 29, 21, 59, tzinfo=UTC), "4.00"),
        (datetime(2026, 3, 29, 22, 0, tzinfo=UTC), "8.00"),
    ):
        clock.now = moment
        await _credit(runtime, shop, [someone], "ADD", amount)

    rows = await reports.activity_report(
        runtime, shop.principal, date(2026, 3, 28), date(2026, 3, 30), ReportInterval.DAY
    )

    assert [(d, t.issued_manual) for d, t in rows] == [
        (date(2026, 3, 28), 0),
        (date(2026, 3, 29), 700),
        (date(2026, 3, 30), 800),
    ]


# ------------------------------------------------------------------------ liability


async def test_the_liability_at_each_past_days_end_is_what_the_customers_held_then(
    runtime: Runtime, scenario: Scenario
) -> None:
    for day, noted in scenario.noted.items():
        report = await reports.liability_report(runtime, scenario.shop.principal, day)

        assert (report.outstanding, report.held, report.owed) == (
            noted.outstanding,
            noted.held,
            noted.owed,
        ), day
        by_group = await _by_todays_groups(scenario.shop.location_id, noted.balances)
        assert {g: (a, c) for g, a, c in report.by_group} == by_group, day
    assert any(n.held for n in scenario.noted.values())


async def test_the_split_by_expiry_month_at_each_past_days_end_is_what_the_lots_held_then(
    runtime: Runtime, scenario: Scenario
) -> None:
    location_id = scenario.shop.location_id
    for day, noted in scenario.noted.items():
        end = local(day + timedelta(days=1), 0)

        report = await reports.liability_report(runtime, scenario.shop.principal, day)

        replayed = await _plain_lots_at(location_id, end)
        # the lots replayed from their rows held what was noted at the day's end, and all of
        # them what the customers held
        assert replayed == noted.by_expiry, day
        assert sum(replayed.values()) == noted.outstanding, day
        assert [(b.month, b.amount) for b in report.by_expiry] == _as_buckets(replayed), day
        assert sum(b.amount for b in report.by_expiry) == report.outstanding, day
    # the days around Sunday 29 March read its sums, written once
    marker = await ExpiringAtWeekEnd.filter(location_id=location_id).values_list(
        "week_end", "expires_on"
    )
    assert (date(2026, 3, 29), date(1, 1, 1)) in marker
    # the months the scenario reaches, and a lot of 26 March held at the 27th's end: its expiry
    # day had ended, its EXPIRE entry was written the day after
    late = scenario.noted[FIRST_DAY + timedelta(days=LATE_CHECK)].by_expiry
    assert late.get("2026-03", 0) > 0
    assert {m for n in scenario.noted.values() for m in n.by_expiry} == {
        "2026-03",
        "2026-04",
        "2026-05",
        None,
    }


async def test_the_scenario_expires_late_and_gives_back_expiring_credits(
    scenario: Scenario,
) -> None:
    """What the split at a past day's end is checked on: an EXPIRE entry written after the day
    after its lot's expiry day, and a refund's give-back of expiring credits (a take partly
    restored, a new lot with the refund's day as its expiry)."""
    location_id = scenario.shop.location_id
    lots = {
        lot["id"]: lot
        for lot in await CreditLot.filter(location_id=location_id).values(
            "id", "entry_id", "expires_on"
        )
    }
    entries = await WalletEntry.filter(location_id=location_id).values(
        "id", "kind", "source_id", "created_at"
    )
    kinds = {e["id"]: e["kind"] for e in entries}
    by_source = {e["source_id"]: e for e in entries if e["kind"] == "EXPIRE"}
    late = [
        lot_id
        for lot_id, lot in lots.items()
        if (entry := by_source.get(expiry_source_id(lot_id))) is not None
        and lot["expires_on"] is not None
        and entry["created_at"] >= local(lot["expires_on"] + timedelta(days=2), 0)
    ]
    restored = await CreditLotTake.filter(lot_id__in=list(lots), restored__gt=0).values("lot_id")
    given_back = [
        lot["expires_on"]
        for lot in lots.values()
        if kinds.get(lot["entry_id"]) == "REFUND" and lot["expires_on"] is not None
    ]

    assert {lots[lot_id]["expires_on"] for lot_id in late} == {date(2026, 3, 26)}
    assert any(lots[t["lot_id"]]["expires_on"] == date(2026, 3, 26) for t in restored)
    # the sale's refund on the 28th gave back credits of 26 March as the 28th's
    assert FIRST_DAY + timedelta(days=4) in given_back


async def test_todays_liability_reads_the_balances_and_equals_the_sum_of_entries(
    runtime: Runtime, scenario: Scenario
) -> None:
    report = await reports.liability_report(runtime, scenario.shop.principal, None)

    entries = await _entries(scenario.shop.location_id)
    live = await _live_figures(scenario.shop.location_id)
    assert report.at == FIRST_DAY + timedelta(days=DAYS - 1)
    assert report.outstanding == sum(e["delta"] for e in entries) == live.outstanding
    assert (report.held, report.owed) == (live.held, live.owed)
    assert [(b.month, b.amount) for b in report.by_expiry] == _as_buckets(live.by_expiry)


async def test_a_liability_for_a_day_to_come_is_refused(
    runtime: Runtime, scenario: Scenario
) -> None:
    with pytest.raises(DomainError) as refused:
        await reports.liability_report(
            runtime, scenario.shop.principal, FIRST_DAY + timedelta(days=DAYS)
        )

    assert [(e.code, e.field, e.message.id) for e in refused.value.errors] == [
        ("INVALID", "at", "report.at_in_future")
    ]


# ------------------------------------------------------------------------ sales


async def _plain_sales(location_id: UUID) -> list[dict[str, Any]]:
    """The sales not refunded whole, each with what is left of its group discount, promotions
    and credits once its refunds' shares are taken off (worked out from its lines and the
    quantities refunded, not from what the refunds recorded)."""
    sales = (
        await Checkout.filter(location_id=location_id)
        .exclude(status="REFUNDED")
        .values(
            "business_date",
            "discounts",
            "lines",
            "group_discount",
            "credits_used",
            "cashback_granted",
            "refunded_quantities",
            "customer_id",
        )
    )
    for sale in sales:
        kinds = {d["kind"]: d["amount"] for d in sale["discounts"]}
        figures = SaleFigures(
            lines=lines_of(sale["lines"]),
            credits_used=sale["credits_used"],
            cashback_granted=sale["cashback_granted"],
            group_discount=kinds.get("GROUP_DISCOUNT", 0),
            promotions=kinds.get("PROMOTION", 0),
        )
        refunded = sale["refunded_quantities"] or [0] * len(figures.lines)
        returned = reversed_so_far(figures, refunded)
        sale["partly"] = any(refunded)
        sale["group_discount"] = figures.group_discount - returned.group_discount
        sale["promotions"] = figures.promotions - returned.promotions
        sale["credits_used"] = figures.credits_used - returned.credits
    return sales


async def test_discount_cost_per_day_and_group_equals_the_sales(
    runtime: Runtime, scenario: Scenario
) -> None:
    shop = scenario.shop
    last = FIRST_DAY + timedelta(days=DAYS - 1)

    rows = await reports.discount_cost_report(runtime, shop.principal, FIRST_DAY, last)

    regular = UUID(shop.regular_group)
    expected: dict[tuple[date, UUID | None], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for sale in await _plain_sales(shop.location_id):
        kinds = {d["kind"]: d for d in sale["discounts"]}
        through = kinds.get("GROUP_DISCOUNT") or kinds.get("PROMOTION")
        group = regular if through is not None else None
        figures = expected[(sale["business_date"], group)]
        figures[0] += sale["group_discount"]
        figures[1] += sale["promotions"]
        figures[2] += sale["credits_used"]
        figures[3] += 1
    assert {
        (r.day, r.group_id): [r.group_discounts, r.promotions, r.credits_used, r.sales]
        for r in rows
    } == dict(expected)
    assert any(r.promotions for r in rows)
    assert any(r.group_discounts for r in rows)
    # partly refunded sales are among them, with promotions and credits
    partly = [sale for sale in await _plain_sales(shop.location_id) if sale["partly"]]
    assert any(sale["promotions"] for sale in partly)
    assert any(sale["credits_used"] for sale in partly)


async def test_top_customers_are_those_who_used_most_credits_on_live_sales(
    runtime: Runtime, scenario: Scenario
) -> None:
    shop = scenario.shop
    last = FIRST_DAY + timedelta(days=DAYS - 1)

    top = await reports.top_customers_report(runtime, shop.principal, FIRST_DAY, last, 3)

    used: dict[UUID, list[int]] = defaultdict(lambda: [0, 0])
    live = set(await Customer.filter(deleted_at=None).values_list("id", flat=True))
    for sale in await _plain_sales(shop.location_id):
        if sale["credits_used"] and sale["customer_id"] in live:
            used[sale["customer_id"]][0] += sale["credits_used"]
            used[sale["customer_id"]][1] += 1
    ranked = sorted(used.items(), key=lambda item: (-item[1][0], str(item[0])))[:3]
    assert top == [(customer, u, n) for customer, (u, n) in ranked]
    assert len(top) == 3


async def test_report_ranges_and_sizes_are_bounded(runtime: Runtime, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 10, 10, tzinfo=UTC)
    shop = await open_shop("Granice")
    start = date(2026, 3, 1)

    problems = []
    for call in (
        reports.activity_report(
            runtime, shop.principal, start, start - timedelta(days=1), ReportInterval.DAY
        ),
        reports.discount_cost_report(runtime, shop.principal, start, start + timedelta(days=1099)),
        reports.top_customers_report(runtime, shop.principal, start, start, 0),
        reports.top_customers_report(runtime, shop.principal, start, start, 101),
    ):
        with pytest.raises(DomainError) as refused:
            await call
        problems += [(e.code, e.field, e.message.id) for e in refused.value.errors]

    assert problems == [
        ("INVALID", "to", "report.end_before_start"),
        ("INVALID", "to", "report.range_too_long"),
        ("INVALID", "first", "report.first_out_of_range"),
        ("INVALID", "first", "report.first_out_of_range"),
    ]
    assert await reports.top_customers_report(runtime, shop.principal, start, start, 100) == []
