"""DataLoaders, built fresh for each request, so lists resolve without N+1 queries."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from uuid import UUID

from strawberry.dataloader import DataLoader

from domain import entities
from services import customers, groups, schedules


async def _cards(keys: Sequence[UUID]) -> list[list[entities.Card]]:
    found = await customers.cards_of(keys)
    return [found.get(k, []) for k in keys]


async def _groups(keys: Sequence[UUID]) -> list[list[entities.CustomerGroup]]:
    found = await customers.groups_of(keys)
    return [found.get(k, []) for k in keys]


async def _counts(keys: Sequence[UUID]) -> list[int]:
    found = await groups.customer_counts(keys)
    return [found.get(k, 0) for k in keys]


async def _schedule_counts(keys: Sequence[UUID]) -> list[int]:
    found = await schedules.customer_counts(list(keys))
    return [found.get(k, 0) for k in keys]


class Loaders:
    """Each loader is made on its first use: most requests need one or none."""

    @cached_property
    def cards(self) -> DataLoader[UUID, list[entities.Card]]:
        return DataLoader(load_fn=_cards)

    @cached_property
    def groups(self) -> DataLoader[UUID, list[entities.CustomerGroup]]:
        return DataLoader(load_fn=_groups)

    @cached_property
    def customer_counts(self) -> DataLoader[UUID, int]:
        return DataLoader(load_fn=_counts)

    @cached_property
    def schedule_customer_counts(self) -> DataLoader[UUID, int]:
        return DataLoader(load_fn=_schedule_counts)
