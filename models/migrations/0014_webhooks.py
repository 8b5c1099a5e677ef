"""Webhook endpoints, their deliveries, and the outbox that database triggers fill.

Written by `tortoise makemigrations` (the three tables), then changed by hand: triggers write an
outbox row in the transaction that writes what an event tells of, and only while the location
has an enabled endpoint that subscribes to the event (`models.tables.webhooks`):

- `wallet.changed`: a wallet entry inserted (its id);
- `checkout.committed`: a checkout inserted; `checkout.refunded`: a refund inserted;
- `sync.finished`: a sync run whose status becomes SUCCEEDED or FAILED.

On PostgreSQL the insert triggers run once per statement over its new rows (a bulk chunk's
thousands of entries are one trigger call); SQLite has row triggers only, with the look-up in
their WHEN clause. A rolled-back transaction rolls its outbox rows back with it.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.ids import new_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


# (table, event, subject) of the insert triggers.
INSERTS = (
    ("wallet_entries", "wallet.changed"),
    ("checkouts", "checkout.committed"),
    ("checkout_refunds", "checkout.refunded"),
)
SUBSCRIBED = (
    "EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.location_id = {row}.location_id "
    "AND e.enabled AND e.events LIKE '%,{event},%')"
)
FINISHED = "NEW.status IN ('SUCCEEDED', 'FAILED') AND OLD.status <> NEW.status"

_POSTGRES_FUNCTIONS = """
CREATE FUNCTION webhook_outbox_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_outbox (location_id, event, subject, created_at)
    SELECT n.location_id, TG_ARGV[0], n.id::text, n.created_at FROM webhook_new n
    WHERE EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.location_id = n.location_id
        AND e.enabled AND e.events LIKE '%,' || TG_ARGV[0] || ',%')
    ORDER BY n.id;
    RETURN NULL;
END $$;
CREATE FUNCTION webhook_outbox_sync_finished() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.location_id = NEW.location_id
        AND e.enabled AND e.events LIKE '%,sync.finished,%') THEN
        INSERT INTO webhook_outbox (location_id, event, subject, created_at)
        VALUES (NEW.location_id, 'sync.finished', NEW.id::text,
            COALESCE(NEW.finished_at, NEW.created_at));
    END IF;
    RETURN NULL;
END $$;
"""


def _postgres(schema_editor):
    return schema_editor.client.capabilities.dialect == "postgres"


async def add_triggers(apps, schema_editor):
    db = schema_editor.client
    if _postgres(schema_editor):
        await db.execute_script(_POSTGRES_FUNCTIONS)
        for table, event in INSERTS:
            await db.execute_script(
                f'CREATE TRIGGER "webhook_outbox_{table}" AFTER INSERT ON "{table}" '
                "REFERENCING NEW TABLE AS webhook_new FOR EACH STATEMENT "
                f"EXECUTE FUNCTION webhook_outbox_inserted('{event}')"
            )
        await db.execute_script(
            'CREATE TRIGGER "webhook_outbox_sync_runs" AFTER UPDATE OF status ON "sync_runs" '
            f"FOR EACH ROW WHEN ({FINISHED}) EXECUTE FUNCTION webhook_outbox_sync_finished()"
        )
        return
    for table, event in INSERTS:
        await db.execute_script(
            f'CREATE TRIGGER "webhook_outbox_{table}" AFTER INSERT ON "{table}" '
            f"WHEN {SUBSCRIBED.format(row='NEW', event=event)} "
            "BEGIN INSERT INTO webhook_outbox (location_id, event, subject, created_at) "
            f"VALUES (NEW.location_id, '{event}', CAST(NEW.id AS TEXT), NEW.created_at); END"
        )
    await db.execute_script(
        'CREATE TRIGGER "webhook_outbox_sync_runs" AFTER UPDATE OF status ON "sync_runs" '
        f"WHEN {FINISHED} AND {SUBSCRIBED.format(row='NEW', event='sync.finished')} "
        "BEGIN INSERT INTO webhook_outbox (location_id, event, subject, created_at) "
        "VALUES (NEW.location_id, 'sync.finished', NEW.id, "
        "COALESCE(NEW.finished_at, NEW.created_at)); END"
    )


async def drop_triggers(apps, schema_editor):
    db = schema_editor.client
    for table in (*(table for table, _ in INSERTS), "sync_runs"):
        await db.execute_script(f'DROP TRIGGER IF EXISTS "webhook_outbox_{table}"'
                                + (f' ON "{table}"' if _postgres(schema_editor) else ""))
    if _postgres(schema_editor):
        await db.execute_script(
            "DROP FUNCTION IF EXISTS webhook_outbox_inserted(); "
            "DROP FUNCTION IF EXISTS webhook_outbox_sync_finished();"
        )


class Migration(migrations.Migration):
    dependencies = [('models', '0013_credit_lots')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=2000)),
                ('events', fields.CharField(max_length=200)),
                ('enabled', fields.BooleanField(default=True)),
                ('disabled_reason', fields.TextField(null=True, unique=False)),
                ('expiring_days_before', fields.IntField(default=7)),
                ('sealed_secret', fields.TextField(unique=False)),
                ('consecutive_failures', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_endpoints', 'app': 'models', 'unique_together': (('location_id', 'url'),), 'indexes': [Index(fields=['location_id', 'enabled'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.ForeignKeyField('models.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('event', fields.CharField(max_length=30)),
                ('message_id', fields.CharField(unique=True, max_length=40)),
                ('body', fields.TextField(unique=False)),
                ('status', fields.CharField(default='PENDING', max_length=10)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status_code', fields.IntField(null=True)),
                ('last_latency_ms', fields.IntField(null=True)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_deliveries', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['endpoint_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookOutbox',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('event', fields.CharField(max_length=30)),
                ('subject', fields.CharField(max_length=40)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_outbox', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(add_triggers, drop_triggers),
    ]
