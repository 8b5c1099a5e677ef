"""`credits.expiring`: per webhook endpoint, the last local day notified and when the next is due.

Written by hand, as `tortoise makemigrations` would, with a step that fills the new instant:

- `webhook_endpoints.expiring_notified_on` (a date, none yet) and `expiring_due_at` (an
  instant, indexed): the periodic check asks for the endpoints whose next day is due with one
  look-up on the index, and advances both with a conditional UPDATE in the transaction that
  writes the day's deliveries (`services.webhooks.expiring`).
- Existing endpoints are due from the migration's instant: their first day notified is the
  day the migration ran (no notices for the days before it).

Nothing else is rewritten: every row, balance and entry stays as it was.
"""

from datetime import UTC, datetime

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


async def due_from_now(apps, schema_editor):
    db = schema_editor.client
    postgres = db.capabilities.dialect == "postgres"
    now = datetime.now(UTC)
    if postgres:
        await db.execute_query("UPDATE webhook_endpoints SET expiring_due_at = $1", [now])
    else:  # stored as Tortoise stores an instant on SQLite
        await db.execute_query("UPDATE webhook_endpoints SET expiring_due_at = ?", [str(now)])


async def nothing(apps, schema_editor):
    return None


class Migration(migrations.Migration):
    dependencies = [("models", "0015_reports")]

    initial = False

    operations = [
        ops.AddField(
            model_name="WebhookEndpoint",
            name="expiring_notified_on",
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name="WebhookEndpoint",
            name="expiring_due_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name="WebhookEndpoint",
            index=Index(fields=["expiring_due_at"]),
        ),
        ops.RunPython(due_from_now, nothing),
    ]
