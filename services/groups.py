"""Customer groups: names, references that link them to GoPOS and GoOrder, and memberships."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

from slugify import slugify

from domain import entities
from domain.contacts import clean_text
from domain.errors import DomainError, ErrorCode, UserError, Validator, fail, not_found
from domain.inputs import UNSET, CustomerGroupInput, Maybe, Target
from domain.money import percent_to_basis_points
from domain.references import MAX_REFERENCE_LENGTH, normalise_reference, reference_problem
from models.db import IntegrityError, transaction
from models.entities import Customer, CustomerGroup, GroupMembership
from models.ids import parse_id
from models.queries import group_entity, member_counts, remove_members
from services.customers import filtered_customers

MAX_GROUP_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
MAX_TARGET_IDS = 10_000
MEMBERSHIP_BATCH = 5_000


def reference_from_name(name: str) -> str:
    """ "Stały klient" → "staly-klient": Polish letters transliterated, words joined by dashes."""
    return slugify(name, max_length=MAX_REFERENCE_LENGTH, word_boundary=True)


async def get_group(location_id: UUID, group_id: str) -> entities.CustomerGroup | None:
    uid = parse_id(group_id)
    row = await CustomerGroup.get_or_none(id=uid, location_id=location_id) if uid else None
    return group_entity(row) if row else None


async def list_groups(location_id: UUID) -> list[entities.CustomerGroup]:
    rows = await CustomerGroup.filter(location_id=location_id).order_by("name", "id")
    return [group_entity(row) for row in rows]


async def customer_counts(group_ids: Sequence[UUID]) -> dict[UUID, int]:
    return await member_counts(group_ids)


def _check_name(checks: Validator, raw: Maybe[str]) -> str | None:
    name = clean_text(raw) if raw is not UNSET else None
    if name is None:
        checks.add(ErrorCode.REQUIRED, "input.name", "Name must not be empty.")
    elif len(name) > MAX_GROUP_NAME_LENGTH:
        checks.add(ErrorCode.INVALID, "input.name", f"At most {MAX_GROUP_NAME_LENGTH} characters.")
    return name


def _check_reference(checks: Validator, raw: str) -> str:
    reference = normalise_reference(raw)
    if problem := reference_problem(reference):
        checks.add(ErrorCode.INVALID, "input.reference", problem)
    return reference


def _check_details(checks: Validator, data: CustomerGroupInput) -> dict[str, object]:
    values: dict[str, object] = {}
    if data.description is not UNSET:
        description = clean_text(data.description)
        if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
            checks.add(
                ErrorCode.INVALID,
                "input.description",
                f"At most {MAX_DESCRIPTION_LENGTH} characters.",
            )
        values["description"] = description
    if data.cashback_percent is not UNSET:
        values["cashback_basis_points"] = _cashback(checks, data.cashback_percent)
    return values


def _cashback(checks: Validator, percent: Decimal | None) -> int | None:
    if percent is None:
        return None
    points = percent_to_basis_points(percent)
    if points is None or not 0 < points <= 100_00:
        checks.add(
            ErrorCode.INVALID,
            "input.cashbackPercent",
            "Cashback must be more than 0 and at most 100 percent, with at most 2 decimals.",
        )
    return points


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
    checks = Validator()
    name = _check_name(checks, data.name)
    if data.reference is not UNSET and data.reference is not None:
        reference, field = _check_reference(checks, data.reference), "input.reference"
    else:
        reference, field = reference_from_name(name or ""), "input.name"
        if name and not reference:
            checks.add(
                ErrorCode.REQUIRED,
                "input.reference",
                "No reference can be made from this name; give one.",
            )
    values = _check_details(checks, data)
    checks.check()
    await _ensure_reference_free(location_id, reference, field)
    try:
        row = CustomerGroup(location_id=location_id, name=name, reference=reference, **values)
        await row.save()
    except IntegrityError as exc:  # a concurrent create took the reference after our check
        raise _duplicate_reference(reference, field) from exc
    return group_entity(row)


async def update_group(
    location_id: UUID, group_id: str, data: CustomerGroupInput
) -> entities.CustomerGroup:
    uid = parse_id(group_id)
    row = await CustomerGroup.get_or_none(id=uid, location_id=location_id) if uid else None
    if row is None:
        raise not_found("id", "Customer group")
    checks = Validator()
    values = _check_details(checks, data)
    if data.name is not UNSET:
        values["name"] = _check_name(checks, data.name)
    if data.reference is not UNSET:
        if data.reference is None:
            checks.add(ErrorCode.REQUIRED, "input.reference", "Reference must not be empty.")
        else:
            values["reference"] = _check_reference(checks, data.reference)
    checks.check()
    reference = values.get("reference")
    if isinstance(reference, str):
        await _ensure_reference_free(location_id, reference, "input.reference", exclude=row.id)
    if not values:
        return group_entity(row)
    row.update_from_dict(values)
    try:
        await row.save(update_fields=list(values))
    except IntegrityError as exc:
        raise _duplicate_reference(str(reference), "input.reference") from exc
    return group_entity(row)


async def delete_group(location_id: UUID, group_id: str) -> UUID:
    uid = parse_id(group_id)
    deleted = await CustomerGroup.filter(id=uid, location_id=location_id).delete() if uid else 0
    if not deleted or uid is None:
        raise not_found("id", "Customer group")
    return uid


async def resolve_target(location_id: UUID, target: Target, field: str = "target") -> list[UUID]:
    """The customer ids a target names; every explicit id must be a customer of the location."""
    if (target.customer_ids is None) == (target.filter is None):
        raise fail(ErrorCode.INVALID, field, "Give exactly one of customerIds and filter.")
    if target.customer_ids is not None:
        if len(target.customer_ids) > MAX_TARGET_IDS:
            raise fail(
                ErrorCode.INVALID,
                f"{field}.customerIds",
                f"At most {MAX_TARGET_IDS} ids; use a filter for more.",
            )
        wanted = [parse_id(c) for c in target.customer_ids]
        known = set(
            await Customer.filter(
                location_id=location_id, id__in=[c for c in wanted if c]
            ).values_list("id", flat=True)
        )
        missing = [i for i, c in enumerate(wanted) if c not in known]
        if missing:
            raise DomainError(
                *(
                    UserError(
                        ErrorCode.NOT_FOUND, f"{field}.customerIds.{i}", "Customer not found."
                    )
                    for i in missing
                )
            )
        return list(dict.fromkeys(c for c in wanted if c is not None))
    query = filtered_customers(location_id, target.filter, f"{field}.filter")
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
    if target.filter is not None and target.customer_ids is None:
        members = filtered_customers(location_id, target.filter, "target.filter")
        await remove_members(group.id, members)
    else:
        customer_ids = await resolve_target(location_id, target)
        async with transaction():
            for start in range(0, len(customer_ids), MEMBERSHIP_BATCH):
                await GroupMembership.filter(
                    group_id=group.id,
                    customer_id__in=customer_ids[start : start + MEMBERSHIP_BATCH],
                ).delete()
    return group_entity(group)
