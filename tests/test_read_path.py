"""The till's read: a customer by card or id, with groups and balance, in one statement."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from domain.errors import DomainError, ErrorCode
from models import reads
from models.queries import customer_entity, group_entity
from models.tables.crm import Customer, CustomerGroup
from services import customers
from settings import Settings
from tests.builders import sql_statements
from tests.english import checked
from tests.helpers import Api, create_customer, create_group
from tests.wallet_helpers import credit_ok

BY_CARD = """
query($code: String!) {
  customer(cardCode: $code) { id firstName groups { reference } wallet { balance { amount } } }
}"""

BY_ID = """
query($id: ID!) {
  customer(id: $id) { id firstName groups { reference } wallet { balance { amount } } }
}"""


async def _by_card(api: Api, code: str) -> Any:
    return (await api.data(BY_CARD, {"code": code}))["customer"]


async def _by_id(api: Api, customer_id: str) -> Any:
    return (await api.data(BY_ID, {"id": customer_id}))["customer"]


@pytest.fixture
async def anna(api: Api) -> dict[str, Any]:
    """A customer with card SCAN-1, in groups VIP and Alpha (not Regular), with 12.34."""
    vip = await create_group(api, "VIP")
    await create_group(api, "Regular")
    alpha = await create_group(api, "Alpha")
    customer = await create_customer(
        api, firstName="Anna", cards=[{"code": "SCAN-1"}], groupIds=[vip["id"], alpha["id"]]
    )
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "12.34")
    return customer


async def test_a_card_scan_returns_the_customer_groups_by_name_and_balance(
    api: Api, anna: dict[str, Any]
) -> None:
    assert await _by_card(api, "SCAN-1") == {
        "id": anna["id"],
        "firstName": "Anna",
        "groups": [{"reference": "alpha"}, {"reference": "vip"}],
        "wallet": {"balance": {"amount": "12.34"}},
    }


async def test_an_id_returns_the_same_as_its_card(api: Api, anna: dict[str, Any]) -> None:
    assert await _by_id(api, anna["id"]) == await _by_card(api, "SCAN-1")
    assert (await _by_id(api, anna["id"]))["groups"] == [
        {"reference": "alpha"},
        {"reference": "vip"},
    ]


async def test_a_customer_without_groups_has_none(api: Api) -> None:
    customer = await create_customer(api, firstName="Solo", cards=[{"code": "SOLO"}])

    assert await _by_card(api, " SOLO ") == {
        "id": customer["id"],
        "firstName": "Solo",
        "groups": [],
        "wallet": {"balance": {"amount": "0.00"}},
    }


async def test_unknown_cards_and_ids_answer_null(api: Api, anna: dict[str, Any]) -> None:
    assert await _by_card(api, "SCAN-2") is None
    assert await _by_id(api, "01a234c9-b87c-78f0-b3f6-4b8d8113590c") is None
    assert await _by_id(api, "not-an-id") is None


async def test_another_locations_card_and_customer_answer_null(
    api: Api, other: Api, anna: dict[str, Any]
) -> None:
    theirs = await create_customer(other, firstName="Theirs", cards=[{"code": "THEIRS-1"}])

    assert await _by_card(api, "THEIRS-1") is None
    assert await _by_id(api, theirs["id"]) is None
    assert await _by_card(other, "SCAN-1") is None
    assert await _by_id(other, anna["id"]) is None


async def test_the_same_code_in_two_locations_finds_each_locations_own_customer(
    api: Api, other: Api, anna: dict[str, Any]
) -> None:
    theirs = await create_customer(other, firstName="Theirs", cards=[{"code": "SCAN-1"}])

    assert (await _by_card(api, "SCAN-1"))["id"] == anna["id"]
    assert (await _by_card(other, "SCAN-1"))["id"] == theirs["id"]


async def test_a_deleted_customer_is_never_returned(api: Api, anna: dict[str, Any]) -> None:
    # the row stays for its ledger; only `deleted_at` marks it
    await Customer.filter(id=UUID(anna["id"])).update(deleted_at=datetime.now(UTC))

    assert await _by_card(api, "SCAN-1") is None
    assert await _by_id(api, anna["id"]) is None


async def test_the_rows_read_as_the_orm_reads_them(api: Api, anna: dict[str, Any]) -> None:
    uid, location_id = UUID(anna["id"]), UUID(api.location_id)
    customer = customer_entity(await Customer.get(id=uid))
    groups = tuple(
        group_entity(g)
        for g in await CustomerGroup.filter(memberships__customer_id=uid).order_by("name")
    )

    by_card = await reads.customer_by_card(location_id, "SCAN-1")
    by_id = await reads.customer_by_id(location_id, uid)

    assert by_card is not None
    assert by_card.customer == customer
    assert by_card.groups == groups
    assert by_id == replace(by_card, card_code=None)
    assert by_card.card_code == "SCAN-1"
    assert customer.credit_balance == 1234


async def test_a_card_scan_is_one_statement(api: Api, anna: dict[str, Any]) -> None:
    await _by_card(api, "SCAN-1")  # the key is resolved and cached

    with sql_statements() as statements:
        found = await _by_card(api, "SCAN-1")
    assert [s.split(":")[0].split() for s in statements] == [reads.CUSTOMER_BY_CARD.split()]
    assert found["groups"] == [{"reference": "alpha"}, {"reference": "vip"}]

    with sql_statements() as statements:
        await _by_id(api, anna["id"])
    assert [s.split(":")[0].split() for s in statements] == [reads.CUSTOMER_BY_ID.split()]


BAD_CODES = [
    pytest.param("A" * 65, "Card code must be at most 64 characters", id="65 characters"),
    pytest.param("SCAN\x1b[31m", "Card code may contain only", id="ESC"),
    pytest.param("SCAN-1\n", "Card code may contain only", id="newline"),
    pytest.param("", "Card code must not be empty.", id="empty"),
]


@pytest.mark.parametrize(("code", "message"), BAD_CODES)
async def test_what_cannot_be_a_card_code_is_invalid_without_a_query(
    api: Api, anna: dict[str, Any], code: str, message: str
) -> None:
    await _by_card(api, "SCAN-1")  # the key is resolved and cached

    with sql_statements() as statements:
        body = await api.raw(BY_CARD, {"code": code})

    assert body["data"] == {"customer": None}
    (error,) = body["errors"]
    assert error["message"].startswith(message)
    assert checked(error) == {"code": "INVALID", "field": "cardCode"}
    assert error["path"] == ["customer"]
    assert statements == []


async def test_a_nul_in_a_card_code_is_invalid_without_a_query(
    api: Api, anna: dict[str, Any]
) -> None:
    await _by_card(api, "SCAN-1")  # the key is resolved and cached

    with sql_statements() as statements:
        body = await api.raw('{ customer(cardCode: "SCAN\\u00001") { id } }')
    with pytest.raises(DomainError) as refused:
        await customers.customer_view_by_card(UUID(api.location_id), "SCAN\x001")

    assert "data" not in body
    assert [checked(e) for e in body["errors"]] == [{"code": "INVALID", "field": "cardCode"}]
    assert [(e.code, e.field) for e in refused.value.errors] == [(ErrorCode.INVALID, "cardCode")]
    assert statements == []


async def test_a_huge_card_code_is_refused_and_never_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    huge = "A" * 1_000_000
    caplog.set_level(logging.DEBUG)

    body = await api.raw(BY_CARD, {"code": huge})

    assert body["data"] == {"customer": None}
    assert checked(body["errors"][0]) == {"code": "INVALID", "field": "cardCode"}
    assert caplog.records  # the request was logged
    # nothing near the code's million characters: the longest record is a statement the
    # SQLite driver logs (the key's lookup, about 1,000 characters)
    assert max(len(record.getMessage()) for record in caplog.records) < 5_000


async def test_releasing_a_pooled_connection_resets_nothing(
    postgres_only: None, database: Settings, api: Api
) -> None:
    # given card scans, each taking a pooled connection and giving it back
    await create_customer(api, firstName="Anna", cards=[{"code": "SCAN-1"}])
    for _ in range(3):
        found = await api.data('{ customer(cardCode: "SCAN-1") { firstName } }')
        assert found == {"customer": {"firstName": "Anna"}}

    # then no pooled connection's last statement is asyncpg's reset: it was never sent
    watcher = await asyncpg.connect(database.database_url)
    try:
        rows = await watcher.fetch(
            "SELECT query FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await watcher.close()
    last = [str(row["query"]) for row in rows]
    assert any(query.split() == reads.CUSTOMER_BY_CARD.split() for query in last), last
    assert not [query for query in last if "pg_advisory_unlock_all" in query]


def test_no_code_relies_on_the_session_state_a_reset_would_clear() -> None:
    """Releasing a connection without a reset is safe only while nothing takes advisory
    locks, listens, or sets session parameters on a pooled connection."""
    root = Path(__file__).parent.parent
    session_state = re.compile(
        r"pg_(try_)?advisory_(xact_)?lock|\bLISTEN\b|add_listener|SET SESSION|set_config\("
        r"|[\"']SET "
    )
    found = [
        f"{path.relative_to(root)}:{n}"
        for package in ("models", "services", "tasks", "gateway", "adapters")
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts and path.name != "config.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if session_state.search(line)
    ]
    assert found == []
