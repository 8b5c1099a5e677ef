"""DataLoaders, built fresh for each request, so lists resolve without N+1 queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from uuid import UUID

from strawberry.dataloader import DataLoader

from domain import entities
from domain.checkouts import RefundView
from domain.messages import Message
from services import checkout, customers, groups, schedules, sync, undo
from services.runtime import Runtime
from services.stores import Stores


@dataclass(frozen=True)
class CustomerKey:
    """A customer of a location, as a checkout names it."""

    location_id: UUID
    id: UUID


async def _customers(
    stores: Stores, keys: Sequence[CustomerKey]
) -> list[entities.CustomerView | None]:
    """One statement for the batch (per location: a request has one)."""
    found: dict[CustomerKey, entities.CustomerView] = {}
    for location_id in dict.fromkeys(key.location_id for key in keys):
        ids = [key.id for key in keys if key.location_id == location_id]
        views = await customers.customer_views(location_id, ids, stores)
        found.update((CustomerKey(location_id, uid), view) for uid, view in views.items())
    return [found.get(key) for key in keys]


@dataclass(frozen=True)
class CheckoutKey:
    """A checkout of a location."""

    location_id: UUID
    id: UUID


async def _refunds(keys: Sequence[CheckoutKey]) -> list[list[RefundView]]:
    """One statement for the batch (per location: a request has one)."""
    found: dict[CheckoutKey, list[RefundView]] = {}
    for location_id in dict.fromkeys(key.location_id for key in keys):
        ids = [key.id for key in keys if key.location_id == location_id]
        views = await checkout.refunds_of(location_id, ids)
        found.update((CheckoutKey(location_id, uid), rows) for uid, rows in views.items())
    return [found.get(key, []) for key in keys]


async def _cards(stores: Stores, keys: Sequence[UUID]) -> list[list[entities.Card]]:
    found = await customers.cards_of(keys, stores)
    return [found.get(k, []) for k in keys]


async def _groups(stores: Stores, keys: Sequence[UUID]) -> list[list[entities.CustomerGroup]]:
    found = await customers.groups_of(keys, stores)
    return [found.get(k, []) for k in keys]


async def _counts(stores: Stores, keys: Sequence[UUID]) -> list[int]:
    found = await groups.customer_counts(keys, stores)
    return [found.get(k, 0) for k in keys]


async def _schedule_counts(keys: Sequence[UUID]) -> list[int]:
    found = await schedules.customer_counts(list(keys))
    return [found.get(k, 0) for k in keys]


async def _schedule_failures(keys: Sequence[UUID]) -> list[Message | None]:
    found = await schedules.last_failures(list(keys))
    return [found.get(k) for k in keys]


async def _undos(keys: Sequence[UUID]) -> list[entities.WalletOperation | None]:
    found = await undo.undone_by(list(keys))
    return [found.get(k) for k in keys]


@dataclass(frozen=True)
class GroupKey:
    """A CRM group as its connections are matched: by its reference at the time it was read."""

    id: UUID
    location_id: UUID
    reference: str


class Loaders:
    """Each loader is made on its first use: most requests need one or none."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @cached_property
    def customers(self) -> DataLoader[CustomerKey, entities.CustomerView | None]:
        """Customers with their groups, each read once per request; None once deleted."""
        return DataLoader(load_fn=partial(_customers, self.runtime.stores))

    @cached_property
    def refunds(self) -> DataLoader[CheckoutKey, list[RefundView]]:
        """The refunds of checkouts, oldest first."""
        return DataLoader(load_fn=_refunds)

    @cached_property
    def cards(self) -> DataLoader[UUID, list[entities.Card]]:
        return DataLoader(load_fn=partial(_cards, self.runtime.stores))

    @cached_property
    def groups(self) -> DataLoader[UUID, list[entities.CustomerGroup]]:
        return DataLoader(load_fn=partial(_groups, self.runtime.stores))

    @cached_property
    def customer_counts(self) -> DataLoader[UUID, int]:
        return DataLoader(load_fn=partial(_counts, self.runtime.stores))

    @cached_property
    def schedule_customer_counts(self) -> DataLoader[UUID, int]:
        return DataLoader(load_fn=_schedule_counts)

    @cached_property
    def undos(self) -> DataLoader[UUID, entities.WalletOperation | None]:
        """The undo of each operation (or period) that has one."""
        return DataLoader(load_fn=_undos)

    @cached_property
    def schedule_failures(self) -> DataLoader[UUID, Message | None]:
        return DataLoader(load_fn=_schedule_failures)

    @cached_property
    def group_schedules(self) -> DataLoader[GroupKey, list[entities.CreditSchedule]]:
        """The schedules of CRM groups with a period to come, one statement per location."""

        async def load(keys: Sequence[GroupKey]) -> list[list[entities.CreditSchedule]]:
            found: dict[GroupKey, list[entities.CreditSchedule]] = {}
            for location_id in dict.fromkeys(key.location_id for key in keys):
                mine = [key for key in keys if key.location_id == location_id]
                by_group = await schedules.active_by_group(
                    self.runtime.stores, location_id, [key.id for key in mine]
                )
                found.update((key, by_group[key.id]) for key in mine)
            return [found[key] for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def connections(self) -> DataLoader[GroupKey, tuple[sync.GroupLink, ...]]:
        """The connections of CRM groups, read from the mirror by their references once per
        batch (and once per sync version in the process, `services.sync.MirrorReads`)."""

        async def load(keys: Sequence[GroupKey]) -> list[tuple[sync.GroupLink, ...]]:
            found: dict[GroupKey, tuple[sync.GroupLink, ...]] = {}
            for location_id in dict.fromkeys(key.location_id for key in keys):
                mine = [key for key in keys if key.location_id == location_id]
                reads = await sync.mirror_reads(self.runtime, location_id)
                links = await reads.links([(key.id, key.reference) for key in mine])
                found.update((key, links[key.id]) for key in mine)
            return [found[key] for key in keys]

        return DataLoader(load_fn=load)
