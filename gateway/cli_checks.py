"""What `gocrm serve`, `gocrm demo` and `gocrm worker` check before they start anything, so that
an ordinary mistake is one line and a non-zero exit instead of a process that starts and fails
later: a port that is out of range or in use, a `GOCRM_SECRET_KEY` that is no key, and a
production database holding sealed secrets without the key to open them.
"""

from __future__ import annotations

import socket

from adapters.secrets import new_key, parse_keys
from gateway.cli_database import CommandError
from settings import Settings

# `gateway.readiness` is imported where it is used: it brings in the services, and with them
# prometheus-client, which must not be imported before `gocrm serve` has pointed it at the
# shared metrics directory (`PROMETHEUS_MULTIPROC_DIR`).

GENERATE_HINT = "`gocrm generate-key` prints a new one"


def check_port(port: int, option: str = "--port") -> None:
    if not 1 <= port <= 65_535:
        raise CommandError(f"{option} must be a TCP port from 1 to 65535, not {port}")


def check_listen(host: str, port: int) -> None:
    """Bind `host:port` and let it go: a port in use, or an address this host does not have,
    fails here, before a key is minted or a banner printed. (uvicorn binds it again at once,
    with the same SO_REUSEADDR.)"""
    check_port(port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise CommandError(f"--host: cannot listen on {host!r} ({error.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise CommandError(
                f"cannot listen on {host}:{port} ({error.strerror}): stop what uses it or "
                "choose another --port"
            ) from None


def check_trusted_documents(settings: Settings) -> None:
    """The trusted documents (the product's and `GOCRM_TRUSTED_DOCUMENTS`'), each a valid
    document of the schema."""
    from gateway.graphql.trusted import ManifestError, prepared, trusted_documents
    from gateway.schema.root import build_schema

    try:
        prepared(build_schema(production=True), trusted_documents(settings.trusted_documents))
    except ManifestError as error:
        raise CommandError(f"GOCRM_TRUSTED_DOCUMENTS: {error}") from None


def check_secret_key_setting(settings: Settings) -> None:
    """A `GOCRM_SECRET_KEY` that is set must hold Fernet keys (in every environment)."""
    if settings.secret_key is None:
        return
    try:
        parse_keys(settings.secret_key)
    except ValueError as error:
        raise CommandError(f"{str(error).rstrip('.')}; {GENERATE_HINT}") from None


async def check_start(settings: Settings) -> None:
    """The action a starting process runs on its open database: in production without a key,
    refuse a database whose integrations hold sealed secrets."""
    from gateway.readiness import StartupRefusedError, check_secret_key

    try:
        await check_secret_key(settings)
    except StartupRefusedError as refusal:
        raise CommandError(str(refusal).removeprefix("Refusing to start: ")) from None


def generate_key() -> str:
    """A new key for `GOCRM_SECRET_KEY`: `Fernet.generate_key()`, as text."""
    return new_key()
