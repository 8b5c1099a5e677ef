"""Who am I, the location's settings, and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from domain import entities
from domain.access import MAX_LISTED_API_KEYS, Role
from domain.pricing import SalesChannel
from gateway.context import Info
from gateway.schema.common import UserError
from gateway.schema.resolvers import mutation, query
from services import access, locations

strawberry.enum(Role, name="ApiKeyRole")


@strawberry.type
class Location:
    id: strawberry.ID
    name: str
    currency: str
    timezone: str
    credit_channels: list[SalesChannel] = strawberry.field(
        description="The channels where promotional credits may be used."
    )
    language: str = strawberry.field(
        description='"pl" or "en": messages and system texts when a request names none.'
    )

    @classmethod
    def of(cls, location: entities.Location) -> Location:
        return cls(
            id=strawberry.ID(str(location.id)),
            name=location.name,
            currency=location.currency,
            timezone=location.timezone,
            credit_channels=list(location.credit_channels),
            language=location.language,
        )


@strawberry.input
class LocationSettingsInput:
    """The settings to change; a setting not given (or null) is left as it is."""

    credit_channels: list[SalesChannel] | None = strawberry.field(
        default=None,
        description="Where promotional credits may be used, each channel once; [] switches "
        "them off everywhere.",
    )
    language: str | None = strawberry.field(
        default=None, description='"pl" or "en": messages when a request names no language.'
    )

    def to_domain(self) -> locations.SettingsChange:
        return locations.SettingsChange(
            credit_channels=self.credit_channels, language=self.language
        )


@strawberry.type
class LocationPayload:
    location: Location | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None
    channels: list[SalesChannel] = strawberry.field(
        description="The channels the key may quote and commit for (a POS key's default: POS "
        "and KIOSK); every channel for an ADMIN key."
    )

    @classmethod
    def of(cls, key: entities.ApiKey) -> ApiKey:
        return cls(
            id=strawberry.ID(str(key.id)),
            name=key.name,
            role=key.role,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            channels=list(key.channels),
        )


@strawberry.type
class Viewer:
    location: Location
    api_key: ApiKey


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(default=None, description="Shown once.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field
    async def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        location = await access.get_location(principal.location_id)
        key = await access.get_api_key(principal.location_id, principal.api_key_id)
        assert key is not None, "an authenticated key exists"
        return Viewer(location=Location.of(location), api_key=ApiKey.of(key))

    @query(
        admin=True,
        description=f"The location's keys, revoked ones included, oldest first (at most "
        f"{MAX_LISTED_API_KEYS}). Secrets are never shown again.",
    )
    async def api_keys(self, info: Info) -> list[ApiKey]:
        found = await access.list_api_keys(info.context.principal.location_id)
        return [ApiKey.of(key) for key in found]


@strawberry.type
class Mutation:
    @mutation(ApiKeyPayload)
    async def create_api_key(
        self,
        info: Info,
        name: str,
        role: Role,
        channels: Annotated[
            list[SalesChannel] | None,
            strawberry.argument(
                description="POS keys only: the channels it may sell on. Default: POS and "
                "KIOSK; ONLINE only when named (the online store's key)."
            ),
        ] = None,
    ) -> ApiKeyPayload:
        principal = info.context.principal
        key, secret = await access.create_api_key(principal.location_id, name, role, channels)
        return ApiKeyPayload(api_key=ApiKey.of(key), secret=secret)

    @mutation(ApiKeyPayload)
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyPayload:
        principal = info.context.principal
        key = await access.revoke_api_key(principal.location_id, id)
        info.context.principals.forget(key.id)
        return ApiKeyPayload(api_key=ApiKey.of(key))

    @mutation(LocationPayload)
    async def update_location_settings(
        self, info: Info, input: LocationSettingsInput
    ) -> LocationPayload:
        location_id = info.context.principal.location_id
        location = await locations.update_settings(location_id, input.to_domain())
        info.context.principals.forget_location(location_id)
        return LocationPayload(location=Location.of(location))
