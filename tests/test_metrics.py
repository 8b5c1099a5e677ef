"""`/metrics`: who may read it, what it counts, and N processes reporting as one.

In-process tests read the counters of this process (prometheus-client's default registry) and
assert what a request added; the last test runs `gocrm serve` with its shared directory."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette

import services.groups
from adapters.http import HttpConfig, UpstreamClients
from domain.access import Role
from gateway.app import create_app
from gateway.metrics import FORBIDDEN, AddressAllowList, serve_worker_metrics
from gateway.runtime import build_runtime, close_runtime
from services.runtime import Runtime
from settings import Settings, load_settings
from tasks.jobs import run_wallet_operation
from tests import test_sync_api as sync_api
from tests.helpers import CREATE_GROUP, Api, create_customer, new_location
from tests.servers import environment, free_port, start_serve
from tests.wallet_helpers import credit_ok

open_shop = sync_api.open_shop
shop = sync_api.shop

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LIST_GROUPS = "{ customerGroups { id name } }"
QUOTE = """query($input: CheckoutInput!) { checkoutQuote(input: $input) { total { amount } } }"""
COMMIT = """mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) { checkout { id } errors { code } } }"""
BILL = [{"productId": "kawa", "quantity": "1", "unitPrice": "9.00"}]


def value(name: str, **labels: str) -> float:
    """A sample of this process's registry (0 before anything was counted)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Counts:
    """The samples named at the start, and how much each grew since."""

    def __init__(self, *samples: tuple[str, dict[str, str]]) -> None:
        self.samples = samples
        self.before = [value(name, **labels) for name, labels in samples]

    def grown(self) -> list[float]:
        return [
            value(name, **labels) - before
            for (name, labels), before in zip(self.samples, self.before, strict=True)
        ]


def operations(operation: str, outcome: str) -> tuple[str, dict[str, str]]:
    return "gocrm_graphql_operations_total", {"operation": operation, "outcome": outcome}


async def scrape(app: Starlette, client: str = "127.0.0.1") -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(client, 40_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        return await http.get("/metrics")


# ------------------------------------------------------------------------ who may read them


async def test_metrics_need_no_key_but_an_allowed_address(app: Starlette) -> None:
    allowed = await scrape(app, "127.0.0.1")
    refused = await scrape(app, "203.0.113.9")

    assert allowed.status_code == 200
    assert allowed.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE gocrm_graphql_operations_total counter" in allowed.text
    assert 'gocrm_job_queue_depth{kind="wallet_operation"}' in allowed.text
    assert (refused.status_code, refused.text) == (403, FORBIDDEN)


async def test_the_allowed_addresses_are_a_setting(database: Settings) -> None:
    app = create_app(
        dataclasses.replace(database, metrics_allow=("10.0.0.0/8", "2001:db8::/32")),
        manage_database=False,
    )

    statuses = [
        (await scrape(app, client)).status_code
        for client in ("127.0.0.1", "10.20.30.40", "2001:db8::7", "::1")
    ]

    assert statuses == [403, 200, 200, 403]
    await app.state.dispatcher.close()


def test_the_allow_list_takes_addresses_networks_and_mapped_addresses() -> None:
    allow = AddressAllowList(["127.0.0.1", "::1", "192.168.0.0/16"])

    assert [
        allow.allows(host)
        for host in (
            "127.0.0.1",
            "::1",
            "192.168.4.2",
            "::ffff:192.168.4.2",
            "127.0.0.2",
            "10.0.0.1",
            "testclient",
            "",
            None,
        )
    ] == [True, True, True, True, False, False, False, False, False]


def test_the_metrics_and_scale_out_settings_and_their_defaults() -> None:
    defaults = load_settings({})
    postgres = load_settings({"DATABASE_URL": "postgres://gocrm@db:5432/gocrm"})
    chosen = load_settings(
        {
            "GOCRM_METRICS_DIR": "/run/gocrm/metrics",
            "GOCRM_METRICS_ALLOW": "10.0.0.0/8, ::1",
            "GOCRM_WORKER_METRICS_PORT": "9101",
            "GOCRM_WORKERS": "3",
            "GOCRM_SHUTDOWN_GRACE": "25",
        }
    )

    assert (
        defaults.metrics_dir,
        defaults.metrics_allow,
        defaults.worker_metrics_port,
        defaults.server_workers,
        postgres.server_workers,
        defaults.shutdown_grace_seconds,
    ) == ("gocrm-metrics", ("127.0.0.1", "::1"), None, 1, 2, 20)
    assert (
        chosen.metrics_dir,
        chosen.metrics_allow,
        chosen.worker_metrics_port,
        chosen.server_workers,
        chosen.shutdown_grace_seconds,
    ) == ("/run/gocrm/metrics", ("10.0.0.0/8", "::1"), 9101, 3, 25)
    with pytest.raises(ValueError, match="GOCRM_METRICS_ALLOW takes IP addresses and networks"):
        load_settings({"GOCRM_METRICS_ALLOW": "localhost"})
    with pytest.raises(ValueError, match="GOCRM_WORKER_METRICS_PORT must be a TCP port"):
        load_settings({"GOCRM_WORKER_METRICS_PORT": "70000"})


# ------------------------------------------------------------------------ GraphQL operations


async def test_a_quote_is_counted_by_operation_outcome_and_channel(api: Api) -> None:
    await create_customer(api, firstName="Ola", cards=[{"code": "CARD-M1"}])
    till = await api.key_with_role(Role.POS)
    counts = Counts(
        operations("checkoutQuote", "ok"),
        ("gocrm_graphql_duration_seconds_count", {"operation": "checkoutQuote"}),
        ("gocrm_checkout_quotes_total", {"channel": "POS"}),
        ("gocrm_checkout_quotes_total", {"channel": "KIOSK"}),
    )

    await till.data(QUOTE, {"input": {"cardCode": "CARD-M1", "lines": BILL}})
    await till.data(QUOTE, {"input": {"channel": "KIOSK", "lines": BILL}})

    assert counts.grown() == [2, 2, 1, 1]


async def test_operation_labels_are_root_fields_never_the_clients_text(
    api: Api, app: Starlette
) -> None:
    counts = Counts(
        operations("customerGroups", "ok"),
        operations("other", "ok"),
        operations("multiple", "ok"),
        operations("introspection", "ok"),
        operations("other", "user_error"),
        operations("invalid", "user_error"),
    )

    await api.data("query SecretTill42 { customerGroups { id } }")  # named by the client
    await api.data("{ __typename }")
    await api.data("{ customerGroups { id } viewer { location { id } } }")
    await api.data("{ __schema { queryType { name } } }")
    await api.raw("{ noSuchField }")
    await api.raw("query {")

    assert counts.grown() == [1, 1, 1, 1, 1, 1]
    assert "SecretTill42" not in (await scrape(app)).text


async def test_a_refusal_is_a_user_error_and_a_failure_an_error(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = Counts(
        operations("createCustomerGroup", "ok"),
        operations("createCustomerGroup", "user_error"),
        operations("customerGroups", "error"),
    )

    for _ in range(2):  # the second is refused: the reference exists
        await api.mutate(CREATE_GROUP, {"input": {"name": "Złota karta"}})

    async def explode(location_id: object, *_: object) -> list[object]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services.groups, "list_groups", explode)
    await api.raw(LIST_GROUPS)

    assert counts.grown() == [1, 1, 1]


async def test_a_masked_failure_in_production_is_still_an_error(
    database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(dataclasses.replace(database, env="production"), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        prod = await new_location(http, "Production Bistro")
        counts = Counts(operations("customerGroups", "error"))

        async def explode(location_id: object, *_: object) -> list[object]:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(services.groups, "list_groups", explode)
        body = await prod.raw(LIST_GROUPS)

    assert [error["message"] for error in body["errors"]] == ["Unexpected error."]
    assert counts.grown() == [1]
    await app.state.dispatcher.close()


# ------------------------------------------------------------------------ money and jobs


async def test_a_commit_counts_once_with_its_wallet_entries(api: Api) -> None:
    customer = await create_customer(api, firstName="Ola", cards=[{"code": "CARD-M2"}])
    adds = Counts(("gocrm_wallet_entries_total", {"kind": "ADD"}))
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "5.00")
    till = await api.key_with_role(Role.POS)
    counts = Counts(
        ("gocrm_checkout_commits_total", {"channel": "POS"}),
        ("gocrm_wallet_entries_total", {"kind": "REDEEM"}),
        operations("commitCheckout", "ok"),
    )
    variables = {"input": {"cardCode": "CARD-M2", "lines": BILL}, "key": "metrics-commit-1"}

    first = await till.mutate(COMMIT, variables)
    again = await till.mutate(COMMIT, variables)  # a retry: answered from its key

    assert first == again
    assert first["errors"] == []
    assert adds.grown() == [1]
    assert counts.grown() == [1, 1, 2]


class Recorder:
    """A queue that keeps what is enqueued and runs nothing."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[str, ...], str]] = []

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        self.jobs.append((function, args, job_id))


@pytest.fixture
async def queued(database: Settings) -> AsyncIterator[tuple[Starlette, Api, Runtime]]:
    """A gateway whose bulk operations (over one customer) wait in a queue nobody reads."""
    runtime = build_runtime(dataclasses.replace(database, job_inline_limit=1), Recorder())
    app = create_app(database, manage_database=False, runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield app, await new_location(http, "Queue Bistro"), runtime
    await close_runtime(runtime)


def queue_depth(text: str, kind: str) -> float:
    match = re.search(rf'^gocrm_job_queue_depth{{kind="{kind}"}} (\S+)$', text, re.MULTILINE)
    assert match is not None, text
    return float(match.group(1))


async def test_a_queued_job_counts_in_the_queue_depth_until_it_runs(
    queued: tuple[Starlette, Api, Runtime],
) -> None:
    app, api, runtime = queued
    ids = [(await create_customer(api, firstName=f"K{n}"))["id"] for n in range(3)]
    depth_before = queue_depth((await scrape(app)).text, "wallet_operation")
    counts = Counts(
        ("gocrm_job_runs_total", {"kind": "wallet_operation", "result": "succeeded"}),
        ("gocrm_job_duration_seconds_count", {"kind": "wallet_operation"}),
        ("gocrm_wallet_entries_total", {"kind": "ADD"}),
    )

    operation = await credit_ok(api, {"customerIds": ids}, "ADD", "5.00")
    depth_queued = queue_depth((await scrape(app)).text, "wallet_operation")
    await run_wallet_operation({"runtime": runtime}, operation["id"])
    depth_after = queue_depth((await scrape(app)).text, "wallet_operation")

    assert operation["status"] == "QUEUED"
    assert (depth_queued - depth_before, depth_after - depth_before) == (1, 0)
    assert counts.grown() == [1, 1, 3]


async def test_a_sync_counts_its_run_and_its_upstream_requests(shop: sync_api.Shop) -> None:
    await sync_api.configured(shop.api, "GOPOS")
    counts = Counts(
        ("gocrm_sync_runs_total", {"channel": "GOPOS", "result": "succeeded"}),
        ("gocrm_job_runs_total", {"kind": "sync_run", "result": "succeeded"}),
        ("gocrm_upstream_requests_total", {"upstream": "GoPOS", "status": "200"}),
    )

    run = await sync_api.synchronized(shop, "GOPOS")

    assert run["status"] == "SUCCEEDED"
    grown = counts.grown()
    assert grown[:2] == [1, 1]
    assert grown[2] >= 3  # a token, the groups and the discounts


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


async def test_upstream_requests_are_counted_by_status_with_their_retries() -> None:
    answers = iter([503, 502, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), json={"ok": True})

    clients = UpstreamClients(
        HttpConfig(),
        transport=lambda base_url: httpx.MockTransport(handler),
        sleep=no_wait,
        rng=random.Random(1),
    )
    counts = Counts(
        ("gocrm_upstream_requests_total", {"upstream": "GoOrder", "status": "503"}),
        ("gocrm_upstream_requests_total", {"upstream": "GoOrder", "status": "502"}),
        ("gocrm_upstream_requests_total", {"upstream": "GoOrder", "status": "200"}),
        ("gocrm_upstream_retries_total", {"upstream": "GoOrder"}),
    )

    async with clients:
        session = clients.session("GoOrder", "http://goorder.test", deadline=10)
        answer = await session.get_json("/promotions", lambda payload: payload)

    assert answer == {"ok": True}
    assert counts.grown() == [1, 1, 1, 2]


# ------------------------------------------------------------------------ processes


async def test_a_worker_serves_its_metrics_on_its_own_port() -> None:
    open_server = serve_worker_metrics(0, AddressAllowList(["127.0.0.1"]), host="127.0.0.1")
    closed_server = serve_worker_metrics(0, AddressAllowList(["10.0.0.0/8"]), host="127.0.0.1")
    try:
        async with httpx.AsyncClient() as http:
            allowed = await http.get(f"http://127.0.0.1:{open_server.server_port}/metrics")
            refused = await http.get(f"http://127.0.0.1:{closed_server.server_port}/metrics")
    finally:
        for server in (open_server, closed_server):
            server.shutdown()
            server.server_close()

    assert allowed.status_code == 200
    assert "# TYPE gocrm_job_runs_total counter" in allowed.text
    assert (refused.status_code, refused.text) == (403, FORBIDDEN)


async def test_serve_processes_and_a_worker_report_as_one(
    api: Api, database: Settings, tmp_path: Path
) -> None:
    # given a file left by a process that no longer runs (pids never reach 2**22 + 1)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_4194305.db").write_bytes(b"stale")
    # and the gateway served as `gocrm serve` runs it: two processes on PostgreSQL
    workers = "1" if database.is_sqlite else "2"
    port = free_port()
    env = environment(
        database.database_url, metrics_dir, GOCRM_WORKERS=workers, GOCRM_KEY_FILE=database.key_file
    )
    server = await start_serve(port, tmp_path, env)
    try:
        # when 12 requests arrive, each on a connection of its own
        for _ in range(12):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                answer = await http.post(
                    "/graphql", json={"query": LIST_GROUPS}, headers=api.headers
                )
                assert answer.status_code == 200
        # and a worker process of the same host credits 5 entries
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from services import metrics; metrics.entries_written('ADD', 5)",
            cwd=tmp_path,
            env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
        )
        assert await worker.wait() == 0
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            scraped = (await http.get("/metrics")).text
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), timeout=30)

    # then every process's counts are summed, whichever process answered the scrape
    assert 'gocrm_graphql_operations_total{operation="customerGroups",outcome="ok"} 12.0' in (
        scraped
    )
    assert 'gocrm_wallet_entries_total{kind="ADD"} 5.0' in scraped
    assert not (metrics_dir / "counter_4194305.db").exists()
    pids = {path.stem.rpartition("_")[2] for path in metrics_dir.glob("counter_*.db")}
    assert len(pids) >= int(workers) + 1  # each server process, and the worker
    assert server.returncode == 0
