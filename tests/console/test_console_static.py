"""The console's files, without a browser: the page and every asset are served with the
Content-Security-Policy, in development and in production; the page has no inline script or
style; every module import resolves to a served file; nothing loads from another host; every
text is in both languages; the vendored files are the ones recorded."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from graphql import FieldNode, OperationDefinitionNode, parse

from gateway.app import create_app
from gateway.console import CONTENT_SECURITY_POLICY, HERE
from gateway.graphql.trusted import CONSOLE_DOCUMENTS
from settings import Settings

STATIC = HERE / "static"
TEST_VENDOR = Path(__file__).parent / "vendor"
EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.urls += [str(named[a]) for a in ("src", "href") if named.get(a)]
        if tag == "script" and not named.get("src"):
            self.inline_scripts += 1
        if tag == "style" or "style" in named:
            self.inline_styles += 1


def _parsed(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _modules() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*.js") if "vendor" not in p.parts)


async def test_the_page_is_served_with_its_content_security_policy(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/console/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == EXPECTED_CSP
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    page = _parsed(response.text)
    assert page.inline_scripts == 0
    assert page.inline_styles == 0
    assert page.urls == [
        "/console/static/favicon.svg",
        "/console/static/console.css",
        "/console/static/app.js",
    ]


async def test_without_its_slash_the_console_redirects_to_it(http: httpx.AsyncClient) -> None:
    response = await http.get("/console")

    assert response.status_code == 307
    assert response.headers["location"] == "http://gateway/console/"


async def test_the_gateways_root_redirects_to_the_console(http: httpx.AsyncClient) -> None:
    response = await http.get("/")

    assert (response.status_code, response.headers["location"]) == (307, "/console/")
    assert (await http.get("/", follow_redirects=True)).url.path == "/console/"


async def test_every_file_is_served_with_the_policy(http: httpx.AsyncClient) -> None:
    files = [p for p in STATIC.rglob("*") if p.suffix in CONTENT_TYPES]

    for path in files:
        url = f"/console/static/{path.relative_to(STATIC).as_posix()}"
        response = await http.get(url)
        assert response.status_code == 200, url
        assert response.content == path.read_bytes(), url
        assert response.headers["content-type"] == CONTENT_TYPES[path.suffix], url
        assert response.headers["content-security-policy"] == EXPECTED_CSP, url
        assert response.headers["x-content-type-options"] == "nosniff", url
    assert len(files) > 10
    assert (await http.get("/console/static/../__init__.py")).status_code == 404


async def test_production_serves_the_console_too(database: Settings) -> None:
    app = create_app(dataclasses.replace(database, env="production"), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        page = await client.get("/console/")
        module = await client.get("/console/static/app.js")

    assert page.status_code == 200
    assert page.headers["content-security-policy"] == EXPECTED_CSP
    assert module.status_code == 200


def test_every_module_import_is_a_relative_file_of_the_console() -> None:
    for module in _modules():
        source = module.read_text(encoding="utf-8")
        imports = re.findall(r'^import .*? from "([^"]+)";$', source, flags=re.MULTILINE | re.S)
        assert len(imports) == len(re.findall(r"^import\b", source, flags=re.MULTILINE)), module
        for target in imports:
            assert target.startswith("./") or target.startswith("../"), (module, target)
            assert (module.parent / target).resolve().is_file(), (module, target)


def test_nothing_is_loaded_from_another_host() -> None:
    for path in [*STATIC.rglob("*.js"), *STATIC.rglob("*.css"), HERE / "index.html"]:
        if "vendor" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert re.findall(r"(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text) == [], path
        assert "@import" not in text, path


def _dictionary(source: str, name: str) -> set[str]:
    """The texts of a dictionary by key; a counted text's plural forms (Polish one/few/many/
    other, English one/other) are one text, under the key `plural()` is called with."""
    body = source.split(f"const {name} = {{", 1)[1].split("\n};", 1)[0]
    keys = re.findall(r'^  "([a-zA-Z0-9_.]+)":', body, flags=re.MULTILINE)
    return {re.sub(r"\.(one|few|many|other)$", "", key) for key in keys}


def test_every_text_is_in_polish_and_in_english() -> None:
    i18n = (STATIC / "i18n.js").read_text(encoding="utf-8")
    polish, english = _dictionary(i18n, "PL"), _dictionary(i18n, "EN")
    namespaces = {key.split(".")[0] for key in polish}
    used: set[str] = set()
    prefixes: set[str] = set()
    for module in _modules():
        source = module.read_text(encoding="utf-8")
        used |= {
            k
            for k in re.findall(r'"([a-z]+\.[a-zA-Z.]+)"', source)
            if k.split(".")[0] in namespaces
        }
        prefixes |= set(re.findall(r"t\(`([a-zA-Z.]+)\$\{", source))

    assert polish == english
    assert {re.sub(r"\.(one|few|many|other)$", "", key) for key in used} - polish == set()
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in polish), prefix
    assert len(polish) > 250


@pytest.mark.parametrize(
    ("record", "vendor"),
    [
        (HERE / "VENDORED.md", STATIC / "vendor"),
        (TEST_VENDOR / "VENDORED.md", TEST_VENDOR),
    ],
    ids=["preact-htm", "axe-core"],
)
def test_the_vendored_files_are_the_ones_recorded(record: Path, vendor: Path) -> None:
    rows = re.findall(
        r"^\| [^|]+ \| [^|]+ \| [^|]+ \| `[^`]+` \| `([^`]+)` \| (\d+) \| `([^`]+)` \|$",
        record.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )

    found = [*vendor.rglob("*.js"), *vendor.rglob("*.css")]
    files = sorted(str(p.relative_to(vendor)) for p in found)
    assert sorted(name for name, _, _ in rows) == files
    assert files
    for name, size, digest in rows:
        content = (vendor / name).read_bytes()
        assert len(content) == int(size), name
        sha384 = base64.b64encode(hashlib.sha384(content).digest()).decode()
        assert digest == f"sha384-{sha384}", name
        assert sorted(p.name for p in (vendor / name).parent.glob("LICENSE*")), name


def test_the_activity_report_asks_for_every_column_the_page_shows() -> None:
    """The page's columns (ACTIVITY_COLUMNS) and its document's fields are written apart: a
    column the document does not ask for would show nothing."""
    source = (STATIC / "pages" / "report-sections.js").read_text(encoding="utf-8")
    listed = source.split("export const ACTIVITY_COLUMNS = [", 1)[1].split("];", 1)[0]
    columns = re.findall(r'"(\w+)"', listed)
    document = parse((CONSOLE_DOCUMENTS / "ActivityReport.graphql").read_text(encoding="utf-8"))
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    (report,) = operation.selection_set.selections
    assert isinstance(report, FieldNode)
    assert report.selection_set is not None
    fields = [f.name.value for f in report.selection_set.selections if isinstance(f, FieldNode)]

    assert fields == ["start", *columns]
