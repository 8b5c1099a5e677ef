"""Credit lots: what each balance is made of, so that credits can expire.

Written by `tortoise makemigrations` (the two tables and the two `expires_on` columns), then
changed by hand:

- Every live customer holding a positive balance gets one lot of it, without expiry (source
  SYSTEM, dated at its wallet's last change): before lots no credit expired, and the remaining
  amounts of a customer's lots must sum to its balance. A deleted customer holds nothing (0009
  wrote it off); held and owed cashback are not part of the balance, so they make no lot.
- Three partial indexes over the lots with something left: one in the order spending takes
  them (per customer, soonest-expiring first), one by location and expiry date, which the
  expiry job and the expiring-credits list read, and one by the entry that credited them (a
  schedule replacing its previous top-ups finds them by it).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

SPENDING_INDEX = "credit_lots_spending"
EXPIRING_INDEX = "credit_lots_expiring"
ENTRY_INDEX = "credit_lots_entry"

_LOTS = """
INSERT INTO credit_lots (location_id, customer_id, entry_id, source, amount, remaining,
    expires_on, created_at)
SELECT location_id, id, NULL, 'SYSTEM', credit_balance, credit_balance, NULL,
    COALESCE(wallet_updated_at, created_at)
FROM customers WHERE deleted_at IS NULL AND credit_balance > 0
"""

_INDEXES = (
    f"CREATE INDEX {SPENDING_INDEX} ON credit_lots (customer_id, expires_on, created_at, id) "
    "WHERE remaining > 0",
    f"CREATE INDEX {EXPIRING_INDEX} ON credit_lots (location_id, expires_on) "
    "WHERE remaining > 0 AND expires_on IS NOT NULL",
    f"CREATE INDEX {ENTRY_INDEX} ON credit_lots (entry_id) WHERE remaining > 0",
)


async def lots_of_balances(apps, schema_editor):
    await schema_editor.client.execute_query(_LOTS)


async def no_lots(apps, schema_editor):
    await schema_editor.client.execute_query("DELETE FROM credit_lots")


async def add_indexes(apps, schema_editor):
    for statement in _INDEXES:
        await schema_editor.client.execute_query(statement)


async def drop_indexes(apps, schema_editor):
    for name in (SPENDING_INDEX, EXPIRING_INDEX, ENTRY_INDEX):
        await schema_editor.client.execute_query(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [('models', '0012_undo')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditLot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('entry_id', fields.BigIntField(null=True)),
                ('source', fields.CharField(max_length=10)),
                ('amount', fields.BigIntField()),
                ('remaining', fields.BigIntField()),
                ('expires_on', fields.DateField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_lots', 'app': 'models', 'constraints': [CheckConstraint(check='remaining >= 0 AND remaining <= amount', name='credit_lots_remaining_range')], 'pk_attr': 'id', 'table_description': 'One credit that reached a balance, and what is left of it: the remaining amounts of a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CreditLotTake',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry_id', fields.BigIntField()),
                ('lot_id', fields.BigIntField()),
                ('amount', fields.BigIntField()),
                ('restored', fields.BigIntField(default=0, db_default=0)),
            ],
            options={'table': 'credit_lot_takes', 'app': 'models', 'unique_together': (('entry_id', 'lot_id'),), 'pk_attr': 'id', 'table_description': 'What one debit entry took from one lot, and how much of it refunds gave back.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='WalletEntry',
            name='expires_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='WalletOperation',
            name='expires_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='CreditSchedule',
            name='expires_after_days',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='CreditSchedule',
            name='replace_previous',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='CustomerGroup',
            name='cashback_expires_after_days',
            field=fields.IntField(null=True),
        ),
        ops.RunPython(lots_of_balances, no_lots),
        ops.RunPython(add_indexes, drop_indexes),
    ]
