"""GraphQL over HTTP: methods, media types, authentication, request ids, limits, environments."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import services.groups
from domain.access import Role
from gateway.app import create_app
from gateway.graphql.trusted import document, manifest_text, sha256_of
from gateway.observability import RequestIdFilter
from settings import Settings
from tests.builders import LIST_GROUPS, VIEWER, group_counts
from tests.english import checked
from tests.helpers import CREATE_GROUP, Api, create_group, new_location

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
UNAUTHENTICATED = {
    "errors": [
        {"message": "A valid API key is required.", "extensions": {"code": "UNAUTHENTICATED"}}
    ]
}
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
INVALID_QUERY = "{ viewer { nope } }"


def _with(api: Api, **headers: str) -> dict[str, str]:
    return {**api.headers, **headers}


async def _post(api: Api, body: Any, **headers: str) -> httpx.Response:
    return await api.http.post("/graphql", json=body, headers=_with(api, **headers))


async def _get(api: Api, params: dict[str, str], **headers: str) -> httpx.Response:
    return await api.http.get("/graphql", params=params, headers=_with(api, **headers))


@pytest.fixture
async def production(database: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(database, env="production"), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.fixture
async def prod_api(production: httpx.AsyncClient) -> Api:
    return await new_location(production, "Production Bistro")


# ------------------------------------------------------------------ methods


async def test_post_runs_a_query(api: Api) -> None:
    response = await _post(api, {"query": VIEWER})

    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json()["data"]["viewer"]["location"]["id"] == api.location_id


async def test_post_runs_a_mutation(api: Api) -> None:
    response = await _post(api, {"query": CREATE_GROUP, "variables": {"input": {"name": "VIP"}}})

    assert response.status_code == 200
    assert response.json()["data"]["createCustomerGroup"]["group"]["reference"] == "vip"
    assert await group_counts(api) == {"vip": 0}


async def test_get_runs_a_query_with_variables(api: Api) -> None:
    group = await create_group(api, "Stały klient")
    query = "query($id: ID!) { customerGroup(id: $id) { id reference } }"

    response = await _get(api, {"query": query, "variables": json.dumps({"id": group["id"]})})

    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == {
        "data": {"customerGroup": {"id": group["id"], "reference": "staly-klient"}}
    }


async def test_other_methods_are_405(api: Api) -> None:
    response = await api.http.put("/graphql", json={"query": VIEWER}, headers=api.headers)

    assert response.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["allow"].split(",")}


async def test_get_with_variables_that_are_not_json_is_a_bad_request(api: Api) -> None:
    response = await _get(api, {"query": VIEWER, "variables": "{not json"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


async def test_get_with_a_mutation_is_405_and_runs_nothing(api: Api) -> None:
    mutation = 'mutation { createCustomerGroup(input: {name: "Via GET"}) { errors { code } } }'

    response = await _get(api, {"query": mutation})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "data" not in response.json()
    assert await group_counts(api) == {}


async def test_get_selects_the_query_of_a_document_that_also_holds_a_mutation(api: Api) -> None:
    document = (
        "query Who { viewer { apiKey { role } } } "
        'mutation Make { createCustomerGroup(input: {name: "Via GET"}) { errors { code } } }'
    )

    query = await _get(api, {"query": document, "operationName": "Who"})
    mutation = await _get(api, {"query": document, "operationName": "Make"})

    assert query.status_code == 200
    assert query.json() == {"data": {"viewer": {"apiKey": {"role": "ADMIN"}}}}
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert await group_counts(api) == {}


# ------------------------------------------------------------------ media types


async def test_graphql_response_json_is_used_when_accepted(api: Api) -> None:
    response = await _post(api, {"query": VIEWER}, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json()["data"]["viewer"]["apiKey"]["role"] == "ADMIN"


async def test_a_validation_error_is_400_without_data_for_graphql_response_json(api: Api) -> None:
    response = await _post(api, {"query": INVALID_QUERY}, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body
    assert [e["message"] for e in body["errors"]] == ["Cannot query field 'nope' on type 'Viewer'."]


async def test_a_validation_error_is_200_without_data_for_application_json(api: Api) -> None:
    response = await _post(api, {"query": INVALID_QUERY}, accept=JSON)

    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert "data" not in body
    assert [e["message"] for e in body["errors"]] == ["Cannot query field 'nope' on type 'Viewer'."]


async def test_a_bad_variable_is_a_request_error(api: Api) -> None:
    body = {"query": "query($id: ID!) { customerGroup(id: $id) { id } }", "variables": {}}

    strict = await _post(api, body, accept=GRAPHQL_RESPONSE)
    lenient = await _post(api, body, accept=JSON)

    assert strict.status_code == 400
    assert lenient.status_code == 200
    assert "data" not in strict.json()
    assert strict.json() == lenient.json()


async def test_a_field_error_keeps_data_and_status_200_for_graphql_response_json(
    api: Api,
) -> None:
    # an execution error is not a request error: `data` is present (null) and the status 200
    response = await _post(
        api, {"query": "{ customers(first: 201) { totalCount } }"}, accept=GRAPHQL_RESPONSE
    )

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("text/html, application/json;q=0.9", JSON),
        (f"{JSON};q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.2, {JSON}", JSON),
    ],
)
async def test_the_response_type_follows_the_accept_header(
    api: Api, accept: str, expected: str
) -> None:
    response = await _post(api, {"query": VIEWER}, accept=accept)

    assert response.status_code == 200
    assert response.headers["content-type"] == expected


@pytest.mark.parametrize("accept", ["text/csv", "text/html", f"text/csv, {JSON};q=0"])
async def test_an_unsupported_accept_header_is_406(api: Api, accept: str) -> None:
    response = await _post(api, {"query": VIEWER}, accept=accept)

    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"] == {"code": "NOT_ACCEPTABLE"}


async def test_a_post_body_that_is_not_json_is_415(api: Api) -> None:
    response = await api.http.post(
        "/graphql", content=VIEWER.encode(), headers=_with(api, **{"content-type": "text/plain"})
    )

    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


async def test_a_json_content_type_with_charset_is_accepted(api: Api) -> None:
    response = await api.http.post(
        "/graphql",
        content=json.dumps({"query": VIEWER}).encode(),
        headers=_with(api, **{"content-type": "application/json; charset=utf-8"}),
    )

    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["location"]["id"] == api.location_id


@pytest.mark.parametrize(
    "content",
    [b'{"query": ', b"\xff\xfe not utf-8", b"42", b'"{ viewer { location { id } } }"', b"{}"],
    ids=["malformed", "not-utf8", "number", "string", "no-query"],
)
async def test_a_body_that_is_not_a_graphql_request_is_400(api: Api, content: bytes) -> None:
    response = await api.http.post(
        "/graphql", content=content, headers=_with(api, **{"content-type": JSON})
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


async def test_a_batch_is_400_and_runs_nothing(api: Api) -> None:
    batch = [
        {"query": VIEWER},
        {"query": CREATE_GROUP, "variables": {"input": {"name": "Batched"}}},
    ]

    response = await _post(api, batch)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "Batched requests are not supported.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }
    assert await group_counts(api) == {}


# ------------------------------------------------------------------ authentication


async def test_a_request_without_a_key_is_401(api: Api) -> None:
    response = await api.http.post("/graphql", json={"query": VIEWER})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == UNAUTHENTICATED


@pytest.mark.parametrize(
    "authorization",
    ["Bearer gocrm_not-a-key", "Bearer ", "Basic YWRtaW46YWRtaW4=", "gocrm_bare"],
)
async def test_a_wrong_key_is_401(api: Api, authorization: str) -> None:
    response = await api.http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": authorization}
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == UNAUTHENTICATED


async def test_a_mutation_without_a_key_runs_nothing(api: Api) -> None:
    response = await api.http.post(
        "/graphql", json={"query": CREATE_GROUP, "variables": {"input": {"name": "Anon"}}}
    )

    assert response.status_code == 401
    assert await group_counts(api) == {}


async def test_the_bearer_scheme_is_case_insensitive(api: Api) -> None:
    response = await api.http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"bearer {api.key}"}
    )

    assert response.status_code == 200


# ------------------------------------------------------------------ request ids and health


async def test_every_response_has_a_request_id(api: Api) -> None:
    ok = await _post(api, {"query": VIEWER})
    unauthenticated = await api.http.post("/graphql", json={"query": VIEWER})
    health = await api.http.get("/healthz")

    ids = [r.headers["x-request-id"] for r in (ok, unauthenticated, health)]
    assert all(GENERATED_ID.match(i) for i in ids), ids
    assert len(set(ids)) == 3


async def test_a_well_formed_request_id_is_echoed(api: Api) -> None:
    response = await _post(api, {"query": VIEWER}, **{"x-request-id": "pos-7:req_42.A-b"})

    assert response.headers["x-request-id"] == "pos-7:req_42.A-b"


@pytest.mark.parametrize("incoming", ["has space", "x" * 65, "semi;colon", ""])
async def test_a_malformed_request_id_is_replaced(api: Api, incoming: str) -> None:
    response = await _post(api, {"query": VIEWER}, **{"x-request-id": incoming})

    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_healthz(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# ------------------------------------------------------------------ limits


def _nested(depth: int) -> str:
    """A query of the given depth (fields with a selection set on the deepest path).

    The schema's deepest real path is customers.edges.node.groups (depth 4), so deeper queries
    continue with unknown fields: they fail validation anyway, and the test looks for the depth
    rule's own error among the errors.
    """
    fields = ["customers", "edges", "node", "groups"] + [f"f{n}" for n in range(depth - 4)]
    selection = "id"
    for name in reversed(fields):
        selection = f"{name} {{ {selection} }}"
    return f"query Deep {{ {selection} }}"


def _depth_errors(body: dict[str, Any]) -> list[str]:
    return [e["message"] for e in body["errors"] if "depth" in e["message"]]


async def test_a_query_deeper_than_10_is_refused(api: Api) -> None:
    response = await _post(api, {"query": _nested(11)})

    body = response.json()
    assert "data" not in body
    assert _depth_errors(body) == ["'Deep' exceeds maximum operation depth of 10"]


async def test_a_query_of_depth_10_passes_the_depth_rule(api: Api) -> None:
    deep = (await _post(api, {"query": _nested(10)})).json()
    real = (await _post(api, {"query": _nested(4)})).json()

    assert _depth_errors(deep) == []
    assert real == {"data": {"customers": {"edges": []}}}


def _aliases(prefix: str, count: int) -> str:
    return " ".join(f"{prefix}{n}: __typename" for n in range(count))


async def test_30_aliases_are_allowed(api: Api) -> None:
    response = await _post(api, {"query": f"{{ {_aliases('a', 30)} }}"})

    assert response.status_code == 200
    assert response.json()["data"] == {f"a{n}": "Query" for n in range(30)}


async def test_31_aliases_are_refused(api: Api) -> None:
    response = await _post(api, {"query": f"{{ {_aliases('a', 31)} }}"}, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": "31 aliases found. Allowed: 30"}],
    }


async def test_aliases_in_fragments_count_too(api: Api) -> None:
    allowed = (
        "query { ...A ...B } "
        f"fragment A on Query {{ {_aliases('a', 15)} }} "
        f"fragment B on Query {{ {_aliases('b', 15)} }}"
    )
    refused = (
        "query { viewer { ...V } ...B } "
        f"fragment V on Viewer {{ {' '.join(f'v{n}: location {{ id }}' for n in range(16))} }} "
        f"fragment B on Query {{ {_aliases('b', 15)} }}"
    )

    ok = await _post(api, {"query": allowed})
    refused_response = await _post(api, {"query": refused})

    assert len(ok.json()["data"]) == 30
    assert refused_response.json() == {"errors": [{"message": "31 aliases found. Allowed: 30"}]}


async def test_a_document_of_more_than_5000_tokens_is_refused(api: Api) -> None:
    response = await _post(api, {"query": "{ " + "__typename " * 5000 + "}"})

    body = response.json()
    assert "data" not in body
    assert [e["message"] for e in body["errors"]] == [
        "Syntax Error: Document contains more than 5000 tokens. Parsing aborted."
    ]


# ------------------------------------------------------------------ development and production


async def test_graphiql_is_served_to_browsers_in_development(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "GraphiQL" in response.text


async def test_graphiql_is_not_served_in_production(production: httpx.AsyncClient) -> None:
    response = await production.get(
        "/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )

    assert response.status_code == 401
    assert response.headers["content-type"] == JSON
    assert "GraphiQL" not in response.text


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_works_in_development(api: Api) -> None:
    assert await api.data(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}


@pytest.mark.parametrize(
    ("query", "root"),
    [(INTROSPECTION, "__schema"), ('{ __type(name: "Customer") { fields { name } } }', "__type")],
)
async def test_introspection_is_refused_in_production(prod_api: Api, query: str, root: str) -> None:
    response = await _post(prod_api, {"query": query}, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"] == (
        "GraphQL introspection has been disabled, "
        f"but the requested query contained the field '{root}'."
    )


async def test_production_still_answers_ordinary_queries(prod_api: Api) -> None:
    viewer = (await prod_api.data(VIEWER))["viewer"]

    assert viewer["location"]["name"] == "Production Bistro"
    assert await prod_api.data("{ __typename }") == {"__typename": "Query"}


async def _explode(location_id: object, *_: object) -> list[object]:
    raise RuntimeError("disk on fire at /var/lib/secret")


async def test_an_unexpected_error_is_masked_in_production(
    prod_api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given listing groups fails unexpectedly
    monkeypatch.setattr(services.groups, "list_groups", _explode)

    # when a client lists groups
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.ERROR, logger="gocrm.graphql"):
        response = await _post(prod_api, {"query": LIST_GROUPS}, **{"x-request-id": "trace-77"})

    # then it learns nothing about the failure
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["Unexpected error."]
    assert "disk on fire" not in response.text
    # and the failure is logged with its traceback
    logged = [r for r in caplog.records if r.name == "gocrm.graphql"]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], RuntimeError)
    # with the request id the client got back
    assert response.headers["x-request-id"] == "trace-77"
    assert logged[0].request_id == "trace-77"  # type: ignore[attr-defined]


async def test_an_unexpected_error_is_shown_in_development(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.groups, "list_groups", _explode)

    body = (await _post(api, {"query": LIST_GROUPS})).json()

    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["disk on fire at /var/lib/secret"]


GROUPS = "query Groups { customerGroups { id } }"


async def test_expected_errors_are_not_masked_in_production(
    database: Settings, tmp_path: Path
) -> None:
    # a till's document that asks for what its role may not read, trusted by the operator
    manifest = tmp_path / "operator.json"
    manifest.write_text(manifest_text([document(GROUPS, "groups")]))
    settings = dataclasses.replace(database, env="production", trusted_documents=str(manifest))
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        prod_api = await new_location(client, "Production Bistro")
        pos = await prod_api.key_with_role(Role.POS)
        forbidden = (await _post(pos, {"documentId": f"sha256:{sha256_of(GROUPS)}"})).json()
        invalid = await prod_api.raw("{ customers(first: 201) { totalCount } }")

    assert [e["extensions"]["code"] for e in forbidden["errors"]] == ["FORBIDDEN"]
    assert [e["message"] for e in forbidden["errors"]] == [
        "This API key's role may not run this query."
    ]
    assert [checked(e) for e in invalid["errors"]] == [{"code": "INVALID", "field": "first"}]
    assert [e["message"] for e in invalid["errors"]] == ["Page size must be at most 200."]
