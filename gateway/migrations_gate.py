"""Development serves a database that lacks a migration (production refuses to start): while it
does, every request but the health checks and metrics is answered 503 with the one-line reason,
as `/readyz` gives it, and the in-process periodic check waits. The reason is logged once, at
start-up. The database is looked at again at most once a second, so `gocrm migrate` run beside
the server takes effect without a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.readiness import migrations_message
from models.db import missing_migrations

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0
# Paths that answer whatever the migrations: they report on them.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class MigrationState:
    """The migrations the database lacked when last looked at (start-up, then at most once a
    `RECHECK_SECONDS` while any is missing)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.missing: list[str] = []
        self._clock = clock
        self._checked = clock()

    def started(self, missing: list[str]) -> None:
        self.missing = missing
        self._checked = self._clock()

    async def lacking(self) -> list[str]:
        if self.missing and self._clock() - self._checked >= RECHECK_SECONDS:
            self._checked = self._clock()
            try:
                self.missing = await missing_migrations()
            except Exception:  # unreachable: keep the last answer; /readyz says more
                return self.missing
            if not self.missing:
                log.info("the database holds every migration now: serving")
        return self.missing

    async def current(self) -> bool:
        return not await self.lacking()


class MigrationsGate:
    """Answers 503 with the reason while the database lacks a migration."""

    def __init__(self, app: ASGIApp, state: MigrationState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gated = scope["type"] == "http" and scope["path"] not in OPEN_PATHS
        if gated and self.state.missing and (missing := await self.state.lacking()):
            reason = migrations_message(missing)
            body = {
                "errors": [
                    {
                        "message": reason[0].upper() + reason[1:] + ".",
                        "extensions": {"code": "DATABASE_UNAVAILABLE"},
                    }
                ]
            }
            response = JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
