"""Upstream requests stay off the gateway's own network unless it is allowed: a base URL that
resolves to a non-public address is refused before anything is sent (`adapters.http`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.errors import UpstreamError
from adapters.http import HttpConfig, UpstreamClients
from gateway.runtime import http_config
from settings import Settings, load_settings


class Listener:
    """A loopback TCP server that answers every request with 200 and counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    found = Listener()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


async def _get(config: HttpConfig, url: str) -> int:
    async with UpstreamClients(config) as clients:
        response = await clients.client_for(url).get("/")
        return response.status_code


async def test_a_loopback_upstream_is_refused_before_anything_is_sent(listener: Listener) -> None:
    url = f"http://127.0.0.1:{listener.port}"

    with pytest.raises(UpstreamError) as refused:
        await _get(HttpConfig(allowed_networks=()), url)

    assert str(refused.value) == (
        "The upstream's base URL host 127.0.0.1 resolves to 127.0.0.1, which is not a public"
        " address; the gateway only calls public addresses (GOCRM_UPSTREAM_ALLOW lists networks"
        " to allow besides)."
    )
    assert listener.connections == 0


async def test_a_name_that_resolves_to_loopback_is_refused(listener: Listener) -> None:
    with pytest.raises(UpstreamError, match="host localhost resolves to"):
        await _get(HttpConfig(allowed_networks=()), f"http://localhost:{listener.port}")
    assert listener.connections == 0


async def test_an_allowed_network_and_no_guard_both_reach_the_upstream(listener: Listener) -> None:
    url = f"http://127.0.0.1:{listener.port}"

    assert await _get(HttpConfig(allowed_networks=("127.0.0.0/8",)), url) == 200
    assert await _get(HttpConfig(allowed_networks=None), url) == 200
    assert listener.connections == 2


@pytest.mark.parametrize(
    ("env", "allowed"),
    [
        ({"GOCRM_ENV": "production"}, ()),
        ({}, None),
        ({"GOCRM_ENV": "production", "GOCRM_UPSTREAM_ALLOW": "*"}, None),
        (
            {"GOCRM_ENV": "production", "GOCRM_UPSTREAM_ALLOW": "10.0.0.0/8, 192.168.1.7"},
            ("10.0.0.0/8", "192.168.1.7"),
        ),
        ({"GOCRM_UPSTREAM_ALLOW": "127.0.0.0/8"}, ("127.0.0.0/8",)),
    ],
)
def test_production_calls_public_addresses_only_unless_told_otherwise(
    env: dict[str, str], allowed: tuple[str, ...] | None
) -> None:
    settings: Settings = load_settings({**env, "GOCRM_SECRET_KEY": "k"})
    assert settings.upstream_allow == allowed
    assert http_config(settings).allowed_networks == allowed


def test_a_malformed_network_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="GOCRM_UPSTREAM_ALLOW takes IP addresses and networks"):
        load_settings({"GOCRM_UPSTREAM_ALLOW": "intranet"})
