"""The sync mirror's tables (migration 0003) and its set-based writes, on SQLite and PostgreSQL.

The database allows one unfinished (QUEUED or RUNNING) sync run per location and channel; the
mirror is written in batches of upserts, rows gone upstream are flagged, never deleted, and
what a sync writes reads back exactly, so that the same snapshot again writes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from tortoise import Tortoise, connections
from tortoise.migrations.autodetector import MigrationAutodetector

from domain.links import MirrorObject
from domain.mirror_diff import MirrorDiff, diff_rows
from domain.sync import (
    DiscountType,
    MirrorDiscount,
    MirrorPosGroup,
    MirrorPromotion,
    PromotionType,
)
from domain.upstream import Channel
from gateway.runtime import database_config
from models import mirror
from models.config import tortoise_config
from models.db import IntegrityError, transaction
from models.mirror import Mirrored, MirrorTable
from models.tables.crm import Location
from models.tables.integrations import (
    OrderPromotionMirror,
    PosDiscountMirror,
    PosGroupMirror,
    SyncRun,
)
from settings import Settings
from tests.builders import sql_statements
from tests.migrations import run_script, scratch_database

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
T2 = T0 + timedelta(hours=2)

VIP = MirrorPosGroup("g-1", "Stały klient VIP", "VIP ", 5000, ("d-1", "d-2"))
PLAIN = MirrorPosGroup("g-2", "Plain", None, None, ())
TEN_PERCENT = MirrorDiscount("d-1", "10%", DiscountType.PERCENT, 1000, True)
FIVE_OFF = MirrorDiscount("d-2", "5 zł", DiscountType.AMOUNT, 500, False)
SUMMER = MirrorPromotion(
    "p-1", "Summer", "VIP", PromotionType.ORDER_PERCENT, "AUTOMATIC", 1500, 4000, True
)
HUGE = MirrorPromotion(
    "p-2", "Huge", None, PromotionType.ORDER_AMOUNT, "MANUAL", 10**10, None, False
)


async def new_location(name: str = "Bistro") -> UUID:
    location = await Location.create(name=name)
    return location.id


async def _table_names(postgres: bool) -> set[str]:
    sql = (
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        if postgres
        else "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    _, rows = await connections.get("default").execute_query(sql)
    return {row["name"] for row in rows}


# ------------------------------------------------------------------------------- migration


async def test_the_migration_creates_the_tables_and_the_unfinished_run_index(
    database: Settings,
) -> None:
    tables = await _table_names(not database.is_sqlite)
    assert {
        "integrations",
        "sync_runs",
        "pos_discounts",
        "pos_customer_groups",
        "order_promotions",
    } <= tables
    sql = (
        "SELECT indexdef AS sql FROM pg_indexes WHERE indexname = 'sync_runs_one_unfinished'"
        if not database.is_sqlite
        else "SELECT sql FROM sqlite_master WHERE name = 'sync_runs_one_unfinished'"
    )
    _, rows = await connections.get("default").execute_query(sql)
    assert len(rows) == 1
    assert "UNIQUE" in rows[0]["sql"]
    assert "QUEUED" in rows[0]["sql"]
    assert "RUNNING" in rows[0]["sql"]


async def test_the_migrations_describe_the_models_exactly(database: Settings) -> None:
    """What `tortoise makemigrations` would write: nothing, when every model change has its
    migration."""
    config = tortoise_config(database_config(database))
    detector = MigrationAutodetector(Tortoise.apps, config["apps"])

    writers = await detector.changes()

    assert [op.describe() for writer in writers for op in writer.operations] == []


# Run in a process of its own: Tortoise's connections are global, and the suite's are open.
_MIGRATE_FROM_0002 = """
import asyncio, json, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models.config import DatabaseConfig, tortoise_config


async def main(url):
    config = tortoise_config(DatabaseConfig(url=url))
    await migrate(config=config, target="models.0002_soft_delete_constraints_idempotency")
    await Tortoise.init(config=config)
    db = connections.get("default")
    await db.execute_query(
        "INSERT INTO locations (id, name, currency, timezone, created_at) VALUES "
        "('00000000-0000-7000-8000-00000000000a', 'L', 'PLN', 'UTC', '2026-11-01 10:00:00+00:00')"
    )
    await Tortoise.close_connections()
    await migrate(config=config)
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    _, rows = await connections.get("default").execute_query(
        "SELECT name, sync_version FROM locations"
    )
    await Tortoise.close_connections()
    print(json.dumps([[row["name"], row["sync_version"]] for row in rows]))

asyncio.run(main(sys.argv[1]))
"""


async def test_migration_0003_gives_existing_locations_sync_version_zero(
    database: Settings, tmp_path: Path
) -> None:
    async with scratch_database(database, tmp_path) as url:
        result = await run_script(_MIGRATE_FROM_0002, url)

    assert result == [["L", 0]]


# ------------------------------------------------------------------- one unfinished sync run


@pytest.mark.parametrize("first", ["QUEUED", "RUNNING"])
@pytest.mark.parametrize("second", ["QUEUED", "RUNNING"])
async def test_a_second_unfinished_run_of_a_channel_is_refused(
    database: Settings, first: str, second: str
) -> None:
    location_id = await new_location()
    await SyncRun.create(location_id=location_id, channel="GOPOS", status=first)

    with pytest.raises(IntegrityError):
        await SyncRun.create(location_id=location_id, channel="GOPOS", status=second)

    runs = await SyncRun.filter(location_id=location_id).values_list("channel", "status")
    assert runs == [("GOPOS", first)]


@pytest.mark.parametrize("finished", ["SUCCEEDED", "FAILED"])
async def test_a_new_run_is_allowed_once_the_last_one_finished(
    database: Settings, finished: str
) -> None:
    location_id = await new_location()
    run = await SyncRun.create(location_id=location_id, channel="GOPOS")
    await SyncRun.filter(id=run.id).update(status=finished)

    await SyncRun.create(location_id=location_id, channel="GOPOS")
    await SyncRun.create(location_id=location_id, channel="GOPOS", status=finished)

    runs = await SyncRun.filter(location_id=location_id)
    assert sorted(run.status for run in runs) == sorted([finished, finished, "QUEUED"])


async def test_the_other_channel_and_other_locations_have_their_own_run(
    database: Settings,
) -> None:
    location_id, other_id = await new_location(), await new_location("Other")
    await SyncRun.create(location_id=location_id, channel="GOPOS", status="RUNNING")

    await SyncRun.create(location_id=location_id, channel="GOORDER")
    await SyncRun.create(location_id=other_id, channel="GOPOS")

    assert (
        await SyncRun.filter(status__in=["QUEUED", "RUNNING"])
        .filter(location_id__in=[location_id, other_id])
        .count()
        == 3
    )


async def test_of_two_concurrent_requests_to_queue_a_run_exactly_one_succeeds(
    database: Settings,
) -> None:
    location_id = await new_location()

    async def queue() -> str:
        try:
            async with transaction() as db:
                await SyncRun.create(location_id=location_id, channel="GOORDER", using_db=db)
        except IntegrityError:
            return "refused"
        return "queued"

    outcomes = await asyncio.gather(queue(), queue())

    assert sorted(outcomes) == ["queued", "refused"]
    assert await SyncRun.filter(location_id=location_id).count() == 1


# ------------------------------------------------------------------------------------ upserts


async def test_upserts_insert_rows_that_read_back_exactly(database: Settings) -> None:
    location_id = await new_location()

    written = (
        await mirror.upsert_pos_groups(location_id, [VIP, PLAIN], T0),
        await mirror.upsert_pos_discounts(location_id, [TEN_PERCENT, FIVE_OFF], T0),
        await mirror.upsert_promotions(location_id, [SUMMER, HUGE], T0),
    )

    assert written == (2, 2, 2)
    assert await mirror.existing_pos(location_id) == (
        {"g-1": VIP, "g-2": PLAIN},
        set(),
        {"d-1": TEN_PERCENT, "d-2": FIVE_OFF},
        set(),
    )
    assert await mirror.existing_promotions(location_id) == ({"p-1": SUMMER, "p-2": HUGE}, set())


async def test_reference_keys_are_the_normalised_references(database: Settings) -> None:
    location_id = await new_location()
    await mirror.upsert_pos_groups(location_id, [VIP, PLAIN], T0)
    await mirror.upsert_promotions(location_id, [SUMMER, HUGE], T0)

    groups = await PosGroupMirror.filter(location_id=location_id).order_by("external_id")
    found = await OrderPromotionMirror.filter(location_id=location_id).order_by("external_id")

    assert [(g.reference, g.reference_key) for g in groups] == [("VIP ", "vip"), (None, None)]
    assert [(p.reference, p.reference_key) for p in found] == [("VIP", "vip"), (None, None)]


async def test_an_upsert_updates_only_the_rows_it_is_given(database: Settings) -> None:
    location_id = await new_location()
    await mirror.upsert_pos_groups(location_id, [VIP, PLAIN], T0)
    renamed = MirrorPosGroup("g-2", "Plain renamed", "plain", 100, ("d-1",))

    written = await mirror.upsert_pos_groups(location_id, [renamed], T1)

    assert written == 1
    groups, _, _, _ = await mirror.existing_pos(location_id)
    assert groups == {"g-1": VIP, "g-2": renamed}
    rows = await PosGroupMirror.filter(location_id=location_id).order_by("external_id")
    assert [(r.external_id, r.last_seen_at, r.updated_at) for r in rows] == [
        ("g-1", T0, T0),
        ("g-2", T1, T1),
    ]


async def test_mark_removed_keeps_the_row_and_counts_only_rows_not_yet_removed(
    database: Settings,
) -> None:
    location_id = await new_location()
    await mirror.upsert_pos_groups(location_id, [VIP, PLAIN], T0)

    first = await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, ["g-2", "missing"], T1)
    again = await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, ["g-2"], T2)

    assert (first, again) == (1, 0)
    groups, removed, _, _ = await mirror.existing_pos(location_id)
    assert (groups, removed) == ({"g-1": VIP, "g-2": PLAIN}, {"g-2"})
    row = await PosGroupMirror.get(location_id=location_id, external_id="g-2")
    assert (row.removed, row.last_seen_at, row.updated_at) == (True, T0, T1)
    assert await mirror.pos_groups(location_id) == [Mirrored(PLAIN, True), Mirrored(VIP, False)]


async def test_a_removed_row_upserted_again_is_back(database: Settings) -> None:
    location_id = await new_location()
    await mirror.upsert_pos_discounts(location_id, [TEN_PERCENT, FIVE_OFF], T0)
    await mirror.mark_removed(MirrorTable.POS_DISCOUNTS, location_id, ["d-1"], T1)

    written = await mirror.upsert_pos_discounts(location_id, [TEN_PERCENT], T2)

    assert written == 1
    assert await mirror.pos_discounts_by_id(location_id) == {
        "d-1": Mirrored(TEN_PERCENT, False),
        "d-2": Mirrored(FIVE_OFF, False),
    }
    row = await PosDiscountMirror.get(location_id=location_id, external_id="d-1")
    assert (row.removed, row.last_seen_at, row.updated_at) == (False, T2, T2)


async def test_promotions_are_removed_and_come_back(database: Settings) -> None:
    location_id = await new_location()
    await mirror.upsert_promotions(location_id, [SUMMER, HUGE], T0)

    removed = await mirror.mark_removed(MirrorTable.PROMOTIONS, location_id, ["p-1"], T1)
    assert removed == 1
    assert await mirror.existing_promotions(location_id) == (
        {"p-1": SUMMER, "p-2": HUGE},
        {"p-1"},
    )

    await mirror.upsert_promotions(location_id, [SUMMER], T2)
    assert await mirror.promotions(location_id) == [
        Mirrored(HUGE, False),
        Mirrored(SUMMER, False),
    ]


def _groups(count: int, suffix: str = "") -> list[MirrorPosGroup]:
    return [
        MirrorPosGroup(f"g-{n:04d}", f"Group {n}{suffix}", f"ref-{n}", n * 100, (f"d-{n}",))
        for n in range(count)
    ]


async def test_1200_rows_are_written_in_one_statement_or_batches_of_500(
    database: Settings,
) -> None:
    # PostgreSQL takes every row in one statement (arrays unnested); SQLite, whose statements
    # take a bounded number of parameters, in batches of 500.
    statements_needed = 3 if database.is_sqlite else 1
    location_id = await new_location()
    fetched = _groups(1200)

    with sql_statements() as statements:
        written = await mirror.upsert_pos_groups(location_id, fetched, T0)
    inserts = [s for s in statements if s.startswith('INSERT INTO "pos_customer_groups"')]

    assert (written, len(inserts)) == (1200, statements_needed)
    assert await PosGroupMirror.filter(location_id=location_id).count() == 1200

    with sql_statements() as statements:
        rewritten = await mirror.upsert_pos_groups(location_id, _groups(1200, " (new)"), T1)
    assert rewritten == 1200
    assert len([s for s in statements if s.startswith("INSERT")]) == statements_needed
    groups, removed, _, _ = await mirror.existing_pos(location_id)
    assert (groups, removed) == ({g.external_id: g for g in _groups(1200, " (new)")}, set())


async def test_1200_rows_are_marked_removed_in_batches(database: Settings) -> None:
    location_id = await new_location()
    fetched = _groups(1200)
    await mirror.upsert_pos_groups(location_id, fetched, T0)

    marked = await mirror.mark_removed(
        MirrorTable.POS_GROUPS, location_id, [g.external_id for g in fetched], T1
    )

    assert marked == 1200
    assert await PosGroupMirror.filter(location_id=location_id, removed=True).count() == 1200


async def test_a_second_identical_snapshot_writes_nothing(database: Settings) -> None:
    location_id = await new_location()
    fetched_groups, fetched_discounts = [*_groups(600), VIP, PLAIN], [TEN_PERCENT, FIVE_OFF]
    await mirror.upsert_pos_groups(location_id, fetched_groups, T0)
    await mirror.upsert_pos_discounts(location_id, fetched_discounts, T0)
    await mirror.upsert_promotions(location_id, [SUMMER, HUGE], T0)
    await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, ["g-0001"], T1)

    groups, removed_groups, discounts, removed_discounts = await mirror.existing_pos(location_id)
    promotions, removed_promotions = await mirror.existing_promotions(location_id)
    without_removed = [g for g in fetched_groups if g.external_id != "g-0001"]

    assert diff_rows(groups, without_removed, removed_groups).writes == 0
    assert diff_rows(discounts, fetched_discounts, removed_discounts).writes == 0
    assert diff_rows(promotions, [SUMMER, HUGE], removed_promotions).writes == 0
    # the removed group listed again is one write: bringing it back
    assert diff_rows(groups, fetched_groups, removed_groups).upserts == (fetched_groups[1],)


async def test_the_diff_of_an_unchanged_mirror_is_empty_in_one_comparison_a_table(
    database: Settings,
) -> None:
    # PostgreSQL compares in one statement per table and answers empty arrays; SQLite reads
    # the tables whole (one statement each) for `diff_rows`.
    location_id = await new_location()
    other = await new_location("Elsewhere")
    fetched_groups, fetched_discounts = [*_groups(600), VIP, PLAIN], [TEN_PERCENT, FIVE_OFF]
    await mirror.upsert_pos_groups(location_id, fetched_groups, T0)
    await mirror.upsert_pos_discounts(location_id, fetched_discounts, T0)
    await mirror.upsert_promotions(location_id, [SUMMER, HUGE], T0)
    await mirror.upsert_pos_groups(other, [VIP], T0)
    await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, ["g-0001"], T1)
    without_removed = [g for g in fetched_groups if g.external_id != "g-0001"]

    with sql_statements() as statements:
        groups, discounts = await mirror.diff_pos(location_id, without_removed, fetched_discounts)
        promotions = await mirror.diff_promotions(location_id, [SUMMER, HUGE])

    assert groups == mirror.TableDiff(MirrorDiff((), (), 601), frozenset({"g-0001"}))
    assert discounts == mirror.TableDiff(MirrorDiff((), (), 2), frozenset())
    assert promotions == mirror.TableDiff(MirrorDiff((), (), 2), frozenset())
    selects = [s for s in statements if s.startswith("SELECT")]
    compared = [s for s in selects if "FULL JOIN" in s]
    # PostgreSQL: whether the mirror holds anything, then the comparison, for each table
    assert (len(selects), len(compared)) == ((3, 0) if database.is_sqlite else (6, 3))


async def test_the_diff_finds_new_changed_back_and_gone_rows_as_diff_rows_does(
    database: Settings,
) -> None:
    location_id = await new_location()
    other = await new_location("Elsewhere")
    await mirror.upsert_pos_groups(location_id, [*_groups(5), VIP, PLAIN], T0)
    await mirror.upsert_pos_discounts(location_id, [TEN_PERCENT, FIVE_OFF], T0)
    await mirror.upsert_promotions(location_id, [SUMMER, HUGE], T0)
    await mirror.upsert_pos_groups(other, [MirrorPosGroup("g-9", "Other", None, None, ())], T0)
    await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, ["g-0001", "g-0002"], T1)
    existing = await mirror.existing_pos(location_id)
    changed = [
        MirrorPosGroup("g-0000", "Group 0", "ref-0", 0, ("d-0", "d-1")),  # its discounts
        MirrorPosGroup("g-0001", "Group 1", "ref-1", 100, ("d-1",)),  # back after removal
        MirrorPosGroup("g-0003", "Group 3", None, 300, ("d-3",)),  # its reference
        MirrorPosGroup("g-0004", "Group 4", "ref-4", None, ("d-4",)),  # its limit
        VIP,  # unchanged
        MirrorPosGroup("g-7", "New", "NEW", 1, ()),  # new
        MirrorPosGroup("g-9", "Not this location's", None, None, ()),  # new here
    ]  # PLAIN and g-0002 (removed before) are gone
    discounts = [TEN_PERCENT, MirrorDiscount("d-2", "5 zł", DiscountType.AMOUNT, 500, True)]
    promotions = [MirrorPromotion("p-2", "Huge", None, PromotionType.ORDER_AMOUNT, "AUTOMATIC",
                                  10**10, None, False)]  # fmt: skip

    found_groups, found_discounts = await mirror.diff_pos(location_id, changed, discounts)
    found_promotions = await mirror.diff_promotions(location_id, promotions)

    assert found_groups == mirror.TableDiff(
        MirrorDiff((*changed[:4], *changed[5:]), ("g-2",), 1), frozenset({"g-0002"})
    )
    assert found_groups.diff == diff_rows(existing[0], changed, existing[1])
    assert found_discounts == mirror.TableDiff(MirrorDiff((discounts[1],), (), 1), frozenset())
    assert found_promotions == mirror.TableDiff(
        MirrorDiff(tuple(promotions), ("p-1",), 0), frozenset()
    )


async def test_the_diff_of_an_empty_mirror_is_every_fetched_row(database: Settings) -> None:
    location_id = await new_location()
    other = await new_location("Elsewhere")
    await mirror.upsert_pos_groups(other, [VIP], T0)
    await mirror.upsert_pos_discounts(other, [TEN_PERCENT], T0)

    with sql_statements() as statements:
        groups, discounts = await mirror.diff_pos(location_id, [VIP, PLAIN], [TEN_PERCENT])

    assert groups == mirror.TableDiff(MirrorDiff((VIP, PLAIN), (), 0), frozenset())
    assert discounts == mirror.TableDiff(MirrorDiff((TEN_PERCENT,), (), 0), frozenset())
    assert not any("FULL JOIN" in s for s in statements)


async def test_the_diff_refuses_an_id_fetched_twice(database: Settings) -> None:
    location_id = await new_location()

    with pytest.raises(ValueError, match="fetched twice"):
        await mirror.diff_pos(location_id, [VIP, VIP], [])


async def test_writes_join_the_callers_transaction(database: Settings) -> None:
    location_id = await new_location()

    seen_inside: list[list[Mirrored[MirrorPosGroup]]] = []

    async def sync_that_fails() -> None:
        async with transaction() as db:
            await mirror.upsert_pos_groups(location_id, [VIP], T0, db)
            await mirror.upsert_promotions(location_id, [SUMMER], T0, db)
            await mirror.bump_sync_version(location_id, db)
            seen_inside.append(await mirror.pos_groups(location_id, db))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        await sync_that_fails()

    assert seen_inside == [[Mirrored(VIP, False)]]

    assert await mirror.pos_groups(location_id) == []
    assert await mirror.promotions(location_id) == []
    assert (await Location.get(id=location_id)).sync_version == 0


async def test_one_locations_mirror_is_not_anothers(database: Settings) -> None:
    location_id, other_id = await new_location(), await new_location("Other")
    await mirror.upsert_pos_groups(location_id, [VIP], T0)
    await mirror.upsert_pos_groups(other_id, [PLAIN], T0)
    await mirror.upsert_promotions(location_id, [SUMMER], T0)

    marked = await mirror.mark_removed(MirrorTable.POS_GROUPS, other_id, ["g-1"], T1)

    assert marked == 0
    assert await mirror.pos_groups(location_id) == [Mirrored(VIP, False)]
    assert await mirror.pos_groups(other_id) == [Mirrored(PLAIN, False)]
    assert await mirror.promotions(other_id) == []
    assert await mirror.pos_discounts_by_id(other_id) == {}


async def test_clear_deletes_the_locations_rows_of_one_table_removed_or_not(
    database: Settings,
) -> None:
    location_id, other_id = await new_location(), await new_location("Other")
    await mirror.upsert_pos_groups(location_id, [VIP, PLAIN], T0)
    await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, ["g-2"], T1)
    await mirror.upsert_pos_discounts(location_id, [TEN_PERCENT], T0)
    await mirror.upsert_pos_groups(other_id, [VIP], T0)

    assert await mirror.clear(MirrorTable.POS_GROUPS, location_id) == 2

    assert await mirror.pos_groups(location_id) == []
    assert await mirror.pos_discounts_by_id(location_id) == {"d-1": Mirrored(TEN_PERCENT, False)}
    assert await mirror.pos_groups(other_id) == [Mirrored(VIP, False)]
    assert await mirror.clear(MirrorTable.POS_GROUPS, location_id) == 0


async def test_a_naive_time_is_refused(database: Settings) -> None:
    location_id = await new_location()

    with pytest.raises(ValueError, match="timezone-aware"):
        await mirror.upsert_pos_groups(location_id, [VIP], datetime(2026, 11, 1, 10))

    assert await mirror.pos_groups(location_id) == []


# --------------------------------------------------------------------- connections and version


async def test_mirror_objects_are_what_the_connections_view_needs(database: Settings) -> None:
    location_id = await new_location()
    await mirror.upsert_pos_groups(location_id, [PLAIN, VIP], T0)
    await mirror.upsert_promotions(location_id, [SUMMER, HUGE], T0)
    await mirror.mark_removed(MirrorTable.POS_GROUPS, location_id, ["g-2"], T1)

    assert await mirror.mirror_objects(location_id, Channel.GOPOS) == [
        MirrorObject("g-1", "Stały klient VIP", "VIP ", removed=False, active=True),
        MirrorObject("g-2", "Plain", None, removed=True, active=True),
    ]
    assert await mirror.mirror_objects(location_id, Channel.GOORDER) == [
        MirrorObject("p-1", "Summer", "VIP", removed=False, active=True),
        MirrorObject("p-2", "Huge", None, removed=False, active=False),
    ]


async def test_has_succeeded_sync_counts_only_a_succeeded_run_of_the_channel(
    database: Settings,
) -> None:
    location_id = await new_location()
    await SyncRun.create(location_id=location_id, channel="GOPOS", status="FAILED")
    await SyncRun.create(location_id=location_id, channel="GOORDER", status="SUCCEEDED")
    await SyncRun.create(location_id=location_id, channel="GOPOS", status="RUNNING")

    before = await mirror.has_succeeded_sync(location_id, Channel.GOPOS)
    await SyncRun.filter(location_id=location_id, channel="GOPOS", status="RUNNING").update(
        status="SUCCEEDED"
    )
    after = await mirror.has_succeeded_sync(location_id, Channel.GOPOS)

    assert (before, after) == (False, True)
    assert await mirror.has_succeeded_sync(location_id, Channel.GOORDER) is True


async def test_bump_sync_version_increments_one_location(database: Settings) -> None:
    location_id, other_id = await new_location(), await new_location("Other")

    versions = [await mirror.bump_sync_version(location_id) for _ in range(3)]

    assert versions == [1, 2, 3]
    stored = await Location.filter(id__in=[location_id, other_id]).values_list("id", "sync_version")
    assert dict(stored) == {location_id: 3, other_id: 0}


async def test_bump_sync_version_of_an_unknown_location_raises(database: Settings) -> None:
    with pytest.raises(LookupError):
        await mirror.bump_sync_version(uuid4())
