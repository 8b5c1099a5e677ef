"""Sending a webhook: the Standard Webhooks signature and one HTTP POST.

Signing is the maintained `standardwebhooks` package's (`Webhook.sign`): `webhook-signature` is
`v1,` and the base64 HMAC-SHA256, under the endpoint's secret, of `id.timestamp.body`. A secret
is `whsec_` and 24 random bytes in base64, as the specification's secrets are.

`WebhookSender` holds one long-lived client for every endpoint: explicit timeouts, no redirects
followed, no proxy from the environment, the answer's body never read (only the status counts;
`MAX_ANSWER_BYTES` caps it should anything read it), and the egress guard of the upstream calls
(`adapters.http.egress`) under it, so that a host that resolves to a private address at send
time (DNS rebinding) is refused too. A send never raises: it answers what happened.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from standardwebhooks import Webhook

from adapters.body import CappedTransport
from adapters.errors import UpstreamError
from adapters.http.egress import EgressGuard
from domain.egress import networks, refused_address

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
MAX_ANSWER_BYTES = 64 * 1024
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secret: str, message_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` header's value."""
    return Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)


def headers(secret: str, message_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status code (None when no answer came) and how long it took."""

    status_code: int | None
    latency_ms: int
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def refused_literal(host: str, allowed: tuple[str, ...] | None) -> str | None:
    """The address a URL's host names literally when the egress rules refuse it; else None (a
    name is judged when it is resolved, at send time)."""
    if allowed is None:
        return None
    try:
        refused = refused_address(host.strip("[]"), networks(allowed))
    except ValueError:
        return "localhost" if host.lower().rstrip(".").endswith("localhost") else None
    return None if refused is None else str(refused)


class WebhookSender:
    """The process's client for webhook endpoints; close it on shutdown. `allowed`: None lets
    any address be called, else public addresses and these networks. Tests pass `transport`."""

    def __init__(
        self,
        allowed: tuple[str, ...] | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.allowed = allowed
        inner = transport or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10)
        )
        if allowed is not None:
            inner = EgressGuard(inner, allowed)
        self._client = httpx.AsyncClient(
            transport=CappedTransport(inner, MAX_ANSWER_BYTES),
            timeout=httpx.Timeout(
                connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=READ_TIMEOUT, pool=READ_TIMEOUT
            ),
            headers={"User-Agent": "gocrm-gateway webhooks"},
            follow_redirects=False,
            trust_env=False,
        )

    async def send(
        self, url: str, secret: str, message_id: str, timestamp: datetime, body: str
    ) -> Answer:
        """POST the body; the answer's status once its head arrives (its body is never read:
        closing the stream drops it). Never raises but for cancellation."""
        started = time.perf_counter()
        signed = headers(secret, message_id, timestamp, body)
        try:
            async with self._client.stream("POST", url, content=body.encode(), headers=signed) as (
                response
            ):
                return Answer(response.status_code, _ms(started))
        except UpstreamError as refused:  # the egress guard: not a public address
            return Answer(None, _ms(started), str(refused)[:500])
        except Exception as error:  # a network error, a timeout, a malformed answer
            return Answer(None, _ms(started), f"{type(error).__name__}: {error}"[:500])

    async def aclose(self) -> None:
        await self._client.aclose()


class WebhookSenders:
    """The runtime's sender, built on first use (a runtime that never sends opens nothing)."""

    def __init__(
        self,
        allowed: tuple[str, ...] | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.allowed = allowed
        self.transport = transport  # tests set it before the first send
        self._sender: WebhookSender | None = None

    def sender(self) -> WebhookSender:
        if self._sender is None:
            self._sender = WebhookSender(self.allowed, transport=self.transport)
        return self._sender

    async def aclose(self) -> None:
        if self._sender is not None:
            await self._sender.aclose()
            self._sender = None


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
