"""Queries that need more than a one-line ORM call, and conversions from rows to read models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from domain import entities
from domain.access import Role
from models.entities import ApiKey, Card, Customer, CustomerGroup, GroupMembership, Location
from models.ids import parse_id
from models.wallet import CreditSchedule, WalletEntry, WalletOperation

CustomerQuery = QuerySet[Customer]


def parse_ids(values: Iterable[str]) -> list[UUID]:
    """The well-formed ids among `values`; malformed ones can match nothing anyway."""
    return [uid for uid in (parse_id(v) for v in values) if uid is not None]


def customers_matching(
    location_id: UUID,
    *,
    ids: Sequence[str] | None = None,
    group_ids: Sequence[str] | None = None,
    search: str | None = None,
    has_credits: bool | None = None,
    after: UUID | None = None,
) -> CustomerQuery:
    """Customers of one location matching every given criterion."""
    query = Customer.filter(location_id=location_id)
    if after is not None:
        query = query.filter(id__gt=after)
    if ids is not None:
        query = query.filter(id__in=parse_ids(ids))
    if group_ids is not None:
        members = GroupMembership.filter(
            group_id__in=parse_ids(group_ids), group__location_id=location_id
        )
        if after is not None:
            # PostgreSQL does not carry `id > after` across the semi-join: without this every
            # page of a large group rescans its memberships from the first one.
            members = members.filter(customer_id__gt=after)
        query = query.filter(id__in=Subquery(members.values("customer_id")))
    for term in (search or "").casefold().split():
        cards = Card.filter(location_id=location_id, code__icontains=term).values("customer_id")
        query = query.filter(Q(search_text__contains=term) | Q(id__in=Subquery(cards)))
    if has_credits is not None:
        query = (
            query.filter(credit_balance__gt=0) if has_credits else query.filter(credit_balance=0)
        )
    return query


async def member_counts(group_ids: Sequence[UUID]) -> dict[UUID, int]:
    rows = (
        await GroupMembership.filter(group_id__in=list(group_ids))
        .group_by("group_id")
        .annotate(n=Count("id"))
        .values_list("group_id", "n")
    )
    return {UUID(str(group_id)): int(n) for group_id, n in rows}


def location_entity(row: Location) -> entities.Location:
    return entities.Location(id=row.id, name=row.name, currency=row.currency, timezone=row.timezone)


def api_key_entity(row: ApiKey) -> entities.ApiKey:
    return entities.ApiKey(
        id=row.id,
        location_id=row.location_id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def customer_entity(row: Customer) -> entities.Customer:
    return entities.Customer(
        id=row.id,
        location_id=row.location_id,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        phone=row.phone,
        note=row.note,
        credit_balance=row.credit_balance,
        wallet_updated_at=row.wallet_updated_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def card_entity(row: Card) -> entities.Card:
    return entities.Card(
        customer_id=row.customer_id,
        code=row.code,
        number=row.number,
        expires_on=row.expires_on,
    )


def group_entity(row: CustomerGroup) -> entities.CustomerGroup:
    return entities.CustomerGroup(
        id=row.id,
        location_id=row.location_id,
        name=row.name,
        reference=row.reference,
        description=row.description,
        cashback_basis_points=row.cashback_basis_points,
        created_at=row.created_at,
    )


async def remove_members(group_id: UUID, customers: CustomerQuery) -> int:
    return await GroupMembership.filter(
        group_id=group_id, customer_id__in=Subquery(customers.values("id"))
    ).delete()


def wallet_entry_entity(row: WalletEntry) -> entities.WalletEntry:
    return entities.WalletEntry(
        id=row.id,
        customer_id=row.customer_id,
        kind=row.kind,
        requested_amount=row.requested_amount,
        delta=row.delta,
        balance_after=row.balance_after,
        description=row.description,
        source=row.source,
        source_id=row.source_id,
        actor=row.actor,
        created_at=row.created_at,
    )


def wallet_operation_entity(row: WalletOperation) -> entities.WalletOperation:
    return entities.WalletOperation(
        id=row.id,
        operation=row.operation,
        amount=row.amount,
        description=row.description,
        status=row.status,
        total=row.total,
        processed=row.processed,
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def credit_schedule_entity(row: CreditSchedule) -> entities.CreditSchedule:
    return entities.CreditSchedule(
        id=row.id,
        operation=row.operation,
        amount=row.amount,
        description=row.description,
        every=row.every,
        unit=row.unit,
        start_date=row.start_date,
        end_date=row.end_date,
        target=row.target,
        group_ids=tuple(UUID(g) for g in row.group_ids),
        customer_ids=tuple(UUID(c) for c in row.customer_ids),
        paused=row.paused,
        next_run_on=row.next_run_on,
        last_run_on=row.last_run_on,
        created_at=row.created_at,
    )
