"""Holding a customer: how the writes to one customer's wallet run one after the other.

A commit, a refund and a release of held cashback each run in one transaction whose first
statement holds the customer until that transaction ends: on PostgreSQL a lock on the
customer's row (`FOR UPDATE`), on SQLite, which has no row locks and one writer at a time, the
database's write lock, taken by a write that changes nothing. Whatever the transaction then
reads of the customer's wallet and usage no concurrent write of the same customer can change
before it commits, so each prices or reverses against the balance it changes.

`hold_customer` is the one way the services take that hold. What it reads with it depends on
the write, so that the hold costs no statement of its own:
- a commit names its customer by id or card and prices against the customer's groups, balance
  and usage of the daily limit: the hold is the snapshot's own statement
  (`models.reads.customer_for_pricing` with `hold`);
- a refund, a release and a customer's deletion know the customer's id and need its wallet
  only (`hold_wallet`, through `models.checkouts.lock_customer`).

Both are reached through the runtime's stores (`services.stores`), so that the rules built on
the hold are tested against the in-memory stores too.
"""

from __future__ import annotations

from datetime import date
from typing import overload
from uuid import UUID

from models.checkouts import HeldWallet
from models.db import Transaction
from models.reads import CustomerSnapshot
from services.stores import CheckoutStore, Stores


@overload
async def hold_customer(
    stores: Stores, db: Transaction, location_id: UUID, customer_id: UUID
) -> HeldWallet | None: ...


@overload
async def hold_customer(
    stores: Stores,
    db: Transaction,
    location_id: UUID,
    customer_id: UUID | None = None,
    *,
    card_code: str | None = None,
    priced_on: date,
) -> CustomerSnapshot | None: ...


async def hold_customer(
    stores: Stores,
    db: Transaction,
    location_id: UUID,
    customer_id: UUID | None = None,
    *,
    card_code: str | None = None,
    priced_on: date | None = None,
) -> HeldWallet | CustomerSnapshot | None:
    """Hold the live customer `customer_id` (or holding card `card_code`) of the location until
    the transaction `db` ends; to be the transaction's first statement. Returns its wallet, or
    with `priced_on` (a business date) what pricing reads of it on that date. None when the
    location has no such live customer."""
    if priced_on is None:
        if customer_id is None:
            raise ValueError("a customer's wallet is held by its id")
        return await hold_wallet(stores.checkouts, db, location_id, customer_id)
    return await stores.reads.customer_for_pricing(
        location_id, priced_on, card_code=card_code, customer_id=customer_id, hold=db
    )


async def hold_wallet(
    checkouts: CheckoutStore, db: Transaction, location_id: UUID, customer_id: UUID
) -> HeldWallet | None:
    """Hold the live customer `customer_id` through the sales store `checkouts` and return its
    wallet: the id-only hold of a refund, a release and a deletion (which may run on the SQL
    repositories without a runtime's stores)."""
    return await checkouts.lock_customer(location_id, customer_id, db)
