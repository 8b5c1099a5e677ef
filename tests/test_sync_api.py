"""Integrations end to end: configure GoPOS and GoOrder, synchronise against their simulators
(in-process, through httpx's ASGI transport), and read the mirror and the group connections
through the API. On both databases; jobs run in-process and the tests drain them."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import httpx
import pytest
from starlette.applications import Starlette

from adapters.goorder.simulator import GoorderSimulator, create_goorder_simulator
from adapters.gopos.simulator import GoposSimulator, create_gopos_simulator
from adapters.http import UpstreamClients
from adapters.secrets import SecretBox, new_key
from domain.access import Role
from domain.jobs import UNFINISHED
from gateway.app import create_app
from gateway.runtime import attached, build_runtime, close_runtime, with_dispatcher
from models.tables.crm import Location
from models.tables.integrations import Integration, OrderPromotionMirror, PosGroupMirror, SyncRun
from services.jobs import Dispatcher
from services.lifecycle import resume_silent
from services.runtime import Runtime, SecretKeys
from services.sync import SYNC_RUNS, queue_periodic_syncs
from settings import Settings
from tasks.inprocess import InProcessDispatcher
from tests.builders import UPDATE_GROUP
from tests.english import checked
from tests.helpers import Api, Clock, create_group, new_location

GOPOS_URL = "http://gopos.test"
GOORDER_URL = "http://goorder.test"
GOPOS_SECRET = "gopos-client-secret-7f3a19"
GOORDER_KEY = "goorder-api-key-91bc55"
SECRET_KEY = new_key()

CONFIGURE = """
mutation($channel: Channel!, $input: IntegrationInput!) {
  configureIntegration(channel: $channel, input: $input) {
    integration { channel configured baseUrl clientId organizationId storeId }
    errors { code field message }
  }
}"""

SYNCHRONIZE = """
mutation($channel: Channel!) {
  synchronize(channel: $channel) {
    syncRun { id channel status fetched linked unmatched written error }
    errors { code field message }
  }
}"""

RUN_FIELDS = (
    "id channel status queuedAt startedAt finishedAt fetched linked unmatched written error"
)
GET_SYNC_RUN = f"""
query($id: ID!) {{
  syncRun(id: $id) {{ {RUN_FIELDS} }}
}}"""

GET_INTEGRATION = """
query($channel: Channel!) {
  integration(channel: $channel) {
    channel configured baseUrl clientId organizationId storeId
    lastSync { id status }
    posGroups {
      externalId name reference dailyDiscountLimit { amount currency } removed
      discounts { externalId name type value enabled }
    }
    promotions {
      externalId name reference type addType value minBasketValue { amount currency }
      active removed
    }
    unmatchedReferences
  }
}"""

CONNECTIONS = """
{
  customerGroups {
    reference
    connections {
      channel status detail posGroup { externalId name } promotion { externalId name }
    }
  }
}"""

UPDATE_GROUP_CONNECTIONS = """
mutation($id: ID!, $input: CustomerGroupInput!) {
  updateCustomerGroup(id: $id, input: $input) {
    group { reference connections { channel status detail posGroup { externalId } } }
    errors { code field message }
  }
}"""


def gopos_fixture() -> dict[str, Any]:
    return {
        "organization_id": "1001",
        "client_id": "demo",
        "client_secret": GOPOS_SECRET,
        "groups": [
            {
                "id": 17,
                "name": "Stały klient",
                "reference": "staly-klient",
                "daily_discount_limit": {"amount": "50.00", "currency": "PLN"},
                "discount_ids": [3, 8],
            },
            {
                "id": 21,
                "name": "Tylko w GoPOS",
                "reference": "tylko-w-gopos",
                "daily_discount_limit": None,
                "discount_ids": [],
            },
        ],
        "discounts": [
            {
                "id": 3,
                "name": "10% stały klient",
                "type": "PERCENT",
                "value": "10.00",
                "status": "ENABLED",
            },
            {"id": 8, "name": "5 zł", "type": "AMOUNT", "value": "5.00", "status": "DISABLED"},
        ],
    }


def goorder_fixture() -> dict[str, Any]:
    return {
        "store_id": "s1",
        "api_key": GOORDER_KEY,
        "promotions": [
            {
                "id": "pr_81",
                "name": "10% rabatu dla stałych klientów",
                "type": "ORDER_PERCENT",
                "add_type": "MANUAL",
                "value": "10.00",
                "reference": "staly-klient",
                "min_basket_value": "40.00",
                "active": True,
            },
            {
                "id": "pr_90",
                "name": "Weekend",
                "type": "ORDER_AMOUNT",
                "add_type": "AUTOMATIC",
                "value": "15.00",
                "reference": "weekend",
                "min_basket_value": None,
                "active": False,
            },
        ],
    }


GOPOS_INPUT = {
    "baseUrl": GOPOS_URL,
    "clientId": "demo",
    "clientSecret": GOPOS_SECRET,
    "organizationId": "1001",
}
GOORDER_INPUT = {"baseUrl": GOORDER_URL, "apiKey": GOORDER_KEY, "storeId": "s1"}


class Recorder:
    """A dispatcher that keeps what is enqueued and runs nothing (a queue that loses jobs)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[str, ...], str]] = []

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        self.jobs.append((function, args, job_id))


async def no_wait(seconds: float) -> None:
    """The upstream clients' sleep between retries: the tests do not wait out backoffs."""
    await asyncio.sleep(0)


@dataclass
class Shop:
    api: Api
    runtime: Runtime
    dispatcher: Dispatcher
    gopos: GoposSimulator
    goorder: GoorderSimulator
    clock: Clock

    async def drain(self) -> None:
        assert isinstance(self.dispatcher, InProcessDispatcher)
        await self.dispatcher.drain()

    @property
    def location_id(self) -> UUID:
        return UUID(self.api.location_id)


ShopFactory = Callable[..., Awaitable[Shop]]


@pytest.fixture
async def open_shop(database: Settings, clock: Clock) -> AsyncIterator[ShopFactory]:
    """Builds a gateway whose GoPOS and GoOrder are simulators in this process, and a location
    of its own; everything it built is closed and its unfinished runs dropped at the end."""
    opened: list[tuple[Shop, httpx.AsyncClient]] = []

    async def build(
        dispatcher: Dispatcher | None = None, secrets: SecretKeys | None = None
    ) -> Shop:
        gopos_app = create_gopos_simulator(gopos_fixture())
        goorder_app = create_goorder_simulator(goorder_fixture())
        upstreams: dict[str, Starlette] = {GOPOS_URL: gopos_app, GOORDER_URL: goorder_app}

        def transport(base_url: str) -> httpx.AsyncBaseTransport:
            return httpx.ASGITransport(app=upstreams[base_url])

        settings = replace(database, secret_key=SECRET_KEY)
        dispatcher = dispatcher or InProcessDispatcher()
        built = build_runtime(settings, dispatcher, clock=clock, transport=transport)
        await built.upstreams.aclose()
        instant = UpstreamClients(
            built.upstreams.config, transport=transport, sleep=no_wait, rng=random.Random(7)
        )
        runtime = attached(replace(built, upstreams=instant, secrets=secrets or built.secrets))
        app = create_app(settings, manage_database=False, runtime=runtime)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
        api = await new_location(http, "Bistro Sync")
        shop = Shop(
            api,
            runtime,
            dispatcher,
            gopos_app.state.simulator,
            goorder_app.state.simulator,
            clock,
        )
        opened.append((shop, http))
        return shop

    yield build
    for shop, http in opened:
        if isinstance(shop.dispatcher, InProcessDispatcher):
            await shop.dispatcher.close()
        await SyncRun.filter(location_id=shop.location_id, status__in=UNFINISHED).delete()
        await http.aclose()
        await close_runtime(shop.runtime)


@pytest.fixture
async def shop(open_shop: ShopFactory) -> Shop:
    return await open_shop()


async def configure(api: Api, channel: str, **fields: Any) -> dict[str, Any]:
    defaults = GOPOS_INPUT if channel == "GOPOS" else GOORDER_INPUT
    return await api.mutate(CONFIGURE, {"channel": channel, "input": {**defaults, **fields}})


async def configured(api: Api, channel: str, **fields: Any) -> None:
    payload = await configure(api, channel, **fields)
    assert payload["errors"] == [], payload


async def synchronized(shop: Shop, channel: str) -> dict[str, Any]:
    """Queue a sync, let it run, and return the run as the API shows it."""
    payload = await shop.api.mutate(SYNCHRONIZE, {"channel": channel})
    assert payload["errors"] == [], payload
    await shop.drain()
    run: dict[str, Any] = (await shop.api.data(GET_SYNC_RUN, {"id": payload["syncRun"]["id"]}))[
        "syncRun"
    ]
    return run


async def integration(api: Api, channel: str) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(GET_INTEGRATION, {"channel": channel}))["integration"]
    return found


async def connections(api: Api) -> dict[str, list[dict[str, Any]]]:
    groups = (await api.data(CONNECTIONS))["customerGroups"]
    return {g["reference"]: g["connections"] for g in groups}


def counts(run: dict[str, Any]) -> tuple[Any, ...]:
    return (
        run["status"],
        run["fetched"],
        run["linked"],
        run["unmatched"],
        run["written"],
        run["error"],
    )


async def sync_version(location_id: UUID) -> int:
    return (await Location.get(id=location_id)).sync_version


async def mirror_rows(location_id: UUID) -> list[tuple[Any, ...]]:
    groups = await PosGroupMirror.filter(location_id=location_id).values_list(
        "external_id", "name", "removed", "updated_at"
    )
    promotions = await OrderPromotionMirror.filter(location_id=location_id).values_list(
        "external_id", "name", "removed", "updated_at"
    )
    return sorted(groups) + sorted(promotions)


def failed(error: str) -> tuple[Any, ...]:
    """The counts of a run that failed before writing anything."""
    return ("FAILED", 0, 0, 0, 0, error)


def linked(external_id: str, name: str, channel: str) -> dict[str, Any]:
    key = "posGroup" if channel == "GOPOS" else "promotion"
    other = "promotion" if channel == "GOPOS" else "posGroup"
    return {
        "channel": channel,
        "status": "LINKED",
        "detail": None,
        key: {"externalId": external_id, "name": name},
        other: None,
    }


def unlinked(channel: str, status: str, detail: str) -> dict[str, Any]:
    return {
        "channel": channel,
        "status": status,
        "detail": detail,
        "posGroup": None,
        "promotion": None,
    }


# ------------------------------------------------------------------------ configuration


async def test_configured_integrations_never_show_their_secrets(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await create_group(shop.api, "Stały klient")

    # when both integrations are configured, read and synchronised
    answers = [
        await configure(shop.api, "GOPOS"),
        await configure(shop.api, "GOORDER"),
        await shop.api.raw(GET_INTEGRATION, {"channel": "GOPOS"}),
        await shop.api.raw(GET_INTEGRATION, {"channel": "GOORDER"}),
        await synchronized(shop, "GOPOS"),
        await synchronized(shop, "GOORDER"),
        await shop.api.raw(CONNECTIONS),
    ]

    # then each answer shows the settings without the secret
    assert answers[0] == {
        "integration": {
            "channel": "GOPOS",
            "configured": True,
            "baseUrl": GOPOS_URL,
            "clientId": "demo",
            "organizationId": "1001",
            "storeId": None,
        },
        "errors": [],
    }
    assert answers[1] == {
        "integration": {
            "channel": "GOORDER",
            "configured": True,
            "baseUrl": GOORDER_URL,
            "clientId": None,
            "organizationId": None,
            "storeId": "s1",
        },
        "errors": [],
    }
    assert [counts(run) for run in answers[4:6]] == [
        ("SUCCEEDED", 2, 1, 1, 4, None),
        ("SUCCEEDED", 2, 1, 1, 2, None),
    ]
    text = json.dumps(answers, ensure_ascii=False)
    for secret in (GOPOS_SECRET, GOORDER_KEY):
        assert secret not in text
        # nor in anything logged, the whole sync included
        assert secret not in caplog.text
        assert all(secret not in str(record.args) for record in caplog.records)
    # and the stored values are sealed
    stored = await Integration.filter(location_id=shop.location_id).values_list(
        "channel", "sealed_secret"
    )
    assert sorted(channel for channel, _ in stored) == ["GOORDER", "GOPOS"]
    for _, sealed in stored:
        assert GOPOS_SECRET not in sealed
        assert GOORDER_KEY not in sealed
    # and each run logged one line with its location, channel and counts
    lines = [r.getMessage() for r in caplog.records if r.name == "services.sync"]
    assert [line.split(" in ")[0].split(": ", 1)[1] for line in lines] == [
        f"location {shop.location_id}, GOPOS: fetched 2, linked 1, unmatched 1, written 4",
        f"location {shop.location_id}, GOORDER: fetched 2, linked 1, unmatched 1, written 2",
    ]


async def test_an_unconfigured_integration_reads_as_not_configured(shop: Shop) -> None:
    found = await integration(shop.api, "GOORDER")

    assert found == {
        "channel": "GOORDER",
        "configured": False,
        "baseUrl": None,
        "clientId": None,
        "organizationId": None,
        "storeId": None,
        "lastSync": None,
        "posGroups": [],
        "promotions": [],
        "unmatchedReferences": [],
    }


async def test_a_secret_left_out_keeps_the_stored_one(shop: Shop) -> None:
    # given GoPOS configured with its secret
    await configured(shop.api, "GOPOS")
    sealed = await Integration.get(location_id=shop.location_id, channel="GOPOS")

    # when it is saved again without the secret (a blank one, as a form sends it, then none)
    blank = await configure(shop.api, "GOPOS", baseUrl=GOPOS_URL + "/", clientSecret="")
    left_out = {key: value for key, value in GOPOS_INPUT.items() if key != "clientSecret"}
    none = await shop.api.mutate(CONFIGURE, {"channel": "GOPOS", "input": left_out})

    # then both are accepted, the sealed secret is the one stored first, and a sync authenticates
    assert blank["errors"] == none["errors"] == []
    assert none["integration"]["configured"] is True
    again = await Integration.get(location_id=shop.location_id, channel="GOPOS")
    assert again.sealed_secret == sealed.sealed_secret
    assert counts(await synchronized(shop, "GOPOS")) == ("SUCCEEDED", 2, 0, 2, 4, None)
    assert shop.gopos.token_requests == 1


async def test_a_new_secret_replaces_the_stored_one(shop: Shop) -> None:
    await configured(shop.api, "GOORDER", apiKey="an-old-key")
    assert (await synchronized(shop, "GOORDER"))["error"] == (
        "GoOrder rejected the credentials (401): Invalid API key"
    )

    await configured(shop.api, "GOORDER")

    assert counts(await synchronized(shop, "GOORDER")) == ("SUCCEEDED", 2, 0, 2, 2, None)


async def test_bad_inputs_are_invalid_with_their_field_paths(shop: Shop) -> None:
    first = await configure(
        shop.api,
        "GOPOS",
        baseUrl="https://user:pass@gopos.test",
        clientId="  ",
        organizationId="../1001",
        storeId="s1",
    )
    no_secret = await configure(shop.api, "GOORDER", apiKey=None, baseUrl="gopos.test")

    assert first == {
        "integration": None,
        "errors": [
            {
                "code": "INVALID",
                "field": "input.baseUrl",
                "message": "Base URL must not contain a user name or password.",
            },
            {"code": "REQUIRED", "field": "input.clientId", "message": "Client ID is required."},
            {
                "code": "INVALID",
                "field": "input.organizationId",
                "message": "Organization ID may contain only letters, digits, dots, "
                "underscores, tildes and dashes.",
            },
            {"code": "INVALID", "field": "input.storeId", "message": "GoPOS does not use storeId."},
        ],
    }
    assert no_secret == {
        "integration": None,
        "errors": [
            {
                "code": "INVALID",
                "field": "input.baseUrl",
                "message": "Base URL must start with http:// or https://.",
            },
            {
                "code": "REQUIRED",
                "field": "input.apiKey",
                "message": "API key is required to configure the integration.",
            },
        ],
    }
    # and nothing was stored
    assert await Integration.filter(location_id=shop.location_id).count() == 0
    assert (await integration(shop.api, "GOPOS"))["configured"] is False


async def test_configuring_without_a_secret_key_is_not_configured(
    open_shop: ShopFactory,
) -> None:
    shop = await open_shop(secrets=SecretKeys(keys=None, key_file=None))

    payload = await configure(shop.api, "GOPOS")

    assert payload == {
        "integration": None,
        "errors": [
            {
                "code": "NOT_CONFIGURED",
                "field": None,
                "message": "Integration credentials cannot be stored: the server has no secret "
                "key (GOCRM_SECRET_KEY). Ask the operator to set one.",
            }
        ],
    }
    assert await Integration.filter(location_id=shop.location_id).count() == 0


async def test_a_pos_key_may_not_configure_synchronise_or_read_integrations(shop: Shop) -> None:
    await configured(shop.api, "GOPOS")
    run = await synchronized(shop, "GOPOS")
    till = await shop.api.key_with_role(Role.POS)
    forbidden = {
        "code": "FORBIDDEN",
        "field": None,
        "message": "This API key's role may not do this.",
    }

    configure_payload = await configure(till, "GOPOS", clientSecret="stolen")
    synchronize_payload = await till.mutate(SYNCHRONIZE, {"channel": "GOPOS"})
    read = await till.raw(GET_INTEGRATION, {"channel": "GOPOS"})
    read_run = await till.raw(GET_SYNC_RUN, {"id": run["id"]})

    assert configure_payload == {"integration": None, "errors": [forbidden]}
    assert synchronize_payload == {"syncRun": None, "errors": [forbidden]}
    assert read["data"] is None
    assert read_run["data"] == {"syncRun": None}
    for body, field in ((read, "integration"), (read_run, "syncRun")):
        assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
            ([field], "FORBIDDEN")
        ]
    # and nothing changed
    assert await SyncRun.filter(location_id=shop.location_id).count() == 1
    assert shop.gopos.token_requests == 1
    assert counts(await synchronized(shop, "GOPOS")) == ("SUCCEEDED", 2, 0, 2, 0, None)


# ------------------------------------------------------------------------ synchronising


async def test_a_sync_is_queued_then_succeeds_with_its_counts(shop: Shop) -> None:
    # given a CRM group and GoPOS configured
    await create_group(shop.api, "Stały klient")
    await configured(shop.api, "GOPOS")

    # when a sync is requested
    payload = await shop.api.mutate(SYNCHRONIZE, {"channel": "GOPOS"})

    # then it is queued
    assert payload["errors"] == []
    queued = payload["syncRun"]
    assert {k: v for k, v in queued.items() if k != "id"} == {
        "channel": "GOPOS",
        "status": "QUEUED",
        "fetched": 0,
        "linked": 0,
        "unmatched": 0,
        "written": 0,
        "error": None,
    }

    # and once run, it succeeded with its counts
    await shop.drain()
    run = (await shop.api.data(GET_SYNC_RUN, {"id": queued["id"]}))["syncRun"]
    assert counts(run) == ("SUCCEEDED", 2, 1, 1, 4, None)
    assert run["channel"] == "GOPOS"
    assert run["startedAt"] is not None
    assert run["finishedAt"] is not None
    assert run["queuedAt"] <= run["finishedAt"]
    # and the mirror shows what GoPOS holds, in the location's units
    found = await integration(shop.api, "GOPOS")
    assert found["lastSync"] == {"id": queued["id"], "status": "SUCCEEDED"}
    assert found["posGroups"] == [
        {
            "externalId": "17",
            "name": "Stały klient",
            "reference": "staly-klient",
            "dailyDiscountLimit": {"amount": "50.00", "currency": "PLN"},
            "removed": False,
            "discounts": [
                {
                    "externalId": "3",
                    "name": "10% stały klient",
                    "type": "PERCENT",
                    "value": "10.00",
                    "enabled": True,
                },
                {
                    "externalId": "8",
                    "name": "5 zł",
                    "type": "AMOUNT",
                    "value": "5.00",
                    "enabled": False,
                },
            ],
        },
        {
            "externalId": "21",
            "name": "Tylko w GoPOS",
            "reference": "tylko-w-gopos",
            "dailyDiscountLimit": None,
            "removed": False,
            "discounts": [],
        },
    ]
    assert found["promotions"] == []
    assert found["unmatchedReferences"] == ["tylko-w-gopos"]


PAGED_MIRROR = """
query($first: Int, $after: String) {
  gopos: integration(channel: GOPOS) { posGroups(first: $first, after: $after) { externalId } }
}"""
PAGED_PROMOTIONS = """
query($first: Int, $after: String) {
  integration(channel: GOORDER) { promotions(first: $first, after: $after) { externalId } }
}"""


async def test_the_mirror_is_read_in_pages_after_an_external_id(shop: Shop) -> None:
    await configured(shop.api, "GOPOS")
    await synchronized(shop, "GOPOS")

    def ids(found: dict[str, Any]) -> list[str]:
        return [g["externalId"] for g in found["gopos"]["posGroups"]]

    assert ids(await shop.api.data(PAGED_MIRROR, {"first": 1})) == ["17"]
    assert ids(await shop.api.data(PAGED_MIRROR, {"first": 1, "after": "17"})) == ["21"]
    assert ids(await shop.api.data(PAGED_MIRROR, {"first": 5, "after": "21"})) == []
    assert ids(await shop.api.data(PAGED_MIRROR, {})) == ["17", "21"]

    for variables, field, message in (
        ({"first": 201}, "first", "Page size must be at most 200."),
        ({"first": -1}, "first", "Page size must not be negative."),
        ({"after": "999"}, "after", "No item of this list has this externalId."),
    ):
        for query in (PAGED_MIRROR, PAGED_PROMOTIONS):
            result = await shop.api.raw(query, variables)
            assert [(e["message"], checked(e)) for e in result["errors"]] == [
                (message, {"code": "INVALID", "field": field})
            ]


async def test_goorder_promotions_are_mirrored(shop: Shop) -> None:
    await create_group(shop.api, "Stały klient")
    await configured(shop.api, "GOORDER")

    run = await synchronized(shop, "GOORDER")

    assert counts(run) == ("SUCCEEDED", 2, 1, 1, 2, None)
    found = await integration(shop.api, "GOORDER")
    assert found["posGroups"] == []
    assert found["promotions"] == [
        {
            "externalId": "pr_81",
            "name": "10% rabatu dla stałych klientów",
            "reference": "staly-klient",
            "type": "ORDER_PERCENT",
            "addType": "MANUAL",
            "value": "10.00",
            "minBasketValue": {"amount": "40.00", "currency": "PLN"},
            "active": True,
            "removed": False,
        },
        {
            "externalId": "pr_90",
            "name": "Weekend",
            "reference": "weekend",
            "type": "ORDER_AMOUNT",
            "addType": "AUTOMATIC",
            "value": "15.00",
            "minBasketValue": None,
            "active": False,
            "removed": False,
        },
    ]
    assert found["unmatchedReferences"] == ["weekend"]


async def test_connections_show_linked_missing_ambiguous_and_inactive(shop: Shop) -> None:
    # given CRM groups, and GoPOS with two groups that share the reference "vip"
    for name, reference in [
        ("Stały klient", None),
        ("VIP", "vip"),
        ("Weekend", "weekend"),
        ("Nowi", None),
    ]:
        await create_group(shop.api, name, **({"reference": reference} if reference else {}))
    shop.gopos.groups += [
        {
            "id": 30,
            "name": "VIP",
            "reference": "VIP",
            "daily_discount_limit": None,
            "discount_ids": [],
        },
        {
            "id": 31,
            "name": "VIP goście",
            "reference": " vip ",
            "daily_discount_limit": None,
            "discount_ids": [],
        },
    ]
    await configured(shop.api, "GOPOS")
    await configured(shop.api, "GOORDER")

    # then before any sync every connection is NOT_SYNCED
    before = await connections(shop.api)
    assert before["nowi"] == [
        unlinked("GOPOS", "NOT_SYNCED", "GoPOS has not been synchronised yet."),
        unlinked("GOORDER", "NOT_SYNCED", "GoOrder has not been synchronised yet."),
    ]
    assert {c["status"] for group in before.values() for c in group} == {"NOT_SYNCED"}

    # when both are synchronised
    assert counts(await synchronized(shop, "GOPOS")) == ("SUCCEEDED", 4, 1, 1, 6, None)
    assert counts(await synchronized(shop, "GOORDER")) == ("SUCCEEDED", 2, 1, 0, 2, None)

    # then each group shows how it links to each channel
    assert await connections(shop.api) == {
        "nowi": [
            unlinked("GOPOS", "NOT_FOUND", "No GoPOS group has the reference nowi."),
            unlinked("GOORDER", "NOT_FOUND", "No GoOrder promotion has the reference nowi."),
        ],
        "staly-klient": [
            linked("17", "Stały klient", "GOPOS"),
            linked("pr_81", "10% rabatu dla stałych klientów", "GOORDER"),
        ],
        "vip": [
            unlinked(
                "GOPOS",
                "AMBIGUOUS",
                "2 GoPOS groups have the reference vip: 30 „VIP”, 31 „VIP goście”. "
                "Give each its own reference in GoPOS.",
            ),
            unlinked("GOORDER", "NOT_FOUND", "No GoOrder promotion has the reference vip."),
        ],
        "weekend": [
            unlinked("GOPOS", "NOT_FOUND", "No GoPOS group has the reference weekend."),
            unlinked(
                "GOORDER",
                "NOT_FOUND",
                "GoOrder promotion pr_90 „Weekend” has this reference but is inactive.",
            ),
        ],
    }


async def test_connections_of_one_group_and_a_linked_groups_details(shop: Shop) -> None:
    group = await create_group(shop.api, "Stały klient")
    await configured(shop.api, "GOPOS")
    await synchronized(shop, "GOPOS")

    found = await shop.api.data(
        """query($id: ID!) { customerGroup(id: $id) { connections {
             channel status
             posGroup { externalId dailyDiscountLimit { amount } discounts { externalId value } }
           } } }""",
        {"id": group["id"]},
    )

    assert found["customerGroup"]["connections"] == [
        {
            "channel": "GOPOS",
            "status": "LINKED",
            "posGroup": {
                "externalId": "17",
                "dailyDiscountLimit": {"amount": "50.00"},
                "discounts": [
                    {"externalId": "3", "value": "10.00"},
                    {"externalId": "8", "value": "5.00"},
                ],
            },
        },
        {"channel": "GOORDER", "status": "NOT_SYNCED", "posGroup": None},
    ]


async def test_a_group_deleted_upstream_is_marked_removed(shop: Shop) -> None:
    # given a synced GoPOS group linked to a CRM group
    await create_group(shop.api, "Stały klient")
    await configured(shop.api, "GOPOS")
    await synchronized(shop, "GOPOS")

    # when it is deleted in GoPOS and GoPOS is synchronised again
    shop.gopos.groups = [g for g in shop.gopos.groups if g["id"] != 17]
    run = await synchronized(shop, "GOPOS")

    # then the run marked one row removed, the mirror keeps it as removed, and it links no more
    assert counts(run) == ("SUCCEEDED", 1, 0, 1, 1, None)
    found = await integration(shop.api, "GOPOS")
    assert [(g["externalId"], g["removed"]) for g in found["posGroups"]] == [
        ("17", True),
        ("21", False),
    ]
    assert found["unmatchedReferences"] == ["tylko-w-gopos"]
    assert (await connections(shop.api))["staly-klient"][0] == unlinked(
        "GOPOS",
        "NOT_FOUND",
        "GoPOS group 17 „Stały klient” has this reference but was removed from GoPOS.",
    )

    # and when it comes back, it is linked again
    shop.gopos.groups = gopos_fixture()["groups"]
    assert counts(await synchronized(shop, "GOPOS")) == ("SUCCEEDED", 2, 1, 1, 1, None)
    assert (await connections(shop.api))["staly-klient"][0] == linked("17", "Stały klient", "GOPOS")


async def test_editing_a_reference_relinks_at_once_without_a_sync(shop: Shop) -> None:
    # given a group whose reference GoPOS does not have
    group = await create_group(shop.api, "Nowi")
    await configured(shop.api, "GOPOS")
    run = await synchronized(shop, "GOPOS")
    assert (await integration(shop.api, "GOPOS"))["unmatchedReferences"] == [
        "staly-klient",
        "tylko-w-gopos",
    ]

    # when its reference is changed to one GoPOS has
    payload = await shop.api.mutate(
        UPDATE_GROUP_CONNECTIONS, {"id": group["id"], "input": {"reference": "tylko-w-gopos"}}
    )

    # then the payload already shows it linked, and so does every later read
    assert payload["errors"] == []
    assert payload["group"]["connections"][0] == {
        "channel": "GOPOS",
        "status": "LINKED",
        "detail": None,
        "posGroup": {"externalId": "21"},
    }
    assert (await connections(shop.api))["tylko-w-gopos"][0] == linked(
        "21", "Tylko w GoPOS", "GOPOS"
    )
    found = await integration(shop.api, "GOPOS")
    assert found["unmatchedReferences"] == ["staly-klient"]
    # without another sync
    assert found["lastSync"]["id"] == run["id"]
    assert await SyncRun.filter(location_id=shop.location_id).count() == 1
    # and changing it back unlinks it
    back = await shop.api.mutate(UPDATE_GROUP, {"id": group["id"], "input": {"reference": "nowi"}})
    assert back["errors"] == []
    assert (await connections(shop.api))["nowi"][0]["status"] == "NOT_FOUND"


async def test_a_second_identical_sync_writes_nothing(shop: Shop) -> None:
    # given both channels synchronised once
    await create_group(shop.api, "Stały klient")
    await configured(shop.api, "GOPOS")
    await configured(shop.api, "GOORDER")
    assert await sync_version(shop.location_id) == 0
    first = [await synchronized(shop, "GOPOS"), await synchronized(shop, "GOORDER")]
    assert [run["written"] for run in first] == [4, 2]
    version = await sync_version(shop.location_id)
    assert version == 2
    rows = await mirror_rows(shop.location_id)
    assert len(rows) == 4

    # when both are synchronised again, later, with nothing changed upstream
    shop.clock.now = shop.clock() + timedelta(hours=1)
    second = [await synchronized(shop, "GOPOS"), await synchronized(shop, "GOORDER")]

    # then the runs succeeded and wrote nothing: rows, their times and the version unchanged
    assert [counts(run) for run in second] == [
        ("SUCCEEDED", 2, 1, 1, 0, None),
        ("SUCCEEDED", 2, 1, 1, 0, None),
    ]
    assert await mirror_rows(shop.location_id) == rows
    assert await sync_version(shop.location_id) == version


async def test_a_changed_upstream_object_is_written_and_bumps_the_version(shop: Shop) -> None:
    await configured(shop.api, "GOORDER")
    await synchronized(shop, "GOORDER")
    version = await sync_version(shop.location_id)

    shop.goorder.promotions[0]["value"] = "12.50"
    run = await synchronized(shop, "GOORDER")

    assert counts(run) == ("SUCCEEDED", 2, 0, 2, 1, None)
    assert await sync_version(shop.location_id) == version + 1
    promotions = (await integration(shop.api, "GOORDER"))["promotions"]
    assert [(p["externalId"], p["value"]) for p in promotions] == [
        ("pr_81", "12.50"),
        ("pr_90", "15.00"),
    ]


async def test_of_two_concurrent_requests_one_queues_and_one_gets_the_same_run(
    open_shop: ShopFactory,
) -> None:
    # given a queue that only records what is enqueued
    recorder = Recorder()
    shop = await open_shop(dispatcher=recorder)
    await configured(shop.api, "GOPOS")

    # when two syncs of GoPOS are requested at once
    payloads = await asyncio.gather(
        shop.api.mutate(SYNCHRONIZE, {"channel": "GOPOS"}),
        shop.api.mutate(SYNCHRONIZE, {"channel": "GOPOS"}),
    )

    # then one queued a run, and the other got CONFLICT with that same run
    accepted = [p for p in payloads if not p["errors"]]
    refused = [p for p in payloads if p["errors"]]
    assert len(accepted) == len(refused) == 1
    run_id = accepted[0]["syncRun"]["id"]
    assert accepted[0]["syncRun"]["status"] == "QUEUED"
    assert refused[0] == {
        "syncRun": {**accepted[0]["syncRun"]},
        "errors": [
            {
                "code": "CONFLICT",
                "field": "channel",
                "message": "A synchronisation with GoPOS is already queued.",
            }
        ],
    }
    assert await SyncRun.filter(location_id=shop.location_id).count() == 1
    assert recorder.jobs == [("run_sync", (run_id,), f"sync-run:{run_id}:0")]
    # and GoOrder is not held up by it
    assert (await configure(shop.api, "GOORDER"))["errors"] == []
    other = await shop.api.mutate(SYNCHRONIZE, {"channel": "GOORDER"})
    assert other["errors"] == []
    assert other["syncRun"]["id"] != run_id


async def test_synchronize_without_credentials_is_not_configured(shop: Shop) -> None:
    gopos = await shop.api.mutate(SYNCHRONIZE, {"channel": "GOPOS"})
    goorder = await shop.api.mutate(SYNCHRONIZE, {"channel": "GOORDER"})

    assert [gopos, goorder] == [
        {
            "syncRun": None,
            "errors": [
                {
                    "code": "NOT_CONFIGURED",
                    "field": "channel",
                    "message": f"{name} is not configured: save its credentials first.",
                }
            ],
        }
        for name in ("GoPOS", "GoOrder")
    ]
    assert await SyncRun.filter(location_id=shop.location_id).count() == 0


# ------------------------------------------------------------------------ failures


async def _synced_mirror(shop: Shop) -> tuple[list[dict[str, Any]], int]:
    """GoPOS configured and synchronised once: the mirror as read, and the sync version."""
    await create_group(shop.api, "Stały klient")
    await configured(shop.api, "GOPOS")
    assert (await synchronized(shop, "GOPOS"))["status"] == "SUCCEEDED"
    return (await integration(shop.api, "GOPOS"))["posGroups"], await sync_version(shop.location_id)


async def test_a_persistent_503_fails_the_run_naming_gopos(shop: Shop) -> None:
    mirror, version = await _synced_mirror(shop)

    # when GoPOS answers 503 to everything
    shop.gopos.fail_next(503, count=1_000)
    run = await synchronized(shop, "GOPOS")

    # then the run failed at once with a readable error, and the mirror is intact
    assert counts(run) == failed(
        "GoPOS answered 503 after 5 attempts: Service Unavailable",
    )
    assert run["finishedAt"] is not None
    assert (await SyncRun.get(id=UUID(run["id"]))).attempts == 1
    assert (await integration(shop.api, "GOPOS"))["posGroups"] == mirror
    assert await sync_version(shop.location_id) == version
    assert (await connections(shop.api))["staly-klient"][0]["status"] == "LINKED"


async def test_a_malformed_response_fails_the_run_and_keeps_the_mirror(shop: Shop) -> None:
    mirror, version = await _synced_mirror(shop)

    # when GoPOS answers its discounts with something that is not JSON
    shop.gopos.respond_next(
        200, "<html>maintenance</html>", media_type="text/html", path_prefix="/api/v3/1001/disc"
    )
    run = await synchronized(shop, "GOPOS")

    assert counts(run) == failed(
        "GoPOS sent a malformed response: the body is not JSON: <html>maintenance</html> "
        "(GET /api/v3/1001/discounts?page=0&size=100)",
    )
    assert (await integration(shop.api, "GOPOS"))["posGroups"] == mirror
    assert await sync_version(shop.location_id) == version


async def test_data_that_would_price_wrong_fails_the_run_and_keeps_the_mirror(
    shop: Shop,
) -> None:
    mirror, version = await _synced_mirror(shop)

    # when a group's daily limit comes in another currency, and a new group is added
    shop.gopos.groups[0]["daily_discount_limit"] = {"amount": "50.00", "currency": "EUR"}
    shop.gopos.groups.append(
        {
            "id": 40,
            "name": "Nowa",
            "reference": "nowa",
            "daily_discount_limit": None,
            "discount_ids": [],
        }
    )
    run = await synchronized(shop, "GOPOS")

    # then nothing of the snapshot is mirrored
    assert counts(run) == failed(
        "The GoPOS data was not synchronised (1 problem): GoPOS group 17 „Stały klient”: "
        "daily discount limit is in EUR, the location uses PLN.",
    )
    assert (await integration(shop.api, "GOPOS"))["posGroups"] == mirror
    assert await sync_version(shop.location_id) == version


GROUPS_PAGE = "(GET /api/v3/1001/clients/groups?page=0&size=100)"
DISCOUNTS_PAGE = "(GET /api/v3/1001/discounts?page=0&size=100)"
PROMOTIONS_PAGE = "(GET /api/v1/stores/s1/promotions?page=1&per_page=100)"


@pytest.mark.parametrize(
    ("channel", "corrupt", "error"),
    [
        (
            "GOPOS",
            lambda shop: shop.gopos.groups[0].update(name="Stały\x00klient"),
            "data[0].name (group 17): expected text without control characters, found U+0000 "
            + GROUPS_PAGE,
        ),
        (
            "GOPOS",
            lambda shop: shop.gopos.groups[1].update(reference="r" * 501),
            "data[1].reference (group 21): expected at most 500 characters, not 501 " + GROUPS_PAGE,
        ),
        (
            "GOPOS",
            lambda shop: shop.gopos.discounts[1].update(id="8" * 201),
            "data[1].id: expected at most 200 characters, not 201 " + DISCOUNTS_PAGE,
        ),
        (
            "GOORDER",
            lambda shop: shop.goorder.promotions[1].update(name="Weekend\x1b[2J"),
            "items[1].name (promotion pr_90): expected text without control characters, "
            "found U+001B " + PROMOTIONS_PAGE,
        ),
        (
            "GOORDER",
            lambda shop: shop.goorder.promotions[0].update(reference="staly-klient\u202e"),
            "items[0].reference (promotion pr_81): expected text without control characters, "
            "found U+202E " + PROMOTIONS_PAGE,
        ),
    ],
)
async def test_upstream_text_the_mirror_cannot_store_fails_the_run_at_once(
    shop: Shop,
    caplog: pytest.LogCaptureFixture,
    channel: str,
    corrupt: Callable[[Shop], None],
    error: str,
) -> None:
    # given the channel synchronised once
    await create_group(shop.api, "Stały klient")
    await configured(shop.api, channel)
    assert (await synchronized(shop, channel))["status"] == "SUCCEEDED"
    mirror = await mirror_rows(shop.location_id)
    version = await sync_version(shop.location_id)

    # when the upstream sends a text with a control character, or longer than its column
    corrupt(shop)
    run = await synchronized(shop, channel)

    # then the run failed at once, naming the upstream, the object and the field, and nothing
    # was written
    upstream = "GoPOS" if channel == "GOPOS" else "GoOrder"
    assert counts(run) == failed(f"{upstream} sent a malformed response: {error}")
    assert (await SyncRun.get(id=UUID(run["id"]))).attempts == 1
    assert await mirror_rows(shop.location_id) == mirror
    assert await sync_version(shop.location_id) == version
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []


@pytest.mark.parametrize("channel", ["GOPOS", "GOORDER"])
async def test_an_answer_over_the_size_cap_fails_the_run_at_once_and_keeps_the_mirror(
    shop: Shop, caplog: pytest.LogCaptureFixture, channel: str
) -> None:
    # given the channel synchronised once
    await create_group(shop.api, "Stały klient")
    await configured(shop.api, channel)
    assert (await synchronized(shop, channel))["status"] == "SUCCEEDED"
    mirror = await mirror_rows(shop.location_id)
    version = await sync_version(shop.location_id)

    # when the upstream answers a list with one byte more than 8 MiB
    simulator = shop.gopos if channel == "GOPOS" else shop.goorder
    simulator.respond_next(200, " " * (8 * 1024 * 1024 + 1), path_prefix="/api/")
    run = await synchronized(shop, channel)

    # then the run failed at once, saying so, and the mirror is as it was
    upstream = "GoPOS" if channel == "GOPOS" else "GoOrder"
    assert counts(run) == failed(f"{upstream} answered more than 8 MiB")
    assert (await SyncRun.get(id=UUID(run["id"]))).attempts == 1
    assert await mirror_rows(shop.location_id) == mirror
    assert await sync_version(shop.location_id) == version
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []


async def test_a_body_with_control_characters_is_quoted_as_a_printable_excerpt(
    shop: Shop,
) -> None:
    mirror, version = await _synced_mirror(shop)

    # when GoPOS answers its groups with a long body that is not JSON, holding NUL and ESC
    body = "\x00\x1b[2J<html>" + "maintenance " * 1_000 + "</html>"
    shop.gopos.respond_next(200, body, media_type="text/html", path_prefix="/api/v3/1001/clients")
    run = await synchronized(shop, "GOPOS")

    # then the run failed with an excerpt of 200 characters, NUL and ESC replaced, and stored
    excerpt = ("\ufffd\ufffd[2J<html>" + "maintenance " * 20)[:199] + "…"
    assert counts(run) == failed(
        f"GoPOS sent a malformed response: the body is not JSON: {excerpt} {GROUPS_PAGE}"
    )
    assert (await integration(shop.api, "GOPOS"))["posGroups"] == mirror
    assert await sync_version(shop.location_id) == version


ODD_SECRET = 'Zq9+SEKRET/ä "x"'


async def test_a_secret_echoed_back_url_encoded_or_json_escaped_is_never_shown_or_logged(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await configured(shop.api, "GOPOS", clientSecret=ODD_SECRET)

    # when GoPOS refuses the token request and echoes it, as sent and as JSON
    form = urlencode(
        {
            "grant_type": "organization",
            "client_id": "demo",
            "client_secret": ODD_SECRET,
            "organization_id": "1001",
        }
    )
    echoed = json.dumps({"client_secret": ODD_SECRET}).replace("/", "\\/")
    shop.gopos.respond_next(401, f"invalid_client {form} {echoed}", path_prefix="/oauth/")
    run = await synchronized(shop, "GOPOS")

    # then the run's error, as the console shows it, and every log line hold no spelling of it
    assert counts(run) == failed(
        "GoPOS rejected the credentials (401): invalid_client grant_type=organization"
        '&client_id=demo&client_secret=[redacted]&organization_id=1001 {"client_secret":'
        ' "[redacted]"}'
    )
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert "invalid_client" in logged
    for text in (run["error"], logged):
        assert "SEKRET" not in text


async def test_rejected_credentials_fail_the_run_at_once(shop: Shop) -> None:
    await configured(shop.api, "GOPOS", clientSecret="not-the-secret")

    run = await synchronized(shop, "GOPOS")

    assert counts(run) == failed(
        'GoPOS rejected the credentials (401): {"error":"invalid_client"}',
    )
    assert shop.gopos.token_requests == 1


async def test_a_secret_sealed_with_another_key_fails_the_run(shop: Shop) -> None:
    await configured(shop.api, "GOPOS")
    sealed_elsewhere = SecretBox(new_key()).seal(GOPOS_SECRET)
    await Integration.filter(location_id=shop.location_id).update(sealed_secret=sealed_elsewhere)

    run = await synchronized(shop, "GOPOS")

    assert run["status"] == "FAILED"
    assert run["error"] == (
        "The stored GoPOS credentials cannot be opened with the server's secret key; save them "
        "again."
    )
    assert shop.gopos.requests == 0


async def test_a_run_lost_from_the_queue_is_resumed_and_completes(
    open_shop: ShopFactory,
) -> None:
    # given a run queued through a queue that lost the job
    recorder = Recorder()
    shop = await open_shop(dispatcher=recorder)
    await create_group(shop.api, "Stały klient")
    await configured(shop.api, "GOPOS")
    payload = await shop.api.mutate(SYNCHRONIZE, {"channel": "GOPOS"})
    run_id = payload["syncRun"]["id"]
    assert len(recorder.jobs) == 1
    assert (await shop.api.data(GET_SYNC_RUN, {"id": run_id}))["syncRun"]["status"] == "QUEUED"

    # when the periodic check runs once the run has been silent past the threshold
    later_time = shop.clock() + shop.runtime.jobs.stale_after + timedelta(seconds=1)
    runner = InProcessDispatcher()
    later = with_dispatcher(replace(shop.runtime, clock=lambda: later_time), runner)
    silent = await SyncRun.filter(status__in=UNFINISHED).count()
    resumed = await resume_silent(SYNC_RUNS, later)
    await runner.drain()
    await runner.close()

    # then it was queued again and ran to the end
    assert resumed == silent
    assert recorder.jobs == [("run_sync", (run_id,), f"sync-run:{run_id}:0")]
    run = (await shop.api.data(GET_SYNC_RUN, {"id": run_id}))["syncRun"]
    assert counts(run) == ("SUCCEEDED", 2, 1, 1, 4, None)
    assert (await connections(shop.api))["staly-klient"][0]["status"] == "LINKED"


async def test_the_periodic_sync_queues_each_configured_channel_once_per_interval(
    shop: Shop,
) -> None:
    # given both channels configured (the check syncs every location's integrations: other
    # tests' ones are dropped), and a runtime that syncs every hour
    await Integration.exclude(location_id=shop.location_id).delete()
    await configured(shop.api, "GOPOS")
    await configured(shop.api, "GOORDER")
    hourly = replace(shop.runtime, sync_interval_seconds=3600)
    shop.clock.now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)

    # when the periodic check runs, again at once, and again after the interval
    first = await queue_periodic_syncs(hourly)
    await shop.drain()
    again = await queue_periodic_syncs(hourly)
    shop.clock.now += timedelta(hours=1, seconds=1)
    later = await queue_periodic_syncs(hourly)
    await shop.drain()

    # then each channel was synchronised once per interval, for this location
    runs = await SyncRun.filter(location_id=shop.location_id).values_list("channel", "status")
    assert (first, again, later) == (2, 0, 2)
    assert sorted(runs) == [
        ("GOORDER", "SUCCEEDED"),
        ("GOORDER", "SUCCEEDED"),
        ("GOPOS", "SUCCEEDED"),
        ("GOPOS", "SUCCEEDED"),
    ]


async def test_the_periodic_sync_is_off_unless_an_interval_is_set(shop: Shop) -> None:
    await Integration.exclude(location_id=shop.location_id).delete()
    await configured(shop.api, "GOPOS")

    assert shop.runtime.sync_interval_seconds is None
    assert await queue_periodic_syncs(shop.runtime) == 0
    assert await SyncRun.filter(location_id=shop.location_id).count() == 0
