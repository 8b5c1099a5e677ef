"""Locations, API keys, customers with cards, customer groups and memberships, and the
idempotency keys of every keyed write."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from domain.contacts import name_key, search_text
from domain.ledger import MAX_CREDIT_BALANCE
from models.ids import new_id


class Location(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    name = fields.CharField(max_length=200)
    currency = fields.CharField(max_length=3, default="PLN")
    timezone = fields.CharField(max_length=64, default="Europe/Warsaw")
    # "pl" or "en" (`domain.messages.LANGUAGES`): the language of messages when a request names
    # none. A new location's follows its currency (`domain.messages.default_language`).
    language = fields.CharField(max_length=8, default="pl", db_default="pl")
    created_at = fields.DatetimeField(auto_now_add=True)
    sync_version = fields.IntField(default=0, db_default=0)  # bumped by a sync that writes
    # The sales channels where promotional credits may be used, comma-separated in a fixed order
    # (`domain.access.channels_text`); empty: credits are off everywhere.
    credit_channels = fields.CharField(
        max_length=32, default="POS,KIOSK,ONLINE", db_default="POS,KIOSK,ONLINE"
    )

    class Meta:
        table = "locations"


class ApiKey(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="api_keys", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    role = fields.CharField(max_length=10)
    # The sales channels the key may quote and commit for, comma-separated in a fixed order
    # (`domain.access.channels_text`): a till's key "POS,KIOSK", the online store's "ONLINE",
    # an ADMIN key every channel.
    channels = fields.CharField(max_length=32, default="POS,KIOSK", db_default="POS,KIOSK")
    key_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    location_id: UUID

    class Meta:
        table = "api_keys"


class Customer(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="customers", on_delete=fields.CASCADE
    )
    first_name = fields.CharField(max_length=100, null=True)
    last_name = fields.CharField(max_length=100, null=True)
    email = fields.CharField(max_length=254, null=True)
    phone = fields.CharField(max_length=40, null=True)
    note = fields.TextField(null=True)
    # What search matches (`domain.contacts.search_text`: names, email and card codes folded,
    # the phone's digits) and what the list sorts by name on (`domain.contacts.name_key`);
    # both kept current by `refresh_search_text`. On PostgreSQL a trigram index serves
    # substring search on the search text (migration 0010).
    search_text = fields.TextField(default="")
    name_key = fields.TextField(default="", db_default="")
    # Promotional credits in minor units; changed only by single conditional UPDATEs.
    credit_balance = fields.BigIntField(default=0)
    # Cashback granted but held (not spendable until released), and reversed cashback the
    # balance could not cover, netted against the next incoming credits. Both in minor units,
    # never negative, changed only in the transaction that writes what explains them.
    cashback_held = fields.BigIntField(default=0, db_default=0)
    cashback_owed = fields.BigIntField(default=0, db_default=0)
    wallet_updated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # Set when the customer is deleted: the row stays, anonymised, so that its ledger entries
    # keep pointing at it; every customer query leaves such rows out.
    deleted_at = fields.DatetimeField(null=True)
    location_id: UUID

    def refresh_search_text(self, card_codes: Iterable[str]) -> None:
        self.search_text = search_text(
            self.first_name, self.last_name, self.email, self.phone, card_codes
        )
        self.name_key = name_key(self.first_name, self.last_name)

    class Meta:
        table = "customers"
        # The list's orders by name and by creation, ties broken by id (keyset pages).
        indexes = (
            ("location_id", "id"),
            ("location_id", "name_key", "id"),
            ("location_id", "created_at", "id"),
        )
        # On SQLite the migration enforces the same range with triggers (see 0002).
        constraints = (
            CheckConstraint(
                check=f"credit_balance >= 0 AND credit_balance <= {MAX_CREDIT_BALANCE}",
                name="customers_credit_balance_range",
            ),
            CheckConstraint(
                check=f"cashback_held >= 0 AND cashback_held <= {MAX_CREDIT_BALANCE} "
                f"AND cashback_owed >= 0 AND cashback_owed <= {MAX_CREDIT_BALANCE}",
                name="customers_cashback_range",
            ),
        )


class Card(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="cards", on_delete=fields.CASCADE
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="cards", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=64)
    number = fields.CharField(max_length=64, null=True)
    expires_on = fields.DateField(null=True)
    position = fields.SmallIntField(default=0)

    location_id: UUID
    customer_id: UUID

    class Meta:
        table = "customer_cards"
        unique_together = (("location_id", "code"),)
        indexes = (("customer_id", "position"),)


class CustomerGroup(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="groups", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    reference = fields.CharField(max_length=64)
    description = fields.TextField(null=True)
    cashback_basis_points = fields.IntField(null=True)
    # Days a checkout's cashback is held (shown, not spendable) before it is released.
    cashback_hold_days = fields.IntField(default=0, db_default=0)
    # Granted cashback expires this many days after it becomes spendable (None: never).
    cashback_expires_after_days = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    location_id: UUID

    class Meta:
        table = "customer_groups"
        unique_together = (("location_id", "reference"),)


class GroupMembership(Model):
    id = fields.BigIntField(primary_key=True)
    group: fields.ForeignKeyRelation[CustomerGroup] = fields.ForeignKeyField(
        "models.CustomerGroup", related_name="memberships", on_delete=fields.CASCADE
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="memberships", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    group_id: UUID
    customer_id: UUID

    class Meta:
        table = "group_memberships"
        unique_together = (("group_id", "customer_id"),)
        indexes = (("customer_id",),)


class IdempotencyKey(Model):
    """One client key per location, whatever the write it was given with: the key, a
    fingerprint of the request, and the record (kind and id) that the request created. Written
    in the same transaction as that record."""

    id = fields.BigIntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=200)
    request_hash = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=20)
    record_id = fields.UUIDField()
    created_at = fields.DatetimeField(auto_now_add=True)

    location_id: UUID

    class Meta:
        table = "idempotency_keys"
        unique_together = (("location_id", "key"),)
        indexes = (("created_at",),)  # the retention purge
