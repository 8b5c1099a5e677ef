"""Customer groups: names, references that link them to GoPOS and GoOrder, and memberships."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from slugify import slugify

from domain import entities
from domain.credits import ParsedTarget, parse_target
from domain.customer_checks import checked_group_changes, checked_new_group
from domain.errors import DomainError, ErrorCode, fail, not_found
from domain.ids import parse_id
from domain.requests import CustomerGroupInput, Target
from models.db import IntegrityError, transaction
from models.entities import CustomerGroup, GroupMembership
from models.queries import CustomerQuery, group_entity, member_counts, remove_members
from services.customers import check_target, filtered_customers

MEMBERSHIP_BATCH = 5_000


def reference_slug(text: str) -> str:
    """The slug rule of `domain.references`: "Stały klient" → "staly-klient" (lower case,
    letters transliterated to ASCII, every other run of characters one dash), untruncated."""
    return str(slugify(text))


def reference_for(name: str) -> str:
    """The reference `create_group` generates from a group name, the name checked as creation
    checks it; a problem is raised on the field ``name``. Creation never adds a suffix to a
    reference that is taken (it answers DUPLICATE), so neither does this."""
    try:
        group = checked_new_group(CustomerGroupInput(name=name), reference_slug)
    except DomainError as error:
        raise DomainError(*(replace(e, field="name") for e in error.errors)) from error
    return group.reference


async def get_group(location_id: UUID, group_id: str) -> entities.CustomerGroup | None:
    uid = parse_id(group_id)
    row = await CustomerGroup.get_or_none(id=uid, location_id=location_id) if uid else None
    return group_entity(row) if row else None


async def list_groups(location_id: UUID) -> list[entities.CustomerGroup]:
    rows = await CustomerGroup.filter(location_id=location_id).order_by("name", "id")
    return [group_entity(row) for row in rows]


async def customer_counts(group_ids: Sequence[UUID]) -> dict[UUID, int]:
    return await member_counts(group_ids)


async def _ensure_reference_free(
    location_id: UUID, reference: str, field: str, exclude: UUID | None = None
) -> None:
    clash = CustomerGroup.filter(location_id=location_id, reference=reference)
    if exclude is not None:
        clash = clash.exclude(id=exclude)
    if await clash.exists():
        raise _duplicate_reference(reference, field)


def _duplicate_reference(reference: str, field: str) -> DomainError:
    return fail(
        ErrorCode.DUPLICATE, field, f"Reference '{reference}' is already used by another group."
    )


async def create_group(location_id: UUID, data: CustomerGroupInput) -> entities.CustomerGroup:
    group = checked_new_group(data, reference_slug)
    await _ensure_reference_free(location_id, group.reference, group.reference_field)
    try:
        row = CustomerGroup(location_id=location_id, **group.columns())
        await row.save()
    except IntegrityError as exc:  # a concurrent create took the reference after our check
        raise _duplicate_reference(group.reference, group.reference_field) from exc
    return group_entity(row)


async def update_group(
    location_id: UUID, group_id: str, data: CustomerGroupInput
) -> entities.CustomerGroup:
    changes = checked_group_changes(data, reference_slug)
    uid = parse_id(group_id)
    row = await CustomerGroup.get_or_none(id=uid, location_id=location_id) if uid else None
    if row is None:
        raise not_found("id", "Customer group")
    reference = changes.reference
    if reference is not None:
        await _ensure_reference_free(location_id, reference, "input.reference", exclude=row.id)
    if not changes.columns:
        return group_entity(row)
    row.update_from_dict(dict(changes.columns))
    try:
        await row.save(update_fields=list(changes.columns))
    except IntegrityError as exc:
        raise _duplicate_reference(str(reference), "input.reference") from exc
    return group_entity(row)


async def delete_group(location_id: UUID, group_id: str) -> UUID:
    uid = parse_id(group_id)
    deleted = await CustomerGroup.filter(id=uid, location_id=location_id).delete() if uid else 0
    if not deleted or uid is None:
        raise not_found("id", "Customer group")
    return uid


async def _checked_target(location_id: UUID, target: Target, field: str) -> ParsedTarget:
    """The target parsed; every id it names, listed or in its filter, must be the location's
    (NOT_FOUND at its path otherwise)."""
    parsed = parse_target(target, field)
    await check_target(location_id, parsed, field)
    return parsed


def _selected(location_id: UUID, parsed: ParsedTarget) -> CustomerQuery:
    """The customers a filter or allCustomers target selects (None: every one)."""
    return filtered_customers(location_id, None if parsed.all_customers else parsed.selection)


async def resolve_target(location_id: UUID, target: Target, field: str = "target") -> list[UUID]:
    """The customer ids a target names, each once (see `_checked_target`)."""
    parsed = await _checked_target(location_id, target, field)
    if parsed.customer_ids is not None:
        return parsed.distinct_customer_ids()
    query = _selected(location_id, parsed)
    return [UUID(str(c)) for c in await query.values_list("id", flat=True)]


async def _group_or_fail(location_id: UUID, group_id: str) -> CustomerGroup:
    uid = parse_id(group_id)
    row = await CustomerGroup.get_or_none(id=uid, location_id=location_id) if uid else None
    if row is None:
        raise not_found("groupId", "Customer group")
    return row


async def add_customers(location_id: UUID, group_id: str, target: Target) -> entities.CustomerGroup:
    group = await _group_or_fail(location_id, group_id)
    customer_ids = await resolve_target(location_id, target)
    async with transaction():
        for start in range(0, len(customer_ids), MEMBERSHIP_BATCH):
            await GroupMembership.bulk_create(
                [
                    GroupMembership(group_id=group.id, customer_id=c)
                    for c in customer_ids[start : start + MEMBERSHIP_BATCH]
                ],
                ignore_conflicts=True,
            )
    return group_entity(group)


async def remove_customers(
    location_id: UUID, group_id: str, target: Target
) -> entities.CustomerGroup:
    group = await _group_or_fail(location_id, group_id)
    parsed = await _checked_target(location_id, target, "target")
    if parsed.customer_ids is None:
        await remove_members(group.id, _selected(location_id, parsed))
    else:
        customer_ids = parsed.distinct_customer_ids()
        async with transaction():
            for start in range(0, len(customer_ids), MEMBERSHIP_BATCH):
                await GroupMembership.filter(
                    group_id=group.id,
                    customer_id__in=customer_ids[start : start + MEMBERSHIP_BATCH],
                ).delete()
    return group_entity(group)
