"""Webhook endpoints through the API (ADMIN): created with the secret shown once and sealed at
rest, checked, bounded per location, updated, deleted; the Standard Webhooks signature against
the specification's published example. On both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from standardwebhooks import Webhook

from adapters.webhooks import new_secret, signature
from models.tables.webhooks import WebhookEndpoint
from services.runtime import Runtime
from tests.helpers import Api
from tests.webhook_helpers import (
    CREATE_ENDPOINT_IDS,
    DELETE_ENDPOINT,
    ENDPOINTS,
    HOOK_URL,
    UPDATE_ENDPOINT,
    create_endpoint,
    hook_url,
)


def test_the_signature_is_the_specifications_published_example() -> None:
    # given the example of the Standard Webhooks specification
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    at = datetime.fromtimestamp(1614265330, UTC)

    # when the message is signed
    signed = signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", at, '{"test": 2432232314}')

    # then the signature is the published one
    assert signed == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_new_secret_is_whsec_and_24_random_bytes() -> None:
    first, second = new_secret(), new_secret()

    assert first.startswith("whsec_")
    assert len(first) == 6 + 32
    assert first != second
    assert Webhook(first).sign("msg_1", datetime.now(UTC), "{}").startswith("v1,")


async def test_an_endpoint_shows_its_secret_once_and_keeps_it_sealed(
    api: Api, runtime: Runtime
) -> None:
    # when an endpoint is created
    endpoint, secret = await create_endpoint(
        api, events=["WALLET_CHANGED", "SYNC_FINISHED", "WALLET_CHANGED"]
    )

    # then it is listed, without its secret, with the days before expiry by default
    assert secret.startswith("whsec_")
    assert endpoint["url"] == hook_url(api)
    assert endpoint["events"] == ["WALLET_CHANGED", "SYNC_FINISHED"]
    assert (endpoint["enabled"], endpoint["disabledReason"]) == (True, None)
    assert endpoint["expiringDaysBefore"] == 7
    assert (await api.data(ENDPOINTS))["webhookEndpoints"] == [endpoint]
    # and the stored secret is sealed, and opens to the secret shown
    row = await WebhookEndpoint.get(id=endpoint["id"])
    assert secret not in row.sealed_secret
    assert runtime.secrets.box().open(row.sealed_secret) == secret


async def test_an_endpoints_input_is_checked(api: Api) -> None:
    cases = [
        ({"url": "", "events": ["WALLET_CHANGED"]}, "input.url", "webhook.url_empty"),
        (
            {"url": "ftp://x.example.com", "events": ["WALLET_CHANGED"]},
            "input.url",
            "webhook.url_scheme",
        ),
        (
            {"url": "https://u:p@x.example.com", "events": ["WALLET_CHANGED"]},
            "input.url",
            "webhook.url_user",
        ),
        (
            {"url": "https://x.example.com/a b", "events": ["WALLET_CHANGED"]},
            "input.url",
            "webhook.url_invalid",
        ),
        (
            {"url": "https://x.example.com/" + "a" * 2000, "events": ["WALLET_CHANGED"]},
            "input.url",
            "webhook.url_too_long",
        ),
        ({"url": HOOK_URL, "events": []}, "input.events", "webhook.events_empty"),
        ({"url": HOOK_URL}, "input.events", "webhook.events_empty"),
        (
            {"url": HOOK_URL, "events": ["SYNC_FINISHED"], "expiringDaysBefore": 0},
            "input.expiringDaysBefore",
            "webhook.expiring_days_range",
        ),
        (
            {"url": HOOK_URL, "events": ["SYNC_FINISHED"], "expiringDaysBefore": 91},
            "input.expiringDaysBefore",
            "webhook.expiring_days_range",
        ),
    ]
    for values, field, message_id in cases:
        payload = await api.mutate(CREATE_ENDPOINT_IDS, {"input": values})
        assert payload["endpoint"] is None
        assert payload["secret"] is None
        assert [(e["field"], e["messageId"]) for e in payload["errors"]] == [(field, message_id)]
    assert (await api.data(ENDPOINTS))["webhookEndpoints"] == []


async def test_a_private_address_is_refused_like_an_upstreams(api: Api, runtime: Runtime) -> None:
    # given the production egress rules: public addresses only
    runtime.webhooks.allowed = ()

    for url, address in [
        ("http://127.0.0.1:8080/hook", "127.0.0.1"),
        ("http://10.1.2.3/hook", "10.1.2.3"),
        ("http://[::ffff:169.254.169.254]/latest", "169.254.169.254"),
        ("http://localhost/hook", "localhost"),
    ]:
        payload = await api.mutate(
            CREATE_ENDPOINT_IDS, {"input": {"url": url, "events": ["WALLET_CHANGED"]}}
        )
        assert [(e["field"], e["messageId"]) for e in payload["errors"]] == [
            ("input.url", "webhook.url_private")
        ], url
        assert address in payload["errors"][0]["message"]
    # and a public one is taken
    await create_endpoint(api, url="https://93.184.215.14/hook")


async def test_a_location_has_at_most_ten_endpoints(api: Api, other: Api) -> None:
    for n in range(10):
        await create_endpoint(api, url=f"{HOOK_URL}/{n}")

    payload = await api.mutate(
        CREATE_ENDPOINT_IDS, {"input": {"url": HOOK_URL, "events": ["WALLET_CHANGED"]}}
    )

    assert [e["messageId"] for e in payload["errors"]] == ["webhook.too_many"]
    assert len((await api.data(ENDPOINTS))["webhookEndpoints"]) == 10
    # another location has its own ten
    await create_endpoint(other)


async def test_an_endpoint_is_updated_and_deleted_within_its_location(api: Api, other: Api) -> None:
    endpoint, _ = await create_endpoint(api)

    # when another location tries, nothing is found
    stranger = await other.mutate(UPDATE_ENDPOINT, {"id": endpoint["id"], "input": {}})
    assert [e["code"] for e in stranger["errors"]] == ["NOT_FOUND"]
    gone = await other.mutate(DELETE_ENDPOINT, {"id": endpoint["id"]})
    assert [e["code"] for e in gone["errors"]] == ["NOT_FOUND"]

    # when its own location updates it, what is sent changes and the rest stays
    payload = await api.mutate(
        UPDATE_ENDPOINT,
        {
            "id": endpoint["id"],
            "input": {"events": ["CHECKOUT_COMMITTED"], "enabled": False, "expiringDaysBefore": 3},
        },
    )
    assert payload["errors"] == []
    assert payload["secret"] is None
    assert payload["endpoint"] == {
        **endpoint,
        "events": ["CHECKOUT_COMMITTED"],
        "enabled": False,
        "expiringDaysBefore": 3,
    }

    # and deleting it removes it
    deleted = await api.mutate(DELETE_ENDPOINT, {"id": endpoint["id"]})
    assert deleted == {"deletedId": endpoint["id"], "errors": []}
    assert (await api.data(ENDPOINTS))["webhookEndpoints"] == []
    again = await api.mutate(DELETE_ENDPOINT, {"id": endpoint["id"]})
    assert [e["code"] for e in again["errors"]] == ["NOT_FOUND"]


async def test_each_location_lists_its_own_endpoints(api: Api, other: Api) -> None:
    mine, _ = await create_endpoint(api, url=f"{HOOK_URL}/a")
    theirs, _ = await create_endpoint(other, url=f"{HOOK_URL}/b")

    assert (await api.data(ENDPOINTS))["webhookEndpoints"] == [mine]
    assert (await other.data(ENDPOINTS))["webhookEndpoints"] == [theirs]


async def test_a_url_has_one_endpoint_in_a_location_so_a_repeated_create_makes_one(
    api: Api, other: Api
) -> None:
    first, _ = await create_endpoint(api)
    second, _ = await create_endpoint(api, url=f"{HOOK_URL}/second")

    # when the same create is sent again, or another endpoint takes its URL
    again = await api.mutate(
        CREATE_ENDPOINT_IDS, {"input": {"url": first["url"], "events": ["SYNC_FINISHED"]}}
    )
    taken = await api.mutate(UPDATE_ENDPOINT, {"id": second["id"], "input": {"url": first["url"]}})

    # then both are refused, and nothing changed
    assert [(e["code"], e["field"], e["messageId"]) for e in again["errors"]] == [
        ("DUPLICATE", "input.url", "webhook.url_taken")
    ]
    assert [(e["code"], e["field"]) for e in taken["errors"]] == [("DUPLICATE", "input.url")]
    assert (await api.data(ENDPOINTS))["webhookEndpoints"] == [first, second]
    # another location may use the URL
    await create_endpoint(other, url=first["url"])


async def test_two_creates_of_one_url_at_once_make_one_endpoint(
    postgres_only: None, api: Api
) -> None:
    variables = {"input": {"url": HOOK_URL, "events": ["WALLET_CHANGED"]}}

    answers = await asyncio.gather(*(api.mutate(CREATE_ENDPOINT_IDS, variables) for _ in range(4)))

    assert sorted(len(a["errors"]) for a in answers) == [0, 1, 1, 1]
    assert {e["messageId"] for a in answers for e in a["errors"]} == {"webhook.url_taken"}
    assert len((await api.data(ENDPOINTS))["webhookEndpoints"]) == 1
