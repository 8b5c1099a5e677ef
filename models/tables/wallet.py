"""Promotional-credit wallets: the ledger, bulk operations and recurring schedules.

A customer's balance lives on `customers.credit_balance`; every change to it is a `WalletEntry`
written in the same transaction. The unique key (source_id, customer_id, period, kind) is what
makes every application exactly-once: whoever inserts the entry applies the delta.
"""

from __future__ import annotations

from uuid import UUID

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from models.ids import new_id
from models.tables.crm import Customer, Location


class WalletEntry(Model):
    id = fields.BigIntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="wallet_entries", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=20)
    requested_amount = fields.BigIntField()
    delta = fields.BigIntField()
    balance_after = fields.BigIntField()
    description = fields.CharField(max_length=500, null=True)
    source = fields.CharField(max_length=10)
    source_id = fields.UUIDField()
    # 0 for one-off operations and checkouts; the period's index for schedule runs.
    period = fields.IntField(default=0)
    actor = fields.CharField(max_length=100, null=True)
    created_at = fields.DatetimeField()
    # A credit that expires: the end of this day (in the location's time zone).
    expires_on = fields.DateField(null=True)
    location_id: UUID
    customer_id: UUID

    class Meta:
        table = "wallet_entries"
        unique_together = (("source_id", "customer_id", "period", "kind"),)
        # The second serves the owner's reports: a location's ledger over a range of days.
        indexes = (("customer_id", "id"), ("location_id", "created_at"))


class CreditRecord(Model):
    """What one-off operations and schedules both record of a credit request."""

    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    operation = fields.CharField(max_length=10)
    amount = fields.BigIntField()
    description = fields.CharField(max_length=500, null=True)
    actor = fields.CharField(max_length=100, null=True)
    # As given with the request; `idempotency_keys` holds the one unique key per location.
    idempotency_key = fields.CharField(max_length=200, null=True)
    request_hash = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    location_id: UUID

    class Meta:
        abstract = True


class WalletOperation(CreditRecord):
    source = fields.CharField(max_length=10)
    # Exactly one of the two: an explicit customer list, or a filter evaluated when it runs;
    # a filter without a criterion (`{}`, as an allCustomers request is stored) is every customer.
    customer_ids: fields.Field[list[str] | None] = fields.JSONField(null=True)
    customer_filter: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)
    status = fields.CharField(max_length=10, default="QUEUED")
    total = fields.IntField(default=0)
    processed = fields.IntField(default=0)
    error = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    started_at = fields.DatetimeField(null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # An undo: the operation or schedule run it reverses (unique: one undo each, whatever its
    # idempotency key), where that one's entries are (their source id and period; `operation`
    # is that one's), and how many customers it restored in whole and in part once it ended.
    undo_of_id = fields.UUIDField(null=True, unique=True)
    undo_source_id = fields.UUIDField(null=True)
    undo_period = fields.IntField(null=True)
    restored_count = fields.IntField(null=True)
    partly_restored_count = fields.IntField(null=True)
    # What the operation credits expires at the end of this day (location's time zone).
    expires_on = fields.DateField(null=True)

    class Meta:
        table = "wallet_operations"
        unique_together = (("location_id", "idempotency_key"),)
        indexes = (("status", "heartbeat_at"), ("location_id", "created_at", "id"))


class CreditSchedule(CreditRecord):
    every = fields.IntField()
    unit = fields.CharField(max_length=5)
    start_date = fields.DateField()
    end_date = fields.DateField(null=True)
    target = fields.CharField(max_length=10)
    customer_ids: fields.Field[list[str]] = fields.JSONField(default=list)
    group_ids: fields.Field[list[str]] = fields.JSONField(default=list)
    paused = fields.BooleanField(default=False)
    # Index of the last period that was applied (or skipped by a resume); -1 before the first.
    last_period = fields.IntField(default=-1)
    last_run_on = fields.DateField(null=True)
    next_run_on = fields.DateField(null=True)
    # Each top-up expires this many days after its period; with `replace_previous`, what is
    # left of the earlier top-ups expires at each period before the new one is applied.
    expires_after_days = fields.IntField(null=True)
    replace_previous = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "credit_schedules"
        unique_together = (("location_id", "idempotency_key"),)
        indexes = (("paused", "next_run_on"),)


class ScheduleRun(Model):
    """One period of a schedule: created once by the tick, processed by a job."""

    id = fields.UUIDField(primary_key=True, default=new_id)
    schedule: fields.ForeignKeyRelation[CreditSchedule] = fields.ForeignKeyField(
        "models.CreditSchedule", related_name="runs", on_delete=fields.CASCADE
    )
    period = fields.IntField()
    period_on = fields.DateField()
    # What the period applies, taken from the schedule by its first attempt (None before), so
    # that an edit of the schedule applies from the next period and never to one under way.
    amount = fields.BigIntField(null=True)
    description = fields.CharField(max_length=500, null=True)
    status = fields.CharField(max_length=10, default="QUEUED")
    total = fields.IntField(default=0)
    processed = fields.IntField(default=0)
    error = fields.TextField(null=True)
    attempts = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    schedule_id: UUID

    class Meta:
        table = "schedule_runs"
        unique_together = (("schedule_id", "period"),)
        indexes = (("status", "heartbeat_at"),)


class ExpiryRun(Model):
    """The expiry of one location's due credit lots on one local day (`domain.expiry_runs`):
    created once by the periodic check (unique per location and day), processed by a job that
    follows the lifecycle, with what it expired so far."""

    id = fields.UUIDField(primary_key=True, default=new_id)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    # The location's date the run was made for: lots that expire before it are due.
    day = fields.DateField()
    status = fields.CharField(max_length=10, default="QUEUED")
    attempts = fields.IntField(default=0)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    lots_expired = fields.IntField(default=0)
    amount_expired = fields.BigIntField(default=0)  # minor units
    location_id: UUID

    class Meta:
        table = "expiry_runs"
        # The first also serves the back office's list, newest day first.
        unique_together = (("location_id", "day"),)
        indexes = (("status", "heartbeat_at"),)


class CreditLot(Model):
    """One credit that reached a balance, and what is left of it: the remaining amounts of a
    customer's lots sum to its balance. Written only by `models.ledger`, `models.undo` and
    `models.expiry`, under the customer's row lock, with the entry that moves the balance."""

    id = fields.BigIntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name=False, on_delete=fields.RESTRICT
    )
    # The entry that credited it (None for the lot 0013 made of a balance held before lots).
    entry_id = fields.BigIntField(null=True)
    source = fields.CharField(max_length=10)
    amount = fields.BigIntField()
    remaining = fields.BigIntField()
    expires_on = fields.DateField(null=True)
    created_at = fields.DatetimeField()
    location_id: UUID
    customer_id: UUID

    class Meta:
        table = "credit_lots"
        # The partial indexes that serve spending and expiry are made by 0013 (see there).
        constraints = (
            CheckConstraint(
                check="remaining >= 0 AND remaining <= amount", name="credit_lots_remaining_range"
            ),
        )


class CreditLotTake(Model):
    """What one debit entry took from one lot, and how much of it refunds gave back."""

    id = fields.BigIntField(primary_key=True)
    entry_id = fields.BigIntField()
    lot_id = fields.BigIntField()
    amount = fields.BigIntField()
    restored = fields.BigIntField(default=0, db_default=0)

    class Meta:
        table = "credit_lot_takes"
        # (entry_id, lot_id) finds a debit's takes: a refund's give-back, and what the lots held
        # at a past instant (`models.expiring_week_ends`), read from the debits written.
        unique_together = (("entry_id", "lot_id"),)


class LedgerDay(Model):
    """The ledger of one closed local day of a location, summed by kind, source and the sign of
    the delta, for the owner's reports (`models.reports`). Entries are never changed and each is
    dated when it is written, so a day over (with a margin for transactions under way at
    midnight) never changes again: it is summed once, the first time a report needs it. Every
    summed day has a row of kind "" (no entries, zeros), so that a day without entries is not
    summed again. Keyed by the time zone too: a location that changes its time zone has its days
    summed anew. Sums are kept in two parts, each far from 64 bits, as the reports take them."""

    id = fields.BigIntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    timezone = fields.CharField(max_length=64)
    day = fields.DateField()
    kind = fields.CharField(max_length=20)
    source = fields.CharField(max_length=10)
    positive = fields.BooleanField()
    delta_high = fields.BigIntField()
    delta_low = fields.BigIntField()
    requested_high = fields.BigIntField()
    requested_low = fields.BigIntField()
    location_id: UUID

    class Meta:
        table = "ledger_days"
        unique_together = (("location_id", "timezone", "day", "kind", "source", "positive"),)


class BalanceAtMonthEnd(Model):
    """Each customer's balance at the end of a closed local month of its location, for the
    liability at a past day's end (`models.month_ends`): that day's balances are the last
    month end's plus the entries since, a month of the ledger at most. Written once, the first
    time a report needs the month, from the month before's and the month's entries; customers
    holding nothing have no row, and every written month has a row for the nil customer id, so
    that a month is not written again. Keyed by the time zone, like `LedgerDay`."""

    id = fields.BigIntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    timezone = fields.CharField(max_length=64)
    month_end = fields.DateField()
    customer_id = fields.UUIDField()
    balance = fields.BigIntField()
    location_id: UUID

    class Meta:
        table = "balances_at_month_end"
        unique_together = (("location_id", "timezone", "month_end", "customer_id"),)


class ExpiringAtWeekEnd(Model):
    """What a location's lots that expire held at the end of a closed local week (its Sunday),
    by expiry day, for the liability's split by expiry month at a past day's end
    (`models.expiring_week_ends`): that day's is the nearer week end's and the changes between,
    half a week of the ledger at most. Written once, the first time a report needs the week;
    days holding nothing have no row, and every written week has a row for the expiry day
    0001-01-01, so that a week is not written again. Keyed by the time zone, like `LedgerDay`."""

    id = fields.BigIntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name=False, on_delete=fields.CASCADE
    )
    timezone = fields.CharField(max_length=64)
    week_end = fields.DateField()
    expires_on = fields.DateField()
    amount = fields.BigIntField()
    location_id: UUID

    class Meta:
        table = "expiring_at_week_end"
        unique_together = (("location_id", "timezone", "week_end", "expires_on"),)
