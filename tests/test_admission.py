"""Back-office requests wait their turn per location (`gateway.admission`); tills never do."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from domain.access import Principal, Role
from gateway.admission import BackOfficeTurns
from settings import load_settings

A, B = uuid4(), uuid4()


def principal(location: UUID, role: Role) -> Principal:
    return Principal(location, uuid4(), "key", role)


async def test_one_locations_back_office_runs_its_turns_while_others_go_ahead() -> None:
    # given one turn per location, and B's back office holding it
    turns = BackOfficeTurns(1)
    release = asyncio.Event()
    ran: list[str] = []

    async def request(name: str, who: Principal, hold: bool = False) -> None:
        async with turns.turn(who):
            ran.append(name)
            if hold:
                await release.wait()

    first = asyncio.create_task(request("B admin 1", principal(B, Role.ADMIN), hold=True))
    await asyncio.sleep(0)

    # when B's back office sends another request, and B's till and A's back office send theirs
    second = asyncio.create_task(request("B admin 2", principal(B, Role.ADMIN)))
    await asyncio.wait_for(request("B till", principal(B, Role.POS)), 1)
    await asyncio.wait_for(request("A admin", principal(A, Role.ADMIN)), 1)
    waiting = turns.waiting_or_running(B)
    release.set()
    await asyncio.gather(first, second)

    # then B's second back-office request waited for the first; the others did not wait
    assert ran == ["B admin 1", "B till", "A admin", "B admin 2"]
    assert waiting == 2
    assert (turns.waiting_or_running(A), turns.waiting_or_running(B)) == (0, 0)


async def test_no_limit_when_turned_off() -> None:
    turns = BackOfficeTurns(0)
    inside = 0
    most = 0

    async def request() -> None:
        nonlocal inside, most
        async with turns.turn(principal(B, Role.ADMIN)):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(request() for _ in range(5)))

    assert most == 5


def test_the_setting_defaults_to_two_and_zero_turns_it_off() -> None:
    assert load_settings({}).backoffice_concurrency == 2
    assert load_settings({"GOCRM_BACKOFFICE_CONCURRENCY": "0"}).backoffice_concurrency == 0
    with pytest.raises(ValueError, match="GOCRM_BACKOFFICE_CONCURRENCY must not be negative"):
        load_settings({"GOCRM_BACKOFFICE_CONCURRENCY": "-1"})
