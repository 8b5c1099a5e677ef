"""`gocrm` run as an operator runs it: a subprocess with environment variables.

Ordinary mistakes give one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.gopos import fetch_gopos
from adapters.http import HttpConfig, UpstreamClients
from domain.upstream import GoposCredentials
from tests.conftest import POSTGRES_SERVER, _drop_postgres_database, _fresh_postgres_database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = sorted(
    f"models.{path.stem}" for path in (PROJECT_ROOT / "models" / "migrations").glob("[0-9]*.py")
)
LACKS_EVERY_MIGRATION = (
    f"error: the database lacks {len(MIGRATIONS)} migration{'s' if len(MIGRATIONS) > 1 else ''} "
    f"({', '.join(MIGRATIONS)}): run `gocrm migrate`\n"
)


def gocrm(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GOCRM_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(PROJECT_ROOT), "COLUMNS": "100", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
async def empty_postgres() -> AsyncIterator[str]:
    """The URL of a new PostgreSQL database without a single migration."""
    name = await _fresh_postgres_database()
    yield f"{POSTGRES_SERVER}/{name}"
    await _drop_postgres_database(name)


def test_create_location_in_an_empty_folder_migrates_sqlite_first(tmp_path: Path) -> None:
    created = gocrm("create-location", "--name", "Bistro", cwd=tmp_path)

    assert (created.returncode, created.stderr) == (0, "")
    payload = json.loads(created.stdout)
    assert sorted(payload) == ["api_key", "location_id"]
    assert created.stdout == json.dumps(payload) + "\n"
    assert payload["api_key"].startswith("gocrm_")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gocrm.sqlite3"]

    key = gocrm(
        "create-api-key",
        "--location",
        payload["location_id"],
        "--name",
        "Till 1",
        "--role",
        "POS",
        cwd=tmp_path,
    )
    assert (key.returncode, key.stderr) == (0, "")
    assert sorted(json.loads(key.stdout)) == ["api_key", "api_key_id"]


def test_create_api_key_gives_a_pos_key_the_channels_named(tmp_path: Path) -> None:
    location = json.loads(gocrm("create-location", "--name", "Bistro", cwd=tmp_path).stdout)

    def create(*options: str) -> subprocess.CompletedProcess[str]:
        return gocrm(
            "create-api-key",
            "--location",
            location["location_id"],
            "--name",
            "k",
            *options,
            cwd=tmp_path,
        )

    till = create("--role", "POS")
    store = create("--role", "POS", "--channel", "ONLINE")
    both = create("--role", "POS", "--channel", "KIOSK", "--channel", "ONLINE")
    admin = create("--role", "ADMIN", "--channel", "POS")

    assert [r.returncode for r in (till, store, both)] == [0, 0, 0]
    with sqlite3.connect(tmp_path / "gocrm.sqlite3") as db:
        stored = dict(db.execute("SELECT id, channels FROM api_keys WHERE role = 'POS'"))
    assert [stored[json.loads(r.stdout)["api_key_id"]] for r in (till, store, both)] == [
        "POS,KIOSK",
        "ONLINE",
        "KIOSK,ONLINE",
    ]
    assert (admin.returncode, admin.stdout) == (2, "")
    assert "Channels are given to POS keys only" in admin.stderr


def test_import_customers_prints_only_its_json_summary_on_stdout(tmp_path: Path) -> None:
    location = json.loads(gocrm("create-location", "--name", "Bistro", cwd=tmp_path).stdout)
    csv = tmp_path / "customers.csv"
    csv.write_text(
        "first_name,last_name,email,phone,card_code,groups\n"
        "Anna,Nowak,anna@example.com,,CARD0001,\n"
        "Piotr,Wiśniewski,,,CARD0002,\n",
        encoding="utf-8",
    )

    imported = gocrm(
        "import-customers", str(csv), "--location", location["location_id"], cwd=tmp_path
    )

    assert (imported.returncode, imported.stderr) == (0, "")
    assert imported.stdout == '{"created": 2, "updated": 0, "unchanged": 0, "skipped": 0}\n'


def test_an_import_whose_every_row_is_skipped_exits_1(tmp_path: Path) -> None:
    location = json.loads(gocrm("create-location", "--name", "Bistro", cwd=tmp_path).stdout)
    csv = tmp_path / "customers.csv"
    csv.write_text("card_code;groups\r\nK#1;\r\nK2;złota\r\n", encoding="cp1250")

    imported = gocrm(
        "import-customers", str(csv), "--location", location["location_id"], cwd=tmp_path
    )

    assert imported.returncode == 1
    assert imported.stdout == '{"created": 0, "updated": 0, "unchanged": 0, "skipped": 2}\n'
    assert imported.stderr == (
        "line 2: invalid card code 'K#1' "
        "(Card code may contain only letters, digits and . _ : / -)\n"
        "line 3: unknown group 'złota'\n"
        "nothing imported: every one of the 2 rows was skipped\n"
    )


def test_a_dry_run_import_writes_nothing(tmp_path: Path) -> None:
    location = json.loads(gocrm("create-location", "--name", "Bistro", cwd=tmp_path).stdout)
    csv = tmp_path / "customers.csv"
    csv.write_text("card_code;first_name\nD1;Anna\n", encoding="utf-8-sig")
    args = ("import-customers", str(csv), "--location", location["location_id"])

    dry = gocrm(*args, "--dry-run", cwd=tmp_path)
    real = gocrm(*args, cwd=tmp_path)

    created = '{"created": 1, "updated": 0, "unchanged": 0, "skipped": 0}\n'
    assert (dry.returncode, dry.stdout, dry.stderr) == (0, created, "")
    assert (real.returncode, real.stdout) == (0, created)


def test_an_unknown_location_is_one_line(tmp_path: Path) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text("first_name,last_name,email,phone,card_code,groups\n", encoding="utf-8")

    result = gocrm("import-customers", str(csv), "--location", "nope", cwd=tmp_path)

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: location nope not found\n",
    )


def test_a_bad_gocrm_env_is_one_line(tmp_path: Path) -> None:
    result = gocrm("create-location", "--name", "Bistro", cwd=tmp_path, GOCRM_ENV="prod")

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: GOCRM_ENV must be 'development' or 'production', not 'prod'\n",
    )
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = gocrm("--debug", "create-location", "--name", "Bistro", cwd=tmp_path, GOCRM_ENV="prod")

    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert result.stderr.endswith(
        "CommandError: GOCRM_ENV must be 'development' or 'production', not 'prod'\n"
    )


def test_an_unsupported_database_scheme_is_one_line(tmp_path: Path) -> None:
    result = gocrm(
        "create-location", "--name", "Bistro", cwd=tmp_path, DATABASE_URL="mysql://u@127.0.0.1/db"
    )

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: DATABASE_URL: 'mysql' is not supported; use sqlite://PATH or "
        "postgres://USER@HOST:PORT/DATABASE\n",
    )


def test_an_sqlite_file_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"

    result = gocrm("migrate", cwd=tmp_path, DATABASE_URL=f"sqlite://{missing}/gocrm.sqlite3")

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"error: DATABASE_URL: the folder '{missing}' for the SQLite file does not exist: "
        "create it or set DATABASE_URL\n",
    )


@pytest.mark.parametrize(
    "command", [["create-location", "--name", "Bistro"], ["serve"], ["migrate"]], ids=str
)
def test_postgres_that_is_not_reachable_is_one_line(command: list[str], tmp_path: Path) -> None:
    result = gocrm(*command, cwd=tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:1/gocrm")

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: PostgreSQL is not reachable at 127.0.0.1:1 ([Errno 111] Connect call failed "
        "('127.0.0.1', 1)): start it or fix DATABASE_URL\n",
    )


def test_a_postgres_database_that_does_not_exist_is_one_line(
    tmp_path: Path, empty_postgres: str
) -> None:
    server, _, name = empty_postgres.rpartition("/")
    url = f"{server}/{name}_missing"
    host_port = server.rpartition("@")[2]
    host, _, port = host_port.partition(":")

    result = gocrm("migrate", cwd=tmp_path, DATABASE_URL=url)

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f'error: PostgreSQL database "{name}_missing" does not exist on {host}:{port}: '
        f"create it (createdb -h {host} -p {port} {name}_missing) or fix DATABASE_URL\n",
    )


def test_a_command_on_an_unmigrated_postgres_database_asks_for_gocrm_migrate(
    tmp_path: Path, empty_postgres: str
) -> None:
    refused = gocrm(
        "create-location", "--name", "Bistro", cwd=tmp_path, DATABASE_URL=empty_postgres
    )

    assert (refused.returncode, refused.stdout, refused.stderr) == (2, "", LACKS_EVERY_MIGRATION)

    migrated = gocrm("migrate", cwd=tmp_path, DATABASE_URL=empty_postgres)
    assert (migrated.returncode, migrated.stdout, migrated.stderr) == (
        0,
        "",
        "migrations applied\n",
    )
    created = gocrm(
        "create-location", "--name", "Bistro", cwd=tmp_path, DATABASE_URL=empty_postgres
    )
    assert (created.returncode, created.stderr) == (0, "")
    assert sorted(json.loads(created.stdout)) == ["api_key", "location_id"]


def test_serve_in_production_refuses_an_unmigrated_postgres_database(
    tmp_path: Path, empty_postgres: str
) -> None:
    result = gocrm(
        "serve", "--port", "1", cwd=tmp_path, DATABASE_URL=empty_postgres, GOCRM_ENV="production"
    )

    assert (result.returncode, result.stdout, result.stderr) == (2, "", LACKS_EVERY_MIGRATION)


def test_a_worker_without_redis_url_is_one_line(tmp_path: Path) -> None:
    result = gocrm("worker", cwd=tmp_path)

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: set REDIS_URL to run arq workers (without it jobs run in-process)\n",
    )


def test_a_worker_with_redis_down_is_one_line(tmp_path: Path) -> None:
    result = gocrm("worker", cwd=tmp_path, REDIS_URL="redis://127.0.0.1:1/0")

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: Redis is not reachable at 127.0.0.1:1: start it or fix REDIS_URL\n",
    )


def test_subcommand_help_describes_every_option_with_its_default(tmp_path: Path) -> None:
    result = gocrm("create-location", "--help", cwd=tmp_path)

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "usage: gocrm create-location [-h] --name NAME [--currency CURRENCY] "
        "[--timezone TIMEZONE]\n"
        "\n"
        "Create a location and print its first ADMIN key.\n"
        "\n"
        "options:\n"
        "  -h, --help           show this help message and exit\n"
        "  --name NAME          the location's name\n"
        "  --currency CURRENCY  ISO 4217 currency code (default: PLN)\n"
        "  --timezone TIMEZONE  IANA time zone (default: Europe/Warsaw)\n"
    )


def test_every_option_of_every_subcommand_has_a_description() -> None:
    import argparse

    from gateway.cli import build_parser

    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    undocumented = [
        f"{name} {action.dest}"
        for name, sub in commands.choices.items()
        for action in sub._actions
        if not action.help
    ]
    defaults = {
        f"{name} {action.dest}": action.default
        for name, sub in commands.choices.items()
        for action in sub._actions
        if action.option_strings and not action.required and action.dest != "help"
    }

    assert sorted(commands.choices) == [
        "create-api-key",
        "create-location",
        "demo",
        "generate-key",
        "import-customers",
        "migrate",
        "serve",
        "simulate",
        "worker",
    ]
    assert undocumented == []
    assert defaults == {
        "serve host": "127.0.0.1",
        "serve port": 8000,
        "serve workers": None,  # GOCRM_WORKERS, else 2 on PostgreSQL and 1 on SQLite
        "create-location currency": "PLN",
        "create-location timezone": "Europe/Warsaw",
        "create-api-key channel": None,  # POS and KIOSK for a POS key; every one for ADMIN
        "import-customers dry_run": False,
        "demo host": "127.0.0.1",
        "demo port": 8000,
        "demo workers": 1,
        "demo fresh": False,
        "simulate host": "127.0.0.1",
        "simulate port": 8100,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_gocrm_simulate_serves_a_fixture_that_the_adapter_reads(tmp_path: Path) -> None:
    # given `gocrm simulate gopos` running as a real server on the test fixture
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "simulate",
        "gopos",
        "--port",
        str(port),
        "--fixture",
        str(PROJECT_ROOT / "tests" / "fixtures" / "gopos.json"),
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    fixture = json.loads((PROJECT_ROOT / "tests" / "fixtures" / "gopos.json").read_text())
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert server.returncode is None, "the simulator exited"
                assert time.monotonic() < deadline, "the simulator did not start"
                await asyncio.sleep(0.1)

        # when the GoPOS adapter reads it over loopback
        credentials = GoposCredentials(
            base_url=f"http://127.0.0.1:{port}",
            client_id=fixture["client_id"],
            client_secret=fixture["client_secret"],
            organization_id=fixture["organization_id"],
        )
        async with UpstreamClients(HttpConfig()) as clients:
            snapshot = await fetch_gopos(clients, credentials, deadline=10)
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=10)

    # then it gets the fixture's groups and discounts
    assert sorted(g.external_id for g in snapshot.groups) == sorted(
        str(g["id"]) for g in fixture["groups"]
    )
    assert sorted(d.external_id for d in snapshot.discounts) == sorted(
        str(d["id"]) for d in fixture["discounts"]
    )


def test_gocrm_simulate_without_its_fixture_is_one_line(tmp_path: Path) -> None:
    result = gocrm("simulate", "goorder", "--fixture", "missing.json", cwd=tmp_path)

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: no fixture file at 'missing.json'\n"


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {name: value for name, value in os.environ.items() if not name.startswith("GOCRM_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={**base, "PYTHONPATH": str(PROJECT_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_data_layer_and_services_import_whatever_the_environment_holds() -> None:
    """Only the entry points read the settings: a bad setting fails the process that starts,
    never an import of the code below the composition root."""
    imported = _python("import services.checkout, models.db", GOCRM_ENV="bogus")

    assert (imported.returncode, imported.stderr) == (0, "")


def test_the_tortoise_cli_reads_its_configuration_from_the_settings() -> None:
    code = (
        "from gateway.tortoise_cli import TORTOISE_ORM as c; "
        "print(c['connections']['default']['credentials']['file_path'])"
    )
    built = _python(code, DATABASE_URL="sqlite:///tmp/cli-config.sqlite3")
    refused = _python(code, GOCRM_ENV="bogus")

    assert (built.returncode, built.stdout) == (0, "/tmp/cli-config.sqlite3\n")
    assert refused.returncode != 0
    assert "GOCRM_ENV" in refused.stderr
