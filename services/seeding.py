"""Bulk rows for the benchmarks and the soak, written as the product writes them.

A benchmark starts the product as a user's process does: through the composition root
(`gateway.runtime`) and the services. What a user could only reach slowly (a location with
100,000 customers, a schedule that has not ticked for months, a mirror as a sync left it) is
seeded here in bulk, so that no benchmark imports `models` and the seeding stays as fast as the
figures need. Every row is written by the repository of its aggregate, as the product writes
it: customers, groups, schedules, the mirror and its sync runs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID

from domain.contacts import fold
from domain.credit_jobs import CreditRecord, NewSchedule
from domain.customer_checks import CheckedCard, CustomerWrite
from domain.ledger import CreditOperation
from domain.requests import CustomerGroupInput
from domain.schedule import RecurrenceUnit
from domain.sync import MirrorDiscount, MirrorPosGroup
from domain.upstream import Channel
from models import customers as customer_repository
from models import groups as group_repository
from models import mirror
from models import schedules as schedule_repository
from models import sync_runs as sync_run_repository
from models.db import transaction
from models.ids import new_id
from services.groups import create_group

__all__ = [
    "empty_pos_mirror",
    "new_id",
    "overdue_schedule",
    "seed_customers",
    "seed_people",
    "synced_pos_mirror",
]

SEED_BATCH = 5_000


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Common Polish first names and surnames (a surname in -ski, -cki or -dzki ends in -a for a
# woman), each equally likely: a crowd less varied than a real one, so a term matches more.
_WOMEN = _words(
    "Anna Maria Katarzyna Małgorzata Agnieszka Barbara Ewa Krystyna Elżbieta Zofia Teresa "
    "Magdalena Joanna Janina Monika Danuta Jadwiga Aleksandra Halina Irena Beata Marta "
    "Dorota Karolina Jolanta Iwona Natalia Grażyna Justyna Renata "
)
_MEN = _words(
    "Piotr Krzysztof Andrzej Tomasz Paweł Jan Michał Marcin Stanisław Jakub Adam Marek "
    "Łukasz Grzegorz Mateusz Wojciech Mariusz Dariusz Zbigniew Jerzy Maciej Rafał Józef "
    "Robert Kamil Dawid Szymon Bartosz Kacper Ryszard "
)
_SURNAMES = _words(
    "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański "
    "Woźniak Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Krawczyk Piotrowski Grabowski "
    "Nowakowski Pawłowski Michalski Nowicki Adamczyk Dudek Zając Wieczorek Jabłoński Król "
    "Majewski Olszewski Jaworski Wróbel Malinowski Pawlak Witkowski Walczak Stępień Górski "
    "Rutkowski Michalak Sikora Ostrowski Baran Duda Szewczyk Tomaszewski Pietrzak Marciniak "
    "Wróblewski Zalewski Jakubowski Jasiński Zawadzki Sadowski Bąk Chmielewski Włodarczyk "
    "Borkowski Czarnecki Sawicki Sokołowski Urbański Kubiak Maciejewski Szczepański "
    "Kucharski Wilk Kalinowski Lis Mazurek Wysocki Adamski Kaźmierczak Wasilewski Sobczak "
    "Czerwiński Andrzejewski Cieślak Głowacki Zakrzewski Kołodziej Sikorski Krajewski "
    "Gajewski Szymczak Szulc Baranowski Laskowski Brzeziński Makowski Ziółkowski Przybylski "
)


async def seed_customers(location_id: UUID, count: int) -> None:
    """`count` customers named C0, C1, ... written by the customers repository, SEED_BATCH rows
    a statement."""
    for start in range(0, count, SEED_BATCH):
        writes = [
            CustomerWrite(contact={"first_name": f"C{i}"})
            for i in range(start, min(count, start + SEED_BATCH))
        ]
        async with transaction() as db:
            await customer_repository.create_many(db, location_id, writes)


def _person(n: int, rng: random.Random) -> CustomerWrite:
    """The n-th of a crowd of Polish customers: a name, an ASCII e-mail address, a mobile
    number in E.164 and a card."""
    woman = rng.random() < 0.5
    first = rng.choice(_WOMEN if woman else _MEN)
    last = rng.choice(_SURNAMES)
    if woman and last.endswith("ki"):
        last = last[:-1] + "a"
    email = f"{fold(first)}.{fold(last)}.{n}@example.com"
    phone = f"+48{rng.choice('5678')}{rng.randrange(10**8):08d}"
    contact = {"first_name": first, "last_name": last, "email": email, "phone": phone}
    return CustomerWrite(contact, cards=(CheckedCard(f"K{n:07d}", None, None),))


async def seed_people(location_id: UUID, count: int, seed: int = 2026) -> None:
    """`count` customers with Polish names, e-mail addresses, phones and cards (the same ones
    for the same `seed`), written by the customers repository as the API writes them (search
    text and name key included), SEED_BATCH rows a statement."""
    rng = random.Random(seed)
    for start in range(0, count, SEED_BATCH):
        writes = [_person(n, rng) for n in range(start, min(count, start + SEED_BATCH))]
        async with transaction() as db:
            await customer_repository.create_many(db, location_id, writes)


async def overdue_schedule(location_id: UUID, members: int, periods: int) -> UUID:
    """A daily ADD 0.01 to a new group of `members` of the location's customers, created
    `periods` days ago and never ticked since: `periods` periods are due."""
    group = await create_group(location_id, CustomerGroupInput(name="Bench", reference="bench"))
    everyone = partial(customer_repository.filtered_customers, location_id, None)
    ids: list[UUID] = await anext(customer_repository.id_chunks(everyone, members), [])
    async with transaction() as db:
        await group_repository.add_members(db, group.id, ids)
    start = (datetime.now(UTC) - timedelta(days=periods - 1)).date()
    # Created with its start date, then nothing ticked until now.
    created = datetime.combine(start, datetime.min.time(), UTC) - timedelta(days=1)
    record = CreditRecord(location_id, CreditOperation.ADD.value, 1, None, None, None, "")
    every_day = NewSchedule(
        every=1,
        unit=RecurrenceUnit.DAY.value,
        start_date=start,
        end_date=None,
        target="GROUPS",
        customer_ids=(),
        group_ids=(str(group.id),),
        created_at=created,
    )
    async with transaction() as db:
        schedule = await schedule_repository.create(db, record, every_day)
    return schedule.id


async def synced_pos_mirror(
    location_id: UUID,
    discounts: Sequence[MirrorDiscount],
    groups: Sequence[MirrorPosGroup],
    now: datetime,
) -> None:
    """The GoPOS mirror as a successful sync at `now` leaves it: these discounts and groups,
    and the succeeded run that makes the channel count as synced."""
    await mirror.upsert_pos_discounts(location_id, discounts, now)
    await mirror.upsert_pos_groups(location_id, groups, now)
    await sync_run_repository.record_succeeded(location_id, Channel.GOPOS, now)


async def empty_pos_mirror(location_id: UUID) -> None:
    """Forget the location's GoPOS groups and discounts, as before its first sync."""
    await mirror.clear(mirror.MirrorTable.POS_GROUPS, location_id)
    await mirror.clear(mirror.MirrorTable.POS_DISCOUNTS, location_id)
