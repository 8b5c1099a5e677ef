"""Back-office reads from a real streaming replica (`GOCRM_REPLICA_DATABASE_URL`).

A private primary (`initdb`) and its standby (`pg_basebackup -R`, streaming) on ports of their
own, and a `gocrm serve` given both. With the standby's replay paused, what the primary has and
the replica has not yet tells which answered: an ADMIN key's lists come from the replica; a
mutation's answer, the reads after a write in the same request, a till's card lookup and the
reports come from the primary. Once replay resumes, the lists catch up.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest

from tests.faults.data import client, pos_api
from tests.faults.processes import (
    PostgresCluster,
    Processes,
    create_location,
    environment,
    eventually,
    postgres_binaries,
    sql,
    unavailable,
)
from tests.faults.till_documents import BY_CARD
from tests.helpers import Api

CUSTOMERS = "query Customers { customers(first: 50) { totalCount edges { node { firstName } } } }"
CREATE = """mutation Create($input: CustomerInput!) { createCustomer(input: $input) {
  customer { firstName cards { code } groups { name } } errors { code } } }"""
GROUP = """mutation Group($input: CustomerGroupInput!) {
  createCustomerGroup(input: $input) { group { id } errors { code } } }"""


class Standby(PostgresCluster):
    """A streaming standby of `primary`, cloned by `pg_basebackup` (which writes its
    `standby.signal` and `primary_conninfo`)."""

    async def clone(self, primary: PostgresCluster) -> None:
        await self._run(
            "pg_basebackup", "-D", str(self.data), "-h", "127.0.0.1", "-p", str(primary.port),
            "-U", "postgres", "-X", "stream", "-R", "--no-sync", "-c", "fast",
        )  # fmt: skip


@pytest.fixture
async def clusters() -> AsyncIterator[tuple[PostgresCluster, Standby]]:
    binaries = postgres_binaries()
    if binaries is None or not (binaries / "pg_basebackup").exists():
        unavailable("PostgreSQL binaries (initdb, pg_ctl, pg_basebackup)", "not found")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        unavailable("runuser", "needed to run PostgreSQL as the postgres user")
    primary, standby = PostgresCluster(binaries), Standby(binaries)
    try:
        await primary.init()
        await primary.start()
        await sql(primary.url("postgres"), "CREATE DATABASE gocrm")
        await standby.clone(primary)
        await standby.start()
        yield primary, standby
    finally:
        for cluster in (standby, primary):
            try:
                if (cluster.data / "postmaster.pid").exists():
                    await cluster.stop()
            finally:
                cluster.remove()


async def _first_names(admin: Api) -> list[str]:
    found = (await admin.data(CUSTOMERS))["customers"]
    return sorted(edge["node"]["firstName"] for edge in found["edges"])


async def test_the_back_office_reads_lists_from_the_replica_and_everything_else_from_the_primary(
    clusters: tuple[PostgresCluster, Standby], processes: Processes
) -> None:
    primary, standby = clusters
    env = environment(
        DATABASE_URL=primary.url("gocrm"),
        GOCRM_REPLICA_DATABASE_URL=standby.url("gocrm"),
        GOCRM_ENV="production",
    )
    await processes.command("migrate", env=env)
    location = await create_location(processes, env, "Replika")
    gateway = await processes.gateway(env)
    async with client(gateway.url) as http:
        admin = Api(http, location.key, location.id)
        till = await pos_api(admin)
        group = (await admin.mutate(GROUP, {"input": {"name": "Stali"}}))["group"]["id"]
        first = {"firstName": "Anna", "cards": [{"code": "R-1"}], "groupIds": [group]}
        assert (await admin.mutate(CREATE, {"input": first}))["errors"] == []

        # given the replica has replayed what the primary holds, and then stops replaying
        async def replayed() -> list[str] | None:
            names = await _first_names(admin)
            return names if names == ["Anna"] else None

        await eventually(replayed, "the replica to replay Anna", processes)
        await sql(standby.url("gocrm"), "SELECT pg_wal_replay_pause()")

        async def paused() -> bool:
            state = await sql(standby.url("gocrm"), "SELECT pg_get_wal_replay_pause_state() AS s")
            return state == [{"s": "paused"}]

        await eventually(paused, "the replica's replay to pause", processes)

        # when a customer is made on the primary
        second = {"firstName": "Bogna", "cards": [{"code": "R-2"}], "groupIds": [group]}
        made = await admin.mutate(CREATE, {"input": second})
        # then the mutation's answer, read after its write in the same request, is the primary's
        assert made == {
            "customer": {
                "firstName": "Bogna",
                "cards": [{"code": "R-2"}],
                "groups": [{"name": "Stali"}],
            },
            "errors": [],
        }
        # and the ADMIN key's list is the replica's, which has not replayed it yet
        assert await _first_names(admin) == ["Anna"]
        # while a till's lookup and an ADMIN key's report read the primary
        assert (await till.data(BY_CARD, {"code": "R-2"}))["customer"] == {"firstName": "Bogna"}
        replica_count = await sql(standby.url("gocrm"), "SELECT count(*) FROM customers")
        primary_count = await sql(primary.url("gocrm"), "SELECT count(*) FROM customers")

        # when replay resumes, the list catches up
        await sql(standby.url("gocrm"), "SELECT pg_wal_replay_resume()")

        async def caught_up() -> list[str] | None:
            names = await _first_names(admin)
            return names if names == ["Anna", "Bogna"] else None

        assert await eventually(caught_up, "the replica to replay Bogna", processes) == [
            "Anna",
            "Bogna",
        ]
    assert (replica_count, primary_count) == ([{"count": 1}], [{"count": 2}])
