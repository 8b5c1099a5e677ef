"""The transport below the retries: counts every attempt and keeps the status and the raw text
of failures for the messages and the log."""

from __future__ import annotations

import asyncio
import logging

import httpx

from adapters.http.metrics import count_attempt
from adapters.http.quoting import body_excerpt, error_text
from adapters.http.retry import exchange_of

# The package's logger: every upstream line is logged under `adapters.http`.
logger = logging.getLogger("adapters.http")


class ObservedTransport(httpx.AsyncBaseTransport):
    """Below the retries: counts attempts and keeps the status and raw text of failures."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = exchange_of(request)
        if exchange is None:
            return await self._inner.handle_async_request(request)
        exchange.attempts += 1
        try:
            response = await self._inner.handle_async_request(request)
        except asyncio.CancelledError:  # the sync's deadline passed while it waited
            count_attempt(exchange.upstream, "error", exchange.attempts)
            raise
        except httpx.HTTPError as exc:
            count_attempt(exchange.upstream, "error", exchange.attempts)
            exchange.error = error_text(exc, exchange.redactor)
            logger.info(
                "%s %s %s failed (attempt %d): %s",
                exchange.upstream,
                request.method,
                request.url.path,
                exchange.attempts,
                exchange.error,
            )
            raise
        count_attempt(exchange.upstream, str(response.status_code), exchange.attempts)
        if response.status_code >= 400:
            await response.aread()
            exchange.status = response.status_code
            exchange.excerpt = body_excerpt(response, exchange.redactor)
            logger.info(
                "%s %s %s answered %d (attempt %d): %s",
                exchange.upstream,
                request.method,
                request.url.path,
                response.status_code,
                exchange.attempts,
                exchange.excerpt,
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
