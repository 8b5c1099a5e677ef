"""What `gocrm serve`, `gocrm demo` and `gocrm worker` refuse before they start: a port out of
range or in use, a REDIS_URL that is no Redis URL, a GOCRM_SECRET_KEY that is no key, and in
production a database holding sealed secrets without the key. Each is one line and exit 2."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from gateway.cli_demo import database_banner
from settings import Settings
from tests.redis_fixtures import REDIS_URL
from tests.servers import environment, free_port
from tests.test_cli import gocrm

BAD_KEY_LINE = (
    "error: GOCRM_SECRET_KEY: the key is not a Fernet key (it has 7 characters or characters"
    " outside url-safe base64); a Fernet key is 32 random bytes in url-safe base64 (44"
    " characters, ending in '='); `gocrm generate-key` prints a new one\n"
)


@pytest.fixture
def port_in_use() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


@pytest.mark.parametrize("command", ["serve", "demo", "simulate"])
@pytest.mark.parametrize("port", ["99999", "0"])
def test_a_port_out_of_range_is_one_line(command: str, port: str, tmp_path: Path) -> None:
    extra = ["gopos", "--fixture", "x.json"] if command == "simulate" else []

    result = gocrm(command, *extra, "--port", port, cwd=tmp_path)

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"error: --port must be a TCP port from 1 to 65535, not {port}\n",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_port_in_use_is_one_line_before_anything_starts(
    command: str, port_in_use: int, tmp_path: Path
) -> None:
    result = gocrm(command, "--port", str(port_in_use), cwd=tmp_path)

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"error: cannot listen on 127.0.0.1:{port_in_use} (Address already in use): stop what"
        " uses it or choose another --port\n",
    )
    # The demo neither seeded nor minted a key: no database was even opened.
    assert list(tmp_path.iterdir()) == []


def test_a_worker_with_a_url_that_is_not_redis_is_one_line(tmp_path: Path) -> None:
    result = gocrm("worker", cwd=tmp_path, REDIS_URL="http://x")

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: REDIS_URL must start with redis://, rediss:// or unix://, not 'http://x'"
        " (redis://127.0.0.1:6379/0, say)\n",
    )


@pytest.mark.parametrize("command", ["serve", "worker", "demo"])
@pytest.mark.parametrize("env", ["development", "production"])
def test_an_invalid_secret_key_stops_the_process_in_one_line(
    command: str, env: str, tmp_path: Path
) -> None:
    result = gocrm(
        command,
        cwd=tmp_path,
        GOCRM_SECRET_KEY="hunter2",
        GOCRM_ENV=env,
        REDIS_URL="redis://127.0.0.1:1/0",
    )

    assert (result.returncode, result.stdout, result.stderr) == (2, "", BAD_KEY_LINE)


def test_generate_key_prints_a_key_that_the_gateway_accepts(tmp_path: Path) -> None:
    # whatever the settings hold: a key is what someone fixing them may need
    generated = gocrm(
        "generate-key", cwd=tmp_path, DATABASE_URL="mysql://x/y", GOCRM_SECRET_KEY="hunter2"
    )

    assert (generated.returncode, generated.stderr) == (0, "")
    key = generated.stdout.removesuffix("\n")
    assert len(key) == 44
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"secret")) == b"secret"
    assert list(tmp_path.iterdir()) == []


def _database_with_a_sealed_secret(folder: Path) -> str:
    """An SQLite database whose one location has an integration with a sealed secret."""
    url = f"sqlite://{folder / 'gocrm.sqlite3'}"
    created = gocrm("create-location", "--name", "Bistro", cwd=folder, DATABASE_URL=url)
    assert created.returncode == 0, created.stderr
    with sqlite3.connect(folder / "gocrm.sqlite3") as db:
        (location,) = db.execute("SELECT id FROM locations").fetchone()
        db.execute(
            "INSERT INTO integrations (id, channel, base_url, sealed_secret, created_at,"
            " updated_at, location_id) VALUES ('00000000-0000-0000-0000-000000000001', 'GOPOS',"
            " 'https://gopos.example', ?, '2026-01-01 00:00:00', '2026-01-01 00:00:00', ?)",
            (Fernet(Fernet.generate_key()).encrypt(b"s").decode(), location),
        )
    return url


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_production_without_a_key_refuses_a_database_holding_sealed_secrets(
    command: str, tmp_path: Path
) -> None:
    url = _database_with_a_sealed_secret(tmp_path)
    options = ["--port", str(free_port())] if command == "serve" else []

    result = gocrm(
        command,
        *options,
        cwd=tmp_path,
        DATABASE_URL=url,
        GOCRM_ENV="production",
        REDIS_URL=REDIS_URL,
    )

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: 1 configured integration(s) hold secrets sealed at rest and GOCRM_SECRET_KEY is"
        " not set; set it to the key they were stored with.\n",
    )


async def test_production_without_a_key_serves_a_database_without_integrations(
    tmp_path: Path,
) -> None:
    url = f"sqlite://{tmp_path / 'gocrm.sqlite3'}"
    port = free_port()
    env = environment(url, tmp_path / "metrics", GOCRM_ENV="production")
    server = await asyncio.create_subprocess_exec(
        *_gocrm_command("serve", "--port", str(port)),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        ready = await _ready(port, server)
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)
    assert ready == {
        "status": "ready",
        "database": "up",
        "migrations": "current",
        "missing_migrations": [],
        "redis": "not configured",
    }
    assert server.returncode == 0


def _gocrm_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", *args]


async def _ready(port: int, server: asyncio.subprocess.Process) -> object:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as http:
        while True:
            assert server.returncode is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start within 30 s"
            try:
                return (await http.get(f"http://127.0.0.1:{port}/readyz")).json()
            except httpx.TransportError:
                await asyncio.sleep(0.1)


def test_the_demo_banner_says_which_database_it_follows() -> None:
    assert database_banner(Settings()) == "gocrm.sqlite3 in this folder (the default DATABASE_URL)"
    assert (
        database_banner(Settings(database_url="postgres://crm:hunter2@db:5432/crm"))
        == "postgres://crm:***@db:5432/crm, as DATABASE_URL says"
    )


def test_the_command_imports_prometheus_only_after_choosing_the_metrics_directory() -> None:
    """prometheus-client picks its storage when imported: `gocrm serve` must set
    PROMETHEUS_MULTIPROC_DIR first, so importing the command must not import it."""
    code = (
        "import sys, gateway.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('prometheus_client', 'services', 'models', 'tortoise')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")
