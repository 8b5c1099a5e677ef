"""Credit lots on both databases: every balance change in the ledger keeps the lots, whose
remaining amounts sum to the balance. Spending takes the soonest-expiring first, lots without
expiry last; a credit that pays off owed cashback makes a lot of what is left; a refund of
credits gives back what its sale took, with the expiry it had (or the end of the refund day)."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from domain.ledger import CreditOperation
from domain.lots import Restore
from models.ledger import Movement, apply_chunk
from models.tables.crm import Customer
from services import access
from settings import Settings
from tests.lots_helpers import change, lots_left, sums

ADD, REDUCE, SET = CreditOperation.ADD, CreditOperation.REDUCE, CreditOperation.SET
DEC10, DEC31 = date(2026, 12, 10), date(2026, 12, 31)


async def _customer(name: str, owed: int = 0) -> tuple[UUID, UUID]:
    location, _ = await access.create_location(f"Lots {name}")
    row = await Customer.create(location_id=location.id, first_name=name, cashback_owed=owed)
    return location.id, row.id


async def _three_lots(location_id: UUID, customer_id: UUID) -> None:
    await apply_chunk([customer_id], change(location_id, ADD, 500, expires_on=DEC31))
    await apply_chunk([customer_id], change(location_id, ADD, 300))
    await apply_chunk([customer_id], change(location_id, ADD, 200, expires_on=DEC10))


async def test_spending_takes_the_soonest_expiring_lots_first(database: Settings) -> None:
    location_id, anna = await _customer("Anna")
    await _three_lots(location_id, anna)
    assert await apply_chunk([anna], change(location_id, REDUCE, 600)) == 1
    assert await lots_left(anna) == [(500, 100, DEC31), (300, 300, None)]
    assert await sums(anna) == (400, 400, 400)


async def test_lots_without_expiry_are_spent_last_and_a_set_takes_or_makes_one(
    database: Settings,
) -> None:
    location_id, anna = await _customer("Ola")
    await _three_lots(location_id, anna)
    await apply_chunk([anna], change(location_id, SET, 250))
    assert await lots_left(anna) == [(300, 250, None)]
    await apply_chunk([anna], change(location_id, SET, 400, expires_on=DEC31))
    assert await lots_left(anna) == [(300, 250, None), (150, 150, DEC31)]
    assert await sums(anna) == (400, 400, 400)


async def test_a_credit_paying_off_owed_cashback_makes_a_lot_of_the_rest(
    database: Settings,
) -> None:
    location_id, anna = await _customer("Jan", owed=300)
    await apply_chunk([anna], change(location_id, ADD, 200, expires_on=DEC31))
    assert await lots_left(anna) == []
    await apply_chunk([anna], change(location_id, ADD, 500, expires_on=DEC31))
    assert await lots_left(anna) == [(400, 400, DEC31)]
    assert await sums(anna) == (400, 400, 400)


async def test_a_refund_gives_back_what_the_sale_took_with_its_expiry(
    database: Settings,
) -> None:
    location_id, anna = await _customer("Ewa")
    await _three_lots(location_id, anna)
    sale = uuid4()
    redeem = change(location_id, Movement.DEBIT, 900, kind="REDEEM", source_id=sale)
    await apply_chunk([anna], redeem)
    assert await lots_left(anna) == [(300, 100, None)]
    # Refunded on Dec 15: the lot of Dec 10 has passed and expires at the end of the refund day.
    restore = Restore(sale, 0, "REDEEM", date(2026, 12, 15))
    refund = change(
        location_id, Movement.CREDIT, 600, kind="REFUND", source_id=sale, period=1, restore=restore
    )
    await apply_chunk([anna], refund)
    assert await lots_left(anna) == [(300, 100, None), (200, 200, None), (400, 400, DEC31)]
    # A second refund gives back the rest: what is left of the Dec 31 lot, then Dec 10's.
    second = change(
        location_id, Movement.CREDIT, 300, kind="REFUND", source_id=sale, period=2, restore=restore
    )
    await apply_chunk([anna], second)
    assert await lots_left(anna) == [
        (300, 100, None),
        (200, 200, None),
        (400, 400, DEC31),
        (100, 100, DEC31),
        (200, 200, date(2026, 12, 15)),
    ]
    assert await sums(anna) == (1000, 1000, 1000)


async def test_a_refund_of_credits_owed_cashback_first_gives_back_the_rest(
    database: Settings,
) -> None:
    location_id, anna = await _customer("Iga")
    await apply_chunk([anna], change(location_id, ADD, 500, expires_on=DEC31))
    sale = uuid4()
    await apply_chunk(
        [anna], change(location_id, Movement.DEBIT, 500, kind="REDEEM", source_id=sale)
    )
    await Customer.filter(id=anna).update(cashback_owed=120)
    restore = Restore(sale, 0, "REDEEM", date(2026, 12, 2))
    refund = change(
        location_id, Movement.CREDIT, 500, kind="REFUND", source_id=sale, period=1, restore=restore
    )
    await apply_chunk([anna], refund)
    assert await lots_left(anna) == [(380, 380, DEC31)]
    assert await sums(anna) == (380, 380, 380)
