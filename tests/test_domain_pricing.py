"""Checkout pricing as data in, data out: rounding, allocation, which discount applies, the
daily limit, credits, the messages that say why something did not apply, and currencies. Pure:
no database. (Parsing the bill is tests/test_domain_bill.py's.)"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from domain.bill import Bill, BillInput, Line, SalesChannel, parse_bill
from domain.errors import DomainError
from domain.messages import msg
from domain.pricing import (
    AppliedDiscount,
    CreditsSummary,
    CustomerPricing,
    DailyLimitSummary,
    DiscountKind,
    PosGroupOffer,
    PricingContext,
    PromotionOffer,
    Quote,
    QuoteLine,
    allocate,
    cashback,
    price,
)
from domain.sync import DiscountType, MirrorDiscount, MirrorPromotion, PromotionType
from tests.english import en, texts
from tests.test_domain_bill import item

POS = SalesChannel.POS
ONLINE = SalesChannel.ONLINE
KIOSK = SalesChannel.KIOSK
GROUP = DiscountKind.GROUP_DISCOUNT
PROMOTION = DiscountKind.PROMOTION
CREDITS = DiscountKind.PROMOTIONAL_CREDITS
REGULAR = "staly-klient"


def bill(
    *prices: str,
    channel: SalesChannel = POS,
    minor_units: int = 2,
    use_credits: bool = True,
    max_credits: str | None = None,
    excluded: tuple[str, ...] = (),
) -> Bill:
    """A parsed bill with one line of quantity 1 per price (products p0, p1, ...)."""
    lines = [item(p, product_id=f"p{i}") for i, p in enumerate(prices or ("100.00",))]
    raw = BillInput(
        channel,
        lines,
        use_credits,
        None if max_credits is None else Decimal(max_credits),
        excluded,
    )
    return parse_bill(raw, minor_units)


def percent(
    external_id: str, percent_: str, name: str = "", enabled: bool = True
) -> MirrorDiscount:
    points = int(Decimal(percent_) * 100)
    return MirrorDiscount(
        external_id, name or f"{percent_}%", DiscountType.PERCENT, points, enabled
    )


def money_off(external_id: str, minor: int, name: str = "") -> MirrorDiscount:
    return MirrorDiscount(external_id, name or f"-{minor}", DiscountType.AMOUNT, minor, True)


def pos_group(
    *discounts: MirrorDiscount, reference: str = "staly-klient", limit: int | None = None
) -> PosGroupOffer:
    return PosGroupOffer(reference, limit, discounts)


def promotion(
    external_id: str,
    value: int,
    *,
    name: str = "Summer",
    kind: PromotionType = PromotionType.ORDER_PERCENT,
    min_basket: int | None = None,
    active: bool = True,
    reference: str = "online",
) -> PromotionOffer:
    promo = MirrorPromotion(
        external_id, name, reference, kind, "AUTOMATIC", value, min_basket, active
    )
    return PromotionOffer(reference, promo)


def customer(
    *groups: PosGroupOffer,
    balance: int = 0,
    used: int | dict[str, int] = 0,
    promotions: tuple[PromotionOffer, ...] = (),
    has_groups: bool = True,
    minor_units: int = 2,
    credits_on: bool = True,
) -> PricingContext:
    """The customer's pricing; `used`: today's usage per group reference, or of "staly-klient"."""
    usage = used if isinstance(used, dict) else {REGULAR: used}
    pricing = CustomerPricing(balance, usage, groups, promotions, has_groups, credits_on)
    return PricingContext(minor_units, pricing)


def summary(quote: Quote) -> tuple[object, ...]:
    """What a till shows: each discount (id, amount), the total, and the messages."""
    return (
        [(d.id, d.amount) for d in quote.discounts],
        quote.total,
        list(texts(quote.messages)),
    )


NO_CREDITS = "No promotional credits: the balance is 0.00."

# ----------------------------------------------------------------------------- rounding


def test_a_percentage_is_taken_of_the_bill_subtotal_and_rounded_once() -> None:
    # Three lines of 0.05 at 10%: 0.015 → 0.02 for the bill, not 3 × 0.005 → 0.03.
    quote = price(bill("0.05", "0.05", "0.05"), customer(pos_group(percent("7", "10"))))

    assert quote.subtotal == 15
    assert quote.discounts == (
        AppliedDiscount("pos-discount:7", GROUP, "10%", 2, "staly-klient", removable=True),
    )
    assert [(line.discount, line.total) for line in quote.lines] == [(1, 4), (1, 4), (0, 5)]
    assert (quote.discount_total, quote.total) == (2, 13)


# ----------------------------------------------------------------------------- allocation


@pytest.mark.parametrize(
    ("amount", "weights", "shares"),
    [
        pytest.param(0, [100, 200, 300], [0, 0, 0], id="nothing"),
        pytest.param(10, [1, 1, 1], [4, 3, 3], id="one left over goes first"),
        pytest.param(100, [1, 1, 1], [34, 33, 33], id="thirds"),
        pytest.param(2, [5, 5, 5], [1, 1, 0], id="two left over, line order"),
        pytest.param(1, [1, 2], [0, 1], id="largest remainder before line order"),
        pytest.param(5, [2, 3, 5], [1, 2, 2], id="tie of remainders, earlier line"),
        pytest.param(7, [1, 2, 4], [1, 2, 4], id="exact"),
        pytest.param(5, [0, 10, 0], [0, 5, 0], id="free lines get nothing"),
        pytest.param(99, [33, 33, 34], [33, 33, 33], id="whole bill"),
        pytest.param(0, [], [], id="no lines"),
        pytest.param(0, [0, 0], [0, 0], id="nothing over free lines"),
    ],
)
def test_allocate_splits_by_largest_remainder_then_line_order(
    amount: int, weights: list[int], shares: list[int]
) -> None:
    assert allocate(amount, weights) == shares


NEGATIVE = "an amount and its weights are never negative"
OVER_NOTHING = "a non-zero amount cannot be spread over zero weights"


@pytest.mark.parametrize(
    ("amount", "weights", "message"),
    [
        pytest.param(-1, [1], NEGATIVE, id="negative amount"),
        pytest.param(1, [1, -1, 2], NEGATIVE, id="negative weight"),
        pytest.param(1, [0, 0], OVER_NOTHING, id="money over free lines"),
        pytest.param(1, [], OVER_NOTHING, id="money over no lines"),
    ],
)
def test_allocate_refuses_what_cannot_be_split(
    amount: int, weights: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        allocate(amount, weights)


# ----------------------------------------------------------------------------- cashback


@pytest.mark.parametrize(
    ("paid", "basis_points", "granted"),
    [
        pytest.param(10_000, 500, 500, id="5% of 100.00"),
        pytest.param(1, 5_000, 0, id="half a grosz down"),
        pytest.param(3, 1_250, 0, id="0.375 down"),
        pytest.param(333, 150, 4, id="4.995 down"),
        pytest.param(5, 1_000, 0, id="10% of 0.05"),
        pytest.param(100, 1_000, 10, id="10% of 1.00"),
        pytest.param(0, 1_000, 0, id="nothing paid"),
        pytest.param(1_000_000_000, 10_000, 1_000_000_000, id="100% of the maximum"),
    ],
)
def test_cashback_is_rounded_down(paid: int, basis_points: int, granted: int) -> None:
    assert cashback(paid, basis_points) == granted


def test_cashback_refuses_negative_values() -> None:
    with pytest.raises(ValueError, match="never negative"):
        cashback(-1, 500)
    with pytest.raises(ValueError, match="never negative"):
        cashback(100, -1)


# ----------------------------------------------------------------------------- group discounts

TEN = percent("1", "10", "10% stały klient")
FIVE_OFF = money_off("2", 500, "5 zł taniej")


@pytest.mark.parametrize(
    ("quote_of", "expected"),
    [
        pytest.param(
            lambda: price(bill("100.00"), customer(pos_group(TEN, FIVE_OFF))),
            ([("pos-discount:1", 1000)], 9000, [NO_CREDITS]),
            id="10% of 100.00 beats 5.00 off",
        ),
        pytest.param(
            lambda: price(bill("30.00"), customer(pos_group(TEN, FIVE_OFF))),
            ([("pos-discount:2", 500)], 2500, [NO_CREDITS]),
            id="5.00 off beats 10% of 30.00",
        ),
        pytest.param(
            lambda: price(bill("50.00"), customer(pos_group(FIVE_OFF, TEN))),
            ([("pos-discount:1", 500)], 4500, [NO_CREDITS]),
            id="a tie goes to the lower id whatever the order",
        ),
        pytest.param(
            lambda: price(
                bill("100.00", excluded=("pos-discount:1",)),
                customer(pos_group(TEN, FIVE_OFF)),
            ),
            (
                [("pos-discount:2", 500)],
                9500,
                ["Discount “10% stały klient” removed.", NO_CREDITS],
            ),
            id="excluding the best applies the next",
        ),
        pytest.param(
            lambda: price(
                bill("100.00", excluded=("pos-discount:2", "pos-discount:1", "nothing")),
                customer(pos_group(TEN, FIVE_OFF)),
            ),
            (
                [],
                10000,
                [
                    "Discount “10% stały klient” removed.",
                    "Discount “5 zł taniej” removed.",
                    NO_CREDITS,
                ],
            ),
            id="excluding every one applies none",
        ),
        pytest.param(
            lambda: price(
                bill("100.00"), customer(pos_group(percent("9", "50", enabled=False), FIVE_OFF))
            ),
            ([("pos-discount:2", 500)], 9500, [NO_CREDITS]),
            id="a disabled discount never applies",
        ),
        pytest.param(
            lambda: price(bill("20.00"), customer(pos_group(money_off("3", 5000)))),
            ([("pos-discount:3", 2000)], 0, [NO_CREDITS]),
            id="money off is capped at the subtotal",
        ),
        pytest.param(
            lambda: price(bill("20.00"), customer(pos_group(percent("4", "100")))),
            ([("pos-discount:4", 2000)], 0, [NO_CREDITS]),
            id="100 percent",
        ),
        pytest.param(
            lambda: price(bill("0.00"), customer(pos_group(TEN))),
            ([], 0, [NO_CREDITS]),
            id="nothing off a free bill",
        ),
        pytest.param(
            lambda: price(
                bill("100.00"),
                customer(
                    pos_group(TEN, reference="a"), pos_group(percent("5", "20"), reference="b")
                ),
            ),
            ([("pos-discount:5", 2000)], 8000, [NO_CREDITS]),
            id="the best across the customer's groups",
        ),
        pytest.param(
            lambda: price(bill("100.00"), customer()),
            (
                [],
                10000,
                [
                    "No group discount: none of the customer's groups is linked to a GoPOS group.",
                    NO_CREDITS,
                ],
            ),
            id="groups but none linked",
        ),
        pytest.param(
            lambda: price(bill("100.00"), customer(has_groups=False)),
            ([], 10000, [NO_CREDITS]),
            id="no groups, nothing to say",
        ),
    ],
)
def test_the_group_discount_worth_most_applies(
    quote_of: Callable[[], Quote], expected: tuple[object, ...]
) -> None:
    assert summary(quote_of()) == expected


def test_one_discount_through_two_groups_takes_the_group_with_room_left() -> None:
    exhausted = pos_group(TEN, reference="vip", limit=1000)
    unlimited = pos_group(TEN, reference="staly-klient")

    quote = price(bill("100.00"), customer(exhausted, unlimited, used={"vip": 1000}))

    assert quote.discounts == (
        AppliedDiscount("pos-discount:1", GROUP, "10% stały klient", 1000, "staly-klient"),
    )
    assert quote.daily_limit is None
    assert texts(quote.messages) == (NO_CREDITS,)


# ----------------------------------------------------------------------------- daily limit

LIMITED = pos_group(TEN, limit=5000)


@pytest.mark.parametrize(
    ("group", "used", "discount", "daily_limit", "messages"),
    [
        pytest.param(
            LIMITED, 0, 3000, DailyLimitSummary(REGULAR, 5000, 0, 5000), [], id="room left"
        ),
        pytest.param(
            LIMITED,
            2000,
            3000,
            DailyLimitSummary(REGULAR, 5000, 2000, 3000),
            [],
            id="exactly enough",
        ),
        pytest.param(
            LIMITED,
            3500,
            1500,
            DailyLimitSummary(REGULAR, 5000, 3500, 1500),
            ["Group discount capped at 15.00: daily discount limit 50.00, 35.00 used today."],
            id="partly used: capped",
        ),
        pytest.param(
            LIMITED,
            5000,
            0,
            DailyLimitSummary(REGULAR, 5000, 5000, 0),
            ["No group discount: the daily discount limit of 50.00 is reached (50.00 used today)."],
            id="exhausted",
        ),
        pytest.param(
            LIMITED,
            6000,
            0,
            DailyLimitSummary(REGULAR, 5000, 6000, 0),
            ["No group discount: the daily discount limit of 50.00 is reached (60.00 used today)."],
            id="over a lowered limit: nothing remains",
        ),
        pytest.param(pos_group(TEN), 9999, 3000, None, [], id="unlimited"),
        pytest.param(
            pos_group(TEN, limit=0),
            0,
            0,
            DailyLimitSummary(REGULAR, 0, 0, 0),
            ["No group discount: the daily discount limit of 0.00 is reached (0.00 used today)."],
            id="a zero limit",
        ),
    ],
)
@pytest.mark.parametrize("channel", [POS, KIOSK])
def test_the_group_discount_is_capped_by_the_daily_limit(
    channel: SalesChannel,
    group: PosGroupOffer,
    used: int,
    discount: int,
    daily_limit: DailyLimitSummary | None,
    messages: list[str],
) -> None:
    quote = price(bill("300.00", channel=channel), customer(group, used=used))

    assert quote.group_discount == discount
    assert quote.total == 30000 - discount
    assert quote.daily_limit == daily_limit
    assert list(texts(quote.messages)) == [*messages, NO_CREDITS]


def test_an_exhausted_limit_lets_a_smaller_unlimited_discount_apply() -> None:
    small = pos_group(percent("8", "5"), reference="zwykly")

    quote = price(bill("100.00"), customer(LIMITED, small, used=5000))

    assert summary(quote) == ([("pos-discount:8", 500)], 9500, [NO_CREDITS])
    assert quote.daily_limit is None


# A VIP group (no limit, 50.00 off) beside "Stały klient" (10%, a limit of 30.00).
VIP = pos_group(money_off("50", 5000, "VIP 50 zł"), reference="vip")
REGULAR_30 = pos_group(TEN, limit=3000)


def test_a_discount_through_an_unlimited_group_leaves_another_groups_limit_untouched() -> None:
    # given 50.00 granted through VIP today, nothing through Stały klient
    context = customer(VIP, REGULAR_30, used={"vip": 5000})

    quote = price(bill("100.00"), context)

    # then VIP's 50.00 applies again, and Stały klient's limit reads nothing used
    assert quote.discounts == (AppliedDiscount("pos-discount:50", GROUP, "VIP 50 zł", 5000, "vip"),)
    assert (quote.discount_reference, quote.daily_limit) == ("vip", None)
    assert quote.daily_limits == (DailyLimitSummary(REGULAR, 3000, 0, 3000),)


def test_a_groups_limit_counts_only_the_discounts_granted_through_it() -> None:
    # given VIP's discount excluded: Stały klient's 10% of 400.00, 25.00 used through it today
    context = customer(VIP, REGULAR_30, used={"vip": 5000, REGULAR: 2500})

    quote = price(bill("400.00", excluded=("pos-discount:50",)), context)

    assert summary(quote)[0] == [("pos-discount:1", 500)]
    assert quote.daily_limit == DailyLimitSummary(REGULAR, 3000, 2500, 500)
    assert quote.daily_limits == (quote.daily_limit,)


def test_a_quote_lists_every_limit_of_the_customers_groups_by_reference() -> None:
    zwykly = pos_group(percent("5", "5"), reference="zwykly", limit=1000)
    context = customer(zwykly, VIP, REGULAR_30, used={"zwykly": 1200, REGULAR: 100})

    quote = price(bill("100.00"), context)

    assert quote.daily_limits == (
        DailyLimitSummary(REGULAR, 3000, 100, 2900),
        DailyLimitSummary("zwykly", 1000, 1200, 0),
    )
    online = price(bill("100.00", channel=ONLINE), customer(promotions=(promotion("p1", 100),)))
    assert online.daily_limits == ()


# ----------------------------------------------------------------------------- channels


@pytest.mark.parametrize(
    ("channel", "discount", "daily_limit"),
    [
        pytest.param(
            POS,
            AppliedDiscount("pos-discount:1", GROUP, "10% stały klient", 1000, "staly-klient"),
            DailyLimitSummary(REGULAR, 5000, 0, 5000),
            id="POS: GoPOS group",
        ),
        pytest.param(
            KIOSK,
            AppliedDiscount("pos-discount:1", GROUP, "10% stały klient", 1000, "staly-klient"),
            DailyLimitSummary(REGULAR, 5000, 0, 5000),
            id="KIOSK: GoPOS group",
        ),
        pytest.param(
            ONLINE,
            AppliedDiscount("promotion:p1", PROMOTION, "Summer", 2000, "online"),
            None,
            id="ONLINE: GoOrder promotion, no limit",
        ),
    ],
)
def test_each_channel_takes_discounts_from_its_own_source(
    channel: SalesChannel, discount: AppliedDiscount, daily_limit: DailyLimitSummary | None
) -> None:
    context = customer(LIMITED, promotions=(promotion("p1", 2000),))

    quote = price(bill("100.00", channel=channel), context)

    assert quote.channel is channel
    assert quote.discounts == (discount,)
    assert quote.daily_limit == daily_limit


@pytest.mark.parametrize(
    ("subtotal", "offers", "expected"),
    [
        pytest.param(
            "80.00",
            (promotion("p1", 1500, min_basket=10000),),
            (
                [],
                8000,
                [
                    "Promotion “Summer” needs a basket of at least 100.00: add 20.00 more.",
                    NO_CREDITS,
                ],
            ),
            id="below the minimum basket",
        ),
        pytest.param(
            "99.99",
            (promotion("p1", 1500, min_basket=10000),),
            (
                [],
                9999,
                [
                    "Promotion “Summer” needs a basket of at least 100.00: add 0.01 more.",
                    NO_CREDITS,
                ],
            ),
            id="one grosz short",
        ),
        pytest.param(
            "100.00",
            (promotion("p1", 1500, min_basket=10000),),
            ([("promotion:p1", 1500)], 8500, [NO_CREDITS]),
            id="at the minimum basket",
        ),
        pytest.param(
            "80.00",
            (
                promotion("p1", 2500, min_basket=10000),
                promotion("p2", 500, name="Always", kind=PromotionType.ORDER_AMOUNT),
            ),
            (
                [("promotion:p2", 500)],
                7500,
                [
                    "Promotion “Summer” needs a basket of at least 100.00: add 20.00 more.",
                    NO_CREDITS,
                ],
            ),
            id="the best eligible one applies",
        ),
        pytest.param(
            "30.00",
            (promotion("p3", 5000, kind=PromotionType.ORDER_AMOUNT),),
            ([("promotion:p3", 3000)], 0, [NO_CREDITS]),
            id="money off capped at the subtotal",
        ),
        pytest.param(
            "100.00",
            (promotion("p1", 9000, active=False), promotion("p2", 1000)),
            ([("promotion:p2", 1000)], 9000, [NO_CREDITS]),
            id="an inactive promotion never applies",
        ),
        pytest.param(
            "100.00",
            (),
            (
                [],
                10000,
                [
                    "No promotion: none of the customer's groups is linked to a GoOrder promotion.",
                    NO_CREDITS,
                ],
            ),
            id="groups but none linked",
        ),
    ],
)
def test_online_promotions(
    subtotal: str, offers: tuple[PromotionOffer, ...], expected: tuple[object, ...]
) -> None:
    quote = price(bill(subtotal, channel=ONLINE), customer(LIMITED, promotions=offers))

    assert summary(quote) == expected
    assert quote.daily_limit is None


def test_an_excluded_promotion_is_removed_and_the_next_applies() -> None:
    offers = (promotion("p1", 2000), promotion("p2", 1000, name="Winter"))

    quote = price(
        bill("100.00", channel=ONLINE, excluded=("promotion:p1",)), customer(promotions=offers)
    )

    assert summary(quote) == (
        [("promotion:p2", 1000)],
        9000,
        ["Promotion “Summer” removed.", NO_CREDITS],
    )


# ----------------------------------------------------------------------------- credits


@pytest.mark.parametrize(
    ("the_bill", "balance", "credits", "total", "messages"),
    [
        pytest.param(
            bill("100.00"),
            50_000,
            CreditsSummary(50_000, 10_000, 40_000),
            0,
            [],
            id="capped by the total",
        ),
        pytest.param(
            bill("100.00"),
            2_000,
            CreditsSummary(2_000, 2_000, 0),
            8_000,
            [],
            id="capped by the balance",
        ),
        pytest.param(
            bill("100.00", max_credits="5.00"),
            2_000,
            CreditsSummary(2_000, 500, 1_500),
            9_500,
            [],
            id="capped by maxCredits",
        ),
        pytest.param(
            bill("100.00", max_credits="500.00"),
            2_000,
            CreditsSummary(2_000, 2_000, 0),
            8_000,
            [],
            id="maxCredits over the balance",
        ),
        pytest.param(
            bill("100.00", use_credits=False),
            2_000,
            CreditsSummary(2_000, 0, 2_000),
            10_000,
            ["Promotional credits removed."],
            id="useCredits false",
        ),
        pytest.param(
            bill("100.00", excluded=("credits",)),
            2_000,
            CreditsSummary(2_000, 0, 2_000),
            10_000,
            ["Promotional credits removed."],
            id="credits excluded",
        ),
        pytest.param(
            bill("100.00"),
            0,
            CreditsSummary(0, 0, 0),
            10_000,
            [NO_CREDITS],
            id="no balance",
        ),
        pytest.param(
            bill("100.00", max_credits="0"),
            2_000,
            CreditsSummary(2_000, 0, 2_000),
            10_000,
            ["Promotional credits not used: at most 0.00 may be used."],
            id="maxCredits zero",
        ),
        pytest.param(
            bill("0.00"),
            2_000,
            CreditsSummary(2_000, 0, 2_000),
            0,
            ["Promotional credits not used: nothing is left to pay."],
            id="nothing to pay",
        ),
    ],
)
def test_credits_apply_up_to_the_total_the_balance_and_max_credits(
    the_bill: Bill, balance: int, credits: CreditsSummary, total: int, messages: list[str]
) -> None:
    quote = price(the_bill, customer(balance=balance, has_groups=False))

    assert quote.credits == credits
    assert quote.credits_used == credits.applied
    assert quote.total == total
    assert list(texts(quote.messages)) == messages
    expected = [("credits", credits.applied)] if credits.applied else []
    assert [(d.id, d.amount) for d in quote.discounts] == expected


def test_credits_apply_after_the_group_discount_over_what_it_left() -> None:
    # 60.00 + 40.00: 10% capped at the 5.00 left today (3.00 + 2.00), then 50.00 of credits
    # over the 57.00 + 38.00 left (30.00 + 20.00).
    quote = price(
        bill("60.00", "40.00"), customer(pos_group(TEN, limit=5000), balance=5000, used=4500)
    )

    assert quote == Quote(
        channel=POS,
        lines=(
            QuoteLine("p0", None, None, 1000, 6000, 6000, 3300, 2700),
            QuoteLine("p1", None, None, 1000, 4000, 4000, 2200, 1800),
        ),
        subtotal=10_000,
        discounts=(
            AppliedDiscount("pos-discount:1", GROUP, "10% stały klient", 500, "staly-klient"),
            AppliedDiscount("credits", CREDITS, "Promotional credits", 5000, None),
        ),
        discount_total=5500,
        total=4500,
        credits=CreditsSummary(5000, 5000, 0),
        daily_limit=DailyLimitSummary(REGULAR, 5000, 4500, 500),
        messages=(msg("quote.discount_capped", amount="5.00", limit="50.00", used="45.00"),),
        daily_limits=(DailyLimitSummary(REGULAR, 5000, 4500, 500),),
    )
    assert quote.group_discount == 500


def test_credits_never_push_a_line_below_zero() -> None:
    # A line that the group discount's remainder emptied takes no credits.
    quote = price(bill("0.01", "0.01", "0.01"), customer(pos_group(money_off("6", 1)), balance=99))

    assert [(line.discount, line.total) for line in quote.lines] == [(1, 0), (1, 0), (1, 0)]
    assert [(d.id, d.amount) for d in quote.discounts] == [("pos-discount:6", 1), ("credits", 2)]


@pytest.mark.parametrize("channel", [POS, KIOSK, ONLINE])
def test_credits_off_on_the_channel_apply_none_and_say_why(channel: SalesChannel) -> None:
    quote = price(
        bill("60.00", channel=channel), customer(balance=5000, has_groups=False, credits_on=False)
    )

    assert quote.credits == CreditsSummary(5000, 0, 5000)
    assert (quote.discounts, quote.total) == ((), 6000)
    assert texts(quote.messages) == (
        f"No promotional credits: this location does not use them on the {channel} channel.",
    )


# ----------------------------------------------------------------------------- no customer


def test_without_a_customer_the_bill_is_priced_without_discounts_or_credits() -> None:
    quote = price(bill("12.34", "0.66"), PricingContext(2))

    assert quote == Quote(
        channel=POS,
        lines=(
            QuoteLine("p0", None, None, 1000, 1234, 1234, 0, 1234),
            QuoteLine("p1", None, None, 1000, 66, 66, 0, 66),
        ),
        subtotal=1300,
        discounts=(),
        discount_total=0,
        total=1300,
        credits=None,
        daily_limit=None,
        messages=(),
    )
    assert (quote.group_discount, quote.credits_used) == (0, 0)


def test_a_negative_balance_or_usage_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="never negative"):
        price(bill(), customer(balance=-1))
    with pytest.raises(ValueError, match="never negative"):
        price(bill(), customer(used=-1))


# ----------------------------------------------------------------------------- currencies


def test_jpy_has_no_decimals() -> None:
    quote = price(
        bill("105", "105", "105", minor_units=0),
        customer(pos_group(percent("1", "10"), limit=20), used=5, minor_units=0, balance=0),
    )

    assert quote.subtotal == 315
    assert [(d.id, d.amount) for d in quote.discounts] == [("pos-discount:1", 15)]
    assert [line.discount for line in quote.lines] == [5, 5, 5]
    assert texts(quote.messages) == (
        "Group discount capped at 15: daily discount limit 20, 5 used today.",
        "No promotional credits: the balance is 0.",
    )


def test_kwd_has_three_decimals() -> None:
    # 10% of 1.005 KWD is 0.1005 → 0.101; then 0.400 of credits.
    quote = price(
        bill("1.005", minor_units=3, max_credits="0.400"),
        customer(pos_group(percent("1", "10")), balance=2_000, minor_units=3),
    )

    assert summary(quote) == ([("pos-discount:1", 101), ("credits", 400)], 504, [])

    empty = price(bill("1.005", minor_units=3), customer(minor_units=3, has_groups=False))
    assert texts(empty.messages) == ("No promotional credits: the balance is 0.000.",)


def test_price_refuses_a_bill_over_the_maximum_built_without_parsing() -> None:
    too_much = Bill(
        POS, (Line("p", None, None, 1000, 1_000_000_000), Line("q", None, None, 1000, 1))
    )

    with pytest.raises(DomainError) as raised:
        price(too_much, PricingContext(2))

    assert [(e.field, en(e.message)) for e in raised.value.errors] == [
        ("input.lines", "The bill's subtotal must be at most 10000000.00.")
    ]
