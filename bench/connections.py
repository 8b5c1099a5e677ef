"""What guarding the connections costs: uvicorn's httptools protocol against the gateway's
`GuardedHttpProtocol`, in the same run.

Serves a bare ASGI app (200 `hello`, nothing else, so that the protocol's own work is what
differs) from one uvicorn process (one worker, uvloop) pinned with `taskset` to one core, with
each protocol in turn, and loads it from this process pinned to another core over loopback:

- `keep-alive`: C connections, each sending its next request as soon as an answer is complete
  (the tills' traffic: a deadline is set and cleared on every request);
- `new connection`: C clients, each opening a connection, sending one request with
  `Connection: close` and reading to the end, then again (admission and release on every
  request).

For each it prints requests per second, the server's CPU per request (utime + stime from
`/proc/<pid>/stat` over the measured window), and the guarded protocol's CPU per request as a
ratio to the stock one's. Target: at most 1.05× on keep-alive, 1.15× on new connections.

    python -m bench.connections [--connections C] [--duration S] [--warmup S] [--rounds R]
                                [--server-core K] [--client-core K]

Defaults: 16 connections, 5 s measured after 1 s of warm-up, 3 rounds (the best round of each
counts), server on core 0, load generator on core 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
PROTOCOLS = {"stock": "httptools", "guarded": "gateway.connections:GuardedHttpProtocol"}
KEEP_ALIVE = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
CLOSE = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
ANSWER_HEAD = b"HTTP/1.1 200 OK"

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def hello(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """The app served: a fixed answer."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


class _KeptAlive(asyncio.Protocol):
    """One connection sending the next request as soon as an answer is complete."""

    def __init__(self, counted: list[int]) -> None:
        self.counted = counted
        self.buffer = b""
        self.running = True
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(KEEP_ALIVE)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or len(self.buffer) < end + 4 + 5:
            return
        if not self.buffer.startswith(ANSWER_HEAD):
            raise SystemExit(f"the server answered {self.buffer[:40]!r}")
        self.buffer = self.buffer[end + 4 + 5 :]
        self.counted[0] += 1
        assert self.transport is not None
        if self.running:
            self.transport.write(KEEP_ALIVE)
        else:
            self.transport.close()


async def _one_connection_each(port: int, counted: list[int], running: list[bool]) -> None:
    while running[0]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(CLOSE)
        answer = await reader.read()
        writer.close()
        if not answer.startswith(ANSWER_HEAD):
            raise SystemExit(f"the server answered {answer[:40]!r}")
        counted[0] += 1


@dataclass(frozen=True)
class Measured:
    protocol: str
    mode: str
    requests: int
    seconds: float
    server_cpu_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_per_request_us(self) -> float:
        return self.server_cpu_ms * 1000 / self.requests


def _cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(http: str, port: int, core: int) -> subprocess.Popen[bytes]:
    command = [
        "taskset", "-c", str(core),
        sys.executable, "-m", "uvicorn", "bench.connections:hello",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--lifespan", "off",
        "--loop", "uvloop", "--http", http, "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start in 30 s")


async def measure(protocol: str, mode: str, args: argparse.Namespace) -> Measured:
    port = _free_port()
    server = start_server(PROTOCOLS[protocol], port, args.server_core)
    counted = [0]
    running = [True]
    try:
        loop = asyncio.get_running_loop()
        if mode == "keep-alive":
            kept = [
                (await loop.create_connection(lambda: _KeptAlive(counted), "127.0.0.1", port))[1]
                for _ in range(args.connections)
            ]
            clients: list[asyncio.Task[None]] = []
        else:
            kept = []
            clients = [
                asyncio.create_task(_one_connection_each(port, counted, running))
                for _ in range(args.connections)
            ]
        await asyncio.sleep(args.warmup)
        counted[0] = 0
        cpu_before, began = _cpu_ms(server.pid), time.perf_counter()
        await asyncio.sleep(args.duration)
        requests, seconds = counted[0], time.perf_counter() - began
        cpu = _cpu_ms(server.pid) - cpu_before
        running[0] = False
        for client in kept:
            client.running = False
        await asyncio.wait_for(asyncio.gather(*clients), 10)
    finally:
        server.terminate()
        server.wait(10)
    return Measured(protocol, mode, requests, seconds, cpu)


def report(best: dict[tuple[str, str], Measured], args: argparse.Namespace) -> None:
    print(
        f"{args.connections} connections, {args.duration:g} s each, best of {args.rounds};"
        f" server on core {args.server_core}, load generator on core {args.client_core}"
    )
    header = f"{'mode':<16}{'protocol':<10}{'req/s':>9}{'CPU µs/req':>12}{'÷ stock':>9}"
    print(header)
    print("-" * len(header))
    for mode, target in (("keep-alive", 1.05), ("new connection", 1.15)):
        stock = best[("stock", mode)]
        for protocol in PROTOCOLS:
            m = best[(protocol, mode)]
            ratio = m.cpu_per_request_us / stock.cpu_per_request_us
            print(
                f"{mode:<16}{protocol:<10}{m.per_second:>9,.0f}{m.cpu_per_request_us:>12.1f}"
                f"{ratio:>8.2f}×"
            )
        print(f"{'':<16}target: guarded at most {target:.2f}× the stock CPU per request")


async def main(args: argparse.Namespace) -> int:
    os.sched_setaffinity(0, {args.client_core})
    runs: list[Measured] = []
    for round_no in range(1, args.rounds + 1):
        for mode in ("keep-alive", "new connection"):
            for protocol in PROTOCOLS:
                print(f"round {round_no}: {mode}, {protocol} …", file=sys.stderr, flush=True)
                runs.append(await measure(protocol, mode, args))
    # The best round of each: on a shared machine, noise only ever makes a round costlier.
    best: dict[tuple[str, str], Measured] = {}
    for m in runs:
        key = (m.protocol, m.mode)
        if key not in best or m.cpu_per_request_us < best[key].cpu_per_request_us:
            best[key] = m
    report(best, args)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each; the best counts")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    args = parser.parse_args(argv)
    if min(args.connections, args.rounds) < 1 or args.duration <= 0:
        parser.error("--connections, --rounds and --duration must be positive")
    return args


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main(parse_args())))
