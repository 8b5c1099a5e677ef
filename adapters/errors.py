"""What can go wrong when the gateway reads an upstream system.

    UpstreamError                 any failure of one upstream call; `upstream` names the system
    ├── UpstreamUnavailable       network errors, timeouts, the sync deadline, retries exhausted
    │                             on 429/5xx
    ├── CredentialsRejected       401/403 that a fresh token did not cure (GoPOS), or 401/403
    │                             (GoOrder)
    └── MalformedResponse         not JSON, a missing field or a value of the wrong type, text
                                  the mirror cannot store, a body over the size cap or in an
                                  encoding that was not asked for

A plain `UpstreamError` is an answer that none of the above describes (a 404 for an unknown
organisation, say). Every message is readable by an operator and never contains a client
secret, an API key or a token, in any encoding, nor more of an upstream's answer than a short
excerpt: `adapters.http` builds them all, in one place.
"""

from __future__ import annotations

from domain.messages import Message


class UpstreamError(Exception):
    """A failed read from one upstream system ("GoPOS" or "GoOrder")."""

    def __init__(
        self,
        upstream: str,
        message: str,
        *,
        status: int | None = None,
        notice: Message | None = None,
    ) -> None:
        super().__init__(message)
        self.upstream = upstream
        self.message = message
        self.status = status
        # What a person reads about it, when it is more than an operator's technical detail.
        self.notice = notice

    def __str__(self) -> str:
        return self.message


class UpstreamUnavailable(UpstreamError):  # noqa: N818 - the names of the error tree are fixed
    """The upstream could not be reached, did not answer in time, or kept failing."""


class CredentialsRejected(UpstreamError):  # noqa: N818 - the names of the error tree are fixed
    """The upstream refused the credentials the location is configured with."""


class MalformedResponse(UpstreamError):  # noqa: N818 - the names of the error tree are fixed
    """The upstream answered, but not in the shape its contract describes."""

    def __init__(self, upstream: str, message: str, *, field: str | None = None) -> None:
        super().__init__(upstream, message)
        self.field = field
