"""The references of a location's CRM groups, which its GoPOS and GoOrder mirror is matched
against (`services.sync`): a sync counts what they link to, and the connections view lists the
upstream references that none of them has.

One indexed read of the location's groups, `(id, reference)` only, at the end of every sync
and on each unmatched-references view. The groups themselves are read and written elsewhere.
"""

from __future__ import annotations

from uuid import UUID

from models.entities import CustomerGroup


async def of_location(location_id: UUID) -> list[tuple[UUID, str]]:
    """The location's CRM groups as `(id, reference)`."""
    rows = await CustomerGroup.filter(location_id=location_id).values_list("id", "reference")
    return [(group_id, reference) for group_id, reference in rows]
