"""An upstream's answer is read within a size cap (`adapters.body`): a declared length over it is
refused before the body is read, a body without one is stopped as soon as it passes it, and the
cap counts the body decompressed. The upstreams here are httpx transports whose bodies count
what was read from them."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapters.body import BodyTooLarge, CappedTransport, size_text
from adapters.errors import MalformedResponse
from adapters.goorder import fetch_goorder
from adapters.gopos import fetch_gopos
from adapters.http import HttpConfig, UpstreamClients
from domain.upstream import GoorderCredentials, GoposCredentials
from gateway.runtime import http_config
from settings import load_settings

MIB = 1024 * 1024
GOPOS = GoposCredentials("http://gopos.test", "demo", "s3cret-value", "1001")
GOORDER = GoorderCredentials("http://goorder.test", "api-key-value", "s1")
TOKEN = {"access_token": "t0ken", "expires_in": 600}
GROUP = {
    "id": 17,
    "name": "Stały klient",
    "reference": "staly-klient",
    "daily_discount_limit": None,
    "discount_ids": [],
}


class Endless(httpx.AsyncByteStream):
    """A body that never ends (or ends after `total` bytes), counting what was read of it."""

    def __init__(self, chunk: bytes = b" " * 65_536, total: int | None = None) -> None:
        self.chunk = chunk
        self.total = total
        self.read = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.total is None or self.read < self.total:
            self.read += len(self.chunk)
            yield self.chunk

    async def aclose(self) -> None:
        self.closed = True


Answer = Callable[[httpx.Request], httpx.Response]


def gopos(groups: Answer) -> Answer:
    """GoPOS: a token, no discounts, and the groups as `groups` answers."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json=TOKEN)
        if request.url.path.endswith("/discounts"):
            return httpx.Response(200, json={"data": []})
        return groups(request)

    return answer


def clients(answer: Answer, **config: Any) -> UpstreamClients:
    async def no_wait(seconds: float) -> None:
        pass

    return UpstreamClients(
        HttpConfig(read_ahead_pages=1, **config),
        transport=lambda _base_url: httpx.MockTransport(answer),
        sleep=no_wait,
    )


async def gopos_error(answer: Answer, **config: Any) -> MalformedResponse:
    async with clients(gopos(answer), **config) as upstreams:
        with pytest.raises(MalformedResponse) as caught:
            await fetch_gopos(upstreams, GOPOS, deadline=60)
    return caught.value


async def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_read() -> None:
    body = Endless()
    sent = []

    def huge(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, headers={"Content-Length": "1073741824"}, stream=body)

    error = await gopos_error(huge)

    assert str(error) == "GoPOS answered more than 8 MiB"
    assert error.upstream == "GoPOS"
    assert body.read == 0
    assert body.closed
    assert sent == ["/api/v3/1001/clients/groups"]  # not retried


@pytest.mark.parametrize(("cap", "figure"), [(8 * MIB, "8 MiB"), (256 * 1024, "256 KiB")])
async def test_a_body_without_a_length_is_stopped_as_soon_as_it_passes_the_cap(
    cap: int, figure: str
) -> None:
    body = Endless()

    error = await gopos_error(lambda _: httpx.Response(200, stream=body), max_response_bytes=cap)

    assert str(error) == f"GoPOS answered more than {figure}"
    assert cap < body.read <= cap + 65_536
    assert body.closed


async def test_an_error_answer_over_the_cap_fails_at_once_and_is_not_retried() -> None:
    bodies: list[Endless] = []

    def unavailable(request: httpx.Request) -> httpx.Response:
        bodies.append(Endless())
        return httpx.Response(503, stream=bodies[-1])

    error = await gopos_error(unavailable, max_response_bytes=MIB)

    assert str(error) == "GoPOS answered more than 1 MiB"
    assert len(bodies) == 1
    assert MIB < bodies[0].read <= MIB + 65_536


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compression_bomb_is_stopped_at_the_cap_decompressed(encoding: str) -> None:
    inflated = b'{"data": [' + b" " * (64 * MIB) + b"]}"
    packed = gzip.compress(inflated) if encoding == "gzip" else zlib.compress(inflated)
    assert len(packed) < 100_000

    def bomb(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Encoding": encoding}, stream=httpx.ByteStream(packed)
        )

    error = await gopos_error(bomb, max_response_bytes=MIB)

    assert str(error) == "GoPOS answered more than 1 MiB"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity", ""])
async def test_a_compressed_answer_within_the_cap_is_read(encoding: str) -> None:
    page = json.dumps({"data": [GROUP]}).encode()
    packed = gzip.compress(page) if encoding == "gzip" else page
    packed = zlib.compress(page) if encoding == "deflate" else packed
    headers = {"Content-Encoding": encoding} if encoding else {}
    seen: list[str] = []

    def groups(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Accept-Encoding"])
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(packed))

    async with clients(gopos(groups), max_response_bytes=len(page)) as upstreams:
        snapshot = await fetch_gopos(upstreams, GOPOS, deadline=60)

    assert [group.name for group in snapshot.groups] == ["Stały klient"]
    assert seen == ["gzip, deflate"]


@pytest.mark.parametrize(
    ("encoding", "content", "problem"),
    [
        ("br", b"\x1b\x00", "the body is in an encoding it was not asked for (br)"),
        ("gzip", b"not gzip at all", "the body is not valid gzip"),
        ("gzip, gzip", b"", "the body is in an encoding it was not asked for (gzip, gzip)"),
    ],
)
async def test_a_body_in_an_encoding_not_asked_for_or_corrupt_is_malformed(
    encoding: str, content: bytes, problem: str
) -> None:
    headers = {"Content-Encoding": encoding}

    error = await gopos_error(
        lambda _: httpx.Response(200, headers=headers, stream=httpx.ByteStream(content))
    )

    assert str(error) == (
        f"GoPOS sent a malformed response: {problem} (GET /api/v3/1001/clients/groups)"
    )


async def test_goorder_answering_without_end_is_stopped_at_the_cap() -> None:
    body = Endless()

    async with clients(lambda _: httpx.Response(200, stream=body)) as upstreams:
        with pytest.raises(MalformedResponse) as caught:
            await fetch_goorder(upstreams, GOORDER, deadline=60)

    assert str(caught.value) == "GoOrder answered more than 8 MiB"
    assert 8 * MIB < body.read <= 8 * MIB + 65_536


@pytest.mark.parametrize(("cap", "read"), [(65_536, 65_536), (65_535, None)])
async def test_a_body_exactly_at_the_cap_is_read_whole(cap: int, read: int | None) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Endless(b"x" * 1024, total=65_536))

    transport = CappedTransport(httpx.MockTransport(answer), cap)
    async with httpx.AsyncClient(transport=transport) as client:
        try:
            got: int | None = len((await client.get("http://upstream.test/")).content)
        except BodyTooLarge:
            got = None

    assert got == read


@pytest.mark.parametrize(
    ("size", "text"),
    [(8 * MIB, "8 MiB"), (MIB + 512 * 1024, "1536 KiB"), (1000, "1000 bytes"), (1, "1 byte")],
)
def test_a_size_reads_as_a_person_writes_it(size: int, text: str) -> None:
    assert size_text(size) == text


@pytest.mark.parametrize(
    ("env", "cap"),
    [({}, 8_388_608), ({"GOCRM_UPSTREAM_MAX_BYTES": "1048576"}, 1_048_576)],
)
def test_the_cap_is_a_setting_handed_to_the_upstream_clients(env: dict[str, str], cap: int) -> None:
    settings = load_settings(env)

    assert settings.upstream_max_bytes == cap
    assert http_config(settings).max_response_bytes == cap


def test_a_cap_that_is_not_a_positive_number_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="GOCRM_UPSTREAM_MAX_BYTES must be greater than 0"):
        load_settings({"GOCRM_UPSTREAM_MAX_BYTES": "0"})
    with pytest.raises(ValueError, match=r"HttpConfig\.max_response_bytes must be at least 1"):
        HttpConfig(max_response_bytes=0)
