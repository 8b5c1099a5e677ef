"""Reads a GoOrder store's promotions.

GoOrder says how many pages a list has: page 1 is read first, then the remaining pages
concurrently (within the in-flight cap of the store's base URL).
"""

from __future__ import annotations

from adapters.errors import MalformedResponse, UpstreamError
from adapters.goorder import schemas
from adapters.http import UpstreamClients, UpstreamSession, gather_in_order
from domain.upstream import (
    Channel,
    GoorderCredentials,
    GoorderSnapshot,
    PromotionRecord,
    too_many_objects,
)

UPSTREAM = Channel.GOORDER.upstream_name
# More pages than this (a million promotions) is taken for a broken answer, not a list to read.
MAX_PAGES = 10_000


async def fetch_goorder(
    clients: UpstreamClients,
    credentials: GoorderCredentials,
    *,
    deadline: float,
    max_objects: int | None = None,
) -> GoorderSnapshot:
    """Every promotion of one GoOrder store, within `deadline` seconds; a store whose first
    page counts more than `max_objects` promotions is refused (`UpstreamError`) there.

    Raises `UpstreamUnavailable`, `CredentialsRejected`, `MalformedResponse` or `UpstreamError`.
    """
    session = clients.session(
        UPSTREAM, credentials.base_url, deadline=deadline, secrets=(credentials.api_key,)
    )
    promotions = await session.within_deadline(_read_all(session, credentials, max_objects))
    return GoorderSnapshot(promotions=tuple(promotions))


async def _read_all(
    session: UpstreamSession, credentials: GoorderCredentials, max_objects: int | None = None
) -> list[PromotionRecord]:
    path = schemas.promotions_path(credentials.store_id)
    headers = schemas.api_key_header(credentials.api_key)

    async def page(number: int) -> schemas.PromotionsPage:
        params = schemas.page_params(number)
        return await session.get_json(
            path,
            schemas.parse_promotions_page,
            params=params,
            headers=headers,
            typed=schemas.decode_promotions_page,
        )

    first = await page(schemas.FIRST_PAGE)
    if max_objects is not None and first.total > max_objects:
        notice = too_many_objects(Channel.GOORDER, first.total, max_objects, read_so_far=False)
        raise UpstreamError(UPSTREAM, f"{UPSTREAM} has too many promotions", notice=notice)
    if first.pages > MAX_PAGES:
        message = (
            f"{UPSTREAM} sent a malformed response: pages: expected at most {MAX_PAGES} "
            f"(GET {path})"
        )
        raise MalformedResponse(UPSTREAM, message, field="pages")
    rest = await gather_in_order(page(n) for n in range(schemas.FIRST_PAGE + 1, first.pages + 1))
    records: dict[str, PromotionRecord] = {}
    for each in (first, *rest):
        for promotion in each.promotions:
            records.setdefault(promotion.external_id, promotion)
    return list(records.values())
