"""The per-process cache of resolved API keys: revocations, negative entries and its bound."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import httpx
import pytest

from domain.access import Role
from gateway.app import create_app
from models.tables.crm import ApiKey
from services import access
from services.access import PrincipalCache, hash_secret
from settings import Settings
from tests.helpers import Api

TTL = 5.0
VIEWER = "{ viewer { apiKey { name } } }"
REVOKE = """
mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { revokedAt } errors { code } } }"""


class Seconds:
    """Seconds that the test steps by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seconds() -> Seconds:
    return Seconds()


@pytest.fixture
async def second(database: Settings, seconds: Seconds) -> AsyncIterator[httpx.AsyncClient]:
    """A second gateway process on the same database, with its own cache and clock."""
    app = create_app(database, manage_database=False, auth_clock=seconds)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://second") as client:
        yield client
    await app.state.dispatcher.close()


async def _status(http: httpx.AsyncClient, secret: str) -> int:
    response = await http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {secret}"}
    )
    return response.status_code


async def _pos_key(api: Api) -> tuple[str, str]:
    """A new POS key of the location: its id and secret."""
    key, secret = await access.create_api_key(UUID(api.location_id), "till 1", Role.POS)
    return str(key.id), secret


async def test_a_revoked_key_stops_working_at_once_in_the_revoking_process(api: Api) -> None:
    # given a POS key that has been used, so its principal is cached
    key_id, secret = await _pos_key(api)
    assert await _status(api.http, secret) == 200

    # when the admin revokes it through the same gateway
    payload = await api.mutate(REVOKE, {"id": key_id})
    assert payload["errors"] == []

    # then its very next request is refused, although the cached entry was still fresh
    assert await _status(api.http, secret) == 401


async def test_another_process_refuses_a_revoked_key_once_the_ttl_has_passed(
    api: Api, second: httpx.AsyncClient, seconds: Seconds
) -> None:
    # given a POS key that the second process has resolved and cached
    key_id, secret = await _pos_key(api)
    assert await _status(second, secret) == 200

    # when the first process revokes it
    payload = await api.mutate(REVOKE, {"id": key_id})
    assert payload["errors"] == []

    # then the second process still accepts it within the TTL, as documented
    seconds.now += TTL - 0.25
    assert await _status(second, secret) == 200
    # and refuses it once the TTL has passed on its clock
    seconds.now += 0.25
    assert await _status(second, secret) == 401
    # while the first process refused it at once
    assert await _status(api.http, secret) == 401


async def test_an_unknown_key_is_remembered_as_unknown_no_longer_than_the_ttl(
    api: Api, second: httpx.AsyncClient, seconds: Seconds
) -> None:
    # given a key the second process looked up while it did not exist
    secret = "gocrm_created-after-its-first-use"
    assert await _status(second, secret) == 401

    # when that key is created afterwards
    await ApiKey.create(
        location_id=UUID(api.location_id),
        name="late",
        role=Role.POS.value,
        key_hash=hash_secret(secret),
    )

    # then the cached "unknown" holds for the TTL only, and the key then works
    seconds.now += TTL - 0.25
    assert await _status(second, secret) == 401
    seconds.now += 0.25
    assert await _status(second, secret) == 200


async def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_used(
    api: Api, seconds: Seconds
) -> None:
    cache = PrincipalCache(ttl=TTL, size=3, clock=seconds)
    _, kept = await _pos_key(api)
    known = await cache.authenticate(kept)
    assert known is not None

    for n in range(5):
        assert await cache.authenticate(f"gocrm_unknown-{n}") is None
        # using the known key keeps it the most recently used entry
        assert await cache.authenticate(kept) == known

    assert len(cache) == 3
    await ApiKey.filter(key_hash=hash_secret(kept)).delete()
    # still answered from the cache: the bound evicted the unknown keys, not the used one
    assert await cache.authenticate(kept) == known


async def test_expired_entries_are_read_again(api: Api, seconds: Seconds) -> None:
    cache = PrincipalCache(ttl=TTL, size=10, clock=seconds)
    _, secret = await _pos_key(api)
    assert await cache.authenticate(secret) is not None
    await ApiKey.filter(key_hash=hash_secret(secret)).delete()

    assert await cache.authenticate(secret) is not None
    seconds.now += TTL
    assert await cache.authenticate(secret) is None
    assert len(cache) == 1
