"""Log lines as production and development write them: one JSON object per line with the
request's context, readable text otherwise, and never a secret or a card code in clear."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

import services.customers
import services.groups
from domain.access import Role
from gateway.app import create_app
from gateway.observability import card_ref, configure_logging, request_params_var, scrub
from settings import Settings, load_settings
from tests.helpers import Api, create_customer, new_location

CARD = "CARD-7731-XQ"
LIST_GROUPS = "{ customerGroups { id name } }"
BY_CARD = """query($code: String!) { customer(cardCode: $code) { id firstName } }"""
ISO_MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the process writes, configured as production configures it (and put back after)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("tortoise").level)
    buffer = io.StringIO()
    configure_logging(json_lines=True, stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("tortoise").setLevel(saved[2])
        logging.getLogger("uvicorn.access").disabled = False


def parsed(buffer: io.StringIO) -> list[dict[str, Any]]:
    """The gateway's lines (the test's own HTTP client logs too)."""
    entries = [json.loads(line) for line in buffer.getvalue().splitlines()]
    return [entry for entry in entries if entry["logger"] != "httpx"]


@pytest.fixture
async def production(database: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(database, env="production"), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client
    await app.state.dispatcher.close()


@pytest.fixture
async def prod_api(production: httpx.AsyncClient) -> Api:
    return await new_location(production, "Production Bistro")


async def test_production_writes_a_graphql_request_as_one_json_line(
    prod_api: Api, log_lines: io.StringIO
) -> None:
    # when a client lists its groups
    response = await prod_api.http.post(
        "/graphql",
        json={"query": LIST_GROUPS},
        headers={**prod_api.headers, "X-Request-ID": "till-42-0001"},
    )

    # then the access line is one JSON object carrying the request's context
    assert response.status_code == 200
    (line,) = [entry for entry in parsed(log_lines) if entry["logger"] == "gocrm.access"]
    assert ISO_MILLISECONDS.match(line.pop("time"))
    duration = line.pop("duration_ms")
    assert isinstance(duration, float)
    assert line == {
        "level": "INFO",
        "logger": "gocrm.access",
        "message": f"POST /graphql 200 {duration:.1f}ms",
        "request_id": "till-42-0001",
        "location_id": prod_api.location_id,
        "operation": "customerGroups",
        "method": "POST",
        "path": "/graphql",
        "status": 200,
    }


async def _explode(location_id: object, *_: object) -> list[object]:
    raise RuntimeError("disk on fire")


async def test_an_unexpected_error_is_one_json_line_with_its_traceback(
    prod_api: Api, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given listing groups fails unexpectedly
    monkeypatch.setattr(services.groups, "list_groups", _explode)

    # when a client lists its groups
    await prod_api.http.post(
        "/graphql", json={"query": LIST_GROUPS}, headers={**prod_api.headers, "X-Request-ID": "r-9"}
    )

    # then the error is one line, with the request's context and the traceback
    (error,) = [entry for entry in parsed(log_lines) if entry["level"] == "ERROR"]
    assert error["logger"] == "gocrm.graphql"
    assert error["message"] == "unexpected error: disk on fire"
    assert (error["request_id"], error["location_id"], error["operation"]) == (
        "r-9",
        prod_api.location_id,
        "customerGroups",
    )
    assert error["exception"].startswith("Traceback (most recent call last):")
    assert error["exception"].endswith("RuntimeError: disk on fire")
    assert [entry["logger"] for entry in parsed(log_lines)] == ["gocrm.graphql", "gocrm.access"]


async def test_a_line_outside_a_request_has_no_request_context(log_lines: io.StringIO) -> None:
    logging.getLogger("gocrm.test").warning("the periodic check ran late")

    (line,) = parsed(log_lines)
    assert (line["request_id"], line["location_id"], line["operation"]) == (None, None, None)
    assert line["message"] == "the periodic check ran late"


async def test_a_card_scan_never_logs_the_card_code(prod_api: Api, log_lines: io.StringIO) -> None:
    # given a customer with a card, and a till
    await create_customer(prod_api, firstName="Ola", cards=[{"code": CARD}])
    log_lines.truncate(0)
    log_lines.seek(0)
    till = await prod_api.key_with_role(Role.POS)

    # when the till scans the card (a lookup, a quote, a card nobody holds), and sends a
    # document of its own with a code in its text, which production refuses to a till
    found = await till.trusted("CustomerByCard", {"cardCode": CARD})
    lines = [{"productId": "kawa", "quantity": "1", "unitPrice": "9.00"}]
    await till.trusted("CheckoutQuote", {"input": {"cardCode": CARD, "lines": lines}})
    await till.trusted("CustomerByCard", {"cardCode": f"{CARD}-X"})
    refused = await till.http.post(
        "/graphql",
        json={"query": f'{{ customer(cardCode: "{CARD}") {{ id }} }}'},
        headers=till.headers,
    )

    # then the requests were logged, and the code appears in none of their lines
    assert found["data"]["customer"]["firstName"] == "Ola"
    assert refused.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
    assert [entry["operation"] for entry in parsed(log_lines)] == [
        "customer",
        "checkoutQuote",
        "customer",
        None,
    ]
    assert CARD not in log_lines.getvalue()


async def _failing_lookup(location_id: object, code: str, *_: object) -> None:
    raise RuntimeError(f"the card {code} could not be read")


async def test_a_card_code_in_an_error_is_logged_as_its_hash(
    prod_api: Api, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given reading a card fails, with the code in the exception's message
    monkeypatch.setattr(services.customers, "customer_view_by_card", _failing_lookup)

    # when a till scans a card (the code in the variables, then in the query text)
    await prod_api.raw(BY_CARD, {"code": CARD})
    await prod_api.raw(f'{{ customer(cardCode: "{CARD}") {{ id }} }}')

    # then each error line names the card by its hash only
    errors = [entry for entry in parsed(log_lines) if entry["level"] == "ERROR"]
    assert [entry["message"] for entry in errors] == [
        f"unexpected error: the card {card_ref(CARD)} could not be read"
    ] * 2
    assert all(card_ref(CARD) in entry["exception"] for entry in errors)
    assert CARD not in log_lines.getvalue()
    assert card_ref(CARD) == "card:" + hashlib.sha256(CARD.encode()).hexdigest()[:12]


def test_secrets_are_redacted_from_every_line() -> None:
    line = scrub(
        "upstream said: Authorization: Bearer eyJhbGciOi.abc.def; key gocrm_Zx81-kQ_0aa9bb77 used"
    )

    assert line == "upstream said: Authorization: Bearer [redacted]; key gocrm_[redacted] used"


def test_a_settings_name_is_not_taken_for_a_key() -> None:
    line = scrub("GOCRM_SECRET_KEY is not set; gocrm_ABCDEFGHIJKLMNOPQRSTUVWXYZabc0 leaked")

    assert line == "GOCRM_SECRET_KEY is not set; gocrm_[redacted] leaked"


def test_a_requests_card_codes_and_secrets_are_hidden_from_its_lines() -> None:
    token = request_params_var.set(
        (
            '{ customer(cardCode: "AB12") { id } }',
            {
                "input": {"cards": [{"code": "77-90"}], "clientSecret": "s3cr3t-Value"},
                "name": "AB12 Bistro",
            },
        )
    )
    try:
        line = scrub("AB12 and 77-90, not AB123 nor x77-90; upstream refused s3cr3t-Value")
    finally:
        request_params_var.reset(token)

    assert line == (
        f"{card_ref('AB12')} and {card_ref('77-90')}, not AB123 nor x77-90;"
        " upstream refused [redacted]"
    )


async def test_development_keeps_readable_text_lines(api: Api) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    try:
        await api.http.post(
            "/graphql", json={"query": LIST_GROUPS}, headers={**api.headers, "X-Request-ID": "t-1"}
        )
    finally:
        root.handlers[:], root.level = saved
        logging.getLogger("uvicorn.access").disabled = False

    (line,) = [line for line in buffer.getvalue().splitlines() if " httpx: " not in line]
    assert re.match(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO \[t-1\] gocrm\.access: POST /graphql 200 "
        r"\d+\.\dms$",
        line,
    ), line


def test_the_log_format_follows_the_environment_unless_set() -> None:
    assert load_settings({}).log_format == "text"
    assert load_settings({"GOCRM_ENV": "production"}).log_format == "json"
    assert load_settings({"GOCRM_ENV": "production", "GOCRM_LOG_FORMAT": "text"}).log_format == (
        "text"
    )
    assert load_settings({"GOCRM_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ValueError, match="GOCRM_LOG_FORMAT must be 'json' or 'text', not 'xml'"):
        load_settings({"GOCRM_LOG_FORMAT": "xml"})
