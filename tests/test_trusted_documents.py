"""Trusted documents (`gateway.graphql.trusted`): the manifest matches the files, every shipped
document is valid, the console's module holds the console's documents and the console sends
nothing else, requests name documents by id or by APQ hash, and in production a till's key
runs nothing else (TRUSTED_DOCUMENT_REQUIRED, before anything is parsed or written), while an
ADMIN key may, unless the setting says otherwise; an operator's manifest adds documents."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry

from domain.access import Role
from gateway.app import create_app
from gateway.cli_checks import check_trusted_documents
from gateway.cli_database import CommandError
from gateway.console import HERE as CONSOLE
from gateway.graphql.execute import engine_schema
from gateway.graphql.trusted import (
    CONSOLE_DOCUMENTS,
    DOCUMENTS,
    MANIFEST,
    ManifestError,
    TrustedDocument,
    console_module,
    documents_in,
    load_file,
    load_manifest,
    manifest_text,
    write_manifest,
)
from models.tables.checkouts import Checkout
from settings import Settings, load_settings
from tests.helpers import Api, new_location

CARD_LOOKUP = (DOCUMENTS / "till" / "CustomerByCard.graphql").read_text("utf-8").rstrip()
CARD_LOOKUP_ID = hashlib.sha256(CARD_LOOKUP.encode()).hexdigest()
AD_HOC = "query Mine($code: String!) { customer(cardCode: $code) { id firstName } }"
AD_HOC_HASH = hashlib.sha256(AD_HOC.encode()).hexdigest()
COMMIT_AD_HOC = """mutation { commitCheckout(idempotencyKey: "k-1", input: {channel: POS,
  lines: [{productId: "kawa", quantity: "1", unitPrice: "10.00"}]}) { checkout { id } } }"""
UNKNOWN = "0" * 64
CONSOLE_MODULE = CONSOLE / "static" / "documents.js"
# A GraphQL text in a console module: a string or template opening an operation or a selection.
GRAPHQL_TEXT = re.compile(
    r"""[`"']\s*(?:(?:query|mutation|subscription)\b|\{\s*[a-z]\w*(?:\s*:\s*\w+)?\s*[({])"""
)


def _manifest(*bodies: str) -> str:
    return json.dumps(
        {
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [
                {
                    "id": hashlib.sha256(body.encode()).hexdigest(),
                    "name": body.split("(")[0].split()[1],
                    "type": body.split()[0],
                    "body": body,
                }
                for body in bodies
            ],
        }
    )


# ----------------------------------------------------------------------------- the manifest


def test_the_manifest_lists_exactly_the_document_files() -> None:
    assert MANIFEST.read_text("utf-8") == manifest_text(documents_in()), (
        "run: python -m gateway.graphql.trusted > gateway/graphql/documents/manifest.json"
    )
    till = documents_in(DOCUMENTS / "till")
    console = documents_in(CONSOLE_DOCUMENTS)
    walkthrough = documents_in(DOCUMENTS / "walkthrough")
    assert [d.name for d in till] == [
        "CheckoutQuote",
        "CommitCheckout",
        "CustomerByCard",
        "RefundCheckout",
    ]
    assert len(walkthrough) == 15  # the README's walkthrough steps (tests/test_readme.py)
    assert documents_in() == [*console, *till, *walkthrough]


def test_two_files_cannot_name_their_operations_alike(tmp_path: Path) -> None:
    for client in ("console", "till"):
        (tmp_path / client).mkdir()
        (tmp_path / client / "Viewer.graphql").write_text(
            "query Viewer { viewer { apiKey { id } } }"
        )

    with pytest.raises(ManifestError) as refused:
        documents_in(tmp_path)

    assert str(refused.value) == "till/Viewer.graphql: another file's operation is named Viewer too"


def test_the_console_module_is_written_from_the_console_documents() -> None:
    assert CONSOLE_MODULE.read_text("utf-8") == console_module(documents_in(CONSOLE_DOCUMENTS)), (
        "run: python -m gateway.graphql.trusted --console > gateway/console/static/documents.js"
    )


def test_a_console_document_is_a_constant_holding_its_id_and_text() -> None:
    body = 'query Viewer {\n  viewer { apiKey { name } }\n  referenceFor(name: "Łódź") \n}'
    trusted = TrustedDocument(hashlib.sha256(body.encode()).hexdigest(), "Viewer", "query", body)

    lines = console_module([trusted]).splitlines()

    assert lines[4:] == [
        f'export const Viewer = {{ id: "sha256:{trusted.id}", text: "query Viewer {{\\n  viewer'
        ' { apiKey { name } }\\n  referenceFor(name: \\"Łódź\\") \\n}" };'
    ]
    assert lines[3] == ""


def _console_sources() -> dict[str, str]:
    static = CONSOLE / "static"
    return {
        str(path.relative_to(static)): path.read_text("utf-8")
        for path in sorted(static.rglob("*.js"))
        if "vendor" not in path.parts and path != CONSOLE_MODULE
    }


def test_the_console_sends_only_its_documents_and_uses_each() -> None:
    exported = re.findall(r"^export const (\w+) = ", CONSOLE_MODULE.read_text("utf-8"), re.M)
    used: set[str] = set()
    for name, source in _console_sources().items():
        used |= set(re.findall(r"(?<![\w/])documents\.([A-Z]\w*)", source))
        assert GRAPHQL_TEXT.findall(source) == [], name

    assert used == set(exported)
    assert exported == [d.name for d in documents_in(CONSOLE_DOCUMENTS)]


def test_a_manifest_is_read_back_as_written() -> None:
    documents = documents_in()

    assert load_manifest(manifest_text(documents), "shipped") == documents


def test_an_operators_manifest_is_written_from_texts_by_name(tmp_path: Path) -> None:
    path = write_manifest({"Mine": AD_HOC}, tmp_path / "m.json")

    assert path == tmp_path / "m.json"
    assert [(d.id, d.name, d.type, d.body) for d in load_file(path)] == [
        (AD_HOC_HASH, "Mine", "query", AD_HOC)
    ]
    with pytest.raises(ManifestError) as refused:
        write_manifest({"Yours": AD_HOC}, tmp_path / "other.json")
    assert str(refused.value) == "Yours: its operation is named Mine"
    assert not (tmp_path / "other.json").exists()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: {**m, "format": "relay"}, "x: not an apollo-persisted-query-manifest"),
        (lambda m: {**m, "version": 2}, "x: only version 1 of the format is known"),
        (lambda m: {**m, "operations": {}}, "x: 'operations' is a list of at most 1,000"),
        (
            lambda m: {**m, "operations": [{**m["operations"][0], "id": UNKNOWN}]},
            "x: operations[0]: its id is not the SHA-256 of its body",
        ),
        (
            lambda m: {**m, "operations": [{**m["operations"][0], "name": "Other"}]},
            "x: operations[0]: its name or type is not its operation's",
        ),
        (
            lambda m: {**m, "operations": [{"id": UNKNOWN}]},
            "x: operations[0]: has no 'body'",
        ),
    ],
)
def test_a_manifest_that_cannot_be_trusted_is_refused_naming_the_problem(
    change: Callable[[dict[str, Any]], dict[str, Any]], problem: str
) -> None:
    manifest = json.loads(_manifest(AD_HOC))

    with pytest.raises(ManifestError) as refused:
        load_manifest(json.dumps(change(manifest)), "x")

    assert str(refused.value) == problem


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "{ viewer { location { id } } }",
            "x: operations[0]: a trusted document's operation has a name",
        ),
        (
            "query A { viewer { location { id } } } query B { viewer { location { id } } }",
            "x: operations[0]: a trusted document holds one operation and its fragments",
        ),
        ("subscription S { x }", "x: operations[0]: only queries and mutations can be trusted"),
        (
            "query Q {",
            "x: operations[0]: not a GraphQL document: Syntax Error: Expected Name, found <EOF>.",
        ),
    ],
)
def test_a_document_that_cannot_be_trusted_is_refused(body: str, problem: str) -> None:
    manifest = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {
                "id": hashlib.sha256(body.encode()).hexdigest(),
                "name": "Q",
                "type": "query",
                "body": body,
            }
        ],
    }
    with pytest.raises(ManifestError) as refused:
        load_manifest(json.dumps(manifest), "x")

    assert str(refused.value) == problem


def test_the_setting_names_an_operators_manifest(tmp_path: Path) -> None:
    settings = load_settings(
        {"GOCRM_TRUSTED_DOCUMENTS": "/srv/docs.json", "GOCRM_TRUSTED_DOCUMENTS_FOR_ADMIN": "1"}
    )
    assert (settings.trusted_documents, settings.trusted_documents_for_admin) == (
        "/srv/docs.json",
        True,
    )
    assert (load_settings({}).trusted_documents, load_settings({}).trusted_documents_for_admin) == (
        None,
        False,
    )
    with pytest.raises(ValueError, match=r"^GOCRM_TRUSTED_DOCUMENTS_FOR_ADMIN must be 1 or 0"):
        load_settings({"GOCRM_TRUSTED_DOCUMENTS_FOR_ADMIN": "yes"})


def test_an_operators_document_the_schema_refuses_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(_manifest('query Broken { customer(cardCode: "x") { nope } }'))
    settings = Settings(trusted_documents=str(path))

    with pytest.raises(CommandError) as refused:
        check_trusted_documents(settings)
    assert str(refused.value).startswith(
        "GOCRM_TRUSTED_DOCUMENTS: the trusted document Broken (sha256:"
    )
    assert str(refused.value).endswith(
        "is not valid against the schema: Cannot query field 'nope' on type 'Customer'."
        " Did you mean 'note'?"
    )
    with pytest.raises(ManifestError):
        create_app(settings, manage_database=False)
    check_trusted_documents(Settings())  # the shipped ones are all valid


@strawberry.type(name="Query")
class _Query:
    @strawberry.field
    def one(self) -> int:
        return 1


@strawberry.type(name="Query")
class _OtherQuery:
    @strawberry.field
    def two(self) -> int:
        return 2


@strawberry.type(name="Mutation")
class _Mutation:
    @strawberry.mutation
    def noop(self) -> bool:
        return True


def test_a_document_is_checked_once_for_each_shape_of_schema_and_rules() -> None:
    """Gateways built in one process share their trusted documents' checks, but only where the
    schema prints the same and the rules are the same."""
    text, introspection = "query One { one }", "query Types { __schema { types { name } } }"

    first = engine_schema(query=_Query, mutation=_Mutation, production=False)
    again = engine_schema(query=_Query, mutation=_Mutation, production=False)
    other = engine_schema(query=_OtherQuery, mutation=_Mutation, production=False)
    production = engine_schema(query=_Query, mutation=_Mutation, production=True)

    assert first.prepare([text, introspection]) == {}
    assert again.prepare([text]) == {}
    assert again.prepared[text] is first.prepared[text]
    refused = other.prepare([text])
    assert [e.message for e in refused[text]] == ["Cannot query field 'one' on type 'Query'."]
    assert text not in other.prepared
    refused = production.prepare([introspection])
    assert [e.message for e in refused[introspection]] == [
        "GraphQL introspection has been disabled, but the requested query contained the field"
        f" '{field}'."
        for field in ("__schema", "types")
    ]


# ----------------------------------------------------------------------------- requests


@pytest.fixture
def operator_manifest(tmp_path: Path) -> Path:
    path = tmp_path / "operator.json"
    path.write_text(
        _manifest("query Operators($code: String!) { customer(cardCode: $code) { id } }")
    )
    return path


def _client(settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, manage_database=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


@pytest.fixture
async def production(
    database: Settings, operator_manifest: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = dataclasses.replace(
        database, env="production", trusted_documents=str(operator_manifest)
    )
    async with _client(settings) as client:
        yield client


@pytest.fixture
async def admin(production: httpx.AsyncClient) -> Api:
    api = await new_location(production, "Zaufany Bar")
    customer = {"input": {"firstName": "Anna", "cards": [{"code": "CARD-1"}]}}
    await api.mutate(
        "mutation($input: CustomerInput!) { createCustomer(input: $input) { errors { code } } }",
        customer,
    )
    return api


@pytest.fixture
async def tillkey(admin: Api) -> Api:
    return await admin.key_with_role(Role.POS)


async def _post(api: Api, body: dict[str, Any], language: str = "en") -> httpx.Response:
    headers = {**api.headers, "Accept-Language": language}
    return await api.http.post("/graphql", json=body, headers=headers)


def _refusal(response: httpx.Response) -> tuple[int, str, str]:
    (error,) = response.json()["errors"]
    return response.status_code, error["extensions"]["code"], error["message"]


REQUIRED_EN = (
    400,
    "TRUSTED_DOCUMENT_REQUIRED",
    "This API key may run only trusted documents: send the document's id "
    '(documentId "sha256:…") from the product\'s or your own manifest.',
)
NOT_FOUND = (400, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")


async def test_a_till_key_in_production_runs_a_trusted_document_by_id(tillkey: Api) -> None:
    response = await _post(
        tillkey, {"documentId": f"sha256:{CARD_LOOKUP_ID}", "variables": {"cardCode": "CARD-1"}}
    )

    assert response.status_code == 200
    assert response.json()["data"]["customer"]["firstName"] == "Anna"


async def test_a_till_key_in_production_runs_a_trusted_document_sent_as_its_text(
    tillkey: Api,
) -> None:
    response = await _post(tillkey, {"query": CARD_LOOKUP, "variables": {"cardCode": "CARD-1"}})

    assert response.json()["data"]["customer"]["firstName"] == "Anna"


async def test_a_till_key_in_production_runs_nothing_else(tillkey: Api) -> None:
    sales_before = await Checkout.all().count()

    refusals = [
        _refusal(await _post(tillkey, {"query": AD_HOC, "variables": {"code": "CARD-1"}})),
        _refusal(await _post(tillkey, {"query": COMMIT_AD_HOC})),
        _refusal(await _post(tillkey, {"query": CARD_LOOKUP + " "})),  # not the text trusted
    ]

    assert refusals == [REQUIRED_EN] * 3
    assert await Checkout.all().count() == sales_before
    (error,) = (await _post(tillkey, {"query": AD_HOC}, language="pl")).json()["errors"]
    assert error["message"] == (
        "Ten klucz API może wykonywać tylko zaufane dokumenty: wyślij identyfikator dokumentu "
        '(documentId "sha256:…") z manifestu produktu lub własnego.'
    )


async def test_a_till_key_cannot_register_a_document_by_apq(tillkey: Api) -> None:
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": AD_HOC_HASH}}

    with_text = await _post(tillkey, {"query": AD_HOC, "extensions": persisted})
    by_hash = await _post(tillkey, {"extensions": persisted, "variables": {"code": "CARD-1"}})

    assert _refusal(with_text) == REQUIRED_EN
    assert _refusal(by_hash) == NOT_FOUND


async def test_a_trusted_document_runs_by_its_apq_hash(tillkey: Api) -> None:
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": CARD_LOOKUP_ID}}

    response = await _post(tillkey, {"extensions": persisted, "variables": {"cardCode": "CARD-1"}})

    assert response.json()["data"]["customer"]["firstName"] == "Anna"


async def test_an_operators_manifest_adds_documents_a_till_may_run(tillkey: Api) -> None:
    body = "query Operators($code: String!) { customer(cardCode: $code) { id } }"
    digest = hashlib.sha256(body.encode()).hexdigest()

    response = await _post(
        tillkey, {"documentId": f"sha256:{digest}", "variables": {"code": "CARD-1"}}
    )

    assert set(response.json()["data"]["customer"]) == {"id"}


async def test_an_admin_key_in_production_runs_any_document_and_registers_by_apq(
    admin: Api,
) -> None:
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": AD_HOC_HASH}}
    variables = {"code": "CARD-1"}

    unknown = await _post(admin, {"extensions": persisted, "variables": variables})
    registered = await _post(
        admin, {"query": AD_HOC, "extensions": persisted, "variables": variables}
    )
    by_hash = await _post(admin, {"extensions": persisted, "variables": variables})
    ad_hoc = await _post(admin, {"query": AD_HOC, "variables": variables})

    assert _refusal(unknown) == NOT_FOUND
    for response in (registered, by_hash, ad_hoc):
        assert response.json()["data"]["customer"]["firstName"] == "Anna"


async def test_a_setting_requires_trusted_documents_of_admin_keys_too(
    database: Settings,
) -> None:
    settings = dataclasses.replace(database, env="production", trusted_documents_for_admin=True)
    async with _client(settings) as http:
        api = await new_location(http, "Ścisły Bar")
        refused = await _post(api, {"query": AD_HOC, "variables": {"code": "X"}})
        trusted = await _post(
            api, {"documentId": f"sha256:{CARD_LOOKUP_ID}", "variables": {"cardCode": "X"}}
        )

    assert _refusal(refused) == REQUIRED_EN
    assert trusted.json() == {"data": {"customer": None}}


async def test_in_development_a_till_key_runs_any_document(api: Api) -> None:
    till = await api.key_with_role(Role.POS)

    response = await _post(till, {"query": AD_HOC, "variables": {"code": "NONE"}})

    assert response.json() == {"data": {"customer": None}}


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (
            {"documentId": f"sha256:{UNKNOWN}"},
            NOT_FOUND,
        ),
        (
            {"documentId": f"sha256:{CARD_LOOKUP_ID}", "query": CARD_LOOKUP},
            (400, "BAD_REQUEST", "Send either 'documentId' or 'query', not both."),
        ),
        (
            {"documentId": CARD_LOOKUP_ID},
            (400, "BAD_REQUEST", "'documentId' is 'sha256:' and 64 lower-case hex digits."),
        ),
        (
            {
                "query": AD_HOC,
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": UNKNOWN}},
            },
            (400, "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query"),
        ),
        (
            {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": UNKNOWN}}},
            (
                400,
                "BAD_REQUEST",
                "'persistedQuery' is version 1 with a 'sha256Hash' of 64 lower-case hex digits.",
            ),
        ),
    ],
)
async def test_a_document_named_wrongly_is_refused(
    tillkey: Api, body: dict[str, Any], refusal: tuple[int, str, str]
) -> None:
    assert _refusal(await _post(tillkey, body)) == refusal


async def test_a_get_names_a_trusted_document_by_id(tillkey: Api) -> None:
    params = {
        "documentId": f"sha256:{CARD_LOOKUP_ID}",
        "variables": json.dumps({"cardCode": "CARD-1"}),
    }
    response = await tillkey.http.get("/graphql", params=params, headers=tillkey.headers)

    assert response.json()["data"]["customer"]["firstName"] == "Anna"
