"""GraphiQL for development, served by the gateway itself: no file comes from another host.

`page.html` loads the vendored builds under `static/vendor/` (see `VENDORED.md`) and our
`static/mount.js`; the page carries a Content-Security-Policy that allows scripts from the
gateway only and no inline script.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

HERE = Path(__file__).parent
STATIC_DIRECTORY = HERE / "static"
# Where `static/` is mounted; page.html names its assets under it.
ASSETS_PATH = "/graphiql"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # GraphiQL's dialogs (settings, short keys) lock page scrolling through a <style>
        # element that they write at run time, with sizes measured then: no hash can match it.
        # Style attributes stay refused.
        "style-src-elem 'self' 'unsafe-inline'",
        # graphiql.min.css embeds its fonts (Roboto, Fira Code) as data: URLs.
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

_PAGE = (HERE / "page.html").read_text(encoding="utf-8")


def page() -> HTMLResponse:
    return HTMLResponse(
        _PAGE,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-store",
        },
    )


def assets() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIRECTORY)
