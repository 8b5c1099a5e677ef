"""A gateway SIGKILLed while tills are committing sales; the tills retry each bill with its
idempotency key against the restarted gateway until they get an answer.

Each bill must end with exactly one checkout, the one the till was finally told about, and the
ledger must hold no debit without its checkout and no checkout without its debits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.data import (
    COMMIT,
    balance_total,
    bill,
    card_code,
    client,
    create_group,
    credit_group,
    off_ledger,
    pos_api,
    sales,
    seed_customers,
)
from tests.faults.processes import (
    Processes,
    create_location,
    environment,
    eventually,
)
from tests.helpers import Api

CUSTOMERS = 30
BILLS = 600
TILLS = 8
CREDITS = 3_000  # 30.00 each, in grosze
KILL_AFTER = BILLS // 4


@dataclass
class Tills:
    """What the tills were told, and how often a request failed on its way."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> checkout
    in_flight: int = 0  # requests sent and not answered yet
    failed: int = 0  # requests that got no answer (cut off, or refused while down)


def key_of(number: int) -> str:
    return f"till-{number % TILLS}-bill-{number}"


async def till(api: Api, number: int, tills: Tills) -> None:
    """One till: its bills one after another, each retried with its key until answered."""
    for n in range(number, BILLS, TILLS):
        key = key_of(n)
        body = {
            "query": COMMIT,
            "variables": {"input": bill(card_code("K", n % CUSTOMERS + 1)), "key": key},
        }
        while True:
            tills.in_flight += 1
            try:
                response = await api.http.post("/graphql", json=body, headers=api.headers)
            except httpx.TransportError:
                tills.failed += 1
            else:
                assert response.status_code == 200, response.text
                payload = response.json()["data"]["commitCheckout"]
                assert payload["errors"] == [], payload
                tills.answers[key] = payload["checkout"]
                break
            finally:
                tills.in_flight -= 1
            await asyncio.sleep(0.05)


async def test_a_gateway_killed_mid_commit_leaves_one_checkout_per_bill_and_a_whole_ledger(
    fault_database: str, processes: Processes
) -> None:
    # given a gateway, 30 card holders with 30.00 of credits each, in a group with 5% cashback
    # (eight tills share one key, far past its rate limit: off)
    env = environment(DATABASE_URL=fault_database, GOCRM_ENV="production", GOCRM_RATE_LIMIT_POS="0")
    location = await create_location(processes, env, "Killed gateway")
    gateway = await processes.gateway(env)
    tills = Tills()
    async with client(gateway.url) as http:
        admin = Api(http, location.key, location.id)
        group_id = await create_group(admin, "Stały klient", cashbackPercent="5.00")
        await seed_customers(fault_database, location.id, CUSTOMERS, group_id=group_id, cards="K")
        operation = await credit_group(admin, group_id, "30.00", "welcome")
        assert (operation["status"], operation["processed"]) == ("SUCCEEDED", CUSTOMERS)
        pos = await pos_api(admin)

        # when 8 tills commit 600 bills and the gateway is SIGKILLed a quarter of the way,
        # then started again on the same port
        running = [asyncio.create_task(till(pos, t, tills)) for t in range(TILLS)]

        async def a_quarter_answered() -> bool:
            return len(tills.answers) >= KILL_AFTER

        await eventually(a_quarter_answered, "a quarter of the bills", processes, interval=0.005)
        in_flight_at_kill = tills.in_flight
        await processes.kill(gateway.process)
        answered_before_kill = len(tills.answers)
        await processes.gateway(env, port=gateway.port)
        await asyncio.wait_for(asyncio.gather(*running), 120)

    # then the kill cut requests off mid-way, and every bill got an answer
    assert in_flight_at_kill >= 1
    assert tills.failed >= 1
    assert KILL_AFTER <= answered_before_kill < BILLS
    assert sorted(tills.answers) == sorted(key_of(n) for n in range(BILLS))
    # each bill has exactly one checkout: the one its till was told about
    book = await sales(fault_database, location.id)
    assert book.checkouts_by_key == {key: [answer["id"]] for key, answer in tills.answers.items()}
    # every checkout has its REDEEM and CASHBACK entries for exactly its amounts, and no
    # checkout entry lacks its checkout
    assert book.unmatched == []
    assert book.orphan_entries == 0
    # every balance is the sum of its entries, and the location's total adds up
    assert await off_ledger(fault_database, location.id) == 0
    assert await balance_total(fault_database, location.id) == (
        CUSTOMERS * CREDITS - book.credits_used + book.cashback_granted
    )
    told_credits = sum(to_minor(a["creditsUsed"]["amount"]) for a in tills.answers.values())
    told_cashback = sum(to_minor(a["cashbackGranted"]["amount"]) for a in tills.answers.values())
    assert (told_credits, told_cashback) == (book.credits_used, book.cashback_granted)


def to_minor(amount: str) -> int:
    whole, _, cents = amount.partition(".")
    return int(whole) * 100 + int(cents.ljust(2, "0"))
