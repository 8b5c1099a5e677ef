"""The customers a credit reaches: a list, a filter or every live customer of the location,
read as a count and as ids in id order, a chunk at a time.

Wallet operations (`models.operations`) and schedules (`models.schedules`) apply a credit in
chunks: each chunk is one keyset page of ids (`id > last ORDER BY id LIMIT size`), so every
page costs the same however far the job got. That page is the hot statement here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from uuid import UUID

from domain.credits import CustomerSelection
from models.queries import CustomerQuery, customers_matching

Pages = Callable[[UUID | None], CustomerQuery]


def selected(
    location_id: UUID, selection: CustomerSelection | None, after: UUID | None = None
) -> CustomerQuery:
    """The location's live customers matching a selection (every one for None), with ids above
    `after` when given."""
    if selection is None:
        return customers_matching(location_id, after=after)
    return customers_matching(
        location_id,
        ids=_known(selection.ids),
        group_ids=_known(selection.group_ids),
        search=selection.search,
        has_credits=selection.has_credits,
        after=after,
    )


def _known(ids: Sequence[UUID | None] | None) -> list[UUID] | None:
    """The well-formed ids of a selection (None stands for a malformed one)."""
    return None if ids is None else [i for i in ids if i is not None]


async def id_chunks(page: Pages, size: int, after: UUID | None = None) -> AsyncIterator[list[UUID]]:
    """The ids of a customer query in id order (those above `after`, when given), `size` at a
    time; `page(after)` gives the query for the ids above `after`."""
    last = after
    while True:
        found = await page(last).order_by("id").limit(size).values_list("id", flat=True)
        chunk = [UUID(str(c)) for c in found]
        if not chunk:
            return
        yield chunk
        last = chunk[-1]
