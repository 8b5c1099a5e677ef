"""The console in a real browser: one gateway (`gocrm demo`'s app: SQLite, jobs in-process, the
GoPOS and GoOrder simulators mounted beside it) in a subprocess for the whole run (a module may
start one of its own with `serve`), one Chromium per module and a fresh browser context per
test. Each module works in a location of its own (`LOCATION`), which `seed.py` creates before
the gateway starts.

Without Debian's Chromium at /usr/bin/chromium the browser tests are skipped with the reason,
unless GOCRM_REQUIRE_SERVICES=1 (.ci/run, which installs it), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from gateway.graphql.trusted import CONSOLE_DOCUMENTS, documents_in

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
REQUIRE_SERVICES = os.environ.get("GOCRM_REQUIRE_SERVICES") == "1"
# The locations the modules work in, one each.
LOCATIONS = (
    "Grupy",
    "Kredyty",
    "Klienci",
    "Integracje",
    "Dostęp",
    "Strony",
    "Klucze",
    "Portfel",
    "Doładowania",
    "Polski",
    "Ustawienia",
    "Kartoteka",
    "Cofanie",
    "Raporty",
    "Zwroty",
    "Wygasanie",
    "Webhooki",
    "Wygasające",
    "Zaufane",
)
VIEWPORT = ViewportSize(width=1366, height=768)
# The console's documents by the id it sends them with (gateway/console/static/documents.js).
CONSOLE_OPERATIONS = {f"sha256:{d.id}": d.name for d in documents_in(CONSOLE_DOCUMENTS)}
# Where the demo app serves its simulators (gateway.app.DEMO_SIMULATORS).
SIMULATORS = {"gopos": "/simulators/gopos", "goorder": "/simulators/goorder"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists() or REQUIRE_SERVICES:
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@dataclass
class Gateway:
    """The running gateway: its base URL, the ADMIN key of each seeded location and its SQLite
    database file."""

    url: str
    keys: dict[str, str]
    database: Path


@dataclass
class Api:
    """A GraphQL client of the running gateway with one API key: how a test checks what the
    console claims."""

    url: str
    key: str

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"{self.url}/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {self.key}"},
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def mutate(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The payload of the one mutation in `query`, which must have no errors."""
        (payload,) = (await self.data(query, variables)).values()
        assert payload["errors"] == [], payload
        result: dict[str, Any] = payload
        return result


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _environment() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GOCRM_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """`gocrm demo`'s app on a fresh SQLite file in its own folder, serving the seeded
    locations."""
    folder = tmp_path_factory.mktemp("console-gateway")
    yield from serve(folder, LOCATIONS, "gateway.app:demo_app_factory")


def serve(
    folder: Path, locations: tuple[str, ...], factory: str, env: dict[str, str] | None = None
) -> Iterator[Gateway]:
    """A gateway (`factory`, with `env` besides the test run's) in a subprocess, on a fresh
    SQLite file in `folder` holding `locations`, until the generator is closed."""
    database = folder / "gocrm.sqlite3"
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.console.seed", str(database), *locations],
        cwd=folder,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    keys = json.loads(seeded.stdout)
    port = _free_port()
    log = (folder / "gateway.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "uvicorn", factory, "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        cwd=folder,
        env={**_environment(), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert process.poll() is None, (folder / "gateway.log").read_text()
                assert time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.1)
        yield Gateway(f"http://127.0.0.1:{port}", keys, database)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def admin(gateway: Gateway, request: pytest.FixtureRequest) -> Api:
    """An ADMIN client of the module's own location (`LOCATION` in the module)."""
    return Api(gateway.url, gateway.keys[request.module.LOCATION])


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Chromium as a Polish user runs it: its own language Polish (LANGUAGE=pl, with Debian's
    chromium-l10n), so a native date field reads dd.mm.rrrr as it does for a Polish manager;
    without the Polish language pack it falls back to mm/dd/yyyy."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--lang=pl"], env={**os.environ, "LANGUAGE": "pl"}
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page in a fresh context (nothing stored), Polish locale, 1366×768. The test fails if
    the page logs an error, such as a Content-Security-Policy violation, other than a refused
    key's 401."""
    context = await browser.new_context(
        viewport=VIEWPORT, locale="pl-PL", timezone_id="Europe/Warsaw"
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    problems: list[str] = []

    def logged(message: ConsoleMessage) -> None:
        if message.type == "error" and "status of 401" not in message.text:
            problems.append(message.text)

    page.on("console", logged)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    await context.close()
    assert problems == []


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the run's screenshots go: GOCRM_SCREENSHOTS, or a folder of the run's own."""
    if chosen := os.environ.get("GOCRM_SCREENSHOTS"):
        folder = Path(chosen)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


async def log_in(page: Page, gateway: Gateway, key: str) -> None:
    """Opens the console and logs in with `key` as a user does."""
    await page.goto(f"{gateway.url}/console/")
    await page.get_by_label("Klucz API").fill(key)
    await page.get_by_role("button", name="Zaloguj").click()
    await page.get_by_role("button", name="Wyloguj").wait_for()


async def open_page(page: Page, gateway: Gateway, route: str) -> None:
    """Goes to a console route (`customers`, `settings/groups`, …) and waits for its title."""
    await page.goto(f"{gateway.url}/console/#/{route}")
    await page.locator("main h1").wait_for()
    await expect(page.locator("main .loading")).to_have_count(0)


def release_held_cashback(gateway: Gateway, days: int) -> int:
    """Releases the held cashback whose hold ends within `days` from now, as the gateway's
    periodic check will then (`tests/console/release.py`); returns how many sales."""
    released = subprocess.run(
        [sys.executable, "-m", "tests.console.release", str(gateway.database), str(days)],
        cwd=gateway.database.parent,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(released.stdout)


def operation_of(body: dict[str, Any]) -> str | None:
    """The name of the console's document a request's body names by its id."""
    return CONSOLE_OPERATIONS.get(body.get("documentId", ""))


def plain(text: str) -> str:
    """Text as shown, with Intl's no-break spaces made plain spaces."""
    return re.sub(r"[\u00a0\u202f]", " ", text)
