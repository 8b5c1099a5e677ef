"""The test suite's Redis database: the suite flushes it, so it refuses one holding keys it did
not write."""

from __future__ import annotations

import pytest
from arq.connections import RedisSettings, create_pool
from redis.exceptions import RedisError

from tests.redis_fixtures import OWNER_KEY, REDIS_URL, _unavailable, claim, exclusive_use

pytestmark = pytest.mark.db


async def test_the_suite_refuses_a_redis_database_holding_someone_elses_keys() -> None:
    async with exclusive_use(REDIS_URL):
        settings = RedisSettings.from_dsn(REDIS_URL)
        settings.conn_retries = 0
        try:
            pool = await create_pool(settings)
        except (OSError, RedisError) as error:
            _unavailable("Redis", error)
        try:
            await pool.flushdb()
            await pool.set("shop:orders", "someone's data")

            with pytest.raises(pytest.fail.Exception, match="holds 1 keys that the test suite"):
                await claim(pool, REDIS_URL)
            kept = await pool.get("shop:orders")

            await pool.set(OWNER_KEY, "a run killed midway")
            await claim(pool, REDIS_URL)
            left = sorted(await pool.keys("*"))
        finally:
            await pool.flushdb()
            await pool.aclose()

    assert kept == b"someone's data"
    assert left == [OWNER_KEY.encode()]
