"""Queries that need more than a one-line ORM call, and conversions from rows to read models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from domain import entities
from domain.access import ALL_CHANNELS, Role, ordered_channels, parse_channels
from domain.contacts import search_terms
from domain.ids import parse_id
from models import sql
from models.tables.crm import ApiKey, Card, Customer, CustomerGroup, GroupMembership, Location
from models.tables.wallet import CreditSchedule, WalletEntry, WalletOperation

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

CustomerQuery = QuerySet[Customer]
E = TypeVar("E", bound="DataclassInstance")


_HOLD_LOCATION_POSTGRES = "SELECT id FROM locations WHERE id = $1 FOR UPDATE"
_HOLD_LOCATION_SQLITE = "UPDATE locations SET sync_version = sync_version WHERE id = $1"


async def hold_location(location_id: UUID, db: BaseDBAsyncClient) -> None:
    """Hold the location's row until the transaction `db` ends (PostgreSQL: a row lock;
    SQLite: the database's write lock, taken by a write that changes nothing), so that the
    location's changes that must see each other run one at a time."""
    statement = sql.dialect().pick(postgres=_HOLD_LOCATION_POSTGRES, sqlite=_HOLD_LOCATION_SQLITE)
    await sql.execute(db, statement, (location_id,))


def parse_ids(values: Iterable[str]) -> list[UUID]:
    """The well-formed ids among `values` (ids stored as text); malformed ones can match
    nothing anyway."""
    return [uid for uid in (parse_id(v) for v in values) if uid is not None]


def live_customers(location_id: UUID) -> CustomerQuery:
    """The location's customers that are not deleted: every customer query starts here."""
    return Customer.filter(location_id=location_id, deleted_at__isnull=True)


def customers_matching(
    location_id: UUID,
    *,
    ids: Sequence[UUID] | None = None,
    group_ids: Sequence[UUID] | None = None,
    search: str | None = None,
    has_credits: bool | None = None,
    after: UUID | None = None,
) -> CustomerQuery:
    """Customers of one location matching every given criterion."""
    query = live_customers(location_id)
    if after is not None:
        query = query.filter(id__gt=after)
    if ids is not None:
        query = query.filter(id__in=list(ids))
    if group_ids is not None:
        members = GroupMembership.filter(
            group_id__in=list(group_ids), group__location_id=location_id
        )
        if after is not None:
            # PostgreSQL does not carry `id > after` across the semi-join: without this every
            # page of a large group rescans its memberships from the first one.
            members = members.filter(customer_id__gt=after)
        query = query.filter(id__in=Subquery(members.values("customer_id")))
    # Each term is found in the search text, which holds the card codes too: one predicate
    # per term, which PostgreSQL's trigram index serves (migration 0010).
    for term in search_terms(search or ""):
        query = query.filter(search_text__contains=term)
    if has_credits is not None:
        query = (
            query.filter(credit_balance__gt=0) if has_credits else query.filter(credit_balance=0)
        )
    return query


def entity_of(cls: type[E], row: object, **given: object) -> E:
    """The read model `cls` with each field copied from the same-named attribute of `row`,
    except those `given`: how every repository turns a row into a domain value (and the
    in-memory stores of the tests, their rows)."""
    values = {f.name: given.get(f.name, getattr(row, f.name, None)) for f in fields(cls)}
    return cls(**values)


def location_entity(row: Location) -> entities.Location:
    channels = ordered_channels(parse_channels(row.credit_channels))
    return entity_of(entities.Location, row, credit_channels=channels)


def api_key_entity(row: ApiKey) -> entities.ApiKey:
    role = Role(row.role)
    channels = ALL_CHANNELS if role is Role.ADMIN else parse_channels(row.channels)
    return entity_of(entities.ApiKey, row, role=role, channels=ordered_channels(channels))


def customer_entity(row: Customer) -> entities.Customer:
    return entity_of(entities.Customer, row)


def card_entity(row: Card) -> entities.Card:
    return entity_of(entities.Card, row)


def group_entity(row: CustomerGroup) -> entities.CustomerGroup:
    return entity_of(entities.CustomerGroup, row)


def wallet_entry_entity(row: WalletEntry) -> entities.WalletEntry:
    return entity_of(entities.WalletEntry, row)


def wallet_operation_entity(row: WalletOperation) -> entities.WalletOperation:
    return entity_of(entities.WalletOperation, row)


async def operations_newest_first(
    location_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> list[WalletOperation]:
    """Up to `limit` of the location's wallet operations, newest first (by creation time,
    then id), those after the (created_at, id) key `after` when it is given."""
    query = WalletOperation.filter(location_id=location_id)
    if after is not None:
        created_at, operation_id = after
        query = query.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=operation_id)
        )
    return await query.order_by("-created_at", "-id").limit(limit)


def credit_schedule_entity(row: CreditSchedule) -> entities.CreditSchedule:
    return entity_of(
        entities.CreditSchedule,
        row,
        group_ids=tuple(UUID(g) for g in row.group_ids),
        customer_ids=tuple(UUID(c) for c in row.customer_ids),
    )
