"""Soak: mixed traffic on two gateways and a worker for ten minutes, then the money invariants.

Setup (not measured): a fresh PostgreSQL database, migrated and seeded as `bench.read` seeds it
(N customers with a card and a balance, all in "Stały klient", every second one in "VIP"), each
opening balance written as a ledger entry and a credit lot (every fourth lot expired yesterday
and was never expired, as a worker that was down would leave it: the periodic check expires
them during the run); "VIP" grants 2.50% cashback. Three in ten ADD and SET credits of the load
expire tomorrow. The GoPOS mirror holds
"Stały klient" (10% off, a daily limit of 50.00) as `bench.quote` leaves it; a `gocrm simulate
gopos` process serves that group and "VIP" (15% off, a limit of 80.00), so the sync in the middle
of the run links "VIP" and every gateway has to see the new mirror. Then two `gocrm serve`
processes and one `gocrm worker` in production mode on a private arq queue of the local Redis,
the periodic check every 5 s (`--check-seconds`), the three pinned to one core (`--server-core`);
the simulator and the load generator to another (`--client-core`).

Load: a closed-loop asyncio client, `--connections` keep-alive connections
spread over both gateways, each sending the next request when the last is answered, by weight:

- quotes 70%: a random bill for a random card, 30% of them one of the `--hot` customers;
- commits 15%: POS 80%, KIOSK 10% (the tills' key), ONLINE 10% (the online store's key); half
  for the hot customers, so that their daily
  limits run out and their commits queue on the customer's lock; a third of the commits for a
  card quoted before send that quote's bill with its total (`expectedTotal`), which is
  QUOTE_CHANGED when the balance or the day's usage moved in between;
- refunds 2%: of earlier commits, by the line: half of them of a sale refunded in part before
  (when there is one), so one sale may be refunded again until nothing is left (its tenth
  refund takes all that is left). Of these, 35% name no lines (all that is left), 10% ask for
  a unit more of a line than is left (INVALID, `refund.quantity_left`), the rest name one or
  two lines and part of what is left of them (whole units, now and then quarters); a tenth of
  the sales refunded whole are refunded once more (ALREADY_REFUNDED). The client keeps what
  is left of each sale (one connection refunds a sale at a time) and checks each answer's
  status and number of refunds; a refusal it predicted counts as expected, not as a failure,
  and an accepted refund it predicted to be refused is a failure;
- credit operations 8%: ADD, REDUCE or SET on one customer (half of them hot) or a list of 2 to
  20, with an idempotency key; 1% of them ADD 0.50 to every "VIP" member, a background job;
- admin queries 5%: a page of customers with balances, wallet operations, checkouts.

Commits, refunds and credit operations carry idempotency keys: on a timeout, a dropped
connection or a 5xx the client sends the same request again, to the other gateway (counted as a
retry). Meanwhile, at 10% of the run, a daily schedule starting today (ADD 2.00 to "VIP") is
created through the API, so its first period fires at once; at 25% a daily schedule created two
days earlier for "Stały klient" is written as an outage would leave it (three periods due), for
the periodic check to catch up; at 50% `synchronize(channel: GOPOS)`; at 60% the first "ADD
0.50 to every VIP member" job and the first list operation the load made (made then if it made
none), and the first period of the daily top-up, are undone once they SUCCEEDED:
`previewUndoWalletOperation`, then `undoWalletOperation` with a key, the same request again
(which must answer with the same undo) and once more with another key (CONFLICT, expected).

Checks (SQL, after the queued jobs have drained): every balance equals the sum of its entries
and of its lots (none out of range, none past its day still holding credits, each expired lot
left through one EXPIRE entry),
matches its latest entry and is never negative, nor is any entry's balance; every commit the
client saw succeed has exactly one checkout, a refused one none, and every checkout has its
debit, cashback, refund and reversal entries with the amounts it records (no checkout entry
without its checkout); per customer and day, the group discounts of committed POS and KIOSK
checkouts stay within the largest daily limit of the GoPOS groups they came through; every wallet
operation SUCCEEDED with one entry per customer; every due schedule period SUCCEEDED with one
entry per member; the sync SUCCEEDED; no sale is refunded past what it sold (per line, nor its
refunds' credits past its credits used), each refund has its REFUND entry, and the status says
whether part or all is refunded; every undo SUCCEEDED with exactly one UNDO entry per live
customer its original reached, each the negative of that customer's net (clamped), no operation
undone twice, and each undo the client created is there (`bench.soak_undo_checks`); the load
refunded whole, by the line, again and past what was left; no request failed unexpectedly
(after its retries; predicted refusals aside); and no process's resident memory (VmRSS, sampled
after warm-up and after the drain) grew by more than `--rss-bound` MB. The checks are
`bench.soak_checks` and `bench.soak_undo_checks`. It prints throughput and p50/p99 per operation
(from sending a request to its answer, retries included), errors by code, the refusals it
predicted, each check PASS or FAIL with its counts and the RSS figures, and exits with status 1
when anything failed.

    python -m bench.soak [--duration S] [--customers N] [--hot H] [--connections C]
                         [--database-url URL] [--redis-url URL] [--rss-bound MB] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from adapters.secrets import new_key
from bench.credits import asyncpg_dsn, connect, drop_database, recreate_database
from bench.quote import mirror_group, pos_key
from bench.read import ROOT, _free_port, _request, _wait_for_port, card_code, seed
from bench.soak_checks import Check, check_all, open_connection
from bench.soak_lot_checks import check_lots
from bench.soak_undo_checks import check_undos
from bench.sync import start_simulator
from gateway.graphql.trusted import documents_in
from gateway.runtime import migrate, start_database, stop_database
from services.seeding import new_id
from settings import Settings

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gocrm_bench_soak"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
TIMEZONE = "Europe/Warsaw"
WEIGHTS = {"quote": 70, "commit": 15, "refund": 2, "credit": 8, "admin": 5}
EXPECTED_REFUSALS = frozenset({"QUOTE_CHANGED"})  # a till's answer to a price that moved
WHOLE_REFUND_SHARE = 0.35  # refunds that name no lines: all that is left
PAST_LEFT_SHARE = 0.1  # refunds that ask for a unit more than is left: INVALID, nothing written
AGAIN_SHARE = 0.5  # refunds of a sale refunded in part before, when there is one
MAX_REFUNDS = 10  # of one sale; the last must take all that is left
UNDO_AT = 0.6  # of the run: a finished group job, a list operation and a period are undone
TOP_UP = "Daily VIP top-up"  # the schedule made at 10% of the run
# The refusals the client predicts: a refund of more than is left, of a sale refunded whole.
REFUSALS = {
    "past left": ("INVALID", "refund.quantity_left"),
    "already refunded": ("ALREADY_REFUNDED", "checkout.already_refunded"),
}
ATTEMPTS = 5
REQUEST_TIMEOUT = 10.0
BULK_SHARE = 0.01
# Of the ADD and SET credits, those that expire tomorrow.
EXPIRING_SHARE = 0.3
VIP_CASHBACK_BASIS_POINTS = 250
GOPOS_CLIENT = {"organization_id": "1001", "client_id": "soak", "client_secret": "soak-secret"}
PRODUCTS = (
    ("kawa", "12.50"),
    ("sernik", "18.90"),
    ("woda", "4.20"),
    ("obiad", "34.00"),
    ("zupa", "14.50"),
    ("deser", "16.00"),
    ("sok", "9.90"),
    ("pizza", "42.00"),
)

# The tills send the product's trusted documents by id, as production requires of them.
TRUSTED = {document.name: f"sha256:{document.id}" for document in documents_in()}
QUOTE = TRUSTED["CheckoutQuote"]
COMMIT = TRUSTED["CommitCheckout"]
REFUND = TRUSTED["RefundCheckout"]
CREDIT = """mutation Credit($input: SetPromotionalCreditsInput!) {
  setPromotionalCredits(input: $input) {
    operation { id status total processed } schedule { id nextRunOn } errors { code field } } }"""
ADMIN_QUERIES = (
    """query Customers($group: ID!) { customers(first: 50, filter: {groupIds: [$group]}) {
      totalCount edges { node { id firstName wallet { balance { amount } } } }
      pageInfo { hasNextPage endCursor } } }""",
    """query Operations { walletOperations(first: 20) {
      totalCount edges { node { id status total processed } } } }""",
    """query Checkouts { checkouts(first: 50, filter: {status: COMMITTED}) {
      totalCount edges { node { id total { amount } creditsUsed { amount } } } } }""",
)
CONFIGURE = """mutation Configure($input: IntegrationInput!) {
  configureIntegration(channel: GOPOS, input: $input) {
    integration { configured } errors { code field message } } }"""
OPERATION = """query Operation($id: ID!) { walletOperation(id: $id) { id status } }"""
SCHEDULES = """query Schedules { creditSchedules { id description
  runs(first: 20) { edges { node { period status operation { id } } } } } }"""
PREVIEW_UNDO = """query PreviewUndo($id: ID!) { previewUndoWalletOperation(id: $id) {
  restoredCount partlyRestoredCount amount { amount } } }"""
UNDO = """mutation Undo($id: ID!, $key: String!) {
  undoWalletOperation(id: $id, idempotencyKey: $key) {
    operation { id status } errors { code field messageId } } }"""
SYNCHRONIZE = """mutation Synchronize { synchronize(channel: GOPOS) {
  syncRun { id status } errors { code field message } } }"""


# ------------------------------------------------------------------ the data


@dataclass(frozen=True)
class Soaked:
    """The seeded location as the load generator addresses it."""

    location_id: UUID
    admin_key: str
    pos_key: str  # the tills' (POS and KIOSK)
    store_key: str  # the online store's (ONLINE)
    customers: dict[int, UUID]  # card number → customer id
    groups: dict[str, UUID]  # reference → group id


OPENING_ENTRIES = """
INSERT INTO wallet_entries (location_id, customer_id, kind, requested_amount, delta,
                            balance_after, description, source, source_id, period, actor,
                            created_at)
SELECT location_id, id, 'SET', credit_balance, credit_balance, credit_balance,
       'Opening balance', 'BULK', $2, 0, 'soak', now()
FROM customers WHERE location_id = $1
"""

# The opening balances' lots; every fourth expired yesterday and was never expired, as a worker
# that was down would leave it: the periodic check expires what is left of each, once.
OPENING_LOTS = """
INSERT INTO credit_lots (location_id, customer_id, entry_id, source, amount, remaining,
                         expires_on, created_at)
SELECT e.location_id, e.customer_id, e.id, 'BULK', e.delta, e.delta,
       CASE WHEN e.id % 4 = 0 THEN (now() AT TIME ZONE $2)::date - 1 END, e.created_at
FROM wallet_entries e WHERE e.location_id = $1 AND e.delta > 0
"""


async def prepare(url: str, customers: int) -> Soaked:
    """Migrate and seed; the balances `bench.read.seed` gives are written as entries too."""
    settings = Settings(database_url=url)
    await recreate_database(url)
    await migrate(settings)
    conn = await connect(asyncpg_dsn(url))
    try:
        seeded = await seed(conn, customers)
        location_id: UUID = await conn.fetchval("SELECT id FROM locations")
        await conn.execute(OPENING_ENTRIES, location_id, new_id())
        await conn.execute(OPENING_LOTS, location_id, TIMEZONE)
        await conn.execute(
            "UPDATE customer_groups SET cashback_basis_points = $1 WHERE reference = 'vip'",
            VIP_CASHBACK_BASIS_POINTS,
        )
        till = await pos_key(conn, location_id)
        store = await pos_key(conn, location_id, "online store", "ONLINE")
    finally:
        await conn.close()
    db = await open_connection(url)
    try:
        ids = {
            int(r["last_name"]): r["id"]
            for r in await db.fetch("SELECT id, last_name FROM customers")
        }
        groups = {
            r["reference"]: r["id"]
            for r in await db.fetch("SELECT id, reference FROM customer_groups")
        }
    finally:
        await db.close()
    await start_database(settings)
    try:
        await mirror_group(location_id, "staly-klient")
    finally:
        await stop_database()
    return Soaked(location_id, seeded.api_key, till, store, ids, groups)


def gopos_fixture() -> dict[str, Any]:
    """What the simulator serves: the mirrored group as it is, and "VIP", new to the mirror."""
    return {
        **GOPOS_CLIENT,
        "groups": [
            {
                "id": 17,
                "name": "Stały klient",
                "reference": "staly-klient",
                "daily_discount_limit": {"amount": "50.00", "currency": "PLN"},
                "discount_ids": [3],
            },
            {
                "id": 21,
                "name": "VIP",
                "reference": "vip",
                "daily_discount_limit": {"amount": "80.00", "currency": "PLN"},
                "discount_ids": [8],
            },
        ],
        "discounts": [
            {
                "id": 3,
                "name": "10% stały klient",
                "type": "PERCENT",
                "value": "10.00",
                "status": "ENABLED",
            },
            {"id": 8, "name": "15% VIP", "type": "PERCENT", "value": "15.00", "status": "ENABLED"},
        ],
    }


BACKDATED_SCHEDULE = """
INSERT INTO credit_schedules (id, location_id, operation, amount, description, every, unit,
                              start_date, target, customer_ids, group_ids, paused, last_period,
                              next_run_on, actor, created_at)
VALUES ($1, $2, 'ADD', 100, 'Left behind by an outage', 1, 'DAY', $3, 'GROUPS', '[]'::jsonb,
        $4::jsonb, false, -1, $3, 'soak', $5)
"""


async def backdated_schedule(url: str, soaked: Soaked, days: int) -> None:
    """A daily schedule for "Stały klient" made `days` days ago whose periods never ran, as a
    worker outage leaves one: the periodic check must catch all of them up."""
    now = datetime.now(UTC)
    start = now.astimezone(ZoneInfo(TIMEZONE)).date() - timedelta(days=days)
    db = await open_connection(url)
    try:
        await db.execute(
            BACKDATED_SCHEDULE,
            new_id(),
            soaked.location_id,
            start,
            json.dumps([str(soaked.groups["staly-klient"])]),
            now - timedelta(days=days),
        )
    finally:
        await db.close()


PENDING_SQL = """
SELECT (SELECT count(*) FROM wallet_operations
        WHERE location_id = $1 AND status IN ('QUEUED', 'RUNNING'))
     + (SELECT count(*) FROM schedule_runs r JOIN credit_schedules s ON s.id = r.schedule_id
        WHERE s.location_id = $1 AND r.status IN ('QUEUED', 'RUNNING'))
     + (SELECT count(*) FROM sync_runs WHERE location_id = $1 AND status IN ('QUEUED', 'RUNNING'))
     + (SELECT count(*) FROM credit_schedules
        WHERE location_id = $1 AND NOT paused AND next_run_on <= $2)
"""


async def drain(url: str, location_id: UUID, within: float) -> tuple[float, int]:
    """Wait until no job of the location is queued or running and no schedule period is due;
    returns the seconds waited and what was still pending then (0 when drained)."""
    started = time.monotonic()
    db = await open_connection(url)
    try:
        while True:
            today = datetime.now(ZoneInfo(TIMEZONE)).date()
            pending = int(await db.fetchval(PENDING_SQL, location_id, today))
            waited = time.monotonic() - started
            if pending == 0 or waited > within:
                return waited, pending
            await asyncio.sleep(0.5)
    finally:
        await db.close()


# ------------------------------------------------------------------ processes


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    rss_start_kib: int | None = None
    rss_end_kib: int | None = None
    rss_peak_kib: int = 0

    def rss_kib(self) -> int | None:
        try:
            status = Path(f"/proc/{self.popen.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None

    def sample(self) -> int | None:
        rss = self.rss_kib()
        if rss is not None:
            self.rss_peak_kib = max(self.rss_peak_kib, rss)
        return rss

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(f"  {self.name} | {line}" for line in text)

    def stop(self) -> None:
        """SIGTERM, as a deployment stops it; SIGKILL when it has not exited within 20 s."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


def process_env(args: argparse.Namespace, queue: str, secret_key: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "GOCRM_QUEUE": queue,
        "GOCRM_ENV": "production",
        "GOCRM_SECRET_KEY": secret_key,
        "GOCRM_CHECK_SECONDS": str(args.check_seconds),
        # One process per `gocrm serve`: the soak's two gateways are two processes.
        "GOCRM_WORKERS": "1",
        # The GoPOS simulator listens on loopback.
        "GOCRM_UPSTREAM_ALLOW": "127.0.0.0/8",
        # The tills and the back office send far more than a key's limit: it is off.
        "GOCRM_RATE_LIMIT_POS": "0",
        "GOCRM_RATE_LIMIT_ADMIN": "0",
        "PYTHONUNBUFFERED": "1",
    }


def start(
    name: str, command: Sequence[str], core: int, env: Mapping[str, str], folder: Path
) -> Process:
    log = folder / f"{name.replace(' ', '-').replace(':', '')}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            ["taskset", "-c", str(core), sys.executable, "-m", "gateway.cli", *command],
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Process(name, popen, log)


async def wait_for_worker(worker: Process, redis_url: str, queue: str, within: float = 30) -> None:
    """Until the worker has written its first health check to Redis (arq does so on start)."""
    deadline = time.monotonic() + within
    client = Redis.from_url(redis_url)
    try:
        while time.monotonic() < deadline:
            if worker.popen.poll() is not None:
                raise SystemExit(
                    f"the worker exited with {worker.popen.returncode}:\n{worker.tail()}"
                )
            if await client.exists(f"{queue}:health-check"):
                return
            await asyncio.sleep(0.2)
    finally:
        await client.aclose()
    raise SystemExit(f"the worker did not start in {within:.0f} s:\n{worker.tail()}")


# ------------------------------------------------------------------ the load generator


class Link:
    """One keep-alive HTTP/1.1 connection to a gateway, opened again after any failure, and
    after `IDLE_SECONDS` unused (uvicorn closes an idle connection after 5 s)."""

    IDLE_SECONDS = 4.0

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def exchange(self, request: bytes, seconds: float) -> tuple[int, bytes]:
        """Send `request` and read the answer, within `seconds`."""
        try:
            return await asyncio.wait_for(self._exchange(request), seconds)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if time.monotonic() - self.used > self.IDLE_SECONDS:
            self.close()
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(request)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        body = await self.reader.readexactly(length)
        self.used = time.monotonic()
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Answer:
    data: dict[str, Any]
    codes: list[str]  # GraphQL error codes and payload error codes; empty when all went well


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    retries: Counter[tuple[str, str]] = field(default_factory=Counter)
    # refusals the client predicted (a refund past what is left, a second undo): not failures
    expected: Counter[tuple[str, str]] = field(default_factory=Counter)

    def unexpected(self) -> int:
        return sum(n for (_, code), n in self.errors.items() if code not in EXPECTED_REFUSALS)


@dataclass
class Sale:
    """A committed sale as the client knows it: what is left of each line (in thousandths),
    and how many refunds it has taken. Only one connection refunds it at a time."""

    checkout_id: UUID
    left: list[int]
    refunds: int = 0


def thousandths(quantity: str) -> int:
    return int(Decimal(quantity) * 1000)


def quantity_text(thousandths: int) -> str:
    return str(Decimal(thousandths) / 1000)


@dataclass
class Ledger:
    """What the client saw happen, for the checks."""

    confirmed: dict[str, UUID] = field(default_factory=dict)  # commit key → checkout id
    refused: list[str] = field(default_factory=list)  # commit keys answered with an error
    refundable: list[Sale] = field(default_factory=list)  # sales never refunded
    refunded: list[Sale] = field(default_factory=list)  # refunded in part, or whole once
    bulk_operations: list[UUID] = field(default_factory=list)  # ADD 0.50 to every VIP
    list_operations: list[UUID] = field(default_factory=list)  # 2 to 20 customers
    undos: dict[UUID, UUID] = field(default_factory=dict)  # original → its undo
    refund_kinds: Counter[str] = field(default_factory=Counter)  # answered as predicted
    quoted: dict[int, tuple[list[dict[str, str]], str]] = field(default_factory=dict)
    sync_run: UUID | None = None
    events: list[str] = field(default_factory=list)


class Load:
    """Virtual tills and back offices, each on its own connections to both gateways."""

    def __init__(
        self, soaked: Soaked, ports: Sequence[int], hot: Sequence[int], rng: random.Random
    ) -> None:
        self.soaked = soaked
        self.ports = ports
        self.hot = hot
        self.rng = rng
        self.cards = sorted(soaked.customers)
        self.stats = Stats()
        self.ledger = Ledger()
        self.pos = {"Authorization": f"Bearer {soaked.pos_key}", "Accept": "application/json"}
        self.store = {"Authorization": f"Bearer {soaked.store_key}", "Accept": "application/json"}
        self.admin = {"Authorization": f"Bearer {soaked.admin_key}", "Accept": "application/json"}

    # -- one request, retried -------------------------------------------------------------

    async def call(
        self,
        user: int,
        links: Sequence[Link],
        operation: str,
        document: str,
        variables: Mapping[str, object],
        headers: Mapping[str, str],
        expect: str | None = None,
    ) -> Answer | None:
        """Send a request (again to the other gateway on a timeout, a dropped connection or a
        5xx, with the same body and so the same idempotency key); None when it never got an
        answer. Records its latency and error codes under `operation`; the code `expect`, when
        it is the only one, as an expected refusal."""
        named = {"documentId": document} if document.startswith("sha256:") else {"query": document}
        body = json.dumps({**named, "variables": variables}).encode()
        request = _request("POST", "/graphql", body, dict(headers))
        started = time.perf_counter()
        failure = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                self.stats.retries[(operation, failure)] += 1
                await asyncio.sleep(0.1 * attempt)
            link = links[(user + attempt) % len(links)]
            try:
                status, raw = await link.exchange(request, REQUEST_TIMEOUT)
            except TimeoutError:
                failure = "TIMEOUT"
                continue
            except (OSError, EOFError, asyncio.LimitOverrunError, ValueError):
                failure = "CONNECTION"
                continue
            if status >= 500:
                failure = f"HTTP {status}"
                continue
            break
        else:
            self.stats.errors[(operation, f"no answer after {ATTEMPTS} attempts ({failure})")] += 1
            return None
        self.stats.latencies.setdefault(operation, []).append(time.perf_counter() - started)
        if status != 200:
            self.stats.errors[(operation, f"HTTP {status}")] += 1
            return Answer({}, [f"HTTP {status}"])
        answer = json.loads(raw)
        codes = [
            (e.get("extensions") or {}).get("code") or "UNEXPECTED"
            for e in answer.get("errors") or ()
        ]
        data: dict[str, Any] = answer.get("data") or {}
        for payload in data.values():
            if isinstance(payload, dict):
                codes.extend(e["code"] for e in payload.get("errors") or ())
        counter = self.stats.expected if expect and codes == [expect] else self.stats.errors
        for code in codes:
            counter[(operation, code)] += 1
        return Answer(data, codes)

    # -- the mix ----------------------------------------------------------------------------

    def bill(self) -> list[dict[str, str]]:
        chosen = self.rng.sample(PRODUCTS, self.rng.randint(1, 5))
        return [
            {"productId": p, "quantity": str(self.rng.randint(1, 3)), "unitPrice": price}
            for p, price in chosen
        ]

    def card(self, hot_share: float) -> int:
        if self.rng.random() < hot_share:
            return self.rng.choice(self.hot)
        return self.rng.choice(self.cards)

    async def quote(self, user: int, links: Sequence[Link]) -> None:
        card, lines = self.card(0.3), self.bill()
        variables = {"input": {"cardCode": card_code(card), "lines": lines}}
        answer = await self.call(user, links, "quote", QUOTE, variables, self.pos)
        if answer is not None and not answer.codes:
            self.ledger.quoted[card] = (lines, answer.data["checkoutQuote"]["total"]["amount"])

    async def commit(self, user: int, links: Sequence[Link]) -> None:
        card = self.card(0.5)
        lines, expected = self.bill(), None
        if card in self.ledger.quoted and self.rng.random() < 1 / 3:
            lines, expected = self.ledger.quoted.pop(card)
        roll = self.rng.random()
        channel = "POS" if roll < 0.8 else "KIOSK" if roll < 0.9 else "ONLINE"
        key = f"soak-commit-{uuid4().hex}"
        variables = {
            "input": {"channel": channel, "cardCode": card_code(card), "lines": lines},
            "idempotencyKey": key,
            "expectedTotal": expected,
        }
        key_of = self.store if channel == "ONLINE" else self.pos
        answer = await self.call(user, links, "commit", COMMIT, variables, key_of)
        if answer is None:
            return
        checkout = (answer.data.get("commitCheckout") or {}).get("checkout")
        if answer.codes or checkout is None:
            self.ledger.refused.append(key)
            return
        self.ledger.confirmed[key] = UUID(checkout["id"])
        left = [thousandths(line["quantity"]) for line in checkout["lines"]]
        self.ledger.refundable.append(Sale(UUID(checkout["id"]), left))

    def sale_to_refund(self) -> Sale | None:
        """A sale refunded before (`AGAIN_SHARE` of the time, when there is one), else one
        never refunded; taken out of the client's books while its refund is on the way."""
        ledger = self.ledger
        pools = [ledger.refundable, ledger.refunded]
        if ledger.refunded and self.rng.random() < AGAIN_SHARE:
            pools.reverse()
        for pool in pools:
            if pool:
                index = self.rng.randrange(len(pool))
                pool[index], pool[-1] = pool[-1], pool[index]
                return pool.pop()
        return None

    def refund_request(self, sale: Sale) -> tuple[list[dict[str, object]] | None, str, list[int]]:
        """What to ask of `sale`: the lines (None: all that is left), what it is (the refusal
        due, when one is: `REFUSALS`), and what is left of each line after it."""
        left = sale.left
        if not any(left):
            return None, "already refunded", left
        roll = self.rng.random()
        if roll < WHOLE_REFUND_SHARE or sale.refunds == MAX_REFUNDS - 1:
            return None, "whole" if sale.refunds == 0 else "the rest", [0] * len(left)
        open_lines = [i for i, q in enumerate(left) if q]
        if roll < WHOLE_REFUND_SHARE + PAST_LEFT_SHARE:
            line = self.rng.choice(open_lines)
            return [{"line": line, "quantity": quantity_text(left[line] + 1000)}], "past left", left
        after, asked = list(left), []
        for line in sorted(self.rng.sample(open_lines, min(2, len(open_lines)))):
            quantity = self.part(left[line])
            after[line] -= quantity
            asked.append({"line": line, "quantity": quantity_text(quantity)})
        return asked, "by the line", after

    def part(self, left: int) -> int:
        """Some of what is left of a line (thousandths): whole units mostly, now and then
        quarters."""
        if left < 1000 or self.rng.random() < 0.2:
            return self.rng.randint(1, left // 250) * 250
        return self.rng.randint(1, left // 1000) * 1000

    async def refund(self, user: int, links: Sequence[Link]) -> None:
        """Refund some or all of what is left of a sale; or ask for more than is left, or
        refund a sale refunded whole, and expect the refusal (`REFUSALS`)."""
        sale = self.sale_to_refund()
        if sale is None:
            await self.commit(user, links)
            return
        lines, kind, after = self.refund_request(sale)
        code, message_id = REFUSALS.get(kind, (None, None))
        variables = {"id": str(sale.checkout_id), "idempotencyKey": f"soak-refund-{uuid4().hex}"}
        answer = await self.call(
            user, links, "refund", REFUND, {**variables, "lines": lines}, self.pos, expect=code
        )
        if answer is None or (answer.codes and answer.codes != [code]):
            return  # failed, and counted so: what is left of the sale is unknown now
        payload = answer.data["refundCheckout"]
        if code is not None:
            errors = payload["errors"]
            if not errors or errors[0]["messageId"] != message_id:
                self.stats.errors[("refund", f"{kind}: answered other than {message_id}")] += 1
                return
            self.ledger.refund_kinds[kind] += 1
            if kind == "past left":
                self.ledger.refunded.append(sale)  # nothing was written
            return
        sale.left, sale.refunds = after, sale.refunds + 1
        due = "PARTIALLY_REFUNDED" if any(after) else "REFUNDED"
        status, number = payload["checkout"]["status"], len(payload["checkout"]["refunds"])
        if (status, number) != (due, sale.refunds):
            self.stats.errors[("refund", f"{status} #{number}, not {due} #{sale.refunds}")] += 1
        self.ledger.refund_kinds[kind] += 1
        self.ledger.refund_kinds["again"] += sale.refunds > 1
        if any(after) or self.rng.random() < 0.1:
            self.ledger.refunded.append(sale)

    async def credit(self, user: int, links: Sequence[Link]) -> None:
        ids = self.soaked.customers
        kind = self.rng.choice(("ADD", "REDUCE", "SET"))
        amount = f"{self.rng.randint(0 if kind == 'SET' else 1, 50)}.00"
        books: list[UUID] | None = None
        if self.rng.random() < BULK_SHARE:
            operation, books = "credit (bulk)", self.ledger.bulk_operations
            kind, amount = "ADD", "0.50"
            target: dict[str, object] = {"filter": {"groupIds": [str(self.soaked.groups["vip"])]}}
        elif self.rng.random() < 0.6:
            operation = "credit"
            target = {"customerIds": [str(ids[self.card(0.5)])]}
        else:
            operation = "credit"
            chosen = self.rng.sample(self.cards, self.rng.randint(2, 20))
            target = {"customerIds": [str(ids[n]) for n in chosen]}
            books = self.ledger.list_operations
        variables = {
            "input": {
                "target": target,
                "operation": kind,
                "amount": amount,
                "description": "Soak",
                "idempotencyKey": f"soak-credit-{uuid4().hex}",
            }
        }
        if kind != "REDUCE" and self.rng.random() < EXPIRING_SHARE:
            # credits that expire tomorrow: spent before those that never expire
            tomorrow = datetime.now(ZoneInfo(TIMEZONE)).date() + timedelta(days=1)
            variables["input"]["expiresOn"] = tomorrow.isoformat()
        answer = await self.call(user, links, operation, CREDIT, variables, self.admin)
        if books is not None and answer is not None and not answer.codes:
            books.append(UUID(answer.data["setPromotionalCredits"]["operation"]["id"]))

    async def admin_query(self, user: int, links: Sequence[Link]) -> None:
        document = self.rng.choice(ADMIN_QUERIES)
        variables = {"group": str(self.soaked.groups["vip"])} if "$group" in document else {}
        await self.call(user, links, "admin", document, variables, self.admin)

    async def till(self, user: int, deadline: float) -> None:
        """One connection's worth of traffic until the deadline."""
        links = [Link(port) for port in self.ports]
        mix: dict[str, Callable[[int, Sequence[Link]], Awaitable[None]]] = {
            "quote": self.quote,
            "commit": self.commit,
            "refund": self.refund,
            "credit": self.credit,
            "admin": self.admin_query,
        }
        names, weights = list(mix), [WEIGHTS[n] for n in mix]
        try:
            while time.monotonic() < deadline:
                await mix[self.rng.choices(names, weights)[0]](user, links)
        finally:
            for link in links:
                link.close()

    # -- what happens meanwhile ----------------------------------------------------------------

    async def events(self, url: str, began: float, duration: float) -> None:
        """The schedule made through the API, the backdated one, and the sync."""
        links = [Link(port) for port in self.ports]

        async def at(share: float) -> None:
            await asyncio.sleep(max(0.0, began + share * duration - time.monotonic()))

        try:
            await at(0.10)
            today = datetime.now(ZoneInfo(TIMEZONE)).date()
            variables = {
                "input": {
                    "target": {"filter": {"groupIds": [str(self.soaked.groups["vip"])]}},
                    "operation": "ADD",
                    "amount": "2.00",
                    "description": TOP_UP,
                    "recurrence": {"every": 1, "unit": "DAY", "startDate": today.isoformat()},
                    "idempotencyKey": "soak-schedule",
                }
            }
            answer = await self.call(0, links, "schedule", CREDIT, variables, self.admin)
            self.ledger.events.append(self._event("daily schedule created", began, answer))
            await at(0.25)
            await backdated_schedule(url, self.soaked, days=2)
            self.ledger.events.append(
                f"{time.monotonic() - began:5.1f} s  daily schedule dated 2 days back written"
                " (3 periods due, for the periodic check)"
            )
            await at(0.50)
            answer = await self.call(0, links, "synchronize", SYNCHRONIZE, {}, self.admin)
            if answer is not None and not answer.codes:
                run = answer.data["synchronize"]["syncRun"]
                self.ledger.sync_run = UUID(run["id"])
            self.ledger.events.append(self._event("synchronize(GOPOS) queued", began, answer))
            await at(UNDO_AT)
            for kind in ("group job", "list operation", "schedule period"):
                await self.undo(links, began, kind)
        finally:
            for link in links:
                link.close()

    async def made_original(self, links: Sequence[Link], kind: str) -> UUID | None:
        """The first operation of `kind` the load made (made now when it made none)."""
        made = self.ledger.bulk_operations if kind == "group job" else self.ledger.list_operations
        if not made:
            ids = [str(self.soaked.customers[n]) for n in self.cards[:5]]
            target: dict[str, object] = {"customerIds": ids}
            if kind == "group job":
                target = {"filter": {"groupIds": [str(self.soaked.groups["vip"])]}}
            variables = {
                "input": {
                    "target": target,
                    "operation": "ADD",
                    "amount": "0.50",
                    "description": "Soak, to undo",
                    "idempotencyKey": f"soak-to-undo-{kind.replace(' ', '-')}",
                }
            }
            answer = await self.call(0, links, "credit", CREDIT, variables, self.admin)
            if answer is None or answer.codes:
                return None
            made.append(UUID(answer.data["setPromotionalCredits"]["operation"]["id"]))
        return made[0]

    async def first_period(self, links: Sequence[Link]) -> UUID | None:
        """The first period of the daily "VIP" top-up made at 10% (its operation's id is the
        period's), once it has one."""
        for _ in range(60):
            answer = await self.call(0, links, "undo poll", SCHEDULES, {}, self.admin)
            for schedule in [] if answer is None else answer.data.get("creditSchedules") or []:
                runs = schedule["runs"]["edges"] if schedule["description"] == TOP_UP else []
                if runs and runs[-1]["node"]["operation"] is not None:
                    return UUID(runs[-1]["node"]["operation"]["id"])
            await asyncio.sleep(1.0)
        return None

    async def finished_original(self, links: Sequence[Link], kind: str) -> UUID | None:
        """What to undo of `kind` ("group job", "list operation", "schedule period"), once it
        has SUCCEEDED; None when there is none or it has not within 60 s."""
        if kind == "schedule period":
            original = await self.first_period(links)
        else:
            original = await self.made_original(links, kind)
        for _ in range(120 if original else 0):
            answer = await self.call(
                0, links, "undo poll", OPERATION, {"id": str(original)}, self.admin
            )
            if (
                answer is not None
                and (answer.data.get("walletOperation") or {}).get("status") == "SUCCEEDED"
            ):
                return original
            await asyncio.sleep(0.5)
        return None

    async def undo(self, links: Sequence[Link], began: float, kind: str) -> None:
        """Undo a finished operation of `kind` through the API: the preview first, then the
        undo; the same request again answers with the same undo, another key is CONFLICT."""
        original = await self.finished_original(links, kind)
        if original is None:  # a failure: the run had one to undo
            self.stats.errors[("undo", f"no finished {kind} to undo")] += 1
            self.ledger.events.append(self._event(f"undo of a {kind}", began, None))
            return
        ask = {"id": str(original)}
        preview = await self.call(0, links, "undo preview", PREVIEW_UNDO, ask, self.admin)
        variables = {**ask, "key": f"soak-undo-{original}"}
        first = await self.call(0, links, "undo", UNDO, variables, self.admin)
        again = await self.call(0, links, "undo", UNDO, variables, self.admin)
        other = {**ask, "key": f"soak-undo-again-{original}"}
        second = await self.call(0, links, "undo", UNDO, other, self.admin, expect="CONFLICT")
        if first is None or first.codes:
            self.ledger.events.append(self._event(f"undo of a {kind}", began, first))
            return
        undo_id = UUID(first.data["undoWalletOperation"]["operation"]["id"])
        self.ledger.undos[original] = undo_id
        same = None if again is None or again.codes else again.data["undoWalletOperation"]
        if same is not None and UUID(same["operation"]["id"]) != undo_id:
            self.stats.errors[("undo", "the same key answered another undo")] += 1
        if second is not None and second.codes != ["CONFLICT"]:
            self.stats.errors[("undo", "a second undo answered other than CONFLICT")] += 1
        shown = "no preview"
        if preview is not None and not preview.codes:
            p = preview.data["previewUndoWalletOperation"]
            shown = (
                f"preview: {p['restoredCount']} restored, {p['partlyRestoredCount']} in part, "
                f"{p['amount']['amount']} taken back"
            )
        status = first.data["undoWalletOperation"]["operation"]["status"]
        self.ledger.events.append(
            f"{time.monotonic() - began:5.1f} s  undo of a {kind} {status} ({shown}); "
            f"the same key again: the same undo; another key: "
            f"{', '.join(second.codes) if second else 'no answer'}"
        )

    @staticmethod
    def _event(what: str, began: float, answer: Answer | None) -> str:
        outcome = "no answer" if answer is None else ", ".join(answer.codes) or "ok"
        return f"{time.monotonic() - began:5.1f} s  {what}: {outcome}"


async def configure_gopos(load: Load, simulator_port: int) -> None:
    links = [Link(load.ports[0])]
    variables = {
        "input": {
            "baseUrl": f"http://127.0.0.1:{simulator_port}",
            "clientId": GOPOS_CLIENT["client_id"],
            "clientSecret": GOPOS_CLIENT["client_secret"],
            "organizationId": GOPOS_CLIENT["organization_id"],
        }
    }
    answer = await load.call(0, links, "setup", CONFIGURE, variables, load.admin)
    links[0].close()
    if answer is None or answer.codes:
        raise SystemExit(f"configureIntegration failed: {answer}")


async def sample_rss(processes: Sequence[Process], until: asyncio.Event) -> None:
    while not until.is_set():
        for process in processes:
            process.sample()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), 2.0)


# ------------------------------------------------------------------ report


def _ms(values: list[float], quantile: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else 0.0
    return statistics.quantiles(values, n=100)[quantile - 1] * 1000


def report_traffic(stats: Stats, seconds: float) -> None:
    header = f"{'operation':<16}{'count':>9}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}{'retries':>9}"
    print(header)
    print("-" * len(header))
    order = ["quote", "commit", "refund", "credit", "credit (bulk)", "admin"]
    names = order + sorted(n for n in stats.latencies if n not in order)
    everything: list[float] = []
    for name in names:
        values = stats.latencies.get(name, [])
        if name in WEIGHTS or name in order:
            everything += values
        retried = sum(n for (op, _), n in stats.retries.items() if op == name)
        print(
            f"{name:<16}{len(values):>9,}{len(values) / seconds:>9,.1f}{_ms(values, 50):>9.1f}"
            f"{_ms(values, 99):>9.1f}{retried:>9,}"
        )
    retried = sum(stats.retries.values())
    print(
        f"{'all':<16}{len(everything):>9,}{len(everything) / seconds:>9,.1f}"
        f"{_ms(everything, 50):>9.1f}{_ms(everything, 99):>9.1f}{retried:>9,}"
    )
    print("errors by code (per operation; QUOTE_CHANGED is a till's expected refusal):")
    if not stats.errors:
        print("  none")
    for (operation, code), count in sorted(stats.errors.items()):
        print(f"  {operation:<16}{code:<40}{count:>7,}")
    if stats.expected:
        print("refusals the client predicted (not failures):")
        for (operation, code), count in sorted(stats.expected.items()):
            print(f"  {operation:<16}{code:<40}{count:>7,}")
    if stats.retries:
        print("retried requests, by what the first attempt met:")
        for (operation, reason), count in sorted(stats.retries.items()):
            print(f"  {operation:<16}{reason:<40}{count:>7,}")


def refund_mix_check(kinds: Counter[str]) -> Check:
    """The refunds were by the line too: some whole, some by the line, some of a sale refunded
    before, and some past what was left, refused as due (`Load.refund`)."""
    seen = ("whole", "by the line", "again", "past left")
    return Check(
        "refunds by the line exercised",
        all(kinds[k] > 0 for k in seen),
        f"{kinds['whole']} whole, {kinds['by the line']} by the line, {kinds['the rest']} of "
        f"the rest, {kinds['again']} of a sale refunded before; refused as due: "
        f"{kinds['past left']} past what was left, {kinds['already refunded']} of a sale "
        "refunded whole",
    )


def rss_check(processes: Sequence[Process], bound_mb: float) -> Check:
    lines, over = [], 0
    for p in processes:
        start, end = p.rss_start_kib, p.rss_end_kib
        if start is None or end is None:
            over += 1
            lines.append(f"{p.name}: not measured")
            continue
        growth = (end - start) / 1024
        over += growth > bound_mb
        lines.append(
            f"{p.name} {start / 1024:.1f} → {end / 1024:.1f} MB ({growth:+.1f}, "
            f"peak {p.rss_peak_kib / 1024:.1f})"
        )
    return Check(f"RSS growth ≤ {bound_mb:g} MB per process", over == 0, "; ".join(lines))


# ------------------------------------------------------------------ main


async def main(args: argparse.Namespace) -> int:
    os.sched_setaffinity(0, {args.client_core})
    load_before = os.getloadavg()[0]
    rng = random.Random(args.seed)
    print(f"seeding {args.customers:,} customers …", file=sys.stderr, flush=True)
    soaked = await prepare(args.database_url, args.customers)
    hot = rng.sample(sorted(soaked.customers), min(args.hot, args.customers))
    queue = f"soak:{uuid4().hex[:12]}"
    processes: list[Process] = []
    checks: list[Check] = []
    load: Load | None = None
    seconds = drained = 0.0
    pending = 0
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            fixture = folder / "gopos.json"
            fixture.write_text(json.dumps(gopos_fixture()), encoding="utf-8")
            simulator_port = _free_port()
            simulator = start_simulator(fixture, simulator_port, args.client_core)
            try:
                env = process_env(args, queue, new_key())
                ports = [_free_port(), _free_port()]
                for port in ports:
                    processes.append(
                        start(
                            f"gateway :{port}",
                            ["serve", "--port", str(port)],
                            args.server_core,
                            env,
                            folder,
                        )
                    )
                processes.append(start("worker", ["worker"], args.server_core, env, folder))
                try:
                    for process, port in zip(processes, ports, strict=False):
                        _wait_for_port(port, process.popen)
                    await wait_for_worker(processes[-1], args.redis_url, queue)
                except SystemExit:
                    for process in processes:
                        print(process.tail(), file=sys.stderr)
                    raise
                load = Load(soaked, ports, hot, rng)
                await configure_gopos(load, simulator_port)
                print(f"load for {args.duration:g} s …", file=sys.stderr, flush=True)
                seconds, drained, pending = await run(args, load, processes)
                db = await open_connection(args.database_url)
                try:
                    checks = await check_all(
                        db,
                        soaked.location_id,
                        TIMEZONE,
                        load.ledger.confirmed,
                        load.ledger.refused,
                        load.ledger.sync_run,
                    )
                    checks.append(await check_undos(db, soaked.location_id, load.ledger.undos))
                    checks.append(await check_lots(db, soaked.location_id, TIMEZONE))
                finally:
                    await db.close()
                checks.append(
                    Check(
                        "queued work drained",
                        pending == 0,
                        f"{drained:.1f} s after the load; {pending} jobs or due periods left",
                    )
                )
                checks.append(
                    Check(
                        "no unexpected errors",
                        load.stats.unexpected() == 0,
                        f"{load.stats.unexpected()} requests failed other than by QUOTE_CHANGED",
                    )
                )
                checks.append(refund_mix_check(load.ledger.refund_kinds))
                checks.append(rss_check(processes, args.rss_bound))
            finally:
                for process in processes:
                    process.stop()
                simulator.terminate()
                simulator.wait(10)
                if load is not None:
                    report(args, load, seconds, processes, checks, load_before)
    finally:
        await _forget_queue(args.redis_url, queue)
        if not args.keep:
            await drop_database(args.database_url)
    return 0 if checks and all(c.passed for c in checks) else 1


async def run(
    args: argparse.Namespace, load: Load, processes: Sequence[Process]
) -> tuple[float, float, int]:
    """The load, the events and the RSS samples; then the drain. Returns the seconds of load,
    the seconds the drain took, and what was left pending."""
    began = time.monotonic()
    deadline = began + args.duration
    done = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(processes, done))
    events = asyncio.create_task(load.events(args.database_url, began, args.duration))
    tills = [asyncio.create_task(load.till(u, deadline)) for u in range(args.connections)]
    await asyncio.sleep(min(10.0, 0.1 * args.duration))
    for p in processes:
        p.rss_start_kib = p.sample()
    await asyncio.gather(*tills, events)
    seconds = time.monotonic() - began
    drained, pending = await drain(args.database_url, load.soaked.location_id, args.drain_timeout)
    for p in processes:
        p.rss_end_kib = p.sample()
    done.set()
    await sampler
    return seconds, drained, pending


async def _forget_queue(redis_url: str, queue: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        await client.delete(queue, f"{queue}:health-check")
    finally:
        await client.aclose()


def report(
    args: argparse.Namespace,
    load: Load,
    seconds: float,
    processes: Sequence[Process],
    checks: Sequence[Check],
    load_before: float,
) -> None:
    print(
        f"soak: {seconds:.0f} s of load, {args.customers:,} customers ({len(load.hot)} hot), "
        f"{args.connections} connections over 2 gateways; gateways and worker on core "
        f"{args.server_core}, load generator and simulator on core {args.client_core}; "
        f"PostgreSQL and Redis unpinned ({os.cpu_count()} cores in all: the figures are of "
        "processes sharing cores, not of a sized deployment); load average before "
        f"{load_before:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    report_traffic(load.stats, seconds)
    print("events:")
    for event in load.ledger.events:
        print(f"  {event}")
    print("checks:")
    for check in checks:
        print(f"  {check.line()}")
    if not checks or not all(c.passed for c in checks):
        print("last lines of each process's log:")
        for process in processes:
            print(process.tail())
    verdict = "PASS" if checks and all(c.passed for c in checks) else "FAIL"
    print(f"soak: {verdict}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--hot", type=int, default=200, help="customers most traffic goes to")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument(
        "--check-seconds", type=int, default=5, help="GOCRM_CHECK_SECONDS of the processes"
    )
    parser.add_argument(
        "--rss-bound", type=float, default=50.0, help="MB a process may grow after warm-up"
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=120.0, help="seconds to wait for queued jobs"
    )
    parser.add_argument("--seed", type=int, default=11, help="of the load's random choices")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if min(args.customers, args.hot, args.connections) < 1 or args.duration <= 0:
        parser.error("--customers, --hot, --connections and --duration must be positive")
    if args.customers < 20:
        parser.error("--customers must be at least 20 (a credit list takes up to 20)")
    if 60 % args.check_seconds:
        parser.error("--check-seconds must divide 60")
    return args


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main(parse_args())))
