"""The app's one runtime: decided when the app is built, the same for `app.state` and every
request, with Redis on or off."""

from __future__ import annotations

import dataclasses

from starlette.applications import Starlette

from gateway.app import create_app
from gateway.graphql.endpoint import GraphQLEndpoint, Shortcut
from settings import Settings
from tasks.inprocess import InProcessDispatcher
from tasks.worker import ArqDispatcher
from tests.test_outages import NOWHERE_REDIS, lifespan


def _endpoint(app: Starlette) -> GraphQLEndpoint:
    endpoint: GraphQLEndpoint = next(
        m.kwargs["endpoint"] for m in app.user_middleware if m.cls is Shortcut
    )
    return endpoint


async def test_with_redis_on_app_state_runtime_is_the_endpoints_and_queues_on_redis(
    database: Settings,
) -> None:
    # given a gateway with REDIS_URL set (this Redis does not answer: the gateway serves anyway)
    app = create_app(dataclasses.replace(database, redis_url=NOWHERE_REDIS), manage_database=False)
    built = app.state.runtime

    # when it has started
    async with lifespan(app) as told:
        started = app.state.runtime
        served = _endpoint(app).runtime

    # then app.state's runtime is the one requests get, queueing on Redis, before and after
    assert told[0] == {"type": "lifespan.startup.complete"}
    assert started is built
    assert served is started
    assert isinstance(started.dispatcher, ArqDispatcher)
    assert isinstance(app.state.dispatcher, InProcessDispatcher)


async def test_without_redis_app_state_runtime_is_the_endpoints_and_runs_jobs_here(
    database: Settings,
) -> None:
    app = create_app(dataclasses.replace(database, redis_url=None), manage_database=False)

    async with lifespan(app) as told:
        started = app.state.runtime
        served = _endpoint(app).runtime

    assert told[0] == {"type": "lifespan.startup.complete"}
    assert served is started
    assert started.dispatcher is app.state.dispatcher
    assert isinstance(started.dispatcher, InProcessDispatcher)
