"""Credits that expire, through the API and the periodic check, on SQLite and PostgreSQL.

`expiresOn` on a credit (single or bulk) is carried to its lot, its entry and its operation,
and may not be before the location's today. `Wallet.lots` lists what the balance is made of,
soonest-expiring first, to ADMIN keys only. At the end of a lot's expiry day in the location's
time zone, the check makes the day's expiry run, whose job expires what is left of it with one
EXPIRE entry, exactly once (`tests/test_expiry_runs.py` follows the runs themselves).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.access import Role
from models.tables.wallet import ExpiryRun, WalletEntry, WalletOperation
from services import expiry
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher
from tasks.jobs import check
from tests.helpers import Api, Clock, create_customer
from tests.lots_helpers import expire_due, sums
from tests.wallet_helpers import credit_ok, set_credits

# 10:00 in Warsaw on Dec 1 2026 (UTC+1 in winter).
MORNING = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DEC10 = "2026-12-10"
# The first instant of Dec 11 in Warsaw: the end of Dec 10's expiry day.
END_OF_DEC10 = datetime(2026, 12, 10, 23, 0, tzinfo=UTC)

LOTS = """
query($id: ID!) {
  customer(id: $id) {
    wallet {
      balance { amount }
      lots { amount { amount } remaining { amount } expiresOn source }
      entries(first: 10) { edges { node { kind delta { amount } description expiresOn } } }
    }
  }
}"""


def lots_of(data: dict[str, Any]) -> list[tuple[str, str, str | None, str]]:
    lots = data["customer"]["wallet"]["lots"]
    return [
        (lot["amount"]["amount"], lot["remaining"]["amount"], lot["expiresOn"], lot["source"])
        for lot in lots
    ]


def entries_of(data: dict[str, Any]) -> list[tuple[str, str, str | None, str | None]]:
    edges = data["customer"]["wallet"]["entries"]["edges"]
    return [
        (
            e["node"]["kind"],
            e["node"]["delta"]["amount"],
            e["node"]["description"],
            e["node"]["expiresOn"],
        )
        for e in edges
    ]


async def test_a_credit_expiring_on_a_day_is_spent_first_and_expires_after_it(
    api: Api, runtime: Runtime, clock: Clock, dispatcher: InProcessDispatcher
) -> None:
    clock.now = MORNING
    customer = await create_customer(api, firstName="Anna")
    one = {"customerIds": [customer["id"]]}
    operation = await credit_ok(api, one, "ADD", "50.00", expiresOn=DEC10)
    await credit_ok(api, one, "ADD", "30.00", description="Stałe")
    await credit_ok(api, one, "REDUCE", "10.00")
    stored = await WalletOperation.get(id=operation["id"])
    assert stored.expires_on == date(2026, 12, 10)
    data = await api.data(LOTS, {"id": customer["id"]})
    assert lots_of(data) == [
        ("50.00", "40.00", DEC10, "MANUAL"),
        ("30.00", "30.00", None, "MANUAL"),
    ]

    # still Dec 10 in Warsaw: nothing expires
    clock.now = END_OF_DEC10 - timedelta(seconds=1)
    await expire_due(runtime)  # (other tests' lots of the database may be due)
    assert await WalletEntry.filter(customer_id=customer["id"], kind="EXPIRE").count() == 0
    assert await ExpiryRun.filter(location_id=api.location_id).count() == 0
    clock.now = END_OF_DEC10
    await check(runtime)
    await dispatcher.drain()
    data = await api.data(LOTS, {"id": customer["id"]})
    assert data["customer"]["wallet"]["balance"]["amount"] == "30.00"
    assert lots_of(data) == [("30.00", "30.00", None, "MANUAL")]
    assert entries_of(data)[0] == ("EXPIRE", "-40.00", "Credits expired", None)
    assert entries_of(data)[-1] == ("ADD", "50.00", None, DEC10)
    run = await ExpiryRun.get(location_id=api.location_id)
    assert (run.day, run.status, run.attempts) == (date(2026, 12, 11), "SUCCEEDED", 1)
    assert (run.lots_expired, run.amount_expired, run.error) == (1, 4000, None)
    # a later check finds nothing more to expire, and makes no run
    clock.now = END_OF_DEC10 + timedelta(days=3)
    await expire_due(runtime)
    expired = await WalletEntry.filter(customer_id=customer["id"], kind="EXPIRE").count()
    assert expired == 1
    assert await sums(customer["id"]) == (3000, 3000, 3000)
    assert await ExpiryRun.filter(location_id=api.location_id).count() == 1


async def test_a_bulk_credit_expires_for_each_customer_and_a_late_check_catches_up(
    api: Api, runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.now = MORNING
    ids = [(await create_customer(api, firstName=f"C{n}"))["id"] for n in range(3)]
    await credit_ok(api, {"customerIds": ids}, "ADD", "5.00", expiresOn="2026-12-01")
    await credit_ok(api, {"customerIds": ids[:1]}, "ADD", "7.00", expiresOn=DEC10)
    # the worker was down for weeks: one run expires both days' lots, in chunks of two
    monkeypatch.setattr(expiry, "EXPIRY_BATCH", 2)
    clock.now = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
    assert await expire_due(runtime) >= 1  # (and the database's other locations' due runs)
    assert await WalletEntry.filter(customer_id__in=ids, kind="EXPIRE").count() == 4
    assert [await sums(c) for c in ids] == [(0, 0, 0)] * 3
    runs = await ExpiryRun.filter(location_id=UUID(api.location_id))
    assert [(r.day, r.status, r.lots_expired, r.amount_expired) for r in runs] == [
        (date(2027, 1, 5), "SUCCEEDED", 4, 2200)
    ]
    await expire_due(runtime)
    assert await WalletEntry.filter(customer_id__in=ids, kind="EXPIRE").count() == 4


async def test_an_expiry_before_today_or_on_a_recurring_credit_is_refused(
    api: Api, clock: Clock
) -> None:
    clock.now = MORNING
    customer = await create_customer(api, firstName="Ola")
    one = {"customerIds": [customer["id"]]}
    payload = await set_credits(api, one, "ADD", "5.00", expiresOn="2026-11-30")
    assert payload["errors"] == [
        {
            "code": "INVALID",
            "field": "input.expiresOn",
            "message": "A credit cannot expire before today (2026-12-01).",
        }
    ]
    recurrence = {"unit": "DAY", "startDate": "2026-12-02"}
    payload = await set_credits(
        api, one, "ADD", "5.00", expiresOn="2026-12-20", recurrence=recurrence
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", "input.expiresOn")]
    # today is allowed: it expires at the end of today
    await credit_ok(api, one, "ADD", "5.00", expiresOn="2026-12-01")
    assert await sums(customer["id"]) == (500, 500, 500)


async def test_a_till_key_sees_what_expires_when_but_not_the_ledger(api: Api, clock: Clock) -> None:
    clock.now = MORNING
    customer = await create_customer(api, firstName="Jan")
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "5.00", expiresOn=DEC10)
    till = await api.key_with_role(Role.POS)
    query = (
        "query($id: ID!) { customer(id: $id) { wallet { lots { remaining { amount } expiresOn }"
        " entries { totalCount } } } }"
    )

    result = await till.raw(query, {"id": customer["id"]})

    assert result == {
        "data": {
            "customer": {
                "wallet": {
                    "lots": [{"remaining": {"amount": "5.00"}, "expiresOn": DEC10}],
                    "entries": {"totalCount": 0},
                }
            }
        }
    }
