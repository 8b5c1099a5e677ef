"""Reads a GoPOS organisation's customer groups and discounts.

Both lists are read concurrently. GoPOS does not say how many pages a list has, so pages are
read ahead in a sliding window (`HttpConfig.read_ahead_pages` requests at a time, within the
in-flight cap) until the first short page; pages requested past it are cancelled or ignored.
The organisation token is shared by every sync of the process, renewed shortly before it
expires, and renewed once more when GoPOS answers 401.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Protocol, TypeVar

from adapters.errors import CredentialsRejected, UpstreamError
from adapters.gopos import schemas
from adapters.http import UpstreamClients, UpstreamSession, both
from domain.upstream import (
    Channel,
    GoposCredentials,
    GoposSnapshot,
    PosDiscountRecord,
    PosGroupRecord,
    too_many_objects,
)

T = TypeVar("T")

UPSTREAM = Channel.GOPOS.upstream_name
# A list that never ends with a short page is refused past this many pages (a million objects).
MAX_PAGES = 10_000


class _Identified(Protocol):
    @property
    def external_id(self) -> str: ...


R = TypeVar("R", bound=_Identified)


async def fetch_gopos(
    clients: UpstreamClients,
    credentials: GoposCredentials,
    *,
    deadline: float,
    max_objects: int | None = None,
    on_groups: Callable[[Sequence[PosGroupRecord]], object] | None = None,
    on_discounts: Callable[[Sequence[PosDiscountRecord]], object] | None = None,
) -> GoposSnapshot:
    """Everything the gateway mirrors from one GoPOS organisation, within `deadline` seconds;
    reading stops (`UpstreamError`) once groups and discounts together pass `max_objects`.
    `on_groups` and `on_discounts` see each page's records as it arrives (those of an id not
    read before), while the next pages are still on their way: the caller's work on them
    overlaps the network's.

    Raises `UpstreamUnavailable`, `CredentialsRejected`, `MalformedResponse` or `UpstreamError`.
    """
    session = clients.session(
        UPSTREAM, credentials.base_url, deadline=deadline, secrets=(credentials.client_secret,)
    )
    reader = _GoposReader(clients, session, credentials, max_objects)
    groups, discounts = await session.within_deadline(
        both(
            reader.read_all(
                schemas.groups_path(credentials.organization_id),
                schemas.parse_groups_page,
                schemas.decode_groups_page,
                on_groups,
            ),
            reader.read_all(
                schemas.discounts_path(credentials.organization_id),
                schemas.parse_discounts_page,
                schemas.decode_discounts_page,
                on_discounts,
            ),
        )
    )
    return GoposSnapshot(groups=tuple(groups), discounts=tuple(discounts))


def _token_key(credentials: GoposCredentials) -> Hashable:
    secret_hash = hashlib.sha256(credentials.client_secret.encode()).hexdigest()
    return (
        credentials.base_url.rstrip("/"),
        credentials.client_id,
        credentials.organization_id,
        secret_hash,
    )


class _GoposReader:
    def __init__(
        self,
        clients: UpstreamClients,
        session: UpstreamSession,
        credentials: GoposCredentials,
        max_objects: int | None = None,
    ) -> None:
        self._max_objects = max_objects
        self._read = 0  # objects of both lists read so far
        self._clients = clients
        self._session = session
        self._credentials = credentials
        self._token_key = _token_key(credentials)
        self._window = clients.config.read_ahead_pages
        self._renewed: set[str] = set()  # tokens this fetch got in place of a refused one
        self._token_failure: UpstreamError | None = None

    async def read_all(
        self,
        path: str,
        parse: Callable[[object], list[R]],
        typed: Callable[[bytes], list[R]],
        on_page: Callable[[Sequence[R]], object] | None,
    ) -> list[R]:
        """Every object of a paged list, in order, each id once; `on_page` sees each page's
        new records as it arrives."""
        pending: deque[asyncio.Task[list[R]]] = deque()
        next_page = 0

        def request_next() -> None:
            nonlocal next_page
            pending.append(
                asyncio.ensure_future(self._get(path, schemas.page_params(next_page), parse, typed))
            )
            next_page += 1

        records: dict[str, R] = {}
        try:
            for _ in range(self._window):
                request_next()
            while True:
                page = await pending.popleft()
                fresh = [r for r in page if records.setdefault(r.external_id, r) is r]
                self._read += len(fresh)
                if on_page is not None and fresh:
                    on_page(fresh)
                if len(page) < schemas.PAGE_SIZE:
                    return list(records.values())
                if self._max_objects is not None and self._read > self._max_objects:
                    notice = too_many_objects(
                        Channel.GOPOS, self._read, self._max_objects, read_so_far=True
                    )
                    message = f"{UPSTREAM} has too many groups and discounts"
                    raise UpstreamError(UPSTREAM, message, notice=notice)
                if next_page >= MAX_PAGES:
                    message = f"{UPSTREAM} kept sending full pages of {path} past page {MAX_PAGES}"
                    raise UpstreamError(UPSTREAM, message)
                request_next()
        finally:
            await _discard(pending)

    async def _get(
        self,
        path: str,
        params: dict[str, str | int],
        parse: Callable[[object], T],
        typed: Callable[[bytes], T],
    ) -> T:
        token = await self._token()
        try:
            return await self._session.get_json(
                path, parse, params=params, headers=schemas.bearer(token), typed=typed
            )
        except CredentialsRejected as exc:
            if exc.status != 401 or token in self._renewed:
                raise
        token = await self._token(stale=token)
        self._renewed.add(token)
        return await self._session.get_json(
            path, parse, params=params, headers=schemas.bearer(token), typed=typed
        )

    async def _token(self, stale: str | None = None) -> str:
        if self._token_failure is not None:  # one refused token request answers the whole fetch
            raise self._token_failure
        try:
            token = await self._clients.tokens.get(self._token_key, self._issue_token, stale=stale)
        except UpstreamError as exc:
            self._token_failure = exc
            raise
        self._session.hide(token)
        return token

    async def _issue_token(self) -> tuple[str, float]:
        credentials = self._credentials
        form = schemas.token_form(
            credentials.client_id, credentials.client_secret, credentials.organization_id
        )
        token, lifetime = await self._session.post_form_json(
            schemas.TOKEN_PATH, schemas.parse_token, data=form, rejected=(400, 401, 403)
        )
        self._session.hide(token)
        return token, lifetime


async def _discard(tasks: deque[asyncio.Task[list[R]]]) -> None:
    """Cancel pages read ahead past the end (or past a failure) and drop their outcome."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: a failure past the end does not matter
