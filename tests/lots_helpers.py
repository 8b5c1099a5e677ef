"""What the lot tests share: the ledger's three sums of a customer, and changes to apply."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from domain.lots import Restore
from models.ledger import Application, Change
from models.tables.crm import Customer
from models.tables.wallet import CreditLot, WalletEntry
from services import expiry
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def change(
    location_id: UUID,
    operation: Change,
    amount: int,
    *,
    kind: str | None = None,
    source_id: UUID | None = None,
    expires_on: date | None = None,
    restore: Restore | None = None,
    now: datetime = T0,
    period: int = 0,
) -> Application:
    return Application(
        location_id=location_id,
        operation=operation,
        amount=amount,
        kind=kind or operation.value,
        source="MANUAL",
        source_id=source_id or uuid4(),
        period=period,
        description=None,
        actor="admin",
        now=now,
        netting_description="entry.clawback",
        expires_on=expires_on,
        restore=restore,
    )


async def sums(customer_id: UUID) -> tuple[int, int, int]:
    """The stored balance, the sum of the entries' deltas and the sum of the lots' remaining."""
    customer = await Customer.get(id=customer_id)
    deltas = await WalletEntry.filter(customer_id=customer_id).values_list("delta", flat=True)
    remaining = await CreditLot.filter(customer_id=customer_id).values_list("remaining", flat=True)
    return customer.credit_balance, sum(deltas), sum(remaining)  # type: ignore[arg-type]


async def lots_left(customer_id: UUID) -> list[tuple[int, int, date | None]]:
    """(amount, remaining, expires_on) of the customer's lots with something left, by id."""
    rows = await CreditLot.filter(customer_id=customer_id, remaining__gt=0).order_by("id")
    return [(lot.amount, lot.remaining, lot.expires_on) for lot in rows]


async def expire_due(runtime: Runtime) -> int:
    """The periodic check's expiry, to the end: today's run of every location with due lots
    is made, and its job (run in-process) waited for. Returns how many runs were made."""
    made = await expiry.queue_runs(runtime)
    dispatcher = runtime.dispatcher
    assert isinstance(dispatcher, InProcessDispatcher)
    await dispatcher.drain()
    return made
