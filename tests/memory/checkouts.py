"""The till's stores in memory: what `models.reads.customer_for_pricing`, `models.checkouts`
and `services.sync.links.group_links` promise the checkout services.

One transaction at a time runs here, so holding a customer is reading it: the order the SQL
stores get from a row lock (or SQLite's write lock) is the order the awaits run in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain import entities
from domain.access import ALL_CHANNELS
from domain.checkouts import (
    COMMITTED,
    LIMITED_CHANNELS,
    PARTIALLY_REFUNDED,
    REFUNDED,
    CheckoutView,
    RefundView,
    lines_of,
)
from domain.upstream import Channel
from models.checkouts import (
    DueRelease,
    HeldWallet,
    NewCheckout,
    NewRefund,
    RefundClaim,
    Settlement,
    checkout_view,
)
from models.reads import CustomerSnapshot
from services.sync import GroupLink
from tests.memory.tables import Customer, Memory, Sale


class Reads:
    """`models.reads.customer_for_pricing`: the customer, its groups by name, the location's
    sync version and the customer's use of the daily limit on the business date."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def customer_for_pricing(
        self,
        location_id: UUID,
        business_date: date,
        *,
        card_code: str | None = None,
        customer_id: UUID | None = None,
        hold: Any = None,
    ) -> CustomerSnapshot | None:
        found = [
            c
            for c in self.memory.live(location_id)
            if (c.id == customer_id if card_code is None else card_code in c.card_codes)
        ]
        if not found:
            return None
        customer = found[0]
        t = self.memory.t
        view = self._view(customer, card_code)
        references = {g.reference for g in view.groups}
        used: dict[str, int] = {}
        for s in t.sales.values():
            reference = s.row.discount_reference
            if (
                s.row.customer_id == customer.id
                and s.row.business_date == business_date
                and s.status != REFUNDED
                and s.row.channel in LIMITED_CHANNELS
                and reference in references
                and s.row.group_discount
            ):
                left = s.row.group_discount - s.group_discount_returned
                used[reference] = used.get(reference, 0) + left
        version = t.sync_versions.get(location_id, 0)
        location = t.locations.get(location_id)
        channels = frozenset(location.credit_channels) if location else ALL_CHANNELS
        return CustomerSnapshot(view, version, used, channels)

    def _view(self, customer: Customer, card_code: str | None) -> entities.CustomerView:
        now = self.memory.clock()
        row = entities.Customer(
            id=customer.id,
            location_id=customer.location_id,
            first_name=None,
            last_name=None,
            email=None,
            phone=None,
            note=None,
            credit_balance=customer.credit_balance,
            wallet_updated_at=None,
            created_at=now,
            updated_at=now,
            cashback_held=customer.cashback_held,
            cashback_owed=customer.cashback_owed,
        )
        groups = sorted(
            (self.memory.t.group_rows[g] for g in customer.group_ids),
            key=lambda g: (g.name, g.id),
        )
        expires_on = next((c.expires_on for c in customer.cards if c.code == card_code), None)
        return entities.CustomerView(row, tuple(groups), card_code, expires_on)


def _view(sale: Sale) -> CheckoutView:
    return checkout_view(sale.row, status=sale.status, refunded_at=sale.refunded_at)


class Checkouts:
    """`models.checkouts`: the sales, their refunds, and the cashback they hold."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def insert_checkout(self, checkout: NewCheckout, db: Any) -> None:
        self.memory.t.sales[checkout.id] = Sale(checkout, cashback_held=checkout.cashback_held)

    async def insert_refund(self, refund: NewRefund, db: Any) -> None:
        self.memory.t.refunds[refund.id] = refund

    async def lock_customer(
        self, location_id: UUID, customer_id: UUID, db: Any
    ) -> HeldWallet | None:
        for c in self.memory.live(location_id):
            if c.id == customer_id:
                return HeldWallet(c.credit_balance, c.cashback_held, c.cashback_owed)
        return None

    async def mark_refunded(self, checkout_id: UUID, now: datetime, db: Any) -> bool:
        sale = self.memory.t.sales[checkout_id]
        if sale.status != COMMITTED:
            return False
        sale.status, sale.refunded_at, sale.cashback_held = REFUNDED, now, 0
        sale.refund_count += 1
        return True

    async def claim_refund(self, checkout_id: UUID, db: Any) -> RefundClaim | None:
        sale = self.memory.t.sales[checkout_id]
        if sale.status == REFUNDED:
            return None
        sale.refund_count += 1
        return RefundClaim(sale.refund_count, sale.refunded_quantities, sale.cashback_held)

    async def settle_refund(self, checkout_id: UUID, settled: Settlement, db: Any) -> bool:
        sale = self.memory.t.sales[checkout_id]
        if sale.refund_count != settled.number:
            return False
        sale.status = REFUNDED if settled.whole else PARTIALLY_REFUNDED
        sale.refunded_at = settled.now if settled.whole else None
        sale.refunded_quantities = tuple(settled.refunded)
        sale.group_discount_returned += settled.group_discount_returned
        sale.credits_used_returned += settled.credits_used_returned
        sale.promotions_returned += settled.promotions_returned
        sale.cashback_held = 0 if settled.whole else settled.cashback_held
        return True

    async def change_held(self, customer_id: UUID, amount: int, now: datetime, db: Any) -> None:
        self.memory.t.customers[customer_id].cashback_held += amount

    async def due_releases(self, now: datetime, limit: int) -> list[DueRelease]:
        due = sorted(
            (
                s.row
                for s in self.memory.t.sales.values()
                if s.row.cashback_release_at is not None
                and s.row.cashback_release_at <= now
                and s.cashback_held > 0
                and s.status != REFUNDED
            ),
            key=lambda row: (row.cashback_release_at, row.id),
        )
        return [
            DueRelease(r.id, r.location_id, r.customer_id) for r in due[:limit] if r.customer_id
        ]

    async def take_held(self, checkout_id: UUID, db: Any) -> int:
        sale = self.memory.t.sales.get(checkout_id)
        if sale is None or sale.status == REFUNDED:
            return 0
        held, sale.cashback_held = sale.cashback_held, 0
        return held

    async def get(self, location_id: UUID, checkout_id: UUID) -> CheckoutView | None:
        sale = self.memory.t.sales.get(checkout_id)
        return _view(sale) if sale and sale.row.location_id == location_id else None

    async def refunded(
        self, location_id: UUID, refund_id: UUID
    ) -> tuple[CheckoutView, RefundView] | None:
        refund = self.memory.t.refunds.get(refund_id)
        if refund is None or refund.location_id != location_id:
            return None
        view = RefundView(
            id=refund.id,
            checkout_id=refund.checkout_id,
            lines=lines_of(refund.lines),
            credits_returned=refund.credits_returned,
            cashback_reversed=refund.cashback_reversed,
            cashback_owed=refund.cashback_owed,
            created_at=refund.created_at,
        )
        return _view(self.memory.t.sales[refund.checkout_id]), view


class Links:
    """`services.sync.links.group_links`: each group's connections as a test set them
    (`Tables.links`); a group with none has no offers."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.reads = 0  # how often the mirror was read, to see the offers cache at work

    async def group_links(
        self,
        location_id: UUID,
        groups: Sequence[tuple[UUID, str]],
        synced: frozenset[Channel] | None = None,
    ) -> dict[UUID, tuple[GroupLink, ...]]:
        self.reads += 1
        return {group_id: self.memory.t.links.get(group_id, ()) for group_id, _ in groups}
