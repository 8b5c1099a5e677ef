"""The lots follow an undo, on SQLite and PostgreSQL: the undo of a credit takes back the lot that
credit made, before any other (and what the customer spent of it from the others, in spending
order); the undo of a debit gives back the lots it took from, with the expiry each had, or the
end of the undo's day (in the location's time zone) when that has passed. After each, the lots
sum to the balance and to the entries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain import entities
from domain.lots import Restore
from domain.requests import CreditRequest, Target
from models import lots
from models import undo as undo_model
from models.db import transaction
from models.tables.wallet import (
    CreditLot,
    CreditLotTake,
    CreditSchedule,
    ScheduleRun,
    WalletEntry,
)
from services import checkout, schedules, undo, wallet
from services.runtime import Runtime
from tasks.inprocess import InProcessDispatcher
from tests.helpers import Api, Clock, create_customer
from tests.lots_helpers import expire_due, lots_left, sums
from tests.test_checkout_service import MORNING, Shop, for_customer, new_customer, open_shop
from tests.test_undo import undone
from tests.wallet_helpers import credit_ok

MAR12, MAR20, MAR25, APR30 = (
    date(2026, 3, 12),
    date(2026, 3, 20),
    date(2026, 3, 25),
    date(2026, 4, 30),
)


async def _credit(
    runtime: Runtime,
    shop: Shop,
    customer_ids: list[UUID],
    operation: str,
    amount: str,
    expires_on: date | None = None,
) -> entities.WalletOperation:
    target = Target(customer_ids=tuple(str(c) for c in customer_ids))
    request = CreditRequest(target, operation, Decimal(amount), expires_on=expires_on)
    return await wallet.apply_once(runtime, shop.principal, request)


async def _undo(runtime: Runtime, shop: Shop, original: entities.WalletOperation) -> None:
    done = await undo.undo_operation(runtime, shop.principal, str(original.id), "undo")
    assert done.status == "SUCCEEDED"


async def _spend(runtime: Runtime, shop: Shop, customer_id: UUID, amount: str, key: str) -> None:
    sale = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, ("1", amount)), idempotency_key=key
    )
    assert sale.credits_used == int(Decimal(amount) * 100)


async def _taken_by_undo(customer_id: UUID) -> list[tuple[int, int, date | None]]:
    """What the customer's UNDO entry took: (amount taken, the lot's amount, its expiry)."""
    (entry,) = await WalletEntry.filter(customer_id=customer_id, kind="UNDO")
    takes = await CreditLotTake.filter(entry_id=entry.id).order_by("id")
    found = []
    for take in takes:
        lot = await CreditLot.get(id=take.lot_id)
        found.append((take.amount, lot.amount, lot.expires_on))
    return found


async def test_an_undone_credit_takes_its_own_lot_not_one_expiring_sooner(
    runtime: Runtime, clock: Clock
) -> None:
    # given an old lot without expiry, one expiring on Mar 20 and an ADD of 20.00 until Apr 30
    clock.now = MORNING  # 2026-03-10
    shop = await open_shop("Bistro Undo Own")
    anna = await new_customer(shop, name="Anna")
    await _credit(runtime, shop, [anna], "ADD", "50.00")
    await _credit(runtime, shop, [anna], "ADD", "10.00", MAR20)
    added = await _credit(runtime, shop, [anna], "ADD", "20.00", APR30)

    # when the ADD is undone
    await _undo(runtime, shop, added)

    # then its lot is emptied and the lot expiring sooner is untouched
    assert await lots_left(anna) == [(5000, 5000, None), (1000, 1000, MAR20)]
    assert await _taken_by_undo(anna) == [(2000, 2000, APR30)]
    assert await sums(anna) == (6000, 6000, 6000)


async def test_a_partly_spent_credit_is_taken_back_from_its_lot_then_in_spending_order(
    runtime: Runtime, clock: Clock
) -> None:
    # given an ADD of 20.00 until Apr 30 to Anna and Ola, which both spent in part since
    clock.now = MORNING
    shop = await open_shop("Bistro Undo Spent")
    anna = await new_customer(shop, name="Anna")
    ola = await new_customer(shop, name="Ola")
    await _credit(runtime, shop, [anna], "ADD", "50.00")
    await _credit(runtime, shop, [anna], "ADD", "10.00", MAR20)
    added = await _credit(runtime, shop, [anna, ola], "ADD", "20.00", APR30)
    await _spend(runtime, shop, anna, "25.00", "s1")  # 10.00 of Mar 20, 15.00 of the ADD's
    await _spend(runtime, shop, ola, "15.00", "s2")
    await _credit(runtime, shop, [anna], "ADD", "10.00", MAR25)
    assert await lots_left(anna) == [(5000, 5000, None), (2000, 500, APR30), (1000, 1000, MAR25)]

    # when the ADD is undone
    await _undo(runtime, shop, added)

    # then Anna gives back the 5.00 left of its lot, then 15.00 in spending order: the lot of
    # Mar 25, then 5.00 of the one without expiry; Ola had 5.00 left and is partly restored
    assert await lots_left(anna) == [(5000, 4500, None)]
    assert await _taken_by_undo(anna) == [
        (500, 2000, APR30),
        (1000, 1000, MAR25),
        (500, 5000, None),
    ]
    assert await lots_left(ola) == []
    assert await _taken_by_undo(ola) == [(500, 2000, APR30)]
    entries = await WalletEntry.filter(kind="UNDO", customer_id__in=[anna, ola]).order_by(
        "balance_after"
    )
    assert [(e.requested_amount, e.delta, e.balance_after) for e in entries] == [
        (-2000, -500, 0),
        (-2000, -2000, 4500),
    ]
    assert await sums(anna) == (4500, 4500, 4500)
    assert await sums(ola) == (0, 0, 0)


async def _reduced_from_two_expiring_lots(
    runtime: Runtime, name: str
) -> tuple[Shop, UUID, entities.WalletOperation]:
    """A REDUCE of 25.00 that took 10.00 of a lot expiring on Mar 12 and 15.00 of one expiring
    on Apr 30, leaving 5.00 of it and a lot of 5.00 without expiry."""
    shop = await open_shop(name)
    anna = await new_customer(shop, name="Anna")
    await _credit(runtime, shop, [anna], "ADD", "10.00", MAR12)
    await _credit(runtime, shop, [anna], "ADD", "20.00", APR30)
    await _credit(runtime, shop, [anna], "ADD", "5.00")
    reduced = await _credit(runtime, shop, [anna], "REDUCE", "25.00")
    assert await lots_left(anna) == [(2000, 500, APR30), (500, 500, None)]
    return shop, anna, reduced


async def _reduce_takes(reduced: entities.WalletOperation) -> list[tuple[int, int]]:
    """(amount, restored) of the REDUCE's takes."""
    (entry,) = await WalletEntry.filter(source_id=reduced.id, kind="REDUCE")
    takes = await CreditLotTake.filter(entry_id=entry.id).order_by("id")
    return [(t.amount, t.restored) for t in takes]


async def test_an_undone_reduce_gives_back_both_lots_it_took_with_their_expiry(
    runtime: Runtime, clock: Clock
) -> None:
    clock.now = MORNING
    shop, anna, reduced = await _reduced_from_two_expiring_lots(runtime, "Bistro Undo Reduce")

    await _undo(runtime, shop, reduced)

    # the last taken comes back first, each part a lot of its own with the expiry it had
    assert await lots_left(anna) == [
        (2000, 500, APR30),
        (500, 500, None),
        (1500, 1500, APR30),
        (1000, 1000, MAR12),
    ]
    assert await _reduce_takes(reduced) == [(1000, 1000), (1500, 1500)]
    assert await sums(anna) == (3500, 3500, 3500)


async def test_a_passed_expiry_given_back_by_an_undo_ends_with_the_undo_day(
    runtime: Runtime, clock: Clock
) -> None:
    clock.now = MORNING
    shop, anna, reduced = await _reduced_from_two_expiring_lots(runtime, "Bistro Undo Passed")

    # undone on Mar 20 at 23:30 in Warsaw: Mar 12 has passed, the undo's day is Mar 20 there
    clock.now = datetime(2026, 3, 20, 22, 30, tzinfo=UTC)
    await _undo(runtime, shop, reduced)

    assert await lots_left(anna) == [
        (2000, 500, APR30),
        (500, 500, None),
        (1500, 1500, APR30),
        (1000, 1000, MAR20),
    ]
    assert await sums(anna) == (3500, 3500, 3500)
    # and the check expires it once that day has ended
    clock.now += timedelta(hours=1)  # Mar 21, 00:30 in Warsaw
    await expire_due(runtime)
    assert await lots_left(anna) == [(2000, 500, APR30), (500, 500, None), (1500, 1500, APR30)]
    assert await sums(anna) == (2500, 2500, 2500)


async def test_what_an_undo_gives_back_beyond_the_takes_comes_back_without_expiry(
    runtime: Runtime, clock: Clock
) -> None:
    # given a SET that lowered the balance, whose takes of one lot are gone (as for a debit
    # written before lots) but for 4.00 of a lot expiring on Apr 30
    clock.now = MORNING
    shop = await open_shop("Bistro Undo Untaken")
    anna = await new_customer(shop, name="Anna")
    await _credit(runtime, shop, [anna], "ADD", "10.00", APR30)
    await _credit(runtime, shop, [anna], "ADD", "6.00", MAR20)
    lowered = await _credit(runtime, shop, [anna], "SET", "2.00")
    (entry,) = await WalletEntry.filter(source_id=lowered.id, kind="SET")
    await CreditLotTake.filter(entry_id=entry.id, amount=600).delete()
    assert await _taken_back(entry.id) == [(800, 0, APR30)]

    await _undo(runtime, shop, lowered)

    # what the takes hold comes back with its expiry, the rest without
    assert await lots_left(anna) == [(1000, 200, APR30), (800, 800, APR30), (600, 600, None)]
    assert await _taken_back(entry.id) == [(800, 800, APR30)]
    assert await sums(anna) == (1600, 1600, 1600)


async def _taken_back(entry_id: int) -> list[tuple[int, int, date | None]]:
    """(amount, restored, the lot's expiry) of the debit entry's takes."""
    found = []
    for take in await CreditLotTake.filter(entry_id=entry_id).order_by("id"):
        lot = await CreditLot.get(id=take.lot_id)
        found.append((take.amount, take.restored, lot.expires_on))
    return found


@pytest.fixture
async def own_schedules_only(api: Api) -> AsyncIterator[None]:
    """Ticks see every schedule in the database: drop this test's ones when it ends."""
    yield
    await CreditSchedule.filter(location_id=UUID(api.location_id)).delete()


@pytest.mark.usefixtures("own_schedules_only")
async def test_an_undone_period_of_a_replacing_schedule_takes_its_own_top_up(
    api: Api, runtime: Runtime, clock: Clock, dispatcher: InProcessDispatcher
) -> None:
    # given a lot of 5.00 expiring on Jan 3 and a daily top-up of 10.00 that expires after 3
    # days and replaces the previous one, run on Jan 1 and Jan 2
    clock.now = datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    customer = await create_customer(api, firstName="Ewa")
    one = {"customerIds": [customer["id"]]}
    await credit_ok(api, one, "ADD", "5.00", expiresOn="2026-01-03")
    recurrence = {
        "unit": "DAY",
        "startDate": "2026-01-01",
        "expiresAfterDays": 3,
        "replacePrevious": True,
    }
    schedule = await credit_ok(api, one, "ADD", "10.00", recurrence=recurrence)
    for day in (1, 2):
        clock.now = datetime(2026, 1, day, 11, 0, tzinfo=UTC)
        await schedules_tick(runtime, dispatcher)
    jan4, jan5 = date(2026, 1, 4), date(2026, 1, 5)
    assert await lots_left(customer["id"]) == [(500, 500, date(2026, 1, 3)), (1000, 1000, jan5)]
    _, second = await ScheduleRun.filter(schedule_id=schedule["id"]).order_by("period")

    # when the second period is undone
    await undone(api, str(second.id))

    # then its own top-up is taken back, not the lot expiring sooner; the first period's
    # top-up stays expired: the undo reverses the period's entries, not the replacement
    assert await lots_left(customer["id"]) == [(500, 500, date(2026, 1, 3))]
    uid = UUID(customer["id"])
    assert await _taken_by_undo(uid) == [(1000, 1000, jan5)]
    first_lot = await CreditLot.get(customer_id=uid, expires_on=jan4)
    assert (first_lot.amount, first_lot.remaining) == (1000, 0)
    assert await sums(uid) == (500, 500, 500)


async def schedules_tick(runtime: Runtime, dispatcher: InProcessDispatcher) -> None:
    await schedules.queue_due_runs(runtime)
    await dispatcher.drain()


async def _state(customer_id: UUID) -> tuple[object, ...]:
    """The customer's three sums, lots (amount, remaining) and every take."""
    lots = await CreditLot.filter(customer_id=customer_id).order_by("id")
    takes = await CreditLotTake.all().order_by("id").values_list("entry_id", "amount", "restored")
    return await sums(customer_id), [(lot.amount, lot.remaining) for lot in lots], takes


async def test_a_rerun_chunk_of_an_undo_takes_and_gives_back_nothing_twice(
    runtime: Runtime, clock: Clock
) -> None:
    # given an ADD and a REDUCE, both undone
    clock.now = MORNING
    shop, anna, reduced = await _reduced_from_two_expiring_lots(runtime, "Bistro Undo Rerun")
    added = await _credit(runtime, shop, [anna], "ADD", "7.00", MAR20)
    undos = {}
    for key, original in (("u1", added), ("u2", reduced)):
        done = await undo.undo_operation(runtime, shop.principal, str(original.id), key)
        undos[original.id] = done.id
    before = await _state(anna)
    assert await sums(anna) == (3500, 3500, 3500)

    # when a worker runs each undo's chunk again
    for undo_id in undos.values():
        original = await undo_model.original_of(undo_id)
        assert original is not None
        chunk = undo_model.UndoChunk(shop.location_id, undo_id, original, "admin", clock.now, MAR12)
        async with transaction() as db:
            assert await undo_model.apply_chunk(db, [anna], chunk) == 0

    # then nothing changes: the lots follow only the entries a chunk writes
    assert await _state(anna) == before
    # (negative control: giving back again for the REDUCE's undo entry, already written, would
    # make its lots a second time)
    (entry,) = await WalletEntry.filter(source_id=undos[reduced.id], kind="UNDO")
    async with transaction() as db:
        await lots.restore(db, [entry.id], Restore(reduced.id, 0, "REDUCE", MAR12))
    assert await sums(anna) == (3500, 3500, 6000)
