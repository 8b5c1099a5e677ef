"""The customer groups repository: groups and what they are looked up by, as `domain` values,
so that services never hold a Tortoise model or build a query."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from tortoise.expressions import Subquery
from tortoise.functions import Count

from domain import entities
from domain.credits import CustomerSelection
from domain.customer_checks import NewGroup
from domain.references import normalise_reference
from models.customers import filtered_customers
from models.db import Transaction
from models.queries import group_entity
from models.tables.crm import CustomerGroup, GroupMembership

MEMBERSHIP_BATCH = 5_000  # memberships added or removed per statement


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


async def references(location_id: UUID) -> list[tuple[UUID, str]]:
    """The location's groups as `(id, reference)`, which a sync matches its GoPOS and GoOrder
    mirror against: one indexed read at the end of every sync and on each view of the
    unmatched references."""
    rows = await CustomerGroup.filter(location_id=location_id).values_list("id", "reference")
    return [(group_id, reference) for group_id, reference in rows]


async def get(location_id: UUID, group_id: UUID) -> entities.CustomerGroup | None:
    row = await CustomerGroup.get_or_none(id=group_id, location_id=location_id)
    return group_entity(row) if row else None


async def in_location(location_id: UUID) -> list[entities.CustomerGroup]:
    """The location's groups by name."""
    rows = await CustomerGroup.filter(location_id=location_id).order_by("name", "id")
    return [group_entity(row) for row in rows]


async def member_counts(group_ids: Sequence[UUID]) -> dict[UUID, int]:
    """How many live customers each group has (groups without any are left out). A deleted
    customer's membership rows are gone with the deletion, but one added while the deletion ran
    (the bulk add reads its ids before writing) is not counted either."""
    rows = (
        await GroupMembership.filter(
            group_id__in=list(group_ids), customer__deleted_at__isnull=True
        )
        .group_by("group_id")
        .annotate(n=Count("id"))
        .values_list("group_id", "n")
    )
    return {UUID(str(group_id)): int(n) for group_id, n in rows}


async def reference_taken(location_id: UUID, reference: str, exclude: UUID | None = None) -> bool:
    """Whether a group of the location other than `exclude` has this reference."""
    clash = CustomerGroup.filter(location_id=location_id, reference=reference)
    if exclude is not None:
        clash = clash.exclude(id=exclude)
    return await clash.exists()


async def create(location_id: UUID, group: NewGroup) -> entities.CustomerGroup:
    """Insert a group; a reference another group of the location has raises `IntegrityError`."""
    row = CustomerGroup(location_id=location_id, **group.columns())
    await row.save()
    return group_entity(row)


async def update(
    group: entities.CustomerGroup, columns: Mapping[str, Any]
) -> entities.CustomerGroup:
    """Write the given columns of the group; a reference another group of the location has
    raises `IntegrityError`."""
    await CustomerGroup.filter(id=group.id, location_id=group.location_id).update(**columns)
    return replace(group, **columns)


async def delete(location_id: UUID, group_id: UUID, db: Transaction | None = None) -> bool:
    """Delete a group with its memberships; False when the location has no such group. In
    the transaction `db` when given."""
    rows = CustomerGroup.filter(id=group_id, location_id=location_id)
    return bool(await (rows if db is None else rows.using_db(db)).delete())


async def add_members(db: Transaction, group_id: UUID, customer_ids: Sequence[UUID]) -> None:
    """Add customers to the group, `MEMBERSHIP_BATCH` a statement; members stay members."""
    for start in range(0, len(customer_ids), MEMBERSHIP_BATCH):
        await GroupMembership.bulk_create(
            [
                GroupMembership(group_id=group_id, customer_id=c)
                for c in customer_ids[start : start + MEMBERSHIP_BATCH]
            ],
            ignore_conflicts=True,
            using_db=db,
        )


async def remove_members(db: Transaction, group_id: UUID, customer_ids: Sequence[UUID]) -> None:
    """Remove these customers from the group, `MEMBERSHIP_BATCH` a statement."""
    for start in range(0, len(customer_ids), MEMBERSHIP_BATCH):
        await (
            GroupMembership.filter(
                group_id=group_id, customer_id__in=customer_ids[start : start + MEMBERSHIP_BATCH]
            )
            .using_db(db)
            .delete()
        )


async def remove_selected(
    location_id: UUID, group_id: UUID, selection: CustomerSelection | None
) -> None:
    """Remove the location's customers a selection matches (None: every one) from the group,
    in one statement."""
    selected = filtered_customers(location_id, selection)
    await GroupMembership.filter(
        group_id=group_id, customer_id__in=Subquery(selected.values("id"))
    ).delete()
