from collections.abc import AsyncIterator

import httpx
import pytest

from domain.access import Role
from models.entities import Location
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
