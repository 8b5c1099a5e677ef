"""Integration settings as a client gives them, parsed once into a value the services trust.

A location reaches GoPOS with a base URL, a client id, a client secret and an organisation id,
and GoOrder with a base URL, an API key and a store id. `parse_integration` checks what was sent
against what is stored and answers an `IntegrationSettings`, or raises `DomainError` with every
problem and its field path (``input.baseUrl``).

- Base URL: http or https, a host, at most 500 characters, no whitespace or control
  characters, no user name or password, no query and no fragment. It is stored with the scheme
  and host in lower case and without a trailing slash.
- Ids (client id, organisation id, store id): trimmed, not empty, at most 200 characters, no
  control characters. The organisation and store ids become a segment of the upstream's URL
  path, so they are letters, digits and ``. _ ~ -`` only (and neither ``.`` nor ``..``).
- Secrets (client secret, API key): trimmed, at most 1,000 characters, no control characters.
  A secret left out, or blank, keeps the stored one; the first configuration needs one, and so
  does a change of base URL, so that a stored secret is never sent to a host it was not given
  for.
- A field of the other upstream (a store id for GoPOS, say) is refused rather than ignored.

Secrets never appear in a message or a repr.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from domain.errors import ErrorCode, Validator
from domain.messages import Message, msg
from domain.text import control_character
from domain.upstream import Channel

MAX_BASE_URL_LENGTH = 500
MAX_ID_LENGTH = 200
MAX_SECRET_LENGTH = 1_000
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
_SCHEMES = ("http", "https")

# The API's field names, as error paths.
BASE_URL = "input.baseUrl"
CLIENT_ID = "input.clientId"
CLIENT_SECRET = "input.clientSecret"
ORGANIZATION_ID = "input.organizationId"
API_KEY = "input.apiKey"
STORE_ID = "input.storeId"


@dataclass(frozen=True, slots=True)
class IntegrationRequest:
    """What a client sent; any field may be missing."""

    base_url: str
    client_id: str | None = None
    client_secret: str | None = None
    organization_id: str | None = None
    api_key: str | None = None
    store_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"IntegrationRequest(base_url={self.base_url!r}, client_id={self.client_id!r}, "
            f"organization_id={self.organization_id!r}, store_id={self.store_id!r})"
        )


@dataclass(frozen=True, slots=True)
class StoredIntegration:
    """What is stored already, as far as the rules need it."""

    base_url: str
    has_secret: bool


@dataclass(frozen=True, slots=True)
class SealedIntegration:
    """An integration as stored: its settings, and its secret sealed at rest (None when none is
    stored). Only the runtime's key opens the secret; it stays out of the repr all the same."""

    base_url: str
    client_id: str | None
    organization_id: str | None
    store_id: str | None
    sealed_secret: str | None = field(repr=False)

    def stored(self) -> StoredIntegration:
        """What the rules of a new configuration need to know of this one."""
        return StoredIntegration(self.base_url, self.sealed_secret is not None)


@dataclass(frozen=True, slots=True)
class IntegrationSettings:
    """Valid settings of one channel. `secret` is the new secret to seal, or None to keep the
    stored one."""

    channel: Channel
    base_url: str
    client_id: str | None
    organization_id: str | None
    store_id: str | None
    secret: str | None

    def __repr__(self) -> str:
        return (
            f"IntegrationSettings(channel={self.channel.value}, base_url={self.base_url!r}, "
            f"client_id={self.client_id!r}, organization_id={self.organization_id!r}, "
            f"store_id={self.store_id!r}, secret={'<new>' if self.secret else '<kept>'})"
        )

    def columns(self) -> dict[str, str | None]:
        """The non-secret columns, by name."""
        return {
            "base_url": self.base_url,
            "client_id": self.client_id,
            "organization_id": self.organization_id,
            "store_id": self.store_id,
        }


def base_url_problem(url: str) -> Message | None:
    """Why a trimmed base URL is not acceptable, or None when it is."""
    if not url:
        return msg("base_url.empty")
    if len(url) > MAX_BASE_URL_LENGTH:
        return msg("base_url.too_long", count=MAX_BASE_URL_LENGTH)
    if found := control_character(url):
        return msg("base_url.control_character", character=found)
    if any(char.isspace() for char in url):
        return msg("base_url.spaces")
    if not url.isascii():
        return msg("base_url.ascii")
    parts = _split(url)
    if parts is None:
        return msg("base_url.invalid")
    if parts.scheme not in _SCHEMES or "//" not in url:
        return msg("base_url.scheme")
    if "@" in parts.netloc:
        return msg("base_url.user")
    if not parts.hostname:
        return msg("base_url.host")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        return msg("base_url.port")
    if "?" in url:
        return msg("base_url.query")
    if "#" in url:
        return msg("base_url.fragment")
    return None


def normalised_base_url(url: str) -> str:
    """A valid base URL as stored: scheme and host lower case, no trailing slash."""
    parts = _split(url)
    assert parts is not None
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None


def _text_problem(value: str, what: Message, max_length: int) -> Message | None:
    if len(value) > max_length:
        return msg("integration.too_long", what=what, count=max_length)
    if found := control_character(value):
        return msg("integration.control_character", what=what, character=found)
    return None


def _identifier(
    checks: Validator, value: str | None, field: str, what: Message, *, path_segment: bool = False
) -> str | None:
    """A required id, trimmed; None (with the problem recorded) when it is missing or bad."""
    trimmed = (value or "").strip()
    if not trimmed:
        checks.add(ErrorCode.REQUIRED, field, msg("integration.required", what=what))
        return None
    if problem := _text_problem(trimmed, what, MAX_ID_LENGTH):
        checks.add(ErrorCode.INVALID, field, problem)
        return None
    if path_segment and (not _PATH_SEGMENT.fullmatch(trimmed) or trimmed in (".", "..")):
        checks.add(
            ErrorCode.INVALID,
            field,
            msg("integration.path_characters", what=what),
        )
        return None
    return trimmed


def _secret(
    checks: Validator, value: str | None, field: str, what: Message, needed: str | None
) -> str | None:
    """A new secret, trimmed, or None to keep the stored one. `needed` is why one must be
    given, when it must."""
    trimmed = (value or "").strip()
    if not trimmed:
        if needed is not None:
            checks.add(ErrorCode.REQUIRED, field, msg(needed, what=what))
        return None
    if problem := _text_problem(trimmed, what, MAX_SECRET_LENGTH):
        checks.add(ErrorCode.INVALID, field, problem)
        return None
    return trimmed


def _unused(checks: Validator, value: str | None, field: str, channel: Channel) -> None:
    if value is not None and value.strip():
        name = field.removeprefix("input.")
        checks.add(
            ErrorCode.INVALID,
            field,
            msg("integration.unused", upstream=channel.upstream_name, name=name),
        )


def parse_integration(
    channel: Channel, request: IntegrationRequest, stored: StoredIntegration | None
) -> IntegrationSettings:
    """The request as valid settings of `channel`, given what is stored (None: nothing yet).
    Raises `DomainError` with every problem found."""
    checks = Validator()
    given_url = request.base_url.strip()
    base_url: str | None = None
    if problem := base_url_problem(given_url):
        code = ErrorCode.REQUIRED if not given_url else ErrorCode.INVALID
        checks.add(code, BASE_URL, problem)
    else:
        base_url = normalised_base_url(given_url)
    needed: str | None = None
    if stored is None or not stored.has_secret:
        needed = "integration.secret_required"
    elif base_url is not None and base_url != stored.base_url:
        needed = "integration.secret_required_again"
    client_id = organization_id = store_id = None
    if channel is Channel.GOPOS:
        client_id = _identifier(checks, request.client_id, CLIENT_ID, msg("field.client_id"))
        secret = _secret(
            checks, request.client_secret, CLIENT_SECRET, msg("field.client_secret"), needed
        )
        organization_id = _identifier(
            checks,
            request.organization_id,
            ORGANIZATION_ID,
            msg("field.organization_id"),
            path_segment=True,
        )
        _unused(checks, request.api_key, API_KEY, channel)
        _unused(checks, request.store_id, STORE_ID, channel)
    else:
        _unused(checks, request.client_id, CLIENT_ID, channel)
        _unused(checks, request.client_secret, CLIENT_SECRET, channel)
        _unused(checks, request.organization_id, ORGANIZATION_ID, channel)
        secret = _secret(checks, request.api_key, API_KEY, msg("field.api_key"), needed)
        store_id = _identifier(
            checks, request.store_id, STORE_ID, msg("field.store_id"), path_segment=True
        )
    checks.check()
    assert base_url is not None
    return IntegrationSettings(channel, base_url, client_id, organization_id, store_id, secret)
