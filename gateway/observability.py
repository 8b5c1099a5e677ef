"""Log lines that say which request wrote them, and the `X-Request-ID` response header.

Every line carries the request id, and once the endpoint has authenticated and read the
request, the location id and the operation (the GraphQL root field, see `gateway.metrics`).
Development writes readable text; production one JSON object per line:

    {"time": "2026-05-04T10:15:02.123Z", "level": "INFO", "logger": "gocrm.access",
     "message": "POST /graphql 200 3.1ms", "request_id": "…", "location_id": "…",
     "operation": "checkoutQuote", "method": "POST", "path": "/graphql", "status": 200,
     "duration_ms": 3.1}

plus `exception` with the traceback when there is one. Neither form writes a secret: API keys,
bearer tokens and the integration secrets of the request being served are replaced by
`[redacted]`, and its card codes by `card:` and the first 12 hex digits of their SHA-256
(`card_ref`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import IO, Any
from uuid import UUID

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
location_var: ContextVar[UUID | None] = ContextVar("location_id", default=None)
operation_var: ContextVar[str | None] = ContextVar("operation", default=None)
# The query text and variables of the request being served: only read when a line is written,
# to find the card codes it must not show.
request_params_var: ContextVar[tuple[str, Mapping[str, Any] | None] | None] = ContextVar(
    "request_params", default=None
)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# The access line: method, path, status and time, none of it the request's data.
ACCESS_LOGGER = "gocrm.access"
access_log = logging.getLogger(ACCESS_LOGGER)
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

# What a line never shows: bearer tokens (an `Authorization` header quoted in an error) and our
# API keys wherever they appear. A setting's name (`GOCRM_SECRET_KEY`: capitals and underscores
# only, which a key's 43 random characters never are in practice) is shown as it is.
_SECRETS = re.compile(
    r"(?i)(\bbearer\s+)[^\s\"',;]+|\b(gocrm_)(?-i:(?![A-Z_]+\b))[A-Za-z0-9_-]{8,}"
)
REDACTED = "[redacted]"
# Card codes (`cardCode`, and `code` in a card input) and integration secrets, as arguments
# of a request: in its variables, or as literals in its query text (`cardCode: "…"`).
_CARD_KEYS = frozenset({"cardCode", "code"})
_SECRET_KEYS = frozenset({"clientSecret", "apiKey"})
_LITERAL = re.compile(r'\b(cardCode|code|clientSecret|apiKey)\s*:\s*"((?:[^"\\]|\\.)*)"')
# Fields the access line adds to its JSON object.
_ACCESS_FIELDS = ("method", "path", "status", "duration_ms")


def card_ref(code: str) -> str:
    """How a log line names a card: never its code, a short hash of it."""
    return "card:" + hashlib.sha256(code.encode()).hexdigest()[:12]


def _arguments(value: Any, key: str | None = None) -> Iterator[tuple[str, str]]:
    """(key, text) of every string in `value`, under the name it was given."""
    if isinstance(value, str):
        if key is not None:
            yield key, value
    elif isinstance(value, Mapping):
        for name, item in value.items():
            yield from _arguments(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _arguments(item, key)


def _hidden_values() -> list[tuple[str, str]]:
    """The request's card codes and secrets, each with what replaces it, longest first."""
    params = request_params_var.get()
    if params is None:
        return []
    query, variables = params
    found = {(match.group(1), match.group(2)) for match in _LITERAL.finditer(query)}
    found.update(_arguments(variables))
    hidden = {
        text: card_ref(text) if key in _CARD_KEYS else REDACTED
        for key, text in found
        if text and (key in _CARD_KEYS or key in _SECRET_KEYS)
    }
    return sorted(hidden.items(), key=lambda item: len(item[0]), reverse=True)


def scrub(text: str, *, cards: bool = True) -> str:
    """`text` without secrets, nor (with `cards`) the card codes and integration secrets of
    the request being served."""
    lowered = text.lower()
    if "bearer" in lowered or "gocrm_" in lowered:  # the common case skips the expression
        text = _SECRETS.sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, text)
    if not cards:
        return text
    for value, replacement in _hidden_values():
        if value in text:
            pattern = rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])"
            text = re.sub(pattern, replacement, text)
    return text


class RequestContextFilter(logging.Filter):
    """Stamps each record with the request id, location id and operation in force."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        location = location_var.get()
        record.location_id = None if location is None else str(location)
        record.operation = operation_var.get()
        return True


# The former name, kept for importers.
RequestIdFilter = RequestContextFilter


class TextFormatter(logging.Formatter):
    """The development format, with secrets and card codes scrubbed."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record), cards=record.name != ACCESS_LOGGER)


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module)."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", request_id_var.get())
        second = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, Any] = {
            "time": f"{second}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage(), cards=record.name != ACCESS_LOGGER),
            "request_id": None if request_id == "-" else request_id,
            "location_id": getattr(record, "location_id", None),
            "operation": getattr(record, "operation", None),
        }
        for name in _ACCESS_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = scrub(record.exc_text)
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return _ENCODER.encode(entry)


def configure_logging(
    level: int = logging.INFO, *, json_lines: bool = False, stream: IO[str] | None = None
) -> None:
    """Every log line to `stream` (stderr): JSON objects with `json_lines`, else text."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # RequestIdMiddleware writes the access line, with the request id.
    logging.getLogger("uvicorn.access").disabled = True
    # Tortoise's debug lines carry the values of every statement: card codes among them.
    logging.getLogger("tortoise").setLevel(logging.WARNING)


# A made request id is this process's random prefix and a count: unique across processes, and
# far cheaper than a random UUID on every request.
_PROCESS_PREFIX = secrets.token_hex(8)
_request_numbers = itertools.count(1)


def _new_request_id() -> str:
    return f"{_PROCESS_PREFIX}{next(_request_numbers):016x}"


class RequestIdMiddleware:
    """Takes a well-formed incoming `X-Request-ID` or makes one, echoes it back, and writes
    the access log line while the request's context is still set (uvicorn's own access log
    runs too late). The endpoint adds the location and the operation to that context; all of
    it is undone when the request ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else _new_request_id()
        token = request_id_var.set(request_id)
        location = location_var.set(None)
        operation = operation_var.set(None)
        params = request_params_var.set(None)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            method, path = scope["method"], scope["path"]
            access_log.info(
                "%s %s %d %.1fms",
                method,
                path,
                status,
                duration_ms,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
            request_params_var.reset(params)
            operation_var.reset(operation)
            location_var.reset(location)
            request_id_var.reset(token)
