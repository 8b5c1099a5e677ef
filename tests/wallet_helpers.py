"""GraphQL documents and database probes shared by the promotional-credit test files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.access import Principal
from models.tables.crm import Customer
from models.tables.wallet import CreditSchedule, ScheduleRun, WalletEntry, WalletOperation
from services import access
from tests.helpers import Api

OPERATION_FIELDS = "id operation amount { amount currency } description status total processed"

SCHEDULE_FIELDS = """
  id operation amount { amount } description every unit startDate endDate
  target groupIds customerCount paused nextRunOn lastRunOn
"""

SET_CREDITS = f"""
mutation($input: SetPromotionalCreditsInput!) {{
  setPromotionalCredits(input: $input) {{
    operation {{ {OPERATION_FIELDS} }}
    schedule {{ {SCHEDULE_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""

WALLET_OPERATION = f"""
query($id: ID!) {{ walletOperation(id: $id) {{ {OPERATION_FIELDS} }} }}"""

CREDIT_SCHEDULES = f"""
query {{ creditSchedules {{ {SCHEDULE_FIELDS} }} }}"""

PAUSE_SCHEDULE = f"""
mutation($id: ID!) {{
  pauseCreditSchedule(id: $id) {{ schedule {{ {SCHEDULE_FIELDS} }} errors {{ code field }} }}
}}"""

RESUME_SCHEDULE = f"""
mutation($id: ID!) {{
  resumeCreditSchedule(id: $id) {{ schedule {{ {SCHEDULE_FIELDS} }} errors {{ code field }} }}
}}"""

DELETE_SCHEDULE = """
mutation($id: ID!) {
  deleteCreditSchedule(id: $id) { deletedId errors { code field } }
}"""

ENTRY_FIELDS = """
  id kind requestedAmount { amount } delta { amount } balanceAfter { amount }
  description source sourceId actor createdAt
"""

WALLET = f"""
query($id: ID!, $first: Int, $after: String) {{
  customer(id: $id) {{
    wallet {{
      balance {{ amount currency }}
      entries(first: $first, after: $after) {{
        pageInfo {{ hasNextPage endCursor }}
        edges {{ cursor node {{ {ENTRY_FIELDS} }} }}
      }}
    }}
  }}
}}"""


def credit_input(
    target: dict[str, Any], operation: str, amount: str, **extra: Any
) -> dict[str, Any]:
    return {"input": {"target": target, "operation": operation, "amount": amount, **extra}}


async def set_credits(
    api: Api, target: dict[str, Any], operation: str, amount: str, **extra: Any
) -> dict[str, Any]:
    """The payload of setPromotionalCredits."""
    return await api.mutate(SET_CREDITS, credit_input(target, operation, amount, **extra))


async def credit_ok(
    api: Api, target: dict[str, Any], operation: str, amount: str, **extra: Any
) -> dict[str, Any]:
    """A setPromotionalCredits that must succeed; its operation (or schedule)."""
    payload = await set_credits(api, target, operation, amount, **extra)
    assert payload["errors"] == [], payload
    result: dict[str, Any] = payload["schedule"] if "recurrence" in extra else payload["operation"]
    return result


async def wallet_of(
    api: Api, customer_id: str, first: int = 50, after: str | None = None
) -> dict[str, Any]:
    data = await api.data(WALLET, {"id": customer_id, "first": first, "after": after})
    result: dict[str, Any] = data["customer"]["wallet"]
    return result


async def balance_of(api: Api, customer_id: str) -> str:
    amount: str = (await wallet_of(api, customer_id))["balance"]["amount"]
    return amount


def nodes(wallet: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in wallet["entries"]["edges"]]


def error_fields(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def principal_of(api: Api) -> Principal:
    principal = await access.authenticate(api.key)
    assert principal is not None
    return principal


@dataclass(frozen=True)
class Ledger:
    """An entry as stored, for checks the API does not expose (the period index)."""

    customer_id: str
    kind: str
    requested: int
    delta: int
    balance_after: int
    source: str
    source_id: str
    period: int


async def ledger(customer_id: str) -> list[Ledger]:
    """A customer's entries, oldest first (by id)."""
    rows = await WalletEntry.filter(customer_id=UUID(customer_id)).order_by("id")
    return [
        Ledger(
            str(r.customer_id),
            r.kind,
            r.requested_amount,
            r.delta,
            r.balance_after,
            r.source,
            str(r.source_id),
            r.period,
        )
        for r in rows
    ]


async def stored_balance(customer_id: str) -> int:
    customer = await Customer.get(id=UUID(customer_id))
    return int(customer.credit_balance)


async def snapshot(location_id: str) -> dict[str, Any]:
    """Everything a refused request must leave as it was, for one location."""
    uid = UUID(location_id)
    balances = await Customer.filter(location_id=uid).values_list("id", "credit_balance")
    schedules = await CreditSchedule.filter(location_id=uid).values_list("id", flat=True)
    return {
        "balances": sorted((str(c), b) for c, b in balances),
        "entries": await WalletEntry.filter(location_id=uid).count(),
        "operations": await WalletOperation.filter(location_id=uid).count(),
        "schedules": len(schedules),
        "runs": await ScheduleRun.filter(schedule_id__in=list(schedules)).count(),
    }
