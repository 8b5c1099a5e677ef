"""Upstream requests stay off the gateway's own network unless it is allowed: a base URL that
resolves to a non-public address is refused before anything is sent (`adapters.http`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from ipaddress import ip_address

import pytest

from adapters.errors import UpstreamError
from adapters.http import HttpConfig, UpstreamClients
from domain.egress import networks, refused_address
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


@pytest.mark.parametrize(
    ("host", "carried"),
    [
        ("::127.0.0.1", "127.0.0.1"),  # IPv4-compatible
        ("::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped
        ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64
        ("2002:7f00:1::1", "127.0.0.1"),  # 6to4
        ("::ffff:0:7f00:1", "127.0.0.1"),  # IPv4-translated
    ],
)
async def test_an_ipv6_address_carrying_a_loopback_ipv4_address_is_refused(
    listener: Listener, host: str, carried: str
) -> None:
    url = f"http://[{host}]:{listener.port}"

    with pytest.raises(UpstreamError) as refused:
        await _get(HttpConfig(allowed_networks=()), url)

    assert str(refused.value) == (
        f"The upstream's base URL host {host} resolves to {ip_address(host)}, which carries"
        f" {carried}, which is not a public address; the gateway only calls public addresses"
        " (GOCRM_UPSTREAM_ALLOW lists networks to allow besides)."
    )
    assert listener.connections == 0


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("::127.0.0.1", "127.0.0.1"),
        ("::10.0.0.1", "10.0.0.1"),
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::ffff:169.254.169.254", "169.254.169.254"),
        ("::ffff:0:a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b::127.0.0.1", "127.0.0.1"),
        ("64:ff9b::192.168.1.1", "192.168.1.1"),
        ("64:ff9b::169.254.169.254", "169.254.169.254"),
        ("64:ff9b:1::7f00:1", "64:ff9b:1::7f00:1"),  # local-use NAT64: never public
        ("64:ff9b:1::808:808", "64:ff9b:1::808:808"),
        ("2002:7f00:1::1", "127.0.0.1"),
        ("2002:c0a8:101::1", "192.168.1.1"),
        ("2002:a9fe:a9fe::", "169.254.169.254"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136:e378:8000:63bf:3fff:fdd2"),  # Teredo
        ("::1", "::1"),
        ("::", "::"),
        ("fe80::1", "fe80::1"),
        ("fd00::1", "fd00::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("10.1.2.3", "10.1.2.3"),
        ("169.254.169.254", "169.254.169.254"),
        ("100.64.0.1", "100.64.0.1"),
        # public, and IPv6 forms of public IPv4 addresses (DNS64 answers these)
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::8.8.8.8", None),
        ("2002:808:808::1", None),
    ],
)
def test_an_address_is_judged_by_the_ipv4_address_it_carries(
    address: str, refused: str | None
) -> None:
    found = refused_address(address)
    assert (None if found is None else str(found)) == refused


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("64:ff9b::10.0.0.1", "10.0.0.0/8"),
        ("::ffff:10.0.0.1", "10.0.0.0/8"),
        ("2002:a00:1::1", "10.0.0.0/8"),
        ("64:ff9b:1::a00:1", "64:ff9b:1::/48"),
        ("fd00::1", "fd00::/8"),
    ],
)
def test_an_allowed_network_covers_the_ipv4_address_carried(address: str, allowed: str) -> None:
    assert refused_address(address, networks([allowed])) is None
    assert refused_address(address) is not None


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
