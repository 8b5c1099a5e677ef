"""Customers with their loyalty cards and group memberships."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from domain import entities
from domain.contacts import PhoneRule, card_code_problem, normalise_card_code
from domain.credits import (
    CUSTOMER_NOT_FOUND,
    GROUP_NOT_FOUND,
    CustomerSelection,
    ParsedTarget,
    parse_filter,
)
from domain.customer_checks import CheckedCard, CustomerWrite, checked_customer
from domain.errors import DomainError, ErrorCode, UserError, Validator, fail, not_found
from domain.ids import parse_id
from domain.ledger import WRITE_OFF_DESCRIPTION, EntryKind, EntrySource
from domain.messages import Message, msg
from domain.paging import (
    CustomerOrder,
    SortValue,
    customer_key,
    decode_cursor,
    page_of,
    page_size_problem,
    parse_customer_key,
)
from domain.requests import CustomerFilter, CustomerInput
from models import checkouts as checkout_repository
from models import customers as repository
from models import groups as group_repository
from models import ledger as ledger_repository
from models import locations as location_repository
from models.db import IntegrityError, Transaction, transaction
from models.ledger import Application, Movement
from services import metrics
from services.checkout.hold import hold_wallet
from services.phones import phone_rule
from services.stores import CustomerStore, GroupStore, LocationStore, Stores


def customer_store(stores: Stores | None) -> CustomerStore:
    """The customers repository of `stores`; the SQL one when no stores are given (callers
    outside a request: the demo, the seeding, tests of the SQL path)."""
    return repository if stores is None else stores.customers


def group_store(stores: Stores | None) -> GroupStore:
    """The groups repository of `stores`; the SQL one when none are given."""
    return group_repository if stores is None else stores.groups


def location_store(stores: Stores | None) -> LocationStore:
    """The locations repository of `stores`; the SQL one when none are given."""
    return location_repository if stores is None else stores.locations


async def location_phone_rule(location_id: UUID, stores: Stores | None = None) -> PhoneRule:
    """How the location's phone numbers are read (`services.phones`)."""
    return phone_rule(await location_store(stores).get(location_id))


def open_transaction(stores: Stores | None) -> AbstractAsyncContextManager[Transaction]:
    """A transaction of `stores`' database; the SQL one when none are given."""
    return transaction() if stores is None else stores.transaction()


async def check_ids(
    location_id: UUID,
    *,
    customers: Sequence[tuple[str, Sequence[UUID | None]]] = (),
    groups: Sequence[tuple[str, Sequence[UUID | None]]] = (),
    stores: Stores | None = None,
) -> None:
    """Every id a client names, in a list or a filter, must name a customer (or group) of the
    location: NOT_FOUND at `field.i` for each one that does not, all of them at once.

    `customers` and `groups` are (field, ids) pairs, ids in the order the client gave them;
    None stands for an id that was not a UUID. The repositories are `stores`' when given (the
    wallet and schedule services'), the SQL ones otherwise.
    """
    customer_ids = customer_store(stores)
    group_ids = group_store(stores)
    known_customers: set[UUID] = set()
    if wanted := [i for _, ids in customers for i in ids if i is not None]:
        known_customers = await customer_ids.live_ids(location_id, wanted)
    wanted_groups = sorted({i for _, ids in groups for i in ids if i is not None})
    known_groups = await group_ids.ids_in_location(location_id, wanted_groups)
    errors = [
        *_unknown(customers, known_customers, CUSTOMER_NOT_FOUND),
        *_unknown(groups, known_groups, GROUP_NOT_FOUND),
    ]
    if errors:
        raise DomainError(*errors)


def _unknown(
    lists: Sequence[tuple[str, Sequence[UUID | None]]], known: set[UUID], message: Message
) -> list[UserError]:
    return [
        UserError(ErrorCode.NOT_FOUND, f"{field}.{index}", message)
        for field, ids in lists
        for index, uid in enumerate(ids)
        if uid not in known
    ]


async def check_target(
    location_id: UUID, target: ParsedTarget, field: str, stores: Stores | None = None
) -> None:
    """NOT_FOUND for each id of a parsed target that is not the location's (see `check_ids`)."""
    selection = target.selection or CustomerSelection()
    await check_ids(
        location_id,
        customers=[
            (f"{field}.customerIds", target.customer_ids or ()),
            (f"{field}.filter.ids", selection.ids or ()),
        ],
        groups=[(f"{field}.filter.groupIds", selection.group_ids or ())],
        stores=stores,
    )


async def checked_selection(
    location_id: UUID, criteria: CustomerFilter | None, field: str, stores: Stores | None = None
) -> CustomerSelection | None:
    """A client's filter, parsed and with every id it names checked against the location."""
    if criteria is None:
        return None
    selection = parse_filter(criteria, field)
    await check_ids(
        location_id,
        customers=[(f"{field}.ids", selection.ids or ())],
        groups=[(f"{field}.groupIds", selection.group_ids or ())],
        stores=stores,
    )
    return selection


async def list_customers(
    location_id: UUID,
    criteria: CustomerFilter | None,
    first: int,
    after: str | None,
    stores: Stores | None = None,
    order: CustomerOrder = CustomerOrder.NAME_ASC,
) -> entities.Page[entities.Customer]:
    """A page of the location's customers in `order`, after the cursor `after` (a cursor of a
    page in the same order), with how many the filter matches."""
    checks = Validator()
    if problem := page_size_problem(first):
        checks.add(ErrorCode.INVALID, "first", problem)
    key: tuple[SortValue, UUID] | None = None
    if after is not None:
        raw = decode_cursor(after)
        key = parse_customer_key(order, raw) if raw is not None else None
        if key is None:
            checks.add(ErrorCode.INVALID, "after", msg("page.bad_cursor_order"))
    checks.check()
    selection = await checked_selection(location_id, criteria, "filter", stores)
    total, found = await customer_store(stores).page(location_id, selection, order, key, first)
    keys = {customer.id: customer_key(order, value, customer.id) for customer, value in found}
    return page_of([c for c, _ in found], first, total, key=lambda c: keys[c.id])


async def customer_view(
    location_id: UUID, customer_id: str, stores: Stores | None = None
) -> entities.CustomerView | None:
    """The customer with its groups, in one statement; None for an unknown or malformed id."""
    uid = parse_id(customer_id)
    return await customer_store(stores).view(location_id, uid) if uid else None


async def customer_view_by_card(
    location_id: UUID, code: str, stores: Stores | None = None
) -> entities.CustomerView | None:
    """The holder of a card with its groups, in one statement; None for an unknown card.

    The code is normalised as a stored one is (`normalise_card_code`: "demo 0002" finds
    DEMO0002). Raises INVALID on `cardCode` for what cannot be a card code (control
    characters, more than 64 characters), before any query; the message never repeats it.
    """
    code = normalise_card_code(code)
    if problem := card_code_problem(code):
        raise fail(ErrorCode.INVALID, "cardCode", problem)
    return await customer_store(stores).view_by_card(location_id, code)


async def get_customer(
    location_id: UUID, customer_id: str, stores: Stores | None = None
) -> entities.Customer | None:
    view = await customer_view(location_id, customer_id, stores)
    return view.customer if view else None


async def get_customer_by_card(
    location_id: UUID, code: str, stores: Stores | None = None
) -> entities.Customer | None:
    """The holder of a card; None for an unknown card or one that cannot be a card code."""
    try:
        view = await customer_view_by_card(location_id, code, stores)
    except DomainError:
        return None
    return view.customer if view else None


async def customer_views(
    location_id: UUID, customer_ids: Sequence[UUID], stores: Stores | None = None
) -> dict[UUID, entities.CustomerView]:
    """The location's live customers among `customer_ids` with their groups, in one statement
    (a request's DataLoader asks for all it needs at once)."""
    return await customer_store(stores).views(location_id, customer_ids)


async def cards_of(
    customer_ids: Sequence[UUID], stores: Stores | None = None
) -> dict[UUID, list[entities.Card]]:
    return await customer_store(stores).cards_of(customer_ids)


async def groups_of(
    customer_ids: Sequence[UUID], stores: Stores | None = None
) -> dict[UUID, list[entities.CustomerGroup]]:
    return await customer_store(stores).groups_of(customer_ids)


async def _check_cards(
    checks: Validator,
    location_id: UUID,
    cards: Sequence[CheckedCard],
    owner: UUID | None,
    stores: Stores | None,
) -> None:
    """Card codes that another customer of the location holds are DUPLICATE."""
    codes = sorted({card.code for card in cards})
    for code in await customer_store(stores).taken_codes(location_id, codes, owner):
        index = next(i for i, c in enumerate(cards) if c.code == code)
        checks.add(
            ErrorCode.DUPLICATE,
            f"input.cards.{index}.code",
            msg("card.code_taken", code=code),
        )


async def _check_groups(
    checks: Validator, location_id: UUID, group_ids: Sequence[str], stores: Stores | None
) -> list[UUID]:
    """The groups a customer input names, each once; NOT_FOUND joins `checks` for each id
    that is not a group of the location."""
    wanted = [parse_id(g) for g in group_ids]
    try:
        await check_ids(location_id, groups=[("input.groupIds", wanted)], stores=stores)
    except DomainError as unknown:
        checks.errors.extend(unknown.errors)
    return list(dict.fromkeys(g for g in wanted if g is not None))


def _duplicate_card() -> DomainError:
    return fail(ErrorCode.DUPLICATE, "input.cards", msg("card.a_code_taken"))


async def create_customer(
    location_id: UUID, data: CustomerInput, stores: Stores | None = None
) -> entities.Customer:
    customer = checked_customer(data, await location_phone_rule(location_id, stores))
    cards = customer.cards or ()
    checks = Validator()
    await _check_cards(checks, location_id, cards, None, stores)
    groups = await _check_groups(checks, location_id, customer.group_ids or (), stores)
    checks.check()
    write = CustomerWrite(customer.contact, cards, tuple(groups))
    try:
        async with open_transaction(stores) as db:
            return await customer_store(stores).create(db, location_id, write)
    except IntegrityError as exc:  # a concurrent writer took a card code after our check
        raise _duplicate_card() from exc


async def update_customer(
    location_id: UUID, customer_id: str, data: CustomerInput, stores: Stores | None = None
) -> entities.Customer:
    customer = checked_customer(data, await location_phone_rule(location_id, stores))
    cards = customer.cards
    uid = parse_id(customer_id)
    store = customer_store(stores)
    found = await store.live(location_id, uid) if uid else None
    if found is None:
        raise not_found("id", "customer")
    checks = Validator()
    if cards is not None:
        await _check_cards(checks, location_id, cards, found.id, stores)
    groups = None
    if customer.group_ids is not None:
        groups = tuple(await _check_groups(checks, location_id, customer.group_ids, stores))
    checks.check()
    try:
        async with open_transaction(stores) as db:
            # A customer deleted meanwhile stays deleted (see `repository.update`).
            updated = await store.update(
                db, location_id, found.id, CustomerWrite(customer.contact, cards, groups)
            )
            if updated is None:
                raise not_found("id", "customer")
    except IntegrityError as exc:
        raise _duplicate_card() from exc
    return updated


@dataclass(frozen=True)
class DeletedCustomer:
    """A deleted customer's id and the balance its deletion wrote off (minor units)."""

    id: UUID
    written_off: int


def write_off(location_id: UUID, customer_id: UUID, balance: int, now: datetime) -> Application:
    """The WRITE_OFF entry of a deleted customer's `balance`: all of it, exactly once (its
    source id is the customer's, so the ledger's unique key allows one per customer)."""
    return Application(
        location_id=location_id,
        operation=Movement.DEBIT,
        amount=balance,
        kind=EntryKind.WRITE_OFF.value,
        source=EntrySource.SYSTEM.value,
        source_id=customer_id,
        period=0,
        description=WRITE_OFF_DESCRIPTION,
        actor=None,
        now=now,
    )


async def delete_customer(
    location_id: UUID,
    customer_id: str,
    stores: Stores | None = None,
    *,
    now: datetime | None = None,
) -> DeletedCustomer:
    """Delete a customer softly: the row stays, so that its wallet entries outlive it, but its
    contact data is erased, its cards are deleted (their codes are free again) and so are its
    group memberships. A deleted customer is found by no query.

    What it holds is written off in the same transaction, by a WRITE_OFF entry (source SYSTEM)
    that takes its balance to 0, so the balances a person can see always sum to the ledger.
    The transaction first holds the customer as every wallet write does (`hold_wallet`), so
    a concurrent commit, refund or credit lands either before (and is written off with the
    rest) or after (and finds no live customer). Held cashback is never released to a deleted
    customer (the release just ends the hold), and owed cashback is never collected: neither is
    part of the balance, so neither is written off. `now`: the runtime's clock, the time of
    the write-off and of the deletion.
    """
    uid = parse_id(customer_id)
    if uid is None:
        raise not_found("id", "customer")
    now = now or datetime.now(UTC)
    checkouts = checkout_repository if stores is None else stores.checkouts
    ledger = ledger_repository if stores is None else stores.ledger
    async with open_transaction(stores) as db:
        wallet = await hold_wallet(checkouts, db, location_id, uid)
        if wallet is None:
            raise not_found("id", "customer")
        if wallet.balance:
            change = write_off(location_id, uid, wallet.balance, now)
            if await ledger.apply_chunk([uid], change, db) != 1:
                raise RuntimeError(f"customer {uid}: the write-off was not written")
        if not await customer_store(stores).delete(db, location_id, uid, now):
            raise not_found("id", "customer")
    if wallet.balance:
        metrics.entries_written(EntryKind.WRITE_OFF.value)
    return DeletedCustomer(uid, wallet.balance)
