"""A GraphQL-over-HTTP request read and checked before anything runs.

The response type negotiated from `Accept`; the API key from `Authorization: Bearer`; the query,
variables and operation name from a GET's query string or a POST's JSON body. A body is read
only up to `max_body_bytes` (413 past it), its JSON checked by `request_json` (400), and
anything that is not one GraphQL request is refused with `BadRequestError` (400 or 415).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from starlette.requests import Request

from gateway.graphql import request_json

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class BadRequestError(Exception):
    """A request refused before it runs, with its status, headers and code."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        headers: dict[str, str] | None = None,
        code: str = "BAD_REQUEST",
    ):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.code = code


def _too_large(limit: int) -> BadRequestError:
    return BadRequestError(
        f"The body is larger than {limit:,} bytes.", status=413, code="PAYLOAD_TOO_LARGE"
    )


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused from its Content-Length or as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequestError("Content-Length must be a number of bytes.")
        if int(declared) > limit:
            raise _too_large(limit)
        # Within the limit, and the server reads no more than it declares: read it whole.
        return await request.body()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def media_type(accept: str) -> str | None:
    """The response type to use for an Accept header, or None when we can offer none. A till
    sends the same short header on every request: those answers are remembered."""
    if len(accept) <= _CACHED_ACCEPT_LENGTH:
        return _negotiated(accept)
    return _negotiate(accept)


_CACHED_ACCEPT_LENGTH = 200


@lru_cache(maxsize=256)
def _negotiated(accept: str) -> str | None:
    return _negotiate(accept)


def _negotiate(accept: str) -> str | None:
    if not accept.strip():
        return JSON
    offered: list[tuple[float, str]] = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        offered.append((quality, media.lower()))
    for quality, media in sorted(offered, key=lambda o: -o[0]):
        if quality <= 0:
            continue
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media in (JSON, "application/*", "*/*"):
            return JSON
    return None


def wants_ide(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


async def read_params(request: Request, max_body_bytes: int) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        for name in ("variables", "extensions"):
            if name in params:
                try:
                    params[name] = request_json.loads(params[name], f"'{name}'")
                except request_json.UnfitJSONError as exc:
                    raise BadRequestError(str(exc)) from exc
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise BadRequestError("POST bodies must be application/json.", status=415)
    try:
        body = request_json.loads(await _body(request, max_body_bytes))
    except request_json.UnfitJSONError as exc:
        raise BadRequestError(str(exc)) from exc
    if isinstance(body, list):
        raise BadRequestError("Batched requests are not supported.")
    if not isinstance(body, dict):
        raise BadRequestError("The body must be a JSON object.")
    return body


def checked(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables, operation = (
        params.get("query"),
        params.get("variables"),
        params.get("operationName"),
    )
    if not isinstance(query, str) or not query.strip():
        raise BadRequestError("A 'query' string is required.")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequestError("'variables' must be an object.")
    if operation is not None and not isinstance(operation, str):
        raise BadRequestError("'operationName' must be a string.")
    return query, variables, operation


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
