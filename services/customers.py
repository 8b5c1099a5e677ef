"""Customers with their loyalty cards and group memberships."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from uuid import UUID

from domain import entities
from domain.contacts import (
    MAX_NAME_LENGTH,
    MAX_NOTE_LENGTH,
    card_code_problem,
    clean_text,
    email_problem,
    normalise_email,
    phone_problem,
)
from domain.errors import DomainError, ErrorCode, Validator, fail, not_found
from domain.inputs import UNSET, CardInput, CustomerFilter, CustomerInput, Maybe
from domain.paging import decode_cursor, page_of, page_size_problem
from models.db import IntegrityError, transaction
from models.entities import Card, Customer, CustomerGroup, GroupMembership
from models.ids import parse_id
from models.queries import (
    CustomerQuery,
    card_entity,
    customer_entity,
    customers_matching,
    group_entity,
)

MAX_FILTER_IDS = 10_000
MAX_CARDS_PER_CUSTOMER = 10


def filtered_customers(
    location_id: UUID,
    criteria: CustomerFilter | None,
    field: str = "filter",
    after: UUID | None = None,
) -> CustomerQuery:
    """The location's customers matching a filter (with ids above `after`, for keyset
    paging); raises INVALID for a filter we refuse."""
    if criteria is None:
        return customers_matching(location_id, after=after)
    for name, values in (("ids", criteria.ids), ("groupIds", criteria.group_ids)):
        if values is not None and len(values) > MAX_FILTER_IDS:
            raise fail(
                ErrorCode.INVALID, f"{field}.{name}", f"At most {MAX_FILTER_IDS} ids per filter."
            )
    return customers_matching(
        location_id,
        ids=criteria.ids,
        group_ids=criteria.group_ids,
        search=clean_text(criteria.search),
        has_credits=criteria.has_credits,
        after=after,
    )


async def id_chunks(
    page: Callable[[UUID | None], CustomerQuery], size: int
) -> AsyncIterator[list[UUID]]:
    """The ids of a customer query in id order, `size` at a time; `page(after)` gives the
    query for the ids above `after` (keyset paging, so every page costs the same)."""
    last: UUID | None = None
    while True:
        found = await page(last).order_by("id").limit(size).values_list("id", flat=True)
        chunk = [UUID(str(c)) for c in found]
        if not chunk:
            return
        yield chunk
        last = chunk[-1]


async def list_customers(
    location_id: UUID, criteria: CustomerFilter | None, first: int, after: str | None
) -> entities.Page[entities.Customer]:
    checks = Validator()
    if problem := page_size_problem(first):
        checks.add(ErrorCode.INVALID, "first", problem)
    after_id: UUID | None = None
    if after is not None:
        key = decode_cursor(after)
        after_id = parse_id(key) if key is not None else None
        if after_id is None:
            checks.add(ErrorCode.INVALID, "after", "Not a cursor from this list.")
    checks.check()
    query = filtered_customers(location_id, criteria)
    total = await query.count()
    page_query = query.filter(id__gt=after_id) if after_id else query
    rows = await page_query.order_by("id").limit(first + 1)
    return page_of([customer_entity(row) for row in rows], first, total, key=lambda c: c.id)


async def get_customer(location_id: UUID, customer_id: str) -> entities.Customer | None:
    uid = parse_id(customer_id)
    row = await Customer.get_or_none(id=uid, location_id=location_id) if uid else None
    return customer_entity(row) if row else None


async def get_customer_by_card(location_id: UUID, code: str) -> entities.Customer | None:
    card = (
        await Card.filter(location_id=location_id, code=code.strip())
        .select_related("customer")
        .first()
    )
    return customer_entity(card.customer) if card else None


async def cards_of(customer_ids: Sequence[UUID]) -> dict[UUID, list[entities.Card]]:
    found: dict[UUID, list[entities.Card]] = defaultdict(list)
    for row in await Card.filter(customer_id__in=list(customer_ids)).order_by("position", "code"):
        found[row.customer_id].append(card_entity(row))
    return found


async def groups_of(customer_ids: Sequence[UUID]) -> dict[UUID, list[entities.CustomerGroup]]:
    found: dict[UUID, list[entities.CustomerGroup]] = defaultdict(list)
    rows = (
        await GroupMembership.filter(customer_id__in=list(customer_ids))
        .select_related("group")
        .order_by("group__name")
    )
    for row in rows:
        found[row.customer_id].append(group_entity(row.group))
    return found


def _check_contact(checks: Validator, data: CustomerInput) -> dict[str, str | None]:
    """Cleaned values of the contact fields that were given."""
    values: dict[str, str | None] = {}
    text_fields: tuple[tuple[str, str, Maybe[str], int], ...] = (
        ("first_name", "firstName", data.first_name, MAX_NAME_LENGTH),
        ("last_name", "lastName", data.last_name, MAX_NAME_LENGTH),
        ("note", "note", data.note, MAX_NOTE_LENGTH),
    )
    for attr, api_name, raw, limit in text_fields:
        if raw is UNSET:
            continue
        value = clean_text(raw)
        if value is not None and len(value) > limit:
            checks.add(ErrorCode.INVALID, f"input.{api_name}", f"At most {limit} characters.")
        values[attr] = value
    if data.email is not UNSET:
        email = clean_text(data.email)
        if email is not None:
            email = normalise_email(email)
            if problem := email_problem(email):
                checks.add(ErrorCode.INVALID, "input.email", problem)
        values["email"] = email
    if data.phone is not UNSET:
        phone = clean_text(data.phone)
        if phone is not None and (problem := phone_problem(phone)):
            checks.add(ErrorCode.INVALID, "input.phone", problem)
        values["phone"] = phone
    return values


async def _check_cards(
    checks: Validator, location_id: UUID, cards: Sequence[CardInput], owner: UUID | None
) -> list[CardInput]:
    cleaned: list[CardInput] = []
    seen: set[str] = set()
    if len(cards) > MAX_CARDS_PER_CUSTOMER:
        checks.add(ErrorCode.INVALID, "input.cards", f"At most {MAX_CARDS_PER_CUSTOMER} cards.")
        return cleaned
    for index, card in enumerate(cards):
        field = f"input.cards.{index}.code"
        code = card.code.strip()
        if problem := card_code_problem(code):
            checks.add(ErrorCode.INVALID, field, problem)
        elif code in seen:
            checks.add(ErrorCode.DUPLICATE, field, f"Card code '{code}' is given twice.")
        seen.add(code)
        cleaned.append(CardInput(code, clean_text(card.number), card.expires_on))
    taken = Card.filter(location_id=location_id, code__in=sorted(seen))
    if owner is not None:
        taken = taken.exclude(customer_id=owner)
    for code in [str(c) for c in await taken.values_list("code", flat=True)]:
        index = next(i for i, c in enumerate(cleaned) if c.code == code)
        checks.add(
            ErrorCode.DUPLICATE,
            f"input.cards.{index}.code",
            f"Card code '{code}' already belongs to another customer.",
        )
    return cleaned


async def _check_groups(
    checks: Validator, location_id: UUID, group_ids: Sequence[str]
) -> list[UUID]:
    wanted = [parse_id(g) for g in group_ids]
    known = set(
        await CustomerGroup.filter(
            location_id=location_id, id__in=[g for g in wanted if g]
        ).values_list("id", flat=True)
    )
    for index, uid in enumerate(wanted):
        if uid not in known:
            checks.add(ErrorCode.NOT_FOUND, f"input.groupIds.{index}", "Customer group not found.")
    return list(dict.fromkeys(g for g in wanted if g is not None))


async def _write_cards(customer_id: UUID, location_id: UUID, cards: list[CardInput]) -> None:
    await Card.filter(customer_id=customer_id).delete()
    await Card.bulk_create(
        [
            Card(
                location_id=location_id,
                customer_id=customer_id,
                code=card.code,
                number=card.number,
                expires_on=card.expires_on,
                position=position,
            )
            for position, card in enumerate(cards)
        ]
    )


async def _write_groups(customer_id: UUID, group_ids: list[UUID]) -> None:
    await GroupMembership.filter(customer_id=customer_id).exclude(group_id__in=group_ids).delete()
    await GroupMembership.bulk_create(
        [GroupMembership(customer_id=customer_id, group_id=g) for g in group_ids],
        ignore_conflicts=True,
    )


def _duplicate_card() -> DomainError:
    return fail(
        ErrorCode.DUPLICATE, "input.cards", "A card code already belongs to another customer."
    )


async def create_customer(location_id: UUID, data: CustomerInput) -> entities.Customer:
    checks = Validator()
    values = _check_contact(checks, data)
    cards = await _check_cards(checks, location_id, data.cards or (), owner=None)
    groups = await _check_groups(checks, location_id, data.group_ids or ())
    checks.check()
    try:
        async with transaction():
            row = Customer(location_id=location_id, **values)
            row.refresh_search_text()
            await row.save()
            if cards:
                await _write_cards(row.id, location_id, cards)
            if groups:
                await _write_groups(row.id, groups)
    except IntegrityError as exc:  # a concurrent writer took a card code after our check
        raise _duplicate_card() from exc
    return customer_entity(row)


async def update_customer(
    location_id: UUID, customer_id: str, data: CustomerInput
) -> entities.Customer:
    uid = parse_id(customer_id)
    row = await Customer.get_or_none(id=uid, location_id=location_id) if uid else None
    if row is None:
        raise not_found("id", "Customer")
    checks = Validator()
    values = _check_contact(checks, data)
    cards = None
    if data.cards is not None:
        cards = await _check_cards(checks, location_id, data.cards, owner=row.id)
    groups = None
    if data.group_ids is not None:
        groups = await _check_groups(checks, location_id, data.group_ids)
    checks.check()
    try:
        async with transaction():
            # Re-read under a row lock (PostgreSQL), so the search text is built from the
            # names as they are now, not as they were when validation began.
            row = await Customer.select_for_update().get(id=row.id)
            row.update_from_dict(values)
            row.refresh_search_text()
            # Only what this update owns: the wallet columns move under their own rules.
            await row.save(update_fields=[*values, "search_text", "updated_at"])
            if cards is not None:
                await _write_cards(row.id, location_id, cards)
            if groups is not None:
                await _write_groups(row.id, groups)
    except IntegrityError as exc:
        raise _duplicate_card() from exc
    return customer_entity(row)


async def delete_customer(location_id: UUID, customer_id: str) -> UUID:
    uid = parse_id(customer_id)
    deleted = await Customer.filter(id=uid, location_id=location_id).delete() if uid else 0
    if not deleted or uid is None:
        raise not_found("id", "Customer")
    return uid
