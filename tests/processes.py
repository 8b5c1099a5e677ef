"""`gocrm` processes started by tests: one way to start, watch and end them.

The worker tests (`tests.redis_fixtures.WorkerProcesses`) and the fault suite
(`tests.faults.processes.Processes`) both start `python -m gateway.cli ...` here: each process
writes to a log file in the test's folder (a failed test prints them), runs in a process group
of its own (ending it ends whatever it started), and counts as dead when it ended although the
test did not end it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import IO, Protocol, TypeVar

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL = 6000

T = TypeVar("T")

Process = asyncio.subprocess.Process


class GocrmProcesses:
    """The `gocrm` processes of one test. All are stopped at its end (`close`); `logs()` is
    what they wrote."""

    def __init__(self, log_dir: Path, *, stop_timeout: float) -> None:
        self.log_dir = log_dir
        self.stop_timeout = stop_timeout
        self.started: list[tuple[str, Process]] = []
        self.ended: set[int] = set()  # pids of the processes this test killed or stopped
        self._logs: list[tuple[Path, IO[bytes]]] = []

    async def spawn(self, name: str, args: list[str], env: Mapping[str, str]) -> Process:
        """`gocrm ARGS` with `env` as its whole environment, its output in a log file."""
        path = self.log_dir / f"{len(self._logs) + 1:02d}-{name}.log"
        log = path.open("wb")
        self._logs.append((path, log))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.cli",
            *args,
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            # Its own process group, so that ending it ends whatever it started too.
            start_new_session=True,
        )
        self.started.append((name, process))
        return process

    async def kill(self, process: Process) -> None:
        """SIGKILL, as a crash or the OOM killer."""
        self.ended.add(process.pid)
        _signal_group(process, signal.SIGKILL)
        await process.wait()

    async def stop(self, process: Process) -> None:
        """SIGTERM, as a deployment; SIGKILL when it does not end in time."""
        self.ended.add(process.pid)
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), self.stop_timeout)
        _signal_group(process, signal.SIGKILL)  # and anything it left behind
        await process.wait()

    def dead(self) -> list[str]:
        """Each process that ended although this test did not end it."""
        return [
            f"{name} (pid {process.pid}) exited with {process.returncode}"
            for name, process in self.started
            if process.returncode is not None and process.pid not in self.ended
        ]

    def output(self, process: Process) -> str:
        """Everything `process` wrote so far."""
        for (_, started), (path, log) in zip(self.started, self._logs, strict=True):
            if started is process:
                if not log.closed:
                    log.flush()
                return path.read_text(errors="replace")
        raise ValueError(f"pid {process.pid} was not started here")

    def logs(self) -> str:
        out = []
        for path, log in self._logs:
            if not log.closed:
                log.flush()
            text = path.read_text(errors="replace")
            out.append(f"--- {path.name} (last {LOG_TAIL} characters) ---\n{text[-LOG_TAIL:]}")
        return "\n".join(out)

    async def close(self) -> None:
        try:
            await asyncio.gather(*(self.stop(p) for _, p in self.started))
        finally:
            for _, log in self._logs:
                log.close()


def _signal_group(process: Process, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has ended already
        os.killpg(process.pid, signum)


class Watched(Protocol):
    """Processes a test waits on: those that ended on their own, and what they wrote."""

    def dead(self) -> list[str]: ...

    def logs(self) -> str: ...


async def wait_until(
    condition: Callable[[], Awaitable[T | None]],
    what: str,
    watched: Watched | None = None,
    within: float = 120.0,
    interval: float = 0.2,
) -> T:
    """Poll `condition` until it returns something truthy; fail after `within` seconds, or
    early when a watched process died on its own."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await condition()
        if result:
            return result
        if watched is not None and (dead := watched.dead()):
            pytest.fail(f"waiting for {what}: {'; '.join(dead)}\n{watched.logs()}")
        if loop.time() > deadline:
            logs = watched.logs() if watched is not None else ""
            pytest.fail(f"timed out after {within:.0f} s waiting for {what}\n{logs}")
        await asyncio.sleep(interval)
