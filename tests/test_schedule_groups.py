"""Deleting a group and the schedules that credit it, against the in-memory stores: a schedule
of that group only ends after the last period it applied (its queued periods skipped, no tick or
resume brings it back); one of other groups too carries on without it. The GraphQL side
(`CustomerGroup.schedules`, the delete) is tested at the end, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.access import Principal, Role
from domain.errors import DomainError
from domain.requests import CreditRequest, CustomerFilter, ScheduleUpdate, Target
from domain.schedule import Recurrence, RecurrenceUnit
from services import groups, schedule_edits, schedules
from tests.builders import DELETE_GROUP, FAR_FUTURE, monthly_schedule
from tests.english import en
from tests.helpers import Api, Clock, create_group
from tests.memory import Memory, memory_runtime

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def _daily_for(group_ids: list[UUID], start: date) -> CreditRequest:
    target = Target(filter=CustomerFilter(group_ids=tuple(str(g) for g in group_ids)))
    recurrence = Recurrence(1, RecurrenceUnit.DAY, start)
    return CreditRequest(target, "ADD", Decimal("1"), recurrence=recurrence)


async def test_deleting_a_group_ends_its_schedules_and_trims_the_shared_ones() -> None:
    # given two groups, a schedule of each, one of both, and one to start next week
    memory, clock = Memory(), Clock(NOW)
    runtime, dispatcher = memory_runtime(memory, clock)
    location_id = memory.add_location("UTC")
    principal = Principal(location_id, uuid4(), "office", Role.ADMIN, timezone="UTC")
    ids = memory.add_customers(location_id, 2)
    vip, regular = memory.add_group(location_id, ids[:1]), memory.add_group(location_id, ids)
    today = NOW.date()
    only_vip = await schedules.create_schedule(runtime, principal, _daily_for([vip], today))
    both = await schedules.create_schedule(runtime, principal, _daily_for([vip, regular], today))
    only_regular = await schedules.create_schedule(runtime, principal, _daily_for([regular], today))
    later = await schedules.create_schedule(
        runtime, principal, _daily_for([vip], today + timedelta(days=7))
    )
    for _, (schedule_id, period) in dispatcher.queued:
        await schedules.run_period(runtime, UUID(schedule_id), int(period))
    dispatcher.queued.clear()
    # the next day's periods are recorded, not yet run
    clock.now += timedelta(days=1)
    await schedules.queue_due_runs(runtime)
    listed = await schedules.active_by_group(runtime.stores, location_id, [vip, regular])
    assert {s.id for s in listed[vip]} == {only_vip.id, both.id, later.id}
    assert {s.id for s in listed[regular]} == {both.id, only_regular.id}

    # when VIP is deleted
    await groups.delete_group(location_id, str(vip), runtime.stores)

    # then the schedules of VIP only end after the period they applied, or before they start
    rows = memory.t.schedules
    assert (rows[only_vip.id].end_date, rows[only_vip.id].next_run_on) == (today, None)
    assert (rows[later.id].end_date, rows[later.id].next_run_on) == (
        today + timedelta(days=6),
        None,
    )
    assert memory.t.runs[(only_vip.id, 1)].status == "SKIPPED"
    # the shared one carries on for Regular; Regular's own is untouched
    assert rows[both.id].group_ids == [str(regular)]
    assert (rows[both.id].end_date, rows[both.id].next_run_on) == (
        None,
        today + timedelta(days=1),
    )
    assert rows[only_regular.id].group_ids == [str(regular)]
    assert memory.t.runs[(both.id, 1)].status == "QUEUED"
    listed = await schedules.active_by_group(runtime.stores, location_id, [vip, regular])
    assert listed[vip] == []
    assert {(s.id, s.group_ids) for s in listed[regular]} == {
        (both.id, (regular,)),
        (only_regular.id, (regular,)),
    }
    # and neither a tick a week later nor a pause and resume brings an ended one back
    clock.now += timedelta(days=7)
    await schedules.queue_due_runs(runtime)
    await schedules.pause_schedule(runtime, location_id, str(only_vip.id))
    resumed = await schedules.resume_schedule(runtime, location_id, str(only_vip.id))
    assert resumed.next_run_on is None
    # nor an edit of its end date
    with pytest.raises(DomainError) as ended:
        await schedule_edits.update_schedule(
            runtime, principal, str(only_vip.id), ScheduleUpdate(end_date=None)
        )
    assert [(e.field, en(e.message)) for e in ended.value.errors] == [
        ("input.endDate", "The schedule ended when its groups were deleted.")
    ]
    assert sorted(p for (s, p) in memory.t.runs if s == only_vip.id) == [0, 1]
    assert not any(s == later.id for (s, _) in memory.t.runs)


GROUP_SCHEDULES = """
query { customerGroups { reference schedules { id groupIds nextRunOn } } }"""

SCHEDULE_ENDS = """
query { creditSchedules { id groupIds endDate nextRunOn } }"""


async def test_a_group_names_its_schedules_and_deleting_it_ends_them(api: Api) -> None:
    # given VIP with a schedule of its own and one shared with Regular
    vip, regular = await create_group(api, "VIP"), await create_group(api, "Regular")
    own = await monthly_schedule(api, [vip["id"]], "10.00")
    shared = await monthly_schedule(api, [vip["id"], regular["id"]], "5.00")
    start = date.fromisoformat(FAR_FUTURE)

    # when the groups are listed, VIP is deleted, and the schedules are listed
    before = (await api.data(GROUP_SCHEDULES))["customerGroups"]
    deleted = await api.mutate(DELETE_GROUP, {"id": vip["id"]})
    after = (await api.data(GROUP_SCHEDULES))["customerGroups"]
    listed = {s["id"]: s for s in (await api.data(SCHEDULE_ENDS))["creditSchedules"]}

    # then each group named the schedules that credit it
    both = [vip["id"], regular["id"]]
    assert sorted(before, key=lambda g: g["reference"], reverse=True) == [
        {
            "reference": "vip",
            "schedules": [
                {"id": own["id"], "groupIds": [vip["id"]], "nextRunOn": FAR_FUTURE},
                {"id": shared["id"], "groupIds": both, "nextRunOn": FAR_FUTURE},
            ],
        },
        {
            "reference": "regular",
            "schedules": [{"id": shared["id"], "groupIds": both, "nextRunOn": FAR_FUTURE}],
        },
    ]
    assert deleted["errors"] == []
    # VIP's own schedule ended before its start; the shared one carries on for Regular
    assert listed[own["id"]] == {
        "id": own["id"],
        "groupIds": [],
        "endDate": (start - timedelta(days=1)).isoformat(),
        "nextRunOn": None,
    }
    assert listed[shared["id"]] == {
        "id": shared["id"],
        "groupIds": [regular["id"]],
        "endDate": None,
        "nextRunOn": FAR_FUTURE,
    }
    assert after == [
        {
            "reference": "regular",
            "schedules": [
                {"id": shared["id"], "groupIds": [regular["id"]], "nextRunOn": FAR_FUTURE}
            ],
        }
    ]
