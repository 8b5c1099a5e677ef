"""Customers, their cards and group memberships."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime

import strawberry

from domain import entities
from domain.access import Principal, sees_everything
from domain.errors import ErrorCode, fail
from domain.messages import msg
from domain.paging import DEFAULT_PAGE_SIZE, CustomerOrder
from gateway.context import Info
from gateway.schema.common import Money, PageInfo, UserError
from gateway.schema.groups import CustomerGroup
from gateway.schema.inputs import CustomerFilterInput, CustomerInput, to_filter
from gateway.schema.resolvers import mutation, query
from gateway.schema.wallet import Wallet
from services import customers

strawberry.enum(CustomerOrder, name="CustomerOrder")


@strawberry.type
class CustomerCard:
    code: str
    number: str | None
    expires_on: date | None


@strawberry.type(
    description="What a till key (role POS) sees of a customer: id, firstName, lastName, "
    "groups, wallet { balance held owed }, and in cards only the card it looked the customer "
    "up by (else an empty list); email, phone and note are null and wallet.entries is empty. "
    "ADMIN keys see everything."
)
class Customer:
    id: strawberry.ID
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    entity: strawberry.Private[entities.Customer]
    # The groups when they were read with the customer (a card lookup), else None.
    known_groups: strawberry.Private[tuple[entities.CustomerGroup, ...] | None] = None
    # Shown as a till shows it (`sees_everything` is False), and the card code the customer
    # was looked up by, the only card a till sees.
    whole: strawberry.Private[bool] = True
    scanned_card: strawberry.Private[str | None] = None

    @classmethod
    def of(
        cls,
        customer: entities.Customer,
        principal: Principal,
        groups: tuple[entities.CustomerGroup, ...] | None = None,
        scanned_card: str | None = None,
    ) -> Customer:
        """The customer as the caller's key may see it: every path to a customer comes here."""
        whole = sees_everything(principal)
        return cls(
            id=strawberry.ID(str(customer.id)),
            first_name=customer.first_name,
            last_name=customer.last_name,
            email=customer.email if whole else None,
            phone=customer.phone if whole else None,
            note=customer.note if whole else None,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            entity=customer,
            known_groups=groups,
            whole=whole,
            scanned_card=scanned_card,
        )

    @strawberry.field
    async def cards(self, info: Info) -> list[CustomerCard]:
        if not self.whole and self.scanned_card is None:
            return []
        found = await info.context.loaders.cards.load(self.entity.id)
        if not self.whole:
            found = [c for c in found if c.code == self.scanned_card]
        return [CustomerCard(code=c.code, number=c.number, expires_on=c.expires_on) for c in found]

    @strawberry.field(graphql_type=list[CustomerGroup])
    def groups(self, info: Info) -> list[CustomerGroup] | Awaitable[list[CustomerGroup]]:
        # Known groups are answered at once: no awaitable for the executor to wait on.
        if self.known_groups is not None:
            return [CustomerGroup.of(g) for g in self.known_groups]
        return self._loaded_groups(info)

    async def _loaded_groups(self, info: Info) -> list[CustomerGroup]:
        found = await info.context.loaders.groups.load(self.entity.id)
        return [CustomerGroup.of(g) for g in found]

    @strawberry.field
    def wallet(self, info: Info) -> Wallet:
        return Wallet.of(self.entity, info.context.principal, ledger=self.whole)


@strawberry.type
class CustomerEdge:
    node: Customer
    cursor: str


@strawberry.type
class CustomerConnection:
    edges: list[CustomerEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class CustomerPayload:
    customer: Customer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @query(description="One customer, by id or by a card code scanned at the POS.")
    async def customer(
        self, info: Info, id: strawberry.ID | None = None, card_code: str | None = None
    ) -> Customer | None:
        location_id = info.context.principal.location_id
        if (id is None) == (card_code is None):
            raise fail(ErrorCode.INVALID, None, msg("customer.id_or_card"))
        if id is not None:
            found = await customers.customer_view(location_id, id, info.context.runtime.stores)
        else:
            found = await customers.customer_view_by_card(
                location_id, card_code or "", info.context.runtime.stores
            )
        if found is None:
            return None
        return Customer.of(found.customer, info.context.principal, found.groups, found.card_code)

    @query(admin=True)
    async def customers(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        filter: CustomerFilterInput | None = None,
        order_by: CustomerOrder | None = CustomerOrder.NAME_ASC,
    ) -> CustomerConnection:
        page = await customers.list_customers(
            info.context.principal.location_id,
            to_filter(filter),
            DEFAULT_PAGE_SIZE if first is None else first,
            after,
            info.context.runtime.stores,
            order_by or CustomerOrder.NAME_ASC,
        )
        edges = [
            CustomerEdge(node=Customer.of(c, info.context.principal), cursor=cursor)
            for c, cursor in zip(page.items, page.cursors, strict=True)
        ]
        return CustomerConnection(
            edges=edges,
            page_info=PageInfo.of(page),
            total_count=page.total_count,
        )


@strawberry.type
class DeleteCustomerPayload:
    deleted_id: strawberry.ID | None = None
    written_off: Money | None = strawberry.field(
        default=None,
        description="The balance the deletion wrote off (a WRITE_OFF entry): what the customer "
        "held. Held cashback is never released to a deleted customer, and owed cashback is "
        "never collected.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Mutation:
    @mutation(CustomerPayload)
    async def create_customer(self, info: Info, input: CustomerInput) -> CustomerPayload:
        principal = info.context.principal
        customer = await customers.create_customer(
            principal.location_id, input.to_domain(), info.context.runtime.stores
        )
        return CustomerPayload(customer=Customer.of(customer, principal))

    @mutation(CustomerPayload)
    async def update_customer(
        self, info: Info, id: strawberry.ID, input: CustomerInput
    ) -> CustomerPayload:
        principal = info.context.principal
        customer = await customers.update_customer(
            principal.location_id, id, input.to_domain(), info.context.runtime.stores
        )
        return CustomerPayload(customer=Customer.of(customer, principal))

    @mutation(DeleteCustomerPayload)
    async def delete_customer(self, info: Info, id: strawberry.ID) -> DeleteCustomerPayload:
        principal = info.context.principal
        runtime = info.context.runtime
        deleted = await customers.delete_customer(
            principal.location_id, id, runtime.stores, now=runtime.clock()
        )
        return DeleteCustomerPayload(
            deleted_id=strawberry.ID(str(deleted.id)),
            written_off=Money.of(deleted.written_off, principal),
        )
