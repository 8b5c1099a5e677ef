"""GraphiQL in development: the page and every file it loads come from the gateway, under a
Content-Security-Policy; where Chromium is installed, a real browser renders it with no network
beyond this machine and stores no pasted API key."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.app import create_app
from gateway.graphiql import CONTENT_SECURITY_POLICY, HERE
from settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
HTML = {"Accept": "text/html"}
EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "style-src-elem 'self' 'unsafe-inline'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self.inline_styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for attribute in ("src", "href"):
            if named.get(attribute):
                self.urls.append(str(named[attribute]))
        if "style" in named or tag == "style":
            self.inline_styles += 1
        self._in_script = tag == "script"
        if tag == "script" and not named.get("src"):
            self.inline_scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def _references(html: str) -> _References:
    parser = _References()
    parser.feed(html)
    return parser


async def test_the_page_is_served_with_its_content_security_policy(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/graphql", headers=HTML)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == EXPECTED_CSP
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP
    assert response.headers["cache-control"] == "no-store"
    page = _references(response.text)
    assert page.inline_scripts == []
    assert page.inline_styles == 0
    assert re.findall(r"(?i)(?:https?:)?//", response.text) == []
    assert page.urls == [
        "/graphiql/favicon.svg",
        "/graphiql/vendor/graphiql-3.8.3/graphiql.min.css",
        "/graphiql/vendor/graphiql-plugin-explorer-1.0.2/style.css",
        "/graphiql/page.css",
        "/graphiql/vendor/react-18.2.0/react.production.min.js",
        "/graphiql/vendor/react-dom-18.2.0/react-dom.production.min.js",
        "/graphiql/vendor/graphiql-3.8.3/graphiql.min.js",
        "/graphiql/vendor/graphiql-plugin-explorer-1.0.2/index.umd.js",
        "/graphiql/mount.js",
    ]


async def test_every_file_the_page_references_is_served_by_the_gateway(
    http: httpx.AsyncClient,
) -> None:
    page = _references((await http.get("/graphql", headers=HTML)).text)

    for url in page.urls:
        response = await http.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == CONTENT_TYPES[Path(url).suffix], url
        local = HERE / "static" / url.removeprefix("/graphiql/")
        assert response.content == local.read_bytes(), url


def test_the_stylesheets_load_nothing_from_another_host() -> None:
    for css in (HERE / "static").rglob("*.css"):
        urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8"))
        assert [u for u in urls if not u.startswith("data:")] == [], css
        assert "@import" not in css.read_text(encoding="utf-8"), css


def test_the_mount_script_keeps_headers_out_of_storage() -> None:
    script = (HERE / "static" / "mount.js").read_text(encoding="utf-8")

    assert script.count("shouldPersistHeaders") == 2  # the comment and the option
    assert "      shouldPersistHeaders: false,\n" in script
    assert "      storage: storage,\n" in script


def test_the_vendored_files_are_the_ones_recorded() -> None:
    record = (HERE / "VENDORED.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| [^|]+ \| [^|]+ \| MIT \| `[^`]+` \| `([^`]+)` \| (\d+) \| `([^`]+)` \|$",
        record,
        flags=re.MULTILINE,
    )
    vendor = HERE / "static" / "vendor"

    files = sorted(
        str(p.relative_to(vendor)) for p in vendor.rglob("*") if p.suffix in (".js", ".css")
    )
    assert sorted(name for name, _, _ in rows) == files
    for name, size, digest in rows:
        content = (vendor / name).read_bytes()
        assert len(content) == int(size), name
        sha384 = base64.b64encode(hashlib.sha384(content).digest()).decode()
        assert digest == f"sha384-{sha384}", name
    for package in vendor.iterdir():
        assert sorted(p.name for p in package.glob("LICENSE*")), package


async def test_production_serves_no_graphiql(database: Settings) -> None:
    app = create_app(dataclasses.replace(database, env="production"), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        page = await client.get("/graphql", headers=HTML)
        asset = await client.get("/graphiql/mount.js")

    assert page.headers["content-type"] != "text/html; charset=utf-8"
    assert "content-security-policy" not in page.headers
    assert asset.status_code == 404


# In a real browser.

# Skipped without Chromium, unless GOCRM_REQUIRE_SERVICES=1 (.ci/run, which installs it).
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("GOCRM_REQUIRE_SERVICES") != "1",
    reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _gocrm(*args: str, cwd: Path, output: int = subprocess.PIPE) -> subprocess.Popen[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GOCRM_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=cwd,
        env=env,
        stdout=output,
        stderr=subprocess.DEVNULL,
        text=True,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A development gateway on a SQLite file: its /graphql URL and an ADMIN key."""
    created = _gocrm("create-location", "--name", "Browser Bistro", cwd=tmp_path)
    stdout, _ = created.communicate(timeout=60)
    key = json.loads(stdout)["api_key"]
    port = _free_port()
    process = _gocrm("serve", "--port", str(port), cwd=tmp_path, output=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/graphql", key
    finally:
        process.terminate()
        process.wait(timeout=30)


def _chromium(*args: str, profile: Path) -> list[str]:
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        # Any host but this machine fails to resolve: the page must need no other.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        *args,
    ]


@needs_chromium
def test_chromium_renders_graphiql_under_the_policy(
    server: tuple[str, str], tmp_path: Path
) -> None:
    url, _ = server

    result = subprocess.run(
        _chromium(
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
            profile=tmp_path / "profile",
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert 'class="graphiql-container"' in result.stdout
    assert "graphiql-session" in result.stdout
    assert "Loading…" not in result.stdout
    assert "Content Security Policy" not in result.stderr
    assert "Content-Security-Policy" not in result.stderr


class _DevTools:
    """Just enough of the Chrome DevTools Protocol to drive one page."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.events: list[dict[str, Any]] = []
        self._next = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        await self.socket.send(json.dumps({"id": self._next, "method": method, "params": params}))
        while True:
            message = json.loads(await self.socket.recv())
            if message.get("id") == self._next:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result
            self.events.append(message)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def until(self, expression: str, seconds: float = 20.0) -> Any:
        deadline = time.monotonic() + seconds
        while not (value := await self.evaluate(expression)):
            assert time.monotonic() < deadline, f"never true: {expression}"
            await asyncio.sleep(0.2)
        return value


async def _paste_a_key_and_run(debugger: str, url: str, key: str) -> dict[str, Any]:
    """Open GraphiQL, open and close a dialog, paste the key into the headers and run the
    default query; what the page showed and stored, and what the browser logged and fetched."""
    import websockets

    async with websockets.connect(debugger, max_size=None) as ws:
        tools = _DevTools(ws)
        for domain in ("Page", "Runtime", "Log", "Network"):
            await tools.call(f"{domain}.enable")
        await tools.call("Page.navigate", url=url)
        await tools.until("document.querySelector('.graphiql-session') !== null")
        # A dialog writes a <style> element: the policy's one allowance for styles.
        await tools.evaluate(
            "document.querySelector('[aria-label=\"Open settings dialog\"]').click()"
        )
        await tools.until("document.querySelector('[role=dialog]') !== null")
        await tools.evaluate(
            "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))"
        )
        await tools.evaluate(
            "[...document.querySelectorAll('button')]"
            ".find(b => b.textContent === 'Headers').click()"
        )
        await tools.until(
            "document.querySelectorAll('.graphiql-editor-tool .CodeMirror').length === 2"
        )
        headers = json.dumps({"Authorization": f"Bearer {key}"})
        await tools.evaluate(
            "document.querySelectorAll('.graphiql-editor-tool .CodeMirror')[1]"
            f".CodeMirror.setValue({json.dumps(headers)})"
        )
        await tools.evaluate(
            "document.querySelector('[aria-label=\"Execute query (Ctrl-Enter)\"]').click()"
        )
        shown = await tools.until(
            "(t => t.includes('Browser Bistro') && t)"
            "(document.querySelector('.result-window').innerText)"
        )
        stored = await tools.evaluate("JSON.stringify(localStorage)")
        await asyncio.sleep(0.5)
        await tools.evaluate("1")  # collects the events that arrived meanwhile
    return {
        "shown": shown,
        "stored": stored,
        "logged": [
            e["params"]["entry"]["text"] for e in tools.events if e["method"] == "Log.entryAdded"
        ],
        "requested": [
            e["params"]["request"]["url"]
            for e in tools.events
            if e["method"] == "Network.requestWillBeSent"
        ],
    }


@needs_chromium
def test_a_pasted_key_works_and_is_never_stored(server: tuple[str, str], tmp_path: Path) -> None:
    pytest.importorskip("websockets")
    url, key = server
    port = _free_port()
    browser = subprocess.Popen(
        _chromium(f"--remote-debugging-port={port}", "about:blank", profile=tmp_path / "p"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        pages: list[dict[str, Any]] = []
        while not pages:
            assert time.monotonic() < deadline, "Chromium did not start"
            time.sleep(0.2)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=1) as r:
                    pages = [t for t in json.load(r) if t["type"] == "page"]
            except OSError:
                continue
        seen = asyncio.run(_paste_a_key_and_run(pages[0]["webSocketDebuggerUrl"], url, key))
    finally:
        browser.terminate()
        browser.wait(timeout=30)

    assert '"name": "Browser Bistro"' in seen["shown"]
    assert "graphiql:queries" in seen["stored"]
    assert key not in seen["stored"]
    assert [text for text in seen["logged"] if "Content Security Policy" in text] == []
    origin = urlsplit(url).netloc
    assert f"{url.removesuffix('/graphql')}/graphiql/mount.js" in seen["requested"]
    assert [
        r for r in seen["requested"] if not (r.startswith("data:") or urlsplit(r).netloc == origin)
    ] == []
