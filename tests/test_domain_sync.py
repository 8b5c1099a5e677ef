import time
from decimal import Decimal

import pytest

from domain import sync as domain_sync
from domain.links import (
    Connection,
    MirrorObject,
    connections,
    group_object,
    promotion_object,
    unmatched_references,
)
from domain.messages import msg
from domain.mirror_diff import diff_rows
from domain.sync import (
    ConnectionStatus,
    DiscountType,
    GoorderRows,
    GoposConversion,
    GoposRows,
    MirrorDiscount,
    MirrorPosGroup,
    MirrorPromotion,
    PromotionType,
    SyncDataError,
    goorder_rows,
    gopos_rows,
)
from domain.upstream import (
    Channel,
    GoorderSnapshot,
    GoposSnapshot,
    PosDiscountRecord,
    PosGroupRecord,
    PromotionRecord,
    UpstreamMoney,
)
from services.i18n import render
from tests.english import en, texts

LINKED = ConnectionStatus.LINKED
NOT_FOUND = ConnectionStatus.NOT_FOUND
AMBIGUOUS = ConnectionStatus.AMBIGUOUS


def discount(
    external_id: str = "3",
    *,
    name: str = "10% stały klient",
    type: str = "PERCENT",
    value: str = "10.00",
    enabled: bool = True,
) -> PosDiscountRecord:
    return PosDiscountRecord(external_id, name, type, Decimal(value), enabled)


def group(
    external_id: str = "17",
    *,
    name: str = "Stały klient",
    reference: str | None = "staly-klient",
    limit: str | None = "50.00",
    currency: str = "PLN",
    discount_ids: tuple[str, ...] = ("3",),
) -> PosGroupRecord:
    money = UpstreamMoney(Decimal(limit), currency) if limit is not None else None
    return PosGroupRecord(external_id, name, reference, money, discount_ids)


def promotion(
    external_id: str = "pr_81",
    *,
    name: str = "10% rabatu dla stałych klientów",
    reference: str | None = "staly-klient",
    type: str = "ORDER_PERCENT",
    value: str = "10.00",
    min_basket: str | None = "40.00",
    active: bool = True,
) -> PromotionRecord:
    basket = Decimal(min_basket) if min_basket is not None else None
    return PromotionRecord(
        external_id, name, reference, type, "MANUAL", Decimal(value), basket, active
    )


def pos(*groups: PosGroupRecord, discounts: tuple[PosDiscountRecord, ...] = ()) -> GoposSnapshot:
    return GoposSnapshot(groups=groups, discounts=discounts)


def convert(snapshot: GoposSnapshot | GoorderSnapshot) -> GoposRows | GoorderRows:
    if isinstance(snapshot, GoposSnapshot):
        return gopos_rows(snapshot, "PLN", 2)
    return goorder_rows(snapshot, "PLN", 2)


def refusal(snapshot: GoposSnapshot | GoorderSnapshot) -> str:
    with pytest.raises(SyncDataError) as raised:
        convert(snapshot)
    assert str(raised.value) == raised.value.message.id == "sync.data_refused"
    return render(raised.value.message, "en")


# ---------------------------------------------------------------------------- conversion


def test_gopos_rows_convert_to_basis_points_and_minor_units() -> None:
    snapshot = pos(
        group("17", discount_ids=("8", "3", "3")),
        group("18", name="VIP", reference="  VIP ", limit=None, discount_ids=()),
        discounts=(
            discount("3"),
            discount("8", name="5 zł", type="AMOUNT", value="5.5", enabled=False),
        ),
    )

    rows = gopos_rows(snapshot, "PLN", 2)

    assert rows == GoposRows(
        groups=(
            MirrorPosGroup("17", "Stały klient", "staly-klient", 5000, ("3", "8")),
            MirrorPosGroup("18", "VIP", "VIP", None, ()),
        ),
        discounts=(
            MirrorDiscount("3", "10% stały klient", DiscountType.PERCENT, 1000, True),
            MirrorDiscount("8", "5 zł", DiscountType.AMOUNT, 550, False),
        ),
        notes=(),
    )


@pytest.mark.parametrize(
    ("currency", "minor_units", "limit", "expected"),
    [
        ("PLN", 2, "50", 5000),
        ("PLN", 2, "0.01", 1),
        ("PLN", 2, "0", 0),
        ("PLN", 2, "12.500", 1250),
        ("PLN", 2, "10000000.00", 1_000_000_000),
        ("JPY", 0, "500", 500),
        ("KWD", 3, "1.234", 1234),
        ("pln", 2, "1.00", 100),
    ],
)
def test_daily_limit_in_minor_units(
    currency: str, minor_units: int, limit: str, expected: int
) -> None:
    snapshot = pos(group(limit=limit, currency=currency.upper(), discount_ids=()))

    rows = gopos_rows(snapshot, currency, minor_units)

    assert rows.groups[0].daily_limit == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("0.01", 1), ("10", 1000), ("12.5", 1250), ("99.99", 9999), ("100.00", 10000)],
)
def test_percent_values_in_basis_points(value: str, expected: int) -> None:
    rows = gopos_rows(pos(discounts=(discount(value=value),)), "PLN", 2)

    assert rows.discounts[0].value == expected


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        (
            pos(group(currency="EUR")),
            "The GoPOS data was not synchronised (1 problem): GoPOS group 17 „Stały klient”: "
            "daily discount limit is in EUR, the location uses PLN.",
        ),
        (
            pos(group(limit="50.005")),
            "The GoPOS data was not synchronised (1 problem): GoPOS group 17 „Stały klient”: "
            "daily discount limit 50.005 has more than 2 decimal places (PLN).",
        ),
        (
            pos(group(limit="-1.00")),
            "The GoPOS data was not synchronised (1 problem): GoPOS group 17 „Stały klient”: "
            "daily discount limit -1.00 is negative.",
        ),
        (
            pos(group(limit="10000000.01")),
            "The GoPOS data was not synchronised (1 problem): GoPOS group 17 „Stały klient”: "
            "daily discount limit 10000000.01 is over the maximum 10000000 PLN.",
        ),
        (
            pos(group(limit="1E+999999999")),
            "The GoPOS data was not synchronised (1 problem): GoPOS group 17 „Stały klient”: "
            "daily discount limit 1E+999999999 is over the maximum 10000000 PLN.",
        ),
        (
            pos(group(limit="NaN")),
            "The GoPOS data was not synchronised (1 problem): GoPOS group 17 „Stały klient”: "
            "daily discount limit NaN is not a number.",
        ),
        (
            pos(discounts=(discount(type="LOYALTY"),)),
            "The GoPOS data was not synchronised (1 problem): GoPOS discount 3 „10% stały "
            'klient”: unknown type "LOYALTY" (expected PERCENT or AMOUNT).',
        ),
        (
            pos(discounts=(discount(value="-10.00"),)),
            "The GoPOS data was not synchronised (1 problem): GoPOS discount 3 „10% stały "
            "klient”: value -10.00 is negative.",
        ),
        (
            pos(discounts=(discount(value="100.01"),)),
            "The GoPOS data was not synchronised (1 problem): GoPOS discount 3 „10% stały "
            "klient”: value 100.01 is over 100%.",
        ),
        (
            pos(discounts=(discount(value="12.345"),)),
            "The GoPOS data was not synchronised (1 problem): GoPOS discount 3 „10% stały "
            "klient”: value 12.345 has more than 2 decimal places.",
        ),
        (
            pos(discounts=(discount(value="Infinity"),)),
            "The GoPOS data was not synchronised (1 problem): GoPOS discount 3 „10% stały "
            "klient”: value Infinity is not a number.",
        ),
        (
            pos(discounts=(discount(type="AMOUNT", value="-5"),)),
            "The GoPOS data was not synchronised (1 problem): GoPOS discount 3 „10% stały "
            "klient”: value -5 is negative.",
        ),
        (
            pos(discounts=(discount(type="AMOUNT", value="0.001"),)),
            "The GoPOS data was not synchronised (1 problem): GoPOS discount 3 „10% stały "
            "klient”: value 0.001 has more than 2 decimal places (PLN).",
        ),
        (
            pos(group("17"), group("17", name="Inny", reference="inny")),
            "The GoPOS data was not synchronised (1 problem): GoPOS group 17 is listed twice "
            "with different data („Stały klient”, „Inny”).",
        ),
        (
            pos(discounts=(discount("3"), discount("3", value="20.00"))),
            "The GoPOS data was not synchronised (1 problem): GoPOS discount 3 is listed twice "
            "with different data („10% stały klient”, „10% stały klient”).",
        ),
        (
            pos(group(" ", discount_ids=())),
            "The GoPOS data was not synchronised (1 problem): GoPOS group „Stały klient” "
            "has no id.",
        ),
        (
            pos(group("17", currency="EUR"), discounts=(discount(value="101"),)),
            "The GoPOS data was not synchronised (2 problems): GoPOS discount 3 „10% stały "
            "klient”: value 101 is over 100%. GoPOS group 17 „Stały klient”: daily discount "
            "limit is in EUR, the location uses PLN.",
        ),
    ],
)
def test_gopos_refusals(snapshot: GoposSnapshot, message: str) -> None:
    assert refusal(snapshot) == message


def fed_page_by_page(snapshot: GoposSnapshot, page: int = 2) -> GoposRows:
    """The snapshot converted as a sync converts it: each page as it arrives, then the whole."""
    conversion = GoposConversion("PLN", 2)
    for start in range(0, max(len(snapshot.discounts), len(snapshot.groups)), page):
        conversion.discounts(snapshot.discounts[start : start + page])
        conversion.groups(snapshot.groups[start : start + page])
    return conversion.rows(snapshot)


@pytest.mark.parametrize(
    "snapshot",
    [
        pos(
            group("17", discount_ids=("8", "3", "9")),
            group("18", reference="  VIP ", limit=None, discount_ids=()),
            group("19", limit="0.5"),
            discounts=(
                discount("3"),
                discount("8", type="AMOUNT", value="5.5", enabled=False),
                discount("7", value="101", enabled=False),
            ),
        ),
        pos(
            group("17", currency="EUR"), group("18", limit="-1"), discounts=(discount(value="101"),)
        ),
        pos(group(" ", discount_ids=()), group("17"), group("17", name="Inny")),
        pos(*(group(str(n), limit="-1", discount_ids=()) for n in range(10, 22))),
    ],
)
def test_converting_page_by_page_gives_what_converting_the_whole_gives(
    snapshot: GoposSnapshot,
) -> None:
    try:
        expected: GoposRows | str = gopos_rows(snapshot, "PLN", 2)
    except SyncDataError as error:
        expected = render(error.message, "en")
    try:
        found: GoposRows | str = fed_page_by_page(snapshot)
    except SyncDataError as error:
        found = render(error.message, "en")

    assert found == expected


def test_a_record_converted_as_it_arrived_is_not_converted_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    snapshot = pos(group("17"), group("18", limit=None), discounts=(discount("3"), discount("4")))
    conversion = GoposConversion("PLN", 2)
    conversion.discounts(snapshot.discounts)
    conversion.groups(snapshot.groups)
    converted: list[object] = []
    monkeypatch.setattr(domain_sync, "_discount", lambda *args: converted.append(args))
    monkeypatch.setattr(domain_sync, "_money", lambda *args: converted.append(args))

    rows = conversion.rows(snapshot)

    assert converted == []
    assert [(d.external_id, d.value) for d in rows.discounts] == [("3", 1000), ("4", 1000)]
    assert [(g.external_id, g.daily_limit) for g in rows.groups] == [("17", 5000), ("18", None)]


def test_only_the_snapshots_own_records_are_taken_from_what_arrived() -> None:
    """A page's record that the snapshot does not hold (an id read twice keeps the first) is
    never taken for the snapshot's record of the same id."""
    conversion = GoposConversion("PLN", 2)
    conversion.discounts([discount("3", value="20.00")])
    conversion.groups([group("17", limit="-1")])

    rows = conversion.rows(pos(group("17"), discounts=(discount("3"),)))

    assert rows.discounts == (
        MirrorDiscount("3", "10% stały klient", DiscountType.PERCENT, 1000, True),
    )
    assert rows.groups == (MirrorPosGroup("17", "Stały klient", "staly-klient", 5000, ("3",)),)


def test_a_refusal_names_ten_problems_and_counts_the_rest() -> None:
    snapshot = pos(*(group(str(n), limit="-1", discount_ids=()) for n in range(10, 22)))

    with pytest.raises(SyncDataError) as raised:
        gopos_rows(snapshot, "PLN", 2)

    assert len(raised.value.problems) == 12
    assert en(raised.value.problems[0]) == (
        "GoPOS group 10 „Stały klient”: daily discount limit -1 is negative."
    )
    message = render(raised.value.message, "en")
    assert message.startswith("The GoPOS data was not synchronised (12 problems):")
    assert message.endswith(
        "GoPOS group 19 „Stały klient”: daily discount limit -1 is negative. and 2 more"
    )


def test_a_long_name_is_shortened_in_messages() -> None:
    message = refusal(pos(group(name="x" * 200, limit="-1")))

    assert f"GoPOS group 17 „{'x' * 79}…”: daily" in message


def test_dangling_discount_ids_are_dropped_with_a_note() -> None:
    snapshot = pos(group(discount_ids=("3", "99", "98")), discounts=(discount("3"),))

    rows = gopos_rows(snapshot, "PLN", 2)

    assert rows.groups[0].discount_ids == ("3",)
    assert texts(rows.notes) == (
        "GoPOS group 17 „Stały klient” names discounts 98, 99 that GoPOS does not list; ignored.",
    )


def test_an_unreadable_disabled_discount_is_left_out_with_a_note() -> None:
    snapshot = pos(
        group(discount_ids=("3", "4")),
        discounts=(discount("3"), discount("4", type="POINTS", enabled=False)),
    )

    rows = gopos_rows(snapshot, "PLN", 2)

    assert [d.external_id for d in rows.discounts] == ["3"]
    assert rows.groups[0].discount_ids == ("3",)
    assert texts(rows.notes) == (
        "GoPOS discount 4 „10% stały klient” is disabled and was left out: "
        'unknown type "POINTS" (expected PERCENT or AMOUNT).',
    )


def test_a_record_listed_twice_identically_is_read_once() -> None:
    snapshot = pos(group(), group(), discounts=(discount(), discount()))

    rows = gopos_rows(snapshot, "PLN", 2)

    assert len(rows.groups) == 1
    assert len(rows.discounts) == 1


def test_a_blank_upstream_reference_is_stored_as_none() -> None:
    rows = gopos_rows(pos(group(reference="   ", discount_ids=())), "PLN", 2)

    assert rows.groups[0].reference is None


def test_goorder_rows_convert_to_basis_points_and_minor_units() -> None:
    snapshot = GoorderSnapshot(
        promotions=(
            promotion("pr_82", type="ORDER_AMOUNT", value="15", min_basket=None, active=False),
            promotion("pr_81", reference=" Staly-Klient "),
        )
    )

    rows = goorder_rows(snapshot, "PLN", 2)

    assert rows == GoorderRows(
        promotions=(
            MirrorPromotion(
                "pr_81",
                "10% rabatu dla stałych klientów",
                "Staly-Klient",
                PromotionType.ORDER_PERCENT,
                "MANUAL",
                1000,
                4000,
                True,
            ),
            MirrorPromotion(
                "pr_82",
                "10% rabatu dla stałych klientów",
                "staly-klient",
                PromotionType.ORDER_AMOUNT,
                "MANUAL",
                1500,
                None,
                False,
            ),
        ),
        notes=(),
    )


@pytest.mark.parametrize(
    ("record", "minor_units", "problems"),
    [
        (
            promotion(type="BASKET_GIFT"),
            2,
            ['unknown type "BASKET_GIFT" (expected ORDER_PERCENT or ORDER_AMOUNT)'],
        ),
        (promotion(value="150"), 2, ["value 150 is over 100%"]),
        (promotion(value="-1"), 2, ["value -1 is negative"]),
        (promotion(value="10.001"), 2, ["value 10.001 has more than 2 decimal places"]),
        (
            promotion(type="ORDER_AMOUNT", value="5.555"),
            2,
            ["value 5.555 has more than 2 decimal places (PLN)"],
        ),
        (
            promotion(type="ORDER_AMOUNT", value="20000000"),
            2,
            ["value 20000000 is over the maximum 10000000 PLN"],
        ),
        (promotion(min_basket="-40"), 2, ["minimum basket value -40 is negative"]),
        (
            promotion(value="200", min_basket="0.5"),
            0,
            [
                "value 200 is over 100%",
                "minimum basket value 0.5 has more than 0 decimal places (PLN)",
            ],
        ),
        (
            promotion(type="ORDER_AMOUNT", value="1.5", min_basket="40.25"),
            1,
            ["minimum basket value 40.25 has more than 1 decimal place (PLN)"],
        ),
    ],
)
def test_goorder_refusals(record: PromotionRecord, minor_units: int, problems: list[str]) -> None:
    label = "GoOrder promotion pr_81 „10% rabatu dla stałych klientów”"

    with pytest.raises(SyncDataError) as raised:
        goorder_rows(GoorderSnapshot((record,)), "PLN", minor_units)

    assert texts(raised.value.problems) == tuple(f"{label}: {p}." for p in problems)


def test_goorder_refuses_an_id_listed_twice_with_different_data() -> None:
    snapshot = GoorderSnapshot((promotion(), promotion(name="Inna")))

    assert refusal(snapshot) == (
        "The GoOrder data was not synchronised (1 problem): GoOrder promotion pr_81 is "
        "listed twice with different data („10% rabatu dla stałych klientów”, „Inna”)."
    )


def test_an_unreadable_inactive_promotion_is_left_out_with_a_note() -> None:
    snapshot = GoorderSnapshot((promotion("pr_9", value="120", active=False), promotion()))

    rows = goorder_rows(snapshot, "PLN", 2)

    assert [p.external_id for p in rows.promotions] == ["pr_81"]
    assert texts(rows.notes) == (
        "GoOrder promotion pr_9 „10% rabatu dla stałych klientów” is inactive and was left "
        "out: value 120 is over 100%.",
    )


# ---------------------------------------------------------------------------------- diff


def row(external_id: str, name: str = "Stały klient", limit: int | None = 5000) -> MirrorPosGroup:
    return MirrorPosGroup(external_id, name, "staly-klient", limit, ("3",))


@pytest.mark.parametrize(
    ("existing", "removed", "fetched", "upserts", "removals", "unchanged"),
    [
        pytest.param({}, set(), [row("1")], [row("1")], [], 0, id="new"),
        pytest.param({"1": row("1")}, set(), [row("1")], [], [], 1, id="unchanged"),
        pytest.param(
            {"1": row("1")},
            set(),
            [row("1", limit=None)],
            [row("1", limit=None)],
            [],
            0,
            id="changed",
        ),
        pytest.param({"1": row("1"), "2": row("2")}, set(), [row("2")], [], ["1"], 1, id="gone"),
        pytest.param({"1": row("1")}, {"1"}, [], [], [], 0, id="already removed"),
        pytest.param({"1": row("1")}, {"1"}, [row("1")], [row("1")], [], 0, id="came back"),
        pytest.param(
            {"1": row("1")},
            {"1"},
            [row("1", "Nowa")],
            [row("1", "Nowa")],
            [],
            0,
            id="came back changed",
        ),
        pytest.param(
            {"1": row("1"), "2": row("2"), "3": row("3")},
            {"3"},
            [row("2", "B"), row("4")],
            [row("2", "B"), row("4")],
            ["1"],
            0,
            id="mixed",
        ),
    ],
)
def test_diff_rows(
    existing: dict[str, MirrorPosGroup],
    removed: set[str],
    fetched: list[MirrorPosGroup],
    upserts: list[MirrorPosGroup],
    removals: list[str],
    unchanged: int,
) -> None:
    diff = diff_rows(existing, fetched, removed)

    assert diff.upserts == tuple(upserts)
    assert diff.removals == tuple(removals)
    assert diff.unchanged == unchanged
    assert diff.writes == len(upserts) + len(removals)


def test_a_second_identical_run_writes_nothing() -> None:
    snapshot = pos(group("17"), group("18", reference="vip"), discounts=(discount("3"),))
    stored: dict[str, MirrorPosGroup] = {"19": row("19")}
    removed: set[str] = set()

    for _ in range(2):
        rows = gopos_rows(snapshot, "PLN", 2)
        diff = diff_rows(stored, rows.groups, removed)
        stored.update({g.external_id: g for g in diff.upserts})
        removed |= set(diff.removals)
        removed -= {g.external_id for g in diff.upserts}

    assert diff.upserts == ()
    assert diff.removals == ()
    assert diff.unchanged == 2
    assert sorted(stored) == ["17", "18", "19"]
    assert removed == {"19"}


def test_diff_rows_refuses_an_id_fetched_twice() -> None:
    with pytest.raises(ValueError, match="external id '1' is fetched twice"):
        diff_rows({}, [row("1"), row("1")], set())


def test_diff_rows_works_for_discounts_and_promotions() -> None:
    old = MirrorDiscount("3", "10%", DiscountType.PERCENT, 1000, True)
    new = MirrorDiscount("3", "10%", DiscountType.PERCENT, 1000, False)
    promo = MirrorPromotion(
        "pr_1", "P", None, PromotionType.ORDER_AMOUNT, "MANUAL", 500, None, True
    )

    assert diff_rows({"3": old}, [new], set()).upserts == (new,)
    assert diff_rows({"pr_1": promo}, [promo], set()).unchanged == 1


# --------------------------------------------------------------------------- connections


def obj(
    external_id: str,
    reference: str | None = "staly-klient",
    *,
    name: str = "Stały klient",
    removed: bool = False,
    active: bool = True,
) -> MirrorObject:
    return MirrorObject(external_id, name, reference, removed=removed, active=active)


@pytest.mark.parametrize(
    ("channel", "reference", "objects", "expected"),
    [
        pytest.param(
            Channel.GOPOS,
            "staly-klient",
            [obj("17"), obj("18", "vip")],
            Connection(LINKED, "17"),
            id="linked",
        ),
        pytest.param(
            Channel.GOPOS,
            "staly-klient",
            [obj("18", " Staly-Klient ")],
            Connection(LINKED, "18"),
            id="case and whitespace",
        ),
        pytest.param(
            Channel.GOPOS,
            " Staly-Klient ",
            [obj("18")],
            Connection(LINKED, "18"),
            id="case and whitespace on the CRM side",
        ),
        pytest.param(
            Channel.GOPOS,
            "staly-klient",
            [obj("18", "vip")],
            Connection(NOT_FOUND, detail="No GoPOS group has the reference staly-klient."),
            id="missing",
        ),
        pytest.param(
            Channel.GOORDER,
            "staly-klient",
            [],
            Connection(NOT_FOUND, detail="No GoOrder promotion has the reference staly-klient."),
            id="missing promotion",
        ),
        pytest.param(
            Channel.GOPOS,
            "staly-klient",
            [obj("18", name="Stały klient 2"), obj("17"), obj("19", "vip")],
            Connection(
                AMBIGUOUS,
                detail="2 GoPOS groups have the reference staly-klient: 17 „Stały klient”, "
                "18 „Stały klient 2”. Give each its own reference in GoPOS.",
            ),
            id="ambiguous",
        ),
        pytest.param(
            Channel.GOORDER,
            "staly-klient",
            [obj("pr_81", name="10% rabatu dla stałych klientów", active=False)],
            Connection(
                NOT_FOUND,
                detail="GoOrder promotion pr_81 „10% rabatu dla stałych klientów” has this "
                "reference but is inactive.",
            ),
            id="inactive promotion",
        ),
        pytest.param(
            Channel.GOPOS,
            "staly-klient",
            [obj("17", removed=True)],
            Connection(
                NOT_FOUND,
                detail="GoPOS group 17 „Stały klient” has this reference but was removed "
                "from GoPOS.",
            ),
            id="removed group",
        ),
        pytest.param(
            Channel.GOORDER,
            "staly-klient",
            [obj("pr_2", removed=True), obj("pr_1", active=False)],
            Connection(
                NOT_FOUND,
                detail="Every GoOrder promotion with this reference is inactive or removed: "
                "pr_1 „Stały klient” is inactive, pr_2 „Stały klient” was removed from GoOrder.",
            ),
            id="several, none counting",
        ),
        pytest.param(
            Channel.GOORDER,
            "staly-klient",
            [obj("pr_2", removed=True), obj("pr_1", active=False), obj("pr_3")],
            Connection(LINKED, "pr_3"),
            id="one counting among others",
        ),
        pytest.param(
            Channel.GOPOS,
            "staly-klient",
            [obj("17", None), obj("18", "  ")],
            Connection(NOT_FOUND, detail="No GoPOS group has the reference staly-klient."),
            id="no reference upstream",
        ),
        pytest.param(
            Channel.GOPOS,
            None,
            [obj("17", None), obj("18", "")],
            Connection(NOT_FOUND, detail="This group has no reference."),
            id="no reference on either side",
        ),
    ],
)
def test_connection(
    channel: Channel, reference: str | None, objects: list[MirrorObject], expected: Connection
) -> None:
    (found,) = connections([("g1", reference)], channel, objects, synced=True).values()
    assert (found.status, found.external_id, en(found.detail)) == (
        expected.status,
        expected.external_id,
        expected.detail,
    )


def test_an_ambiguous_detail_names_ten_objects_and_counts_the_rest() -> None:
    objects = [obj(f"{n:02}") for n in range(12)]

    found = connections([(1, "staly-klient")], Channel.GOPOS, objects, synced=True)

    assert en(found[1].detail) == (
        "12 GoPOS groups have the reference staly-klient: "
        + ", ".join(f"{n:02} „Stały klient”" for n in range(10))
        + ", and 2 more. Give each its own reference in GoPOS."
    )


def test_never_synced_channel() -> None:
    found = connections([(1, "a"), (2, "b")], Channel.GOORDER, [obj("pr_1", "a")], synced=False)

    expected = Connection(
        ConnectionStatus.NOT_SYNCED, detail=msg("link.never_synced", upstream="GoOrder")
    )
    assert found == {1: expected, 2: expected}
    assert en(expected.detail) == "GoOrder has not been synchronised yet."


def test_mirror_objects_from_rows() -> None:
    pos_group = MirrorPosGroup("17", "Stały klient", "staly-klient", None, ())
    promo = MirrorPromotion(
        "pr_1", "P", "vip", PromotionType.ORDER_AMOUNT, "AUTOMATIC", 500, None, False
    )

    assert group_object(pos_group, removed=True) == MirrorObject(
        "17", "Stały klient", "staly-klient", removed=True, active=True
    )
    assert promotion_object(promo, removed=False) == MirrorObject(
        "pr_1", "P", "vip", removed=False, active=False
    )
    assert not promotion_object(promo, removed=False).counts
    assert not group_object(pos_group, removed=True).counts
    assert group_object(pos_group, removed=False).counts


def test_connections_scale_linearly() -> None:
    groups = [(n, f"group-{n}") for n in range(10_000)]
    objects = [obj(str(n), f" GROUP-{n} ") for n in range(10_000)]

    started = time.perf_counter()
    found = connections(groups, Channel.GOPOS, objects, synced=True)
    unmatched = unmatched_references([r for _, r in groups], objects)
    elapsed = time.perf_counter() - started

    assert found[9_999] == Connection(LINKED, "9999")
    assert sum(c.status is LINKED for c in found.values()) == 10_000
    assert unmatched == ()
    assert elapsed < 1.0  # a loop over every pair would take minutes


# ------------------------------------------------------------------ unmatched references


@pytest.mark.parametrize(
    ("group_references", "objects", "expected"),
    [
        pytest.param(["staly-klient"], [obj("1")], (), id="matched"),
        pytest.param(["staly-klient"], [obj("1", " Staly-Klient ")], (), id="case and spaces"),
        pytest.param([], [obj("1", " VIP "), obj("2", "vip")], ("VIP",), id="one per spelling"),
        pytest.param(
            ["a"],
            [obj("1", "zeta"), obj("2", "beta"), obj("3", "a")],
            ("beta", "zeta"),
            id="sorted",
        ),
        pytest.param([], [obj("1", None), obj("2", " ")], (), id="no reference"),
        pytest.param([], [obj("1", "gone", removed=True)], (), id="removed"),
        pytest.param([], [obj("1", "paused", active=False)], ("paused",), id="inactive"),
        pytest.param([None], [obj("1", "x")], ("x",), id="group without reference"),
    ],
)
def test_unmatched_references(
    group_references: list[str | None], objects: list[MirrorObject], expected: tuple[str, ...]
) -> None:
    assert unmatched_references(group_references, objects) == expected
