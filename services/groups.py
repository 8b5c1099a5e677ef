"""Customer groups: names, references that link them to GoPOS and GoOrder, and memberships."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

from slugify import slugify

from domain import entities
from domain.credits import CustomerSelection, ParsedTarget, parse_target
from domain.customer_checks import checked_group_changes, checked_new_group
from domain.errors import DomainError, ErrorCode, fail, not_found
from domain.ids import parse_id
from domain.messages import msg
from domain.requests import CustomerGroupInput, Target
from models import schedules as schedule_repository
from models.db import IntegrityError
from services.customers import check_target, customer_store, group_store, open_transaction
from services.schedules import drop_group
from services.stores import Stores


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


async def get_group(
    location_id: UUID, group_id: str, stores: Stores | None = None
) -> entities.CustomerGroup | None:
    uid = parse_id(group_id)
    return await group_store(stores).get(location_id, uid) if uid else None


async def list_groups(
    location_id: UUID, stores: Stores | None = None
) -> list[entities.CustomerGroup]:
    return await group_store(stores).in_location(location_id)


async def customer_counts(
    group_ids: Sequence[UUID], stores: Stores | None = None
) -> dict[UUID, int]:
    return await group_store(stores).member_counts(group_ids)


async def _ensure_reference_free(
    location_id: UUID,
    reference: str,
    field: str,
    stores: Stores | None,
    exclude: UUID | None = None,
) -> None:
    if await group_store(stores).reference_taken(location_id, reference, exclude):
        raise _duplicate_reference(reference, field)


def _duplicate_reference(reference: str, field: str) -> DomainError:
    return fail(ErrorCode.DUPLICATE, field, msg("group.reference_taken", reference=reference))


async def create_group(
    location_id: UUID, data: CustomerGroupInput, stores: Stores | None = None
) -> entities.CustomerGroup:
    group = checked_new_group(data, reference_slug)
    await _ensure_reference_free(location_id, group.reference, group.reference_field, stores)
    try:
        return await group_store(stores).create(location_id, group)
    except IntegrityError as exc:  # a concurrent create took the reference after our check
        raise _duplicate_reference(group.reference, group.reference_field) from exc


async def update_group(
    location_id: UUID, group_id: str, data: CustomerGroupInput, stores: Stores | None = None
) -> entities.CustomerGroup:
    changes = checked_group_changes(data, reference_slug)
    uid = parse_id(group_id)
    store = group_store(stores)
    group = await store.get(location_id, uid) if uid else None
    if group is None:
        raise not_found("id", "group")
    reference = changes.reference
    if reference is not None:
        await _ensure_reference_free(location_id, reference, "input.reference", stores, group.id)
    if not changes.columns:
        return group
    try:
        return await store.update(group, changes.columns)
    except IntegrityError as exc:
        raise _duplicate_reference(str(reference), "input.reference") from exc


async def delete_group(location_id: UUID, group_id: str, stores: Stores | None = None) -> UUID:
    """Delete a group with its memberships. In the same transaction, the schedules of that
    group only end, and those of other groups too carry on without it
    (`services.schedules.drop_group`)."""
    uid = parse_id(group_id)
    if uid is None:
        raise not_found("id", "group")
    schedules = schedule_repository if stores is None else stores.schedules
    async with open_transaction(stores) as db:
        if not await group_store(stores).delete(location_id, uid, db):
            raise not_found("id", "group")
        await drop_group(schedules, db, location_id, uid, datetime.now(UTC))
    return uid


async def _checked_target(
    location_id: UUID, target: Target, field: str, stores: Stores | None
) -> ParsedTarget:
    """The target parsed; every id it names, listed or in its filter, must be the location's
    (NOT_FOUND at its path otherwise)."""
    parsed = parse_target(target, field)
    await check_target(location_id, parsed, field, stores)
    return parsed


def _selection(parsed: ParsedTarget) -> CustomerSelection | None:
    """What a filter or allCustomers target selects (None: every customer)."""
    return None if parsed.all_customers else parsed.selection


async def resolve_target(
    location_id: UUID, target: Target, field: str = "target", stores: Stores | None = None
) -> list[UUID]:
    """The customer ids a target names, each once (see `_checked_target`)."""
    parsed = await _checked_target(location_id, target, field, stores)
    if parsed.customer_ids is not None:
        return parsed.distinct_customer_ids()
    return await customer_store(stores).selected_ids(location_id, _selection(parsed))


async def _group_or_fail(
    location_id: UUID, group_id: str, stores: Stores | None
) -> entities.CustomerGroup:
    uid = parse_id(group_id)
    group = await group_store(stores).get(location_id, uid) if uid else None
    if group is None:
        raise not_found("groupId", "group")
    return group


async def add_customers(
    location_id: UUID, group_id: str, target: Target, stores: Stores | None = None
) -> entities.CustomerGroup:
    group = await _group_or_fail(location_id, group_id, stores)
    customer_ids = await resolve_target(location_id, target, stores=stores)
    async with open_transaction(stores) as db:
        await group_store(stores).add_members(db, group.id, customer_ids)
    return group


async def remove_customers(
    location_id: UUID, group_id: str, target: Target, stores: Stores | None = None
) -> entities.CustomerGroup:
    group = await _group_or_fail(location_id, group_id, stores)
    parsed = await _checked_target(location_id, target, "target", stores)
    store = group_store(stores)
    if parsed.customer_ids is None:
        await store.remove_selected(location_id, group.id, _selection(parsed))
    else:
        async with open_transaction(stores) as db:
            await store.remove_members(db, group.id, parsed.distinct_customer_ids())
    return group
