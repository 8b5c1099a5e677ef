"""The customers repository: customers with their cards and group memberships, read and written
as `domain` values, so that services never hold a Tortoise model or build a query.

Every customer row is built by `_with_contact`, the one place that keeps the search text current,
whether the customer comes from the API, the importer or the demo. Writes take the transaction
(`models.db.Transaction`) of the service that owns it; reads run on their own.

The till's lookups (`view`, `view_by_card`) are the single statements of `models.reads`.
`filtered_customers` and `id_chunks` hand a customer query to the repositories of the wallet
operations and the schedules (`models.operations`, `models.schedules`), which walk a selection
in keyset pages.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import Q
from tortoise.functions import Coalesce

from domain import entities
from domain.contacts import search_terms
from domain.credits import CustomerSelection
from domain.customer_checks import CheckedCard, CustomerWrite
from domain.paging import CustomerOrder, SortValue
from models import reads
from models.db import Transaction
from models.queries import (
    CustomerQuery,
    card_entity,
    customer_entity,
    customers_matching,
    group_entity,
    live_customers,
)
from models.tables.crm import Card, Customer, GroupMembership

# The contact columns of a customer: what a write may set, and what erasure clears.
CONTACT_COLUMNS = ("first_name", "last_name", "email", "phone", "note")
# CASE updates bind ~15 parameters per customer; stay far below PostgreSQL's 32k.
UPDATE_BATCH_SIZE = 1_000

_CUSTOMER_FIELDS = tuple(f.name for f in fields(entities.Customer))
_GROUP_FIELDS = tuple(f.name for f in fields(entities.CustomerGroup))
_GROUP = "memberships__group__"


def _with_contact(
    row: Customer, contact: Mapping[str, str | None], card_codes: Iterable[str]
) -> Customer:
    """`row` with the given contact columns set, and its search text and name key made from
    them and the codes of the cards the customer holds."""
    row.update_from_dict(dict(contact))
    row.refresh_search_text(card_codes)
    return row


async def _held_codes(db: Transaction, customer_ids: Sequence[UUID]) -> dict[UUID, list[str]]:
    """The card codes each customer holds, in their given order."""
    rows = (
        await Card.filter(customer_id__in=list(customer_ids))
        .using_db(db)
        .order_by("customer_id", "position", "code")
        .values_list("customer_id", "code")
    )
    held: dict[UUID, list[str]] = defaultdict(list)
    for customer_id, code in rows:
        held[UUID(str(customer_id))].append(str(code))
    return held


# Reads


async def live(location_id: UUID, customer_id: UUID) -> entities.Customer | None:
    """The location's customer `customer_id`; None when there is none or it is deleted."""
    row = await live_customers(location_id).get_or_none(id=customer_id)
    return customer_entity(row) if row else None


async def view(location_id: UUID, customer_id: UUID) -> entities.CustomerView | None:
    """The live customer with its groups, in one statement."""
    return await reads.customer_by_id(location_id, customer_id)


async def view_by_card(location_id: UUID, code: str) -> entities.CustomerView | None:
    """The live holder of card `code` with its groups, in one statement (a till's scan)."""
    return await reads.customer_by_card(location_id, code)


async def views(location_id: UUID, ids: Sequence[UUID]) -> dict[UUID, entities.CustomerView]:
    """The live customers among `ids` with their groups sorted by name, in one statement (one
    row per membership, joined from the customer's row)."""
    if not ids:
        return {}
    columns = (*_CUSTOMER_FIELDS, *(_GROUP + name for name in _GROUP_FIELDS))
    rows = (
        await live_customers(location_id)
        .filter(id__in=list(dict.fromkeys(ids)))
        .order_by("id", f"{_GROUP}name", f"{_GROUP}id")
        .values(*columns)
    )
    customers: dict[UUID, entities.Customer] = {}
    groups: dict[UUID, list[entities.CustomerGroup]] = defaultdict(list)
    for row in rows:
        uid = row["id"]
        if uid not in customers:
            customers[uid] = entities.Customer(**{name: row[name] for name in _CUSTOMER_FIELDS})
        if row[f"{_GROUP}id"] is not None:
            values = {name: row[_GROUP + name] for name in _GROUP_FIELDS}
            groups[uid].append(entities.CustomerGroup(**values))
    return {
        uid: entities.CustomerView(customer, tuple(groups[uid]))
        for uid, customer in customers.items()
    }


async def live_ids(location_id: UUID, ids: Sequence[UUID]) -> set[UUID]:
    """Which of `ids` name live customers of the location."""
    found = await customers_matching(location_id, ids=ids).values_list("id", flat=True)
    return {UUID(str(c)) for c in found}


def filtered_customers(
    location_id: UUID, selection: CustomerSelection | None, after: UUID | None = None
) -> CustomerQuery:
    """The location's customers matching a selection (with ids above `after`, for keyset
    paging). Callers check the selection's ids first (`services.customers.check_target`)."""
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


async def selected_ids(location_id: UUID, selection: CustomerSelection | None) -> list[UUID]:
    """The ids of the location's customers a selection matches (None: every one)."""
    found = await filtered_customers(location_id, selection).values_list("id", flat=True)
    return [UUID(str(c)) for c in found]


def _known(ids: Sequence[UUID | None] | None) -> list[UUID] | None:
    """The well-formed ids of a selection (None stands for a malformed one)."""
    return None if ids is None else [i for i in ids if i is not None]


# The column each order of the list sorts on, and a value of its type (never used: the columns
# are never null) that makes COALESCE(column, value) an expression no index holds.
_SORT_COLUMNS: dict[str, tuple[str, SortValue]] = {
    "NAME": ("name_key", ""),
    "BALANCE": ("credit_balance", 0),
    "CREATED": ("created_at", datetime(1970, 1, 1, tzinfo=UTC)),
}


async def page(
    location_id: UUID,
    selection: CustomerSelection | None,
    order: CustomerOrder,
    after: tuple[SortValue, UUID] | None,
    first: int,
) -> tuple[int, list[tuple[entities.Customer, SortValue]]]:
    """How many customers the selection matches, and up to `first + 1` of them in `order`
    (ties broken by id, in the same direction), those after the (value, id) key `after`, each
    with its value in the order (the one beyond `first` says there is a next page)."""
    query = filtered_customers(location_id, selection)
    column, placeholder = _SORT_COLUMNS[order.sort]
    beyond = "lt" if order.descending else "gt"
    if after is not None:
        value, last = after
        past: dict[str, Any] = {f"{column}__{beyond}": value}
        tied: dict[str, Any] = {column: value, f"id__{beyond}": last}
        query = query.filter(Q(**past) | Q(**tied))
    sort = column
    if selection is not None and search_terms(selection.search or ""):
        # A search's matches are found by the trigram index and sorted: walking an order's
        # index instead, PostgreSQL would filter every customer before a term's first match
        # (64 ms rather than 7 for a surname late in the alphabet, at 100,000 customers).
        query = query.annotate(sort_key=Coalesce(column, placeholder))
        sort = "sort_key"
    sign = "-" if order.descending else ""
    # The total and the page at once, each on a connection of its own (a read outside any
    # transaction).
    total, rows = await asyncio.gather(
        filtered_customers(location_id, selection).count(),
        query.order_by(f"{sign}{sort}", f"{sign}id").limit(first + 1),
    )
    return total, [(customer_entity(row), getattr(row, column)) for row in rows]


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


async def cards_of(customer_ids: Sequence[UUID]) -> dict[UUID, list[entities.Card]]:
    """The cards of each customer, in their given order."""
    found: dict[UUID, list[entities.Card]] = defaultdict(list)
    for row in await Card.filter(customer_id__in=list(customer_ids)).order_by("position", "code"):
        found[row.customer_id].append(card_entity(row))
    return found


async def groups_of(customer_ids: Sequence[UUID]) -> dict[UUID, list[entities.CustomerGroup]]:
    """The groups of each customer, by name."""
    found: dict[UUID, list[entities.CustomerGroup]] = defaultdict(list)
    rows = (
        await GroupMembership.filter(customer_id__in=list(customer_ids))
        .select_related("group")
        .order_by("group__name")
    )
    for row in rows:
        found[row.customer_id].append(group_entity(row.group))
    return found


async def taken_codes(location_id: UUID, codes: Sequence[str], owner: UUID | None) -> list[str]:
    """Which of the card codes a customer of the location other than `owner` holds."""
    if not codes:
        return []
    taken = Card.filter(location_id=location_id, code__in=list(codes))
    if owner is not None:
        taken = taken.exclude(customer_id=owner)
    return [str(c) for c in await taken.values_list("code", flat=True)]


async def card_holders(location_id: UUID, codes: Sequence[str]) -> dict[str, entities.Customer]:
    """The customers holding these card codes in the location, by code."""
    if not codes:
        return {}
    cards = await Card.filter(location_id=location_id, code__in=list(codes)).select_related(
        "customer"
    )
    return {card.code: customer_entity(card.customer) for card in cards}


async def memberships(
    customer_ids: Sequence[UUID], group_ids: Sequence[UUID]
) -> set[tuple[UUID, UUID]]:
    """The (customer, group) pairs among these customers and groups that exist."""
    if not customer_ids or not group_ids:
        return set()
    found = await GroupMembership.filter(
        customer_id__in=list(customer_ids), group_id__in=list(group_ids)
    ).values_list("customer_id", "group_id")
    return {(UUID(str(c)), UUID(str(g))) for c, g in found}


# Writes


def _card_rows(location_id: UUID, customer_id: UUID, cards: Iterable[CheckedCard]) -> list[Card]:
    return [
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


async def create_many(
    db: Transaction, location_id: UUID, writes: Sequence[CustomerWrite]
) -> list[entities.Customer]:
    """Insert new customers with their cards and groups, a few statements for all of them.
    A card code another customer holds raises `IntegrityError`."""
    rows: list[Customer] = []
    cards: list[Card] = []
    members: list[tuple[UUID, UUID]] = []
    for write in writes:
        codes = [card.code for card in write.cards or ()]
        row = _with_contact(Customer(location_id=location_id), write.contact, codes)
        rows.append(row)
        cards.extend(_card_rows(location_id, row.id, write.cards or ()))
        members.extend((row.id, g) for g in write.group_ids or ())
    if rows:
        await Customer.bulk_create(rows, using_db=db)
    if cards:
        await Card.bulk_create(cards, using_db=db)
    await add_memberships(db, members)
    return [customer_entity(row) for row in rows]


async def create(db: Transaction, location_id: UUID, write: CustomerWrite) -> entities.Customer:
    """Insert one customer (see `create_many`)."""
    (customer,) = await create_many(db, location_id, [write])
    return customer


async def update(
    db: Transaction, location_id: UUID, customer_id: UUID, write: CustomerWrite
) -> entities.Customer | None:
    """Write the given contact columns, and replace the cards and groups when given; None
    when the customer is not (or no longer) there.

    The row is re-read under a row lock (PostgreSQL), so the search text is built from the
    names as they are now; a customer deleted meanwhile stays deleted, its erased contact data
    not written back. Only what the update owns is written: the wallet columns move under their
    own rules."""
    row = (
        await Customer.select_for_update()
        .using_db(db)
        .get_or_none(id=customer_id, location_id=location_id, deleted_at__isnull=True)
    )
    if row is None:
        return None
    if write.cards is not None:
        codes = [card.code for card in write.cards]
    else:
        codes = (await _held_codes(db, [row.id])).get(row.id, [])
    _with_contact(row, write.contact, codes)
    written = [*write.contact, "search_text", "name_key", "updated_at"]
    await row.save(update_fields=written, using_db=db)
    if write.cards is not None:
        await Card.filter(customer_id=row.id).using_db(db).delete()
        await Card.bulk_create(_card_rows(location_id, row.id, write.cards), using_db=db)
    if write.group_ids is not None:
        await (
            GroupMembership.filter(customer_id=row.id)
            .exclude(group_id__in=list(write.group_ids))
            .using_db(db)
            .delete()
        )
        await add_memberships(db, [(row.id, g) for g in write.group_ids])
    return customer_entity(row)


async def update_contacts(
    db: Transaction, customers: Sequence[entities.Customer], columns: Iterable[str]
) -> None:
    """Write these contact columns (and the search text) of each customer as given, a batch
    of customers per statement; the other columns stay as they are, so a concurrent edit of
    another field survives."""
    held = await _held_codes(db, [c.id for c in customers]) if customers else {}
    rows = [
        _with_contact(
            Customer(id=c.id, location_id=c.location_id),
            {name: getattr(c, name) for name in CONTACT_COLUMNS},
            held.get(c.id, []),
        )
        for c in customers
    ]
    if rows:
        written = sorted({*columns, "search_text", "name_key"})
        await Customer.bulk_update(
            rows, fields=[*written, "updated_at"], batch_size=UPDATE_BATCH_SIZE, using_db=db
        )


async def add_cards(
    db: Transaction, location_id: UUID, cards: Sequence[tuple[UUID, CheckedCard, int]]
) -> None:
    """Give existing customers more cards, as (customer, card, position); a card code another
    customer holds raises `IntegrityError`."""
    if cards:
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
                for customer_id, card, position in cards
            ],
            using_db=db,
        )


async def add_memberships(db: Transaction, pairs: Sequence[tuple[UUID, UUID]]) -> None:
    """Add customers to groups, as (customer, group) pairs; existing memberships stay."""
    if pairs:
        await GroupMembership.bulk_create(
            [GroupMembership(customer_id=c, group_id=g) for c, g in pairs],
            ignore_conflicts=True,
            using_db=db,
        )


async def delete(db: Transaction, location_id: UUID, customer_id: UUID, now: datetime) -> bool:
    """Delete a live customer softly: erase its contact data, free its card codes and end its
    memberships; the row stays for its wallet entries. False when there was none."""
    erased: dict[str, Any] = dict.fromkeys(CONTACT_COLUMNS)
    changed = (
        await Customer.filter(id=customer_id, location_id=location_id, deleted_at__isnull=True)
        .using_db(db)
        .update(deleted_at=now, updated_at=now, search_text="", name_key="", **erased)
    )
    if not changed:
        return False
    await Card.filter(customer_id=customer_id).using_db(db).delete()
    await GroupMembership.filter(customer_id=customer_id).using_db(db).delete()
    return True
