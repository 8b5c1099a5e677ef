"""A location's mirror is bounded: a sync of an upstream holding more objects than the cap
(GoPOS groups and discounts together, GoOrder promotions) ends FAILED, names the upstream, the
count and the cap, writes nothing, and stops reading there; and rows removed upstream are
purged once past their retention, in bounded batches, by the periodic check. In-process
against the simulators, on both databases."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest

from domain.messages import decode
from domain.sync import DiscountType, MirrorDiscount, MirrorPosGroup, MirrorPromotion, PromotionType
from domain.upstream import Channel
from gateway.runtime import build_runtime
from models import mirror
from models.mirror import MirrorTable
from models.tables.integrations import (
    OrderPromotionMirror,
    PosDiscountMirror,
    PosGroupMirror,
    SyncRun,
)
from services import sync
from services.runtime import Runtime
from services.sync import write as sync_write
from settings import Settings, load_settings
from tasks.jobs import check
from tests.english import en
from tests.helpers import Api
from tests.test_sync_api import Recorder, Shop, ShopFactory, configured, sync_version
from tests.test_sync_api import open_shop as open_shop


async def run(shop: Shop, runtime: Runtime, channel: Channel) -> tuple[str, int, int, str | None]:
    """Queue a sync of `channel` and run it in `runtime`; its status, attempts, written and
    error."""
    queued = await sync.synchronize(runtime, shop.location_id, channel)
    await sync.run_sync(runtime, queued.id)
    row = await SyncRun.get(id=queued.id)
    return (
        row.status,
        row.attempts,
        row.written,
        None if row.error is None else en(decode(row.error)),
    )


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


# ------------------------------------------------------------------------ retention

LONG_AGO = datetime(1990, 1, 1, tzinfo=UTC)  # before any other test's rows
LATER = LONG_AGO + timedelta(days=20)
NOW = LONG_AGO + timedelta(days=31)


async def removed_rows(location_id: UUID) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for model in (PosGroupMirror, PosDiscountMirror, OrderPromotionMirror):
        rows = await model.filter(location_id=location_id).values_list("external_id", flat=True)
        found[model._meta.db_table] = sorted(str(r) for r in rows)
    return found


async def test_rows_removed_past_the_retention_are_purged_in_bounded_batches(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given 25 groups, 3 discounts and 3 promotions removed 31 days ago, 2 groups removed 11
    # days ago, and a group that is still there; and purges of 10 rows, twice per table a check
    location_id = UUID(api.location_id)
    groups = [MirrorPosGroup(f"g{n:02}", f"G {n}", None, None, ()) for n in range(28)]
    discounts = [
        MirrorDiscount(f"d{n}", f"D {n}", DiscountType.AMOUNT, 100, True) for n in range(3)
    ]
    promotions = [
        MirrorPromotion(
            f"p{n}", f"P {n}", None, PromotionType.ORDER_AMOUNT, "MANUAL", 1, None, True
        )
        for n in range(3)
    ]
    await mirror.upsert_pos_groups(location_id, groups, LONG_AGO)
    await mirror.upsert_pos_discounts(location_id, discounts, LONG_AGO)
    await mirror.upsert_promotions(location_id, promotions, LONG_AGO)
    old = [g.external_id for g in groups[:25]]
    await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, old, LONG_AGO)
    await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, ["g25", "g26"], LATER)
    await mirror.mark_removed(MirrorTable.POS_DISCOUNTS, location_id, ["d0", "d1", "d2"], LONG_AGO)
    await mirror.mark_removed(MirrorTable.PROMOTIONS, location_id, ["p0", "p1", "p2"], LONG_AGO)
    monkeypatch.setattr(sync_write, "PURGE_BATCH", 10)
    monkeypatch.setattr(sync_write, "PURGE_STATEMENTS", 2)
    at_now = replace(runtime, clock=lambda: NOW)

    # when the periodic check runs, and its purge twice more
    await check(at_now)
    after_check = await removed_rows(location_id)
    purged = [await sync.purge_removed(at_now) for _ in range(2)]

    # then 20 old groups went first with the old discounts and promotions, the other 5 next;
    # the groups removed recently and the one still there stay
    left = after_check.pop("pos_customer_groups")
    assert after_check == {"pos_discounts": [], "order_promotions": []}
    assert len(left) == 8
    assert left[-3:] == ["g25", "g26", "g27"]
    assert purged == [5, 0]
    assert await removed_rows(location_id) == {
        "pos_customer_groups": ["g25", "g26", "g27"],
        "pos_discounts": [],
        "order_promotions": [],
    }


async def test_the_retention_is_a_setting_of_30_days() -> None:
    assert load_settings({}).mirror_retention_days == 30
    assert load_settings({"GOCRM_MIRROR_RETENTION_DAYS": "7"}).mirror_retention_days == 7
    assert build_runtime(load_settings({"GOCRM_MIRROR_RETENTION_DAYS": "7"})).mirror_retention == (
        timedelta(days=7)
    )
    assert load_settings({}).mirror_max_objects == 20_000


async def test_the_purge_skips_a_row_a_sync_holds_instead_of_waiting(
    api: Api, runtime: Runtime, database: Settings, postgres_only: None
) -> None:
    # given two groups removed long ago, one of them held by an open transaction elsewhere
    location_id = UUID(api.location_id)
    groups = [MirrorPosGroup(f"h{n}", f"H {n}", None, None, ()) for n in range(2)]
    await mirror.upsert_pos_groups(location_id, groups, LONG_AGO)
    await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, ["h0", "h1"], LONG_AGO)
    holder = await asyncpg.connect(database.database_url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "UPDATE pos_customer_groups SET name = 'held' WHERE location_id = $1 AND"
            " external_id = 'h0'",
            location_id,
        )

        # when the purge runs meanwhile
        purged = await asyncio.wait_for(sync.purge_removed(replace(runtime, clock=lambda: NOW)), 5)
        await transaction.rollback()
    finally:
        await holder.close()

    # then it went past the held row without waiting, and took the other
    assert purged >= 1
    assert (await removed_rows(location_id))["pos_customer_groups"] == ["h0"]


async def test_an_upstream_that_renames_everything_keeps_the_mirror_within_the_cap(
    open_shop: ShopFactory,
) -> None:
    # given a cap of 6, and GoPOS synchronised with its 2 groups and 2 discounts
    shop = await open_shop(dispatcher=Recorder())
    await configured(shop.api, "GOPOS")
    capped = replace(shop.runtime, mirror_max_objects=6)
    first = await run(shop, capped, Channel.GOPOS)

    # when GoPOS gives every object a new id, twice
    outcomes = []
    for _ in range(2):
        for group in shop.gopos.groups:
            group["id"] += 100
            group["discount_ids"] = [i + 100 for i in group["discount_ids"]]
        for item in shop.gopos.discounts:
            item["id"] += 100
        outcomes.append(await run(shop, capped, Channel.GOPOS))

    # then the mirror holds the 4 objects GoPOS has and 2 removed ones, never more than 6:
    # the rows removed longest ago went first, then as many of those just removed as needed
    assert first == ("SUCCEEDED", 1, 4, None)
    assert outcomes == [("SUCCEEDED", 1, 8, None), ("SUCCEEDED", 1, 10, None)]
    assert await removed_rows(shop.location_id) == {
        "pos_customer_groups": ["117", "121", "217", "221"],
        "pos_discounts": ["203", "208"],
        "order_promotions": [],
    }
    removed = await PosGroupMirror.filter(location_id=shop.location_id, removed=True)
    assert sorted(row.external_id for row in removed) == ["117", "121"]
