"""`models.customers` and `models.groups` in memory: customers with their cards, contact data
and search text, and groups with their references and memberships.

Only what a rule needs is kept: a card code held by one customer of a location, a group
reference used once per location, the search text rebuilt from the contact columns on every
write (`domain.contacts.search_text`, as `models.customers._with_contact`), and a soft delete
that erases the contact data, frees the card codes and ends the memberships."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain import entities
from domain.contacts import name_key, search_text
from domain.credits import CustomerSelection
from domain.customer_checks import CheckedCard, CustomerWrite, NewGroup
from domain.paging import CustomerOrder, SortValue
from models.customers import CONTACT_COLUMNS
from models.db import IntegrityError
from tests.memory.operations import selected
from tests.memory.tables import Customer, Memory


def entity(row: Customer) -> entities.Customer:
    contact = {name: row.contact.get(name) for name in CONTACT_COLUMNS}
    return entities.Customer(
        id=row.id,
        location_id=row.location_id,
        **contact,
        credit_balance=row.credit_balance,
        wallet_updated_at=None,
        created_at=row.created_at,
        updated_at=row.created_at,
        cashback_held=row.cashback_held,
        cashback_owed=row.cashback_owed,
    )


def _write_contact(row: Customer, contact: Mapping[str, str | None]) -> None:
    row.contact.update(contact)
    c = row.contact
    codes = [card.code for card in row.cards]
    row.search_text = search_text(
        c.get("first_name"), c.get("last_name"), c.get("email"), c.get("phone"), codes
    )


def _sort_value(row: Customer, order: CustomerOrder) -> SortValue:
    """The row's value in the order, as `models.customers.page` reads its column."""
    if order.sort == "BALANCE":
        return row.credit_balance
    if order.sort == "CREATED":
        return row.created_at
    return name_key(row.contact.get("first_name"), row.contact.get("last_name"))


def _beyond(key: tuple[Any, UUID], after: tuple[Any, UUID], descending: bool) -> bool:
    return bool(key < after if descending else key > after)


class Customers:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    def _live(self, location_id: UUID, customer_id: UUID) -> Customer | None:
        row = self.memory.t.customers.get(customer_id)
        ok = row is not None and row.location_id == location_id and not row.deleted
        return row if ok else None

    def _groups(self, row: Customer) -> tuple[entities.CustomerGroup, ...]:
        found = [self.memory.t.group_rows[g] for g in row.group_ids]
        return tuple(sorted(found, key=lambda g: (g.name, g.id)))

    def _view(self, row: Customer, card_code: str | None = None) -> entities.CustomerView:
        return entities.CustomerView(entity(row), self._groups(row), card_code)

    async def live_ids(self, location_id: UUID, ids: Sequence[UUID]) -> set[UUID]:
        return {c.id for c in self.memory.live(location_id)} & set(ids)

    async def live(self, location_id: UUID, customer_id: UUID) -> entities.Customer | None:
        row = self._live(location_id, customer_id)
        return entity(row) if row else None

    async def view(self, location_id: UUID, customer_id: UUID) -> entities.CustomerView | None:
        row = self._live(location_id, customer_id)
        return self._view(row) if row else None

    async def view_by_card(self, location_id: UUID, code: str) -> entities.CustomerView | None:
        for row in self.memory.live(location_id):
            if code in row.card_codes:
                return self._view(row, code)
        return None

    async def views(
        self, location_id: UUID, ids: Sequence[UUID]
    ) -> dict[UUID, entities.CustomerView]:
        rows = (self._live(location_id, i) for i in dict.fromkeys(ids))
        return {row.id: self._view(row) for row in rows if row}

    async def selected_ids(
        self, location_id: UUID, selection: CustomerSelection | None
    ) -> list[UUID]:
        return [c.id for c in selected(self.memory, location_id, selection)]

    async def page(
        self,
        location_id: UUID,
        selection: CustomerSelection | None,
        order: CustomerOrder,
        after: tuple[SortValue, UUID] | None,
        first: int,
    ) -> tuple[int, list[tuple[entities.Customer, SortValue]]]:
        found = selected(self.memory, location_id, selection)
        keyed = sorted(
            ((_sort_value(c, order), c.id, c) for c in found),
            key=lambda k: (k[0], k[1]),
            reverse=order.descending,
        )
        if after is not None:
            keyed = [k for k in keyed if _beyond((k[0], k[1]), after, order.descending)]
        return len(found), [(entity(c), value) for value, _, c in keyed[: first + 1]]

    async def cards_of(self, customer_ids: Sequence[UUID]) -> dict[UUID, list[entities.Card]]:
        rows = (self.memory.t.customers.get(i) for i in customer_ids)
        return {row.id: list(row.cards) for row in rows if row and row.cards}

    async def groups_of(
        self, customer_ids: Sequence[UUID]
    ) -> dict[UUID, list[entities.CustomerGroup]]:
        rows = (self.memory.t.customers.get(i) for i in customer_ids)
        return {row.id: list(self._groups(row)) for row in rows if row and row.group_ids}

    async def taken_codes(
        self, location_id: UUID, codes: Sequence[str], owner: UUID | None
    ) -> list[str]:
        holders = self._holders(location_id)
        return [code for code in codes if code in holders and holders[code] != owner]

    def _holders(self, location_id: UUID) -> dict[str, UUID]:
        """Card code → holder, for the location (deleted customers hold none)."""
        return {
            code: row.id
            for row in self.memory.t.customers.values()
            if row.location_id == location_id
            for code in row.card_codes
        }

    def _set_cards(self, row: Customer, cards: Sequence[CheckedCard]) -> None:
        """The unique index on (location, code): a code another customer holds raises."""
        if any(self._holders(row.location_id).get(c.code, row.id) != row.id for c in cards):
            raise IntegrityError("cards.location_id, cards.code")
        row.cards = [entities.Card(row.id, c.code, c.number, c.expires_on) for c in cards]
        row.card_codes = {c.code for c in cards}

    async def create(self, db: Any, location_id: UUID, write: CustomerWrite) -> entities.Customer:
        row = Customer(location_id, created_at=self.memory.clock())
        self._set_cards(row, write.cards or ())
        _write_contact(row, write.contact)
        row.group_ids = set(write.group_ids or ())
        self.memory.t.customers[row.id] = row
        return entity(row)

    async def update(
        self, db: Any, location_id: UUID, customer_id: UUID, write: CustomerWrite
    ) -> entities.Customer | None:
        row = self._live(location_id, customer_id)
        if row is None:
            return None
        if write.cards is not None:
            self._set_cards(row, write.cards)
        _write_contact(row, write.contact)
        if write.group_ids is not None:
            row.group_ids = set(write.group_ids)
        return entity(row)

    async def delete(self, db: Any, location_id: UUID, customer_id: UUID, now: datetime) -> bool:
        row = self._live(location_id, customer_id)
        if row is None:
            return False
        row.deleted = True
        row.contact = dict.fromkeys(CONTACT_COLUMNS)
        row.search_text = ""
        row.cards, row.card_codes, row.group_ids = [], set(), set()
        return True


class Groups:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def ids_in_location(self, location_id: UUID, ids: Sequence[UUID]) -> set[UUID]:
        return {g for g in ids if self.memory.t.groups.get(g) == location_id}

    async def get(self, location_id: UUID, group_id: UUID) -> entities.CustomerGroup | None:
        group = self.memory.t.group_rows.get(group_id)
        return group if group and group.location_id == location_id else None

    async def in_location(self, location_id: UUID) -> list[entities.CustomerGroup]:
        found = [g for g in self.memory.t.group_rows.values() if g.location_id == location_id]
        return sorted(found, key=lambda g: (g.name, g.id))

    async def member_counts(self, group_ids: Sequence[UUID]) -> dict[UUID, int]:
        counts = dict.fromkeys(group_ids, 0)
        for row in self.memory.t.customers.values():
            for g in set() if row.deleted else row.group_ids & set(group_ids):
                counts[g] += 1
        return {g: n for g, n in counts.items() if n}

    async def reference_taken(
        self, location_id: UUID, reference: str, exclude: UUID | None = None
    ) -> bool:
        return any(
            g.reference == reference and g.id != exclude
            for g in await self.in_location(location_id)
        )

    async def create(self, location_id: UUID, group: NewGroup) -> entities.CustomerGroup:
        if await self.reference_taken(location_id, group.reference):
            raise IntegrityError("customer_groups.location_id, customer_groups.reference")
        row = entities.CustomerGroup(
            id=uuid4(),
            location_id=location_id,
            name=group.name,
            reference=group.reference,
            description=group.description,
            cashback_basis_points=group.cashback_basis_points,
            created_at=self.memory.clock(),
            cashback_hold_days=group.cashback_hold_days,
            cashback_expires_after_days=group.cashback_expires_after_days,
        )
        self.memory.t.groups[row.id] = location_id
        self.memory.t.group_rows[row.id] = row
        return row

    async def update(
        self, group: entities.CustomerGroup, columns: Mapping[str, Any]
    ) -> entities.CustomerGroup:
        changed = replace(group, **columns)
        if await self.reference_taken(group.location_id, changed.reference, group.id):
            raise IntegrityError("customer_groups.location_id, customer_groups.reference")
        self.memory.t.group_rows[group.id] = changed
        return changed

    async def delete(self, location_id: UUID, group_id: UUID, db: Any = None) -> bool:
        if await self.get(location_id, group_id) is None:
            return False
        del self.memory.t.groups[group_id], self.memory.t.group_rows[group_id]
        for row in self.memory.t.customers.values():
            row.group_ids.discard(group_id)
        return True

    async def add_members(self, db: Any, group_id: UUID, customer_ids: Sequence[UUID]) -> None:
        for customer_id in customer_ids:
            self.memory.t.customers[customer_id].group_ids.add(group_id)

    async def remove_members(self, db: Any, group_id: UUID, customer_ids: Sequence[UUID]) -> None:
        for customer_id in customer_ids:
            self.memory.t.customers[customer_id].group_ids.discard(group_id)

    async def remove_selected(
        self, location_id: UUID, group_id: UUID, selection: CustomerSelection | None
    ) -> None:
        for row in selected(self.memory, location_id, selection):
            row.group_ids.discard(group_id)
