"""Roles and API keys: what a POS key may do, revocation, and how keys are created and stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from graphql import GraphQLObjectType, Undefined, get_named_type, is_non_null_type

from domain.access import Role
from gateway.schema.root import build_schema
from models.tables.crm import ApiKey
from models.tables.integrations import SyncRun
from services import webhooks
from services.runtime import Runtime
from tests.builders import (
    ADD_TO_GROUP,
    CREATE_API_KEY,
    DELETE_CUSTOMER,
    DELETE_GROUP,
    DELETE_SCHEDULE,
    FAR_FUTURE,
    GET_CUSTOMER,
    GET_GROUP,
    GET_OPERATION,
    IMPORT_CUSTOMERS,
    LIST_CUSTOMERS,
    LIST_GROUPS,
    LIST_SCHEDULES,
    PAUSE_SCHEDULE,
    REMOVE_FROM_GROUP,
    RESUME_SCHEDULE,
    REVOKE_API_KEY,
    SET_CREDITS,
    UPDATE_CUSTOMER,
    UPDATE_GROUP,
    UPDATE_LOCATION_SETTINGS,
    UPDATE_SCHEDULE,
    VIEWER,
    api_keys,
    give_credits,
    monthly_schedule,
    root_fields,
    snapshot,
)
from tests.english import checked
from tests.helpers import CREATE_CUSTOMER, CREATE_GROUP, Api, create_customer, create_group
from tests.test_backoffice_api import (
    LIST_API_KEYS,
    LIST_OPERATIONS,
    PREVIEW_CREDITS,
    REFERENCE_FOR,
)
from tests.test_sync_api import CONFIGURE, GET_INTEGRATION, GET_SYNC_RUN, SYNCHRONIZE
from tests.webhook_helpers import (
    CREATE_ENDPOINT,
    DELETE_ENDPOINT,
    DELIVERIES,
    ENDPOINTS,
    HOOK_URL,
    REPLAY,
    UPDATE_ENDPOINT,
    create_endpoint,
    deliveries,
)

FORBIDDEN_ERROR = {
    "code": "FORBIDDEN",
    "field": None,
    "message": "This API key's role may not do this.",
}


@dataclass
class Shop:
    admin: Api
    pos: Api
    admin_key: str
    pos_key: str
    customer: dict[str, Any]
    group: str
    empty_group: str
    operation: str
    schedule: str
    sync_run: str
    webhook_endpoint: str
    webhook_delivery: str


@pytest.fixture
async def shop(api: Api, runtime: Runtime) -> Shop:
    group = await create_group(api, "Stały klient")
    endpoint, _ = await create_endpoint(api)
    empty_group = await create_group(api, "Nowi")
    customer = await create_customer(
        api,
        firstName="Jan",
        lastName="Nowak",
        email="jan@example.com",
        phone="+48 600 100 200",
        note="Lubi ciszę.",
        cards=[{"code": "CARD-7", "number": "7"}, {"code": "CARD-8", "number": "8"}],
        groupIds=[group["id"]],
    )
    operation = await give_credits(api, [customer["id"]], "15.00")
    await webhooks.pump(runtime)
    (delivery,) = await deliveries(api, endpoint["id"])
    schedule = await monthly_schedule(api, [group["id"]], "50.00")
    paused = await api.mutate(PAUSE_SCHEDULE, {"id": schedule["id"]})
    assert paused["errors"] == []
    pos = await api.key_with_role(Role.POS, "till 1")
    admin_key = (await api.data(VIEWER))["viewer"]["apiKey"]["id"]
    pos_key = (await pos.data(VIEWER))["viewer"]["apiKey"]["id"]
    sync_run = await SyncRun.create(
        location_id=UUID(api.location_id), channel="GOPOS", status="SUCCEEDED"
    )
    return Shop(
        api,
        pos,
        admin_key,
        pos_key,
        customer,
        group["id"],
        empty_group["id"],
        operation["id"],
        schedule["id"],
        str(sync_run.id),
        endpoint["id"],
        delivery["id"],
    )


# ------------------------------------------------------------------ what a POS key may read

POS_QUERIES = {"viewer", "customer", "checkoutQuote", "checkout", "checkouts"}
POS_MUTATIONS = {"commitCheckout", "refundCheckout"}

CHECKOUT_FIELDS = "id status total { amount } creditsUsed { amount } customer { id }"
QUOTE = """
query($input: CheckoutInput!) {
  checkoutQuote(input: $input) {
    total { amount } credits { applied { amount } } customer { id } messages
  }
}"""
COMMIT = f"""
mutation($input: CheckoutInput!, $key: String!) {{
  commitCheckout(input: $input, idempotencyKey: $key) {{
    checkout {{ {CHECKOUT_FIELDS} }} quote {{ total {{ amount }} }} errors {{ code field }}
  }}
}}"""
REFUND = f"""
mutation($id: ID!, $key: String!) {{
  refundCheckout(id: $id, idempotencyKey: $key) {{
    checkout {{ {CHECKOUT_FIELDS} }} errors {{ code field }}
  }}
}}"""
GET_CHECKOUT = f"""
query($id: ID!) {{ checkout(id: $id) {{ {CHECKOUT_FIELDS} }} }}"""
LIST_CHECKOUTS = f"""
query {{ checkouts {{ totalCount edges {{ node {{ {CHECKOUT_FIELDS} }} }} }} }}"""


async def test_pos_key_reads_viewer(shop: Shop) -> None:
    viewer = (await shop.pos.data(VIEWER))["viewer"]

    assert viewer["location"] == {
        "id": shop.admin.location_id,
        "name": "Bistro Test",
        "currency": "PLN",
        "timezone": "Europe/Warsaw",
    }
    assert viewer["apiKey"] == {
        "id": shop.pos_key,
        "name": "till 1",
        "role": "POS",
        "revokedAt": None,
    }


@pytest.mark.parametrize("by", ["id", "cardCode"])
async def test_pos_key_reads_a_customer_as_a_till_shows_it(shop: Shop, by: str) -> None:
    # given the customer as the ADMIN key sees it
    whole = (await shop.admin.data(GET_CUSTOMER, {"id": shop.customer["id"]}))["customer"]
    variables = {"id": shop.customer["id"]} if by == "id" else {"cardCode": "CARD-7"}

    # when the POS key reads it
    seen = (await shop.pos.data(GET_CUSTOMER, variables))["customer"]

    # then it gets names, groups and balance, and only the card it was looked up by
    scanned = [{"code": "CARD-7", "number": "7", "expiresOn": None}] if by == "cardCode" else []
    assert seen == {**whole, "email": None, "phone": None, "note": None, "cards": scanned}
    assert (whole["email"], whole["note"]) == ("jan@example.com", "Lubi ciszę.")
    assert len(whole["cards"]) == 2
    assert [g["id"] for g in seen["groups"]] == [shop.group]
    assert seen["wallet"]["balance"] == {"amount": "15.00", "currency": "PLN"}


PREVIEW_UNDO = """query($id: ID!) {
  previewUndoWalletOperation(id: $id) { restoredCount partlyRestoredCount amount { amount } }
}"""
UNDO_OPERATION = """mutation($id: ID!, $key: String!) {
  undoWalletOperation(id: $id, idempotencyKey: $key) {
    operation { id } errors { code field message }
  }
}"""


@dataclass(frozen=True)
class ForbiddenQuery:
    field: str
    document: str
    variables: Callable[[Shop], dict[str, Any]]
    data: dict[str, Any] | None  # null propagates to `data` for a non-null field


EXPIRING_CREDITS = """
query { expiringCredits(before: "2099-01-01") { totalCount total { amount } } }"""

FORBIDDEN_QUERIES = [
    ForbiddenQuery("customers", LIST_CUSTOMERS, lambda s: {}, None),
    ForbiddenQuery(
        "customers", LIST_CUSTOMERS, lambda s: {"filter": {"ids": [s.customer["id"]]}}, None
    ),
    ForbiddenQuery("customerGroup", GET_GROUP, lambda s: {"id": s.group}, {"customerGroup": None}),
    ForbiddenQuery("customerGroups", LIST_GROUPS, lambda s: {}, None),
    ForbiddenQuery(
        "walletOperation", GET_OPERATION, lambda s: {"id": s.operation}, {"walletOperation": None}
    ),
    ForbiddenQuery("creditSchedules", LIST_SCHEDULES, lambda s: {}, None),
    ForbiddenQuery("integration", GET_INTEGRATION, lambda s: {"channel": "GOPOS"}, None),
    ForbiddenQuery("syncRun", GET_SYNC_RUN, lambda s: {"id": s.sync_run}, {"syncRun": None}),
    ForbiddenQuery("walletOperations", LIST_OPERATIONS, lambda s: {}, None),
    ForbiddenQuery("expiringCredits", EXPIRING_CREDITS, lambda s: {}, None),
    ForbiddenQuery("expiryRuns", "{ expiryRuns { day status } }", lambda s: {}, None),
    ForbiddenQuery(
        "previewPromotionalCredits",
        PREVIEW_CREDITS,
        lambda s: {
            "input": {
                "target": {"customerIds": [s.customer["id"]]},
                "operation": "ADD",
                "amount": "1.00",
            }
        },
        None,
    ),
    ForbiddenQuery("apiKeys", LIST_API_KEYS, lambda s: {}, None),
    ForbiddenQuery("previewUndoWalletOperation", PREVIEW_UNDO, lambda s: {"id": s.operation}, None),
    ForbiddenQuery("referenceFor", REFERENCE_FOR, lambda s: {"name": "Stały klient"}, None),
    ForbiddenQuery(
        "liabilityReport", "{ liabilityReport { outstanding { amount } } }", lambda s: {}, None
    ),
    ForbiddenQuery(
        "activityReport",
        '{ activityReport(from: "2026-03-01", to: "2026-03-02") { redeemed { amount } } }',
        lambda s: {},
        None,
    ),
    ForbiddenQuery(
        "discountCostReport",
        '{ discountCostReport(from: "2026-03-01", to: "2026-03-02") { sales } }',
        lambda s: {},
        None,
    ),
    ForbiddenQuery(
        "topCustomersReport",
        '{ topCustomersReport(from: "2026-03-01", to: "2026-03-02") { sales } }',
        lambda s: {},
        None,
    ),
    ForbiddenQuery("webhookEndpoints", ENDPOINTS, lambda s: {}, None),
    ForbiddenQuery(
        "webhookDeliveries", DELIVERIES, lambda s: {"endpointId": s.webhook_endpoint}, None
    ),
]


@pytest.mark.parametrize(
    "query", FORBIDDEN_QUERIES, ids=[f"{q.field}-{n}" for n, q in enumerate(FORBIDDEN_QUERIES)]
)
async def test_pos_key_may_not_run_other_queries(shop: Shop, query: ForbiddenQuery) -> None:
    body = await shop.pos.raw(query.document, query.variables(shop))

    assert body["data"] == query.data
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["path"] == [query.field]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"] == "This API key's role may not run this query."


async def test_pos_key_quotes_commits_reads_and_refunds_checkouts(shop: Shop) -> None:
    # given a bill for the customer's card (15.00 of credits, no group linked upstream)
    bill = {
        "input": {
            "cardCode": "CARD-7",
            "lines": [{"productId": "tea", "quantity": "1", "unitPrice": "10.00"}],
        }
    }

    # when the POS key quotes it, commits it, reads and lists it, then refunds it
    quoted = (await shop.pos.data(QUOTE, bill))["checkoutQuote"]
    committed = await shop.pos.mutate(COMMIT, {**bill, "key": "sale-1"})
    sale = committed["checkout"]
    read = (await shop.pos.data(GET_CHECKOUT, {"id": sale["id"]}))["checkout"]
    listed = (await shop.pos.data(LIST_CHECKOUTS))["checkouts"]
    refunded = await shop.pos.mutate(REFUND, {"id": sale["id"], "key": "refund-1"})

    # then each answers as it would the ADMIN key
    assert quoted == {
        "total": {"amount": "0.00"},
        "credits": {"applied": {"amount": "10.00"}},
        "customer": {"id": shop.customer["id"]},
        "messages": [
            "No group discount: none of the customer's groups is linked to a GoPOS group."
        ],
    }
    assert (committed["errors"], committed["quote"]) == ([], None)
    assert sale == {
        "id": sale["id"],
        "status": "COMMITTED",
        "total": {"amount": "0.00"},
        "creditsUsed": {"amount": "10.00"},
        "customer": {"id": shop.customer["id"]},
    }
    assert read == sale
    assert listed == {"totalCount": 1, "edges": [{"node": sale}]}
    assert refunded == {"checkout": {**sale, "status": "REFUNDED"}, "errors": []}
    assert (await shop.admin.data(GET_CHECKOUT, {"id": sale["id"]}))["checkout"] == {
        **sale,
        "status": "REFUNDED",
    }
    customer = (await shop.admin.data(GET_CUSTOMER, {"id": shop.customer["id"]}))["customer"]
    assert customer["wallet"]["balance"] == {"amount": "15.00", "currency": "PLN"}


# ------------------------------------------------------------------ other mutations are ADMIN only


@dataclass(frozen=True)
class Mutation:
    field: str
    document: str
    variables: Callable[[Shop], dict[str, Any]]


MUTATIONS = [
    Mutation("createCustomer", CREATE_CUSTOMER, lambda s: {"input": {"firstName": "Eve"}}),
    Mutation(
        "updateCustomer",
        UPDATE_CUSTOMER,
        lambda s: {
            "id": s.customer["id"],
            "input": {"firstName": "Eve", "cards": [], "groupIds": []},
        },
    ),
    Mutation("deleteCustomer", DELETE_CUSTOMER, lambda s: {"id": s.customer["id"]}),
    Mutation(
        "importCustomers",
        IMPORT_CUSTOMERS,
        lambda s: {"input": {"csv": "card_code;first_name\r\nTILL-1;Eve\r\n"}},
    ),
    Mutation(
        "addCustomersToGroup",
        ADD_TO_GROUP,
        lambda s: {"groupId": s.empty_group, "target": {"customerIds": [s.customer["id"]]}},
    ),
    Mutation(
        "removeCustomersFromGroup",
        REMOVE_FROM_GROUP,
        lambda s: {"groupId": s.group, "target": {"allCustomers": True}},
    ),
    Mutation("createCustomerGroup", CREATE_GROUP, lambda s: {"input": {"name": "Made at till"}}),
    Mutation(
        "updateCustomerGroup",
        UPDATE_GROUP,
        lambda s: {"id": s.group, "input": {"name": "Renamed", "cashbackPercent": "5"}},
    ),
    Mutation("deleteCustomerGroup", DELETE_GROUP, lambda s: {"id": s.group}),
    Mutation(
        "setPromotionalCredits",
        SET_CREDITS,
        lambda s: {
            "input": {
                "target": {"customerIds": [s.customer["id"]]},
                "operation": "SET",
                "amount": "0.00",
            }
        },
    ),
    Mutation(
        "setPromotionalCredits",
        SET_CREDITS,
        lambda s: {
            "input": {
                "target": {"filter": {"groupIds": [s.group]}},
                "operation": "ADD",
                "amount": "1.00",
                "recurrence": {"unit": "DAY", "startDate": FAR_FUTURE},
            }
        },
    ),
    Mutation("pauseCreditSchedule", PAUSE_SCHEDULE, lambda s: {"id": s.schedule}),
    Mutation(
        "updateCreditSchedule",
        UPDATE_SCHEDULE,
        lambda s: {"id": s.schedule, "input": {"description": "Edited"}},
    ),
    Mutation("resumeCreditSchedule", RESUME_SCHEDULE, lambda s: {"id": s.schedule}),
    Mutation("deleteCreditSchedule", DELETE_SCHEDULE, lambda s: {"id": s.schedule}),
    Mutation(
        "configureIntegration",
        CONFIGURE,
        lambda s: {
            "channel": "GOORDER",
            "input": {"baseUrl": "https://orders.example.com", "apiKey": "k", "storeId": "s1"},
        },
    ),
    Mutation("synchronize", SYNCHRONIZE, lambda s: {"channel": "GOPOS"}),
    Mutation("undoWalletOperation", UNDO_OPERATION, lambda s: {"id": s.operation, "key": "k"}),
    Mutation("createApiKey", CREATE_API_KEY, lambda s: {"name": "escalate", "role": "ADMIN"}),
    Mutation("revokeApiKey", REVOKE_API_KEY, lambda s: {"id": s.admin_key}),
    Mutation(
        "updateLocationSettings",
        UPDATE_LOCATION_SETTINGS,
        lambda s: {"input": {"creditChannels": []}},
    ),
    Mutation(
        "createWebhookEndpoint",
        CREATE_ENDPOINT,
        lambda s: {"input": {"url": HOOK_URL, "events": ["SYNC_FINISHED"]}},
    ),
    Mutation(
        "updateWebhookEndpoint",
        UPDATE_ENDPOINT,
        lambda s: {"id": s.webhook_endpoint, "input": {"url": "https://evil.example.com"}},
    ),
    Mutation("deleteWebhookEndpoint", DELETE_ENDPOINT, lambda s: {"id": s.webhook_endpoint}),
    Mutation("replayWebhookDelivery", REPLAY, lambda s: {"id": s.webhook_delivery}),
]


async def test_every_operation_has_a_role_rule(api: Api) -> None:
    queries, mutations = await root_fields(api)

    assert queries - {"__typename"} == POS_QUERIES | {q.field for q in FORBIDDEN_QUERIES}
    assert mutations == {m.field for m in MUTATIONS} | POS_MUTATIONS


@pytest.mark.parametrize(
    "mutation", MUTATIONS, ids=[f"{m.field}-{n}" for n, m in enumerate(MUTATIONS)]
)
async def test_pos_key_may_not_run_any_mutation(shop: Shop, mutation: Mutation) -> None:
    # given the location as it is
    before = await snapshot(shop.admin)

    # when the POS key runs the mutation
    payload = await shop.pos.mutate(mutation.document, mutation.variables(shop))

    # then the payload carries FORBIDDEN and nothing else
    assert payload.pop("errors") == [FORBIDDEN_ERROR]
    assert set(payload.values()) == {None}
    # and nothing changed; both keys still work
    assert await snapshot(shop.admin) == before
    assert (await shop.admin.data(VIEWER))["viewer"]["apiKey"]["revokedAt"] is None
    assert (await shop.pos.data(VIEWER))["viewer"]["apiKey"]["role"] == "POS"


# ------------------------------------------------------------------ creating and revoking keys


async def test_a_revoked_key_is_refused_on_its_next_request(shop: Shop) -> None:
    # given the POS key works
    assert (await shop.pos.data(VIEWER))["viewer"]["apiKey"]["id"] == shop.pos_key

    # when the ADMIN key revokes it
    payload = await shop.admin.mutate(REVOKE_API_KEY, {"id": shop.pos_key})

    # then the payload shows the revocation, without any secret
    assert payload["errors"] == []
    assert payload["secret"] is None
    assert payload["apiKey"]["id"] == shop.pos_key
    assert payload["apiKey"]["revokedAt"] is not None
    # and the key's next request, POST or GET, is 401
    post = await shop.pos.http.post("/graphql", json={"query": VIEWER}, headers=shop.pos.headers)
    get = await shop.pos.http.get("/graphql", params={"query": VIEWER}, headers=shop.pos.headers)
    for response in (post, get):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {
            "errors": [
                {
                    "message": "A valid API key is required.",
                    "extensions": {"code": "UNAUTHENTICATED"},
                }
            ]
        }
    # and the ADMIN key is unaffected
    assert (await shop.admin.data(VIEWER))["viewer"]["apiKey"]["id"] == shop.admin_key


LAST_ADMIN_KEY = {
    "code": "LAST_ADMIN_KEY",
    "field": "id",
    "message": "This is the location's last ADMIN key: create another before revoking it.",
}


async def test_the_last_admin_key_is_never_revoked(shop: Shop) -> None:
    # when the only ADMIN key revokes itself
    refused = await shop.admin.mutate(REVOKE_API_KEY, {"id": shop.admin_key})

    # then it is refused, and the key still works
    assert refused == {"apiKey": None, "secret": None, "errors": [LAST_ADMIN_KEY]}
    assert (await shop.admin.data(VIEWER))["viewer"]["apiKey"]["revokedAt"] is None

    # given a second ADMIN key: either may then go, the last one still may not
    second = await shop.admin.mutate(CREATE_API_KEY, {"name": "office 2", "role": "ADMIN"})
    other = Api(shop.admin.http, second["secret"], shop.admin.location_id)
    itself = await shop.admin.mutate(REVOKE_API_KEY, {"id": shop.admin_key})
    last = await other.mutate(REVOKE_API_KEY, {"id": second["apiKey"]["id"]})

    assert itself["errors"] == []
    response = await shop.admin.http.post(
        "/graphql", json={"query": VIEWER}, headers=shop.admin.headers
    )
    assert response.status_code == 401
    assert last["errors"] == [LAST_ADMIN_KEY]
    assert (await other.data(VIEWER))["viewer"]["apiKey"]["revokedAt"] is None
    assert (await shop.pos.data(VIEWER))["viewer"]["apiKey"]["revokedAt"] is None


async def test_two_admin_keys_revoking_each_other_at_once_leave_one(
    shop: Shop, postgres_only: None
) -> None:
    for _ in range(5):
        second = await shop.admin.mutate(CREATE_API_KEY, {"name": "office", "role": "ADMIN"})
        other = Api(shop.admin.http, second["secret"], shop.admin.location_id)
        mine = (await shop.admin.data(VIEWER))["viewer"]["apiKey"]["id"]
        keys = [(shop.admin, second["apiKey"]["id"]), (other, mine)]

        answers = await asyncio.gather(
            *(api.mutate(REVOKE_API_KEY, {"id": key_id}) for api, key_id in keys)
        )

        assert sorted(len(a["errors"]) for a in answers) == [0, 1]
        admins = [k for k in await api_keys(shop.admin.location_id) if k["role"] == "ADMIN"]
        assert len([k for k in admins if k["revoked_at"] is None]) == 1
        survivor = other if answers[1]["errors"] == [] else shop.admin
        shop.admin = survivor
        shop.admin_key = (await survivor.data(VIEWER))["viewer"]["apiKey"]["id"]


async def test_revoking_twice_keeps_the_first_revocation_time(shop: Shop) -> None:
    # given a revoked key
    first = await shop.admin.mutate(REVOKE_API_KEY, {"id": shop.pos_key})
    stored = await ApiKey.get(id=UUID(shop.pos_key))

    # when it is revoked again
    second = await shop.admin.mutate(REVOKE_API_KEY, {"id": shop.pos_key})

    # then nothing changes: the same revokedAt, in the payload and in the database
    assert second["errors"] == []
    assert second["apiKey"] == first["apiKey"]
    assert second["apiKey"]["revokedAt"] is not None
    assert (await ApiKey.get(id=UUID(shop.pos_key))).revoked_at == stored.revoked_at


async def test_a_created_key_shows_its_secret_once_and_the_secret_works(shop: Shop) -> None:
    # when the ADMIN key creates a POS key
    payload = await shop.admin.mutate(CREATE_API_KEY, {"name": " kiosk 2 ", "role": "POS"})

    # then the payload has the key and its secret
    assert payload["errors"] == []
    key, secret = payload["apiKey"], payload["secret"]
    assert key["name"] == "kiosk 2"
    assert key["role"] == "POS"
    assert key["revokedAt"] is None
    assert isinstance(secret, str)
    assert len(secret) >= 32
    # and the secret authenticates as that key
    created = Api(shop.admin.http, secret, shop.admin.location_id)
    viewer = (await created.data(VIEWER))["viewer"]
    assert viewer["apiKey"] == {
        "id": key["id"],
        "name": "kiosk 2",
        "role": "POS",
        "revokedAt": None,
    }
    # and what is stored is not the secret
    row = await ApiKey.get(id=UUID(key["id"]))
    assert row.key_hash != secret
    assert secret not in row.key_hash
    assert row.location_id == UUID(shop.admin.location_id)
    # and the secret is never shown again
    revoked = await shop.admin.mutate(REVOKE_API_KEY, {"id": key["id"]})
    assert revoked["secret"] is None


async def test_every_created_key_has_its_own_secret(shop: Shop) -> None:
    first = await shop.admin.mutate(CREATE_API_KEY, {"name": "till 2", "role": "POS"})
    second = await shop.admin.mutate(CREATE_API_KEY, {"name": "till 2", "role": "ADMIN"})

    assert first["secret"] != second["secret"]
    admin = Api(shop.admin.http, second["secret"], shop.admin.location_id)
    assert (await admin.data(VIEWER))["viewer"]["apiKey"]["role"] == "ADMIN"
    assert (await admin.data(LIST_GROUPS))["customerGroups"] != []


async def test_a_key_needs_a_name(shop: Shop) -> None:
    before = await api_keys(shop.admin.location_id)

    payload = await shop.admin.mutate(CREATE_API_KEY, {"name": "   ", "role": "POS"})

    assert payload == {
        "apiKey": None,
        "secret": None,
        "errors": [{"code": "REQUIRED", "field": "name", "message": "Name must not be empty."}],
    }
    assert await api_keys(shop.admin.location_id) == before


# ------------------------------------------------------- every path a till key has to a customer


# Fields the selection leaves out: a schedule's history lies past the depth limit below a
# customer's groups (a till sees no schedules at all).
_NOT_ENTERED = {("CreditSchedule", "runs")}


def _selection(type_: GraphQLObjectType, path: tuple[str, ...] = ()) -> str:
    """Every field of `type_`, and of the objects below it, that takes no required argument;
    an object type already on the path is not entered again."""
    parts = []
    for name, field in type_.fields.items():
        if (type_.name, name) in _NOT_ENTERED:
            continue
        if any(
            is_non_null_type(a.type) and a.default_value is Undefined for a in field.args.values()
        ):
            continue
        named = get_named_type(field.type)
        if isinstance(named, GraphQLObjectType):
            if named.name in path:
                continue
            parts.append(f"{name} {{ {_selection(named, (*path, named.name))} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def _paths_to_customer(
    type_: GraphQLObjectType, path: tuple[str, ...] = (), seen: frozenset[str] = frozenset()
) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, field in type_.fields.items():
        named = get_named_type(field.type)
        if not isinstance(named, GraphQLObjectType) or named.name in seen:
            continue
        if named.name == "Customer":
            found.append((*path, name))
        else:
            found += _paths_to_customer(named, (*path, name), seen | {type_.name})
    return found


SCHEMA = build_schema(production=False)._schema
CUSTOMER_SELECTION = _selection(SCHEMA.type_map["Customer"], ("Customer",))  # type: ignore[arg-type]
CARD_7 = [{"code": "CARD-7", "number": "7", "expiresOn": None}]


@dataclass(frozen=True)
class TillPath:
    """A way for a till key to reach a customer: the document, and the card it scanned."""

    path: tuple[str, ...]
    document: str
    variables: Callable[[Shop, str], dict[str, Any]]
    cards: list[dict[str, Any]]


def _bill(by: str) -> Callable[[Shop, str], dict[str, Any]]:
    def variables(shop: Shop, sale: str) -> dict[str, Any]:
        who = {"cardCode": "CARD-7"} if by == "card" else {"customerId": shop.customer["id"]}
        lines = [{"productId": "tea", "quantity": "1", "unitPrice": "1.00"}]
        return {"input": {**who, "lines": lines}, "key": f"{by}-{sale}", "expected": "99.00"}

    return variables


TILL_PATHS = [
    TillPath(
        ("customer",),
        f"query($id: ID) {{ customer(id: $id) {{ {CUSTOMER_SELECTION} }} }}",
        lambda s, _: {"id": s.customer["id"]},
        [],
    ),
    TillPath(
        ("customer",),
        f"query($code: String) {{ customer(cardCode: $code) {{ {CUSTOMER_SELECTION} }} }}",
        lambda s, _: {"code": "CARD-7"},
        CARD_7,
    ),
    TillPath(
        ("checkoutQuote", "customer"),
        "query($input: CheckoutInput!) { checkoutQuote(input: $input) "
        f"{{ customer {{ {CUSTOMER_SELECTION} }} }} }}",
        lambda s, sale: {"input": _bill("card")(s, sale)["input"]},
        CARD_7,
    ),
    TillPath(
        ("checkoutQuote", "customer"),
        "query($input: CheckoutInput!) { checkoutQuote(input: $input) "
        f"{{ customer {{ {CUSTOMER_SELECTION} }} }} }}",
        lambda s, sale: {"input": _bill("id")(s, sale)["input"]},
        [],
    ),
    TillPath(
        ("checkout", "customer"),
        f"query($id: ID!) {{ checkout(id: $id) {{ customer {{ {CUSTOMER_SELECTION} }} }} }}",
        lambda s, sale: {"id": sale},
        [],
    ),
    TillPath(
        ("checkouts", "edges", "node", "customer"),
        "query { checkouts(first: 1) "
        f"{{ edges {{ node {{ customer {{ {CUSTOMER_SELECTION} }} }} }} }} }}",
        lambda s, sale: {},
        [],
    ),
    TillPath(
        ("commitCheckout", "checkout", "customer"),
        "mutation($input: CheckoutInput!, $key: String!) "
        "{ commitCheckout(input: $input, idempotencyKey: $key) "
        f"{{ checkout {{ customer {{ {CUSTOMER_SELECTION} }} }} }} }}",
        lambda s, sale: {k: v for k, v in _bill("card")(s, sale).items() if k != "expected"},
        [],
    ),
    TillPath(
        ("commitCheckout", "quote", "customer"),
        "mutation($input: CheckoutInput!, $key: String!, $expected: Decimal) "
        "{ commitCheckout(input: $input, idempotencyKey: $key, expectedTotal: $expected) "
        f"{{ quote {{ customer {{ {CUSTOMER_SELECTION} }} }} }} }}",
        _bill("card"),
        CARD_7,
    ),
    TillPath(
        ("refundCheckout", "checkout", "customer"),
        "mutation($id: ID!, $key: String!) { refundCheckout(id: $id, idempotencyKey: $key) "
        f"{{ checkout {{ customer {{ {CUSTOMER_SELECTION} }} }} }} }}",
        lambda s, sale: {"id": sale, "key": f"refund-{sale}"},
        [],
    ),
]


def test_the_sweep_covers_every_path_a_till_key_has_to_a_customer() -> None:
    query, mutation = SCHEMA.query_type, SCHEMA.mutation_type
    assert query is not None
    assert mutation is not None
    reachable = {
        path
        for root, names in ((query, POS_QUERIES), (mutation, POS_MUTATIONS))
        for path in _paths_to_customer(root)
        if path[0] in names
    }

    assert reachable == {p.path for p in TILL_PATHS}


def _customers_in(answer: Any, path: tuple[str, ...]) -> list[dict[str, Any]]:
    if not path:
        return [answer]
    if isinstance(answer, list):
        return [c for item in answer for c in _customers_in(item, path)]
    return _customers_in(answer[path[0]], path[1:])


@pytest.mark.parametrize("till", TILL_PATHS, ids=[".".join(p.path) for p in TILL_PATHS])
async def test_every_path_shows_a_till_key_only_what_a_till_shows(
    shop: Shop, till: TillPath
) -> None:
    # given a sale by the till
    sale = await shop.pos.mutate(COMMIT, {**_bill("card")(shop, "first"), "key": "first"})
    sale_id = sale["checkout"]["id"]

    # when the till key reaches the customer this way
    body = await shop.pos.raw(till.document, till.variables(shop, sale_id))
    # and the ADMIN key reads the customer's whole record
    whole = (
        await shop.admin.data(
            f"query($id: ID) {{ customer(id: $id) {{ {CUSTOMER_SELECTION} }} }}",
            {"id": shop.customer["id"]},
        )
    )["customer"]
    assert whole["wallet"]["entries"]["totalCount"] > 0
    assert len(whole["cards"]) == 2

    # then every customer it sees is the whole record less what a till does not show
    assert "errors" not in body, body
    (seen,) = _customers_in(body["data"], till.path)
    assert seen == {
        **whole,
        "email": None,
        "phone": None,
        "note": None,
        "cards": till.cards,
        # a group's schedules are the back office's
        "groups": [{**g, "schedules": []} for g in whole["groups"]],
        # the lots (what expires when) as the back office sees them, not the ledger
        "wallet": {
            **whole["wallet"],
            "entries": {
                "edges": [],
                "pageInfo": {"hasNextPage": False, "endCursor": None},
                "totalCount": 0,
            },
        },
    }


# ------------------------------------------------------------------ the channels a key sells on

CREATE_KEY_WITH_CHANNELS = """
mutation($name: String!, $role: ApiKeyRole!, $channels: [SalesChannel!]) {
  createApiKey(name: $name, role: $role, channels: $channels) {
    apiKey { role channels } secret errors { code field message }
  }
}"""
QUOTE_CHANNEL = """
query($input: CheckoutInput!) { checkoutQuote(input: $input) { channel total { amount } } }"""


def _sale_on(channel: str) -> dict[str, Any]:
    lines = [{"productId": "tea", "quantity": "1", "unitPrice": "1.00"}]
    return {"input": {"channel": channel, "cardCode": "CARD-7", "lines": lines}}


@pytest.mark.parametrize(
    ("role", "channels", "granted"),
    [
        ("POS", None, ["POS", "KIOSK"]),
        ("POS", ["ONLINE"], ["ONLINE"]),
        ("POS", ["ONLINE", "POS", "ONLINE"], ["POS", "ONLINE"]),
        ("ADMIN", None, ["POS", "KIOSK", "ONLINE"]),
    ],
)
async def test_a_key_gets_the_channels_named_or_its_roles_default(
    shop: Shop, role: str, channels: list[str] | None, granted: list[str]
) -> None:
    payload = await shop.admin.mutate(
        CREATE_KEY_WITH_CHANNELS, {"name": "k", "role": role, "channels": channels}
    )

    assert (payload["errors"], payload["apiKey"]) == ([], {"role": role, "channels": granted})
    listed = (await shop.admin.data("{ apiKeys { name channels } }"))["apiKeys"]
    assert listed[-1] == {"name": "k", "channels": granted}


@pytest.mark.parametrize(
    ("role", "channels", "message"),
    [
        ("POS", [], "Name at least one channel."),
        ("ADMIN", ["POS"], "Channels are given to POS keys only: an ADMIN key has every channel."),
    ],
)
async def test_channels_a_key_cannot_have_are_refused(
    shop: Shop, role: str, channels: list[str], message: str
) -> None:
    before = await api_keys(shop.admin.location_id)

    payload = await shop.admin.mutate(
        CREATE_KEY_WITH_CHANNELS, {"name": "k", "role": role, "channels": channels}
    )

    assert payload == {
        "apiKey": None,
        "secret": None,
        "errors": [{"code": "INVALID", "field": "channels", "message": message}],
    }
    assert await api_keys(shop.admin.location_id) == before


async def test_a_till_key_may_not_quote_or_commit_online(shop: Shop) -> None:
    # given the till's key, made without naming channels: POS and KIOSK
    before = await snapshot(shop.admin)

    # when it quotes and commits for the online store (whose promotion the daily limit of the
    # GoPOS group does not count)
    quoted = await shop.pos.raw(QUOTE_CHANNEL, _sale_on("ONLINE"))
    committed = await shop.pos.mutate(COMMIT, {**_sale_on("ONLINE"), "key": "online-1"})

    # then both are FORBIDDEN and nothing is written
    assert quoted["data"] is None
    assert [(checked(e), e["message"]) for e in quoted["errors"]] == [
        (
            {"code": "FORBIDDEN", "field": "input.channel"},
            "This API key may not sell on the ONLINE channel.",
        )
    ]
    assert committed == {
        "checkout": None,
        "quote": None,
        "errors": [{"code": "FORBIDDEN", "field": "input.channel"}],
    }
    assert await snapshot(shop.admin) == before
    # while the till and its kiosk are its own
    for channel in ("POS", "KIOSK"):
        assert (await shop.pos.data(QUOTE_CHANNEL, _sale_on(channel)))["checkoutQuote"] == {
            "channel": channel,
            "total": {"amount": "0.00"},
        }


async def test_the_online_stores_key_sells_online_only(shop: Shop) -> None:
    created = await shop.admin.mutate(
        CREATE_KEY_WITH_CHANNELS, {"name": "sklep", "role": "POS", "channels": ["ONLINE"]}
    )
    store = Api(shop.admin.http, created["secret"], shop.admin.location_id)

    online = await store.mutate(COMMIT, {**_sale_on("ONLINE"), "key": "web-1"})
    at_the_till = await store.mutate(COMMIT, {**_sale_on("POS"), "key": "web-2"})

    assert online["errors"] == []
    assert at_the_till["errors"] == [{"code": "FORBIDDEN", "field": "input.channel"}]


# ------------------------------------------------------------------ a till lists its own sales


async def test_a_till_key_lists_and_reads_only_its_own_sales_but_refunds_any(shop: Shop) -> None:
    # given a sale at each of two tills
    other = await shop.admin.key_with_role(Role.POS, "till 2")
    mine = (await shop.pos.mutate(COMMIT, {**_sale_on("POS"), "key": "t1"}))["checkout"]
    theirs = (await other.mutate(COMMIT, {**_sale_on("POS"), "key": "t2"}))["checkout"]

    # when the first till lists the sales and reads each by id
    listed = (await shop.pos.data(LIST_CHECKOUTS))["checkouts"]
    read_mine = (await shop.pos.data(GET_CHECKOUT, {"id": mine["id"]}))["checkout"]
    read_theirs = (await shop.pos.data(GET_CHECKOUT, {"id": theirs["id"]}))["checkout"]
    # and refunds the other till's sale, whose receipt came back to it
    refunded = await shop.pos.mutate(REFUND, {"id": theirs["id"], "key": "r2"})

    # then it sees its own sale only, and the refund goes through
    assert [e["node"]["id"] for e in listed["edges"]] == [mine["id"]]
    assert listed["totalCount"] == 1
    assert (read_mine["id"], read_theirs) == (mine["id"], None)
    assert refunded["errors"] == []
    assert refunded["checkout"]["status"] == "REFUNDED"
    # while the ADMIN key sees both
    everything = (await shop.admin.data(LIST_CHECKOUTS))["checkouts"]
    assert {e["node"]["id"] for e in everything["edges"]} == {mine["id"], theirs["id"]}
