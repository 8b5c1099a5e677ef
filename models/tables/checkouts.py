"""Committed checkouts and their refunds (tables `checkouts` and `checkout_refunds`).

A checkout keeps what was sold at what price: its lines and applied discounts as JSON, the
totals in minor units, what it took of the daily discount limit (`group_discount`) of the group
it came through (`discount_reference`), the credits it used and the cashback it granted.
`business_date` is the location's calendar date when it was committed, so that a customer's
usage of a group's daily limit today is one indexed SUM over (customer_id, business_date) of
that group's discounts, less what partial refunds gave back of it (`group_discount_returned`).
Refunds by the line: each refund claims the checkout's next `refund_count` with a conditional
UPDATE that holds the row, and records the quantities of each line refunded so far
(`refunded_quantities`, null when none are); `status` becomes PARTIALLY_REFUNDED, then REFUNDED
when nothing is left.
Held cashback: a checkout's `cashback_held` is what is still held of its cashback, until
`cashback_release_at`; the customer's `cashback_held` is the sum over its checkouts.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from domain.checkouts import COMMITTED
from models.ids import new_id
from models.tables.crm import Customer, Location


class Checkout(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    # Kept when the customer is deleted (softly), like the wallet entries.
    customer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="checkouts", null=True, on_delete=fields.RESTRICT
    )
    channel = fields.CharField(max_length=10)
    status = fields.CharField(max_length=20, default=COMMITTED)
    business_date = fields.DateField()
    lines: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    discounts: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    subtotal = fields.BigIntField()
    discount_total = fields.BigIntField()
    total = fields.BigIntField()
    group_discount = fields.BigIntField()  # what it took of the daily discount limit
    # The reference of the group the group discount came through: whose daily limit it took.
    discount_reference = fields.CharField(max_length=64, null=True)
    credits_used = fields.BigIntField()
    cashback_granted = fields.BigIntField()
    actor = fields.CharField(max_length=100, null=True)
    # The API key that committed it: a till's key lists only its own sales.
    api_key_id = fields.UUIDField(null=True)
    # What is still held of the cashback (not yet in the balance), and when the hold ends.
    cashback_held = fields.BigIntField(default=0, db_default=0)
    cashback_release_at = fields.DatetimeField(null=True)
    # As given with the commit; `idempotency_keys` holds the one unique key per location.
    idempotency_key = fields.CharField(max_length=200)
    request_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    refunded_at = fields.DatetimeField(null=True)
    # How many refunds it has had; the next one's number is this plus one.
    refund_count = fields.IntField(default=0, db_default=0)
    # Per line (in the order of `lines`): the quantity refunded so far, in thousandths.
    refunded_quantities: fields.Field[list[int] | None] = fields.JSONField(null=True)
    # What its refunds gave back of `group_discount`: no longer counted against the limit.
    group_discount_returned = fields.BigIntField(default=0, db_default=0)
    # What its refunds reversed of `credits_used` and of its online promotions (the shares of
    # `domain.refunds`; the credits as reversed, before any netting against owed cashback): the
    # owner's reports count a partly refunded sale at what is left of it.
    credits_used_returned = fields.BigIntField(default=0, db_default=0)
    promotions_returned = fields.BigIntField(default=0, db_default=0)
    location_id: UUID
    customer_id: UUID | None

    class Meta:
        table = "checkouts"
        indexes = (
            ("customer_id", "business_date"),
            ("location_id", "created_at", "id"),
            ("location_id", "api_key_id", "created_at", "id"),
            ("cashback_release_at",),
            ("location_id", "business_date"),  # the owner's reports of sales by day
        )


class CheckoutRefund(Model):
    """One refund of a checkout: what it gave back and took back. `number` counts the
    checkout's refunds from 1; it is the `period` of the wallet entries the refund writes, so
    that they never meet the commit's (period 0) on the ledger's unique key."""

    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    checkout: fields.ForeignKeyRelation[Checkout] = fields.ForeignKeyField(
        "models.Checkout", related_name="refunds", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    lines: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    credits_returned = fields.BigIntField()
    # Cashback taken back from the balance or cancelled while held, and what the balance could
    # not cover (recorded as owed on the customer).
    cashback_reversed = fields.BigIntField()
    cashback_owed = fields.BigIntField()
    # What it gave back of the sale's group discount (the daily limit's usage).
    group_discount = fields.BigIntField(default=0, db_default=0)
    actor = fields.CharField(max_length=100, null=True)
    api_key_id = fields.UUIDField(null=True)
    created_at = fields.DatetimeField()
    location_id: UUID
    checkout_id: UUID

    class Meta:
        table = "checkout_refunds"
        unique_together = (("checkout_id", "number"),)
