"""`UpstreamSession`: one sync's view of one upstream, and the one place where httpx exceptions,
status codes, oversized and undecodable bodies become the errors of `adapters.errors`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, TypeVar

import httpx

from adapters.body import BodyTooLarge, UndecodableBody, size_text
from adapters.errors import (
    CredentialsRejected,
    MalformedResponse,
    UpstreamError,
    UpstreamUnavailable,
)
from adapters.http.config import base_key
from adapters.http.quoting import attempts_text, body_excerpt, error_text, seconds_text
from adapters.http.retry import RETRY_STATUSES, Exchange, RetryPastDeadlineError
from adapters.redaction import Redactor
from adapters.wire import FieldError, Unchecked

if TYPE_CHECKING:
    from adapters.http.clients import UpstreamClients

T = TypeVar("T")

# The package's logger: every upstream line is logged under `adapters.http`.
logger = logging.getLogger("adapters.http")


class UpstreamSession:
    """One sync's calls to one upstream: the deadline, retries and the mapping to our errors."""

    def __init__(
        self,
        clients: UpstreamClients,
        upstream: str,
        base_url: str,
        *,
        deadline: float,
        secrets: Iterable[str] = (),
    ) -> None:
        if not deadline > 0:
            raise ValueError("deadline must be positive")
        self.upstream = upstream
        self.base_url = base_key(base_url)
        self.deadline = deadline
        self._clients = clients
        self._deadline_at = clients.clock() + deadline
        self._redactor = Redactor(secrets)

    def hide(self, secret: str) -> None:
        """Keep `secret` out of every message and log line this session writes, however the
        upstream spells it (see `adapters.redaction`)."""
        self._redactor.hide(secret)

    def redact(self, text: str) -> str:
        return self._redactor.redact(text)

    async def within_deadline(self, work: Awaitable[T]) -> T:
        """Await `work`, or fail with `UpstreamUnavailable` once the deadline has passed."""
        scope = asyncio.timeout(self.deadline)
        try:
            async with scope:
                return await work
        except TimeoutError:
            if not scope.expired():
                raise
            message = f"{self.upstream} did not answer within {seconds_text(self.deadline)} s"
            raise UpstreamUnavailable(self.upstream, message) from None

    async def get_json(
        self,
        path: str,
        parse: Callable[[object], T],
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        rejected: Iterable[int] = (401, 403),
        typed: Callable[[bytes], T] | None = None,
    ) -> T:
        """The answer to a GET, read by `typed` (a raw body straight into records) when given
        and it accepts the body, else as JSON by `parse` (see `adapters.wire`)."""
        response = await self._send("GET", path, params=params, headers=headers, rejected=rejected)
        if typed is not None:
            try:
                return typed(response.content)
            except Unchecked:
                pass
        return self._decode(response, parse)

    async def post_form_json(
        self,
        path: str,
        parse: Callable[[object], T],
        *,
        data: Mapping[str, str],
        rejected: Iterable[int] = (401, 403),
    ) -> T:
        response = await self._send("POST", path, data=data, rejected=rejected)
        return self._decode(response, parse)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        rejected: Iterable[int],
    ) -> httpx.Response:
        upstream = self.upstream
        exchange = Exchange(upstream, self._deadline_at, self._redactor)
        client = self._clients.client_for(self.base_url)
        try:
            async with self._clients.limit_for(self.base_url):
                response = await client.request(
                    method,
                    path,
                    params=params,
                    headers=headers,
                    data=data,
                    extensions={"retry": self._clients.retry(exchange)},
                )
        except RetryPastDeadlineError as exc:
            last = f"answered {exchange.status}" if exchange.status else "could not be reached"
            detail = exchange.excerpt if exchange.status else exchange.error
            message = (
                f"{upstream} {last} after {attempts_text(exchange.attempts)}, and waiting "
                f"{seconds_text(exc.wait)} s more would pass the {seconds_text(self.deadline)} s "
                f"deadline: {detail}"
            )
            raise self._error(UpstreamUnavailable, message, exchange.status) from None
        except httpx.HTTPError as exc:
            message = f"{upstream} could not be reached after {attempts_text(exchange.attempts)}: "
            raise self._error(
                UpstreamUnavailable, message + error_text(exc, self._redactor)
            ) from None
        except BodyTooLarge as exc:
            message = f"{upstream} answered more than {size_text(exc.limit)}"
            logger.warning("%s %s %s: %s; the rest was not read", upstream, method, path, message)
            raise self._malformed(message, None) from None
        except UndecodableBody as exc:
            message = f"{upstream} sent a malformed response: {exc.problem} ({method} {path})"
            raise self._malformed(message, None) from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        excerpt = body_excerpt(response, self._redactor)
        if status in set(rejected):
            message = f"{upstream} rejected the credentials ({status}): {excerpt}"
            raise self._error(CredentialsRejected, message, status)
        if status in RETRY_STATUSES:
            attempts = attempts_text(exchange.attempts)
            message = f"{upstream} answered {status} after {attempts}: {excerpt}"
            raise self._error(UpstreamUnavailable, message, status)
        message = f"{upstream} answered {status} to {method} {response.url.path}: {excerpt}"
        raise self._error(UpstreamError, message, status)

    def _decode(self, response: httpx.Response, parse: Callable[[object], T]) -> T:
        request = f"{response.request.method} {response.url.raw_path.decode('ascii', 'replace')}"
        prefix = f"{self.upstream} sent a malformed response"
        try:
            payload: object = json.loads(response.content)
        except (ValueError, RecursionError):
            text = body_excerpt(response, self._redactor)
            message = f"{prefix}: the body is not JSON: {text} ({request})"
            raise self._malformed(message, None) from None
        try:
            return parse(payload)
        except FieldError as exc:
            about = f" ({exc.subject})" if exc.subject else ""
            message = f"{prefix}: {exc.path}{about}: {exc.problem} ({request})"
            raise self._malformed(message, exc.path) from None

    def _error(
        self, kind: type[UpstreamError], message: str, status: int | None = None
    ) -> UpstreamError:
        return kind(self.upstream, self.redact(message), status=status)

    def _malformed(self, message: str, path: str | None) -> MalformedResponse:
        redacted_path = None if path is None else self.redact(path)
        return MalformedResponse(self.upstream, self.redact(message), field=redacted_path)
