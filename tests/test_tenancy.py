"""No query or mutation can read or change another location's data.

The sweep below is a table: one row per way an operation can name something. Location B's ADMIN
key acting on one of location A's ids must get exactly the answer it gets for a random UUID and
for a malformed id, and neither location may change. A new operation is one more row; the
coverage test fails until it has one (or an entry in COVERED_ELSEWHERE).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.secrets import new_key
from domain.access import Role
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
    UPDATE_SCHEDULE,
    VIEWER,
    all_customers,
    give_credits,
    monthly_schedule,
    root_fields,
    snapshot,
)
from tests.helpers import CREATE_CUSTOMER, CREATE_GROUP, Api, create_customer, create_group
from tests.test_backoffice_api import LIST_API_KEYS, LIST_OPERATIONS, PREVIEW_CREDITS
from tests.test_sync_api import CONFIGURE, GET_INTEGRATION, GET_SYNC_RUN, SYNCHRONIZE
from tests.webhook_helpers import (
    DELETE_ENDPOINT,
    DELIVERIES,
    REPLAY,
    UPDATE_ENDPOINT,
    create_endpoint,
    deliveries,
)

MALFORMED = "abc"


@dataclass
class World:
    a: Api
    b: Api
    a_customer: str
    a_card: str
    a_email: str
    a_group: str
    a_reference: str
    a_key: str
    a_operation: str
    a_schedule: str
    a_sync_run: str
    a_checkout: str
    b_customer: str
    b_group: str
    b_schedule: str
    a_webhook_endpoint: str = ""
    a_webhook_delivery: str = ""


@pytest.fixture
async def world(api: Api, other: Api, runtime: Runtime) -> World:
    """Location A (`api`): a grouped, carded customer with credits, a POS key, a credit operation,
    a schedule, a sync run and a checkout of the customer's (no credits used). Location B
    (`other`): its own group holding its own customer, a schedule."""
    a_group = await create_group(api, "Stali goście")
    a_customer = await create_customer(
        api,
        firstName="Anna",
        lastName="Kowalska",
        email="anna.kowalska@example.com",
        phone="+48 600 100 200",
        cards=[{"code": "A-0001", "number": "0001"}],
        groupIds=[a_group["id"]],
    )
    till = await api.key_with_role(Role.POS, "till A")
    a_key = (await till.data(VIEWER))["viewer"]["apiKey"]["id"]
    a_endpoint, _ = await create_endpoint(api)
    a_operation = await give_credits(api, [a_customer["id"]], "25.00")
    await webhooks.pump(runtime)
    (a_delivery,) = await deliveries(api, a_endpoint["id"])
    a_schedule = await monthly_schedule(api, [a_group["id"]], "100.00")
    a_sync_run = await SyncRun.create(
        location_id=uuid.UUID(api.location_id), channel="GOPOS", status="SUCCEEDED"
    )
    a_checkout = await till.mutate(
        COMMIT_CHECKOUT,
        {
            "input": {"customerId": a_customer["id"], "lines": [LINE], "useCredits": False},
            "key": "a-sale-1",
        },
    )
    assert a_checkout["errors"] == [], a_checkout
    b_group = await create_group(other, "Local VIP")
    b_customer = await create_customer(
        other, firstName="Bob", cards=[{"code": "B-0001"}], groupIds=[b_group["id"]]
    )
    b_schedule = await monthly_schedule(other, [b_group["id"]], "10.00")
    return World(
        a=api,
        b=other,
        a_customer=a_customer["id"],
        a_card="A-0001",
        a_email="anna.kowalska@example.com",
        a_group=a_group["id"],
        a_reference=a_group["reference"],
        a_key=a_key,
        a_operation=a_operation["id"],
        a_schedule=a_schedule["id"],
        a_sync_run=str(a_sync_run.id),
        a_checkout=a_checkout["checkout"]["id"],
        b_customer=b_customer["id"],
        b_group=b_group["id"],
        b_schedule=b_schedule["id"],
        a_webhook_endpoint=a_endpoint["id"],
        a_webhook_delivery=a_delivery["id"],
    )


Variables = Callable[[World, str], dict[str, Any]]


@dataclass(frozen=True)
class Op:
    name: str
    field: str
    document: str
    variables: Variables
    foreign: Callable[[World], str]
    expected: Callable[[World], dict[str, Any]]


def _customer(w: World) -> str:
    return w.a_customer


def _group(w: World) -> str:
    return w.a_group


def _card(w: World) -> str:
    return w.a_card


def _email(w: World) -> str:
    return w.a_email


def _key(w: World) -> str:
    return w.a_key


def _operation(w: World) -> str:
    return w.a_operation


def _schedule(w: World) -> str:
    return w.a_schedule


def _sync_run(w: World) -> str:
    return w.a_sync_run


def _checkout(w: World) -> str:
    return w.a_checkout


def _data(field: str, value: Any) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"data": {field: value}}


def _query_error(
    field: str, path: str, message: str, code: str = "NOT_FOUND"
) -> Callable[[World], dict[str, Any]]:
    """A query refused with a GraphQL error (NOT_FOUND unless `code`) at the argument's path."""
    return lambda w: {
        "data": None,
        "errors": [
            {
                "message": message,
                "locations": [{"line": 3, "column": 3}],
                "path": [field],
                "extensions": {
                    "code": code,
                    "field": path,
                    "messageId": {
                        "Customer not found.": "customer.not_found",
                        "Customer group not found.": "group.not_found",
                        OPERATION_NOT_FOUND: "operation.not_found",
                        ENDPOINT_NOT_FOUND: "webhook_endpoint.not_found",
                    }.get(message, "card.not_found"),
                    "params": [],
                },
            }
        ],
    }


def _error(field: str, payload: str, code: str, path: str, message: str) -> Any:
    """A payload with its object null and exactly one user error."""
    return _data(
        field, {payload: None, "errors": [{"code": code, "field": path, "message": message}]}
    )


LINE = {"productId": "tea", "quantity": "1", "unitPrice": "10.00"}

CHECKOUT_QUOTE = """
query($input: CheckoutInput!) {
  checkoutQuote(input: $input) {
    customer { id } total { amount } credits { applied { amount } } messages
  }
}"""

COMMIT_CHECKOUT = """
mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) {
    checkout { id } errors { code field message }
  }
}"""

REFUND_CHECKOUT = """
mutation($id: ID!) {
  refundCheckout(id: $id, idempotencyKey: "refund-1") {
    checkout { id } errors { code field message }
  }
}"""

GET_CHECKOUT = """
query($id: ID!) {
  checkout(id: $id) { id status customer { id } }
}"""

LIST_CHECKOUTS = """
query($filter: CheckoutFilter) {
  checkouts(filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
}"""

EMPTY_CONNECTION = {
    "totalCount": 0,
    "pageInfo": {"hasNextPage": False, "endCursor": None},
    "edges": [],
}
CUSTOMER_NOT_FOUND = "Customer not found."
GROUP_NOT_FOUND = "Customer group not found."

SCHEDULE_NOT_FOUND = "Credit schedule not found."
CHECKOUT_NOT_FOUND = "Checkout not found."
OPERATION_NOT_FOUND = "Wallet operation not found."

PREVIEW_UNDO = """
query($id: ID!) {
  previewUndoWalletOperation(id: $id) { restoredCount partlyRestoredCount amount { amount } }
}"""

UNDO_OPERATION = """
mutation($id: ID!) {
  undoWalletOperation(id: $id, idempotencyKey: "undo-1") {
    operation { id } errors { code field message }
  }
}"""
ENDPOINT_NOT_FOUND = "Webhook endpoint not found."
DELIVERY_NOT_FOUND = "Webhook delivery not found."
CARD_NOT_FOUND = "No customer has this card: scan it again, or look the customer up."


def _credits(target: dict[str, Any], recurring: bool = False) -> dict[str, Any]:
    request: dict[str, Any] = {"target": target, "operation": "ADD", "amount": "10.00"}
    if recurring:
        request["recurrence"] = {"unit": "MONTH", "startDate": FAR_FUTURE}
    return {"input": request}


def _preview_refused(path: str, message: str) -> Callable[[World], dict[str, Any]]:
    return _data(
        "previewPromotionalCredits",
        {"preview": None, "errors": [{"code": "NOT_FOUND", "field": path, "message": message}]},
    )


def _credits_refused(path: str, message: str) -> Callable[[World], dict[str, Any]]:
    return _data(
        "setPromotionalCredits",
        {
            "operation": None,
            "schedule": None,
            "errors": [{"code": "NOT_FOUND", "field": path, "message": message}],
        },
    )


OPERATIONS = [
    Op(
        "customer(id)",
        "customer",
        GET_CUSTOMER,
        lambda w, t: {"id": t},
        _customer,
        _data("customer", None),
    ),
    Op(
        "customer(cardCode)",
        "customer",
        GET_CUSTOMER,
        lambda w, t: {"cardCode": t},
        _card,
        _data("customer", None),
    ),
    Op(
        "customers(filter.ids)",
        "customers",
        LIST_CUSTOMERS,
        lambda w, t: {"filter": {"ids": [t]}},
        _customer,
        _query_error("customers", "filter.ids.0", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "customers(filter.groupIds)",
        "customers",
        LIST_CUSTOMERS,
        lambda w, t: {"filter": {"groupIds": [t]}},
        _group,
        _query_error("customers", "filter.groupIds.0", GROUP_NOT_FOUND),
    ),
    Op(
        "customers(filter.search card code)",
        "customers",
        LIST_CUSTOMERS,
        lambda w, t: {"filter": {"search": t}},
        _card,
        _data("customers", EMPTY_CONNECTION),
    ),
    Op(
        "customers(filter.search email)",
        "customers",
        LIST_CUSTOMERS,
        lambda w, t: {"filter": {"search": t}},
        _email,
        _data("customers", EMPTY_CONNECTION),
    ),
    Op(
        "customerGroup(id)",
        "customerGroup",
        GET_GROUP,
        lambda w, t: {"id": t},
        _group,
        _data("customerGroup", None),
    ),
    Op(
        "createCustomer(groupIds)",
        "createCustomer",
        CREATE_CUSTOMER,
        lambda w, t: {"input": {"firstName": "Eve", "groupIds": [t]}},
        _group,
        _error("createCustomer", "customer", "NOT_FOUND", "input.groupIds.0", GROUP_NOT_FOUND),
    ),
    Op(
        "updateCustomer(id)",
        "updateCustomer",
        UPDATE_CUSTOMER,
        lambda w, t: {"id": t, "input": {"firstName": "Mallory", "cards": []}},
        _customer,
        _error("updateCustomer", "customer", "NOT_FOUND", "id", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "updateCustomer(own, groupIds)",
        "updateCustomer",
        UPDATE_CUSTOMER,
        lambda w, t: {"id": w.b_customer, "input": {"firstName": "Bobby", "groupIds": [t]}},
        _group,
        _error("updateCustomer", "customer", "NOT_FOUND", "input.groupIds.0", GROUP_NOT_FOUND),
    ),
    Op(
        "deleteCustomer(id)",
        "deleteCustomer",
        DELETE_CUSTOMER,
        lambda w, t: {"id": t},
        _customer,
        _error("deleteCustomer", "deletedId", "NOT_FOUND", "id", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "addCustomersToGroup(groupId)",
        "addCustomersToGroup",
        ADD_TO_GROUP,
        lambda w, t: {"groupId": t, "target": {"customerIds": [w.b_customer]}},
        _group,
        _error("addCustomersToGroup", "group", "NOT_FOUND", "groupId", GROUP_NOT_FOUND),
    ),
    Op(
        "addCustomersToGroup(own group, customerIds)",
        "addCustomersToGroup",
        ADD_TO_GROUP,
        lambda w, t: {"groupId": w.b_group, "target": {"customerIds": [t]}},
        _customer,
        _error(
            "addCustomersToGroup",
            "group",
            "NOT_FOUND",
            "target.customerIds.0",
            CUSTOMER_NOT_FOUND,
        ),
    ),
    Op(
        "addCustomersToGroup(own group, filter.groupIds)",
        "addCustomersToGroup",
        ADD_TO_GROUP,
        lambda w, t: {"groupId": w.b_group, "target": {"filter": {"groupIds": [t]}}},
        _group,
        _error(
            "addCustomersToGroup",
            "group",
            "NOT_FOUND",
            "target.filter.groupIds.0",
            GROUP_NOT_FOUND,
        ),
    ),
    Op(
        "addCustomersToGroup(own group, filter.ids)",
        "addCustomersToGroup",
        ADD_TO_GROUP,
        lambda w, t: {"groupId": w.b_group, "target": {"filter": {"ids": [t]}}},
        _customer,
        _error(
            "addCustomersToGroup", "group", "NOT_FOUND", "target.filter.ids.0", CUSTOMER_NOT_FOUND
        ),
    ),
    Op(
        "removeCustomersFromGroup(groupId)",
        "removeCustomersFromGroup",
        REMOVE_FROM_GROUP,
        lambda w, t: {"groupId": t, "target": {"customerIds": [w.b_customer]}},
        _group,
        _error("removeCustomersFromGroup", "group", "NOT_FOUND", "groupId", GROUP_NOT_FOUND),
    ),
    Op(
        "removeCustomersFromGroup(own group, customerIds)",
        "removeCustomersFromGroup",
        REMOVE_FROM_GROUP,
        lambda w, t: {"groupId": w.b_group, "target": {"customerIds": [t]}},
        _customer,
        _error(
            "removeCustomersFromGroup",
            "group",
            "NOT_FOUND",
            "target.customerIds.0",
            CUSTOMER_NOT_FOUND,
        ),
    ),
    Op(
        "removeCustomersFromGroup(own group, filter.groupIds)",
        "removeCustomersFromGroup",
        REMOVE_FROM_GROUP,
        lambda w, t: {"groupId": w.b_group, "target": {"filter": {"groupIds": [t]}}},
        _group,
        _error(
            "removeCustomersFromGroup",
            "group",
            "NOT_FOUND",
            "target.filter.groupIds.0",
            GROUP_NOT_FOUND,
        ),
    ),
    Op(
        "updateCustomerGroup(id)",
        "updateCustomerGroup",
        UPDATE_GROUP,
        lambda w, t: {"id": t, "input": {"name": "Hijacked", "reference": "hijacked"}},
        _group,
        _error("updateCustomerGroup", "group", "NOT_FOUND", "id", GROUP_NOT_FOUND),
    ),
    Op(
        "deleteCustomerGroup(id)",
        "deleteCustomerGroup",
        DELETE_GROUP,
        lambda w, t: {"id": t},
        _group,
        _error("deleteCustomerGroup", "deletedId", "NOT_FOUND", "id", GROUP_NOT_FOUND),
    ),
    Op(
        "walletOperation(id)",
        "walletOperation",
        GET_OPERATION,
        lambda w, t: {"id": t},
        _operation,
        _data("walletOperation", None),
    ),
    Op(
        "previewUndoWalletOperation(id)",
        "previewUndoWalletOperation",
        PREVIEW_UNDO,
        lambda w, t: {"id": t},
        _operation,
        _query_error("previewUndoWalletOperation", "id", OPERATION_NOT_FOUND),
    ),
    Op(
        "undoWalletOperation(id)",
        "undoWalletOperation",
        UNDO_OPERATION,
        lambda w, t: {"id": t},
        _operation,
        _error("undoWalletOperation", "operation", "NOT_FOUND", "id", OPERATION_NOT_FOUND),
    ),
    Op(
        "setPromotionalCredits(customerIds)",
        "setPromotionalCredits",
        SET_CREDITS,
        lambda w, t: _credits({"customerIds": [w.b_customer, t]}),
        _customer,
        _credits_refused("input.target.customerIds.1", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "setPromotionalCredits(filter.groupIds)",
        "setPromotionalCredits",
        SET_CREDITS,
        lambda w, t: _credits({"filter": {"groupIds": [t]}}),
        _group,
        _credits_refused("input.target.filter.groupIds.0", GROUP_NOT_FOUND),
    ),
    Op(
        "setPromotionalCredits(filter.ids)",
        "setPromotionalCredits",
        SET_CREDITS,
        lambda w, t: _credits({"filter": {"ids": [w.b_customer, t]}}),
        _customer,
        _credits_refused("input.target.filter.ids.1", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "setPromotionalCredits(recurring, customerIds)",
        "setPromotionalCredits",
        SET_CREDITS,
        lambda w, t: _credits({"customerIds": [t]}, recurring=True),
        _customer,
        _credits_refused("input.target.customerIds.0", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "setPromotionalCredits(recurring, filter.groupIds)",
        "setPromotionalCredits",
        SET_CREDITS,
        lambda w, t: _credits({"filter": {"groupIds": [w.b_group, t]}}, recurring=True),
        _group,
        _credits_refused("input.target.filter.groupIds.1", GROUP_NOT_FOUND),
    ),
    Op(
        "previewPromotionalCredits(customerIds)",
        "previewPromotionalCredits",
        PREVIEW_CREDITS,
        lambda w, t: _credits({"customerIds": [w.b_customer, t]}),
        _customer,
        _preview_refused("input.target.customerIds.1", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "previewPromotionalCredits(filter.groupIds)",
        "previewPromotionalCredits",
        PREVIEW_CREDITS,
        lambda w, t: _credits({"filter": {"groupIds": [t]}}),
        _group,
        _preview_refused("input.target.filter.groupIds.0", GROUP_NOT_FOUND),
    ),
    Op(
        "previewPromotionalCredits(filter.ids)",
        "previewPromotionalCredits",
        PREVIEW_CREDITS,
        lambda w, t: _credits({"filter": {"ids": [w.b_customer, t]}}),
        _customer,
        _preview_refused("input.target.filter.ids.1", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "previewPromotionalCredits(recurring, filter.groupIds)",
        "previewPromotionalCredits",
        PREVIEW_CREDITS,
        lambda w, t: _credits({"filter": {"groupIds": [w.b_group, t]}}, recurring=True),
        _group,
        _preview_refused("input.target.filter.groupIds.1", GROUP_NOT_FOUND),
    ),
    Op(
        "pauseCreditSchedule(id)",
        "pauseCreditSchedule",
        PAUSE_SCHEDULE,
        lambda w, t: {"id": t},
        _schedule,
        _error("pauseCreditSchedule", "schedule", "NOT_FOUND", "id", SCHEDULE_NOT_FOUND),
    ),
    Op(
        "updateCreditSchedule(id)",
        "updateCreditSchedule",
        UPDATE_SCHEDULE,
        lambda w, t: {"id": t, "input": {"amount": "99.00"}},
        _schedule,
        _error("updateCreditSchedule", "schedule", "NOT_FOUND", "id", SCHEDULE_NOT_FOUND),
    ),
    Op(
        "resumeCreditSchedule(id)",
        "resumeCreditSchedule",
        RESUME_SCHEDULE,
        lambda w, t: {"id": t},
        _schedule,
        _error("resumeCreditSchedule", "schedule", "NOT_FOUND", "id", SCHEDULE_NOT_FOUND),
    ),
    Op(
        "deleteCreditSchedule(id)",
        "deleteCreditSchedule",
        DELETE_SCHEDULE,
        lambda w, t: {"id": t},
        _schedule,
        _error("deleteCreditSchedule", "deletedId", "NOT_FOUND", "id", SCHEDULE_NOT_FOUND),
    ),
    Op(
        "syncRun(id)",
        "syncRun",
        GET_SYNC_RUN,
        lambda w, t: {"id": t},
        _sync_run,
        _data("syncRun", None),
    ),
    Op(
        "checkoutQuote(customerId)",
        "checkoutQuote",
        CHECKOUT_QUOTE,
        lambda w, t: {"input": {"customerId": t, "lines": [LINE]}},
        _customer,
        _query_error("checkoutQuote", "input.customerId", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "checkoutQuote(cardCode)",
        "checkoutQuote",
        CHECKOUT_QUOTE,
        lambda w, t: {"input": {"cardCode": t, "lines": [LINE]}},
        _card,
        _query_error("checkoutQuote", "input.cardCode", CARD_NOT_FOUND, "CARD_NOT_FOUND"),
    ),
    Op(
        "commitCheckout(customerId)",
        "commitCheckout",
        COMMIT_CHECKOUT,
        lambda w, t: {"input": {"customerId": t, "lines": [LINE]}, "key": "b-sale-1"},
        _customer,
        _error("commitCheckout", "checkout", "NOT_FOUND", "input.customerId", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "refundCheckout(id)",
        "refundCheckout",
        REFUND_CHECKOUT,
        lambda w, t: {"id": t},
        _checkout,
        _error("refundCheckout", "checkout", "NOT_FOUND", "id", CHECKOUT_NOT_FOUND),
    ),
    Op(
        "checkout(id)",
        "checkout",
        GET_CHECKOUT,
        lambda w, t: {"id": t},
        _checkout,
        _data("checkout", None),
    ),
    Op(
        "checkouts(filter.customerId)",
        "checkouts",
        LIST_CHECKOUTS,
        lambda w, t: {"filter": {"customerId": t}},
        _customer,
        _query_error("checkouts", "filter.customerId", CUSTOMER_NOT_FOUND),
    ),
    Op(
        "revokeApiKey(id)",
        "revokeApiKey",
        REVOKE_API_KEY,
        lambda w, t: {"id": t},
        _key,
        lambda w: {
            "data": {
                "revokeApiKey": {
                    "apiKey": None,
                    "secret": None,
                    "errors": [
                        {"code": "NOT_FOUND", "field": "id", "message": "API key not found."}
                    ],
                }
            }
        },
    ),
]

OPERATIONS += [
    Op(
        "webhookDeliveries(endpointId)",
        "webhookDeliveries",
        DELIVERIES,
        lambda w, t: {"endpointId": t},
        lambda w: w.a_webhook_endpoint,
        _query_error("webhookDeliveries", "endpointId", ENDPOINT_NOT_FOUND),
    ),
    Op(
        "updateWebhookEndpoint(id)",
        "updateWebhookEndpoint",
        UPDATE_ENDPOINT,
        lambda w, t: {"id": t, "input": {"url": "https://evil.example.com"}},
        lambda w: w.a_webhook_endpoint,
        _data(
            "updateWebhookEndpoint",
            {
                "endpoint": None,
                "secret": None,
                "errors": [{"code": "NOT_FOUND", "field": "id", "message": ENDPOINT_NOT_FOUND}],
            },
        ),
    ),
    Op(
        "deleteWebhookEndpoint(id)",
        "deleteWebhookEndpoint",
        DELETE_ENDPOINT,
        lambda w, t: {"id": t},
        lambda w: w.a_webhook_endpoint,
        _error("deleteWebhookEndpoint", "deletedId", "NOT_FOUND", "id", ENDPOINT_NOT_FOUND),
    ),
    Op(
        "replayWebhookDelivery(id)",
        "replayWebhookDelivery",
        REPLAY,
        lambda w, t: {"id": t},
        lambda w: w.a_webhook_delivery,
        _error("replayWebhookDelivery", "delivery", "NOT_FOUND", "id", DELIVERY_NOT_FOUND),
    ),
]

# Operations that take no id of another location; each is covered by the named test.
COVERED_ELSEWHERE = {
    "liabilityReport": "test_reports_api.py::test_each_locations_reports_read_its_own_data_only",
    "activityReport": "test_reports_api.py::test_each_locations_reports_read_its_own_data_only",
    "discountCostReport": "test_reports_api.py::test_each_locations_reports_read_its_own_data_only",
    "topCustomersReport": "test_reports_api.py::test_each_locations_reports_read_its_own_data_only",
    "viewer": "test_lists_and_viewer_show_only_the_callers_location",
    "customerGroups": "test_lists_and_viewer_show_only_the_callers_location",
    "creditSchedules": "test_lists_and_viewer_show_only_the_callers_location",
    "createCustomerGroup": "test_the_same_reference_may_exist_in_two_locations",
    "createApiKey": "test_a_created_key_belongs_to_the_callers_location",
    "integration": "test_integrations_belong_to_the_callers_location",
    "configureIntegration": "test_integrations_belong_to_the_callers_location",
    "synchronize": "test_integrations_belong_to_the_callers_location",
    "walletOperations": "test_lists_and_viewer_show_only_the_callers_location",
    "expiringCredits": "test_expiring_credits.py::test_expiring_credits_are_the_callers_only",
    "expiryRuns": "test_expiry_runs.py::test_expiry_runs_lists_the_locations_runs_newest_day_first",
    "apiKeys": "test_lists_and_viewer_show_only_the_callers_location",
    "referenceFor": "test_backoffice_api.py::test_reference_for_reads_no_location_data",
    "updateLocationSettings": "test_checkout_till.py::test_a_locations_credit_channels_are_its_own",
    "importCustomers": "test_import_api.py::test_an_import_sees_only_the_callers_location",
    "webhookEndpoints": "test_webhooks_api.py::test_each_location_lists_its_own_endpoints",
    "createWebhookEndpoint": "test_webhooks_api.py::test_each_location_lists_its_own_endpoints",
}


async def test_every_operation_is_in_the_sweep(api: Api) -> None:
    # given the operations the running schema offers
    queries, mutations = await root_fields(api)

    # then each has a row in the sweep or a dedicated test here
    covered = {op.field for op in OPERATIONS} | set(COVERED_ELSEWHERE)
    assert (queries | mutations) - {"__typename"} == covered


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.name for op in OPERATIONS])
async def test_another_locations_id_is_indistinguishable_from_an_unknown_one(
    world: World, op: Op
) -> None:
    # given both locations as they are
    a_before = await snapshot(world.a)
    b_before = await snapshot(world.b)

    # when B's ADMIN key names A's object, a random UUID and a malformed id
    foreign = await world.b.raw(op.document, op.variables(world, op.foreign(world)))
    unknown = await world.b.raw(op.document, op.variables(world, str(uuid.uuid4())))
    malformed = await world.b.raw(op.document, op.variables(world, MALFORMED))

    # then the three answers are the same "not found / nothing" answer
    assert foreign == op.expected(world)
    assert unknown == foreign
    assert malformed == foreign
    # and neither location changed
    assert await snapshot(world.a) == a_before
    assert await snapshot(world.b) == b_before


async def test_lists_and_viewer_show_only_the_callers_location(world: World) -> None:
    # when each location asks who it is and lists its groups and customers
    a_viewer = (await world.a.data(VIEWER))["viewer"]
    b_viewer = (await world.b.data(VIEWER))["viewer"]
    b_groups = (await world.b.data(LIST_GROUPS))["customerGroups"]
    b_customers = await all_customers(world.b)
    a_groups = (await world.a.data(LIST_GROUPS))["customerGroups"]
    a_customers = await all_customers(world.a)
    a_schedules = (await world.a.data(LIST_SCHEDULES))["creditSchedules"]
    b_schedules = (await world.b.data(LIST_SCHEDULES))["creditSchedules"]

    # then each sees itself only
    assert a_viewer["location"]["id"] == world.a.location_id
    assert a_viewer["location"]["name"] == "Bistro Test"
    assert b_viewer["location"]["id"] == world.b.location_id
    assert b_viewer["location"]["name"] == "Other Place"
    assert b_viewer["apiKey"]["name"] == "admin"
    assert b_viewer["apiKey"]["id"] != a_viewer["apiKey"]["id"]
    assert [g["id"] for g in b_groups] == [world.b_group]
    assert [g["customerCount"] for g in b_groups] == [1]
    assert [c["id"] for c in b_customers] == [world.b_customer]
    assert [g["id"] for g in a_groups] == [world.a_group]
    assert [c["id"] for c in a_customers] == [world.a_customer]
    assert [s["id"] for s in a_schedules] == [world.a_schedule]
    assert [s["id"] for s in b_schedules] == [world.b_schedule]
    assert [s["customerCount"] for s in b_schedules] == [1]
    assert [c["wallet"]["balance"]["amount"] for c in a_customers] == ["25.00"]
    a_checkouts = (await world.a.data(LIST_CHECKOUTS))["checkouts"]
    b_checkouts = (await world.b.data(LIST_CHECKOUTS))["checkouts"]
    assert [e["node"]["id"] for e in a_checkouts["edges"]] == [world.a_checkout]
    assert b_checkouts == EMPTY_CONNECTION
    a_operations = (await world.a.data(LIST_OPERATIONS))["walletOperations"]
    b_operations = (await world.b.data(LIST_OPERATIONS))["walletOperations"]
    assert [e["node"]["id"] for e in a_operations["edges"]] == [world.a_operation]
    assert b_operations == EMPTY_CONNECTION
    a_keys = (await world.a.data(LIST_API_KEYS))["apiKeys"]
    b_keys = (await world.b.data(LIST_API_KEYS))["apiKeys"]
    assert [(k["name"], k["role"]) for k in a_keys] == [("admin", "ADMIN"), ("till A", "POS")]
    assert [(k["id"], k["name"]) for k in b_keys] == [(b_viewer["apiKey"]["id"], "admin")]


@pytest.mark.parametrize("by", ["id", "cardCode"])
async def test_a_pos_key_cannot_read_another_locations_customer(world: World, by: str) -> None:
    # given a POS key of location B
    till = await world.b.key_with_role(Role.POS, "till B")
    foreign = world.a_customer if by == "id" else world.a_card

    # when it reads A's customer, a random one and a malformed one
    answers = [
        await till.raw(GET_CUSTOMER, {by: value})
        for value in (foreign, str(uuid.uuid4()), MALFORMED)
    ]

    # then each is the same "no such customer"
    assert answers == [{"data": {"customer": None}}] * 3


async def test_the_same_card_code_may_exist_in_two_locations(world: World) -> None:
    # given A's customer holds card A-0001
    a_before = await snapshot(world.a)

    # when B creates a customer with the same card code
    payload = await world.b.mutate(
        CREATE_CUSTOMER, {"input": {"firstName": "Celina", "cards": [{"code": world.a_card}]}}
    )

    # then B has it, and each location resolves the code to its own customer
    assert payload["errors"] == []
    b_twin = payload["customer"]
    assert b_twin["cards"] == [{"code": "A-0001", "number": None, "expiresOn": None}]
    in_a = (await world.a.data(GET_CUSTOMER, {"cardCode": "A-0001"}))["customer"]
    in_b = (await world.b.data(GET_CUSTOMER, {"cardCode": "A-0001"}))["customer"]
    assert in_a["id"] == world.a_customer
    assert in_b["id"] == b_twin["id"]
    assert await snapshot(world.a) == a_before


async def test_a_card_code_of_another_location_may_be_given_on_update(world: World) -> None:
    a_before = await snapshot(world.a)

    payload = await world.b.mutate(
        UPDATE_CUSTOMER,
        {"id": world.b_customer, "input": {"cards": [{"code": "B-0001"}, {"code": world.a_card}]}},
    )

    assert payload["errors"] == []
    assert [c["code"] for c in payload["customer"]["cards"]] == ["B-0001", "A-0001"]
    in_b = (await world.b.data(GET_CUSTOMER, {"cardCode": "A-0001"}))["customer"]
    assert in_b["id"] == world.b_customer
    assert await snapshot(world.a) == a_before


async def test_the_same_reference_may_exist_in_two_locations(world: World) -> None:
    # given A's group "Stali goście" has the reference stali-goscie
    a_before = await snapshot(world.a)

    # when B creates a group with the same name, and another with that reference explicitly
    generated = await world.b.mutate(CREATE_GROUP, {"input": {"name": "Stali goście"}})
    clash_in_b = await world.b.mutate(
        CREATE_GROUP, {"input": {"name": "Regulars", "reference": world.a_reference}}
    )
    explicit = await world.b.mutate(
        UPDATE_GROUP, {"id": world.b_group, "input": {"reference": "STALI-GOSCIE-2"}}
    )

    # then the first is created in B with the same reference; the second clashes in B only
    assert generated["errors"] == []
    assert generated["group"]["reference"] == "stali-goscie"
    assert generated["group"]["customerCount"] == 0
    assert clash_in_b["group"] is None
    assert [(e["code"], e["field"]) for e in clash_in_b["errors"]] == [
        ("DUPLICATE", "input.reference")
    ]
    assert explicit["errors"] == []
    assert explicit["group"]["reference"] == "stali-goscie-2"
    b_references = sorted(
        g["reference"] for g in (await world.b.data(LIST_GROUPS))["customerGroups"]
    )
    assert b_references == ["stali-goscie", "stali-goscie-2"]
    assert await snapshot(world.a) == a_before


async def test_a_created_key_belongs_to_the_callers_location(world: World) -> None:
    # given A as it is
    a_before = await snapshot(world.a)

    # when B creates a key and uses it
    payload = await world.b.mutate(CREATE_API_KEY, {"name": "till B", "role": "POS"})
    new_key = Api(world.b.http, payload["secret"], world.b.location_id)
    viewer = (await new_key.data(VIEWER))["viewer"]
    seen = (await new_key.data(GET_CUSTOMER, {"id": world.a_customer}))["customer"]

    # then it is B's key and sees nothing of A
    assert payload["errors"] == []
    assert viewer["location"]["id"] == world.b.location_id
    assert viewer["apiKey"] == {
        "id": payload["apiKey"]["id"],
        "name": "till B",
        "role": "POS",
        "revokedAt": None,
    }
    assert seen is None
    assert await snapshot(world.a) == a_before


async def test_credits_by_a_filter_naming_another_locations_group_are_refused(
    world: World,
) -> None:
    # given A's customer holds 25.00
    a_before, b_before = await snapshot(world.a), await snapshot(world.b)

    # when B adds credits to everyone in A's group, or with A's customer id in the filter
    by_group = await world.b.mutate(
        SET_CREDITS, _credits({"filter": {"groupIds": [world.a_group]}})
    )
    by_ids = await world.b.mutate(SET_CREDITS, _credits({"filter": {"ids": [world.a_customer]}}))

    # then each is NOT_FOUND at the foreign id, and neither location changed
    assert [(p["operation"], p["errors"]) for p in (by_group, by_ids)] == [
        (
            None,
            [
                {
                    "code": "NOT_FOUND",
                    "field": "input.target.filter.groupIds.0",
                    "message": GROUP_NOT_FOUND,
                }
            ],
        ),
        (
            None,
            [
                {
                    "code": "NOT_FOUND",
                    "field": "input.target.filter.ids.0",
                    "message": CUSTOMER_NOT_FOUND,
                }
            ],
        ),
    ]
    assert (await snapshot(world.a), await snapshot(world.b)) == (a_before, b_before)


async def test_integrations_belong_to_the_callers_location(
    world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given A's GoPOS integration, configured, and A's sync run
    monkeypatch.setattr(runtime.secrets, "keys", new_key())
    gopos = {
        "baseUrl": "https://gopos.example.com",
        "clientId": "a-client",
        "clientSecret": "a-secret",
        "organizationId": "1001",
    }
    configured = await world.a.mutate(CONFIGURE, {"channel": "GOPOS", "input": gopos})
    assert configured["errors"] == []
    a_before = await world.a.data(GET_INTEGRATION, {"channel": "GOPOS"})
    assert a_before["integration"]["lastSync"] == {"id": world.a_sync_run, "status": "SUCCEEDED"}

    # when B reads the same channel, synchronises it, then configures its own
    read = (await world.b.data(GET_INTEGRATION, {"channel": "GOPOS"}))["integration"]
    synchronized = await world.b.mutate(SYNCHRONIZE, {"channel": "GOPOS"})
    own = await world.b.mutate(
        CONFIGURE, {"channel": "GOPOS", "input": {**gopos, "clientId": "b-client"}}
    )
    read_again = (await world.b.data(GET_INTEGRATION, {"channel": "GOPOS"}))["integration"]

    # then B sees none of A's settings or runs, and has nothing to synchronise
    assert read == {
        "channel": "GOPOS",
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
    assert synchronized == {
        "syncRun": None,
        "errors": [
            {
                "code": "NOT_CONFIGURED",
                "field": "channel",
                "message": "GoPOS is not configured: save its credentials first.",
            }
        ],
    }
    # and B's own configuration is B's alone
    assert own["errors"] == []
    assert (read_again["clientId"], read_again["lastSync"]) == ("b-client", None)
    assert await world.a.data(GET_INTEGRATION, {"channel": "GOPOS"}) == a_before
    assert await SyncRun.filter(location_id=uuid.UUID(world.b.location_id)).count() == 0
