"""Is this process fit to serve: the migrations check at start-up and `GET /readyz`.

`/healthz` says the process is alive and reaches its database. `/readyz` also says the database
holds every migration this code knows, and reports Redis, which never makes it unready: tills
keep working without Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.secrets import parse_keys
from models.db import missing_migrations
from services import integrations
from settings import Settings

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 1.0
# A health check answers within this time: a database that does not answer by then is down.
DATABASE_TIMEOUT_SECONDS = 3.0


class StartupRefusedError(Exception):
    """The process must not serve; the message is the one line an operator reads."""


def migrations_message(missing: list[str]) -> str:
    count = f"{len(missing)} migration{'' if len(missing) == 1 else 's'}"
    return f"the database lacks {count} ({', '.join(missing)}): run `gocrm migrate`"


async def check_migrations(settings: Settings) -> list[str]:
    """At start-up: an unmigrated database stops a production process and warns otherwise
    (`gateway.migrations_gate` then answers 503 until it is migrated). The migrations missing.

    An unreachable database is only logged: `/readyz` answers 503 until it is reachable and
    current.
    """
    try:
        missing = await missing_migrations()
    except Exception:
        log.warning("the database is not reachable; /readyz answers 503 until it is")
        return []
    if not missing:
        return []
    if settings.production:
        raise StartupRefusedError(
            f"Refusing to start: {migrations_message(missing)}, then start again."
        )
    log.warning("%s; every request answers 503 until then.", migrations_message(missing))
    return missing


async def check_secret_key(settings: Settings) -> None:
    """A key that is set must be a key; in production without one, integrations whose secrets
    are stored need the key that sealed them (a database without any starts without a key)."""
    if settings.secret_key:
        try:
            parse_keys(settings.secret_key)
        except ValueError as error:
            raise StartupRefusedError(f"Refusing to start: {error}") from None
        return
    if not settings.production:
        return
    try:
        sealed = await integrations.sealed_secret_count()
    except Exception:  # unreachable or unmigrated: reported by the migrations check
        return
    if sealed:
        raise StartupRefusedError(
            f"Refusing to start: {sealed} configured integration(s) hold secrets sealed at rest"
            " and GOCRM_SECRET_KEY is not set; set it to the key they were stored with."
        )


class OneLineStartupRefusal:
    """Reports a `StartupRefusedError` from the lifespan as its message alone.

    Starlette hands the server the whole traceback of a failed start-up, which uvicorn logs;
    for a refusal the operator needs one line. Any other failure passes through unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def send_or_hold(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                held.append(message)
                return
            await send(message)

        try:
            await self.app(scope, receive, send_or_hold)
        except StartupRefusedError as refusal:
            await send({"type": "lifespan.startup.failed", "message": str(refusal)})
            return
        except BaseException:
            for message in held:
                await send(message)
            raise
        for message in held:
            await send(message)


async def redis_state(url: str | None) -> str:
    """ "up", "down", or "not configured" (no Redis: jobs run in-process)."""
    if not url:
        return "not configured"
    client: Redis = Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        await client.ping()
    except (RedisError, OSError):
        return "down"
    finally:
        await client.aclose()
    return "up"


def readyz(settings: Settings) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        body: dict[str, Any] = {
            "status": "ready",
            "database": "up",
            "migrations": "current",
            "missing_migrations": [],
            "redis": await redis_state(settings.redis_url),
        }
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
                missing = await missing_migrations()
        except Exception:  # unreachable: `missing_migrations` reaches the database first
            body.update(status="not ready", database="down", migrations="unknown")
        else:
            if missing:
                body.update(status="not ready", migrations="missing", missing_migrations=missing)
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)

    return endpoint
