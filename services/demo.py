"""Demo data: a location with the help-centre's groups, a few hundred customers, promotional
credits given to a group and to one customer, and a monthly top-up for the VIP group."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from slugify import slugify

from domain.access import Role
from domain.customer_checks import CheckedCard, CustomerWrite
from domain.integrations import IntegrationRequest
from domain.ledger import EntrySource
from domain.requests import CreditRequest, CustomerFilter, CustomerGroupInput, Target
from domain.schedule import Recurrence, RecurrenceUnit
from domain.upstream import Channel
from models import customers as customer_repository
from models import locations as location_repository
from models import operations as operation_repository
from models.db import transaction
from services import access, groups, integrations, schedules, wallet
from services.runtime import Runtime

DEMO_LOCATION = "GoCRM demo"
# What the demo's simulators serve: a GoPOS group and a GoOrder promotion linked to "Stały
# klient", two GoPOS groups with the reference "vip" (ambiguous), an inactive "vip" promotion,
# nothing for "Pracownicy", and "studenci" upstream with no CRM group.
DEMO_FIXTURES = {"gopos": "demo_gopos.json", "goorder": "demo_goorder.json"}
DEMO_CUSTOMERS = 300
DEMO_GROUPS = ("Stały klient", "VIP", "Pracownicy")
# The first run's key comes with the location ("admin"); later runs issue DEMO_KEY_NAME.
DEMO_KEY_NAME = "demo admin"
DEMO_KEY_NAMES = ("admin", DEMO_KEY_NAME)
FIRST_NAMES = ("Anna", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Paweł", "Agnieszka", "Michał")
LAST_NAMES = ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński")


def surname_for(first_name: str, surname: str) -> str:
    """The surname as it agrees with a Polish first name: Agnieszka Zielińska, Piotr Zieliński.
    Polish women's first names end in "a"; adjectival surnames (-ski, -cki, -dzki) agree."""
    if first_name.endswith("a") and surname.endswith("ki"):
        return surname[:-1] + "a"
    return surname


def demo_fixture(kind: str) -> dict[str, Any]:
    """The simulator data of `kind` ("gopos" or "goorder") for the demo."""
    data = json.loads((Path(__file__).parent / DEMO_FIXTURES[kind]).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@dataclass(frozen=True)
class DemoLocation:
    location_id: UUID
    location_name: str
    api_key: str
    bulk_operation_id: UUID | None


async def seed_demo(
    runtime: Runtime, upstreams: Mapping[str, str] | None = None, *, fresh: bool = False
) -> DemoLocation:
    """Seed the demo location once; every call returns a fresh ADMIN key for it and revokes
    the ADMIN keys that earlier calls printed, so only the key printed last works. With
    `fresh`, the demo location of earlier calls is deleted first, with all its data (other
    locations are left alone), and seeded again.

    `upstreams` gives the base URLs at which the demo's simulators are served ("gopos",
    "goorder"): both integrations are configured for them on every call, since the port may
    change between runs."""
    if fresh:
        await location_repository.delete_named(DEMO_LOCATION)
    existing = await location_repository.first_named(DEMO_LOCATION)
    if existing is None:
        location, secret = await access.create_location(DEMO_LOCATION)
        group_ids = await _seed(location.id)
        operation_id = await _seed_credits(replace(runtime, dispatcher=_Later()), secret, group_ids)
        if upstreams is not None:
            await _configure_upstreams(runtime, location.id, upstreams)
        return DemoLocation(location.id, location.name, secret, operation_id)
    if upstreams is not None:
        await _configure_upstreams(runtime, existing.id, upstreams)
    async with transaction() as db:
        await location_repository.revoke_named(
            db, existing.id, Role.ADMIN, DEMO_KEY_NAMES, datetime.now(UTC)
        )
        _, secret = await access.create_api_key(existing.id, DEMO_KEY_NAME, Role.ADMIN)
    first_bulk = await operation_repository.first_id(existing.id, EntrySource.BULK)
    return DemoLocation(existing.id, existing.name, secret, first_bulk)


async def _configure_upstreams(
    runtime: Runtime, location_id: UUID, upstreams: Mapping[str, str]
) -> None:
    gopos, goorder = demo_fixture("gopos"), demo_fixture("goorder")
    await integrations.configure_integration(
        runtime,
        location_id,
        Channel.GOPOS,
        IntegrationRequest(
            base_url=upstreams["gopos"],
            client_id=gopos["client_id"],
            client_secret=gopos["client_secret"],
            organization_id=gopos["organization_id"],
        ),
    )
    await integrations.configure_integration(
        runtime,
        location_id,
        Channel.GOORDER,
        IntegrationRequest(
            base_url=upstreams["goorder"], api_key=goorder["api_key"], store_id=goorder["store_id"]
        ),
    )


class _Later:
    """Seeding runs before the server: anything due is picked up by its first tick."""

    async def enqueue(self, function: str, *args: str, job_id: str) -> None:
        return None


async def _seed_credits(runtime: Runtime, secret: str, group_ids: list[UUID]) -> UUID:
    """Credits for the regulars' group (a bulk operation) and a monthly SET for the VIPs."""
    principal = await access.authenticate(secret)
    assert principal is not None
    regulars, vip = CustomerFilter(group_ids=(str(group_ids[0]),)), str(group_ids[1])
    operation = await wallet.apply_once(
        runtime,
        principal,
        CreditRequest(Target(filter=regulars), "ADD", Decimal("20.00"), "Powitalne kredyty"),
    )
    today = date.today()
    next_month = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    await schedules.create_schedule(
        runtime,
        principal,
        CreditRequest(
            Target(filter=CustomerFilter(group_ids=(vip,))),
            "SET",
            Decimal("100.00"),
            "Miesięczne kredyty VIP",
            recurrence=Recurrence(1, RecurrenceUnit.MONTH, next_month),
        ),
    )
    return operation.id


async def _seed(location_id: UUID) -> list[UUID]:
    group_ids = [
        (await groups.create_group(location_id, CustomerGroupInput(name=name))).id
        for name in DEMO_GROUPS
    ]
    rng = random.Random(2026)
    customers = []
    for n in range(1, DEMO_CUSTOMERS + 1):
        first = rng.choice(FIRST_NAMES)
        last = surname_for(first, rng.choice(LAST_NAMES))
        contact = {
            "first_name": first,
            "last_name": last,
            "email": f"{slugify(first)}.{slugify(last)}.{n}@example.com",
            "phone": f"+48600{n:03d}{rng.randrange(1000):03d}",  # E.164, as phones are stored
        }
        joins = [(2, group_ids[0]), (10, group_ids[1]), (25, group_ids[2])]
        customers.append(
            CustomerWrite(
                contact,
                cards=(CheckedCard(f"DEMO{n:04d}", None, None),),
                group_ids=tuple(group for every, group in joins if n % every == 0),
            )
        )
    async with transaction() as db:
        await customer_repository.create_many(db, location_id, customers)
    return group_ids
