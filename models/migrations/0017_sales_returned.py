"""What refunds reversed of a sale's credits and online promotions, kept on the sale.

Written by hand, as `tortoise makemigrations` would, with a step that fills the new columns:

- `checkouts.credits_used_returned` and `checkouts.promotions_returned`: each refund adds its
  share of the sale's credits used and of its online promotions (`domain.refunds.share_of`), as
  `group_discount_returned` already had the group discount's. The owner's discount-cost and
  top-customer reports count a partly refunded sale at what is left of it.
- Filled for the sales of the release before: a sale refunded whole returned all of both; a
  partly refunded sale what `domain.refunds.reversed_so_far` gives for the quantities refunded
  so far (the shares of its refunds add up to exactly that). Other sales returned nothing.

Nothing else is rewritten: every row, balance and entry stays as it was.
"""

import json

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from domain.checkouts import lines_of
from domain.refunds import SaleFigures, reversed_so_far

_WHOLE = """
UPDATE checkouts SET credits_used_returned = credits_used,
    promotions_returned = discount_total - group_discount - credits_used
WHERE status = 'REFUNDED'"""

_PARTLY = """
SELECT id, lines, subtotal, discount_total, group_discount, credits_used, cashback_granted,
    refunded_quantities
FROM checkouts WHERE status = 'PARTIALLY_REFUNDED'"""


def _loaded(value):
    return json.loads(value) if isinstance(value, str | bytes) else value


async def fill_returned(apps, schema_editor):
    db = schema_editor.client
    postgres = db.capabilities.dialect == "postgres"
    await db.execute_query(_WHOLE)
    _, rows = await db.execute_query(_PARTLY)
    update = (
        "UPDATE checkouts SET credits_used_returned = {}, promotions_returned = {} WHERE id = {}"
    ).format(*(("$1", "$2", "$3") if postgres else ("?", "?", "?")))
    for row in rows:
        sale = SaleFigures(
            lines=lines_of(_loaded(row["lines"])),
            credits_used=int(row["credits_used"]),
            cashback_granted=int(row["cashback_granted"]),
            group_discount=int(row["group_discount"]),
            promotions=int(row["discount_total"] - row["group_discount"] - row["credits_used"]),
        )
        so_far = reversed_so_far(sale, [int(q) for q in _loaded(row["refunded_quantities"])])
        await db.execute_query(update, [so_far.credits, so_far.promotions, row["id"]])


async def nothing(apps, schema_editor):
    """The columns go with the fields."""


class Migration(migrations.Migration):
    dependencies = [('models', '0016_expiring_events')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Checkout',
            name='credits_used_returned',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Checkout',
            name='promotions_returned',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.RunPython(fill_returned, nothing),
    ]
