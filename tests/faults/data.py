"""What the fault tests send and what they check: GraphQL documents, set-based seeding, and
the ledger's invariants read straight from the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.faults.processes import sql
from tests.faults.till_documents import COMMIT as COMMIT
from tests.faults.till_documents import QUOTE as QUOTE
from tests.helpers import Api

CREATE_API_KEY = """mutation($name: String!) {
  createApiKey(name: $name, role: POS) { secret errors { code field message } } }"""
CREATE_GROUP = """mutation($input: CustomerGroupInput!) {
  createCustomerGroup(input: $input) { group { id } errors { code field message } } }"""
SET_CREDITS = """mutation($input: SetPromotionalCreditsInput!) {
  setPromotionalCredits(input: $input) {
    operation { id status total processed } errors { code field message } } }"""
OPERATION = "query($id: ID!) { walletOperation(id: $id) { status total processed } }"
CONFIGURE = """mutation($channel: Channel!, $input: IntegrationInput!) {
  configureIntegration(channel: $channel, input: $input) { errors { code field message } } }"""
SYNCHRONIZE = """mutation($channel: Channel!) {
  synchronize(channel: $channel) { syncRun { id status } errors { code field message } } }"""
SYNC_RUN = "query($id: ID!) { syncRun(id: $id) { status fetched linked error } }"

# A bill of 43.90: two coffees and a cheesecake.
LINES = [
    {"productId": "kawa", "quantity": "2", "unitPrice": "12.50"},
    {"productId": "sernik", "quantity": "1", "unitPrice": "18.90"},
]


def bill(card: str) -> dict[str, Any]:
    return {"cardCode": card, "lines": LINES}


def card_code(prefix: str, number: int) -> str:
    return f"{prefix}{number:05d}"


async def pos_api(admin: Api, name: str = "Till") -> Api:
    """A POS key of the admin's location, made through the API."""
    made = await admin.mutate(CREATE_API_KEY, {"name": name})
    assert made["errors"] == [], made
    return Api(admin.http, made["secret"], admin.location_id)


async def create_group(admin: Api, name: str, **extra: str) -> str:
    made = await admin.mutate(CREATE_GROUP, {"input": {"name": name, **extra}})
    assert made["errors"] == [], made
    group_id: str = made["group"]["id"]
    return group_id


async def seed_customers(
    database_url: str, location_id: str, count: int, *, group_id: str, cards: str | None = None
) -> None:
    """`count` customers in the group, in three statements; with `cards`, customer n (from 1)
    holds the card `card_code(cards, n)`."""
    await sql(
        database_url,
        "INSERT INTO customers (id, first_name, last_name, search_text, credit_balance,"
        " created_at, updated_at, location_id)"
        " SELECT gen_random_uuid(), 'Customer', n::text, 'customer ' || n, 0, now(), now(), $1"
        " FROM generate_series(1, $2) AS n",
        location_id,
        count,
    )
    await sql(
        database_url,
        "INSERT INTO group_memberships (created_at, customer_id, group_id)"
        " SELECT now(), id, $2 FROM customers WHERE location_id = $1",
        location_id,
        group_id,
    )
    if cards is not None:
        await sql(
            database_url,
            "INSERT INTO customer_cards (id, code, position, customer_id, location_id)"
            " SELECT gen_random_uuid(), $2 || lpad(last_name, 5, '0'), 0, id, location_id"
            " FROM customers WHERE location_id = $1",
            location_id,
            cards,
        )


async def give_cards(
    database_url: str, location_id: str, count: int, *, cards: str, group_id: str
) -> None:
    """Customers 1 to `count` get the cards `card_code(cards, n)` and join the group."""
    await sql(
        database_url,
        "INSERT INTO customer_cards (id, code, position, customer_id, location_id)"
        " SELECT gen_random_uuid(), $2 || lpad(last_name, 5, '0'), 0, id, location_id"
        " FROM customers WHERE location_id = $1 AND last_name::int <= $3",
        location_id,
        cards,
        count,
    )
    await sql(
        database_url,
        "INSERT INTO group_memberships (created_at, customer_id, group_id)"
        " SELECT now(), id, $2 FROM customers WHERE location_id = $1 AND last_name::int <= $3",
        location_id,
        group_id,
        count,
    )


async def credit_group(admin: Api, group_id: str, amount: str, key: str) -> dict[str, Any]:
    """ADD `amount` to every member of the group; the operation as the mutation answered."""
    made = await admin.mutate(
        SET_CREDITS,
        {
            "input": {
                "target": {"filter": {"groupIds": [group_id]}},
                "operation": "ADD",
                "amount": amount,
                "description": "Fault suite",
                "idempotencyKey": key,
            }
        },
    )
    assert made["errors"] == [], made
    operation: dict[str, Any] = made["operation"]
    return operation


async def configure_gopos(admin: Api, base_url: str, fixture: dict[str, Any]) -> None:
    inputs = {
        "baseUrl": base_url,
        "clientId": fixture["client_id"],
        "clientSecret": fixture["client_secret"],
        "organizationId": fixture["organization_id"],
    }
    made = await admin.mutate(CONFIGURE, {"channel": "GOPOS", "input": inputs})
    assert made["errors"] == [], made


async def synchronize_gopos(admin: Api) -> dict[str, Any]:
    made = await admin.mutate(SYNCHRONIZE, {"channel": "GOPOS"})
    assert made["errors"] == [], made
    run: dict[str, Any] = made["syncRun"]
    return run


def client(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=10.0)


# --- what the database says ------------------------------------------------------------------


async def job_row(database_url: str, table: str, job_id: str) -> dict[str, Any]:
    """status, attempts, processed/total or the sync's counts, and error, of one job."""
    (row,) = await sql(database_url, f"SELECT * FROM {table} WHERE id = $1", job_id)
    return row


@dataclass(frozen=True)
class Credited:
    """One operation's entries, and the location's balances."""

    entries: int
    customers: int  # distinct customers among its entries
    delta_sum: int
    balances: dict[int, int]  # balance -> how many customers of the location hold it
    off_ledger: int  # customers whose balance is not the sum of their entries' deltas


async def credited(database_url: str, location_id: str, source_id: str) -> Credited:
    (entries,) = await sql(
        database_url,
        "SELECT count(*) AS n, count(DISTINCT customer_id) AS customers,"
        " coalesce(sum(delta), 0) AS delta_sum FROM wallet_entries WHERE source_id = $1",
        source_id,
    )
    balances = await sql(
        database_url,
        "SELECT credit_balance AS balance, count(*) AS n FROM customers"
        " WHERE location_id = $1 GROUP BY 1",
        location_id,
    )
    return Credited(
        entries=entries["n"],
        customers=entries["customers"],
        delta_sum=int(entries["delta_sum"]),
        balances={row["balance"]: row["n"] for row in balances},
        off_ledger=await off_ledger(database_url, location_id),
    )


async def off_ledger(database_url: str, location_id: str) -> int:
    """Customers of the location whose balance is not the sum of their entries' deltas."""
    (row,) = await sql(
        database_url,
        "SELECT count(*) AS n FROM customers c WHERE c.location_id = $1 AND c.credit_balance"
        " <> (SELECT coalesce(sum(e.delta), 0) FROM wallet_entries e WHERE e.customer_id = c.id)",
        location_id,
    )
    n: int = row["n"]
    return n


@dataclass(frozen=True)
class Sales:
    """The location's checkouts against their wallet entries."""

    checkouts_by_key: dict[str, list[str]]  # idempotency key -> checkout ids
    unmatched: list[dict[str, Any]]  # checkouts whose entries do not match their amounts
    orphan_entries: int  # checkout entries without their checkout
    credits_used: int
    cashback_granted: int


async def sales(database_url: str, location_id: str) -> Sales:
    rows = await sql(
        database_url,
        "SELECT c.id::text AS id, c.idempotency_key AS key, c.credits_used, c.cashback_granted,"
        " coalesce(sum(-e.delta) FILTER (WHERE e.kind = 'REDEEM'), 0) AS redeemed,"
        " count(e.id) FILTER (WHERE e.kind = 'REDEEM') AS redeem_entries,"
        " coalesce(sum(e.delta) FILTER (WHERE e.kind = 'CASHBACK'), 0) AS cashback,"
        " count(e.id) FILTER (WHERE e.kind = 'CASHBACK') AS cashback_entries,"
        " count(e.id) FILTER (WHERE e.kind NOT IN ('REDEEM', 'CASHBACK')) AS other_entries"
        " FROM checkouts c LEFT JOIN wallet_entries e ON e.source_id = c.id"
        " WHERE c.location_id = $1 GROUP BY c.id",
        location_id,
    )
    by_key: dict[str, list[str]] = {}
    for row in rows:
        by_key.setdefault(row["key"], []).append(row["id"])
    unmatched = [
        row
        for row in rows
        if (row["redeemed"], row["redeem_entries"])
        != (row["credits_used"], int(row["credits_used"] > 0))
        or (row["cashback"], row["cashback_entries"])
        != (row["cashback_granted"], int(row["cashback_granted"] > 0))
        or row["other_entries"]
    ]
    (orphans,) = await sql(
        database_url,
        "SELECT count(*) AS n FROM wallet_entries e WHERE e.location_id = $1"
        " AND e.source = 'CHECKOUT'"
        " AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = e.source_id)",
        location_id,
    )
    return Sales(
        checkouts_by_key=by_key,
        unmatched=unmatched,
        orphan_entries=orphans["n"],
        credits_used=sum(row["credits_used"] for row in rows),
        cashback_granted=sum(row["cashback_granted"] for row in rows),
    )


async def balance_total(database_url: str, location_id: str) -> int:
    (row,) = await sql(
        database_url,
        "SELECT coalesce(sum(credit_balance), 0) AS total FROM customers WHERE location_id = $1",
        location_id,
    )
    return int(row["total"])
