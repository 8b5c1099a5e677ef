"""Concurrent upstream reads that fail as one: the first failure cancels the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


async def gather_in_order(work: Iterable[Awaitable[T]]) -> list[T]:
    """Run `work` concurrently; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(item) for item in work]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        await _cancel(tasks)


async def both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Run two reads concurrently; on the first failure cancel the other and raise it."""
    task_a, task_b = asyncio.ensure_future(first), asyncio.ensure_future(second)
    try:
        return await asyncio.gather(task_a, task_b)
    finally:
        await _cancel((task_a, task_b))


async def _cancel(tasks: Iterable[asyncio.Future[Any]]) -> None:
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
