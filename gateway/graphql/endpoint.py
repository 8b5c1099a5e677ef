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
- A request may name a trusted document instead of sending its text (`documentId`, or Apollo's
  `extensions.persistedQuery`); a key that may run only trusted documents (a till's, in
  production) is refused anything else with 400 and the code TRUSTED_DOCUMENT_REQUIRED, before
  the text is parsed (`gateway.graphql.trusted`).
- Browsers get GraphiQL in development, served with its assets by the gateway itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, TypeVar

from graphql import GraphQLError
from msgspec.json import encode as json_encode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from domain.access import Principal, Role
from gateway import graphiql
from gateway.admission import BackOfficeTurns
from gateway.context import Context
from gateway.graphql.execute import Schema
from gateway.graphql.request import (
    GRAPHQL_RESPONSE,
    JSON,
    BadRequestError,
    bearer,
    checked,
    media_type,
    read_params,
    wants_ide,
)
from gateway.graphql.trusted import TrustedDocuments
from gateway.metrics import ERROR, INVALID, USER_ERROR, GraphQLMetrics, outcome
from gateway.observability import location_var, operation_var, request_params_var
from gateway.ratelimit import KeyRateLimits
from models.db import lost_database
from services import access
from services.i18n import negotiate
from services.runtime import Runtime

# The name it had before the engine became a package: operators' log filters name it.
log = logging.getLogger("gateway.http")

# How long a request runs before it is watched for its client disconnecting.
WATCH_AFTER_SECONDS = 0.05
QUERIES_ONLY = frozenset({OperationType.QUERY})
QUERIES_AND_MUTATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


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


def _reading(request: Request, principal: Principal) -> Principal:
    """The principal in the language the request reads (Accept-Language, else the key's
    location's)."""
    language = negotiate(request.headers.get("accept-language"))
    if language is not None and language != principal.language:
        return replace(principal, language=language)
    return principal


class GraphQLEndpoint:
    """`/graphql`: each request is refused or run in the steps below, in this order."""

    def __init__(
        self,
        schema: Schema,
        runtime: Runtime,
        *,
        ide: bool,
        principals: access.PrincipalCache,
        max_body_bytes: int = 1_048_576,
        timeout_seconds: float = 15.0,
        limits: KeyRateLimits | None = None,
        backoffice_concurrency: int = 0,
        trusted: TrustedDocuments | None = None,
        trusted_only: frozenset[Role] = frozenset(),
    ) -> None:
        self.turns = BackOfficeTurns(backoffice_concurrency)
        # The trusted documents, and the roles whose keys may run no other.
        self.trusted = trusted if trusted is not None else TrustedDocuments(())
        self.trusted_only = trusted_only
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
        if self.ide and wants_ide(request):
            return graphiql.page()
        media = media_type(request.headers.get("accept", ""))
        if media is None:
            return JSONResponse(
                _error_body(f"Accept {GRAPHQL_RESPONSE} or {JSON}.", "NOT_ACCEPTABLE"),
                status_code=406,
            )
        principal = await self.authenticated(request, media)
        if isinstance(principal, Response):
            return principal
        started = time.perf_counter()
        location_var.set(principal.location_id)
        if self.limits is not None and (wait := await self.limits.wait(principal)) is not None:
            return _rate_limited(media, wait)
        return await self.answer(request, principal, media, started)

    async def authenticated(self, request: Request, media: str) -> Principal | Response:
        """The key's principal, or the answer to a request without a valid key (401), or one
        made while the database that knows the keys is out of reach (503)."""
        secret = bearer(request)
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
        return principal

    async def answer(
        self, request: Request, principal: Principal, media: str, started: float
    ) -> Response:
        """Reads the request and runs it within the time limit; a refusal on the way is
        answered by `refused` and counted in the metrics."""
        label = INVALID
        timer = asyncio.timeout(self.timeout_seconds)
        try:
            async with timer:
                params = await read_params(request, self.max_body_bytes)
                principal = _reading(request, principal)
                params = self.trusted.query_of(
                    params,
                    ad_hoc=principal.role not in self.trusted_only,
                    language=principal.language,
                )
                query, variables, operation = checked(params)
                label = self.metrics.operation(query, operation)
                result = await self.run(request, principal, query, variables, operation, label)
        except Exception as error:
            refusal = self.refused(error, timer, media)
            if refusal is None:
                raise
            kind, response = refusal
            self.metrics.observe(label, kind, started)
            return response
        return await self.respond(result, media, label, started)

    async def run(
        self,
        request: Request,
        principal: Principal,
        query: str,
        variables: dict[str, Any] | None,
        operation: str | None,
        label: str,
    ) -> ExecutionResult:
        """Executes the operation in its turn, stopped if the client disconnects; a GET runs
        queries only."""
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
            replica=principal.is_admin,
        )
        async with self.turns.turn(principal):
            return await _unless_disconnected(request, execution)

    def refused(
        self, error: Exception, timer: asyncio.Timeout, media: str
    ) -> tuple[str, Response] | None:
        """The metrics outcome and the answer for a request stopped before its result, or None
        for an error that is not a refusal (it propagates)."""
        if isinstance(error, _ClientGoneError):
            log.info("client disconnected; its request was stopped")
            return ERROR, Response(status_code=499)
        if isinstance(error, BadRequestError):
            body = _error_body(str(error), error.code)
            return USER_ERROR, JSONResponse(
                body, status_code=error.status, headers=error.headers, media_type=media
            )
        if isinstance(error, TimeoutError) and timer.expired():
            log.warning("request stopped after %s s", self.timeout_seconds)
            seconds = f"{self.timeout_seconds:g}"
            body = _error_body(
                f"The request took longer than {seconds} s and was stopped.", "TIMEOUT"
            )
            return ERROR, JSONResponse(body, status_code=503, media_type=media)
        if isinstance(error, InvalidOperationTypeError):
            body = _error_body("Mutations must be sent with POST.", "METHOD_NOT_ALLOWED")
            return USER_ERROR, JSONResponse(
                body, status_code=405, headers={"Allow": "POST"}, media_type=media
            )
        if isinstance(error, (MissingQueryError, CannotGetOperationTypeError)):
            body = _error_body(str(error), "BAD_REQUEST")
            return USER_ERROR, JSONResponse(body, status_code=400, media_type=media)
        return None

    async def respond(
        self, result: ExecutionResult, media: str, label: str, started: float
    ) -> Response:
        """The result as GraphQL over HTTP answers it: 503 when the database was out of reach,
        no `data` (and 400 with the GraphQL media type) when it failed before execution."""
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
        # msgspec writes the same compact UTF-8 JSON as Starlette's JSONResponse, faster.
        return Response(json_encode(body), status_code=status, media_type=media)


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
