"""The wallet service's rules, against the in-memory stores (`tests/memory/`): no database.

Idempotency of a request, a single customer versus a bulk target, chunked jobs and their
resume, previews, and what SET, REDUCE and ADD do to a balance up to the maximum. The SQL
behind the same rules is tested in the database suites (`test_wallet_api.py`,
`test_constraints.py`, `test_resume.py`, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.access import Principal, Role
from domain.errors import DomainError, ErrorCode
from domain.ledger import MAX_CREDIT_BALANCE
from domain.messages import decode
from domain.requests import CreditRequest, CustomerFilter, Target
from models.keys import UsedKey
from models.ledger import Application
from services import wallet
from services.runtime import Runtime
from tests.english import en
from tests.helpers import Clock
from tests.memory import Memory, Recorder, memory_runtime
from tests.memory.ledger import Keys, Ledger

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def _world(**runtime: Any) -> tuple[Memory, Runtime, Recorder, Principal]:
    memory = Memory()
    built, dispatcher = memory_runtime(memory, Clock(NOW), **runtime)
    location_id = memory.add_location()
    principal = Principal(location_id, uuid4(), "till", Role.ADMIN)
    return memory, built, dispatcher, principal


def _credit(
    operation: str,
    amount: str,
    customers: Sequence[UUID] | None = None,
    *,
    key: str | None = None,
    group: UUID | None = None,
) -> CreditRequest:
    target = (
        Target(customer_ids=tuple(str(c) for c in customers))
        if customers is not None
        else Target(filter=CustomerFilter(group_ids=(str(group),)))
    )
    return CreditRequest(target, operation, Decimal(amount), idempotency_key=key)


def _entries(memory: Memory) -> list[tuple[UUID, str, int, int]]:
    """(customer, kind, delta, balance after) of every ledger entry."""
    return sorted(
        (e.customer_id, e.kind, e.delta, e.balance_after) for e in memory.t.entries.values()
    )


async def test_a_repeated_idempotency_key_returns_the_first_operation_and_changes_nothing() -> None:
    memory, runtime, _, principal = _world()
    ids = memory.add_customers(principal.location_id, 2)
    first = await wallet.apply_once(runtime, principal, _credit("ADD", "10", ids, key="k-1"))
    entries = _entries(memory)

    # the same request again, its amount spelt differently and its customers in another order
    again = await wallet.apply_once(
        runtime, principal, _credit("ADD", "10.00", ids[::-1], key="k-1")
    )

    assert again == first
    assert first.status == "SUCCEEDED"
    assert memory.balances(ids) == [1000, 1000]
    assert _entries(memory) == entries
    assert len(memory.t.operations) == 1


async def test_a_changed_request_with_the_same_key_is_refused() -> None:
    memory, runtime, _, principal = _world()
    ids = memory.add_customers(principal.location_id, 2)
    await wallet.apply_once(runtime, principal, _credit("ADD", "10", ids, key="k-1"))

    with pytest.raises(DomainError) as refused:
        await wallet.apply_once(runtime, principal, _credit("ADD", "20", ids, key="k-1"))

    assert [(e.code, e.field) for e in refused.value.errors] == [
        (ErrorCode.IDEMPOTENCY_KEY_REUSED, "input.idempotencyKey")
    ]
    assert memory.balances(ids) == [1000, 1000]
    assert len(memory.t.operations) == 1


class KeyTakenMeanwhile(Keys):
    """Keys whose first lookup misses `key`, which a concurrent request takes just then."""

    def __init__(self, memory: Memory, key: tuple[UUID, str], used: UsedKey) -> None:
        super().__init__(memory)
        self.pending: tuple[tuple[UUID, str], UsedKey] | None = (key, used)

    async def used_key(self, location_id: UUID, key: str) -> UsedKey | None:
        if self.pending is not None:
            taken, used = self.pending
            self.pending = None
            self.memory.t.keys[taken] = used
            return None
        return await super().used_key(location_id, key)


async def test_a_key_taken_meanwhile_answers_with_the_operation_that_took_it() -> None:
    # given an operation whose key is taken by a concurrent request just after this one has
    # looked it up
    memory, runtime, _, principal = _world()
    ids = memory.add_customers(principal.location_id, 1)
    first = await wallet.apply_once(runtime, principal, _credit("ADD", "1", ids, key="k-1"))
    taken = (principal.location_id, "k-1")
    keys = KeyTakenMeanwhile(memory, taken, memory.t.keys.pop(taken))
    racing = replace(runtime, stores=replace(runtime.stores, keys=keys))

    # when the request is sent again
    again = await wallet.apply_once(racing, principal, _credit("ADD", "1", ids, key="k-1"))

    # then its own operation is rolled back with the key, and it answers with the first
    assert again == first
    assert list(memory.t.operations) == [first.id]
    assert memory.balances(ids) == [100]


async def test_one_customer_is_a_manual_credit_and_a_list_or_filter_is_bulk() -> None:
    memory, runtime, _, principal = _world()
    ids = memory.add_customers(principal.location_id, 3)
    group = memory.add_group(principal.location_id, ids[:2])

    one = await wallet.apply_once(runtime, principal, _credit("ADD", "1", ids[:1]))
    listed = await wallet.apply_once(runtime, principal, _credit("ADD", "1", [ids[0], ids[0]]))
    filtered = await wallet.apply_once(runtime, principal, _credit("ADD", "1", group=group))

    rows = memory.t.operations
    assert [(rows[o.id].source, o.total) for o in (one, listed, filtered)] == [
        ("MANUAL", 1),
        ("BULK", 1),
        ("BULK", 2),
    ]
    assert memory.balances(ids) == [300, 100, 0]


async def test_an_unknown_customer_is_refused_and_nothing_is_created() -> None:
    memory, runtime, _, principal = _world()
    ids = memory.add_customers(principal.location_id, 1)
    elsewhere = memory.add_customers(memory.add_location(), 1)

    with pytest.raises(DomainError) as refused:
        await wallet.apply_once(runtime, principal, _credit("ADD", "1", [*ids, *elsewhere]))

    assert [(e.code, e.field) for e in refused.value.errors] == [
        (ErrorCode.NOT_FOUND, "input.target.customerIds.1")
    ]
    assert memory.t.operations == {}


class ChunkLedger(Ledger):
    """The ledger, recording each chunk it is given; the chunk numbered `failing` (from 1)
    fails once, before it writes anything."""

    def __init__(self, memory: Memory, failing: int | None = None) -> None:
        super().__init__(memory)
        self.chunks: list[list[UUID]] = []
        self.failing = failing

    async def apply_chunk(
        self, customer_ids: Sequence[UUID], change: Application, db: Any = None
    ) -> int:
        self.chunks.append(list(customer_ids))
        if len(self.chunks) == self.failing:
            raise RuntimeError("connection reset")
        return await super().apply_chunk(customer_ids, change, db)


async def test_a_bulk_add_is_queued_and_its_job_credits_each_customer_once_in_chunks() -> None:
    # given a group of 7 past the inline limit, and jobs of 3 customers a chunk
    memory, runtime, dispatcher, principal = _world(inline_limit=5, chunk_size=3)
    ids = memory.add_customers(principal.location_id, 7)
    group = memory.add_group(principal.location_id, ids)
    ledger = ChunkLedger(memory)
    runtime = replace(runtime, stores=replace(runtime.stores, ledger=ledger))

    # when it is requested, and its job runs twice
    queued = await wallet.apply_once(runtime, principal, _credit("ADD", "2.50", group=group))
    await wallet.run_operation(runtime, queued.id)
    await wallet.run_operation(runtime, queued.id)

    # then it was queued untouched, and the first run credited everyone once, in id order
    assert (queued.status, queued.total, queued.processed) == ("QUEUED", 7, 0)
    assert dispatcher.queued == [("run_wallet_operation", (str(queued.id),))]
    assert ledger.chunks == [ids[0:3], ids[3:6], ids[6:7]]
    assert memory.balances(ids) == [250] * 7
    done = await runtime.stores.operations.current(queued.id)
    assert (done.status, done.total, done.processed) == ("SUCCEEDED", 7, 7)


async def test_an_interrupted_bulk_add_resumes_after_the_last_committed_chunk() -> None:
    # given a queued ADD to 8 customers, 3 a chunk, whose second chunk fails once
    memory, runtime, _, principal = _world(inline_limit=0, chunk_size=3)
    ids = memory.add_customers(principal.location_id, 8)
    ledger = ChunkLedger(memory, failing=2)
    runtime = replace(runtime, stores=replace(runtime.stores, ledger=ledger))
    queued = await wallet.apply_once(runtime, principal, _credit("ADD", "1", ids))

    # when its first attempt fails there, and the next attempt runs
    await wallet.run_operation(runtime, queued.id)
    failed = await runtime.stores.operations.current(queued.id)
    await wallet.run_operation(runtime, queued.id)

    # then the first chunk stayed committed, and the second attempt began after it
    assert (failed.status, failed.processed) == ("QUEUED", 3)
    assert memory.balances(ids) == [100] * 8
    assert ledger.chunks == [ids[0:3], ids[3:6], ids[3:6], ids[6:8]]
    done = await runtime.stores.operations.current(queued.id)
    assert (done.status, done.total, done.processed) == ("SUCCEEDED", 8, 8)
    assert len(memory.t.entries) == 8


async def test_set_reduce_and_add_move_balances_as_their_names_say() -> None:
    memory, runtime, _, principal = _world()
    ids = memory.add_customers(principal.location_id, 3)
    for customer, balance in zip(ids, (0, 500, 1000), strict=True):
        memory.t.customers[customer].credit_balance = balance

    await wallet.apply_once(runtime, principal, _credit("REDUCE", "7", ids))
    reduced = memory.balances(ids)
    await wallet.apply_once(runtime, principal, _credit("ADD", "2", ids))
    added = memory.balances(ids)
    await wallet.apply_once(runtime, principal, _credit("SET", "4.5", ids))

    # REDUCE stops at zero, ADD adds, SET sets (and writes an entry of 0 where it changes nothing)
    assert reduced == [0, 0, 300]
    assert added == [200, 200, 500]
    assert memory.balances(ids) == [450, 450, 450]
    assert len(memory.t.entries) == 9


async def test_an_add_pays_off_owed_cashback_first() -> None:
    memory, runtime, _, principal = _world()
    (customer,) = memory.add_customers(principal.location_id, 1, cashback_owed=300)

    await wallet.apply_once(runtime, principal, _credit("ADD", "10", [customer]))

    row = memory.t.customers[customer]
    assert (row.credit_balance, row.cashback_owed) == (700, 0)
    assert [
        (e.kind, e.delta, e.balance_after, e.description) for e in memory.t.entries.values()
    ] == [
        ("ADD", 1000, 1000, None),
        ("CLAWBACK", -300, 700, "entry.clawback"),
    ]


async def test_an_add_past_the_maximum_fails_the_operation_and_changes_no_balance() -> None:
    memory, runtime, _, principal = _world()
    ids = memory.add_customers(principal.location_id, 2)
    memory.t.customers[ids[1]].credit_balance = MAX_CREDIT_BALANCE - 50

    failed = await wallet.apply_once(runtime, principal, _credit("ADD", "1", ids))

    assert (failed.status, failed.processed) == ("FAILED", 0)
    assert failed.error is not None
    assert en(decode(failed.error)) == (
        "A balance would exceed the maximum of 10000000000000.00 PLN; "
        "customers not yet credited were left unchanged."
    )
    assert memory.balances(ids) == [0, MAX_CREDIT_BALANCE - 50]
    assert memory.t.entries == {}


async def test_a_preview_sums_what_one_application_would_do_and_changes_nothing() -> None:
    memory, runtime, _, principal = _world()
    ids = memory.add_customers(principal.location_id, 4)
    for customer, balance in zip(ids, (0, 500, 1000, MAX_CREDIT_BALANCE - 50), strict=True):
        memory.t.customers[customer].credit_balance = balance
    memory.t.customers[ids[0]].cashback_owed = 300
    group = memory.add_group(principal.location_id, ids[:3])

    add = await wallet.preview_credit(runtime, principal, _credit("ADD", "10", ids))
    reduce = await wallet.preview_credit(runtime, principal, _credit("REDUCE", "7", group=group))
    set_ = await wallet.preview_credit(runtime, principal, _credit("SET", "5", ids[:3]))

    before = 1500 + MAX_CREDIT_BALANCE - 50
    assert (add.customer_count, add.changed_count, add.over_maximum_count) == (4, 4, 1)
    assert (add.balance_before, add.balance_after) == (before, before + 4000 - 300)
    assert (reduce.customer_count, reduce.changed_count) == (3, 2)
    assert (reduce.balance_before, reduce.balance_after) == (1500, 300)
    # 0 and 5.00 are below 7.00 and end at 0; only a REDUCE clamps
    assert (reduce.clamped_count, add.clamped_count, set_.clamped_count) == (2, 0, 0)
    assert (set_.customer_count, set_.changed_count, set_.over_maximum_count) == (3, 2, 0)
    assert (set_.balance_before, set_.balance_after) == (1500, 1500)
    assert memory.t.operations == {}
    assert memory.t.entries == {}


async def test_a_stopping_process_ends_its_attempt_between_chunks_and_queues_the_job() -> None:
    # given a queued ADD to 4 customers, 2 a chunk, in a process asked to stop after the first
    memory, runtime, dispatcher, principal = _world(inline_limit=0, chunk_size=2)
    ids = memory.add_customers(principal.location_id, 4)
    queued = await wallet.apply_once(runtime, principal, _credit("ADD", "1", ids))
    dispatcher.queued.clear()

    class StopAfterFirst(Ledger):
        async def apply_chunk(
            self, customer_ids: Sequence[UUID], change: Application, db: Any = None
        ) -> int:
            runtime.stop.request()
            return await super().apply_chunk(customer_ids, change, db)

    stopping = replace(runtime, stores=replace(runtime.stores, ledger=StopAfterFirst(memory)))

    # when its job runs
    await wallet.run_operation(stopping, queued.id)

    # then the first chunk is committed, and the job is back in the queue for its next attempt
    assert memory.balances(ids) == [100, 100, 0, 0]
    row = memory.t.operations[queued.id]
    assert (row.status, row.attempts, row.processed) == ("QUEUED", 1, 2)
    assert dispatcher.queued == [("run_wallet_operation", (str(queued.id),))]


async def test_a_preview_is_refused_as_the_request_would_be() -> None:
    memory, runtime, _, principal = _world()
    ids = memory.add_customers(principal.location_id, 1)
    await wallet.apply_once(runtime, principal, _credit("ADD", "1", ids, key="k-1"))

    with pytest.raises(DomainError) as reused:
        await wallet.preview_credit(runtime, principal, _credit("ADD", "2", ids, key="k-1"))
    with pytest.raises(DomainError) as unknown:
        await wallet.preview_credit(runtime, principal, _credit("ADD", "2", [uuid4()]))
    same = await wallet.preview_credit(runtime, principal, _credit("ADD", "1", ids, key="k-1"))

    assert [(e.code, e.field) for e in reused.value.errors] == [
        (ErrorCode.IDEMPOTENCY_KEY_REUSED, "input.idempotencyKey")
    ]
    assert [(e.code, e.field) for e in unknown.value.errors] == [
        (ErrorCode.NOT_FOUND, "input.target.customerIds.0")
    ]
    assert (same.customer_count, same.balance_before, same.balance_after) == (1, 100, 200)
