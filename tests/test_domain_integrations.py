"""Integration settings parsed in `domain/`: what a client sends and what is stored in, valid
settings or every problem with its field path out. No database."""

from __future__ import annotations

import pytest

from domain.errors import DomainError, ErrorCode
from domain.integrations import (
    IntegrationRequest,
    IntegrationSettings,
    StoredIntegration,
    parse_integration,
)
from domain.upstream import Channel
from tests.english import en

GOPOS, GOORDER = Channel.GOPOS, Channel.GOORDER
INVALID, REQUIRED = ErrorCode.INVALID, ErrorCode.REQUIRED
STORED = StoredIntegration("https://app.gopos.io", has_secret=True)


def gopos(**fields: str | None) -> IntegrationRequest:
    values: dict[str, str | None] = {
        "base_url": "https://app.gopos.io",
        "client_id": "demo",
        "client_secret": "demo-secret",
        "organization_id": "1001",
    }
    return IntegrationRequest(**{**values, **fields})  # type: ignore[arg-type]


def goorder(**fields: str | None) -> IntegrationRequest:
    values: dict[str, str | None] = {
        "base_url": "https://orders.example.com",
        "api_key": "demo-key",
        "store_id": "s1",
    }
    return IntegrationRequest(**{**values, **fields})  # type: ignore[arg-type]


def problems(
    channel: Channel, request: IntegrationRequest, stored: StoredIntegration | None = None
) -> list[tuple[ErrorCode, str | None, str]]:
    with pytest.raises(DomainError) as refused:
        parse_integration(channel, request, stored)
    return [(e.code, e.field, en(e.message)) for e in refused.value.errors]


def test_gopos_settings_are_trimmed_and_the_url_normalised() -> None:
    request = gopos(
        base_url="  HTTPS://App.GoPOS.io/  ",
        client_id=" demo ",
        client_secret=" demo-secret ",
        organization_id=" 1001 ",
    )

    settings = parse_integration(GOPOS, request, None)

    assert settings == IntegrationSettings(
        channel=GOPOS,
        base_url="https://app.gopos.io",
        client_id="demo",
        organization_id="1001",
        store_id=None,
        secret="demo-secret",
    )
    assert settings.columns() == {
        "base_url": "https://app.gopos.io",
        "client_id": "demo",
        "organization_id": "1001",
        "store_id": None,
    }


def test_goorder_settings_keep_a_path_and_a_port() -> None:
    request = goorder(base_url="http://127.0.0.1:8081/goorder/", store_id="store_7.a~b-c")

    settings = parse_integration(GOORDER, request, None)

    assert settings == IntegrationSettings(
        channel=GOORDER,
        base_url="http://127.0.0.1:8081/goorder",
        client_id=None,
        organization_id=None,
        store_id="store_7.a~b-c",
        secret="demo-key",
    )


@pytest.mark.parametrize("left_out", [None, "", "   "])
def test_a_secret_left_out_keeps_the_stored_one(left_out: str | None) -> None:
    settings = parse_integration(GOPOS, gopos(client_secret=left_out), STORED)

    assert settings.secret is None
    assert settings.client_id == "demo"


def test_a_new_secret_replaces_the_stored_one() -> None:
    settings = parse_integration(GOORDER, goorder(api_key="new-key"), STORED)

    assert settings.secret == "new-key"


def test_the_first_configuration_needs_a_secret() -> None:
    assert problems(GOPOS, gopos(client_secret=None)) == [
        (REQUIRED, "input.clientSecret", "Client secret is required to configure the integration.")
    ]
    assert problems(GOORDER, goorder(api_key="  "), StoredIntegration("https://x.io", False)) == [
        (REQUIRED, "input.apiKey", "API key is required to configure the integration.")
    ]


def test_a_new_base_url_needs_the_secret_again() -> None:
    moved = gopos(base_url="https://elsewhere.example.com", client_secret=None)

    assert problems(GOPOS, moved, STORED) == [
        (
            REQUIRED,
            "input.clientSecret",
            "Client secret is required again when the base URL changes.",
        )
    ]
    # the same URL written differently is no change
    same = gopos(base_url="https://APP.gopos.io/", client_secret=None)
    assert parse_integration(GOPOS, same, STORED).secret is None


def test_gopos_needs_a_client_id_and_an_organization_id() -> None:
    assert problems(GOPOS, gopos(client_id=None, organization_id="  ")) == [
        (REQUIRED, "input.clientId", "Client ID is required."),
        (REQUIRED, "input.organizationId", "Organization ID is required."),
    ]


def test_goorder_needs_a_store_id() -> None:
    assert problems(GOORDER, goorder(store_id=None)) == [
        (REQUIRED, "input.storeId", "Store ID is required.")
    ]


def test_fields_of_the_other_upstream_are_refused() -> None:
    assert problems(GOPOS, gopos(store_id="s1", api_key="k")) == [
        (INVALID, "input.apiKey", "GoPOS does not use apiKey."),
        (INVALID, "input.storeId", "GoPOS does not use storeId."),
    ]
    assert problems(GOORDER, goorder(client_id="c", client_secret="x", organization_id="1")) == [
        (INVALID, "input.clientId", "GoOrder does not use clientId."),
        (INVALID, "input.clientSecret", "GoOrder does not use clientSecret."),
        (INVALID, "input.organizationId", "GoOrder does not use organizationId."),
    ]
    # blank ones, as a form sends them, are no values
    assert parse_integration(GOORDER, goorder(client_id="", organization_id=" "), None).store_id


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://app.gopos.io", "Base URL must start with http:// or https://."),
        ("app.gopos.io", "Base URL must start with http:// or https://."),
        ("javascript:alert(1)", "Base URL must start with http:// or https://."),
        ("http:app.gopos.io", "Base URL must start with http:// or https://."),
        ("https://user:pw@app.gopos.io", "Base URL must not contain a user name or password."),
        ("https://token@app.gopos.io", "Base URL must not contain a user name or password."),
        ("https:///path", "Base URL must name a host."),
        ("https://:443", "Base URL must name a host."),
        ("https://app.gopos.io:99999", "Base URL has an invalid port."),
        ("https://app.gopos.io:https", "Base URL has an invalid port."),
        ("https://app.gopos.io/?x=1", "Base URL must not contain a query (?…)."),
        ("https://app.gopos.io?", "Base URL must not contain a query (?…)."),
        ("https://app.gopos.io/#top", "Base URL must not contain a fragment (#…)."),
        ("https://app.gopos.io/a b", "Base URL must not contain spaces."),
        ("https://app.gopos.io/\x00", "Base URL must not contain control characters (U+0000)."),
        ("https://app\u202e.io", "Base URL must not contain control characters (U+202E)."),
        (
            "https://żabka.pl",
            "Base URL must be ASCII (write an international domain name in its xn-- form).",
        ),
        ("https://[::1", "Base URL is not a valid URL."),
        ("https://x.io/" + "a" * 500, "Base URL must be at most 500 characters."),
    ],
)
def test_a_bad_base_url_is_invalid(url: str, message: str) -> None:
    assert problems(GOPOS, gopos(base_url=url)) == [(INVALID, "input.baseUrl", message)]


def test_a_blank_base_url_is_required() -> None:
    assert problems(GOORDER, goorder(base_url="  ")) == [
        (REQUIRED, "input.baseUrl", "Base URL must not be empty.")
    ]


def test_a_base_url_of_500_characters_is_accepted() -> None:
    url = "https://x.io/" + "a" * (500 - len("https://x.io/"))

    assert parse_integration(GOPOS, gopos(base_url=url), None).base_url == url


@pytest.mark.parametrize(
    ("field", "value", "path", "message"),
    [
        ("client_id", "a" * 201, "input.clientId", "Client ID must be at most 200 characters."),
        (
            "client_id",
            "de\x1bmo",
            "input.clientId",
            "Client ID must not contain control characters (U+001B).",
        ),
        (
            "client_secret",
            "s" * 1001,
            "input.clientSecret",
            "Client secret must be at most 1000 characters.",
        ),
        (
            "client_secret",
            "sec\nret",
            "input.clientSecret",
            "Client secret must not contain control characters (U+000A).",
        ),
        (
            "organization_id",
            "../1001",
            "input.organizationId",
            "Organization ID may contain only letters, digits, dots, underscores, tildes "
            "and dashes.",
        ),
        (
            "organization_id",
            "..",
            "input.organizationId",
            "Organization ID may contain only letters, digits, dots, underscores, tildes "
            "and dashes.",
        ),
        (
            "organization_id",
            "10 01",
            "input.organizationId",
            "Organization ID may contain only letters, digits, dots, underscores, tildes "
            "and dashes.",
        ),
    ],
)
def test_bad_gopos_ids_and_secrets_are_invalid(
    field: str, value: str, path: str, message: str
) -> None:
    assert problems(GOPOS, gopos(**{field: value})) == [(INVALID, path, message)]


@pytest.mark.parametrize(
    ("field", "value", "path", "message"),
    [
        (
            "api_key",
            "k\x00",
            "input.apiKey",
            "API key must not contain control characters (U+0000).",
        ),
        (
            "store_id",
            "s1/../../admin",
            "input.storeId",
            "Store ID may contain only letters, digits, dots, underscores, tildes and dashes.",
        ),
        (
            "store_id",
            "s1?page=2",
            "input.storeId",
            "Store ID may contain only letters, digits, dots, underscores, tildes and dashes.",
        ),
        ("store_id", "s" * 201, "input.storeId", "Store ID must be at most 200 characters."),
    ],
)
def test_bad_goorder_ids_and_secrets_are_invalid(
    field: str, value: str, path: str, message: str
) -> None:
    assert problems(GOORDER, goorder(**{field: value})) == [(INVALID, path, message)]


def test_every_problem_is_reported_at_once() -> None:
    request = IntegrationRequest(base_url="", store_id="s1", client_secret="x")

    assert problems(GOPOS, request) == [
        (REQUIRED, "input.baseUrl", "Base URL must not be empty."),
        (REQUIRED, "input.clientId", "Client ID is required."),
        (REQUIRED, "input.organizationId", "Organization ID is required."),
        (INVALID, "input.storeId", "GoPOS does not use storeId."),
    ]


def test_no_secret_appears_in_a_repr_or_a_message() -> None:
    request = gopos(client_secret="s3cr3t-value", organization_id="../x")
    settings = parse_integration(GOORDER, goorder(api_key="k3y-value"), None)

    with pytest.raises(DomainError) as refused:
        parse_integration(GOPOS, request, None)

    assert "s3cr3t-value" not in repr(request)
    assert "s3cr3t-value" not in str(refused.value)
    assert all("s3cr3t-value" not in en(e.message) for e in refused.value.errors)
    assert "k3y-value" not in repr(settings)
    assert repr(settings).endswith("secret=<new>)")
    assert [(e.code, e.field, en(e.message)) for e in refused.value.errors] == [
        (
            INVALID,
            "input.organizationId",
            "Organization ID may contain only letters, digits, dots, underscores, tildes "
            "and dashes.",
        ),
    ]
