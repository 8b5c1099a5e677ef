"""Integrations with GoPOS and GoOrder: settings, sync runs, the mirror, group connections."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

import strawberry

from domain.access import Principal
from domain.integrations import IntegrationRequest
from domain.money import basis_points_to_percent, to_decimal
from domain.paging import DEFAULT_PAGE_SIZE
from domain.sync import ConnectionStatus, DiscountType, PromotionType
from domain.upstream import Channel
from gateway.context import Info
from gateway.schema.common import Message, Money, UserError, stored_message, user_errors
from gateway.schema.resolvers import mutation, query
from services import integrations, sync

strawberry.enum(Channel, name="Channel")
strawberry.enum(ConnectionStatus, name="ConnectionStatus")


@strawberry.enum
class SyncStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


def _size(first: int | None) -> int:
    return DEFAULT_PAGE_SIZE if first is None else first


def _percent_or_money(value: int, percent: bool, principal: Principal) -> Decimal:
    """Basis points as a percentage ("10.00"), or minor units in the location's currency."""
    return basis_points_to_percent(value) if percent else to_decimal(value, principal.minor_units)


@strawberry.type
class PosDiscount:
    external_id: str
    name: str
    type: str = strawberry.field(description="PERCENT or AMOUNT.")
    value: Decimal = strawberry.field(
        description="A percentage for PERCENT, money off in the location's currency for AMOUNT."
    )
    enabled: bool


@strawberry.type
class PosCustomerGroup:
    external_id: str
    name: str
    reference: str | None
    daily_discount_limit: Money | None
    discounts: list[PosDiscount]
    removed: bool = strawberry.field(description="Gone from GoPOS since it was synchronised.")

    @classmethod
    def of(cls, view: sync.PosGroupView, principal: Principal) -> PosCustomerGroup:
        group = view.group
        limit = group.daily_limit
        return cls(
            external_id=group.external_id,
            name=group.name,
            reference=group.reference,
            daily_discount_limit=None if limit is None else Money.of(limit, principal),
            discounts=[
                PosDiscount(
                    external_id=d.external_id,
                    name=d.name,
                    type=d.type.value,
                    value=_percent_or_money(d.value, d.type is DiscountType.PERCENT, principal),
                    enabled=d.enabled,
                )
                for d in view.discounts
            ],
            removed=view.removed,
        )


@strawberry.type
class OrderPromotion:
    external_id: str
    name: str
    reference: str | None
    type: str = strawberry.field(description="ORDER_PERCENT or ORDER_AMOUNT.")
    add_type: str = strawberry.field(
        description="How it was created in GoOrder (MANUAL or AUTOMATIC); it applies the same."
    )
    value: Decimal = strawberry.field(
        description="A percentage for ORDER_PERCENT, money off for ORDER_AMOUNT."
    )
    min_basket_value: Money | None
    active: bool
    removed: bool = strawberry.field(description="Gone from GoOrder since it was synchronised.")

    @classmethod
    def of(cls, view: sync.PromotionView, principal: Principal) -> OrderPromotion:
        promotion = view.promotion
        percent = promotion.type is PromotionType.ORDER_PERCENT
        basket = promotion.min_basket
        return cls(
            external_id=promotion.external_id,
            name=promotion.name,
            reference=promotion.reference,
            type=promotion.type.value,
            add_type=promotion.add_type,
            value=_percent_or_money(promotion.value, percent, principal),
            min_basket_value=None if basket is None else Money.of(basket, principal),
            active=promotion.active,
            removed=view.removed,
        )


@strawberry.type
class GroupConnection:
    channel: Channel
    status: ConnectionStatus
    pos_group: PosCustomerGroup | None = strawberry.field(description="GOPOS, when linked.")
    promotion: OrderPromotion | None = strawberry.field(description="GOORDER, when linked.")
    detail: str | None = strawberry.field(
        description="Why it is not linked (NOT_FOUND, AMBIGUOUS, NOT_SYNCED), in the request's "
        "language."
    )
    reason: Message | None = strawberry.field(
        description="The same, with its stable id and parameters."
    )

    @classmethod
    def of(cls, link: sync.GroupLink, principal: Principal) -> GroupConnection:
        reason = None if link.detail is None else Message.of(link.detail, principal.language)
        return cls(
            channel=link.channel,
            status=link.status,
            pos_group=None
            if link.pos_group is None
            else PosCustomerGroup.of(link.pos_group, principal),
            promotion=None
            if link.promotion is None
            else OrderPromotion.of(link.promotion, principal),
            detail=None if reason is None else reason.text,
            reason=reason,
        )


@strawberry.type
class SyncRun:
    id: strawberry.ID
    channel: Channel
    status: SyncStatus
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    fetched: int = strawberry.field(description="GoPOS groups or GoOrder promotions read.")
    linked: int = strawberry.field(description="CRM groups linked to one of them.")
    unmatched: int = strawberry.field(description="Upstream references no CRM group has.")
    written: int = strawberry.field(
        description="Mirror rows written or marked removed: 0 when nothing had changed."
    )
    error: str | None = strawberry.field(description="In the request's language.")
    error_message: Message | None = strawberry.field(
        description="The same, with its stable id and parameters."
    )

    @classmethod
    def of(cls, run: sync.SyncRunInfo, language: str) -> SyncRun:
        error = stored_message(run.error, language)
        return cls(
            id=strawberry.ID(str(run.id)),
            channel=run.channel,
            status=SyncStatus(run.status.value),
            queued_at=run.queued_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            fetched=run.fetched,
            linked=run.linked,
            unmatched=run.unmatched,
            written=run.written,
            error=None if error is None else error.text,
            error_message=error,
        )


@strawberry.type
class Integration:
    channel: Channel
    configured: bool = strawberry.field(description="Credentials are stored: a sync can run.")
    base_url: str | None
    client_id: str | None = strawberry.field(description="GOPOS; secrets are never returned.")
    organization_id: str | None = strawberry.field(description="GOPOS.")
    store_id: str | None = strawberry.field(description="GOORDER.")
    location_id: strawberry.Private[UUID]

    @classmethod
    def of(cls, info: integrations.IntegrationInfo) -> Integration:
        return cls(
            channel=info.channel,
            configured=info.configured,
            base_url=info.base_url,
            client_id=info.client_id,
            organization_id=info.organization_id,
            store_id=info.store_id,
            location_id=info.location_id,
        )

    @strawberry.field(description="The channel's most recently queued sync run.")
    async def last_sync(self, info: Info) -> SyncRun | None:
        run = await sync.latest_run(self.location_id, self.channel)
        return None if run is None else SyncRun.of(run, info.context.principal.language)

    @query(
        description="The GoPOS mirror by name, removed groups included (GOPOS): `first` of "
        "them (at most 200), after the group whose externalId is `after`."
    )
    async def pos_groups(
        self, info: Info, first: int | None = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> list[PosCustomerGroup]:
        if self.channel is not Channel.GOPOS:
            return []
        principal = info.context.principal
        groups = await sync.pos_groups_page(self.location_id, _size(first), after)
        return [PosCustomerGroup.of(group, principal) for group in groups]

    @query(
        description="The GoOrder mirror by name, removed promotions included (GOORDER): "
        "`first` of them (at most 200), after the promotion whose externalId is `after`."
    )
    async def promotions(
        self, info: Info, first: int | None = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> list[OrderPromotion]:
        if self.channel is not Channel.GOORDER:
            return []
        principal = info.context.principal
        promotions = await sync.promotions_page(self.location_id, _size(first), after)
        return [OrderPromotion.of(promotion, principal) for promotion in promotions]

    @strawberry.field(
        description="Upstream references that no CRM group has, one per reference as matched "
        f"(trimmed, case-folded), sorted: the first {sync.UNMATCHED_SHOWN}."
    )
    async def unmatched_references(self, info: Info) -> list[str]:
        return list(await sync.unmatched(info.context.runtime, self.location_id, self.channel))


@strawberry.input(description="A secret left out (or blank) keeps the stored one.")
class IntegrationInput:
    base_url: str
    client_id: str | None = strawberry.field(default=None, description="GOPOS.")
    client_secret: str | None = strawberry.field(default=None, description="GOPOS (write-only).")
    organization_id: str | None = strawberry.field(default=None, description="GOPOS.")
    api_key: str | None = strawberry.field(default=None, description="GOORDER (write-only).")
    store_id: str | None = strawberry.field(default=None, description="GOORDER.")

    def to_domain(self) -> IntegrationRequest:
        return IntegrationRequest(
            base_url=self.base_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            organization_id=self.organization_id,
            api_key=self.api_key,
            store_id=self.store_id,
        )


@strawberry.type
class IntegrationPayload:
    integration: Integration | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SynchronizePayload:
    sync_run: SyncRun | None = strawberry.field(
        default=None,
        description="The queued run; with a CONFLICT error, the run already queued or running.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @query(admin=True)
    async def integration(self, info: Info, channel: Channel) -> Integration:
        found = await integrations.get_integration(info.context.principal.location_id, channel)
        return Integration.of(found)

    @query(admin=True)
    async def sync_run(self, info: Info, id: strawberry.ID) -> SyncRun | None:
        run = await sync.get_run(info.context.principal.location_id, id)
        return None if run is None else SyncRun.of(run, info.context.principal.language)


@strawberry.type
class Mutation:
    @mutation(IntegrationPayload)
    async def configure_integration(
        self, info: Info, channel: Channel, input: IntegrationInput
    ) -> IntegrationPayload:
        principal, runtime = info.context.principal, info.context.runtime
        configured = await integrations.configure_integration(
            runtime, principal.location_id, channel, input.to_domain()
        )
        return IntegrationPayload(integration=Integration.of(configured))

    @mutation(SynchronizePayload)
    async def synchronize(self, info: Info, channel: Channel) -> SynchronizePayload:
        principal, runtime = info.context.principal, info.context.runtime
        language = principal.language
        try:
            run = await sync.synchronize(runtime, principal.location_id, channel)
        except sync.SyncAlreadyRunning as conflict:
            return SynchronizePayload(
                sync_run=SyncRun.of(conflict.run, language),
                errors=user_errors(conflict, language),
            )
        return SynchronizePayload(sync_run=SyncRun.of(run, language))
