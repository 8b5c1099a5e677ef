"""A local GoPOS: the contract of shared/upstream.md served from in-memory data.

`create_gopos_simulator(fixture)` returns a Starlette app; its `GoposSimulator` is
`app.state.simulator`, where tests change the data and the knobs while it runs. Beyond the
faults every simulator has (`adapters.simulator_base`), GoPOS has a token lifetime (a token older
than `token_ttl_s` on the simulator's clock gets 401) and `reject_tokens` (every API call gets
401, whatever the token).
"""

from __future__ import annotations

import random
import time
import urllib.parse
from collections.abc import Callable
from os import PathLike
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.simulator_base import (
    Faults,
    Fixture,
    SimulatorBase,
    fixture_objects,
    fixture_text,
    load_fixture,
    query_int,
)

DEFAULT_UPDATED_AT = "2026-11-20T10:00:00Z"
MAX_SIZE = 100
DEFAULT_SIZE = 20


class GoposSimulator(SimulatorBase):
    def __init__(
        self, fixture: Fixture, *, seed: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        raw_faults = dict(fixture.get("faults") or {})
        super().__init__(
            Faults.from_fixture(raw_faults, extra=frozenset({"token_ttl_s"})), seed=seed
        )
        self.organization_id = fixture_text(fixture, "organization_id")
        self.client_id = fixture_text(fixture, "client_id")
        self.client_secret = fixture_text(fixture, "client_secret")
        self.groups = [_with_updated_at(group) for group in fixture_objects(fixture, "groups")]
        self.discounts = fixture_objects(fixture, "discounts")
        self.token_ttl_s = float(raw_faults.get("token_ttl_s", 3600))
        self.reject_tokens = False
        self.issued_tokens: list[str] = []
        self._clock = clock
        self._token_rng = random.Random(f"{seed}:tokens")
        self._tokens: dict[str, float] = {}

    @property
    def token_requests(self) -> int:
        return self.requests_by_path["/oauth/token"]

    def generate(self, *, groups: int = 0, discounts: int = 0) -> None:
        """Replace the data with `groups` groups and `discounts` discounts (for benchmarks)."""
        self.discounts = [
            {
                "id": number,
                "name": f"Rabat {number}",
                "type": "PERCENT" if number % 2 else "AMOUNT",
                "value": f"{number % 50 + 1}.00",
                "status": "ENABLED" if number % 7 else "DISABLED",
            }
            for number in range(1, discounts + 1)
        ]
        self.groups = [
            {
                "id": number,
                "name": f"Grupa {number}",
                "reference": f"grupa-{number}",
                "daily_discount_limit": (
                    {"amount": f"{number % 90 + 10}.00", "currency": "PLN"} if number % 3 else None
                ),
                "discount_ids": [number % discounts + 1] if discounts else [],
                "updated_at": DEFAULT_UPDATED_AT,
            }
            for number in range(1, groups + 1)
        ]

    def app(self) -> Starlette:
        prefix = "/api/v3/{organization_id}"
        app = Starlette(
            routes=[
                Route("/oauth/token", self.guard(self._token), methods=["POST"]),
                Route(f"{prefix}/clients/groups", self.guard(self._groups), methods=["GET"]),
                Route(f"{prefix}/discounts", self.guard(self._discounts), methods=["GET"]),
            ]
        )
        app.state.simulator = self
        return app

    async def _token(self, request: Request) -> Response:
        form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
        sent = {key: values[0] for key, values in form.items() if values}
        expected = {
            "grant_type": "organization",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "organization_id": self.organization_id,
        }
        if sent.get("grant_type") != "organization":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        if any(sent.get(key) != value for key, value in expected.items()):
            return JSONResponse({"error": "invalid_client"}, 401)
        token = f"{self._token_rng.getrandbits(128):032x}"
        self._tokens[token] = self._clock()
        self.issued_tokens.append(token)
        ttl = float(self.token_ttl_s)
        expires_in = int(ttl) if ttl.is_integer() else ttl
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "expires_in": expires_in}
        )

    async def _groups(self, request: Request) -> Response:
        return self._page(request, self.groups)

    async def _discounts(self, request: Request) -> Response:
        return self._page(request, self.discounts)

    def _page(self, request: Request, data: list[dict[str, Any]]) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        page = query_int(request, "page", 0)
        size = query_int(request, "size", DEFAULT_SIZE)
        if page is None or size is None or page < 0 or not 1 <= size <= MAX_SIZE:
            return JSONResponse({"error": "page >= 0 and 1 <= size <= 100"}, 400)
        return JSONResponse({"data": data[page * size : (page + 1) * size]})

    def _refuse(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        issued_at = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if self.reject_tokens or issued_at is None or self._clock() - issued_at >= self.token_ttl_s:
            return JSONResponse({"error": "invalid_token"}, 401)
        if request.path_params["organization_id"] != self.organization_id:
            return JSONResponse({"error": "access_denied"}, 403)
        return None


def create_gopos_simulator(
    fixture: Fixture | str | PathLike[str],
    *,
    seed: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """A GoPOS simulator app; `app.state.simulator` is its `GoposSimulator`."""
    return GoposSimulator(load_fixture(fixture), seed=seed, clock=clock).app()


def _with_updated_at(group: dict[str, Any]) -> dict[str, Any]:
    return {**group, "updated_at": group.get("updated_at", DEFAULT_UPDATED_AT)}
