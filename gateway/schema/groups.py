"""Customer groups."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from domain import entities
from domain.access import sees_everything
from domain.money import basis_points_to_percent
from gateway.context import Info
from gateway.loaders import GroupKey
from gateway.schema.common import DeletePayload, UserError
from gateway.schema.inputs import CreditTargetInput, CustomerGroupInput
from gateway.schema.integrations import GroupConnection
from gateway.schema.resolvers import mutation, query
from gateway.schema.schedules import CreditSchedule
from services import groups


@strawberry.type
class CustomerGroup:
    id: strawberry.ID
    name: str
    reference: str
    description: str | None
    cashback_percent: Decimal | None
    cashback_hold_days: int = strawberry.field(
        description="Days a sale's cashback is held (shown, not spendable) before it is "
        "released; 0: none."
    )
    cashback_expires_after_days: int | None = strawberry.field(
        description="Granted cashback expires this many days after it becomes spendable "
        "(released, or granted when not held); null: never."
    )
    created_at: datetime
    entity: strawberry.Private[entities.CustomerGroup]

    @classmethod
    def of(cls, group: entities.CustomerGroup) -> CustomerGroup:
        bp = group.cashback_basis_points
        return cls(
            id=strawberry.ID(str(group.id)),
            name=group.name,
            reference=group.reference,
            description=group.description,
            cashback_percent=None if bp is None else basis_points_to_percent(bp),
            cashback_hold_days=group.cashback_hold_days,
            cashback_expires_after_days=group.cashback_expires_after_days,
            created_at=group.created_at,
            entity=group,
        )

    @strawberry.field
    async def customer_count(self, info: Info) -> int:
        return await info.context.loaders.customer_counts.load(self.entity.id)

    @strawberry.field(
        description="One per channel (GOPOS, GOORDER): how the group links to the synced "
        "upstream object with its reference."
    )
    async def connections(self, info: Info) -> list[GroupConnection]:
        group = self.entity
        key = GroupKey(group.id, group.location_id, group.reference)
        links = await info.context.loaders.connections.load(key)
        principal = info.context.principal
        return [GroupConnection.of(link, principal) for link in links]

    @strawberry.field(
        description="The schedules of this group with a period to come, paused or not: "
        "deleting the group ends those that target only it, and takes it out of the others. "
        "Empty for a till key."
    )
    async def schedules(self, info: Info) -> list[CreditSchedule]:
        principal = info.context.principal
        if not sees_everything(principal):
            return []
        group = self.entity
        key = GroupKey(group.id, group.location_id, group.reference)
        found = await info.context.loaders.group_schedules.load(key)
        return [CreditSchedule.of(s, principal) for s in found]


@strawberry.type
class CustomerGroupPayload:
    group: CustomerGroup | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _group_payload(group: entities.CustomerGroup) -> CustomerGroupPayload:
    return CustomerGroupPayload(group=CustomerGroup.of(group))


@strawberry.type
class Query:
    @query(admin=True)
    async def customer_group(self, info: Info, id: strawberry.ID) -> CustomerGroup | None:
        group = await groups.get_group(
            info.context.principal.location_id, id, info.context.runtime.stores
        )
        return CustomerGroup.of(group) if group else None

    @query(admin=True)
    async def customer_groups(self, info: Info) -> list[CustomerGroup]:
        found = await groups.list_groups(
            info.context.principal.location_id, info.context.runtime.stores
        )
        return [CustomerGroup.of(g) for g in found]

    @query(
        admin=True,
        description="The reference createCustomerGroup would generate from this name.",
    )
    def reference_for(self, info: Info, name: str) -> str:
        return groups.reference_for(name)


@strawberry.type
class Mutation:
    @mutation(CustomerGroupPayload)
    async def create_customer_group(
        self, info: Info, input: CustomerGroupInput
    ) -> CustomerGroupPayload:
        principal = info.context.principal
        group = await groups.create_group(
            principal.location_id, input.to_domain(), info.context.runtime.stores
        )
        return _group_payload(group)

    @mutation(CustomerGroupPayload)
    async def update_customer_group(
        self, info: Info, id: strawberry.ID, input: CustomerGroupInput
    ) -> CustomerGroupPayload:
        principal = info.context.principal
        group = await groups.update_group(
            principal.location_id, id, input.to_domain(), info.context.runtime.stores
        )
        return _group_payload(group)

    @mutation(DeletePayload)
    async def delete_customer_group(self, info: Info, id: strawberry.ID) -> DeletePayload:
        principal = info.context.principal
        deleted = await groups.delete_group(principal.location_id, id, info.context.runtime.stores)
        return DeletePayload(deleted_id=strawberry.ID(str(deleted)))

    @mutation(CustomerGroupPayload)
    async def add_customers_to_group(
        self, info: Info, group_id: strawberry.ID, target: CreditTargetInput
    ) -> CustomerGroupPayload:
        principal = info.context.principal
        group = await groups.add_customers(
            principal.location_id, group_id, target.to_domain(), info.context.runtime.stores
        )
        return _group_payload(group)

    @mutation(CustomerGroupPayload)
    async def remove_customers_from_group(
        self, info: Info, group_id: strawberry.ID, target: CreditTargetInput
    ) -> CustomerGroupPayload:
        principal = info.context.principal
        group = await groups.remove_customers(
            principal.location_id, group_id, target.to_domain(), info.context.runtime.stores
        )
        return _group_payload(group)
