import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.access import Role
from models.tables.crm import Location
from services import access
from services.demo import DEMO_CUSTOMERS, DemoLocation, seed_demo
from services.runtime import Runtime
from settings import Settings
from tests.helpers import Api

SHOWCASE = """
query($op: ID!) {
  customerGroups { reference customerCount }
  customers(first: 1) { totalCount }
  walletOperation(id: $op) { status total processed amount { amount } }
  creditSchedules { operation target amount { amount } every unit customerCount paused }
}"""


@pytest.fixture
async def demo(database: Settings, runtime: Runtime) -> AsyncIterator[DemoLocation]:
    seeded = await seed_demo(runtime)
    yield seeded
    # The session database is shared: leave no demo schedule behind for other tests.
    await Location.filter(id=seeded.location_id).delete()


async def test_each_demo_run_reuses_the_location_and_only_its_last_key_works(
    demo: DemoLocation, runtime: Runtime
) -> None:
    second = await seed_demo(runtime)
    third = await seed_demo(runtime)

    assert second.location_id == third.location_id == demo.location_id
    assert second.bulk_operation_id == third.bulk_operation_id == demo.bulk_operation_id
    assert len({demo.api_key, second.api_key, third.api_key}) == 3
    assert await access.authenticate(demo.api_key) is None
    assert await access.authenticate(second.api_key) is None
    principal = await access.authenticate(third.api_key)
    assert principal is not None
    assert (principal.location_id, principal.role, principal.api_key_name) == (
        demo.location_id,
        Role.ADMIN,
        "demo admin",
    )


async def test_a_demo_run_leaves_keys_that_someone_created_in_the_demo_valid(
    demo: DemoLocation, runtime: Runtime
) -> None:
    _, till = await access.create_api_key(demo.location_id, "Till 1", Role.POS)
    _, manager = await access.create_api_key(demo.location_id, "Manager", Role.ADMIN)

    await seed_demo(runtime)

    assert await access.authenticate(till) is not None
    assert await access.authenticate(manager) is not None


async def test_the_demo_shows_groups_credits_and_a_monthly_schedule(
    demo: DemoLocation, http: httpx.AsyncClient
) -> None:
    admin = Api(http, demo.api_key, str(demo.location_id))

    data = await admin.data(SHOWCASE, {"op": str(demo.bulk_operation_id)})

    assert sorted((g["reference"], g["customerCount"]) for g in data["customerGroups"]) == [
        ("pracownicy", 12),
        ("staly-klient", 150),
        ("vip", 30),
    ]
    assert data["customers"]["totalCount"] == DEMO_CUSTOMERS
    assert data["walletOperation"] == {
        "status": "SUCCEEDED",
        "total": 150,
        "processed": 150,
        "amount": {"amount": "20.00"},
    }
    assert data["creditSchedules"] == [
        {
            "operation": "SET",
            "target": "GROUPS",
            "amount": {"amount": "100.00"},
            "every": 1,
            "unit": "MONTH",
            "customerCount": 30,
            "paused": False,
        }
    ]


async def test_a_fresh_demo_starts_from_empty_data_and_leaves_other_locations_alone(
    demo: DemoLocation, runtime: Runtime, http: httpx.AsyncClient
) -> None:
    # given the walkthrough's step 2 run on the demo, and another location beside it
    earlier = Api(http, demo.api_key, str(demo.location_id))
    created = await earlier.data(
        'mutation { createCustomerGroup(input: {name: "Złota karta"}) { errors { code } } }'
    )
    assert created == {"createCustomerGroup": {"errors": []}}
    other, _ = await access.create_location("Somewhere else")

    # when the demo is seeded again with `fresh`
    fresh = await seed_demo(runtime, fresh=True)

    # then it is a new demo location holding the seed alone, and the other one is still there
    try:
        admin = Api(http, fresh.api_key, str(fresh.location_id))
        data = await admin.data(SHOWCASE, {"op": str(fresh.bulk_operation_id)})
        assert fresh.location_id != demo.location_id
        assert sorted(g["reference"] for g in data["customerGroups"]) == [
            "pracownicy",
            "staly-klient",
            "vip",
        ]
        assert data["customers"]["totalCount"] == DEMO_CUSTOMERS
        assert await Location.filter(id=demo.location_id).exists() is False
        assert await Location.filter(id=other.id).exists() is True
    finally:
        await Location.filter(id__in=[fresh.location_id, other.id]).delete()


PEOPLE = """query($after: String) {
  customers(first: 200, after: $after) {
    edges { node { firstName lastName email } }
    pageInfo { endCursor }
  }
}"""


async def test_the_demo_people_have_surnames_that_agree_and_plain_e_mail_addresses(
    demo: DemoLocation, http: httpx.AsyncClient
) -> None:
    admin = Api(http, demo.api_key, str(demo.location_id))

    first = (await admin.data(PEOPLE))["customers"]
    rest = (await admin.data(PEOPLE, {"after": first["pageInfo"]["endCursor"]}))["customers"]
    people = [e["node"] for e in first["edges"] + rest["edges"]]

    women = [p for p in people if p["firstName"].endswith("a")]
    men = [p for p in people if not p["firstName"].endswith("a")]
    assert len(women) + len(men) == DEMO_CUSTOMERS
    assert {p["lastName"][-3:] for p in women} - {"wak", "cik"} == {"ska"}
    assert {p["lastName"][-3:] for p in men} - {"wak", "cik"} == {"ski"}
    assert {"Agnieszka Zielińska", "Piotr Wiśniewski"} <= {
        f"{p['firstName']} {p['lastName']}" for p in people
    }
    assert all(p["email"].isascii() for p in people)
    assert "agnieszka.zielinska." in " ".join(p["email"] for p in people)


PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = """{
  customerGroups { name connections { channel status detail } }
  gopos: integration(channel: GOPOS) { unmatchedReferences }
  goorder: integration(channel: GOORDER) { unmatchedReferences }
}"""


def _post(url: str, key: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        url, json={"query": query}, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_gocrm_demo_synchronizes_with_its_own_simulators_out_of_the_box(tmp_path: Path) -> None:
    # given `gocrm demo` started in an empty folder
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GOCRM_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines: list[str] = []
        while not any("ADMIN key:" in line for line in lines):
            line = server.stdout.readline()
            assert line, f"the demo stopped before printing its key: {lines}"
            lines.append(line)
        key = next(line for line in lines if "ADMIN key:" in line).split()[2]
        assert "  Database: gocrm.sqlite3 in this folder (the default DATABASE_URL)\n" in lines
        url = f"http://127.0.0.1:{port}/graphql"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the demo server did not start"
                time.sleep(0.1)

        # when both channels are synchronised
        runs = [
            _post(url, key, f"mutation {{ synchronize(channel: {c}) {{ syncRun {{ id }} }} }}")
            for c in ("GOPOS", "GOORDER")
        ]
        for run in runs:
            run_id = run["synchronize"]["syncRun"]["id"]
            while True:
                found = _post(url, key, f'{{ syncRun(id: "{run_id}") {{ status error }} }}')
                if found["syncRun"]["status"] in ("SUCCEEDED", "FAILED"):
                    break
                assert time.monotonic() < deadline + 30, "the sync did not finish"
                time.sleep(0.1)
            assert found["syncRun"] == {"status": "SUCCEEDED", "error": None}
        shown = _post(url, key, CONNECTIONS)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()

    # then every connection status the demo data was made for is there
    statuses = {
        (g["name"], c["channel"]): c["status"]
        for g in shown["customerGroups"]
        for c in g["connections"]
    }
    assert statuses == {
        ("Pracownicy", "GOPOS"): "NOT_FOUND",
        ("Pracownicy", "GOORDER"): "NOT_FOUND",
        ("Stały klient", "GOPOS"): "LINKED",
        ("Stały klient", "GOORDER"): "LINKED",
        ("VIP", "GOPOS"): "AMBIGUOUS",
        ("VIP", "GOORDER"): "NOT_FOUND",
    }
    (vip,) = [g for g in shown["customerGroups"] if g["name"] == "VIP"]
    details = {c["channel"]: c["detail"] for c in vip["connections"]}
    assert "21" in details["GOPOS"]
    assert "22" in details["GOPOS"]
    # the demo's location sells in PLN: its messages are Polish
    assert "nieaktywna" in details["GOORDER"]
    assert shown["gopos"]["unmatchedReferences"] == ["studenci"]
    assert shown["goorder"]["unmatchedReferences"] == ["studenci"]
