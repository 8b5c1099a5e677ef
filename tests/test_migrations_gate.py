"""Development `gocrm serve` on a PostgreSQL database that lacks its migrations: every request
but the health checks is answered 503 with the one-line reason, the reason is logged once (no
traceback from the periodic check), and `gocrm migrate` run beside it takes effect at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from gateway.migrations_gate import MigrationState
from tests.servers import environment, free_port, start_serve
from tests.test_cli import LACKS_EVERY_MIGRATION, MIGRATIONS, empty_postgres, gocrm

__all__ = ["empty_postgres"]

REASON = LACKS_EVERY_MIGRATION.removeprefix("error: t").removesuffix("\n")


async def test_unmigrated_development_serve_answers_503_with_the_reason(
    tmp_path: Path, empty_postgres: str
) -> None:
    port = free_port()
    env = environment(
        empty_postgres, tmp_path / "metrics", GOCRM_CHECK_SECONDS="1", GOCRM_WORKERS="1"
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = await start_serve(port, tmp_path, env, stderr=sink.fileno())
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                answers = [
                    await http.post("/graphql", json={"query": "{ viewer { role } }"}),
                    await http.get("/console/"),
                ]
                ready = await http.get("/readyz")
                await asyncio.sleep(3)  # three ticks of the periodic check

                migrated = gocrm("migrate", cwd=tmp_path, DATABASE_URL=empty_postgres)
                assert migrated.returncode == 0, migrated.stderr
                deadline = time.monotonic() + 10
                while (await http.get("/console/")).status_code != 200:
                    assert time.monotonic() < deadline, "still 503 after gocrm migrate"
                    await asyncio.sleep(0.2)
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), timeout=30)

    assert [a.status_code for a in answers] == [503, 503]
    assert [a.json() for a in answers] == [
        {"errors": [{"message": f"T{REASON}.", "extensions": {"code": "DATABASE_UNAVAILABLE"}}]}
    ] * 2
    assert (ready.status_code, ready.json()["missing_migrations"]) == (503, MIGRATIONS)
    text = log.read_text()
    assert text.count(f"t{REASON}") == 1, text  # once per server process
    assert "Traceback" not in text
    assert "the periodic check failed" not in text
    assert "the database holds every migration now: serving" in text


async def test_the_state_looks_again_at_most_once_a_second() -> None:
    now = [0.0]
    state = MigrationState(clock=lambda: now[0])
    state.started(["models.0001_initial"])

    assert await state.lacking() == ["models.0001_initial"]  # not looked at again yet
    assert not await state.current()
