"""The connections of CRM groups to the mirror, and the upstream references none of them has.

The connections are not stored: they are derived from the mirror when read (`group_links`), so
a group whose reference is edited links anew at once. Reads never load a location's whole
mirror: connections and unmatched references come from indexed statements over the references
CRM groups use. `MirrorReads` keeps what one location's mirror answered at one sync version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from cachetools import LRUCache

from domain.links import (
    NO_MATCHES,
    Matches,
    MirrorObject,
    connection,
    group_object,
    never_synced,
    promotion_object,
    reference_key,
)
from domain.messages import Message
from domain.references import normalise_reference
from domain.sync import MAX_LISTED, ConnectionStatus, MirrorPosGroup
from domain.upstream import Channel
from models import groups, mirror
from models.mirror import Matched, Mirrored
from services.runtime import Runtime
from services.sync.views import PosGroupView, PromotionView, pos_group_view


@dataclass(frozen=True)
class GroupLink:
    """How one CRM group connects to one channel."""

    channel: Channel
    status: ConnectionStatus
    detail: Message | None
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
    for the linked GoPOS groups' discounts), however large it is; `domain.links.connection`
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
        result[group_id] = replace(result[group_id], pos_group=pos_group_view(item, discounts))
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
    whose keys are not `known`, sorted: as `domain.links.unmatched_references` spells them, from
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
        crm_groups = await groups.references(self.location_id)
        known = tuple(sorted({normalise_reference(r) for _, r in crm_groups if r is not None}))
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
