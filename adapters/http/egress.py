"""The egress guard: upstream requests stay off the gateway's own network."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx

from adapters.errors import UpstreamError
from adapters.http.retry import exchange_of
from domain.egress import networks, refused_address


class EgressGuard(httpx.AsyncBaseTransport):
    """Keeps upstream requests off the gateway's own network: a base URL is configured by a
    location's admin, so a host that resolves to a loopback, private, link-local or otherwise
    non-public address (a metadata service, a database, another tenant's internal system) is
    refused before the request is sent, unless it lies in `allowed`; an IPv6 address that
    carries an IPv4 address is judged by that one (`domain.egress`). The refusal is an
    `UpstreamError`, which no retry repeats and which ends the sync FAILED with its message.

    The host is resolved here and again when the connection opens: a name whose DNS answer
    changes between the two could still slip through, which the network's own egress rules
    must cover."""

    def __init__(self, inner: httpx.AsyncBaseTransport, allowed: tuple[str, ...]) -> None:
        self._inner = inner
        self._allowed = networks(allowed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host, port = request.url.host, request.url.port or 443
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port)
        except OSError:
            infos = []  # unresolvable: the connection attempt below reports it
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            refused = refused_address(address, self._allowed)
            if refused is not None:
                exchange = exchange_of(request)
                upstream = exchange.upstream if exchange is not None else "The upstream"
                carried = "" if refused == address else f", which carries {refused}"
                raise UpstreamError(
                    upstream,
                    f"{upstream}'s base URL host {host} resolves to {address}{carried}, which is"
                    " not a public address; the gateway only calls public addresses"
                    " (GOCRM_UPSTREAM_ALLOW lists networks to allow besides).",
                )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
