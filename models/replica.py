"""Reads from a read-only replica, for the back office only.

When `DatabaseConfig.replica_url` names a streaming replica of the database, the ORM's reads
(the back office's lists: customers, groups, operations, sales, webhooks, keys) go to it, so
that a manager's screens and exports take nothing from the primary that the tills use. Which
requests may read from it is the caller's to say, request by request (`replica_reads`): the
gateway says so for an ADMIN key's queries, never for a till's request, a mutation or a job.

Within such a request, a read goes to the primary:
- inside a transaction (a transaction's reads are the primary's, by definition);
- once the request has written anything (`wrote`): a read after a write answers what was
  written, which the replica may not have replayed yet.

Hand-written statements (`models.sql.fetch(sql.pool(), …)`) always run on the primary: the
reports, the ledger's and the till's reads among them. A replica is PostgreSQL's only.

Tortoise asks `ReplicaRouter` (registered in the configuration as a router) for the connection
of every ORM query that names none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

REPLICA = "replica"


@dataclass
class _Scope:
    """One request's leave to read from the replica; shared by the tasks the request runs (its
    resolvers), so that a write in one sends every later read to the primary."""

    wrote: bool = False


_scope: ContextVar[_Scope | None] = ContextVar("gocrm_replica_scope", default=None)
_primary: list[BaseDBAsyncClient] = []  # the primary's pool, as opened (not a transaction)


def opened(primary: BaseDBAsyncClient) -> None:
    """Record the primary's pool (`models.db.open_database`)."""
    _primary[:] = [primary]


@contextmanager
def replica_reads() -> Iterator[None]:
    """Within it, the ORM's reads may come from the replica (see the module)."""
    token = _scope.set(_Scope())
    try:
        yield
    finally:
        _scope.reset(token)


def wrote() -> None:
    """The request is writing: its later reads come from the primary."""
    scope = _scope.get()
    if scope is not None:
        scope.wrote = True


def reading_from_replica() -> bool:
    """Whether a read made now may come from the replica."""
    scope = _scope.get()
    if scope is None or scope.wrote or not _primary:
        return False
    # In a transaction Tortoise hands out the transaction's connection under the name "default".
    return connections.get("default") is _primary[0]


class ReplicaRouter:
    """Tortoise's router: the replica for the reads `reading_from_replica` allows."""

    def db_for_read(self, model: type) -> str | None:
        return REPLICA if reading_from_replica() else None

    def db_for_write(self, model: type) -> str | None:
        wrote()
        return None
