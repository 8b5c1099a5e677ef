"""The chain's data for `bench.chain`, written with set-based SQL in the shape the app keeps it.

Locations, each with two groups ("Stały klient": every customer; "VIP": every second one);
customers with a card, an opening balance of 10.00 to 99.00 written as the app writes a bulk
ADD (the customer's balance, its ledger entry, its credit lot, and the operation that wrote
them); the till locations' POS keys and GoPOS mirror (a group with 10% off, linked to "Stały
klient"). Ids are time-ordered UUIDs like the app's, and the small locations' customers are
interleaved in time, as a chain's sign-ups are: a location's customers lie all over the table.

`due_schedules` then writes the top-ups as the product holds them the day before their first
period: every location's monthly SET (all customers, or "Stały klient") and the big location's
ADD to its 200,000, created yesterday and starting today, so that the worker's next periodic
check finds them all due.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from bench.credits import Connection as BaseConnection
from domain.schedule import local_today
from services.seeding import new_id

TIMEZONE = "Europe/Warsaw"
SET_AMOUNT = 5_000  # the monthly SET: 50.00
ADD_AMOUNT = 1_000  # the big location's monthly ADD: 10.00


class Connection(BaseConnection, Protocol):
    """`bench.credits.Connection` and `fetchrow`."""

    async def fetchrow(self, query: str, *args: object) -> Any: ...

    async def fetch(self, query: str, *args: object) -> list[Any]: ...


V7 = """
CREATE FUNCTION pg_temp.v7(ts timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7'
          || substr(md5(random()::text), 1, 3) || to_hex(8 + floor(random() * 4)::int)
          || substr(md5(random()::text), 1, 15))::uuid
$$
"""

# Customer n (0-based) of the small locations belongs to small location n % L; the big
# location's customers come after them. `$1`: the customers, `$2` the small locations,
# `$3` the big location's customers, `$4` when the first signed up, `$5` the time between two.
CUSTOMERS = """
INSERT INTO customers (id, location_id, first_name, last_name, search_text, name_key,
                       credit_balance, wallet_updated_at, created_at, updated_at)
SELECT pg_temp.v7(ts.t), l.id, 'Klient', lpad(s.g::text, 8, '0'),
       'klient ' || lpad(s.g::text, 8, '0'), lpad(s.g::text, 8, '0') || ' klient',
       1000 + (s.g % 90) * 100, ts.t, ts.t, ts.t
FROM generate_series(0, $1::int + $3::int - 1) AS s(g)
CROSS JOIN LATERAL (SELECT $4::timestamptz + s.g * $5::interval AS t) AS ts
JOIN bench_locations l
  ON l.n = CASE WHEN s.g < $1::int THEN 1 + s.g % $2::int ELSE 0 END
ORDER BY s.g
"""

CARDS = """
INSERT INTO customer_cards (id, location_id, customer_id, code, position)
SELECT pg_temp.v7(c.created_at), c.location_id, c.id, 'CARD' || c.last_name, 0
FROM customers c JOIN bench_locations l ON l.id = c.location_id
"""

MEMBERSHIPS = """
INSERT INTO group_memberships (group_id, customer_id, created_at)
SELECT l.regular, c.id, c.created_at FROM customers c JOIN bench_locations l ON l.id = c.location_id
UNION ALL
SELECT l.vip, c.id, c.created_at FROM customers c JOIN bench_locations l ON l.id = c.location_id
WHERE right(c.last_name, 1) IN ('0', '2', '4', '6', '8')  -- even, and no cast to trip on
"""

OPENING_OPERATIONS = """
INSERT INTO wallet_operations (id, location_id, operation, amount, description, source,
                               customer_filter, status, total, processed, actor, attempts,
                               created_at, started_at, heartbeat_at, finished_at)
SELECT l.opening, l.id, 'ADD', 0, 'Saldo otwarcia', 'BULK', '{}'::jsonb, 'SUCCEEDED',
       count(c.id), count(c.id), 'import', 1, $1::timestamptz, $1::timestamptz, $1::timestamptz,
       $1::timestamptz
FROM bench_locations l JOIN customers c ON c.location_id = l.id
GROUP BY l.opening, l.id
"""

OPENING_ENTRIES = """
INSERT INTO wallet_entries (location_id, customer_id, kind, requested_amount, delta,
                            balance_after, description, source, source_id, period, actor,
                            created_at)
SELECT c.location_id, c.id, 'ADD', c.credit_balance, c.credit_balance, c.credit_balance,
       'Saldo otwarcia', 'BULK', l.opening, 0, 'import', c.created_at
FROM customers c JOIN bench_locations l ON l.id = c.location_id
ORDER BY c.id
"""

OPENING_LOTS = """
INSERT INTO credit_lots (location_id, customer_id, entry_id, source, amount, remaining,
                         expires_on, created_at)
SELECT e.location_id, e.customer_id, e.id, e.source, e.delta, e.delta, NULL, e.created_at
FROM wallet_entries e JOIN bench_locations l ON l.id = e.location_id AND e.source_id = l.opening
ORDER BY e.id
"""


@dataclass(frozen=True)
class Chain:
    """What was seeded: the locations (the big one first), the till locations' POS keys."""

    locations: tuple[UUID, ...]
    small_customers: int
    big_customers: int
    till_keys: tuple[tuple[UUID, str], ...]  # (location, POS key secret)
    per_location: int  # customers of a small location (the last ones may have one more)

    @property
    def customers(self) -> int:
        return self.small_customers + self.big_customers


def card_of(n: int) -> str:
    return f"CARD{n:08d}"


async def seed(
    conn: Connection, small_locations: int, small_customers: int, big_customers: int, tills: int
) -> Chain:
    """The chain: `small_locations` locations sharing `small_customers`, one location with
    `big_customers`, and POS keys for the first `tills` small locations."""
    now = datetime.now(UTC)
    locations = tuple(new_id() for _ in range(small_locations + 1))
    await conn.execute(V7)
    await conn.execute(
        "CREATE TEMPORARY TABLE bench_locations (n int PRIMARY KEY, id uuid, regular uuid,"
        " vip uuid, opening uuid)"
    )
    await conn.execute(
        "INSERT INTO bench_locations SELECT n - 1, id, pg_temp.v7($2), pg_temp.v7($2),"
        " pg_temp.v7($2::timestamptz) FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)",
        list(locations),
        now,
    )
    await conn.execute(
        "INSERT INTO locations (id, name, currency, timezone, created_at)"
        " SELECT id, CASE n WHEN 0 THEN 'Flagowy' ELSE 'Lokal ' || n END, 'PLN', $1, $2"
        " FROM bench_locations",
        TIMEZONE,
        now - timedelta(days=400),
    )
    await conn.execute(
        "INSERT INTO customer_groups (id, location_id, name, reference, created_at)"
        " SELECT regular, id, 'Stały klient', 'staly-klient', $1::timestamptz FROM bench_locations"
        " UNION ALL SELECT vip, id, 'VIP', 'vip', $1 FROM bench_locations",
        now - timedelta(days=400),
    )
    first_signup = now - timedelta(days=365)
    step = timedelta(days=364) / max(1, small_customers + big_customers)
    await conn.execute(
        CUSTOMERS, small_customers, small_locations, big_customers, first_signup, step
    )
    for statement in (CARDS, MEMBERSHIPS, OPENING_ENTRIES, OPENING_LOTS):
        await conn.execute(statement)
    await conn.execute(OPENING_OPERATIONS, first_signup)
    keys = []
    for location_id in locations[1 : tills + 1]:
        keys.append((location_id, await _pos_key(conn, location_id)))
    await conn.execute("VACUUM ANALYZE")
    return Chain(
        locations=locations,
        small_customers=small_customers,
        big_customers=big_customers,
        till_keys=tuple(keys),
        per_location=small_customers // small_locations,
    )


async def _pos_key(conn: Connection, location_id: UUID) -> str:
    secret = "gocrm_" + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_keys (id, location_id, name, role, channels, key_hash, created_at)"
        " VALUES ($1, $2, 'till', 'POS', 'POS,KIOSK', $3, now())",
        new_id(),
        location_id,
        hashlib.sha256(secret.encode()).hexdigest(),
    )
    return secret


def till_cards(chain: Chain, till: int, count: int) -> list[str]:
    """Up to `count` card codes of the `till`-th small location (0-based)."""
    small = len(chain.locations) - 1
    numbers = range(till, chain.small_customers, small)
    return [card_of(n) for n in numbers[:count]]


SCHEDULES = """
INSERT INTO credit_schedules (id, location_id, operation, amount, description, every, unit,
                              start_date, target, customer_ids, group_ids, paused,
                              last_period, next_run_on, actor, created_at, replace_previous)
SELECT pg_temp.v7($2::timestamptz), g.location_id, $3, $4, $5, 1, 'MONTH', $1::date,
       CASE WHEN $6::bool OR (l.n % 2 = 1) THEN 'ALL' ELSE 'GROUPS' END, '[]'::jsonb,
       CASE WHEN $6::bool OR (l.n % 2 = 1) THEN '[]'::jsonb ELSE jsonb_build_array(g.id::text) END,
       false, -1, $1::date, 'bench', $2::timestamptz, false
FROM customer_groups g
JOIN (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM locations) l
  ON l.id = g.location_id
WHERE g.reference = 'staly-klient' AND g.location_id = ANY($7::uuid[])
"""


async def due_schedules(conn: Connection, chain: Chain, now: datetime) -> list[UUID]:
    """Every location's monthly SET of 50.00 (odd locations every customer, even ones
    "Stały klient"), and the big location's ADD of 10.00 to "Stały klient" (all of its
    customers), as created yesterday with their first period today. Returns their ids."""
    today = local_today(now, TIMEZONE)
    created = now - timedelta(days=1)
    every, big = list(chain.locations), [chain.locations[0]]
    await conn.execute(V7.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    async with conn.transaction():
        await conn.execute(
            SCHEDULES, today, created, "SET", SET_AMOUNT, "Doładowanie miesięczne", False, every
        )
        await conn.execute(
            SCHEDULES, today, created, "ADD", ADD_AMOUNT, "Premia flagowego", True, big
        )
    rows = await conn.fetch(
        "SELECT id FROM credit_schedules WHERE location_id = ANY($1::uuid[])", every
    )
    return [row[0] for row in rows]


def expected_entries(chain: Chain) -> int:
    """What the top-up writes: one entry per customer and schedule."""
    return chain.customers + chain.big_customers


RUNS = """
SELECT count(*) FILTER (WHERE r.status = 'SUCCEEDED'), count(*) FILTER (WHERE r.status = 'FAILED'),
       (SELECT count(*) FROM credit_schedules WHERE location_id = ANY($1::uuid[])),
       min(r.started_at), max(r.finished_at), coalesce(sum(r.processed), 0)
FROM schedule_runs r JOIN credit_schedules s ON s.id = r.schedule_id
WHERE s.location_id = ANY($1::uuid[])
"""


@dataclass(frozen=True)
class Runs:
    succeeded: int
    failed: int
    schedules: int
    first_started: datetime | None
    last_finished: datetime | None
    processed: int

    @property
    def done(self) -> bool:
        return self.schedules > 0 and self.succeeded + self.failed == self.schedules


async def runs(conn: Connection, chain: Chain) -> Runs:
    """The chain's schedule periods: how many ended, and when the first began and the last
    ended."""
    row = await conn.fetchrow(RUNS, list(chain.locations))
    return Runs(*row)


CHECK = """
SELECT count(*) FILTER (WHERE c.credit_balance IS DISTINCT FROM e.total
                           OR c.credit_balance IS DISTINCT FROM l.total)
FROM customers c
LEFT JOIN (SELECT customer_id, sum(delta) AS total FROM wallet_entries
           WHERE location_id = ANY($1::uuid[]) GROUP BY customer_id) e ON e.customer_id = c.id
LEFT JOIN (SELECT customer_id, sum(remaining) AS total FROM credit_lots
           WHERE location_id = ANY($1::uuid[]) GROUP BY customer_id) l ON l.customer_id = c.id
WHERE c.location_id = ANY($1::uuid[])
"""

TOPPED = """
SELECT count(*) FROM (
  SELECT c.id FROM customers c
  LEFT JOIN wallet_entries e ON e.customer_id = c.id AND e.source = 'SCHEDULE'
  WHERE c.location_id = ANY($1::uuid[])
  GROUP BY c.id, c.location_id
  HAVING count(e.id) <> CASE WHEN c.location_id = $2 THEN 2 ELSE 1 END) AS wrong
"""


async def mismatches(conn: Connection, chain: Chain) -> tuple[int, int]:
    """(customers whose balance is not the sum of their deltas and of their lots' remainders,
    customers without exactly one entry per schedule of their location)."""
    every = list(chain.locations)
    unbalanced = await conn.fetchval(CHECK, every)
    untopped = await conn.fetchval(TOPPED, every, chain.locations[0])
    return int(unbalanced), int(untopped)
