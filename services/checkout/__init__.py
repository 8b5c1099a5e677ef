"""Checkout: quote a bill, commit it, refund it, and read the history.

Quote and commit run the till's path in three steps, as Saleor's `checkout/fetch.py` and
`checkout/base_calculations.py` do:

1. Snapshot read (`snapshot.read_snapshot`): the request, parsed once (`request`: the bill as
   `domain.pricing.Bill`, and who it names), then one frozen `Snapshot` of domain values: the
   customer with its groups, balance and today's usage of the daily discount limit (one
   statement), and the synced offers of its groups from the one typed, per-process cache
   `Runtime.mirrors` (`services.offers`), current while the sync version read with the
   customer holds. It never calls an upstream.
2. Price: `domain.pricing.price(bill, snapshot.context(channel))`, pure.
3. Write (commit only, `sale`): in the transaction whose first statement held the customer,
   the idempotency key, the checkout (with the key that committed it), the credits used (a
   REDEEM entry that the database refuses rather than let a balance fall below zero) and the
   cashback: at once (a CASHBACK entry, netted against what the customer owes), or held for
   the group's `cashback_hold_days` (no entry; `customers.cashback_held` and the checkout's
   `cashback_held` until `release_held_cashback` writes its CASHBACK_RELEASE). With
   `expected_total`, a different price raises `QuoteChanged` carrying the fresh quote, and
   nothing is written.

A key sells only on its channels (`Principal.may_sell`): a quote or commit for another is
FORBIDDEN. A card code that no customer holds is CARD_NOT_FOUND, so that the cashier rescans; a
card whose last valid day is before the location's business date is CARD_EXPIRED, and nothing
is applied; a commit names its customer (by id or card), since a sale without one changes
nothing here. Promotional credits apply only on the location's credit channels
(`Location.credit_channels`, read with the customer on every bill); a GoPOS group's daily limit
counts only the discounts granted through that group (`checkouts.discount_reference`).

A refund (`refund`) names lines and quantities of the sale, or takes all that is left, and
reverses its share of the sale by the cumulative largest-remainder rule of `domain.refunds`; a
sale's refunds claim their numbers one after the other (`models.refunds`). Commits, refunds and
cashback releases (`release`) of one customer run one after the other: each holds the customer
first, through the one function `hold.hold_customer`, and prices or reverses against the balance
and usage it then changes.

Every wallet entry a checkout writes has the checkout's id as its source id (`entries`).
Idempotency keys share the one `idempotency_keys` table with the wallet's keyed writes
(`services.idempotency`): the same key and request answer with the same checkout (or refund);
concurrent duplicates meet on the key's unique index. The history (`views`) reads a checkout,
and the location's list, newest first.

Quote, commit, refund and release reach their storage only through `Runtime.stores`
(`services.stores`): the SQL modules in production, the in-memory stores of `tests/memory/` in
the rule tests (`tests/test_checkout_rules.py`), which run with no database.
"""

from services.checkout.entries import FIRST_REFUND
from services.checkout.hold import hold_customer
from services.checkout.refund import REFUND_KEY, refund
from services.checkout.release import release_held_cashback
from services.checkout.request import KEY_FIELD, CheckoutRequest
from services.checkout.sale import CHECKOUT_KEY, QuoteChanged, commit, quote
from services.checkout.snapshot import Snapshot, read_snapshot
from services.checkout.views import (
    STATUSES,
    CheckoutFilter,
    CheckoutView,
    QuoteResult,
    Refunded,
    RefundView,
    get_checkout,
    list_checkouts,
    refunds_of,
)

__all__ = [
    "CHECKOUT_KEY",
    "FIRST_REFUND",
    "KEY_FIELD",
    "REFUND_KEY",
    "STATUSES",
    "CheckoutFilter",
    "CheckoutRequest",
    "CheckoutView",
    "QuoteChanged",
    "QuoteResult",
    "RefundView",
    "Refunded",
    "Snapshot",
    "commit",
    "get_checkout",
    "hold_customer",
    "list_checkouts",
    "quote",
    "read_snapshot",
    "refund",
    "refunds_of",
    "release_held_cashback",
]
