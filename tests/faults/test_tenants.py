"""One location must not slow down another.

Two locations on one `gocrm serve` (production, PostgreSQL) and one `gocrm worker`. Location
B's GoPOS holds 20,000 objects, the cap (10,000 groups, 500 of them sharing one reference, and
10,000 discounts); B's admin reads its groups' connections and the unmatched references eight
requests at a time and re-synchronises over and over, against two simulators whose discounts
differ, so that every sync rewrites 10,000 rows and moves B's sync version on. Meanwhile
location A's tills keep quoting. None of A's quotes fails, times out or changes, and B's reads
and syncs go through too.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.faults.data import (
    CONFIGURE,
    QUOTE,
    SYNCHRONIZE,
    bill,
    card_code,
    client,
    configure_gopos,
    create_group,
    pos_api,
    seed_customers,
    synchronize_gopos,
)
from tests.faults.processes import (
    Processes,
    RedisServer,
    create_location,
    environment,
    eventually,
    sql,
)
from tests.helpers import Api

CUSTOMERS = 1_000
GROUPS = 10_000  # and as many discounts: 20,000 objects, the default cap
SHARED = 500  # B's upstream groups that share the reference "wspolny"
LINKED = 20  # B's CRM groups linked to one upstream group each
TILLS = 4
READERS = 8
LOAD_SECONDS = 20.0
CLIENT = {"organization_id": "1001", "client_id": "fault", "client_secret": "fault-secret-7"}
# A's bill of 43.90 with the 10% group discount.
QUOTED = {
    "subtotal": {"amount": "43.90"},
    "total": {"amount": "39.51"},
    "credits": {"applied": {"amount": "0.00"}},
}

B_READ = """{
  customerGroups { reference connections { channel status detail
    posGroup { externalId dailyDiscountLimit { amount } discounts { externalId value } } } }
  integration(channel: GOPOS) { unmatchedReferences }
}"""


def a_fixture() -> dict[str, Any]:
    return {
        **CLIENT,
        "groups": [
            {
                "id": 17,
                "name": "Stały klient",
                "reference": "staly-klient",
                "daily_discount_limit": {"amount": "50.00", "currency": "PLN"},
                "discount_ids": [3],
            }
        ],
        "discounts": [
            {"id": 3, "name": "10%", "type": "PERCENT", "value": "10.00", "status": "ENABLED"}
        ],
    }


def b_fixture(generation: int) -> dict[str, Any]:
    """B's upstream at its cap; the discounts' values differ from one generation to the next."""
    return {
        **CLIENT,
        "groups": [
            {
                "id": n,
                "name": f"Grupa {n}",
                "reference": "wspolny" if n > GROUPS - SHARED else f"grupa-{n}",
                "daily_discount_limit": {"amount": f"{n % 90 + 10}.00", "currency": "PLN"},
                "discount_ids": [n],
            }
            for n in range(1, GROUPS + 1)
        ],
        "discounts": [
            {
                "id": n,
                "name": f"Rabat {n}",
                "type": "PERCENT",
                "value": f"{(n + generation) % 50 + 1}.00",
                "status": "ENABLED",
            }
            for n in range(1, GROUPS + 1)
        ],
    }


async def simulator(processes: Processes, folder: Path, name: str, data: dict[str, Any]) -> str:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return await processes.simulator("gopos", path)


@dataclass
class Observed:
    quote_seconds: list[float] = field(default_factory=list)
    wrong_quotes: list[Any] = field(default_factory=list)
    b_reads: int = 0
    b_read_seconds: list[float] = field(default_factory=list)
    b_failures: list[Any] = field(default_factory=list)
    sync_requests: int = 0


async def till(pos: Api, number: int, until: float, seen: Observed) -> None:
    n = number
    while time.monotonic() < until:
        n = n % CUSTOMERS + 1
        started = time.monotonic()
        try:
            body = await pos.raw(QUOTE, {"input": bill(card_code("A", n))})
        except (httpx.HTTPError, AssertionError) as error:
            seen.wrong_quotes.append(repr(error))
            continue
        seen.quote_seconds.append(time.monotonic() - started)
        if body.get("errors") or body["data"]["checkoutQuote"] != QUOTED:
            seen.wrong_quotes.append(body)


async def reader(admin: Api, until: float, seen: Observed) -> None:
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            body = await admin.raw(B_READ)
        except (httpx.HTTPError, AssertionError) as error:
            seen.b_failures.append(repr(error))
            continue
        seen.b_read_seconds.append(time.monotonic() - started)
        if body.get("errors"):
            seen.b_failures.append(body["errors"])
        seen.b_reads += 1


async def resyncer(admin: Api, upstreams: tuple[str, str], until: float, seen: Observed) -> None:
    """Point B's GoPOS at the other simulator and ask for a sync, again and again (a request
    while a run is unfinished answers CONFLICT)."""
    generation = 1
    while time.monotonic() < until:
        inputs = {
            "baseUrl": upstreams[generation % 2],
            "clientId": CLIENT["client_id"],
            "clientSecret": CLIENT["client_secret"],
            "organizationId": CLIENT["organization_id"],
        }
        configured = await admin.mutate(CONFIGURE, {"channel": "GOPOS", "input": inputs})
        if configured["errors"]:
            seen.b_failures.append(configured["errors"])
        asked = await admin.mutate(SYNCHRONIZE, {"channel": "GOPOS"})
        seen.sync_requests += 1
        if not asked["errors"]:
            generation += 1
        elif asked["errors"][0]["code"] != "CONFLICT":
            seen.b_failures.append(asked["errors"])
        await asyncio.sleep(0.5)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


async def test_a_tenant_at_its_mirror_cap_reading_and_resyncing_never_holds_up_anothers_tills(
    fault_database: str, redis_server: RedisServer, processes: Processes, tmp_path: Path
) -> None:
    # given a gateway and a worker in production, with no rate limits in the way
    env = environment(
        DATABASE_URL=fault_database,
        REDIS_URL=redis_server.url,
        GOCRM_ENV="production",
        GOCRM_RATE_LIMIT_POS="0",
        GOCRM_RATE_LIMIT_ADMIN="0",
    )
    a = await create_location(processes, env, "Tenant A")
    b = await create_location(processes, env, "Tenant B")
    gateway = await processes.gateway(env)
    await processes.worker(env)
    a_upstream = await simulator(processes, tmp_path, "a", a_fixture())
    b_upstreams = (
        await simulator(processes, tmp_path, "b0", b_fixture(0)),
        await simulator(processes, tmp_path, "b1", b_fixture(1)),
    )
    async with (
        client(gateway.url) as a_http,
        httpx.AsyncClient(base_url=gateway.url, timeout=30.0) as b_http,
    ):
        a_admin = Api(a_http, a.key, a.id)
        b_admin = Api(b_http, b.key, b.id)
        # A: 1,000 customers with cards in "Stały klient", linked to a GoPOS group with 10% off
        group_id = await create_group(a_admin, "Stały klient")
        await seed_customers(fault_database, a.id, CUSTOMERS, group_id=group_id, cards="A")
        await configure_gopos(a_admin, a_upstream, CLIENT)
        a_run = await synchronize_gopos(a_admin)
        # B: CRM groups linked to 20 upstream groups, one to the 500 that share "wspolny"
        for n in range(1, LINKED + 1):
            await create_group(b_admin, f"Grupa {n}", reference=f"grupa-{n}")
        await create_group(b_admin, "Wspólny", reference="wspolny")
        await configure_gopos(b_admin, b_upstreams[0], CLIENT)
        b_run = await synchronize_gopos(b_admin)

        async def synced() -> bool | None:
            rows = await sql(
                fault_database,
                "SELECT status FROM sync_runs WHERE id = ANY($1::uuid[])",
                [a_run["id"], b_run["id"]],
            )
            return True if all(r["status"] == "SUCCEEDED" for r in rows) else None

        await eventually(synced, "both first syncs", processes, within=120)
        pos = await pos_api(a_admin)
        assert (await pos.data(QUOTE, {"input": bill(card_code("A", 1))}))["checkoutQuote"] == (
            QUOTED
        )

        # when A's tills quote while B's admin reads eight at a time and re-syncs throughout
        seen = Observed()
        until = time.monotonic() + LOAD_SECONDS
        await asyncio.gather(
            *(till(pos, n * 250, until, seen) for n in range(TILLS)),
            *(reader(b_admin, until, seen) for _ in range(READERS)),
            resyncer(b_admin, b_upstreams, until, seen),
        )

        async def b_idle() -> bool | None:
            (row,) = await sql(
                fault_database,
                "SELECT count(*) AS n FROM sync_runs WHERE location_id = $1"
                " AND status IN ('QUEUED', 'RUNNING')",
                b.id,
            )
            return True if row["n"] == 0 else None

        await eventually(b_idle, "B's last sync to end", processes, within=120)
    runs = await sql(
        fault_database,
        "SELECT status, written, error FROM sync_runs WHERE location_id = $1 ORDER BY created_at",
        b.id,
    )

    # then every one of A's quotes was answered, unchanged, and none took long
    print(
        f"A: {len(seen.quote_seconds)} quotes, p50 {statistics.median(seen.quote_seconds):.3f} s,"
        f" p99 {p99(seen.quote_seconds):.3f} s, max {max(seen.quote_seconds):.3f} s;"
        f" B: {seen.b_reads} reads (p50 {statistics.median(seen.b_read_seconds):.3f} s),"
        f" {len(runs)} syncs"
    )
    assert seen.wrong_quotes == []
    assert len(seen.quote_seconds) >= 100
    assert max(seen.quote_seconds) < 2.0
    # and B's reads and syncs went through: each sync after the first rewrote the discounts
    assert seen.b_failures == []
    assert seen.b_reads >= READERS
    assert [run["status"] for run in runs] == ["SUCCEEDED"] * len(runs)
    assert len(runs) >= 3
    assert [run["written"] for run in runs[1:]] == [GROUPS] * (len(runs) - 1)
