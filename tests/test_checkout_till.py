"""The till's rules on SQLite and PostgreSQL: an expired card is refused, a GoPOS group's daily
limit counts only the discounts granted through that group, and a location switches its
promotional credits on or off per channel.

The shop is `test_checkout_service`'s, with two changes: the GoPOS group "staly-klient" has a
daily limit of 30.00 (10% off, 5.00 off), and the CRM group "VIP" links to the GoPOS group "vip"
(50.00 off, no limit).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from domain.bill import SalesChannel
from domain.errors import DomainError
from domain.pricing import DailyLimitSummary, DiscountKind, Quote
from domain.requests import CardInput, CustomerInput
from domain.sync import DiscountType, MirrorDiscount, MirrorPosGroup
from models.mirror import upsert_pos_discounts, upsert_pos_groups
from models.tables.checkouts import Checkout
from services import access, checkout, customers, locations
from services.checkout import CheckoutRequest
from services.locations import SettingsChange
from services.runtime import Runtime
from tests.english import en, texts
from tests.helpers import Clock
from tests.test_checkout_service import (
    HUNDRED,
    MORNING,
    SYNCED_AT,
    Shop,
    add_credits,
    balance_of,
    bill,
    entries_of,
    errors_of,
    for_customer,
    new_customer,
    open_shop,
    written,
)

POS, KIOSK, ONLINE = SalesChannel.POS, SalesChannel.KIOSK, SalesChannel.ONLINE
VIP_DISCOUNT = "pos-discount:v50"


@pytest.fixture
async def shop(runtime: Runtime, clock: Clock) -> Shop:
    clock.now = MORNING
    opened = await open_shop()
    location_id = opened.location_id
    await upsert_pos_discounts(
        location_id,
        [MirrorDiscount("v50", "VIP 50 zł", DiscountType.AMOUNT, 5000, True)],
        SYNCED_AT,
    )
    await upsert_pos_groups(
        location_id,
        [
            MirrorPosGroup("g1", "Stali klienci", "Staly-Klient", 3000, ("d10", "d5", "d50")),
            MirrorPosGroup("g2", "VIP", "vip", None, ("v50",)),
        ],
        SYNCED_AT,
    )
    return opened


async def carded(shop: Shop, code: str, expires_on: date | None, *group_ids: str) -> UUID:
    created = await customers.create_customer(
        shop.location_id,
        CustomerInput(
            first_name="Ola",
            cards=(CardInput(code, expires_on=expires_on),),
            group_ids=group_ids or None,
        ),
    )
    return created.id


def group_discounts(of: Quote | checkout.CheckoutView) -> list[tuple[str, int, str | None]]:
    """The group discount of a quote or a sale: (id, amount, reference)."""
    kind = DiscountKind.GROUP_DISCOUNT
    return [(d.id, d.amount, d.reference) for d in of.discounts if d.kind is kind]


# ------------------------------------------------------------------------------- card expiry


async def test_an_expired_card_is_refused_at_quote_and_commit_and_nothing_is_applied(
    runtime: Runtime, shop: Shop
) -> None:
    # given a regular customer with credits whose card's last day was yesterday in Warsaw
    customer_id = await carded(shop, "OLD-1", date(2026, 3, 9), shop.regular_group)
    await add_credits(runtime, shop, customer_id, "20.00")
    before = await written(shop.location_id)
    request = CheckoutRequest(bill(*HUNDRED), card_code="OLD-1")

    # when the card is scanned for a quote and for a commit
    with pytest.raises(DomainError) as quoted:
        await checkout.quote(runtime, shop.principal, request)
    with pytest.raises(DomainError) as committed:
        await checkout.commit(runtime, shop.principal, request, idempotency_key="k-old")

    # then both are CARD_EXPIRED on the card, and nothing was written
    assert errors_of(quoted.value) == [("CARD_EXPIRED", "input.cardCode")]
    assert errors_of(committed.value) == [("CARD_EXPIRED", "input.cardCode")]
    assert en(quoted.value.errors[0].message) == (
        "This card expired on 2026-03-09: ask for another card, or look the customer up."
    )
    assert await written(shop.location_id) == before
    assert await balance_of(customer_id) == 2000


async def test_a_card_is_valid_through_its_last_day_in_the_locations_time_zone(
    runtime: Runtime, shop: Shop, clock: Clock
) -> None:
    customer_id = await carded(shop, "LAST-1", date(2026, 3, 9), shop.regular_group)
    request = CheckoutRequest(bill(*HUNDRED), card_code="LAST-1")

    # 23:30 in Warsaw on its last day: still valid
    clock.now = datetime(2026, 3, 9, 22, 30, tzinfo=UTC)
    valid = await checkout.quote(runtime, shop.principal, request)
    # 00:30 in Warsaw the next day, while still 9 March in UTC: expired
    clock.now = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    with pytest.raises(DomainError) as expired:
        await checkout.quote(runtime, shop.principal, request)

    assert valid.customer is not None
    assert valid.customer.id == customer_id
    assert valid.quote.total == 9000
    assert errors_of(expired.value) == [("CARD_EXPIRED", "input.cardCode")]


async def test_a_card_without_an_expiry_date_and_a_customer_named_by_id_are_priced(
    runtime: Runtime, shop: Shop
) -> None:
    await carded(shop, "NEVER-1", None, shop.regular_group)
    expired_holder = await carded(shop, "OLD-2", date(2026, 1, 31), shop.regular_group)

    by_card = await checkout.quote(
        runtime, shop.principal, CheckoutRequest(bill(*HUNDRED), card_code="NEVER-1")
    )
    by_id = await checkout.quote(runtime, shop.principal, for_customer(expired_holder, *HUNDRED))

    assert (by_card.quote.total, by_id.quote.total) == (9000, 9000)


# ------------------------------------------------------------------------ per-group limits


async def test_a_discount_through_vip_does_not_use_the_regular_groups_limit(
    runtime: Runtime, shop: Shop
) -> None:
    # given a customer in VIP (50.00 off, no limit) and Stały klient (10%, 30.00 a day)
    customer_id = await new_customer(shop, shop.vip_group, shop.regular_group)

    # when a bill of 100.00 is committed: VIP's 50.00 applies
    first = await checkout.commit(
        runtime, shop.principal, for_customer(customer_id, *HUNDRED), idempotency_key="k-1"
    )
    after_vip = await checkout.quote(runtime, shop.principal, for_customer(customer_id, *HUNDRED))
    # and one through Stały klient, the cashier removing VIP's discount
    excluded = for_customer(customer_id, *HUNDRED, excluded=(VIP_DISCOUNT,))
    second = await checkout.commit(runtime, shop.principal, excluded, idempotency_key="k-2")
    after_regular = await checkout.quote(runtime, shop.principal, excluded)

    # then Stały klient's limit counts only the 10.00 granted through it
    assert group_discounts(first) == [(VIP_DISCOUNT, 5000, "vip")]
    assert group_discounts(second) == [("pos-discount:d10", 1000, "staly-klient")]
    regular = DailyLimitSummary("staly-klient", 3000, 0, 3000)
    assert (after_vip.quote.daily_limit, after_vip.quote.daily_limits) == (None, (regular,))
    assert group_discounts(after_vip.quote) == [(VIP_DISCOUNT, 5000, "vip")]
    used = DailyLimitSummary("staly-klient", 3000, 1000, 2000)
    assert (after_regular.quote.daily_limit, after_regular.quote.daily_limits) == (used, (used,))
    rows = await Checkout.filter(customer_id=customer_id).order_by("created_at", "id")
    assert sorted((r.discount_reference, r.group_discount) for r in rows) == [
        ("staly-klient", 1000),
        ("vip", 5000),
    ]


async def test_an_exhausted_group_limit_leaves_the_other_groups_discount(
    runtime: Runtime, shop: Shop
) -> None:
    # given 30.00 used through Stały klient today (three bills of 100.00, VIP removed)
    customer_id = await new_customer(shop, shop.vip_group, shop.regular_group)
    excluded = for_customer(customer_id, *HUNDRED, excluded=(VIP_DISCOUNT,))
    for n in range(3):
        await checkout.commit(runtime, shop.principal, excluded, idempotency_key=f"k-{n}")

    # when the next bills are quoted, with and without VIP's discount
    regular_only = await checkout.quote(runtime, shop.principal, excluded)
    both = await checkout.quote(runtime, shop.principal, for_customer(customer_id, *HUNDRED))

    # then Stały klient gives nothing more, and VIP's discount is untouched by its limit
    exhausted = DailyLimitSummary("staly-klient", 3000, 3000, 0)
    assert group_discounts(regular_only.quote) == []
    assert regular_only.quote.daily_limit == exhausted
    assert group_discounts(both.quote) == [(VIP_DISCOUNT, 5000, "vip")]
    assert both.quote.daily_limits == (exhausted,)


# ------------------------------------------------------------------------ credit channels


async def test_credits_switched_off_for_a_channel_apply_nowhere_there_at_once(
    runtime: Runtime, shop: Shop
) -> None:
    # given a customer in no group with 20.00, quoted at the kiosk (the caches are warm)
    customer_id = await new_customer(shop)
    await add_credits(runtime, shop, customer_id, "20.00")
    kiosk = for_customer(customer_id, ("1", "30.00"), channel=KIOSK)
    warm = await checkout.quote(runtime, shop.principal, kiosk)

    # when the location keeps credits for POS and ONLINE only
    updated = await locations.update_settings(
        shop.location_id, SettingsChange(credit_channels=[ONLINE, POS])
    )

    # then the next kiosk quote and commit use none, and say why; the till still does
    cold = await checkout.quote(runtime, shop.principal, kiosk)
    sale = await checkout.commit(runtime, shop.principal, kiosk, idempotency_key="k-kiosk")
    till = await checkout.quote(runtime, shop.principal, for_customer(customer_id, ("1", "30.00")))
    assert updated.credit_channels == (POS, ONLINE)
    assert (warm.quote.credits_used, warm.quote.total) == (2000, 1000)
    assert (cold.quote.credits_used, cold.quote.total) == (0, 3000)
    assert texts(cold.quote.messages) == (
        "No promotional credits: this location does not use them on the KIOSK channel.",
    )
    assert (sale.credits_used, sale.total) == (0, 3000)
    assert (till.quote.credits_used, till.quote.total) == (2000, 1000)
    assert [e.kind for e in await entries_of(customer_id)] == ["ADD"]
    assert await balance_of(customer_id) == 2000


async def test_credit_channels_are_set_once_each_and_an_empty_list_switches_them_off(
    runtime: Runtime, shop: Shop
) -> None:
    customer_id = await new_customer(shop)
    await add_credits(runtime, shop, customer_id, "20.00")
    location = await access.get_location(shop.location_id)
    assert location.credit_channels == (POS, KIOSK, ONLINE)  # the default

    # a channel named twice is refused, and nothing changes
    with pytest.raises(DomainError) as twice:
        await locations.update_settings(
            shop.location_id, SettingsChange(credit_channels=[POS, KIOSK, POS])
        )
    assert [(e.code.value, e.field, en(e.message)) for e in twice.value.errors] == [
        ("INVALID", "input.creditChannels", "POS is named twice: name each channel at most once.")
    ]
    assert (await access.get_location(shop.location_id)).credit_channels == (POS, KIOSK, ONLINE)

    # no setting given changes nothing; setting the same value twice is as once
    unchanged = await locations.update_settings(shop.location_id, SettingsChange())
    once = await locations.update_settings(
        shop.location_id, SettingsChange(credit_channels=[KIOSK])
    )
    again = await locations.update_settings(
        shop.location_id, SettingsChange(credit_channels=[KIOSK])
    )
    assert unchanged.credit_channels == (POS, KIOSK, ONLINE)
    assert once == again
    assert once.credit_channels == (KIOSK,)

    # an empty list switches credits off on every channel
    off = await locations.update_settings(shop.location_id, SettingsChange(credit_channels=[]))
    quoted = [
        await checkout.quote(
            runtime, shop.principal, for_customer(customer_id, ("1", "5.00"), channel=c)
        )
        for c in (POS, KIOSK, ONLINE)
    ]
    assert off.credit_channels == ()
    assert [q.quote.credits_used for q in quoted] == [0, 0, 0]


async def test_a_locations_credit_channels_are_its_own(runtime: Runtime, shop: Shop) -> None:
    other = await open_shop("Elsewhere")
    customer_id = await new_customer(other)
    await add_credits(runtime, other, customer_id, "20.00")

    await locations.update_settings(shop.location_id, SettingsChange(credit_channels=[]))

    there = await checkout.quote(runtime, other.principal, for_customer(customer_id, *HUNDRED))
    assert (await access.get_location(other.location_id)).credit_channels == (POS, KIOSK, ONLINE)
    assert there.quote.credits_used == 2000
