"""A location's mirror is bounded: a sync of an upstream holding more objects than the cap
(GoPOS groups and discounts together, GoOrder promotions) ends FAILED, names the upstream, the
count and the cap, writes nothing, and stops reading there. In-process against the simulators,
on both databases."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from domain.upstream import Channel
from models.integrations import OrderPromotionMirror, PosDiscountMirror, PosGroupMirror, SyncRun
from services import sync
from services.runtime import Runtime
from tests.test_sync_api import Recorder, Shop, ShopFactory, configured, sync_version
from tests.test_sync_api import open_shop as open_shop


async def run(shop: Shop, runtime: Runtime, channel: Channel) -> tuple[str, int, int, str | None]:
    """Queue a sync of `channel` and run it in `runtime`; its status, attempts, written and
    error."""
    queued = await sync.synchronize(runtime, shop.location_id, channel)
    await sync.run_sync(runtime, queued.id)
    row = await SyncRun.get(id=queued.id)
    return row.status, row.attempts, row.written, row.error


async def mirror_size(location_id: UUID) -> int:
    return (
        await PosGroupMirror.filter(location_id=location_id).count()
        + await PosDiscountMirror.filter(location_id=location_id).count()
        + await OrderPromotionMirror.filter(location_id=location_id).count()
    )


def discount(number: int) -> dict[str, object]:
    return {
        "id": number,
        "name": f"Rabat {number}",
        "type": "PERCENT",
        "value": "5.00",
        "status": "ENABLED",
    }


async def test_gopos_groups_and_discounts_count_together_up_to_the_cap(
    open_shop: ShopFactory,
) -> None:
    # given GoPOS with 2 groups and 2 discounts, and a cap of 4 objects
    shop = await open_shop(dispatcher=Recorder())
    await configured(shop.api, "GOPOS")
    capped = replace(shop.runtime, mirror_max_objects=4)

    # when it is synchronised at the cap, and again once it has one discount more
    at_cap = await run(shop, capped, Channel.GOPOS)
    version = await sync_version(shop.location_id)
    shop.gopos.discounts.append(discount(99))
    over = await run(shop, capped, Channel.GOPOS)

    # then the cap itself is allowed, and one more fails the run at once, writing nothing
    assert at_cap == ("SUCCEEDED", 1, 4, None)
    assert over == (
        "FAILED",
        1,
        0,
        "GoPOS has 5 groups and discounts; a location mirrors at most 4, so nothing was "
        "synchronised.",
    )
    assert await mirror_size(shop.location_id) == 4
    assert await sync_version(shop.location_id) == version


async def test_gopos_reading_stops_once_past_the_cap(open_shop: ShopFactory) -> None:
    # given GoPOS with 1,000 groups (ten pages) and no discounts, and a cap of 250
    shop = await open_shop(dispatcher=Recorder())
    await configured(shop.api, "GOPOS")
    shop.gopos.generate(groups=1_000)
    capped = replace(shop.runtime, mirror_max_objects=250)

    # when it is synchronised
    outcome = await run(shop, capped, Channel.GOPOS)

    # then reading stopped at the third page, and nothing was written
    assert outcome == (
        "FAILED",
        1,
        0,
        "GoPOS has more than 250 groups and discounts (300 read when reading stopped); a "
        "location mirrors at most 250, so nothing was synchronised.",
    )
    group_pages = shop.gopos.requests_by_path["/api/v3/1001/clients/groups"]
    assert group_pages < 10
    assert await mirror_size(shop.location_id) == 0


async def test_goorder_is_refused_from_its_first_page_past_the_cap(open_shop: ShopFactory) -> None:
    # given GoOrder with 250 promotions (three pages), and a cap of 200
    shop = await open_shop(dispatcher=Recorder())
    await configured(shop.api, "GOORDER")
    shop.goorder.generate(promotions=250)
    capped = replace(shop.runtime, mirror_max_objects=200)

    # when it is synchronised
    outcome = await run(shop, capped, Channel.GOORDER)

    # then the first page's count refused it, and nothing more was read or written
    assert outcome == (
        "FAILED",
        1,
        0,
        "GoOrder has 250 promotions; a location mirrors at most 200, so nothing was synchronised.",
    )
    assert shop.goorder.requests == 1
    assert await mirror_size(shop.location_id) == 0


async def test_goorder_at_the_cap_is_mirrored(open_shop: ShopFactory) -> None:
    shop = await open_shop(dispatcher=Recorder())
    await configured(shop.api, "GOORDER")
    shop.goorder.generate(promotions=200)
    capped = replace(shop.runtime, mirror_max_objects=200)

    assert await run(shop, capped, Channel.GOORDER) == ("SUCCEEDED", 1, 200, None)
    assert await mirror_size(shop.location_id) == 200
