"""Input types and their translation into the services' plain inputs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TypeVar

import strawberry

from domain import requests as inputs

T = TypeVar("T")


def given(value: T | None) -> inputs.Maybe[T]:
    """Strawberry's UNSET (field omitted) as the services' UNSET; null stays None."""
    return inputs.UNSET if value is strawberry.UNSET else value


def listed(values: list[T] | None) -> tuple[T, ...] | None:
    return None if values is None or values is strawberry.UNSET else tuple(values)


def listed_ids(values: list[strawberry.ID] | None) -> tuple[str, ...] | None:
    return None if values is None or values is strawberry.UNSET else tuple(map(str, values))


@strawberry.input(name="CustomerFilter")
class CustomerFilterInput:
    ids: list[strawberry.ID] | None = strawberry.UNSET
    group_ids: list[strawberry.ID] | None = strawberry.UNSET
    search: str | None = strawberry.UNSET
    has_credits: bool | None = strawberry.UNSET

    def to_domain(self) -> inputs.CustomerFilter:
        return inputs.CustomerFilter(
            ids=listed_ids(self.ids),
            group_ids=listed_ids(self.group_ids),
            search=self.search or None,
            has_credits=None if self.has_credits is strawberry.UNSET else self.has_credits,
        )


def to_filter(value: CustomerFilterInput | None) -> inputs.CustomerFilter | None:
    return None if value is None or value is strawberry.UNSET else value.to_domain()


@strawberry.input
class CustomerCardInput:
    code: str
    number: str | None = None
    expires_on: date | None = None


@strawberry.input
class CustomerInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    note: str | None = strawberry.UNSET
    cards: list[CustomerCardInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the list when given."
    )
    group_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces memberships when given."
    )

    def to_domain(self) -> inputs.CustomerInput:
        cards = listed(self.cards)
        return inputs.CustomerInput(
            first_name=given(self.first_name),
            last_name=given(self.last_name),
            email=given(self.email),
            phone=given(self.phone),
            note=given(self.note),
            cards=None
            if cards is None
            else tuple(inputs.CardInput(c.code, c.number, c.expires_on) for c in cards),
            group_ids=listed_ids(self.group_ids),
        )


@strawberry.input
class CustomerGroupInput:
    name: str | None = strawberry.UNSET
    reference: str | None = strawberry.field(
        default=strawberry.UNSET, description="Generated from name when omitted on create."
    )
    description: str | None = strawberry.UNSET
    cashback_percent: Decimal | None = strawberry.UNSET
    cashback_hold_days: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Days a sale's cashback is held (shown, not spendable) before it is "
        "released; 0 or null: none.",
    )
    cashback_expires_after_days: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Granted cashback expires this many days after it becomes spendable; "
        "null: never.",
    )

    def to_domain(self) -> inputs.CustomerGroupInput:
        return inputs.CustomerGroupInput(
            name=given(self.name),
            reference=given(self.reference),
            description=given(self.description),
            cashback_percent=given(self.cashback_percent),
            cashback_hold_days=given(self.cashback_hold_days),
            cashback_expires_after_days=given(self.cashback_expires_after_days),
        )


@strawberry.input(description="Exactly one of the three.")
class CreditTargetInput:
    customer_ids: list[strawberry.ID] | None = strawberry.UNSET
    filter: CustomerFilterInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Evaluated when the operation runs; an empty filter is INVALID.",
    )
    all_customers: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="true: every customer of the location; false is as if not given.",
    )

    def to_domain(self) -> inputs.Target:
        return inputs.Target(
            customer_ids=listed_ids(self.customer_ids),
            filter=to_filter(self.filter),
            all_customers=None if self.all_customers is strawberry.UNSET else self.all_customers,
        )
