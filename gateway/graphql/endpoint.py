"""`/graphql` following the GraphQL-over-HTTP specification.

- POST (`application/json`) runs queries and mutations; GET runs queries only (a mutation over
  GET is 405 with `Allow: POST`).
- The response is `application/graphql-response+json` when the client accepts it, else
  `application/json`. With the former, a request that fails before execution (parse or
  validation errors, no `data`) is 400; with the latter every well-formed request is 200.
- A missing, unknown or revoked API key is 401 before anything runs. Batching is not supported.
- A key past its rate limit (`gateway.ratelimit`) is 429 with `Retry-After` and the code
  RATE_LIMITED, before its body is read.
- JSON that is not valid, nests deeper than 64 levels or holds an unpaired surrogate (a POST
  body, a GET's `variables` or `extensions`) is 400 with the code BAD_REQUEST.
- A body over `max_body_bytes` is 413, from its Content-Length before reading it, or as soon as
  a chunked body passes the limit. A request running longer than `timeout_seconds` is cancelled
  and answered 503 with the code TIMEOUT; one whose client disconnects is cancelled too.
- While the database cannot be reached (down, restarting, failing over), a request that needs
  it is answered at once with 503 and the code DATABASE_UNAVAILABLE, with `Retry-After`; the
  pool reconnects by itself once the database is back.
- Browsers get GraphiQL in development, served with its assets by the gateway itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from functools import lru_cache
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from gateway import graphiql
from gateway.admission import BackOfficeTurns
from gateway.context import Context
from gateway.graphql import request_json
from gateway.metrics import ERROR, INVALID, USER_ERROR, GraphQLMetrics, outcome
from gateway.observability import location_var, operation_var, request_params_var
from gateway.ratelimit import KeyRateLimits
from models.db import lost_database
from services import access
from services.runtime import Runtime

# The name it had before the engine became a package: operators' log filters name it.
log = logging.getLogger("gateway.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# How long a request runs before it is watched for its client disconnecting.
WATCH_AFTER_SECONDS = 0.05
QUERIES_ONLY = frozenset({OperationType.QUERY})
QUERIES_AND_MUTATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


class _BadRequestError(Exception):
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


T = TypeVar("T")


class _ClientGoneError(Exception):
    """The client disconnected before its answer was ready."""


async def _until_disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _unless_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """Runs `work` in this task, cancelling it when the client disconnects first.

    A request still running after `WATCH_AFTER_SECONDS` gets one watcher task, which cancels
    this one when the client goes. The till's requests finish long before that, so they pay for
    a timer rather than for a task of their own on every request.
    """
    this = asyncio.current_task()
    assert this is not None
    gone = False
    watcher: asyncio.Task[None] | None = None

    async def watch() -> None:
        nonlocal gone
        await _until_disconnected(request)
        gone = True
        this.cancel()

    def start_watching() -> None:
        nonlocal watcher
        watcher = asyncio.create_task(watch())

    timer = asyncio.get_running_loop().call_later(WATCH_AFTER_SECONDS, start_watching)
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:
            raise
        this.uncancel()
        raise _ClientGoneError from None
    finally:
        timer.cancel()
        if watcher is not None:
            watcher.cancel()


def _too_large(limit: int) -> _BadRequestError:
    return _BadRequestError(
        f"The body is larger than {limit:,} bytes.", status=413, code="PAYLOAD_TOO_LARGE"
    )


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused from its Content-Length or as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise _BadRequestError("Content-Length must be a number of bytes.")
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


def _media_type(accept: str) -> str | None:
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


def _wants_ide(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


async def _params(request: Request, max_body_bytes: int) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        for name in ("variables", "extensions"):
            if name in params:
                try:
                    params[name] = request_json.loads(params[name], f"'{name}'")
                except request_json.UnfitJSONError as exc:
                    raise _BadRequestError(str(exc)) from exc
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise _BadRequestError("POST bodies must be application/json.", status=415)
    try:
        body = request_json.loads(await _body(request, max_body_bytes))
    except request_json.UnfitJSONError as exc:
        raise _BadRequestError(str(exc)) from exc
    if isinstance(body, list):
        raise _BadRequestError("Batched requests are not supported.")
    if not isinstance(body, dict):
        raise _BadRequestError("The body must be a JSON object.")
    return body


def _checked(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables, operation = (
        params.get("query"),
        params.get("variables"),
        params.get("operationName"),
    )
    if not isinstance(query, str) or not query.strip():
        raise _BadRequestError("A 'query' string is required.")
    if variables is not None and not isinstance(variables, dict):
        raise _BadRequestError("'variables' must be an object.")
    if operation is not None and not isinstance(operation, str):
        raise _BadRequestError("'operationName' must be a string.")
    return query, variables, operation


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def _rate_limited(media: str, seconds: int) -> JSONResponse:
    return JSONResponse(
        _error_body(
            f"Too many requests with this API key; try again in {seconds} s.", "RATE_LIMITED"
        ),
        status_code=429,
        headers={"Retry-After": str(seconds)},
        media_type=media,
    )


def _database_unavailable(media: str, error: BaseException) -> JSONResponse:
    log.warning("the database is unreachable: %s", str(error) or type(error).__name__)
    return JSONResponse(
        _error_body("The database is unavailable; try again shortly.", "DATABASE_UNAVAILABLE"),
        status_code=503,
        headers={"Retry-After": "1"},
        media_type=media,
    )


async def _lost_database(errors: list[GraphQLError]) -> BaseException | None:
    """The first field error caused by the database being out of reach, if any."""
    for error in errors:
        if error.original_error is not None and await lost_database(error.original_error):
            return error.original_error
    return None


def _is_request_error(errors: list[GraphQLError]) -> bool:
    """Parse and validation errors carry no path; field errors during execution do."""
    return all(error.path is None for error in errors)


class GraphQLEndpoint:
    def __init__(
        self,
        schema: strawberry.Schema,
        runtime: Runtime,
        *,
        ide: bool,
        principals: access.PrincipalCache,
        max_body_bytes: int = 1_048_576,
        timeout_seconds: float = 15.0,
        limits: KeyRateLimits | None = None,
        backoffice_concurrency: int = 0,
    ) -> None:
        self.turns = BackOfficeTurns(backoffice_concurrency)
        self.schema = schema
        self.runtime = runtime
        self.ide = ide
        self.principals = principals
        self.limits = limits if limits is not None and limits.limited else None
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds
        self.metrics = GraphQLMetrics(schema)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return JSONResponse(
                _error_body("Use GET or POST.", "METHOD_NOT_ALLOWED"),
                status_code=405,
                headers={"Allow": "GET, POST"},
            )
        if self.ide and _wants_ide(request):
            return graphiql.page()
        media = _media_type(request.headers.get("accept", ""))
        if media is None:
            return JSONResponse(
                _error_body(f"Accept {GRAPHQL_RESPONSE} or {JSON}.", "NOT_ACCEPTABLE"),
                status_code=406,
            )
        secret = _bearer(request)
        try:
            principal = await self.principals.authenticate(secret) if secret else None
        except Exception as error:
            if not await lost_database(error):
                raise
            return _database_unavailable(media, error)
        if principal is None:
            return JSONResponse(
                _error_body("A valid API key is required.", "UNAUTHENTICATED"),
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
                media_type=media,
            )
        started = time.perf_counter()
        location_var.set(principal.location_id)
        if self.limits is not None and (wait := await self.limits.wait(principal)) is not None:
            return _rate_limited(media, wait)
        label = INVALID
        timer = asyncio.timeout(self.timeout_seconds)
        try:
            async with timer:
                query, variables, operation = _checked(await _params(request, self.max_body_bytes))
                label = self.metrics.operation(query, operation)
                operation_var.set(label)
                request_params_var.set((query, variables))
                execution = self.schema.execute(
                    query,
                    variable_values=variables,
                    context_value=Context(
                        principal=principal, runtime=self.runtime, principals=self.principals
                    ),
                    operation_name=operation,
                    allowed_operation_types=QUERIES_ONLY
                    if request.method == "GET"
                    else QUERIES_AND_MUTATIONS,
                )
                async with self.turns.turn(principal):
                    result = await _unless_disconnected(request, execution)
        except _ClientGoneError:
            log.info("client disconnected; its request was stopped")
            self.metrics.observe(label, ERROR, started)
            return Response(status_code=499)
        except _BadRequestError as bad:
            self.metrics.observe(label, USER_ERROR, started)
            return JSONResponse(
                _error_body(str(bad), bad.code),
                status_code=bad.status,
                headers=bad.headers,
                media_type=media,
            )
        except TimeoutError:
            if not timer.expired():
                raise
            log.warning("request stopped after %s s", self.timeout_seconds)
            self.metrics.observe(label, ERROR, started)
            return JSONResponse(
                _error_body(
                    f"The request took longer than {self.timeout_seconds:g} s and was stopped.",
                    "TIMEOUT",
                ),
                status_code=503,
                media_type=media,
            )
        except InvalidOperationTypeError:
            self.metrics.observe(label, USER_ERROR, started)
            return JSONResponse(
                _error_body("Mutations must be sent with POST.", "METHOD_NOT_ALLOWED"),
                status_code=405,
                headers={"Allow": "POST"},
                media_type=media,
            )
        except (MissingQueryError, CannotGetOperationTypeError) as exc:
            self.metrics.observe(label, USER_ERROR, started)
            return JSONResponse(
                _error_body(str(exc), "BAD_REQUEST"), status_code=400, media_type=media
            )
        if result.errors and (lost := await _lost_database(result.errors)) is not None:
            return _database_unavailable(media, lost)
        body: dict[str, Any] = {}
        status = 200
        if result.errors and result.data is None and _is_request_error(result.errors):
            # Failed before execution: no "data" entry at all.
            status = 400 if media == GRAPHQL_RESPONSE else 200
        else:
            body["data"] = result.data
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            body["extensions"] = result.extensions
        self.metrics.observe(label, outcome(result), started)
        return JSONResponse(body, status_code=status, media_type=media)


class Shortcut:
    """Serves one path with one ASGI app ahead of the router: the till's every request skips
    the route matching and the per-request exception wrappers it does not need. Everything
    else, and every other scope, goes on to `app`."""

    def __init__(self, app: ASGIApp, path: str, endpoint: ASGIApp) -> None:
        self.app = app
        self.path = path
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)
