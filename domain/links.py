"""What links to what: each CRM group to the upstream objects with its reference.

References match after trimming and case-folding on both sides; an upstream object with no
reference matches nothing. A removed object, and an inactive promotion, is shown in the detail
text but never links. The connections view (`connections`) and the references no group uses
(`unmatched_references`) are worked out here from plain values; `services.sync` reads them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from domain.messages import Message, listing, msg
from domain.references import normalise_reference
from domain.sync import (
    MAX_LISTED,
    ConnectionStatus,
    MirrorPosGroup,
    MirrorPromotion,
    labelled,
    quoted,
)
from domain.upstream import Channel


@dataclass(frozen=True, slots=True)
class MirrorObject:
    """One mirrored upstream object as the connections view sees it."""

    external_id: str
    name: str
    reference: str | None
    removed: bool = False
    active: bool = True  # promotions only; GoPOS groups are always active

    @property
    def counts(self) -> bool:
        """Whether it can link a group."""
        return self.active and not self.removed


def group_object(group: MirrorPosGroup, *, removed: bool) -> MirrorObject:
    return MirrorObject(group.external_id, group.name, group.reference, removed=removed)


def promotion_object(promotion: MirrorPromotion, *, removed: bool) -> MirrorObject:
    return MirrorObject(
        promotion.external_id,
        promotion.name,
        promotion.reference,
        removed=removed,
        active=promotion.active,
    )


@dataclass(frozen=True, slots=True)
class Connection:
    status: ConnectionStatus
    external_id: str | None = None  # the linked object, when LINKED
    detail: Message | None = None  # why it is not linked


def _what(channel: Channel) -> str:
    return "gopos_group" if channel is Channel.GOPOS else "goorder_promotion"


def _why_not(item: MirrorObject, channel: Channel) -> Message:
    if item.removed:
        return msg("link.removed", upstream=channel.upstream_name)
    return msg("link.inactive")


def _index(objects: Iterable[MirrorObject]) -> dict[str, list[MirrorObject]]:
    index: dict[str, list[MirrorObject]] = defaultdict(list)
    for item in objects:
        if item.reference is not None and (key := normalise_reference(item.reference)):
            index[key].append(item)
    return index


@dataclass(frozen=True, slots=True)
class Matches:
    """The mirrored objects of one channel with one reference, as much of them as a connection
    shows: the first `MAX_LISTED` that can link a group and the first that cannot, each by
    external id, with how many there are of each."""

    counting: tuple[MirrorObject, ...] = ()
    counting_total: int = 0
    others: tuple[MirrorObject, ...] = ()
    others_total: int = 0


NO_MATCHES = Matches()


def matches_of(objects: Iterable[MirrorObject]) -> Matches:
    """`Matches` of every object with one reference."""
    ordered = sorted(objects, key=lambda m: m.external_id)
    counting = [m for m in ordered if m.counts]
    others = [m for m in ordered if not m.counts]
    return Matches(
        tuple(counting[:MAX_LISTED]), len(counting), tuple(others[:MAX_LISTED]), len(others)
    )


def reference_key(reference: str | None) -> str | None:
    """The key under which a CRM group's reference finds its matches (`MirrorObject`s whose
    reference has the same key), or None when the group has no reference."""
    trimmed = reference.strip() if reference is not None else ""
    return normalise_reference(trimmed) if trimmed else None


def connection(reference: str | None, matches: Matches, channel: Channel) -> Connection:
    """The connection of a CRM group with `reference` to the channel's objects that match it
    (`matches`, those with its `reference_key`), once the channel has been synchronised."""
    trimmed = reference.strip() if reference is not None else ""
    if not trimmed:
        return Connection(ConnectionStatus.NOT_FOUND, detail=msg("link.no_reference"))
    what = _what(channel)
    if matches.counting_total == 1:
        return Connection(ConnectionStatus.LINKED, matches.counting[0].external_id)
    if matches.counting_total:
        named: list[str | Message] = [
            msg("link.object", id=m.external_id, name=quoted(m.name)) for m in matches.counting
        ]
        return Connection(
            ConnectionStatus.AMBIGUOUS,
            detail=msg(
                f"link.ambiguous.{what}",
                count=matches.counting_total,
                reference=trimmed,
                objects=listing(named, matches.counting_total, limit=MAX_LISTED),
            ),
        )
    if not matches.others_total:
        return Connection(
            ConnectionStatus.NOT_FOUND, detail=msg(f"link.missing.{what}", reference=trimmed)
        )
    if matches.others_total == 1:
        only = matches.others[0]
        return Connection(
            ConnectionStatus.NOT_FOUND,
            detail=msg(
                "link.only_unusable",
                object=labelled(what, only.external_id, only.name),
                why=_why_not(only, channel),
            ),
        )
    others: list[str | Message] = [
        msg("link.object_why", id=m.external_id, name=quoted(m.name), why=_why_not(m, channel))
        for m in matches.others
    ]
    return Connection(
        ConnectionStatus.NOT_FOUND,
        detail=msg(
            f"link.all_unusable.{what}",
            objects=listing(others, matches.others_total, limit=MAX_LISTED),
        ),
    )


def never_synced(channel: Channel) -> Connection:
    return Connection(
        ConnectionStatus.NOT_SYNCED,
        detail=msg("link.never_synced", upstream=channel.upstream_name),
    )


K = TypeVar("K", bound=Hashable)


def connections(
    groups: Iterable[tuple[K, str | None]],
    channel: Channel,
    objects: Iterable[MirrorObject],
    *,
    synced: bool,
) -> dict[K, Connection]:
    """The connection of each CRM group `(group id, reference)` to one channel's mirror;
    `synced` says whether the channel was ever synchronised."""
    if not synced:
        never = never_synced(channel)
        return {group_id: never for group_id, _ in groups}
    index = {key: matches_of(found) for key, found in _index(objects).items()}
    result: dict[K, Connection] = {}
    for group_id, reference in groups:
        key = reference_key(reference)
        matches = index.get(key, NO_MATCHES) if key is not None else NO_MATCHES
        result[group_id] = connection(reference, matches, channel)
    return result


def unmatched_references(
    group_references: Iterable[str | None], objects: Iterable[MirrorObject]
) -> tuple[str, ...]:
    """References of upstream objects (not removed) that no CRM group has, as the upstream
    spells them (trimmed), one per normalised form, sorted."""
    known = {normalise_reference(r) for r in group_references if r is not None}
    spellings: dict[str, str] = {}
    for item in objects:
        if item.removed or item.reference is None:
            continue
        spelled = item.reference.strip()
        key = normalise_reference(spelled)
        if key and key not in known:
            spellings[key] = min(spellings.get(key, spelled), spelled)
    return tuple(sorted(spellings.values()))
