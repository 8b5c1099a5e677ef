"""Soft-deleted customers, a ledger that outlives them, the balance range, one key table,
and attempts counted for schedule runs.

Written from `tortoise makemigrations`, then changed by hand where Tortoise's schema editor
does not do what the state says:

- The balance CHECK: 0001 recorded it in the state, but `CreateModel` never created it. On
  PostgreSQL it is added with ALTER TABLE. SQLite cannot add a constraint to a table, and
  Tortoise's table rebuild would DROP TABLE customers with foreign keys on, which cascades to
  cards, memberships and the ledger; so on SQLite two triggers enforce the same range on every
  insert and update, with the same constraint name in their message.
- wallet_entries.customer_id becomes ON DELETE RESTRICT. Tortoise's AlterField leaves the
  foreign key alone on PostgreSQL and rebuilds the table without its unique key and index on
  SQLite; here PostgreSQL swaps the constraint, and SQLite rebuilds the table in full.
- Existing idempotency keys of operations and schedules are copied into `idempotency_keys`
  (oldest first; a key that both tables hold stays with the older record).
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

MAX_CREDIT_BALANCE = 10**15
RANGE = f"credit_balance >= 0 AND credit_balance <= {MAX_CREDIT_BALANCE}"
RANGE_NAME = "customers_credit_balance_range"


class StateOnly(ops.TortoiseOperation):
    """Records `operation` in the migration state only; the RunPython step next to it makes
    the database change, per engine."""

    def __init__(self, operation):
        self.operation = operation

    def describe(self):
        return f"{self.operation.describe()} (state only)"

    def state_forward(self, app_label, state):
        self.operation.state_forward(app_label, state)


def _dialect(schema_editor):
    return schema_editor.client.capabilities.dialect


async def add_balance_range(apps, schema_editor):
    db = schema_editor.client
    if _dialect(schema_editor) == "postgres":
        await db.execute_script(f'ALTER TABLE "customers" ADD CONSTRAINT "{RANGE_NAME}" CHECK ({RANGE})')
        return
    for event in ("INSERT", "UPDATE OF credit_balance"):
        suffix = event.split()[0].lower()
        await db.execute_query(
            f'CREATE TRIGGER "{RANGE_NAME}_{suffix}" BEFORE {event} ON "customers" '
            f"WHEN NEW.credit_balance < 0 OR NEW.credit_balance > {MAX_CREDIT_BALANCE} "
            f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {RANGE_NAME}'); END"
        )


async def drop_balance_range(apps, schema_editor):
    db = schema_editor.client
    if _dialect(schema_editor) == "postgres":
        await db.execute_script(f'ALTER TABLE "customers" DROP CONSTRAINT "{RANGE_NAME}"')
        return
    for suffix in ("insert", "update"):
        await db.execute_query(f'DROP TRIGGER "{RANGE_NAME}_{suffix}"')


_SQLITE_WALLET_ENTRIES = """
CREATE TABLE "new__wallet_entries" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(20) NOT NULL,
    "requested_amount" BIGINT NOT NULL,
    "delta" BIGINT NOT NULL,
    "balance_after" BIGINT NOT NULL,
    "description" VARCHAR(500),
    "source" VARCHAR(10) NOT NULL,
    "source_id" CHAR(36) NOT NULL,
    "period" INT NOT NULL,
    "actor" VARCHAR(100),
    "created_at" TIMESTAMP NOT NULL,
    "customer_id" CHAR(36) NOT NULL REFERENCES "customers" ("id") ON DELETE {on_delete},
    "location_id" CHAR(36) NOT NULL REFERENCES "locations" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_wallet_entr_source__fbbb6e" UNIQUE ("source_id", "customer_id", "period", "kind")
)
"""
_WALLET_ENTRY_COLUMNS = (
    '"id", "kind", "requested_amount", "delta", "balance_after", "description", "source", '
    '"source_id", "period", "actor", "created_at", "customer_id", "location_id"'
)


async def _set_entries_on_delete(schema_editor, on_delete):
    db = schema_editor.client
    if _dialect(schema_editor) == "postgres":
        await db.execute_script(
            'ALTER TABLE "wallet_entries" DROP CONSTRAINT "wallet_entries_customer_id_fkey", '
            'ADD CONSTRAINT "wallet_entries_customer_id_fkey" FOREIGN KEY ("customer_id") '
            f'REFERENCES "customers" ("id") ON DELETE {on_delete}'
        )
        return
    # Nothing references wallet_entries, so dropping it cascades nowhere.
    for sql in (
        _SQLITE_WALLET_ENTRIES.format(on_delete=on_delete),
        f'INSERT INTO "new__wallet_entries" ({_WALLET_ENTRY_COLUMNS}) '
        f'SELECT {_WALLET_ENTRY_COLUMNS} FROM "wallet_entries"',
        'DROP TABLE "wallet_entries"',
        'ALTER TABLE "new__wallet_entries" RENAME TO "wallet_entries"',
        'CREATE INDEX "idx_wallet_entr_custome_a0e686" ON "wallet_entries" ("customer_id", "id")',
    ):
        await db.execute_query(sql)


async def restrict_entry_deletion(apps, schema_editor):
    await _set_entries_on_delete(schema_editor, "RESTRICT")


async def cascade_entry_deletion(apps, schema_editor):
    await _set_entries_on_delete(schema_editor, "CASCADE")


async def copy_idempotency_keys(apps, schema_editor):
    await schema_editor.client.execute_query(
        'INSERT INTO "idempotency_keys" '
        '("location_id", "key", "request_hash", "kind", "record_id", "created_at") '
        'SELECT "location_id", "key", "request_hash", "kind", "record_id", "created_at" FROM ('
        '  SELECT "location_id", "idempotency_key" AS "key", COALESCE("request_hash", \'\') '
        '  AS "request_hash", \'WALLET_OPERATION\' AS "kind", "id" AS "record_id", "created_at" '
        '  FROM "wallet_operations" WHERE "idempotency_key" IS NOT NULL '
        "  UNION ALL "
        '  SELECT "location_id", "idempotency_key", COALESCE("request_hash", \'\'), '
        '  \'CREDIT_SCHEDULE\', "id", "created_at" '
        '  FROM "credit_schedules" WHERE "idempotency_key" IS NOT NULL'
        ') AS "keyed" ORDER BY "created_at", "record_id" '
        'ON CONFLICT ("location_id", "key") DO NOTHING'
    )


async def clear_idempotency_keys(apps, schema_editor):
    await schema_editor.client.execute_query('DELETE FROM "idempotency_keys"')


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="IdempotencyKey",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("location", fields.ForeignKeyField("models.Location", source_field="location_id", db_constraint=True, to_field="id", related_name=False, on_delete=OnDelete.CASCADE)),
                ("key", fields.CharField(max_length=200)),
                ("request_hash", fields.CharField(max_length=64)),
                ("kind", fields.CharField(max_length=20)),
                ("record_id", fields.UUIDField()),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "idempotency_keys", "app": "models", "unique_together": (("location_id", "key"),), "pk_attr": "id", "table_description": "One client key per location, whatever the write it was given with: the key, a"},
            bases=["Model"],
        ),
        ops.RunPython(copy_idempotency_keys, clear_idempotency_keys),
        ops.AddField(
            model_name="Customer",
            name="deleted_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="ScheduleRun",
            name="attempts",
            field=fields.IntField(default=0, db_default=0),
        ),
        # 0001 recorded this constraint but never created it: nothing to drop in the database.
        StateOnly(ops.RemoveConstraint(model_name="Customer", name="customers_credit_balance_gte_0", fields=None)),
        StateOnly(ops.AddConstraint(model_name="Customer", constraint=CheckConstraint(check=RANGE, name=RANGE_NAME))),
        ops.RunPython(add_balance_range, drop_balance_range),
        StateOnly(
            ops.AlterField(
                model_name="WalletEntry",
                name="customer",
                field=fields.ForeignKeyField("models.Customer", source_field="customer_id", db_constraint=True, to_field="id", related_name="wallet_entries", on_delete=OnDelete.RESTRICT),
            )
        ),
        ops.RunPython(restrict_entry_deletion, cascade_entry_deletion),
    ]
