"""The smallest set of writes that brings a mirror up to date with what an upstream holds.

A row is written only when it is new, changed, or back after being removed; rows gone upstream
are marked removed, never deleted. A second run over the same data writes nothing. On
PostgreSQL the same comparison runs in SQL (`models.mirror.diff`), and a test holds the two
alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar


class _Keyed(Protocol):
    @property
    def external_id(self) -> str: ...


Row = TypeVar("Row", bound=_Keyed)


@dataclass(frozen=True, slots=True)
class MirrorDiff(Generic[Row]):
    upserts: tuple[Row, ...]  # new, changed, or back after being removed
    removals: tuple[str, ...]  # external ids to mark removed, sorted
    unchanged: int

    @property
    def writes(self) -> int:
        return len(self.upserts) + len(self.removals)


def diff_rows(
    existing: Mapping[str, Row], fetched: Sequence[Row], removed: AbstractSet[str]
) -> MirrorDiff[Row]:
    """What to write so that the mirror (`existing`, of which `removed` are marked removed)
    holds `fetched`: nothing at all when it already does."""
    upserts: list[Row] = []
    seen: set[str] = set()
    unchanged = 0
    for row in fetched:
        key = row.external_id
        if key in seen:
            raise ValueError(f"external id {key!r} is fetched twice")
        seen.add(key)
        if key in removed or existing.get(key) != row:
            upserts.append(row)
        else:
            unchanged += 1
    removals = sorted(key for key in existing if key not in seen and key not in removed)
    return MirrorDiff(tuple(upserts), tuple(removals), unchanged)
