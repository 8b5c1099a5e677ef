"""The integrations repository: how each location reaches GoPOS and GoOrder, one row per
location and channel, read and written as `domain` values so that services never hold a
Tortoise model (`models.tables.integrations.Integration`) or build a query.

The secret arrives sealed and leaves sealed: this module never sees it in the clear. The hot
statement is `sealed`, one indexed read by location and channel, at the start of every sync;
the writes run when an administrator configures an integration. Writes take the transaction
(`models.db.Transaction`) of the service that owns it; reads run on their own.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.integrations import IntegrationSettings, SealedIntegration
from domain.upstream import Channel
from models.db import Transaction
from models.tables.integrations import Integration


def _columns(settings: IntegrationSettings, sealed_secret: str | None) -> dict[str, str | None]:
    """The columns a configuration writes: the settings, and the secret only when new."""
    columns = settings.columns()
    if sealed_secret is not None:
        columns["sealed_secret"] = sealed_secret
    return columns


async def sealed(location_id: UUID, channel: Channel) -> SealedIntegration | None:
    """The location's integration with `channel`, its secret still sealed; None when none is
    stored."""
    row = await Integration.get_or_none(location_id=location_id, channel=channel.value)
    if row is None:
        return None
    return SealedIntegration(
        base_url=row.base_url,
        client_id=row.client_id,
        organization_id=row.organization_id,
        store_id=row.store_id,
        sealed_secret=row.sealed_secret,
    )


async def update(
    db: Transaction,
    location_id: UUID,
    settings: IntegrationSettings,
    sealed_secret: str | None,
    now: datetime,
) -> bool:
    """Write the settings (and a new sealed secret, when given; else the stored one stays) to
    the location's row of the channel; False when there is no such row."""
    scope = Integration.filter(location_id=location_id, channel=settings.channel.value)
    updated = await scope.using_db(db).update(**_columns(settings, sealed_secret), updated_at=now)
    return bool(updated)


async def create(
    db: Transaction, location_id: UUID, settings: IntegrationSettings, sealed_secret: str | None
) -> None:
    """Insert the location's row of the channel; one there already raises `IntegrityError`
    (`unique_together` of location and channel)."""
    await Integration.create(
        location_id=location_id,
        channel=settings.channel.value,
        **_columns(settings, sealed_secret),
        using_db=db,
    )


async def sealed_secret_count() -> int:
    """How many integrations, of every location, hold a sealed secret."""
    return await Integration.filter(sealed_secret__isnull=False).count()


async def configured() -> list[tuple[UUID, Channel]]:
    """`(location, channel)` of every integration, of every location, that holds a sealed
    secret, in one statement."""
    rows = await Integration.filter(sealed_secret__isnull=False).values_list(
        "location_id", "channel"
    )
    return [(UUID(str(location_id)), Channel(str(channel))) for location_id, channel in rows]
