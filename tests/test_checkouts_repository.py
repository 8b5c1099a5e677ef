"""The checkouts repository on both databases: what each read returns, exactly, for rows the
commit's and the refund's own statements wrote."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.bill import SalesChannel
from domain.checkouts import (
    CheckoutCriteria,
    CheckoutView,
    RefundView,
    discount_json,
    discounts_of,
    line_json,
    lines_of,
)
from domain.pricing import AppliedDiscount, DiscountKind, QuoteLine
from models import checkouts as repository
from models.checkouts import NewCheckout, NewRefund, insert_checkout, insert_refund, mark_refunded
from models.db import transaction
from models.tables.crm import Customer
from services import access
from settings import Settings

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
KEY_A, KEY_B = UUID(int=0xA), UUID(int=0xB)
HOUR = timedelta(hours=1)
EVERY = CheckoutCriteria()  # no criterion: every checkout of the location

LINE = QuoteLine(
    product_id="p-1",
    name="Espresso",
    category_id="c-1",
    quantity=2,
    unit_price=250,
    subtotal=500,
    discount=50,
    total=450,
)
LINE_JSON: dict[str, Any] = {
    "product_id": "p-1",
    "name": "Espresso",
    "category_id": "c-1",
    "quantity": 2,
    "unit_price": 250,
    "subtotal": 500,
    "discount": 50,
    "total": 450,
}
DISCOUNT = AppliedDiscount(
    id="pos-discount:d-1",
    kind=DiscountKind.GROUP_DISCOUNT,
    name="Regulars",
    amount=50,
    reference="REG",
    removable=False,
)
DISCOUNT_JSON: dict[str, Any] = {
    "id": "pos-discount:d-1",
    "kind": "GROUP_DISCOUNT",
    "name": "Regulars",
    "amount": 50,
    "reference": "REG",
    "removable": False,
}


def test_a_sales_lines_and_discounts_are_kept_as_json_and_read_back_as_they_were() -> None:
    """No database: the mapping both ways that the repository and the writes share."""
    assert line_json(LINE) == LINE_JSON
    assert discount_json(DISCOUNT) == DISCOUNT_JSON
    assert lines_of([LINE_JSON, LINE_JSON]) == (LINE, LINE)
    assert discounts_of([DISCOUNT_JSON]) == (DISCOUNT,)
    assert (lines_of([]), discounts_of([])) == ((), ())


@pytest.fixture
async def location(database: Settings) -> UUID:
    created, _ = await access.create_location("Checkouts Bistro")
    return created.id


async def customer(location_id: UUID, name: str = "Ada") -> UUID:
    return (await Customer.create(location_id=location_id, first_name=name)).id


async def sale(
    location_id: UUID,
    *,
    customer_id: UUID | None = None,
    channel: str = "POS",
    created_at: datetime = T0,
    api_key_id: UUID | None = KEY_A,
    checkout_id: UUID | None = None,
) -> UUID:
    """A committed checkout of one line and one discount, written as a commit writes it."""
    row = NewCheckout(
        id=checkout_id or uuid4(),
        location_id=location_id,
        customer_id=customer_id,
        channel=channel,
        business_date=date(2026, 6, 1),
        lines=[LINE_JSON],
        discounts=[DISCOUNT_JSON],
        subtotal=500,
        discount_total=50,
        total=450,
        group_discount=50,
        credits_used=100,
        cashback_granted=35,
        actor="till-1",
        idempotency_key=f"key-{uuid4()}",
        request_hash="hash",
        created_at=created_at,
        api_key_id=api_key_id,
    )
    async with transaction() as db:
        await insert_checkout(row, db)
    return row.id


def view(checkout_id: UUID, customer_id: UUID | None, **changed: Any) -> CheckoutView:
    """The checkout `sale` writes, as the repository reads it."""
    written = CheckoutView(
        id=checkout_id,
        channel=SalesChannel.POS,
        customer_id=customer_id,
        status="COMMITTED",
        lines=(LINE,),
        subtotal=500,
        discounts=(DISCOUNT,),
        discount_total=50,
        total=450,
        credits_used=100,
        cashback_granted=35,
        created_at=T0,
        refunded_at=None,
    )
    return replace(written, **changed)


async def test_a_checkout_is_read_back_by_id_within_its_location(location: UUID) -> None:
    ada = await customer(location)
    checkout_id = await sale(location, customer_id=ada)
    other, _ = await access.create_location("Other Bistro")

    assert await repository.get(location, checkout_id) == view(checkout_id, ada)
    assert await repository.get(other.id, checkout_id) is None
    assert await repository.get(location, uuid4()) is None


async def test_a_till_key_reads_only_the_checkouts_it_committed(location: UUID) -> None:
    checkout_id = await sale(location, api_key_id=KEY_A)
    anonymous = await sale(location, api_key_id=None)

    assert await repository.committed_by(location, checkout_id, KEY_A) == view(checkout_id, None)
    assert await repository.committed_by(location, checkout_id, KEY_B) is None
    assert await repository.committed_by(location, checkout_id, None) == view(checkout_id, None)
    assert await repository.committed_by(location, anonymous, KEY_A) is None
    assert await repository.committed_by(location, anonymous, None) == view(anonymous, None)
    assert await repository.committed_by(uuid4(), checkout_id, None) is None


async def test_a_refund_is_read_back_with_the_checkout_it_refunded(location: UUID) -> None:
    ada = await customer(location)
    checkout_id = await sale(location, customer_id=ada)
    refunded_at = T0 + timedelta(hours=2)
    refund = NewRefund(
        id=uuid4(),
        location_id=location,
        checkout_id=checkout_id,
        number=1,
        lines=[LINE_JSON],
        credits_returned=100,
        cashback_reversed=20,
        cashback_owed=15,
        actor="till-2",
        api_key_id=KEY_B,
        created_at=refunded_at,
    )
    async with transaction() as db:
        assert await mark_refunded(checkout_id, refunded_at, db)
        await insert_refund(refund, db)
    other, _ = await access.create_location("Other Bistro")

    assert await repository.refunded(location, refund.id) == (
        view(checkout_id, ada, status="REFUNDED", refunded_at=refunded_at),
        RefundView(
            id=refund.id,
            checkout_id=checkout_id,
            lines=(LINE,),
            credits_returned=100,
            cashback_reversed=20,
            cashback_owed=15,
            created_at=refunded_at,
        ),
    )
    assert await repository.refunded(other.id, refund.id) is None
    assert await repository.refunded(location, uuid4()) is None
    assert await repository.refunded(location, checkout_id) is None  # a checkout's id
    assert await repository.get(location, checkout_id) == view(
        checkout_id, ada, status="REFUNDED", refunded_at=refunded_at
    )


async def test_a_location_had_its_customers_deleted_or_not(location: UUID) -> None:
    live, gone = await customer(location), await customer(location, "Gone")
    await Customer.filter(id=gone).update(deleted_at=T0)
    other, _ = await access.create_location("Other Bistro")
    stranger = await customer(other.id)

    assert await repository.had_customer(location, live) is True
    assert await repository.had_customer(location, gone) is True
    assert await repository.had_customer(location, stranger) is False
    assert await repository.had_customer(location, uuid4()) is False


async def ids(
    location_id: UUID,
    criteria: CheckoutCriteria = EVERY,
    after: tuple[datetime, UUID] | None = None,
    limit: int = 10,
) -> tuple[int, list[UUID]]:
    total, page = await repository.page(location_id, criteria, after, limit)
    return total, [v.id for v in page]


async def test_the_history_is_newest_first_then_by_id_and_pages_after_a_key(
    location: UUID,
) -> None:
    same_time = sorted([UUID(int=1), UUID(int=3), UUID(int=2)], reverse=True)
    for checkout_id in same_time:
        await sale(location, checkout_id=checkout_id, created_at=T0)
    newest = await sale(location, created_at=T0 + timedelta(minutes=1))
    oldest = await sale(location, created_at=T0 - timedelta(minutes=1))
    other, _ = await access.create_location("Other Bistro")
    await sale(other.id)

    everything = [newest, UUID(int=3), UUID(int=2), UUID(int=1), oldest]
    assert await ids(location) == (5, everything)
    assert await ids(location, limit=2) == (5, everything[:2])
    assert await ids(location, after=(T0, UUID(int=3)), limit=2) == (5, everything[2:4])
    assert await ids(location, after=(T0, UUID(int=1))) == (5, [oldest])
    assert await ids(location, after=(T0 - timedelta(minutes=1), oldest)) == (5, [])
    page = (await repository.page(location, EVERY, None, 1))[1]
    assert page == [view(newest, None, created_at=T0 + timedelta(minutes=1))]


async def test_the_history_keeps_the_checkouts_matching_every_criterion(location: UUID) -> None:
    ada, bob = await customer(location), await customer(location, "Bob")
    a_pos = await sale(location, customer_id=ada, created_at=T0)
    a_kiosk = await sale(location, customer_id=ada, channel="KIOSK", created_at=T0 + HOUR)
    b_online = await sale(
        location, customer_id=bob, channel="ONLINE", created_at=T0 + 2 * HOUR, api_key_id=KEY_B
    )
    anonymous = await sale(location, created_at=T0 + 3 * HOUR, api_key_id=KEY_B)
    async with transaction() as db:
        await mark_refunded(a_kiosk, T0 + 4 * HOUR, db)

    def by(**given: Any) -> CheckoutCriteria:
        return CheckoutCriteria(**given)

    assert await ids(location, by(api_key_id=KEY_A)) == (2, [a_kiosk, a_pos])
    assert await ids(location, by(api_key_id=KEY_B)) == (2, [anonymous, b_online])
    assert await ids(location, by(customer_id=ada)) == (2, [a_kiosk, a_pos])
    assert await ids(location, by(status="REFUNDED")) == (1, [a_kiosk])
    assert await ids(location, by(status="COMMITTED")) == (3, [anonymous, b_online, a_pos])
    assert await ids(location, by(channel="ONLINE")) == (1, [b_online])
    assert await ids(location, by(created_from=T0 + HOUR)) == (3, [anonymous, b_online, a_kiosk])
    assert await ids(location, by(created_to=T0 + HOUR)) == (1, [a_pos])
    window = by(created_from=T0 + HOUR, created_to=T0 + 3 * HOUR)
    assert await ids(location, window) == (2, [b_online, a_kiosk])
    assert await ids(location, by(customer_id=ada, status="COMMITTED", api_key_id=KEY_A)) == (
        1,
        [a_pos],
    )
    assert await ids(location, by(customer_id=bob, api_key_id=KEY_A)) == (0, [])
