"""The soak's invariant checks catch what they claim to: each runs on a tiny hand-made location,
once as it should be (PASS) and once broken (FAIL, with the count of what is wrong).

The rows are written with SQL, past the services, since the broken cases are exactly what the
services never write. PostgreSQL only: the checks are PostgreSQL SQL, as the soak runs there.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from bench.soak_checks import (
    Database,
    check_balances,
    check_cashback,
    check_commits,
    check_daily_limits,
    check_operations,
    check_refunds,
    check_schedules,
    check_settlements,
    check_sync,
    open_connection,
)
from bench.soak_lot_checks import check_lots
from bench.soak_undo_checks import check_undos
from models.ids import new_id
from settings import Settings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
TIMEZONE = "Europe/Warsaw"


@pytest.fixture
async def db(database: Settings) -> AsyncIterator[Database]:
    if database.is_sqlite:
        pytest.skip("the soak's checks are PostgreSQL SQL")
    conn = await open_connection(database.database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def new_location(db: Database) -> UUID:
    location_id = new_id()
    await db.execute(
        "INSERT INTO locations (id, name, currency, timezone, created_at)"
        " VALUES ($1, 'Soak check', 'PLN', $2, $3)",
        location_id,
        TIMEZONE,
        NOW,
    )
    return location_id


async def new_customer(db: Database, location_id: UUID, balance: int = 0) -> UUID:
    customer_id = new_id()
    await db.execute(
        "INSERT INTO customers (id, location_id, search_text, credit_balance, created_at,"
        " updated_at) VALUES ($1, $2, '', $3, $4, $4)",
        customer_id,
        location_id,
        balance,
        NOW,
    )
    return customer_id


async def add_entry(
    db: Database,
    location_id: UUID,
    customer_id: UUID,
    kind: str,
    delta: int,
    balance_after: int,
    *,
    source: str = "MANUAL",
    source_id: UUID | None = None,
    period: int = 0,
) -> None:
    await db.execute(
        "INSERT INTO wallet_entries (location_id, customer_id, kind, requested_amount, delta,"
        " balance_after, source, source_id, period, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        location_id,
        customer_id,
        kind,
        abs(delta),
        delta,
        balance_after,
        source,
        source_id or new_id(),
        period,
        NOW,
    )


async def add_checkout(
    db: Database,
    location_id: UUID,
    customer_id: UUID,
    key: str,
    *,
    credits_used: int = 0,
    cashback: int = 0,
    group_discount: int = 0,
    discounts: list[dict[str, Any]] | None = None,
    status: str = "COMMITTED",
    channel: str = "POS",
) -> UUID:
    checkout_id = new_id()
    await db.execute(
        "INSERT INTO checkouts (id, location_id, customer_id, channel, status, business_date,"
        " lines, discounts, subtotal, discount_total, total, group_discount, credits_used,"
        " cashback_granted, idempotency_key, request_hash, created_at, refunded_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, '[]'::jsonb, $7::jsonb, 10000, 0, 10000, $8, $9,"
        " $10, $11, '', $12, $13)",
        checkout_id,
        location_id,
        customer_id,
        channel,
        status,
        TODAY,
        json.dumps(discounts or []),
        group_discount,
        credits_used,
        cashback,
        key,
        NOW,
        NOW if status == "REFUNDED" else None,
    )
    return checkout_id


def group_discount(amount: int, external_id: str = "3", reference: str = "staly-klient") -> Any:
    return {
        "id": f"pos-discount:{external_id}",
        "kind": "GROUP_DISCOUNT",
        "name": "10%",
        "amount": amount,
        "reference": reference,
        "removable": True,
    }


async def add_pos_group(
    db: Database,
    location_id: UUID,
    daily_limit: int | None,
    reference: str = "staly-klient",
    discount_id: str = "3",
) -> None:
    await db.execute(
        "INSERT INTO pos_customer_groups (location_id, external_id, name, reference,"
        " reference_key, daily_limit, discount_ids, removed, last_seen_at, updated_at)"
        " VALUES ($1, $4, $4, $4, $4, $2, $5::jsonb, false, $3, $3)",
        location_id,
        daily_limit,
        NOW,
        reference,
        json.dumps([discount_id]),
    )


# ------------------------------------------------------------------ balances


async def test_balances_pass_when_each_balance_is_the_sum_of_its_entries(db: Database) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id, 500)
    await add_entry(db, location_id, customer, "ADD", 300, 300)
    await add_entry(db, location_id, customer, "ADD", 200, 500)
    await new_customer(db, location_id, 0)  # no entries, no balance

    check = await check_balances(db, location_id)

    assert check.passed
    assert check.detail == (
        "2 customers, 2 entries; 0 differ from the sum, 0 from the latest entry, "
        "0 negative balances, 0 negative entries"
    )


async def test_balances_fail_on_a_balance_off_its_entries(db: Database) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id, 600)
    await add_entry(db, location_id, customer, "ADD", 300, 300)
    await add_entry(db, location_id, customer, "ADD", 200, 500)

    check = await check_balances(db, location_id)

    assert not check.passed
    assert check.detail == (
        "1 customers, 2 entries; 1 differ from the sum, 1 from the latest entry, "
        "0 negative balances, 0 negative entries"
    )


async def test_balances_fail_on_a_negative_entry(db: Database) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id, 0)
    await add_entry(db, location_id, customer, "REDEEM", -100, -100)
    await add_entry(db, location_id, customer, "ADD", 100, 0)

    check = await check_balances(db, location_id)

    assert not check.passed
    assert check.detail.endswith("0 negative balances, 1 negative entries")


async def test_balances_fail_on_a_negative_balance(db: Database) -> None:
    """The database refuses a negative balance; the check is caught out only with that
    constraint dropped, in a transaction that is rolled back."""
    location_id = await new_location(db)
    await db.execute("BEGIN")
    try:
        await db.execute("ALTER TABLE customers DROP CONSTRAINT customers_credit_balance_range")
        customer = await new_customer(db, location_id, -100)
        await add_entry(db, location_id, customer, "SET", -100, -100)

        check = await check_balances(db, location_id)
    finally:
        await db.execute("ROLLBACK")

    assert not check.passed
    assert check.detail.endswith("1 negative balances, 1 negative entries")


# ------------------------------------------------------------------ commits


async def test_commits_pass_with_one_checkout_per_confirmed_key(db: Database) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id)
    first = await add_checkout(db, location_id, customer, "k1")
    second = await add_checkout(db, location_id, customer, "k2")

    check = await check_commits(db, location_id, {"k1": first, "k2": second}, ["k3"])

    assert check.passed
    assert check.detail == (
        "2 confirmed, 0 without exactly their one checkout; 1 refused, 0 of them written; "
        "0 checkouts the client never saw confirmed"
    )


async def test_commits_fail_on_two_checkouts_for_one_key(db: Database) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id)
    first = await add_checkout(db, location_id, customer, "k1")
    await add_checkout(db, location_id, customer, "k1")

    check = await check_commits(db, location_id, {"k1": first}, [])

    assert not check.passed
    assert check.detail.startswith("1 confirmed, 1 without exactly their one checkout;")


async def test_commits_fail_on_a_confirmed_commit_without_its_checkout(db: Database) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id)
    await add_checkout(db, location_id, customer, "k1")

    check = await check_commits(db, location_id, {"k1": new_id(), "k2": new_id()}, [])

    assert not check.passed
    assert check.detail.startswith("2 confirmed, 2 without exactly their one checkout;")


async def test_commits_fail_on_a_refused_commit_written(db: Database) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id)
    await add_checkout(db, location_id, customer, "refused")

    check = await check_commits(db, location_id, {}, ["refused"])

    assert not check.passed
    assert check.detail == (
        "0 confirmed, 0 without exactly their one checkout; 1 refused, 1 of them written; "
        "1 checkouts the client never saw confirmed"
    )


# ------------------------------------------------------------------ held and owed cashback


async def owing_customer(db: Database, location_id: UUID, *, owed: int, clawed: int) -> UUID:
    """A customer with a refunded sale whose reversal left `owed` unpaid, of which a CLAWBACK
    paid off `clawed`; and a sale still holding 2.00 of cashback."""
    customer = await new_customer(db, location_id)
    refunded = await add_checkout(db, location_id, customer, "s1", cashback=owed, status="REFUNDED")
    await db.execute(
        "INSERT INTO checkout_refunds (id, location_id, checkout_id, number, lines,"
        " credits_returned, cashback_reversed, cashback_owed, created_at)"
        " VALUES ($1, $2, $3, 1, '[]'::jsonb, 0, 0, $4, $5)",
        new_id(),
        location_id,
        refunded,
        owed,
        NOW,
    )
    if clawed:
        await add_entry(db, location_id, customer, "ADD", clawed, clawed)
        await add_entry(db, location_id, customer, "CLAWBACK", -clawed, 0)
    held = await add_checkout(db, location_id, customer, "s2", cashback=200)
    await db.execute("UPDATE checkouts SET cashback_held = 200 WHERE id = $1", held)
    await db.execute(
        "UPDATE customers SET cashback_owed = $2, cashback_held = 200 WHERE id = $1",
        customer,
        owed - clawed,
    )
    return customer


async def test_cashback_passes_when_owed_and_held_are_explained(db: Database) -> None:
    location_id = await new_location(db)
    await owing_customer(db, location_id, owed=1_000, clawed=400)

    check = await check_cashback(db, location_id)

    assert check.passed
    assert check.detail == (
        "1 customers owing 600 and holding 200; 0 owe, 0 hold otherwise; "
        "0 refunds without their record"
    )


async def test_cashback_fails_on_owed_that_vanished_or_held_that_is_not_a_sales(
    db: Database,
) -> None:
    location_id = await new_location(db)
    customer = await owing_customer(db, location_id, owed=1_000, clawed=400)
    await db.execute(
        "UPDATE customers SET cashback_owed = 0, cashback_held = 500 WHERE id = $1", customer
    )
    await add_checkout(db, location_id, customer, "s3", status="REFUNDED")

    check = await check_cashback(db, location_id)

    assert not check.passed
    assert check.detail == (
        "1 customers owing 0 and holding 500; 1 owe, 1 hold otherwise; "
        "1 refunds without their record"
    )


# ------------------------------------------------------------------ settlements


async def settled_checkouts(db: Database, location_id: UUID) -> UUID:
    """A sale that used 5.00 of credits and granted 1.00 of cashback, and one like it refunded;
    returns the customer."""
    customer = await new_customer(db, location_id, 2_000)
    await add_entry(db, location_id, customer, "ADD", 2_000, 2_000)
    sale = await add_checkout(db, location_id, customer, "s1", credits_used=500, cashback=100)
    await add_entry(
        db, location_id, customer, "REDEEM", -500, 1_500, source="CHECKOUT", source_id=sale
    )
    await add_entry(
        db, location_id, customer, "CASHBACK", 100, 1_600, source="CHECKOUT", source_id=sale
    )
    refunded = await add_checkout(
        db, location_id, customer, "s2", credits_used=500, cashback=100, status="REFUNDED"
    )
    for kind, delta, after in (
        ("REDEEM", -500, 1_100),
        ("CASHBACK", 100, 1_200),
        ("REFUND", 500, 1_700),
        ("CASHBACK_REVERSAL", -100, 1_600),
    ):
        await add_entry(
            db, location_id, customer, kind, delta, after, source="CHECKOUT", source_id=refunded
        )
    return customer


async def test_settlements_pass_with_every_entry_of_every_checkout(db: Database) -> None:
    location_id = await new_location(db)
    customer = await settled_checkouts(db, location_id)
    await add_checkout(db, location_id, customer, "s3")  # no credits, no cashback: no entries

    check = await check_settlements(db, location_id)

    assert check.passed
    assert check.detail == (
        "3 checkouts (2 with credits, 1 refunded); 0 debits, 0 cashbacks, 0 refunds wrong; "
        "0 checkout entries without a checkout"
    )


async def test_settlements_fail_on_a_checkout_without_its_debit(db: Database) -> None:
    location_id = await new_location(db)
    customer = await settled_checkouts(db, location_id)
    await add_checkout(db, location_id, customer, "s3", credits_used=300)

    check = await check_settlements(db, location_id)

    assert not check.passed
    assert check.detail == (
        "3 checkouts (3 with credits, 1 refunded); 1 debits, 0 cashbacks, 0 refunds wrong; "
        "0 checkout entries without a checkout"
    )


async def test_settlements_fail_on_a_debit_of_another_amount(db: Database) -> None:
    location_id = await new_location(db)
    customer = await settled_checkouts(db, location_id)
    sale = await add_checkout(db, location_id, customer, "s3", credits_used=300)
    await add_entry(
        db, location_id, customer, "REDEEM", -200, 1_400, source="CHECKOUT", source_id=sale
    )

    check = await check_settlements(db, location_id)

    assert not check.passed
    assert "; 1 debits, 0 cashbacks, 0 refunds wrong;" in check.detail


async def test_settlements_fail_on_a_debit_without_its_checkout(db: Database) -> None:
    location_id = await new_location(db)
    customer = await settled_checkouts(db, location_id)
    await add_entry(db, location_id, customer, "REDEEM", -100, 1_500, source="CHECKOUT")

    check = await check_settlements(db, location_id)

    assert not check.passed
    assert check.detail.endswith("; 1 checkout entries without a checkout")


async def test_settlements_fail_on_a_refund_without_its_entry(db: Database) -> None:
    location_id = await new_location(db)
    customer = await settled_checkouts(db, location_id)
    refunded = await add_checkout(
        db, location_id, customer, "s3", credits_used=200, status="REFUNDED"
    )
    await add_entry(
        db, location_id, customer, "REDEEM", -200, 1_400, source="CHECKOUT", source_id=refunded
    )

    check = await check_settlements(db, location_id)

    assert not check.passed
    assert "; 0 debits, 0 cashbacks, 1 refunds wrong;" in check.detail


# ------------------------------------------------------------------ daily limits


async def discounted(
    db: Database, location_id: UUID, customer: UUID, key: str, amount: int, **columns: Any
) -> None:
    """A checkout with a group discount of `amount` through the mirrored group (or `via`)."""
    via = columns.pop("via", "3")
    discounts = [group_discount(amount, external_id=via)]
    await add_checkout(
        db, location_id, customer, key, group_discount=amount, discounts=discounts, **columns
    )


async def test_daily_limits_pass_up_to_the_limit(db: Database) -> None:
    location_id = await new_location(db)
    await add_pos_group(db, location_id, 5_000)
    customer = await new_customer(db, location_id)
    await discounted(db, location_id, customer, "d1", 3_000)
    await discounted(db, location_id, customer, "d2", 2_000)
    # Neither a refunded checkout nor an online one counts against the limit.
    await discounted(db, location_id, customer, "d3", 900, status="REFUNDED")
    await discounted(db, location_id, customer, "d4", 900, channel="ONLINE")

    check = await check_daily_limits(db, location_id)

    assert check.passed
    assert check.detail == (
        "1 customer-days per group with a group discount, 0 over the limit, 1 exactly at it, "
        "0 through an unlimited group, 0 whose group could not be found in the mirror"
    )


async def test_daily_limits_fail_past_the_limit(db: Database) -> None:
    location_id = await new_location(db)
    await add_pos_group(db, location_id, 5_000)
    customer = await new_customer(db, location_id)
    await discounted(db, location_id, customer, "d1", 3_000)
    await discounted(db, location_id, customer, "d2", 2_000)
    await discounted(db, location_id, customer, "d3", 1, channel="KIOSK")

    check = await check_daily_limits(db, location_id)

    assert not check.passed
    assert check.detail.startswith(
        "1 customer-days per group with a group discount, 1 over the limit,"
    )


async def test_daily_limits_count_each_groups_discounts_against_its_own_limit(
    db: Database,
) -> None:
    # given Stały klient (50.00 a day) and VIP (30.00 a day): 50.00 and 30.00 through each
    location_id = await new_location(db)
    await add_pos_group(db, location_id, 5_000)
    await add_pos_group(db, location_id, 3_000, reference="vip", discount_id="5")
    customer = await new_customer(db, location_id)
    await discounted(db, location_id, customer, "d1", 5_000)
    vip = [group_discount(3_000, external_id="5", reference="vip")]
    await add_checkout(db, location_id, customer, "d2", group_discount=3_000, discounts=vip)

    passed = await check_daily_limits(db, location_id)
    # and 1.00 more through VIP
    vip = [group_discount(100, external_id="5", reference="vip")]
    await add_checkout(db, location_id, customer, "d3", group_discount=100, discounts=vip)
    failed = await check_daily_limits(db, location_id)

    assert passed.passed
    assert passed.detail.startswith(
        "2 customer-days per group with a group discount, 0 over the limit, 2 exactly at it,"
    )
    assert not failed.passed
    assert failed.detail.startswith(
        "2 customer-days per group with a group discount, 1 over the limit, 1 exactly at it,"
    )


async def test_daily_limits_fail_on_a_discount_through_no_known_group(db: Database) -> None:
    location_id = await new_location(db)
    await add_pos_group(db, location_id, 5_000)
    customer = await new_customer(db, location_id)
    await discounted(db, location_id, customer, "d1", 100, via="99")

    check = await check_daily_limits(db, location_id)

    assert not check.passed
    assert check.detail.endswith(", 1 whose group could not be found in the mirror")


async def test_daily_limits_pass_through_a_group_without_a_limit(db: Database) -> None:
    location_id = await new_location(db)
    await add_pos_group(db, location_id, None)
    customer = await new_customer(db, location_id)
    await discounted(db, location_id, customer, "d1", 90_000)

    check = await check_daily_limits(db, location_id)

    assert check.passed
    assert check.detail == (
        "1 customer-days per group with a group discount, 0 over the limit, 0 exactly at it, "
        "1 through an unlimited group, 0 whose group could not be found in the mirror"
    )


# ------------------------------------------------------------------ wallet operations


async def add_operation(db: Database, location_id: UUID, status: str, total: int) -> UUID:
    operation_id = new_id()
    await db.execute(
        "INSERT INTO wallet_operations (id, location_id, operation, amount, source, status,"
        " total, processed, attempts, created_at) VALUES ($1, $2, 'ADD', 100, 'BULK', $3, $4,"
        " $4, 1, $5)",
        operation_id,
        location_id,
        status,
        total,
        NOW,
    )
    return operation_id


async def test_operations_pass_with_one_entry_per_customer(db: Database) -> None:
    location_id = await new_location(db)
    operation = await add_operation(db, location_id, "SUCCEEDED", 2)
    for _ in range(2):
        customer = await new_customer(db, location_id, 100)
        await add_entry(
            db, location_id, customer, "ADD", 100, 100, source="BULK", source_id=operation
        )
    # the last customer owed 0.50, which the credit paid off: a CLAWBACK of the same operation
    await add_entry(
        db, location_id, customer, "CLAWBACK", -50, 50, source="BULK", source_id=operation
    )

    check = await check_operations(db, location_id)

    assert check.passed
    assert check.detail == (
        "1 operations (0 by group filter), 2 entries; 0 not SUCCEEDED, "
        "0 with another count of entries than customers"
    )


async def test_operations_fail_on_a_customer_missed(db: Database) -> None:
    location_id = await new_location(db)
    operation = await add_operation(db, location_id, "SUCCEEDED", 2)
    customer = await new_customer(db, location_id, 100)
    await add_entry(db, location_id, customer, "ADD", 100, 100, source="BULK", source_id=operation)

    check = await check_operations(db, location_id)

    assert not check.passed
    assert check.detail.endswith("0 not SUCCEEDED, 1 with another count of entries than customers")


async def test_operations_fail_on_one_left_queued(db: Database) -> None:
    location_id = await new_location(db)
    await add_operation(db, location_id, "QUEUED", 0)

    check = await check_operations(db, location_id)

    assert not check.passed
    assert check.detail.endswith("1 not SUCCEEDED, 0 with another count of entries than customers")


# ------------------------------------------------------------------ schedules


async def add_schedule(db: Database, location_id: UUID, customers: list[UUID]) -> UUID:
    """A daily schedule for `customers`, created today and starting today."""
    schedule_id = new_id()
    await db.execute(
        "INSERT INTO credit_schedules (id, location_id, operation, amount, every, unit,"
        " start_date, target, customer_ids, group_ids, paused, last_period, created_at)"
        " VALUES ($1, $2, 'ADD', 100, 1, 'DAY', $3, 'CUSTOMERS', $4::jsonb, '[]', false, -1, $5)",
        schedule_id,
        location_id,
        TODAY,
        json.dumps([str(c) for c in customers]),
        NOW,
    )
    return schedule_id


async def add_run(db: Database, schedule_id: UUID, status: str) -> None:
    await db.execute(
        "INSERT INTO schedule_runs (id, schedule_id, period, period_on, status, total, processed,"
        " attempts, created_at) VALUES ($1, $2, 0, $3, $4, 2, 2, 1, $5)",
        new_id(),
        schedule_id,
        TODAY,
        status,
        NOW,
    )


async def test_schedules_pass_with_each_due_period_applied_to_every_member(db: Database) -> None:
    location_id = await new_location(db)
    customers = [await new_customer(db, location_id, 100) for _ in range(2)]
    schedule = await add_schedule(db, location_id, customers)
    await add_run(db, schedule, "SUCCEEDED")
    for customer in customers:
        await add_entry(
            db, location_id, customer, "ADD", 100, 100, source="SCHEDULE", source_id=schedule
        )
    # one of them owed 0.50, which the top-up paid off: a CLAWBACK of the same period
    await add_entry(
        db, location_id, customer, "CLAWBACK", -50, 50, source="SCHEDULE", source_id=schedule
    )

    check = await check_schedules(db, location_id, TIMEZONE, NOW)

    assert check.passed
    assert check.detail == (
        "1 schedules, 1 periods applied; 0 due periods never run, 0 not SUCCEEDED, "
        "0 with another count of entries than members"
    )


async def test_schedules_fail_on_a_member_missed(db: Database) -> None:
    location_id = await new_location(db)
    customers = [await new_customer(db, location_id, 100) for _ in range(2)]
    schedule = await add_schedule(db, location_id, customers)
    await add_run(db, schedule, "SUCCEEDED")
    await add_entry(
        db, location_id, customers[0], "ADD", 100, 100, source="SCHEDULE", source_id=schedule
    )

    check = await check_schedules(db, location_id, TIMEZONE, NOW)

    assert not check.passed
    assert check.detail == (
        "1 schedules, 0 periods applied; 0 due periods never run, 0 not SUCCEEDED, "
        "1 with another count of entries than members"
    )


async def test_schedules_fail_on_a_due_period_never_run(db: Database) -> None:
    location_id = await new_location(db)
    await add_schedule(db, location_id, [await new_customer(db, location_id)])

    check = await check_schedules(db, location_id, TIMEZONE, NOW)

    assert not check.passed
    assert check.detail.startswith("1 schedules, 0 periods applied; 1 due periods never run,")


# ------------------------------------------------------------------ sync


async def add_sync_run(db: Database, location_id: UUID, status: str) -> UUID:
    run_id = new_id()
    await db.execute(
        "INSERT INTO sync_runs (id, location_id, channel, status, attempts, created_at, fetched,"
        " linked, unmatched, written, error) VALUES ($1, $2, 'GOPOS', $3, 1, $4, 2, 2, 0, 2, $5)",
        run_id,
        location_id,
        status,
        NOW,
        "upstream down" if status == "FAILED" else None,
    )
    return run_id


async def test_sync_passes_when_it_succeeded(db: Database) -> None:
    location_id = await new_location(db)
    run = await add_sync_run(db, location_id, "SUCCEEDED")

    check = await check_sync(db, location_id, run)

    assert check.passed
    assert check.detail == "SUCCEEDED: 2 groups fetched, 2 linked, 2 rows written"


async def test_sync_fails_when_it_failed_or_never_ran(db: Database) -> None:
    location_id = await new_location(db)
    run = await add_sync_run(db, location_id, "FAILED")

    failed = await check_sync(db, location_id, run)
    missing = await check_sync(db, location_id, None)

    assert not failed.passed
    assert failed.detail == "FAILED: 2 groups fetched, 2 linked, 2 rows written; upstream down"
    assert not missing.passed
    assert missing.detail == "no sync was queued"


# ------------------------------------------------------------------ refunds


async def partly_refunded(db: Database, location_id: UUID, *, quantity: int, credits: int) -> UUID:
    """A sale of 2 units that used 5.00 of credits, took 3.00 of the daily limit and granted
    1.00 of cashback, refunded once: `quantity` of its line, `credits` back, 0.50 of cashback
    taken back and 1.50 of the limit given back."""
    customer = await new_customer(db, location_id)
    sale = await add_checkout(
        db,
        location_id,
        customer,
        f"p{quantity}",
        credits_used=500,
        cashback=100,
        group_discount=300,
        status="PARTIALLY_REFUNDED",
    )
    await db.execute(
        "UPDATE checkouts SET lines = $2::jsonb, refunded_quantities = $3::jsonb,"
        " refund_count = 1, group_discount_returned = 150 WHERE id = $1",
        sale,
        json.dumps([{"product_id": "p", "quantity": 2000}]),
        json.dumps([quantity]),
    )
    await db.execute(
        "INSERT INTO checkout_refunds (id, location_id, checkout_id, number, lines,"
        " credits_returned, cashback_reversed, cashback_owed, created_at, group_discount)"
        " VALUES ($1, $2, $3, 1, '[]'::jsonb, $4, 50, 0, $5, 150)",
        new_id(),
        location_id,
        sale,
        credits,
        NOW,
    )
    await add_entry(
        db,
        location_id,
        customer,
        "REFUND",
        credits,
        credits,
        source="CHECKOUT",
        source_id=sale,
        period=1,
    )
    return sale


async def test_refunds_pass_within_what_was_sold(db: Database) -> None:
    location_id = await new_location(db)
    await partly_refunded(db, location_id, quantity=1000, credits=250)
    await add_checkout(db, location_id, await new_customer(db, location_id), "kept")

    check = await check_refunds(db, location_id)

    assert check.passed
    assert check.detail == (
        "1 sales refunded in 1 refunds (1 partly refunded, 0 refunded more than once); "
        "0 past what they sold, 0 with another status or count, "
        "0 refunds without their credits' entry"
    )


async def test_refunds_fail_past_the_quantity_or_the_credits_sold_and_off_their_status(
    db: Database,
) -> None:
    location_id = await new_location(db)
    await partly_refunded(db, location_id, quantity=3000, credits=250)
    await partly_refunded(db, location_id, quantity=1000, credits=600)
    whole = await partly_refunded(db, location_id, quantity=2000, credits=250)

    check = await check_refunds(db, location_id)

    # the third is refunded whole yet PARTIALLY_REFUNDED
    assert not check.passed
    assert check.detail == (
        "3 sales refunded in 3 refunds (3 partly refunded, 0 refunded more than once); "
        "2 past what they sold, 1 with another status or count, "
        "0 refunds without their credits' entry"
    )
    await db.execute("UPDATE checkouts SET status = 'REFUNDED' WHERE id = $1", whole)
    assert (await check_refunds(db, location_id)).detail.endswith(
        "; 2 past what they sold, 0 with another status or count, "
        "0 refunds without their credits' entry"
    )


async def refund_again(db: Database, sale: UUID, *, quantity: int, credits: int) -> None:
    """The second refund of a `partly_refunded` sale: `quantity` more of its line, `credits`
    back (its REFUND entry of period 2), 0.50 of cashback and 1.50 of the limit."""
    location_id, customer = await db.fetchrow(
        "SELECT location_id, customer_id FROM checkouts WHERE id = $1", sale
    )
    await db.execute(
        "UPDATE checkouts SET refunded_quantities = jsonb_build_array("
        "(refunded_quantities->>0)::bigint + $2), refund_count = 2,"
        " group_discount_returned = 300 WHERE id = $1",
        sale,
        quantity,
    )
    await db.execute(
        "INSERT INTO checkout_refunds (id, location_id, checkout_id, number, lines,"
        " credits_returned, cashback_reversed, cashback_owed, created_at, group_discount)"
        " VALUES ($1, $2, $3, 2, '[]'::jsonb, $4, 50, 0, $5, 150)",
        new_id(),
        location_id,
        sale,
        credits,
        NOW,
    )
    await add_entry(
        db,
        location_id,
        customer,
        "REFUND",
        credits,
        credits,
        source="CHECKOUT",
        source_id=sale,
        period=2,
    )


async def test_refunds_pass_for_a_sale_refunded_in_two_parts_to_the_end(db: Database) -> None:
    location_id = await new_location(db)
    sale = await partly_refunded(db, location_id, quantity=1000, credits=250)
    await refund_again(db, sale, quantity=1000, credits=250)
    await db.execute("UPDATE checkouts SET status = 'REFUNDED' WHERE id = $1", sale)

    check = await check_refunds(db, location_id)

    assert check.passed
    assert check.detail == (
        "1 sales refunded in 2 refunds (0 partly refunded, 1 refunded more than once); "
        "0 past what they sold, 0 with another status or count, "
        "0 refunds without their credits' entry"
    )


async def test_refunds_fail_when_two_partial_refunds_give_back_more_credits_than_used(
    db: Database,
) -> None:
    location_id = await new_location(db)
    sale = await partly_refunded(db, location_id, quantity=500, credits=250)
    # 1.00 of 2 units refunded in all, yet 2.50 + 3.00 of the 5.00 of credits given back
    await refund_again(db, sale, quantity=500, credits=300)

    check = await check_refunds(db, location_id)

    assert not check.passed
    assert check.detail == (
        "1 sales refunded in 2 refunds (1 partly refunded, 1 refunded more than once); "
        "1 past what they sold, 0 with another status or count, "
        "0 refunds without their credits' entry"
    )


async def test_refunds_fail_on_a_refund_whose_credits_entry_differs_or_is_missing(
    db: Database,
) -> None:
    location_id = await new_location(db)
    short = await partly_refunded(db, location_id, quantity=1000, credits=250)
    missing = await partly_refunded(db, location_id, quantity=1000, credits=250)
    await db.execute(
        "UPDATE wallet_entries SET delta = 200 WHERE source_id = $1 AND kind = 'REFUND'", short
    )
    await db.execute("DELETE FROM wallet_entries WHERE source_id = $1 AND kind = 'REFUND'", missing)

    check = await check_refunds(db, location_id)

    assert not check.passed
    assert check.detail.endswith(
        "; 0 past what they sold, 0 with another status or count, "
        "2 refunds without their credits' entry"
    )


# ------------------------------------------------------------------ undos


async def add_undo(
    db: Database,
    location_id: UUID,
    original: UUID,
    *,
    restored: int,
    partly: int,
    status: str = "SUCCEEDED",
) -> UUID:
    undo_id = new_id()
    await db.execute(
        "INSERT INTO wallet_operations (id, location_id, operation, amount, source, status,"
        " total, processed, attempts, created_at, undo_of_id, undo_source_id, undo_period,"
        " restored_count, partly_restored_count) VALUES ($1, $2, 'ADD', 100, 'BULK', $3, 2,"
        " 2, 1, $4, $5, $5, 0, $6, $7)",
        undo_id,
        location_id,
        status,
        NOW,
        original,
        restored,
        partly,
    )
    return undo_id


async def add_undo_entry(
    db: Database, location_id: UUID, customer: UUID, undo_id: UUID, requested: int, delta: int
) -> None:
    await db.execute(
        "INSERT INTO wallet_entries (location_id, customer_id, kind, requested_amount, delta,"
        " balance_after, source, source_id, period, created_at)"
        " VALUES ($1, $2, 'UNDO', $3, $4, 0, 'BULK', $5, 0, $6)",
        location_id,
        customer,
        requested,
        delta,
        undo_id,
        NOW,
    )


async def undone(db: Database) -> tuple[UUID, list[UUID], UUID, UUID]:
    """An ADD of 1.00 to two customers, the second of whom owed 0.50 which it paid off (its
    CLAWBACK), undone: the first restored whole (-1.00), the second in part (-0.50 wanted,
    -0.20 applied, having spent the rest). Returns the location, the customers, the original
    and the undo."""
    location_id = await new_location(db)
    original = await add_operation(db, location_id, "SUCCEEDED", 2)
    customers = [await new_customer(db, location_id) for _ in range(2)]
    for customer in customers:
        await add_entry(
            db, location_id, customer, "ADD", 100, 100, source="BULK", source_id=original
        )
    await add_entry(
        db, location_id, customers[1], "CLAWBACK", -50, 50, source="BULK", source_id=original
    )
    undo_id = await add_undo(db, location_id, original, restored=1, partly=1)
    await add_undo_entry(db, location_id, customers[0], undo_id, -100, -100)
    await add_undo_entry(db, location_id, customers[1], undo_id, -50, -20)
    return location_id, customers, original, undo_id


async def test_undos_pass_with_one_entry_per_customer_reached(db: Database) -> None:
    location_id, _, original, undo_id = await undone(db)

    check = await check_undos(db, location_id, {original: undo_id})
    operations = await check_operations(db, location_id)

    assert check.passed
    assert check.detail == (
        "1 undos requested, 1 found, 0 of them missing; 2 UNDO entries (1 partly restoring); "
        "0 not SUCCEEDED, 0 customers missed, 0 entries extra, 0 of another amount, "
        "0 undos miscounted, 0 operations undone twice, 0 undos of an undo"
    )
    # the undo is an operation too, whose entries are UNDO ones: the operations check skips it
    assert operations.passed


async def test_undos_fail_on_a_customer_missed_and_one_not_reached(db: Database) -> None:
    location_id, customers, original, undo_id = await undone(db)
    await db.execute(
        "UPDATE wallet_entries SET customer_id = $2 WHERE source_id = $1 AND customer_id = $3",
        undo_id,
        await new_customer(db, location_id),
        customers[0],
    )

    check = await check_undos(db, location_id, {original: undo_id})

    assert not check.passed
    assert "; 0 not SUCCEEDED, 1 customers missed, 1 entries extra, 0 of another amount, " in (
        check.detail
    )


async def test_undos_fail_on_an_entry_of_another_amount(db: Database) -> None:
    location_id, customers, original, undo_id = await undone(db)
    # the whole 1.00 taken back of the customer who had paid 0.50 of debt with it
    await db.execute(
        "UPDATE wallet_entries SET requested_amount = -100, delta = -100"
        " WHERE source_id = $1 AND customer_id = $2",
        undo_id,
        customers[1],
    )

    check = await check_undos(db, location_id, {original: undo_id})

    assert not check.passed
    assert ", 1 of another amount, 1 undos miscounted, " in check.detail


async def test_undos_fail_when_unfinished_lost_or_never_requested(db: Database) -> None:
    location_id, _, original, undo_id = await undone(db)
    await db.execute("UPDATE wallet_operations SET status = 'RUNNING' WHERE id = $1", undo_id)

    unfinished = await check_undos(db, location_id, {original: undo_id})
    lost = await check_undos(db, await new_location(db), {original: undo_id})
    none = await check_undos(db, await new_location(db), {})

    assert not unfinished.passed
    assert "; 1 not SUCCEEDED, 0 customers missed, " in unfinished.detail
    assert not lost.passed
    assert lost.detail.startswith("1 undos requested, 0 found, 1 of them missing; 0 UNDO")
    assert not none.passed
    assert none.detail.startswith("0 undos requested, 0 found, 0 of them missing; 0 UNDO")


async def test_undos_fail_on_an_undo_of_an_undo(db: Database) -> None:
    location_id, _, original, undo_id = await undone(db)
    again = await add_undo(db, location_id, undo_id, restored=0, partly=0)

    check = await check_undos(db, location_id, {original: undo_id, undo_id: again})

    assert not check.passed
    assert check.detail.endswith(", 0 operations undone twice, 1 undos of an undo")


# ------------------------------------------------------------------------ lots


async def add_lot(
    db: Database,
    location_id: UUID,
    customer_id: UUID,
    amount: int,
    remaining: int,
    expires_on: date | None = None,
) -> None:
    await db.execute(
        "INSERT INTO credit_lots (location_id, customer_id, entry_id, source, amount, remaining,"
        " expires_on, created_at) VALUES ($1, $2, NULL, 'BULK', $3, $4, $5, $6)",
        location_id,
        customer_id,
        amount,
        remaining,
        expires_on,
        NOW,
    )


async def _expired_lot(db: Database, location_id: UUID) -> UUID:
    """A customer whose lot of 2.00 expired yesterday and left through one EXPIRE entry."""
    customer = await new_customer(db, location_id, 0)
    await add_lot(db, location_id, customer, 200, 0, date(2000, 1, 1))
    await add_entry(db, location_id, customer, "EXPIRE", -200, 0, source="SYSTEM")
    return customer


async def test_lots_pass_when_they_sum_to_each_balance_and_expired_ones_hold_nothing(
    db: Database,
) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id, 500)
    await add_lot(db, location_id, customer, 300, 300)
    await add_lot(db, location_id, customer, 400, 200, date(2999, 1, 1))
    await _expired_lot(db, location_id)

    check = await check_lots(db, location_id, TIMEZONE)

    assert check.passed
    assert check.detail == (
        "3 lots; 0 balances differ from their lots, 0 lots out of range, 0 past their day still "
        "holding; 1 lots past their day, 1 EXPIRE entries of 1 lots took 200"
    )


async def test_lots_fail_when_they_do_not_sum_to_a_balance(db: Database) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id, 500)
    await add_lot(db, location_id, customer, 300, 300)
    await _expired_lot(db, location_id)

    check = await check_lots(db, location_id, TIMEZONE)

    assert not check.passed
    assert "1 balances differ from their lots" in check.detail


async def test_lots_fail_when_a_lot_past_its_day_still_holds_credits(db: Database) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id, 100)
    await add_lot(db, location_id, customer, 100, 100, date(2000, 1, 2))
    await _expired_lot(db, location_id)

    check = await check_lots(db, location_id, TIMEZONE)

    assert not check.passed
    assert "1 past their day still holding" in check.detail


async def test_lots_fail_when_nothing_expired(db: Database) -> None:
    location_id = await new_location(db)
    customer = await new_customer(db, location_id, 100)
    await add_lot(db, location_id, customer, 100, 100)

    check = await check_lots(db, location_id, TIMEZONE)

    assert not check.passed
    assert check.detail.endswith("0 lots past their day, 0 EXPIRE entries of 0 lots took 0")
