"""A local GoOrder: the contract of shared/upstream.md served from in-memory data.

`create_goorder_simulator(fixture)` returns a Starlette app; its `GoorderSimulator` is
`app.state.simulator`, where tests change the data and the knobs (`adapters.simulator_base`)
while it runs.
"""

from __future__ import annotations

from os import PathLike

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
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
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


class GoorderSimulator(SimulatorBase):
    def __init__(self, fixture: Fixture, *, seed: int = 0) -> None:
        super().__init__(Faults.from_fixture(dict(fixture.get("faults") or {})), seed=seed)
        self.store_id = fixture_text(fixture, "store_id")
        self.api_key = fixture_text(fixture, "api_key")
        self.promotions = [
            {**promotion, "updated_at": promotion.get("updated_at", DEFAULT_UPDATED_AT)}
            for promotion in fixture_objects(fixture, "promotions")
        ]

    def generate(self, *, promotions: int) -> None:
        """Replace the data with `promotions` promotions (for benchmarks)."""
        self.promotions = [
            {
                "id": f"pr_{number}",
                "name": f"Promocja {number}",
                "type": "ORDER_PERCENT" if number % 2 else "ORDER_AMOUNT",
                "add_type": "MANUAL" if number % 5 else "AUTOMATIC",
                "value": f"{number % 30 + 1}.00",
                "reference": f"grupa-{number}",
                "min_basket_value": f"{number % 10 * 10}.00" if number % 4 else None,
                "active": bool(number % 6),
                "updated_at": DEFAULT_UPDATED_AT,
            }
            for number in range(1, promotions + 1)
        ]

    def app(self) -> Starlette:
        app = Starlette(
            routes=[
                Route(
                    "/api/v1/stores/{store_id}/promotions",
                    self.guard(self._promotions),
                    methods=["GET"],
                ),
            ]
        )
        app.state.simulator = self
        return app

    async def _promotions(self, request: Request) -> Response:
        if request.headers.get("X-Api-Key") != self.api_key:
            return PlainTextResponse("Invalid API key", 401)
        if request.path_params["store_id"] != self.store_id:
            return JSONResponse({"error": "store not found"}, 404)
        page = query_int(request, "page", 1)
        per_page = query_int(request, "per_page", DEFAULT_PER_PAGE)
        if page is None or per_page is None or page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            return JSONResponse({"error": "page >= 1 and 1 <= per_page <= 100"}, 400)
        total = len(self.promotions)
        start = (page - 1) * per_page
        return JSONResponse(
            {
                "items": self.promotions[start : start + per_page],
                "page": page,
                "pages": -(-total // per_page),
                "total": total,
            }
        )


def create_goorder_simulator(fixture: Fixture | str | PathLike[str], *, seed: int = 0) -> Starlette:
    """A GoOrder simulator app; `app.state.simulator` is its `GoorderSimulator`."""
    return GoorderSimulator(load_fixture(fixture), seed=seed).app()
