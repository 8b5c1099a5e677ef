"""`gocrm serve` as a real process, for the tests of what only processes show: metrics summed
over processes, and shutting down on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(database_url: str, metrics_dir: Path, **extra: str) -> dict[str, str]:
    """This environment without our settings, then `DATABASE_URL`, the metrics directory and
    `extra`."""
    ours = ("GOCRM_", "PROMETHEUS_")
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(ours) and name not in ("DATABASE_URL", "REDIS_URL")
    }
    return {
        **base,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": database_url,
        "GOCRM_METRICS_DIR": str(metrics_dir),
        **extra,
    }


async def start_serve(
    port: int, cwd: Path, env: dict[str, str], *, stderr: int | None = asyncio.subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    """`gocrm serve --port PORT`, answering `/healthz` before this returns."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--port",
        str(port),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr,
    )
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert server.returncode is None, "the server exited"
            try:
                if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    server.kill()
    await server.wait()
    raise AssertionError("the server did not start within 30 s")
