"""The embedded runner: the worker's job functions as asyncio tasks in the server process,
and the periodic check on a timer. Used when `REDIS_URL` is unset.

The jobs share the event loop (and, on SQLite, the one connection) with the requests. They work
in chunks, one transaction each, and yield between chunks; and at most `max_running` run at
once, the rest wait their turn, so that a backlog of jobs (a catch-up of many periods, say) can
never crowd the requests out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from services.runtime import Runtime
from tasks.jobs import JOBS, tick

log = logging.getLogger(__name__)

MAX_RUNNING_JOBS = 1


class InProcessDispatcher:
    """Runs jobs in this process. It is built before the runtime that holds it, and learns of
    that runtime (which its jobs receive) through `attach`."""

    def __init__(self, max_running: int = MAX_RUNNING_JOBS) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(max_running)
        self._runtime: Runtime | None = None
        self._closing = False

    def attach(self, runtime: Runtime) -> None:
        self._runtime = runtime

    @property
    def context(self) -> dict[str, Any]:
        if self._runtime is None:
            raise RuntimeError("the in-process dispatcher runs jobs only once attached")
        return {"runtime": self._runtime}

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        if self._closing:  # the job stays QUEUED in the database: the next start resumes it
            return
        running = self._tasks.get(job_id)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(self._run(function, args), name=job_id)
        self._tasks[job_id] = task

    async def _run(self, function: str, args: tuple[str, ...]) -> None:
        async with self._slots:
            if self._closing:
                return
            try:
                await JOBS[function](self.context, *args)
            except Exception:
                log.exception("job %s%s failed", function, args)

    async def drain(self) -> None:
        """Wait until no job is running (jobs may enqueue more)."""
        while pending := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.gather(*pending)

    def start_ticker(
        self, every: float, ready: Callable[[], Awaitable[bool]] | None = None
    ) -> None:
        """Run the periodic check every `every` seconds; a tick is skipped while `ready` says
        the database cannot be used yet (it lacks a migration)."""

        async def loop() -> None:
            while True:
                try:
                    if ready is None or await ready():
                        await tick(self.context)
                except Exception:
                    log.exception("the periodic check failed")
                await asyncio.sleep(every)

        self._ticker = asyncio.create_task(loop(), name="tick")

    async def close(self, grace_seconds: float = 0.0) -> None:
        """Stop: no new jobs; those running get `grace_seconds` to finish (a job whose runtime
        is stopping ends between two chunks), then everything left is cancelled."""
        self._closing = True
        if self._ticker is not None:
            self._ticker.cancel()
        running = [t for t in self._tasks.values() if not t.done()]
        if running and grace_seconds > 0:
            await asyncio.wait(running, timeout=grace_seconds)
        tasks = [t for t in [self._ticker, *self._tasks.values()] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
