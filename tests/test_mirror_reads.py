"""The mirror is read only where the CRM groups' references are: connections, unmatched
references and a quote's offers come from indexed statements over those references, never
from the whole mirror, and answer exactly what the pure rules of `domain.sync` answer over the
whole mirror. On both databases."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.bill import BillInput, LineInput, SalesChannel
from domain.links import MirrorObject, connections, unmatched_references
from domain.requests import CardInput, CustomerInput
from domain.sync import (
    ConnectionStatus,
    DiscountType,
    MirrorDiscount,
    MirrorPosGroup,
    MirrorPromotion,
    PromotionType,
)
from domain.upstream import Channel
from models import mirror
from models.mirror import MirrorTable
from models.tables.crm import Location
from models.tables.integrations import SyncRun
from services import checkout, customers, sync
from services.checkout import CheckoutRequest
from services.offers import LocationOffers
from services.runtime import Runtime
from tests.builders import sql_statements
from tests.helpers import Api, create_group
from tests.test_checkout_service import HUNDRED, MORNING, open_shop

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOT_SYNCED = ConnectionStatus.NOT_SYNCED
CRM_REFERENCES = ["vip", "staly-klient", "weekend", "nowi", "grupa-1", "grupa-2", "rzadki"]
# Upstream spellings: several per CRM reference, and references no CRM group has.
SPELLINGS = [
    "VIP",
    "vip",
    "Vip",
    "staly-klient",
    "STALY-KLIENT",
    "weekend",
    "grupa-1",
    "Grupa-2",
    "obcy",
    "Obcy",
    "inny",
]


@pytest.fixture
def whole_mirror_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any read of a location's whole mirror fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the whole mirror was read")

    for name in ("pos_groups", "pos_discounts_by_id", "promotions", "mirror_objects"):
        monkeypatch.setattr(mirror, name, refuse)


async def synced(location_id: UUID) -> None:
    for channel in ("GOPOS", "GOORDER"):
        await SyncRun.create(
            location_id=location_id, channel=channel, status="SUCCEEDED", finished_at=AT
        )


async def random_mirror(location_id: UUID, seed: int) -> tuple[list[MirrorObject], ...]:
    """400 GoPOS groups and 400 GoOrder promotions with references drawn from `SPELLINGS`
    (some with none), a share removed and, of promotions, inactive; one "rzadki" (which links),
    one "nowi" (removed); and 200 of each with a reference of its own. Returns the objects of
    each channel as the connections view sees them."""
    rng = random.Random(seed)
    discounts = [
        MirrorDiscount(f"d{n}", f"Rabat {n}", DiscountType.PERCENT, 100 * n, n % 4 != 0)
        for n in range(1, 21)
    ]
    await mirror.upsert_pos_discounts(location_id, discounts, AT)
    groups = []
    promotions = []
    special = {400: "rzadki", 401: "nowi"}
    for n in range(602):
        reference = rng.choice([*SPELLINGS, None]) if n < 400 else f"Ref-{n:03}"
        reference = special.get(n, reference)
        ids = tuple(sorted({f"d{rng.randint(1, 20)}" for _ in range(rng.randint(0, 3))}))
        groups.append(MirrorPosGroup(f"g{n:03}", f"Grupa {n}", reference, 1000 * n, ids))
        promotions.append(
            MirrorPromotion(
                f"p{n:03}",
                f"Promocja {n}",
                reference,
                PromotionType.ORDER_AMOUNT,
                "MANUAL",
                100 + n,
                None,
                n in special or rng.random() > 0.3,
            )
        )
    await mirror.upsert_pos_groups(location_id, groups, AT)
    await mirror.upsert_promotions(location_id, promotions, AT)
    gone_groups = [g.external_id for g in groups if rng.random() < 0.3] + ["g401"]
    gone_promotions = [p.external_id for p in promotions if rng.random() < 0.3] + ["p401"]
    gone_groups = [g for g in gone_groups if g != "g400"]
    gone_promotions = [p for p in gone_promotions if p != "p400"]
    await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, gone_groups, AT)
    await mirror.mark_removed(MirrorTable.PROMOTIONS, location_id, gone_promotions, AT)
    removed_groups, removed_promotions = set(gone_groups), set(gone_promotions)
    return (
        [
            MirrorObject(g.external_id, g.name, g.reference, g.external_id in removed_groups)
            for g in groups
        ],
        [
            MirrorObject(
                p.external_id,
                p.name,
                p.reference,
                p.external_id in removed_promotions,
                p.active,
            )
            for p in promotions
        ],
    )


@pytest.mark.parametrize("seed", [1, 2])
async def test_connections_and_unmatched_references_answer_as_the_rules_over_the_whole_mirror(
    api: Api, runtime: Runtime, seed: int, whole_mirror_unread: None
) -> None:
    # given CRM groups, and a mirror of 602 objects per channel with shared references
    location_id = UUID(api.location_id)
    crm = [
        (UUID((await create_group(api, f"Grupa {r}", reference=r))["id"]), r)
        for r in CRM_REFERENCES
    ]
    pos_objects, promotion_objects = await random_mirror(location_id, seed)
    await synced(location_id)

    # when the connections and the unmatched references are read
    links = await (await sync.mirror_reads(runtime, location_id)).links(crm)
    pos_unmatched = await sync.unmatched(runtime, location_id, Channel.GOPOS)
    order_unmatched = await sync.unmatched(runtime, location_id, Channel.GOORDER)

    # then they are what the domain's rules make of the whole mirror
    for index, (channel, objects) in enumerate(
        ((Channel.GOPOS, pos_objects), (Channel.GOORDER, promotion_objects))
    ):
        expected = connections(crm, channel, objects, synced=True)
        found = {group_id: links[group_id][index] for group_id, _ in crm}
        assert {g: (c.status, c.detail) for g, c in expected.items()} == {
            g: (link.status, link.detail) for g, link in found.items()
        }
        linked = {
            g: link.pos_group.group.external_id
            if link.pos_group
            else link.promotion.promotion.external_id
            if link.promotion
            else None
            for g, link in found.items()
        }
        assert linked == {g: c.external_id for g, c in expected.items()}
        assert {c.status for c in expected.values()} == set(ConnectionStatus) - {NOT_SYNCED}
    every = unmatched_references(CRM_REFERENCES, pos_objects)
    assert len(every) > 100
    assert pos_unmatched == every[:100]
    assert order_unmatched == unmatched_references(CRM_REFERENCES, promotion_objects)[:100]


async def test_a_linked_groups_discounts_and_an_ambiguous_reference_through_the_api(
    api: Api, whole_mirror_unread: None
) -> None:
    # given GoPOS groups: one "vip", fifteen "wspolny", and 150 references no group has
    location_id = UUID(api.location_id)
    await create_group(api, "VIP")
    await create_group(api, "Wspólny")
    await mirror.upsert_pos_discounts(
        location_id,
        [
            MirrorDiscount("d1", "10%", DiscountType.PERCENT, 1000, True),
            MirrorDiscount("d2", "5 zł", DiscountType.AMOUNT, 500, False),
        ],
        AT,
    )
    rows = [MirrorPosGroup("1", "VIP", "VIP", 5000, ("d1", "d2", "d9"))]
    rows += [MirrorPosGroup(f"w{n:02}", f"W {n}", "wspolny", None, ()) for n in range(15)]
    rows += [MirrorPosGroup(f"o{n:03}", f"O {n}", f"obcy-{n:03}", None, ()) for n in range(150)]
    await mirror.upsert_pos_groups(location_id, rows, AT)
    await synced(location_id)

    # when an admin reads the connections and the unmatched references
    found = await api.data(
        """{ customerGroups { reference connections { channel status detail
               posGroup { externalId dailyDiscountLimit { amount } discounts { externalId } } } }
             integration(channel: GOPOS) { unmatchedReferences
               posGroups(first: 3, after: "1") { externalId name } } }"""
    )

    # then the linked group comes with its discounts, the ambiguous one names ten and counts
    # the rest, and the unmatched references are the first 100, sorted
    by_reference = {g["reference"]: g["connections"][0] for g in found["customerGroups"]}
    assert by_reference["vip"] == {
        "channel": "GOPOS",
        "status": "LINKED",
        "detail": None,
        "posGroup": {
            "externalId": "1",
            "dailyDiscountLimit": {"amount": "50.00"},
            "discounts": [{"externalId": "d1"}, {"externalId": "d2"}],
        },
    }
    named = ", ".join(f"w{n:02} „W {n}”" for n in range(10))
    assert by_reference["wspolny"] == {
        "channel": "GOPOS",
        "status": "AMBIGUOUS",
        "detail": f"15 GoPOS groups have the reference wspolny: {named}, and 5 more. "
        "Give each its own reference in GoPOS.",
        "posGroup": None,
    }
    assert found["integration"]["unmatchedReferences"] == [f"obcy-{n:03}" for n in range(100)]
    # and a page of the mirror, by name, reads only its own rows in full
    assert found["integration"]["posGroups"] == [
        {"externalId": "w00", "name": "W 0"},
        {"externalId": "w01", "name": "W 1"},
        {"externalId": "w10", "name": "W 10"},
    ]


async def test_a_quote_reads_only_the_offers_of_the_customers_groups(
    runtime: Runtime, clock: Any, whole_mirror_unread: None
) -> None:
    # given the checkout shop, whose mirror also holds 300 GoPOS groups no CRM group uses
    clock.now = MORNING
    shop = await open_shop("Bistro Offers")
    others = [MirrorPosGroup(f"x{n}", f"X {n}", f"x-{n}", None, ("d10",)) for n in range(300)]
    await mirror.upsert_pos_groups(shop.location_id, others, AT)
    customer = await customers.create_customer(
        shop.location_id,
        CustomerInput(
            first_name="Ala", cards=(CardInput("CARD-OFFERS"),), group_ids=(shop.regular_group,)
        ),
    )
    lines = [LineInput(f"p{i}", Decimal(q), Decimal(p)) for i, (q, p) in enumerate(HUNDRED)]
    request = CheckoutRequest(BillInput(SalesChannel.POS, lines), card_code="CARD-OFFERS")

    # when the till quotes the customer
    result = await checkout.quote(runtime, shop.principal, request)

    # then the linked group's discount applies, and the process holds that group's offers only
    assert result.customer is not None
    assert result.customer.id == customer.id
    assert [d.id for d in result.quote.discounts] == ["pos-discount:d10"]
    version = (await Location.get(id=shop.location_id)).sync_version
    cached = runtime.mirrors.get(shop.location_id, version)
    assert isinstance(cached, LocationOffers)
    assert list(cached._groups) == [(UUID(shop.regular_group), "staly-klient")]


READ = """{ customerGroups { reference connections { channel status detail } }
            integration(channel: GOPOS) { unmatchedReferences } }"""
MIRROR_TABLES = ("pos_customer_groups", "pos_discounts", "order_promotions")


async def test_the_back_office_reads_the_mirror_once_per_sync_version(
    api: Api, runtime: Runtime
) -> None:
    # given a GoPOS group linked to "vip", one removed that had "stary", and one unmatched
    location_id = UUID(api.location_id)
    await create_group(api, "VIP")
    await create_group(api, "Stary")
    rows = [
        MirrorPosGroup("1", "VIP", "vip", None, ()),
        MirrorPosGroup("2", "Stary", "stary", None, ()),
        MirrorPosGroup("3", "Obcy", "obcy", None, ()),
    ]
    await mirror.upsert_pos_groups(location_id, rows, AT)
    await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, ["2"], AT)
    await synced(location_id)
    first = await api.data(READ)

    # when the same views are read again, and again after a sync changed the mirror
    with sql_statements() as again:
        assert await api.data(READ) == first
    await mirror.upsert_pos_groups(location_id, [MirrorPosGroup("4", "Nowy", "nowy", None, ())], AT)
    await mirror.bump_sync_version(location_id)
    after_sync = await api.data(READ)
    # and after the purge deleted the removed group
    purge = replace(runtime, clock=lambda: AT + runtime.mirror_retention + timedelta(days=1))
    assert await sync.purge_removed(purge) >= 1
    after_purge = await api.data(READ)

    # then the second read did not touch the mirror, and each change showed at once
    assert [s for s in again if any(table in s for table in MIRROR_TABLES)] == []
    assert after_sync["integration"]["unmatchedReferences"] == ["nowy", "obcy"]
    statuses = {
        g["reference"]: g["connections"][0]["detail"] for g in after_purge["customerGroups"]
    }
    assert statuses == {
        "vip": None,
        "stary": "No GoPOS group has the reference stary.",
    }
    assert {g["reference"]: g["connections"][0]["detail"] for g in first["customerGroups"]} == {
        "vip": None,
        "stary": "GoPOS group 2 „Stary” has this reference but was removed from GoPOS.",
    }
