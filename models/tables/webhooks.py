"""Webhook endpoints, their deliveries, and the outbox that feeds them.

`webhook_outbox` is written by database triggers (migration 0014) in the transaction that
writes what an event tells of: a wallet entry, a checkout, a refund, a sync run that finished.
A row is written only while the location has an enabled endpoint that subscribes to the event,
so a location without endpoints pays one indexed look-up per statement. `services.webhooks`
turns outbox rows into deliveries and deletes them, in one transaction.
"""

from __future__ import annotations

from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from models.ids import new_id
from models.tables.crm import Location


class WebhookEndpoint(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    url = fields.CharField(max_length=2000)
    # Wire names between commas: ",wallet.changed,sync.finished," (`domain.webhooks`).
    events = fields.CharField(max_length=200)
    enabled = fields.BooleanField(default=True)
    disabled_reason = fields.TextField(null=True)  # an encoded message
    expiring_days_before = fields.IntField(default=7)
    sealed_secret = fields.TextField()
    # Deliveries in a row that failed every attempt; reset by a success.
    consecutive_failures = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    # `credits.expiring`: the last local day notified (None: none yet, the first is the local
    # day of `expiring_due_at`), and the instant the next day is due, which the periodic check
    # asks for on its index (`services.webhooks.expiring`).
    expiring_notified_on = fields.DateField(null=True)
    expiring_due_at = fields.DatetimeField(null=True)
    location_id: UUID

    class Meta:
        table = "webhook_endpoints"
        # One endpoint per URL in a location: a create sent twice makes one endpoint.
        unique_together = (("location_id", "url"),)
        indexes = (("location_id", "enabled"), ("expiring_due_at",))


class WebhookDelivery(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    event = fields.CharField(max_length=30)
    message_id = fields.CharField(max_length=40, unique=True)
    body = fields.TextField()
    status = fields.CharField(max_length=10, default="PENDING")
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_status_code = fields.IntField(null=True)
    last_latency_ms = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    location_id: UUID
    endpoint_id: UUID

    class Meta:
        table = "webhook_deliveries"
        indexes = (("status", "next_attempt_at"), ("endpoint_id", "id"))


class WebhookOutbox(Model):
    id = fields.BigIntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    event = fields.CharField(max_length=30)
    # The id of what the event tells of: a wallet entry, a checkout, a refund, a sync run.
    subject = fields.CharField(max_length=40)
    created_at = fields.DatetimeField()
    location_id: UUID

    class Meta:
        table = "webhook_outbox"
