"""Integrations: how a location reaches GoPOS and GoOrder, with its secrets sealed at rest.

`configure_integration` parses the settings (`domain.integrations`), seals a new secret with the
runtime's key and stores one row per location and channel; `open_credentials` gives a sync the
credentials back. The secret is never returned to a caller nor written to a log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from domain.errors import ErrorCode, fail
from domain.integrations import (
    IntegrationRequest,
    IntegrationSettings,
    SealedIntegration,
    parse_integration,
)
from domain.messages import msg
from domain.upstream import Channel, GoorderCredentials, GoposCredentials
from models import credentials
from models.db import IntegrityError, transaction
from services.runtime import Runtime, SecretsUnavailableError

log = logging.getLogger(__name__)

Credentials = GoposCredentials | GoorderCredentials


@dataclass(frozen=True)
class IntegrationInfo:
    """An integration as the API shows it: everything but the secret."""

    location_id: UUID
    channel: Channel
    configured: bool  # credentials are stored: a sync can run
    base_url: str | None = None
    client_id: str | None = None
    organization_id: str | None = None
    store_id: str | None = None


def _info(location_id: UUID, channel: Channel, row: SealedIntegration | None) -> IntegrationInfo:
    if row is None:
        return IntegrationInfo(location_id, channel, configured=False)
    return IntegrationInfo(
        location_id=location_id,
        channel=channel,
        configured=row.sealed_secret is not None,
        base_url=row.base_url,
        client_id=row.client_id,
        organization_id=row.organization_id,
        store_id=row.store_id,
    )


async def get_integration(location_id: UUID, channel: Channel) -> IntegrationInfo:
    return _info(location_id, channel, await credentials.sealed(location_id, channel))


def _sealed(runtime: Runtime, secret: str) -> str:
    try:
        return runtime.secrets.box().seal(secret)
    except SecretsUnavailableError as error:
        raise fail(
            ErrorCode.NOT_CONFIGURED,
            None,
            msg("integration.no_secret_key"),
        ) from error


async def configure_integration(
    runtime: Runtime, location_id: UUID, channel: Channel, request: IntegrationRequest
) -> IntegrationInfo:
    """Store the location's settings of `channel`; a secret left out keeps the stored one."""
    row = await credentials.sealed(location_id, channel)
    settings = parse_integration(channel, request, None if row is None else row.stored())
    sealed = None if settings.secret is None else _sealed(runtime, settings.secret)
    await _store(runtime, location_id, settings, sealed)
    log.info(
        "integration %s configured for location %s: base URL %s, %s",
        channel.value,
        location_id,
        settings.base_url,
        "new secret" if settings.secret is not None else "secret kept",
    )
    return await get_integration(location_id, channel)


async def _store(
    runtime: Runtime,
    location_id: UUID,
    settings: IntegrationSettings,
    sealed_secret: str | None,
) -> None:
    """Update the location's row of the channel, or create it; a concurrent first
    configuration that creates it first is updated instead."""
    for _ in range(2):
        async with transaction() as db:
            now = runtime.clock()
            if await credentials.update(db, location_id, settings, sealed_secret, now):
                return
        try:
            async with transaction() as db:
                await credentials.create(db, location_id, settings, sealed_secret)
            return
        except IntegrityError:
            continue
    raise RuntimeError(f"integration {settings.channel.value} of {location_id} could not be stored")


async def open_credentials(
    runtime: Runtime, location_id: UUID, channel: Channel
) -> Credentials | None:
    """The stored credentials of `channel`, the secret opened; None when none are stored.

    Raises `SecretsUnavailableError` (no key), `adapters.secrets.SecretKeyMismatch` (sealed
    with a key that is not configured) or `adapters.secrets.SecretTokenError` (damaged)."""
    row = await credentials.sealed(location_id, channel)
    if row is None or row.sealed_secret is None:
        return None
    if channel is Channel.GOPOS:
        if row.client_id is None or row.organization_id is None:
            return None
        return GoposCredentials(
            base_url=row.base_url,
            client_id=row.client_id,
            client_secret=runtime.secrets.box().open(row.sealed_secret),
            organization_id=row.organization_id,
        )
    if row.store_id is None:
        return None
    return GoorderCredentials(
        base_url=row.base_url,
        api_key=runtime.secrets.box().open(row.sealed_secret),
        store_id=row.store_id,
    )


async def sealed_secret_count() -> int:
    """How many integrations hold a sealed secret (which needs the key to be opened)."""
    return await credentials.sealed_secret_count()
