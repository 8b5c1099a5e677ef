"""Per-location integration settings, sync runs, and the local mirror of GoPOS and GoOrder.

The mirror tables hold what the last sync read from each upstream, in our units (basis points,
minor units); `models.mirror` writes and reads them with set-based statements. A row gone
upstream is marked `removed`, never deleted. `reference_key` is the reference as references are
matched (`domain.references.normalise_reference`), kept beside it for lookups.

A sync run follows the one job lifecycle (status, attempts, error and the timestamps, named as
on every job table). At most one run per location and channel is unfinished: the partial unique
index `sync_runs_one_unfinished` (migration 0003) refuses a second QUEUED or RUNNING one.
"""

from __future__ import annotations

from uuid import UUID

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model

from domain.upstream import MAX_EXTERNAL_ID, MAX_NAME, MAX_REFERENCE
from models.ids import new_id
from models.tables.crm import Location

# Case-folding can lengthen a reference ("ß" → "ss"); the key has room for that.
MAX_REFERENCE_KEY = 3 * MAX_REFERENCE

ONE_UNFINISHED_RUN = "sync_runs_one_unfinished"
UNFINISHED_CONDITION = "status IN ('QUEUED', 'RUNNING')"


class Integration(Model):
    """How one location reaches one upstream, its secret sealed by the caller."""

    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    channel = fields.CharField(max_length=10)
    base_url = fields.CharField(max_length=500)
    client_id = fields.CharField(max_length=200, null=True)
    organization_id = fields.CharField(max_length=200, null=True)
    store_id = fields.CharField(max_length=200, null=True)
    # GoPOS client secret or GoOrder API key, encrypted; never plaintext.
    sealed_secret = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    location_id: UUID

    class Meta:
        table = "integrations"
        unique_together = (("location_id", "channel"),)


class SyncRun(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    channel = fields.CharField(max_length=10)
    status = fields.CharField(max_length=10, default="QUEUED")
    attempts = fields.IntField(default=0)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)  # queued at
    started_at = fields.DatetimeField(null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    fetched = fields.IntField(default=0)
    linked = fields.IntField(default=0)
    unmatched = fields.IntField(default=0)
    written = fields.IntField(default=0)  # rows upserted or marked removed

    location_id: UUID

    class Meta:
        table = "sync_runs"
        indexes = (("location_id", "channel", "created_at"), ("status", "heartbeat_at"))
        constraints = (
            UniqueConstraint(
                fields=("location_id", "channel"),
                name=ONE_UNFINISHED_RUN,
                condition=UNFINISHED_CONDITION,
            ),
        )


class PosDiscountMirror(Model):
    id = fields.BigIntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    external_id = fields.CharField(max_length=MAX_EXTERNAL_ID)
    name = fields.CharField(max_length=MAX_NAME)
    type = fields.CharField(max_length=10)
    value = fields.BigIntField()  # basis points for PERCENT, minor units for AMOUNT
    enabled = fields.BooleanField()
    removed = fields.BooleanField(default=False)
    last_seen_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    location_id: UUID

    class Meta:
        table = "pos_discounts"
        unique_together = (("location_id", "external_id"),)
        indexes = (("removed", "updated_at"),)  # the retention purge of removed rows


class PosGroupMirror(Model):
    id = fields.BigIntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    external_id = fields.CharField(max_length=MAX_EXTERNAL_ID)
    name = fields.CharField(max_length=MAX_NAME)
    reference = fields.CharField(max_length=MAX_REFERENCE, null=True)
    reference_key = fields.CharField(max_length=MAX_REFERENCE_KEY, null=True)
    daily_limit = fields.BigIntField(null=True)  # minor units; NULL = no limit
    discount_ids: fields.Field[list[str]] = fields.JSONField(default=list)
    removed = fields.BooleanField(default=False)
    last_seen_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    location_id: UUID

    class Meta:
        table = "pos_customer_groups"
        unique_together = (("location_id", "external_id"),)
        indexes = (("location_id", "reference_key"), ("removed", "updated_at"))


class OrderPromotionMirror(Model):
    id = fields.BigIntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    external_id = fields.CharField(max_length=MAX_EXTERNAL_ID)
    name = fields.CharField(max_length=MAX_NAME)
    reference = fields.CharField(max_length=MAX_REFERENCE, null=True)
    reference_key = fields.CharField(max_length=MAX_REFERENCE_KEY, null=True)
    type = fields.CharField(max_length=20)
    add_type = fields.CharField(max_length=50)
    value = fields.BigIntField()  # basis points for ORDER_PERCENT, minor units for ORDER_AMOUNT
    min_basket = fields.BigIntField(null=True)  # minor units
    active = fields.BooleanField()
    removed = fields.BooleanField(default=False)
    last_seen_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    location_id: UUID

    class Meta:
        table = "order_promotions"
        unique_together = (("location_id", "external_id"),)
        indexes = (("location_id", "reference_key"), ("removed", "updated_at"))
