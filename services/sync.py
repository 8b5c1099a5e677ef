"""Synchronisation with GoPOS and GoOrder: queueing a run, running it, and reading the mirror.

`synchronize` records a QUEUED `SyncRun` and queues `run_sync`; the partial unique index on
sync runs lets one run per location and channel be unfinished, so a second request while one is
queued or running gets `SyncAlreadyRunning` with that run. `run_sync` follows the job lifecycle
(`services.lifecycle`, kind `SYNC_RUNS`):

1. opens the stored credentials (a secret sealed with another key fails the run at once);
2. reads the whole upstream, outside any transaction (an upstream failure fails the run at
   once, with the adapter's readable message, which names the upstream); an upstream holding
   more than `Runtime.mirror_max_objects` objects fails it too, and reading stops there;
3. converts it into mirror rows in the location's currency (`domain.sync`; data that would
   price wrong fails the run at once, and the mirror keeps what it had);
4. writes only what changed and marks what vanished as removed, in chunks of at most
   `Runtime.chunk_size` rows, each a transaction of its own that bumps the location's sync
   version; no transaction lasts longer than a chunk.

A second run over the same data writes nothing. The connections of CRM groups are not stored:
they are derived from the mirror when read (`group_links`), so a group whose reference is
edited links anew at once. Reads never load a location's whole mirror: connections and
unmatched references come from indexed statements over the references CRM groups use, and a
page of the mirror reads the ids and names it is ordered by, then that page's rows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from cachetools import LRUCache

from adapters.errors import UpstreamError
from adapters.goorder import fetch_goorder
from adapters.gopos import fetch_gopos
from adapters.secrets import SecretKeyMismatch, SecretTokenError
from domain.errors import DomainError, ErrorCode, UserError, fail
from domain.ids import parse_id
from domain.jobs import UNFINISHED, JobStatus
from domain.paging import items_after
from domain.references import normalise_reference
from domain.sync import (
    MAX_LISTED,
    NO_MATCHES,
    ConnectionStatus,
    GoorderRows,
    GoposRows,
    Matches,
    MirrorDiscount,
    MirrorObject,
    MirrorPosGroup,
    MirrorPromotion,
    SyncDataError,
    connection,
    connections,
    diff_rows,
    goorder_rows,
    gopos_rows,
    group_object,
    never_synced,
    promotion_object,
    reference_key,
    unmatched_references,
)
from domain.upstream import Channel, GoorderCredentials, GoposCredentials, too_many_objects
from models import mirror
from models.db import IntegrityError, Transaction, transaction
from models.entities import CustomerGroup, Location
from models.integrations import Integration, SyncRun
from models.mirror import Matched, Mirrored, MirrorTable
from services import metrics
from services.access import currency_minor_units
from services.integrations import get_integration, open_credentials
from services.jobs import Dispatcher, enqueue_sync
from services.lifecycle import Attempt, JobKind, PermanentFailure, run_attempt
from services.runtime import Runtime, SecretsUnavailableError

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------- sync runs


@dataclass(frozen=True)
class SyncRunInfo:
    id: UUID
    channel: Channel
    status: JobStatus
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    fetched: int  # GoPOS groups or GoOrder promotions read
    linked: int  # CRM groups linked to one of them
    unmatched: int  # upstream references no CRM group has
    written: int  # mirror rows written or marked removed
    error: str | None


def _run_info(row: SyncRun) -> SyncRunInfo:
    return SyncRunInfo(
        id=row.id,
        channel=Channel(row.channel),
        status=JobStatus(row.status),
        queued_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        fetched=row.fetched,
        linked=row.linked,
        unmatched=row.unmatched,
        written=row.written,
        error=row.error,
    )


class SyncAlreadyRunning(DomainError):  # noqa: N818 - a refusal, raised as a DomainError
    """A run of the channel is queued or running already: `run` is that run."""

    def __init__(self, run: SyncRunInfo) -> None:
        upstream = run.channel.upstream_name
        super().__init__(
            UserError(
                ErrorCode.CONFLICT,
                "channel",
                f"A synchronisation with {upstream} is already {run.status.value.lower()}.",
            )
        )
        self.run = run


async def get_run(location_id: UUID, run_id: str) -> SyncRunInfo | None:
    uid = parse_id(run_id)
    row = await SyncRun.get_or_none(id=uid, location_id=location_id) if uid else None
    return _run_info(row) if row else None


async def latest_run(location_id: UUID, channel: Channel) -> SyncRunInfo | None:
    """The channel's most recently queued run."""
    row = (
        await SyncRun.filter(location_id=location_id, channel=channel.value)
        .order_by("-created_at", "-id")
        .first()
    )
    return _run_info(row) if row else None


async def _active_run(location_id: UUID, channel: Channel) -> SyncRun | None:
    return await SyncRun.filter(
        location_id=location_id, channel=channel.value, status__in=UNFINISHED
    ).first()


async def synchronize(runtime: Runtime, location_id: UUID, channel: Channel) -> SyncRunInfo:
    """Queue a sync of `channel`. Raises NOT_CONFIGURED without stored credentials, and
    `SyncAlreadyRunning` while a run of the channel is unfinished."""
    if not (await get_integration(location_id, channel)).configured:
        raise fail(
            ErrorCode.NOT_CONFIGURED,
            "channel",
            f"{channel.upstream_name} is not configured: save its credentials first.",
        )
    for _ in range(2):
        try:
            row = await SyncRun.create(
                location_id=location_id, channel=channel.value, created_at=runtime.clock()
            )
        except IntegrityError:  # the partial unique index: a run is queued or running
            active = await _active_run(location_id, channel)
            if active is not None:
                raise SyncAlreadyRunning(_run_info(active)) from None
            continue  # it finished meanwhile: try once more
        queued = _run_info(row)  # as queued, whatever the job does meanwhile
        await enqueue_sync(runtime.dispatcher, row.id, attempts=0)
        return queued
    raise RuntimeError(f"a sync run of {channel.value} for {location_id} could not be queued")


async def queue_periodic_syncs(runtime: Runtime) -> int:
    """The periodic sync (when `runtime.sync_interval_seconds` is set): every configured
    integration whose latest run was queued longer ago than the interval, and none is
    unfinished, gets a new run. Returns how many were queued."""
    interval = runtime.sync_interval_seconds
    if interval is None:
        return 0
    cutoff = runtime.clock() - timedelta(seconds=interval)
    # Two statements whatever the number of locations: the configured integrations, and those
    # with a run queued since the cutoff.
    recent = {
        (str(location_id), str(channel))
        for location_id, channel in await SyncRun.filter(created_at__gt=cutoff)
        .distinct()
        .values_list("location_id", "channel")
    }
    queued = 0
    for location_id, channel in await Integration.filter(sealed_secret__isnull=False).values_list(
        "location_id", "channel"
    ):
        if (str(location_id), str(channel)) in recent:
            continue
        try:
            await synchronize(runtime, UUID(str(location_id)), Channel(channel))
        except SyncAlreadyRunning:
            continue
        queued += 1
    return queued


PURGE_BATCH = 1_000
PURGE_STATEMENTS = 10
"""Purge statements per mirror table in one periodic check, each of `PURGE_BATCH` rows at
most: a check stays short, and what is left waits for the next one."""


async def purge_removed(runtime: Runtime) -> int:
    """Delete the mirror rows of every location marked removed (gone upstream) longer than
    `Runtime.mirror_retention` ago, in bounded batches; returns how many went. Run by the
    periodic check."""
    before = runtime.clock() - runtime.mirror_retention
    purged = 0
    locations: set[UUID] = set()
    for table in (MirrorTable.POS_GROUPS, MirrorTable.POS_DISCOUNTS, MirrorTable.PROMOTIONS):
        for _ in range(PURGE_STATEMENTS):
            deleted = await mirror.purge_removed(table, before, PURGE_BATCH)
            purged += len(deleted)
            locations.update(deleted)
            if len(deleted) < PURGE_BATCH:
                break
    for location_id in sorted(locations):  # what the connections show has changed
        await mirror.bump_sync_version(location_id)
    if purged:
        log.info("purged %d mirror rows removed upstream before %s", purged, before.isoformat())
    return purged


async def _enqueue(dispatcher: Dispatcher, row: SyncRun, attempts: int) -> None:
    await enqueue_sync(dispatcher, row.id, attempts=attempts)


SYNC_RUNS = JobKind(SyncRun, "sync run", _enqueue)


@dataclass(frozen=True)
class _Fetched:
    rows: GoposRows | GoorderRows
    objects: tuple[MirrorObject, ...]  # what CRM groups link to, as fetched


async def _credentials(
    runtime: Runtime, location_id: UUID, channel: Channel
) -> GoposCredentials | GoorderCredentials:
    try:
        credentials = await open_credentials(runtime, location_id, channel)
    except (SecretKeyMismatch, SecretTokenError, SecretsUnavailableError) as error:
        raise PermanentFailure(f"The {channel.upstream_name} credentials: {error}.") from error
    if credentials is None:
        raise PermanentFailure(f"{channel.upstream_name} is not configured for this location.")
    return credentials


def _check_cap(channel: Channel, count: int, cap: int) -> None:
    if count > cap:
        raise PermanentFailure(too_many_objects(channel, count, cap, read_so_far=False))


async def _fetch(
    runtime: Runtime,
    credentials: GoposCredentials | GoorderCredentials,
    currency: str,
    minor_units: int,
) -> _Fetched:
    """The upstream's data as mirror rows; no transaction is open meanwhile. More objects
    than `Runtime.mirror_max_objects` fail the run, before anything is converted or written."""
    deadline, cap = runtime.sync_deadline_seconds, runtime.mirror_max_objects
    try:
        if isinstance(credentials, GoposCredentials):
            pos = await fetch_gopos(
                runtime.upstreams, credentials, deadline=deadline, max_objects=cap
            )
            _check_cap(Channel.GOPOS, len(pos.groups) + len(pos.discounts), cap)
            pos_rows = gopos_rows(pos, currency, minor_units)
            objects = tuple(group_object(g, removed=False) for g in pos_rows.groups)
            return _Fetched(pos_rows, objects)
        order = await fetch_goorder(
            runtime.upstreams, credentials, deadline=deadline, max_objects=cap
        )
        _check_cap(Channel.GOORDER, len(order.promotions), cap)
        order_rows = goorder_rows(order, currency, minor_units)
        objects = tuple(promotion_object(p, removed=False) for p in order_rows.promotions)
        return _Fetched(order_rows, objects)
    except UpstreamError as error:
        raise PermanentFailure(str(error)) from error
    except SyncDataError as error:
        raise PermanentFailure(error.message) from error


Step = Callable[[Sequence[Any], Transaction], Awaitable[int]]


@dataclass(frozen=True)
class _Table:
    """What a sync does to one mirror table: rows to write, ids to mark removed, and ids of
    removed rows to delete so that the location's mirror stays within the cap."""

    table: MirrorTable
    upserts: Sequence[Any]
    removals: Sequence[str]
    fetched: int  # rows the upstream holds
    kept_removed: frozenset[str]  # rows removed before, and still gone
    deletions: Sequence[str] = ()


async def _within_cap(location_id: UUID, tables: list[_Table], cap: int) -> list[_Table]:
    """`tables` with deletions that keep the location's mirror of the channel, removed rows
    included, at `cap` rows at most: rows removed longest ago first, then, when that is not
    enough, rows this sync would mark removed (deleted instead). Without it an upstream that
    renames every object at every sync would grow the mirror by the cap each time."""
    total = sum(t.fetched + len(t.kept_removed) + len(t.removals) for t in tables)
    excess = total - cap
    if excess <= 0:
        return tables
    oldest: list[tuple[datetime, int, str]] = []
    for index, table in enumerate(tables):
        for removed_at, external_id in await mirror.removed_rows(table.table, location_id):
            if external_id in table.kept_removed:
                oldest.append((removed_at, index, external_id))
    deleted: list[list[str]] = [[] for _ in tables]
    for _, index, external_id in sorted(oldest)[:excess]:
        deleted[index].append(external_id)
    excess -= sum(len(ids) for ids in deleted)
    result = []
    for index, table in enumerate(tables):
        removals = list(table.removals)
        instead = removals[: max(excess, 0)]
        excess -= len(instead)
        result.append(
            _Table(
                table.table,
                table.upserts,
                removals[len(instead) :],
                table.fetched,
                table.kept_removed,
                [*deleted[index], *instead],
            )
        )
    return result


def _pos_tables(
    rows: GoposRows,
    existing: tuple[dict[str, MirrorPosGroup], set[str], dict[str, MirrorDiscount], set[str]],
) -> list[_Table]:
    """The GoPOS writes, in order: a group never names a discount not yet written."""
    groups, removed_groups, discounts, removed_discounts = existing
    group_diff = diff_rows(groups, rows.groups, removed_groups)
    discount_diff = diff_rows(discounts, rows.discounts, removed_discounts)
    group_ids = {g.external_id for g in rows.groups}
    discount_ids = {d.external_id for d in rows.discounts}
    return [
        _Table(
            MirrorTable.POS_DISCOUNTS,
            discount_diff.upserts,
            discount_diff.removals,
            len(rows.discounts),
            frozenset(removed_discounts - discount_ids),
        ),
        _Table(
            MirrorTable.POS_GROUPS,
            group_diff.upserts,
            group_diff.removals,
            len(rows.groups),
            frozenset(removed_groups - group_ids),
        ),
    ]


def _promotion_tables(
    rows: GoorderRows, existing: tuple[dict[str, MirrorPromotion], set[str]]
) -> list[_Table]:
    promotions, removed = existing
    diff = diff_rows(promotions, rows.promotions, removed)
    ids = {p.external_id for p in rows.promotions}
    return [
        _Table(
            MirrorTable.PROMOTIONS,
            diff.upserts,
            diff.removals,
            len(rows.promotions),
            frozenset(removed - ids),
        )
    ]


def _upsert(table: MirrorTable) -> Callable[..., Awaitable[int]]:
    if table is MirrorTable.POS_DISCOUNTS:
        return mirror.upsert_pos_discounts
    return mirror.upsert_pos_groups if table is MirrorTable.POS_GROUPS else mirror.upsert_promotions


def _steps(
    location_id: UUID, tables: Sequence[_Table], now: datetime
) -> list[tuple[Step, Sequence[Any]]]:
    """Every table's upserts (in table order), then its removals and deletions: nothing is
    marked removed before what replaces it is there."""

    def upsert(table: _Table) -> Step:
        async def step(items: Sequence[Any], db: Transaction) -> int:
            return await _upsert(table.table)(location_id, items, now, db)

        return step

    def remove(table: _Table) -> Step:
        async def step(items: Sequence[Any], db: Transaction) -> int:
            return await mirror.mark_removed(table.table, location_id, items, now, db)

        return step

    def delete(table: _Table) -> Step:
        async def step(items: Sequence[Any], db: Transaction) -> int:
            return await mirror.delete_rows(table.table, location_id, items, db)

        return step

    steps: list[tuple[Step, Sequence[Any]]] = [(upsert(t), t.upserts) for t in tables]
    for table in reversed(tables):
        steps += [(remove(table), table.removals), (delete(table), table.deletions)]
    return steps


def _chunks(
    steps: Sequence[tuple[Step, Sequence[Any]]], size: int
) -> Iterator[list[tuple[Step, Sequence[Any]]]]:
    """The steps' rows, in order, `size` rows at most a chunk."""
    chunk: list[tuple[Step, Sequence[Any]]] = []
    room = size
    for step, items in steps:
        start = 0
        while start < len(items):
            part = items[start : start + room]
            chunk.append((step, part))
            start += len(part)
            room -= len(part)
            if room == 0:
                yield chunk
                chunk, room = [], size
    if chunk:
        yield chunk


async def _write(
    attempt: Attempt, location_id: UUID, rows: GoposRows | GoorderRows, now: datetime
) -> int:
    """Bring the mirror up to date, if this is still the run's attempt; returns the rows
    written. What to write is worked out first; then it is written in chunks of at most
    `Runtime.chunk_size` rows, each in a transaction of its own that bumps the location's sync
    version (a quote never keeps prices that a committed chunk changed). Each chunk's rows are
    added to the run's `written` once it has committed, so the count adds up over attempts."""
    if isinstance(rows, GoposRows):
        tables = _pos_tables(rows, await mirror.existing_pos(location_id))
    else:
        tables = _promotion_tables(rows, await mirror.existing_promotions(location_id))
    tables = await _within_cap(location_id, tables, attempt.runtime.mirror_max_objects)
    steps = _steps(location_id, tables, now)
    written = 0
    for chunk in _chunks(steps, attempt.runtime.chunk_size):
        attempt.stop_if_asked()
        async with transaction() as db:
            await attempt.hold(db)  # raises AttemptLost (and writes nothing) when taken over
            count = 0
            for step, items in chunk:
                count += await step(items, db)
            if count:
                await mirror.bump_sync_version(location_id, db)
        written += count
        await attempt.beat(add={"written": count})
        await asyncio.sleep(0)  # in-process, let requests run between chunks
    return written


async def _group_references(location_id: UUID) -> list[tuple[UUID, str]]:
    """The location's CRM groups as `(id, reference)`."""
    rows = await CustomerGroup.filter(location_id=location_id).values_list("id", "reference")
    return [(group_id, reference) for group_id, reference in rows]


async def run_sync(runtime: Runtime, sync_run_id: UUID) -> None:
    """Run one attempt of a queued sync run to the end; safe to run again, or twice at once
    (one claims it, the other does nothing)."""
    row = await SyncRun.get_or_none(id=sync_run_id)
    if row is None:
        log.warning("sync run %s does not exist; job ignored", sync_run_id)
        return
    if row.status != JobStatus.QUEUED:
        return
    location_id, channel = row.location_id, Channel(row.channel)

    async def work(attempt: Attempt) -> Mapping[str, Any]:
        started = time.perf_counter()
        credentials = await _credentials(runtime, location_id, channel)
        location = await Location.get(id=location_id)
        currency = location.currency
        fetched = await _fetch(runtime, credentials, currency, currency_minor_units(currency))
        written = await _write(attempt, location_id, fetched.rows, runtime.clock())
        groups = await _group_references(location_id)
        links = connections(groups, channel, fetched.objects, synced=True)
        linked = sum(1 for link in links.values() if link.status is ConnectionStatus.LINKED)
        unmatched = len(unmatched_references((ref for _, ref in groups), fetched.objects))
        notes = fetched.rows.notes
        log.info(
            "sync run %s: location %s, %s: fetched %d, linked %d, unmatched %d, written %d "
            "in %.2f s%s",
            sync_run_id,
            location_id,
            channel.value,
            len(fetched.objects),
            linked,
            unmatched,
            written,
            time.perf_counter() - started,
            f"; notes: {' '.join(notes)}" if notes else "",
        )
        # `written` is left as the chunks added it up, over every attempt of the run.
        return {"fetched": len(fetched.objects), "linked": linked, "unmatched": unmatched}

    status = await run_attempt(SYNC_RUNS, row.id, runtime, work, attempts=row.attempts)
    metrics.sync_attempt(channel, status)


# ------------------------------------------------------------------------- the mirror, read


@dataclass(frozen=True)
class PosGroupView:
    group: MirrorPosGroup
    removed: bool
    discounts: tuple[MirrorDiscount, ...]  # in id order


@dataclass(frozen=True)
class PromotionView:
    promotion: MirrorPromotion
    removed: bool


def _by_name(item: tuple[str, str]) -> tuple[str, str]:
    external_id, name = item
    return name.casefold(), external_id


async def _page_ids(
    channel: Channel, location_id: UUID, first: int, after: str | None
) -> list[str]:
    """The external ids of a page of the channel's mirror by name (then external id), after
    the object whose external id is `after`. Only ids and names are read to order it."""
    ordered = sorted(await mirror.names(channel, location_id), key=_by_name)
    page = items_after(ordered, first, after, key=lambda item: item[0])
    return [external_id for external_id, _ in page]


async def pos_groups_page(
    location_id: UUID, first: int, after: str | None
) -> tuple[PosGroupView, ...]:
    """`first` of the location's GoPOS groups by name (removed ones included), after the one
    whose external id is `after`, with their discounts. Raises `DomainError` on `first` or
    `after`."""
    ids = await _page_ids(Channel.GOPOS, location_id, first, after)
    groups = await mirror.pos_groups_by_id(location_id, ids)
    discount_ids = sorted({i for item in groups.values() for i in item.row.discount_ids})
    discounts = await mirror.pos_discounts(location_id, discount_ids)
    return tuple(_pos_group(groups[i], discounts) for i in ids if i in groups)


async def promotions_page(
    location_id: UUID, first: int, after: str | None
) -> tuple[PromotionView, ...]:
    """`first` of the location's GoOrder promotions by name (removed ones included), after the
    one whose external id is `after`. Raises `DomainError` on `first` or `after`."""
    ids = await _page_ids(Channel.GOORDER, location_id, first, after)
    found = await mirror.promotions_by_id(location_id, ids)
    return tuple(PromotionView(found[i].row, found[i].removed) for i in ids if i in found)


def _pos_group(
    item: Mirrored[MirrorPosGroup], discounts: Mapping[str, Mirrored[MirrorDiscount]]
) -> PosGroupView:
    own = tuple(discounts[i].row for i in item.row.discount_ids if i in discounts)
    return PosGroupView(item.row, item.removed, own)


@dataclass(frozen=True)
class GroupLink:
    """How one CRM group connects to one channel."""

    channel: Channel
    status: ConnectionStatus
    detail: str | None
    pos_group: PosGroupView | None = None  # GOPOS, when linked
    promotion: PromotionView | None = None  # GOORDER, when linked


async def synced_channels(location_id: UUID) -> frozenset[Channel]:
    """The channels of the location with a succeeded sync (an indexed look-up each)."""
    return frozenset(
        [channel for channel in Channel if await mirror.has_succeeded_sync(location_id, channel)]
    )


async def group_links(
    location_id: UUID,
    groups: Sequence[tuple[UUID, str]],
    synced: frozenset[Channel] | None = None,
) -> dict[UUID, tuple[GroupLink, ...]]:
    """The connections of the location's CRM groups `(id, reference)` to every channel (of
    which `synced` have a succeeded sync; read when not given). The mirror is read only where
    the groups' references are (an indexed statement per channel for the whole batch, and one
    for the linked GoPOS groups' discounts), however large it is; `domain.sync.connection`
    says what each group's matches make of it."""
    if synced is None:
        synced = await synced_channels(location_id)
    keys = sorted({key for _, reference in groups if (key := reference_key(reference))})
    links: dict[UUID, list[GroupLink]] = {group_id: [] for group_id, _ in groups}
    for channel in Channel:
        if channel not in synced:
            never = never_synced(channel)
            for group_id, _ in groups:
                links[group_id].append(GroupLink(channel, never.status, never.detail))
            continue
        if channel is Channel.GOPOS:
            found = await _pos_links(location_id, groups, keys)
        else:
            found = await _promotion_links(location_id, groups, keys)
        for group_id, _ in groups:
            links[group_id].append(found[group_id])
    return {group_id: tuple(found) for group_id, found in links.items()}


def _matches(matched: Matched[Any] | None, objects: Sequence[MirrorObject]) -> Matches:
    if matched is None:
        return NO_MATCHES
    return Matches(
        counting=tuple(o for o in objects if o.counts),
        counting_total=matched.counting_total,
        others=tuple(o for o in objects if not o.counts),
        others_total=matched.others_total,
    )


async def _pos_links(
    location_id: UUID, groups: Sequence[tuple[UUID, str]], keys: Sequence[str]
) -> dict[UUID, GroupLink]:
    found = await mirror.pos_groups_matching(location_id, keys, MAX_LISTED)
    linked: dict[UUID, Mirrored[MirrorPosGroup]] = {}
    result: dict[UUID, GroupLink] = {}
    for group_id, reference in groups:
        key = reference_key(reference)
        matched = found.get(key) if key else None
        rows = matched.rows if matched else ()
        objects = [group_object(item.row, removed=item.removed) for item in rows]
        link = connection(reference, _matches(matched, objects), Channel.GOPOS)
        if link.external_id is not None:
            linked[group_id] = next(i for i in rows if i.row.external_id == link.external_id)
        result[group_id] = GroupLink(Channel.GOPOS, link.status, link.detail)
    discount_ids = sorted({i for item in linked.values() for i in item.row.discount_ids})
    discounts = await mirror.pos_discounts(location_id, discount_ids)
    for group_id, item in linked.items():
        result[group_id] = replace(result[group_id], pos_group=_pos_group(item, discounts))
    return result


async def _promotion_links(
    location_id: UUID, groups: Sequence[tuple[UUID, str]], keys: Sequence[str]
) -> dict[UUID, GroupLink]:
    found = await mirror.promotions_matching(location_id, keys, MAX_LISTED)
    result: dict[UUID, GroupLink] = {}
    for group_id, reference in groups:
        key = reference_key(reference)
        matched = found.get(key) if key else None
        rows = matched.rows if matched else ()
        objects = [promotion_object(item.row, removed=item.removed) for item in rows]
        link = connection(reference, _matches(matched, objects), Channel.GOORDER)
        promotion = None
        if link.external_id is not None:
            item = next(i for i in rows if i.row.external_id == link.external_id)
            promotion = PromotionView(item.row, item.removed)
        result[group_id] = GroupLink(Channel.GOORDER, link.status, link.detail, None, promotion)
    return result


UNMATCHED_SHOWN = 100
"""How many unmatched references `unmatched` lists at most: a hostile upstream may hold
thousands of distinct ones."""


async def _unmatched(location_id: UUID, channel: Channel, known: Sequence[str]) -> tuple[str, ...]:
    """The first `UNMATCHED_SHOWN` references of the channel's upstream objects (not removed)
    whose keys are not `known`, sorted: as `domain.sync.unmatched_references` spells them, from
    one indexed statement."""
    return tuple(await mirror.unmatched_references(location_id, channel, known, UNMATCHED_SHOWN))


MAX_CACHED_LINKS = 10_000
"""CRM groups `(id, reference)` whose connections one location's `MirrorReads` keeps."""


class MirrorReads:
    """What one location's mirror answers at one sync version, with the channels that have a
    succeeded sync: the connections of each CRM group `(id, reference)`, and each channel's
    unmatched references for the location's group references, each read once per process.
    Kept in `Runtime.mirror_reads`; a sync that writes, and a purge, move the version on, so a
    back-office that reads the same views over and over costs the database next to nothing."""

    def __init__(self, location_id: UUID, synced: frozenset[Channel]) -> None:
        self.location_id = location_id
        self.synced = synced
        self._links: LRUCache[tuple[UUID, str], tuple[GroupLink, ...]] = LRUCache(MAX_CACHED_LINKS)
        self._unmatched: dict[Channel, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    async def links(self, groups: Sequence[tuple[UUID, str]]) -> dict[UUID, tuple[GroupLink, ...]]:
        missing = [key for key in dict.fromkeys(groups) if key not in self._links]
        if missing:
            found = await group_links(self.location_id, missing, self.synced)
            for group_id, reference in missing:
                self._links[(group_id, reference)] = found[group_id]
        return {group_id: self._links[(group_id, reference)] for group_id, reference in groups}

    async def unmatched(self, channel: Channel) -> tuple[str, ...]:
        groups = await _group_references(self.location_id)
        known = tuple(sorted({normalise_reference(r) for _, r in groups if r is not None}))
        cached = self._unmatched.get(channel)
        if cached is not None and cached[0] == known:
            return cached[1]
        found = await _unmatched(self.location_id, channel, known)
        self._unmatched[channel] = (known, found)
        return found


async def mirror_reads(runtime: Runtime, location_id: UUID) -> MirrorReads:
    """The location's `MirrorReads` as of now: its sync version and synced channels read (two
    indexed statements), the rest from the process's cache when they have not moved."""
    version = await mirror.sync_version(location_id)
    synced = await synced_channels(location_id)
    reads: MirrorReads | None = runtime.mirror_reads.get(location_id, version)
    if reads is None or reads.synced != synced:
        reads = MirrorReads(location_id, synced)
        runtime.mirror_reads.put(location_id, version, reads)
    return reads


async def unmatched(runtime: Runtime, location_id: UUID, channel: Channel) -> tuple[str, ...]:
    """The first `UNMATCHED_SHOWN` references of the channel's upstream objects (not removed)
    that no CRM group has, sorted."""
    return await (await mirror_reads(runtime, location_id)).unmatched(channel)
