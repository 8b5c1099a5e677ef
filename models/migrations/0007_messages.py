"""Messages in the reader's language: a location's language, and stored texts as message ids.

- `locations.language`: "pl" for a location selling in PLN, else "en".
- The wallet entries the system wrote with an English description ("Credits used at checkout",
  "Cashback", ...) get the message id of that description instead ("entry.redeem", ...), which is
  rendered in the reader's language. Only entries of the kind that sentence was written for are
  changed: a manager's ADD described "Cashback" keeps its text.
- The errors of wallet operations, schedule runs and sync runs are stored as a message (JSON:
  id and parameters). Errors the previous releases wrote in English are turned into their
  message where the sentence is known; any other text is kept as the message "text.legacy"
  carrying it, as it was written.
"""

import json
import re

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# (kind, the English description written by the previous releases, its message id)
DESCRIPTIONS = (
    ("REDEEM", "Credits used at checkout", "entry.redeem"),
    ("CASHBACK", "Cashback", "entry.cashback"),
    ("CASHBACK_RELEASE", "Cashback released", "entry.cashback_released"),
    ("CASHBACK_REVERSAL", "Cashback reversed", "entry.cashback_reversed"),
    ("REFUND", "Checkout refunded", "entry.checkout_refunded"),
    ("CLAWBACK", "Owed cashback paid off", "entry.clawback"),
)

# The English errors of the previous releases: pattern, message id, parameter names in order.
ERRORS = (
    (r"Failed after (\d+) attempts?; the server log has the details\.", "job.failed", ("count",)),
    (
        r"Attempt (\d+) of (\d+) failed and will be retried; the server log has the details\.",
        "job.attempt_failed",
        ("attempt", "count"),
    ),
    (
        r"Stopped (\d+) times? without finishing \(the worker running it died\)\.",
        "job.died",
        ("count",),
    ),
    (
        r"Attempt (\d+) of (\d+) stopped without finishing \(the worker running it died\) and "
        r"will be resumed\.",
        "job.attempt_died",
        ("attempt", "count"),
    ),
    (
        r"A balance would exceed the maximum of (\S+) (\w+); customers not yet credited were "
        r"left unchanged\.",
        "credit.balance_overflow",
        ("maximum", "currency"),
    ),
    (r"(GoPOS|GoOrder) is not configured for this location\.", "sync.not_configured", ("upstream",)),
)
ERROR_TABLES = ("wallet_operations", "schedule_runs", "sync_runs")


def stored_error(text):
    """The message a stored English error becomes, encoded as `domain.messages.encode` does."""
    if text.startswith("{"):
        try:
            if isinstance(json.loads(text).get("id"), str):
                return text  # already a message
        except (ValueError, AttributeError):
            pass
    for pattern, message_id, names in ERRORS:
        found = re.fullmatch(pattern, text)
        if found:
            return _encoded(message_id, dict(zip(names, found.groups(), strict=True)))
    return _encoded("text.legacy", {"text": text})


def _encoded(message_id, params):
    return json.dumps({"id": message_id, "params": params}, ensure_ascii=False, separators=(",", ":"))


def _placeholders(schema_editor, count):
    if schema_editor.client.capabilities.dialect == "postgres":
        return [f"${n}" for n in range(1, count + 1)]
    return ["?"] * count


async def forward(apps, schema_editor):
    db = schema_editor.client
    await db.execute_query("UPDATE \"locations\" SET \"language\" = 'en' WHERE \"currency\" <> 'PLN'")
    await _describe(schema_editor, forward=True)
    error, row_id = _placeholders(schema_editor, 2)
    for table in ERROR_TABLES:
        _, rows = await db.execute_query(f'SELECT "id", "error" FROM "{table}" WHERE "error" IS NOT NULL')
        for row in rows:
            stored = stored_error(row["error"])
            if stored != row["error"]:
                await db.execute_query(
                    f'UPDATE "{table}" SET "error" = {error} WHERE "id" = {row_id}',
                    [stored, row["id"]],
                )


async def backward(apps, schema_editor):
    await _describe(schema_editor, forward=False)


async def _describe(schema_editor, *, forward):
    """System descriptions to message ids (`forward`), or back to their English sentences."""
    new, kind, old = _placeholders(schema_editor, 3)
    for entry_kind, sentence, message_id in DESCRIPTIONS:
        values = [message_id, entry_kind, sentence] if forward else [sentence, entry_kind, message_id]
        await schema_editor.client.execute_query(
            f'UPDATE "wallet_entries" SET "description" = {new} '
            f'WHERE "kind" = {kind} AND "description" = {old}',
            values,
        )


class Migration(migrations.Migration):
    dependencies = [("models", "0006_cashback_channels_refunds")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Location",
            name="language",
            field=fields.CharField(default="pl", db_default="pl", max_length=8),
        ),
        ops.RunPython(forward, backward),
    ]
