"""The till's snapshot as data: what `Snapshot.context` gives pricing on each channel, and the
one place the checkout holds a customer. No database."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from domain import entities
from domain.pricing import CustomerPricing, PosGroupOffer, PricingContext, PromotionOffer
from domain.pricing import SalesChannel as Channel
from domain.sync import MirrorPromotion, PromotionType
from services.checkout import Snapshot

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOCATION = UUID(int=1)
POS_OFFER = PosGroupOffer("staly-klient", 5_000, ())
PROMOTION = PromotionOffer(
    "vip",
    MirrorPromotion("p1", "VIP", "VIP", PromotionType.ORDER_PERCENT, "AUTO", 1_000, None, True),
)


def _customer(*groups: str) -> entities.CustomerView:
    customer = entities.Customer(
        UUID(int=2), LOCATION, "Ala", None, None, None, None, 700, None, AT, AT
    )
    return entities.CustomerView(
        customer,
        tuple(
            entities.CustomerGroup(UUID(int=10 + n), LOCATION, name, name, None, None, AT)
            for n, name in enumerate(groups)
        ),
    )


def test_a_bill_for_no_one_is_priced_without_discounts_or_credits() -> None:
    assert Snapshot(2).context(Channel.POS) == PricingContext(2, None)


def test_a_till_gets_the_gopos_offers_and_the_online_store_the_goorder_promotions() -> None:
    # given a customer in two groups, with today's usage and both kinds of offers
    used = {"staly-klient": 1_200}
    snapshot = Snapshot(2, _customer("staly-klient", "vip"), used, (POS_OFFER,), (PROMOTION,))

    # then each channel prices with its own offers, the balance and the usage
    for channel in (Channel.POS, Channel.KIOSK):
        assert snapshot.context(channel) == PricingContext(
            2, CustomerPricing(700, used, (POS_OFFER,), (), has_groups=True)
        )
    assert snapshot.context(Channel.ONLINE) == PricingContext(
        2, CustomerPricing(700, used, (), (PROMOTION,), has_groups=True)
    )


def test_a_customer_without_groups_has_no_offers() -> None:
    assert Snapshot(0, _customer()).context(Channel.POS) == PricingContext(
        0, CustomerPricing(700, {}, (), (), has_groups=False)
    )


def test_credits_are_on_only_on_the_locations_credit_channels() -> None:
    snapshot = Snapshot(2, _customer(), credit_channels=frozenset({Channel.POS, Channel.ONLINE}))

    on = {c: snapshot.context(c).customer for c in (Channel.POS, Channel.KIOSK, Channel.ONLINE)}

    assert {c: p.credits_on for c, p in on.items() if p is not None} == {
        Channel.POS: True,
        Channel.KIOSK: False,
        Channel.ONLINE: True,
    }


def test_the_checkout_holds_a_customer_only_through_hold_customer() -> None:
    # given every service module but the one that owns the hold
    services = Path(__file__).parent.parent / "services"
    modules = [p for p in services.rglob("*.py") if p != services / "checkout" / "hold.py"]

    # then none calls the models' holds itself: lock_customer not at all, and the pricing
    # statement never with a `hold`
    calls = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name == "lock_customer" or (
                name == "customer_for_pricing" and any(k.arg == "hold" for k in node.keywords)
            ):
                calls.append(f"{path.relative_to(services)}: {name}")
    assert calls == []
