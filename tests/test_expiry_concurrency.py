"""Expiry under concurrency, on PostgreSQL (SQLite has one writer at a time).

Two workers expiring the same lots at once write one EXPIRE entry per lot: each chunk holds its
customers before it reads what is left of their lots. A till spending a lot while it expires
leaves nothing expired twice and nothing negative: the expiry waits for the till and expires
what is left after it. Each test has its negative control: without the guard, the same run is
caught (two EXPIREs for a lot, or a balance the database refuses).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.ledger import CreditOperation
from models import expiry
from models.db import transaction
from models.ledger import Movement, apply_chunk
from models.tables.crm import Customer
from models.tables.wallet import CreditLot, WalletEntry
from services import access
from settings import Settings
from tests.lots_helpers import change, sums

EXPIRED, TODAY = date(2026, 12, 1), date(2026, 12, 5)
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
CUSTOMERS = 30


async def _customers(name: str, count: int) -> tuple[UUID, list[UUID]]:
    """`count` customers, each with 10.00 that expired on Dec 1 and 5.00 that never expires."""
    location, _ = await access.create_location(name)
    ids = []
    for n in range(count):
        row = await Customer.create(location_id=location.id, first_name=f"C{n}")
        ids.append(row.id)
    add = CreditOperation.ADD
    await apply_chunk(ids, change(location.id, add, 1000, expires_on=EXPIRED))
    await apply_chunk(ids, change(location.id, add, 500))
    return location.id, ids


async def _worker(location_id: UUID, start: asyncio.Event) -> int:
    due = await expiry.due_lots(location_id, TODAY, 1000)
    await start.wait()
    async with transaction() as db:
        return await expiry.expire_lots(location_id, due, TODAY, NOW, db)


async def _two_workers(location_id: UUID) -> list[int | BaseException]:
    start = asyncio.Event()
    workers = [asyncio.create_task(_worker(location_id, start)) for _ in range(2)]
    await asyncio.sleep(0.2)  # both have read the same due lots
    start.set()
    return list(await asyncio.gather(*workers, return_exceptions=True))


async def test_two_workers_expire_each_lot_once(postgres_only: None, database: Settings) -> None:
    location_id, ids = await _customers("Expiry Twins", CUSTOMERS)
    done = await _two_workers(location_id)
    assert sorted(done) == [0, CUSTOMERS]  # type: ignore[type-var]
    expired = await WalletEntry.filter(customer_id__in=ids, kind="EXPIRE").count()
    assert expired == CUSTOMERS
    assert [await sums(c) for c in ids] == [(500, 500, 500)] * CUSTOMERS


async def naive_expire_lots(
    location_id: UUID, lot_ids: Sequence[int], today: date, now: datetime, db: Any
) -> int:
    """The forbidden way: read what is left into Python, then write the entry (with a source of
    its own, so no unique key stops it) and the balance back."""
    written = 0
    for lot in await CreditLot.filter(id__in=list(lot_ids), remaining__gt=0).using_db(db):
        customer = await Customer.get(id=lot.customer_id).using_db(db)
        await asyncio.sleep(0.05)
        await WalletEntry.create(
            location_id=location_id,
            customer_id=lot.customer_id,
            kind="EXPIRE",
            requested_amount=lot.remaining,
            delta=-lot.remaining,
            balance_after=customer.credit_balance - lot.remaining,
            source="SYSTEM",
            source_id=uuid4(),
            period=0,
            created_at=now,
            using_db=db,
        )
        await CreditLot.filter(id=lot.id).using_db(db).update(remaining=0)
        balance = customer.credit_balance - lot.remaining
        await Customer.filter(id=lot.customer_id).using_db(db).update(credit_balance=balance)
        written += 1
    return written


async def test_expiry_without_the_hold_is_caught_expiring_twice(
    postgres_only: None, database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(expiry, "expire_lots", naive_expire_lots)
    location_id, ids = await _customers("Expiry Naive", 5)
    outcome = await _two_workers(location_id)
    failed = [o for o in outcome if isinstance(o, BaseException)]
    expired = await WalletEntry.filter(customer_id__in=ids, kind="EXPIRE").count()
    broken = [c for c in ids if len(set(await sums(c))) != 1]
    assert failed or expired > 5 or broken, "the naive expiry was expected to be caught"


async def _redeem_while_expiring(location_id: UUID, anna: UUID) -> BaseException | int:
    """A till spends 12.00 of Anna's 15.00 (10.00 of it expired) in a transaction that the
    expiry of her lots has to wait for; the till commits, then the expiry goes on."""
    due = await expiry.due_lots(location_id, TODAY, 10)
    redeem = change(location_id, Movement.DEBIT, 1200, kind="REDEEM")
    go = asyncio.Event()

    async def expire() -> int:
        await go.wait()
        async with transaction() as db:
            return await expiry.expire_lots(location_id, due, TODAY, NOW, db)

    # started outside the till's transaction, so that it runs in a transaction of its own
    expiring = asyncio.create_task(expire())
    async with transaction() as till:
        assert await apply_chunk([anna], redeem, till) == 1
        go.set()
        await asyncio.sleep(0.3)
    result: list[int | BaseException] = await asyncio.gather(expiring, return_exceptions=True)
    return result[0]


async def test_a_till_spending_an_expiring_lot_leaves_only_what_is_left_to_expire(
    postgres_only: None, database: Settings
) -> None:
    location_id, (anna,) = await _customers("Expiry Till", 1)
    assert await _redeem_while_expiring(location_id, anna) == 0
    # the till took the expiring 10.00 first, and 2.00 of the rest: nothing left to expire
    assert await sums(anna) == (300, 300, 300)
    assert await WalletEntry.filter(customer_id=anna, kind="EXPIRE").count() == 0


async def test_an_expiry_that_reads_before_holding_is_caught(
    postgres_only: None, database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the hold replaced by a statement that holds nothing
    monkeypatch.setattr(expiry, "_HOLD", "SELECT 1 WHERE cardinality($1::bigint[]) >= 0")
    location_id, (anna,) = await _customers("Expiry Stale", 1)
    outcome = await _redeem_while_expiring(location_id, anna)
    expired = await WalletEntry.filter(customer_id=anna, kind="EXPIRE").count()
    assert isinstance(outcome, BaseException) or expired or len(set(await sums(anna))) != 1
