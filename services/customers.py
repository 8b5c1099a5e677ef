"""Customers with their loyalty cards and group memberships."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID

from domain import entities
from domain.contacts import card_code_problem
from domain.credits import (
    CUSTOMER_NOT_FOUND,
    GROUP_NOT_FOUND,
    CustomerSelection,
    ParsedTarget,
    parse_filter,
)
from domain.customer_checks import CheckedCard, checked_customer
from domain.errors import DomainError, ErrorCode, UserError, Validator, fail, not_found
from domain.ids import parse_id
from domain.paging import decode_cursor, page_of, page_size_problem
from domain.requests import CustomerFilter, CustomerInput
from models import reads
from models.db import IntegrityError, transaction
from models.entities import Card, Customer, CustomerGroup, GroupMembership
from models.queries import (
    CustomerQuery,
    card_entity,
    customer_entity,
    customers_matching,
    group_entity,
    live_customers,
)


def filtered_customers(
    location_id: UUID, selection: CustomerSelection | None, after: UUID | None = None
) -> CustomerQuery:
    """The location's customers matching a selection (with ids above `after`, for keyset
    paging). Callers check the selection's ids first (`check_target`, `checked_selection`)."""
    if selection is None:
        return customers_matching(location_id, after=after)
    return customers_matching(
        location_id,
        ids=_known(selection.ids),
        group_ids=_known(selection.group_ids),
        search=selection.search,
        has_credits=selection.has_credits,
        after=after,
    )


def _known(ids: Sequence[UUID | None] | None) -> list[UUID] | None:
    """The well-formed ids of a selection (None stands for a malformed one)."""
    return None if ids is None else [i for i in ids if i is not None]


async def check_ids(
    location_id: UUID,
    *,
    customers: Sequence[tuple[str, Sequence[UUID | None]]] = (),
    groups: Sequence[tuple[str, Sequence[UUID | None]]] = (),
) -> None:
    """Every id a client names, in a list or a filter, must name a customer (or group) of the
    location: NOT_FOUND at `field.i` for each one that does not, all of them at once.

    `customers` and `groups` are (field, ids) pairs, ids in the order the client gave them;
    None stands for an id that was not a UUID.
    """
    known_customers: set[UUID] = set()
    if wanted := [i for _, ids in customers for i in ids if i is not None]:
        found = await customers_matching(location_id, ids=wanted).values_list("id", flat=True)
        known_customers = {UUID(str(c)) for c in found}
    known_groups: set[UUID] = set()
    if wanted_groups := sorted({i for _, ids in groups for i in ids if i is not None}):
        in_location = CustomerGroup.filter(location_id=location_id, id__in=wanted_groups)
        known_groups = {UUID(str(g)) for g in await in_location.values_list("id", flat=True)}
    errors = [
        *_unknown(customers, known_customers, CUSTOMER_NOT_FOUND),
        *_unknown(groups, known_groups, GROUP_NOT_FOUND),
    ]
    if errors:
        raise DomainError(*errors)


def _unknown(
    lists: Sequence[tuple[str, Sequence[UUID | None]]], known: set[UUID], message: str
) -> list[UserError]:
    return [
        UserError(ErrorCode.NOT_FOUND, f"{field}.{index}", message)
        for field, ids in lists
        for index, uid in enumerate(ids)
        if uid not in known
    ]


async def check_target(location_id: UUID, target: ParsedTarget, field: str) -> None:
    """NOT_FOUND for each id of a parsed target that is not the location's (see `check_ids`)."""
    selection = target.selection or CustomerSelection()
    await check_ids(
        location_id,
        customers=[
            (f"{field}.customerIds", target.customer_ids or ()),
            (f"{field}.filter.ids", selection.ids or ()),
        ],
        groups=[(f"{field}.filter.groupIds", selection.group_ids or ())],
    )


async def checked_selection(
    location_id: UUID, criteria: CustomerFilter | None, field: str
) -> CustomerSelection | None:
    """A client's filter, parsed and with every id it names checked against the location."""
    if criteria is None:
        return None
    selection = parse_filter(criteria, field)
    await check_ids(
        location_id,
        customers=[(f"{field}.ids", selection.ids or ())],
        groups=[(f"{field}.groupIds", selection.group_ids or ())],
    )
    return selection


async def id_chunks(
    page: Callable[[UUID | None], CustomerQuery], size: int, after: UUID | None = None
) -> AsyncIterator[list[UUID]]:
    """The ids of a customer query in id order (those above `after`, when given), `size` at a
    time; `page(after)` gives the query for the ids above `after` (keyset paging, so every
    page costs the same)."""
    last = after
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
    selection = await checked_selection(location_id, criteria, "filter")
    query = filtered_customers(location_id, selection)
    total = await query.count()
    page_query = query.filter(id__gt=after_id) if after_id else query
    rows = await page_query.order_by("id").limit(first + 1)
    return page_of([customer_entity(row) for row in rows], first, total, key=lambda c: c.id)


async def customer_view(location_id: UUID, customer_id: str) -> entities.CustomerView | None:
    """The customer with its groups, in one statement; None for an unknown or malformed id."""
    uid = parse_id(customer_id)
    return await reads.customer_by_id(location_id, uid) if uid else None


async def customer_view_by_card(location_id: UUID, code: str) -> entities.CustomerView | None:
    """The holder of a card with its groups, in one statement; None for an unknown card.

    Raises INVALID on `cardCode` for what cannot be a card code (control characters, more
    than 64 characters), before any query; the message never repeats the code.
    """
    code = code.strip(" ")
    if problem := card_code_problem(code):
        raise fail(ErrorCode.INVALID, "cardCode", problem)
    return await reads.customer_by_card(location_id, code)


async def get_customer(location_id: UUID, customer_id: str) -> entities.Customer | None:
    view = await customer_view(location_id, customer_id)
    return view.customer if view else None


async def get_customer_by_card(location_id: UUID, code: str) -> entities.Customer | None:
    """The holder of a card; None for an unknown card or one that cannot be a card code."""
    try:
        view = await customer_view_by_card(location_id, code)
    except DomainError:
        return None
    return view.customer if view else None


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


async def _check_cards(
    checks: Validator, location_id: UUID, cards: Sequence[CheckedCard], owner: UUID | None
) -> None:
    """Card codes that another customer of the location holds are DUPLICATE."""
    codes = sorted({card.code for card in cards})
    if not codes:
        return
    taken = Card.filter(location_id=location_id, code__in=codes)
    if owner is not None:
        taken = taken.exclude(customer_id=owner)
    for code in [str(c) for c in await taken.values_list("code", flat=True)]:
        index = next(i for i, c in enumerate(cards) if c.code == code)
        checks.add(
            ErrorCode.DUPLICATE,
            f"input.cards.{index}.code",
            f"Card code '{code}' already belongs to another customer.",
        )


async def _check_groups(
    checks: Validator, location_id: UUID, group_ids: Sequence[str]
) -> list[UUID]:
    """The groups a customer input names, each once; NOT_FOUND joins `checks` for each id
    that is not a group of the location."""
    wanted = [parse_id(g) for g in group_ids]
    try:
        await check_ids(location_id, groups=[("input.groupIds", wanted)])
    except DomainError as unknown:
        checks.errors.extend(unknown.errors)
    return list(dict.fromkeys(g for g in wanted if g is not None))


async def _write_cards(customer_id: UUID, location_id: UUID, cards: Sequence[CheckedCard]) -> None:
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
    customer = checked_customer(data)
    cards = customer.cards or ()
    checks = Validator()
    await _check_cards(checks, location_id, cards, owner=None)
    groups = await _check_groups(checks, location_id, customer.group_ids or ())
    checks.check()
    try:
        async with transaction():
            row = Customer(location_id=location_id, **customer.contact)
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
    customer = checked_customer(data)
    values, cards = customer.contact, customer.cards
    uid = parse_id(customer_id)
    row = await live_customers(location_id).get_or_none(id=uid) if uid else None
    if row is None:
        raise not_found("id", "Customer")
    checks = Validator()
    if cards is not None:
        await _check_cards(checks, location_id, cards, owner=row.id)
    groups = None
    if customer.group_ids is not None:
        groups = await _check_groups(checks, location_id, customer.group_ids)
    checks.check()
    try:
        async with transaction():
            # Re-read under a row lock (PostgreSQL), so the search text is built from the
            # names as they are now, not as they were when validation began.
            # A customer deleted meanwhile stays deleted: its erased contact data is not
            # written back.
            locked = await Customer.select_for_update().get_or_none(
                id=row.id, deleted_at__isnull=True
            )
            if locked is None:
                raise not_found("id", "Customer")
            row = locked
            row.update_from_dict(dict(values))
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
    """Delete a customer softly: the row stays, so that its wallet entries (and the balance
    they sum to) outlive it, but its contact data is erased, its cards are deleted (their codes
    are free again) and so are its group memberships. A deleted customer is found by no query.
    """
    uid = parse_id(customer_id)
    if uid is None:
        raise not_found("id", "Customer")
    now = datetime.now(UTC)
    async with transaction():
        erased = await Customer.filter(
            id=uid, location_id=location_id, deleted_at__isnull=True
        ).update(
            deleted_at=now,
            updated_at=now,
            first_name=None,
            last_name=None,
            email=None,
            phone=None,
            note=None,
            search_text="",
        )
        if not erased:
            raise not_found("id", "Customer")
        await Card.filter(customer_id=uid).delete()
        await GroupMembership.filter(customer_id=uid).delete()
    return uid
