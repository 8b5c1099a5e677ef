"""The in-process runner shares the event loop with requests: it runs its jobs one at a time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.runtime import build_runtime
from settings import Settings
from tasks.inprocess import MAX_RUNNING_JOBS, InProcessDispatcher
from tasks.jobs import JOBS


async def test_queued_jobs_run_at_most_max_running_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running: list[str] = []
    most = 0
    done: list[str] = []

    async def probe(ctx: dict[str, Any], name: str) -> None:
        nonlocal most
        running.append(name)
        most = max(most, len(running))
        for _ in range(5):  # work in chunks, yielding between them
            await asyncio.sleep(0)
        running.remove(name)
        done.append(name)

    monkeypatch.setitem(JOBS, "probe", probe)
    dispatcher = InProcessDispatcher()
    build_runtime(Settings(), dispatcher)  # the runtime its jobs receive
    for n in range(10):
        await dispatcher.enqueue("probe", f"job-{n}", job_id=f"probe:{n}")

    await dispatcher.drain()

    assert MAX_RUNNING_JOBS == 1
    assert most == 1
    assert done == [f"job-{n}" for n in range(10)]  # in the order they were queued
    await dispatcher.close()
