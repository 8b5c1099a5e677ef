"""A GoPOS sync of 10,000 groups and 10,000 discounts through a simulator with 20 ms latency.

Writes a simulator fixture with N groups and N discounts and `--latency` ms of latency per
request, serves it with `gocrm simulate gopos` pinned with `taskset` to one core, and runs
the sync in this process, pinned to another core, on a fresh PostgreSQL database: the service's
own `synchronize` and `run_sync` (fetch every page, convert, diff, write the mirror in
chunks), as the job runs it. Then it syncs again, with nothing changed upstream.

It prints objects per second, the fetch alone (every page, as the sync reads them), the
requests the sync needs (the token, and per resource its
pages up to the first short one), and two lower bounds: serial (requests × latency: one request
at a time) and concurrent (requests × latency ÷ the in-flight cap per upstream), with the ratio
of the measured time to each, and the CPU time the sync process spent (near the elapsed time,
the sync is bound by its own parsing, conversion and writing rather than by the upstream).
Target: within 1.5× of the concurrent lower bound; the second sync writes nothing.

    python -m bench.sync [--objects N] [--latency MS] [--in-flight K] [--rounds R]
                         [--database-url URL] [--server-core K] [--client-core K] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.gopos import fetch_gopos
from adapters.gopos.schemas import PAGE_SIZE
from bench.credits import drop_database, recreate_database
from domain.integrations import IntegrationRequest
from domain.messages import decode
from domain.upstream import Channel, GoposCredentials
from gateway.runtime import build_runtime, close_runtime, migrate, start_database, stop_database
from services import access, integrations, sync
from services.i18n import render
from services.runtime import Runtime
from services.seeding import empty_pos_mirror
from settings import Settings

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gocrm_bench_sync"
ROOT = Path(__file__).resolve().parent.parent
CLIENT = {"organization_id": "1001", "client_id": "bench", "client_secret": "bench-secret"}
TARGET_RATIO = 1.5


class Recorder:
    """Takes the job the sync queues; the bench runs it itself, timed."""

    def __init__(self) -> None:
        self.jobs: list[str] = []

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        self.jobs.append(args[0])


def fixture(objects: int, latency_ms: int) -> dict[str, Any]:
    discounts = [
        {
            "id": n,
            "name": f"Rabat {n}",
            "type": "PERCENT" if n % 2 else "AMOUNT",
            "value": f"{n % 50 + 1}.00",
            "status": "ENABLED" if n % 7 else "DISABLED",
        }
        for n in range(1, objects + 1)
    ]
    groups = [
        {
            "id": n,
            "name": f"Grupa {n}",
            "reference": f"grupa-{n}",
            "daily_discount_limit": {"amount": f"{n % 90 + 10}.00", "currency": "PLN"}
            if n % 3
            else None,
            "discount_ids": [n % objects + 1],
        }
        for n in range(1, objects + 1)
    ]
    return {
        **CLIENT,
        "groups": groups,
        "discounts": discounts,
        "faults": {"latency_ms": latency_ms, "token_ttl_s": 3600},
    }


def pages(count: int) -> int:
    """Requests to read `count` objects: full pages, then the first short (maybe empty) one."""
    return count // PAGE_SIZE + 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_simulator(path: Path, port: int, core: int) -> subprocess.Popen[bytes]:
    command = [
        "taskset", "-c", str(core),
        sys.executable, "-m", "gateway.cli", "simulate", "gopos",
        "--fixture", str(path), "--port", str(port),
    ]  # fmt: skip
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the GoPOS simulator did not start") from None
            time.sleep(0.1)


async def timed_sync(runtime: Runtime, location_id: UUID) -> tuple[float, dict[str, Any]]:
    recorder = runtime.dispatcher
    assert isinstance(recorder, Recorder)
    queued = await sync.synchronize(runtime, location_id, Channel.GOPOS)
    started, cpu = time.perf_counter(), time.process_time()
    await sync.run_sync(runtime, queued.id)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    done = await sync.get_run(location_id, str(queued.id))
    assert done is not None
    if done.status != "SUCCEEDED":
        error = render(decode(done.error), "en") if done.error else None
        raise SystemExit(f"the sync did not succeed: {error}")
    return elapsed, {"fetched": done.fetched, "written": done.written, "cpu": cpu}


async def timed_fetch(runtime: Runtime, location_id: UUID) -> float:
    """The fetch alone, as the sync does it: every page of groups and discounts."""
    credentials = await integrations.open_credentials(runtime, location_id, Channel.GOPOS)
    assert isinstance(credentials, GoposCredentials)
    started = time.perf_counter()
    await fetch_gopos(runtime.upstreams, credentials, deadline=runtime.sync_deadline_seconds)
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> int:
    os.sched_setaffinity(0, {args.client_core})
    settings = Settings(
        database_url=args.database_url,
        secret_key=None,
        upstream_max_in_flight=args.in_flight,
        sync_deadline_seconds=600,
    )
    with tempfile.TemporaryDirectory() as folder:
        settings = replace(settings, key_file=str(Path(folder) / "gocrm.key"))
        path = Path(folder) / "gopos.json"
        path.write_text(json.dumps(fixture(args.objects, args.latency)), encoding="utf-8")
        port = _free_port()
        server = start_simulator(path, port, args.server_core)
        await recreate_database(args.database_url)
        await migrate(settings)
        await start_database(settings)
        runtime = build_runtime(settings, Recorder())
        try:
            location, _ = await access.create_location("Bench sync")
            await integrations.configure_integration(
                runtime,
                location.id,
                Channel.GOPOS,
                IntegrationRequest(
                    base_url=f"http://127.0.0.1:{port}",
                    client_id=CLIENT["client_id"],
                    client_secret=CLIENT["client_secret"],
                    organization_id=CLIENT["organization_id"],
                ),
            )
            first: list[tuple[float, dict[str, Any]]] = []
            again: list[tuple[float, dict[str, Any]]] = []
            fetches: list[float] = []
            for round_no in range(1, args.rounds + 1):
                if round_no > 1:  # an empty mirror again, so that every round writes it all
                    await empty_pos_mirror(location.id)
                first.append(await timed_sync(runtime, location.id))
                again.append(await timed_sync(runtime, location.id))
                fetches.append(await timed_fetch(runtime, location.id))
                print(
                    f"round {round_no}: first {first[-1][0]:.2f} s, again {again[-1][0]:.2f} s,"
                    f" fetch alone {fetches[-1]:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            await close_runtime(runtime)
            await stop_database()
            server.terminate()
            server.wait(timeout=10)
            if not args.keep:
                await drop_database(args.database_url)
    report(args, first, again, fetches)
    return 0


def report(
    args: argparse.Namespace,
    first: list[tuple[float, dict[str, Any]]],
    again: list[tuple[float, dict[str, Any]]],
    fetches: list[float],
) -> None:
    requests = 1 + 2 * pages(args.objects)  # the token, then groups and discounts
    latency = args.latency / 1000
    serial = requests * latency
    concurrent = serial / args.in_flight
    best, counts = min(first, key=lambda run: run[0])
    best_again, counts_again = min(again, key=lambda run: run[0])
    objects = 2 * args.objects
    ratio = best / concurrent
    print(
        f"{args.objects:,} groups + {args.objects:,} discounts, {args.latency} ms per request, "
        f"at most {args.in_flight} in flight; simulator on core {args.server_core}, "
        f"sync on core {args.client_core}; best of {args.rounds}"
    )
    print(f"requests needed            {requests} (a token, then {pages(args.objects)} pages each)")
    print(f"serial lower bound         {serial:6.2f} s   (requests × latency)")
    print(f"concurrent lower bound     {concurrent:6.2f} s   (÷ {args.in_flight} in flight)")
    print(
        f"first sync                 {best:6.2f} s   {objects / best:>9,.0f} objects/s   "
        f"{best / serial:.2f}× serial, {ratio:.2f}× concurrent "
        f"(target ≤ {TARGET_RATIO}×: {'met' if ratio <= TARGET_RATIO else 'MISSED'})"
    )
    print(
        f"  fetched {counts['fetched']:,} groups, wrote {counts['written']:,} rows; "
        f"{counts['cpu']:.2f} s of this process's CPU ({counts['cpu'] / best:.0%} of the time: "
        "at 100% the sync is bound by its own work, not by the upstream's latency)"
    )
    fetch = min(fetches)
    print(
        f"fetch alone                {fetch:6.2f} s   {objects / fetch:>9,.0f} objects/s   "
        f"{fetch / serial:.2f}× serial, {fetch / concurrent:.2f}× concurrent"
    )
    print(
        f"second sync, unchanged     {best_again:6.2f} s   wrote {counts_again['written']} rows "
        f"({'nothing, as it should' if counts_again['written'] == 0 else 'MISSED'})"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=10_000, help="groups, and discounts")
    parser.add_argument("--latency", type=int, default=20, help="ms per upstream request")
    parser.add_argument("--in-flight", type=int, default=8, help="requests in flight per upstream")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--server-core", type=int, default=1)
    parser.add_argument("--client-core", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.objects < 1 or args.rounds < 1 or args.in_flight < 1:
        parser.error("--objects, --rounds and --in-flight must be at least 1")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
