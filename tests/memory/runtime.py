"""A `Runtime` whose stores are the in-memory ones, and a dispatcher that records what the
services queue (the tests run the jobs themselves, when they choose)."""

from __future__ import annotations

from adapters.http import HttpConfig, UpstreamClients
from services.runtime import Clock, Runtime, SecretKeys
from services.stores import Stores
from tests.memory.checkouts import Checkouts, Links, Reads
from tests.memory.ledger import Ids, Jobs, Keys, Ledger, Progress
from tests.memory.lots import Lots
from tests.memory.operations import Operations
from tests.memory.people import Customers, Groups
from tests.memory.schedules import Schedules
from tests.memory.tables import Memory


class Recorder:
    """A dispatcher that only records: (function, args) in the order queued."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, tuple[str, ...]]] = []

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        self.queued.append((function, args))


def memory_stores(memory: Memory) -> Stores:
    ids = Ids(memory)
    return Stores(
        transaction=memory.transaction,
        operations=Operations(memory),
        schedules=Schedules(memory),
        keys=Keys(memory),
        ledger=Ledger(memory),
        progress=Progress(memory),
        customers=Customers(memory),
        groups=Groups(memory),
        locations=ids,
        jobs=Jobs(memory),
        reads=Reads(memory),
        checkouts=Checkouts(memory),
        links=Links(memory),
        lots=Lots(memory),
    )


def memory_runtime(
    memory: Memory, clock: Clock, *, chunk_size: int = 5_000, inline_limit: int = 500
) -> tuple[Runtime, Recorder]:
    """A runtime on `memory` reading `clock`, and the dispatcher it queues jobs with."""
    memory.clock = clock
    dispatcher = Recorder()
    runtime = Runtime(
        dispatcher=dispatcher,
        upstreams=UpstreamClients(HttpConfig()),
        secrets=SecretKeys(keys=None, key_file=None),
        stores=memory_stores(memory),
        clock=clock,
        chunk_size=chunk_size,
        inline_limit=inline_limit,
    )
    return runtime, dispatcher
