"""Back-office requests wait their turn per location, so that one location cannot take a
gateway process from another location's tills.

A process runs one location's ADMIN requests at most `per_location` at a time; the others wait
here (within the request's timeout) without using the process. Till requests (POS keys) never
wait here. A back office that sends many heavy reads at once then competes with the tills of
every location for the process's time through a few requests, not all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from domain.access import Principal


class BackOfficeTurns:
    def __init__(self, per_location: int) -> None:
        self.per_location = per_location
        # Per location with a request running or waiting: its semaphore and how many hold or
        # wait for it (so that an idle location's entry goes, and the map stays small).
        self._turns: dict[UUID, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def turn(self, principal: Principal) -> AsyncIterator[None]:
        """Run the block once it is this request's turn (at once for a till)."""
        if not principal.is_admin or self.per_location <= 0:
            yield
            return
        location_id = principal.location_id
        semaphore, users = self._turns.get(location_id, (None, 0))
        if semaphore is None:
            semaphore = asyncio.Semaphore(self.per_location)
        self._turns[location_id] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._turns[location_id]
            if users <= 1:
                del self._turns[location_id]
            else:
                self._turns[location_id] = (semaphore, users - 1)

    def waiting_or_running(self, location_id: UUID) -> int:
        return self._turns.get(location_id, (None, 0))[1]
