"""Runs a GoPOS or GoOrder simulator as a real server (`gocrm simulate gopos|goorder`)."""

from __future__ import annotations

import uvicorn

from adapters.goorder.simulator import create_goorder_simulator
from adapters.gopos.simulator import create_gopos_simulator
from adapters.simulator_base import load_fixture

KINDS = ("gopos", "goorder")


def serve_simulator(kind: str, fixture_path: str, port: int, host: str = "127.0.0.1") -> None:
    """Serve the `kind` simulator with the data of `fixture_path` until interrupted."""
    if kind not in KINDS:
        raise ValueError(f"unknown simulator {kind!r}: expected one of {', '.join(KINDS)}")
    fixture = load_fixture(fixture_path)
    app = create_gopos_simulator(fixture) if kind == "gopos" else create_goorder_simulator(fixture)
    uvicorn.run(app, host=host, port=port, log_level="info")
