"""GraphQL documents and data builders shared by the API test files (on top of tests/helpers.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from domain.customer_checks import CustomerWrite
from models import customers as customer_repository
from models.db import transaction
from models.tables.crm import ApiKey
from tests.helpers import Api

CUSTOMER_FIELDS = """
  id firstName lastName email phone note
  cards { code number expiresOn }
  groups { id reference }
  wallet { balance { amount currency } updatedAt }
  createdAt updatedAt
"""

GET_CUSTOMER = f"""
query($id: ID, $cardCode: String) {{
  customer(id: $id, cardCode: $cardCode) {{ {CUSTOMER_FIELDS} }}
}}"""

LIST_CUSTOMERS = f"""
query($first: Int, $after: String, $filter: CustomerFilter) {{
  customers(first: $first, after: $after, filter: $filter) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ {CUSTOMER_FIELDS} }} }}
  }}
}}"""

CUSTOMER_IDS = """
query($first: Int, $after: String, $filter: CustomerFilter) {
  customers(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id } }
  }
}"""

UPDATE_CUSTOMER = f"""
mutation($id: ID!, $input: CustomerInput!) {{
  updateCustomer(id: $id, input: $input) {{
    customer {{ {CUSTOMER_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""

DELETE_CUSTOMER = """
mutation($id: ID!) {
  deleteCustomer(id: $id) { deletedId errors { code field message } }
}"""

GROUP_FIELDS = "id name reference description cashbackPercent customerCount createdAt"

GET_GROUP = f"""
query($id: ID!) {{ customerGroup(id: $id) {{ {GROUP_FIELDS} }} }}"""

LIST_GROUPS = f"""
query {{ customerGroups {{ {GROUP_FIELDS} }} }}"""

UPDATE_GROUP = f"""
mutation($id: ID!, $input: CustomerGroupInput!) {{
  updateCustomerGroup(id: $id, input: $input) {{
    group {{ {GROUP_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""

DELETE_GROUP = """
mutation($id: ID!) {
  deleteCustomerGroup(id: $id) { deletedId errors { code field message } }
}"""

ADD_TO_GROUP = """
mutation($groupId: ID!, $target: CreditTargetInput!) {
  addCustomersToGroup(groupId: $groupId, target: $target) {
    group { id customerCount }
    errors { code field message }
  }
}"""

REMOVE_FROM_GROUP = """
mutation($groupId: ID!, $target: CreditTargetInput!) {
  removeCustomersFromGroup(groupId: $groupId, target: $target) {
    group { id customerCount }
    errors { code field message }
  }
}"""

IMPORT_CUSTOMERS = """
mutation($input: ImportCustomersInput!) {
  importCustomers(input: $input) {
    result { rows created updated unchanged skipped problems { line message } }
    errors { code field message }
  }
}"""

VIEWER = """
query { viewer { location { id name currency timezone } apiKey { id name role revokedAt } } }"""

LOCATION = "query { viewer { location { id name currency timezone creditChannels } } }"

UPDATE_LOCATION_SETTINGS = """
mutation($input: LocationSettingsInput!) {
  updateLocationSettings(input: $input) {
    location { id creditChannels }
    errors { code field message }
  }
}"""

CREATE_API_KEY = """
mutation($name: String!, $role: ApiKeyRole!) {
  createApiKey(name: $name, role: $role) {
    apiKey { id name role createdAt revokedAt }
    secret
    errors { code field message }
  }
}"""

REVOKE_API_KEY = """
mutation($id: ID!) {
  revokeApiKey(id: $id) {
    apiKey { id name role createdAt revokedAt }
    secret
    errors { code field message }
  }
}"""

OPERATION_FIELDS = "id operation amount { amount } status total processed error"
SCHEDULE_FIELDS = """
  id operation amount { amount } every unit startDate endDate target groupIds customerCount
  paused nextRunOn lastRunOn
"""

GET_OPERATION = f"""
query($id: ID!) {{ walletOperation(id: $id) {{ {OPERATION_FIELDS} }} }}"""

LIST_SCHEDULES = f"""
query {{ creditSchedules {{ {SCHEDULE_FIELDS} }} }}"""

SET_CREDITS = f"""
mutation($input: SetPromotionalCreditsInput!) {{
  setPromotionalCredits(input: $input) {{
    operation {{ {OPERATION_FIELDS} }}
    schedule {{ {SCHEDULE_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""

UPDATE_SCHEDULE = f"""
mutation($id: ID!, $input: CreditScheduleUpdateInput!) {{
  updateCreditSchedule(id: $id, input: $input) {{
    schedule {{ {SCHEDULE_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""

PAUSE_SCHEDULE = f"""
mutation($id: ID!) {{
  pauseCreditSchedule(id: $id) {{
    schedule {{ {SCHEDULE_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""

RESUME_SCHEDULE = f"""
mutation($id: ID!) {{
  resumeCreditSchedule(id: $id) {{
    schedule {{ {SCHEDULE_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""

DELETE_SCHEDULE = """
mutation($id: ID!) {
  deleteCreditSchedule(id: $id) { deletedId errors { code field message } }
}"""

# A start date no test run will reach, so a schedule made with it never applies by itself.
FAR_FUTURE = "2099-01-01"

ROOT_FIELDS = """
query { __schema { queryType { fields { name } } mutationType { fields { name } } } }"""


async def root_fields(api: Api) -> tuple[set[str], set[str]]:
    """The names of every query and every mutation the running schema offers."""
    schema = (await api.data(ROOT_FIELDS))["__schema"]
    return (
        {f["name"] for f in schema["queryType"]["fields"]},
        {f["name"] for f in schema["mutationType"]["fields"]},
    )


async def all_customers(api: Api) -> list[dict[str, Any]]:
    """Every customer of the caller's location with cards and groups, page by page."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = (await api.data(LIST_CUSTOMERS, {"first": 200, "after": after}))["customers"]
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def customer_ids(api: Api, filter: dict[str, Any] | None = None) -> list[str]:
    page = (await api.data(CUSTOMER_IDS, {"first": 200, "filter": filter}))["customers"]
    assert page["totalCount"] == len(page["edges"]), page
    return [edge["node"]["id"] for edge in page["edges"]]


async def group_counts(api: Api) -> dict[str, int]:
    """Group reference → customerCount for every group of the caller's location."""
    groups = (await api.data(LIST_GROUPS))["customerGroups"]
    return {g["reference"]: g["customerCount"] for g in groups}


async def api_keys(location_id: str) -> list[dict[str, Any]]:
    rows = (
        await ApiKey.filter(location_id=UUID(location_id))
        .order_by("id")
        .values("id", "name", "role", "key_hash", "revoked_at")
    )
    return list(rows)


WEBHOOK_ENDPOINTS = """{
  webhookEndpoints { id url events enabled disabledReason expiringDaysBefore createdAt }
}"""


async def snapshot(api: Api) -> dict[str, Any]:
    """Everything a location holds, read through its ADMIN key (and its keys from the models)."""
    return {
        "customers": await all_customers(api),
        "groups": (await api.data(LIST_GROUPS))["customerGroups"],
        "schedules": (await api.data(LIST_SCHEDULES))["creditSchedules"],
        "keys": await api_keys(api.location_id),
        "location": (await api.data(LOCATION))["viewer"]["location"],
        "webhooks": (await api.data(WEBHOOK_ENDPOINTS))["webhookEndpoints"],
    }


async def give_credits(api: Api, customer_ids: list[str], amount: str) -> dict[str, Any]:
    """A one-off ADD to the listed customers (applied inline); the operation."""
    payload = await api.mutate(
        SET_CREDITS,
        {"input": {"target": {"customerIds": customer_ids}, "operation": "ADD", "amount": amount}},
    )
    assert payload["errors"] == [], payload
    operation: dict[str, Any] = payload["operation"]
    return operation


async def monthly_schedule(api: Api, group_ids: list[str], amount: str) -> dict[str, Any]:
    """A monthly SET for the groups' members, starting in the far future; the schedule."""
    payload = await api.mutate(
        SET_CREDITS,
        {
            "input": {
                "target": {"filter": {"groupIds": group_ids}},
                "operation": "SET",
                "amount": amount,
                "recurrence": {"unit": "MONTH", "startDate": FAR_FUTURE},
            }
        },
    )
    assert payload["errors"] == [], payload
    schedule: dict[str, Any] = payload["schedule"]
    return schedule


async def bulk_customers(location_id: str, count: int, prefix: str = "Bulk") -> list[str]:
    """`count` customers inserted directly through the repository; their ids as API strings."""
    rows = [
        CustomerWrite({"first_name": f"{prefix}{n:04d}", "last_name": "Many"}) for n in range(count)
    ]
    async with transaction() as db:
        created = await customer_repository.create_many(db, UUID(location_id), rows)
    return [str(customer.id) for customer in created]


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())


@contextmanager
def sql_statements() -> Iterator[list[str]]:
    """The SQL statements Tortoise runs inside the block (it logs each one at DEBUG)."""
    logger = logging.getLogger("tortoise.db_client")
    handler = _Counter()
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
