"""The back-office web console at `/console/`: static HTML, CSS and ES modules that talk to the
public GraphQL API only, with Preact and htm vendored under `static/vendor/` (see `VENDORED.md`).

The page and every asset carry a Content-Security-Policy that allows scripts, styles and requests
to this origin only, and no inline script or style attribute. The console is served in every
mode: it holds no data and no secret, and asks for an API key before it shows anything.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).parent
STATIC_DIRECTORY = HERE / "static"
# Where the console is mounted; index.html names its assets under PATH + "/static/".
PATH = "/console"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
COMMON_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_PAGE = (HERE / "index.html").read_text(encoding="utf-8")


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(_PAGE, headers={**COMMON_HEADERS, "Cache-Control": "no-store"})


class _WithHeaders:
    """Adds the console's headers to every response of `app` (its static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [
            (name.lower().encode(), value.encode())
            for name, value in {**COMMON_HEADERS, "Cache-Control": "no-cache"}.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def app() -> Router:
    """The console's routes, to mount at `PATH`: the page at `/` and the files under `/static`."""
    return Router(
        routes=[
            Route("/", page, methods=["GET", "HEAD"]),
            Mount("/static", _WithHeaders(StaticFiles(directory=STATIC_DIRECTORY))),
        ]
    )
