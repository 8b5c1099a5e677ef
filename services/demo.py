"""Demo data: a location with the help-centre's groups and a few hundred customers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from uuid import UUID

from domain.access import Role
from domain.inputs import CustomerGroupInput
from models.db import transaction
from models.entities import Card, Customer, GroupMembership, Location
from services import access, groups

DEMO_LOCATION = "GoCRM demo"
DEMO_CUSTOMERS = 300
DEMO_GROUPS = ("Stały klient", "VIP", "Pracownicy")
FIRST_NAMES = ("Anna", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Paweł", "Agnieszka", "Michał")
LAST_NAMES = ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński")


@dataclass(frozen=True)
class DemoLocation:
    location_id: UUID
    location_name: str
    api_key: str


async def seed_demo() -> DemoLocation:
    """Seed the demo location once; every call returns a fresh ADMIN key for it."""
    existing = await Location.filter(name=DEMO_LOCATION).order_by("created_at").first()
    if existing is None:
        location, secret = await access.create_location(DEMO_LOCATION)
        await _seed(location.id)
        return DemoLocation(location.id, location.name, secret)
    _, secret = await access.create_api_key(existing.id, "demo admin", Role.ADMIN)
    return DemoLocation(existing.id, existing.name, secret)


async def _seed(location_id: UUID) -> None:
    group_ids = [
        (await groups.create_group(location_id, CustomerGroupInput(name=name))).id
        for name in DEMO_GROUPS
    ]
    rng = random.Random(2026)
    customers, cards, memberships = [], [], []
    for n in range(1, DEMO_CUSTOMERS + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        customer = Customer(
            location_id=location_id,
            first_name=first,
            last_name=last,
            email=f"{first}.{last}.{n}@example.com".lower(),
            phone=f"+48 600 {n:03d} {rng.randrange(1000):03d}",
        )
        customers.append(customer)
        cards.append(Card(location_id=location_id, customer_id=customer.id, code=f"DEMO{n:04d}"))
        if n % 2 == 0:
            memberships.append(GroupMembership(group_id=group_ids[0], customer_id=customer.id))
        if n % 10 == 0:
            memberships.append(GroupMembership(group_id=group_ids[1], customer_id=customer.id))
        if n % 25 == 0:
            memberships.append(GroupMembership(group_id=group_ids[2], customer_id=customer.id))
    async with transaction():
        await Customer.bulk_create(customers)
        await Card.bulk_create(cards)
        await GroupMembership.bulk_create(memberships)
