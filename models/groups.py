"""The customer groups repository: groups and what they are looked up by, as `domain` values,
so that services never hold a Tortoise model or build a query."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from domain.references import normalise_reference
from models.entities import CustomerGroup


async def ids_in_location(location_id: UUID, ids: Sequence[UUID]) -> set[UUID]:
    """Which of `ids` name groups of the location."""
    if not ids:
        return set()
    found = CustomerGroup.filter(location_id=location_id, id__in=list(ids))
    return {UUID(str(g)) for g in await found.values_list("id", flat=True)}


async def ids_by_reference(location_id: UUID) -> dict[str, UUID]:
    """The location's groups by their normalised reference."""
    rows = await CustomerGroup.filter(location_id=location_id).values_list("reference", "id")
    return {normalise_reference(str(reference)): UUID(str(uid)) for reference, uid in rows}
