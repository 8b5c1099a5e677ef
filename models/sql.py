"""Hand-written SQL: the one module that knows which engine the database runs on.

The ORM builds its SQL text and model objects anew on every call, which costs several times the
database's own work for a point read or a one-row insert, and it cannot say some statements at
all (set-based ledger changes, windowed mirror reads, row locks). Those statements are written by
hand in the modules that own their tables, once, in PostgreSQL's spelling (`$n` placeholders,
`::type` casts). The engine's `Dialect` is chosen here when the database opens (`use`, called by
`models.db.open_database`) and held for the process; every other module asks it how to spell
what differs (`mark`, `greatest`, `collate_c`, `keys_in`, `skip_locked`, `pick`) and never asks
which engine it is.

Every statement runs through `fetch` (its rows) or `execute` (how many rows it changed), and
both take the connection to run on: the transaction the caller is in (`models.db.transaction`)
or `pool()` for a statement of its own. On PostgreSQL asyncpg prepares each text on first use
per connection and reuses it from its statement cache; on SQLite the same text runs with `?n`
placeholders and without the casts.

Values go in as Python values. SQLite stores UUIDs and dates as text, so they are passed as
text there; datetimes go through the adapter Tortoise registers (`isoformat(" ")`), so a row
written here reads and sorts like one the ORM wrote. Rows come back with UUIDs and timestamps
as the driver gives them: `uuid` and `time` read them the same way on both engines.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Protocol, TypeVar
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

from models import replica


class Row(Protocol):
    """A row as either driver gives it: its values by position or by column name."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...
    def keys(self) -> Iterable[str]: ...


Connection = BaseDBAsyncClient
T = TypeVar("T")

__all__ = [
    "Connection",
    "Dialect",
    "Row",
    "dialect",
    "execute",
    "fetch",
    "joined",
    "pool",
    "split_parts",
    "split_sum",
    "time",
    "use",
    "uuid",
]


def _numbered(statement: str) -> str:
    """The same statement with SQLite's numbered placeholders (`$1` → `?1`) and without
    PostgreSQL's casts (`$2::jsonb` → `?2`). A statement built for SQLite already (its
    placeholders `?`, the text varying with the number of rows) is run as it is."""
    return _renumbered(statement) if "$" in statement else statement


@lru_cache(maxsize=1024)
def _renumbered(statement: str) -> str:
    return re.sub(r"\$(\d+)(::\w+)?", r"?\1", statement)


def _text_value(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


def _same(value: Any) -> Any:
    return value


def _uuid_text(value: Any) -> Any:
    return None if value is None else UUID(value)


def _time_text(value: Any) -> Any:
    return None if value is None else datetime.fromisoformat(value)


def _day_text(value: Any) -> Any:
    return None if value is None else date.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one engine spells what differs between PostgreSQL and SQLite, and how its rows
    carry UUIDs, timestamps and dates."""

    numbered: bool  # `$n` placeholders, casts and arrays (PostgreSQL); else `?` and JSON
    greatest: str  # the larger of two values: GREATEST, or SQLite's two-argument MAX
    least: str
    skip_locked: str  # what makes a delete skip rows another transaction holds
    uuid: Callable[[Any], Any]
    time: Callable[[Any], Any]
    day: Callable[[Any], Any]

    def pick(self, *, postgres: T, sqlite: T) -> T:
        """The engine's own variant of a statement (or of a function that runs several),
        where the two engines need different statements, not different spellings."""
        return postgres if self.numbered else sqlite

    def mark(self, number: int) -> str:
        """The placeholder of parameter `number` in a statement built for this engine."""
        return f"${number}" if self.numbered else "?"

    def render(self, statement: str) -> str:
        """A statement written in PostgreSQL's spelling, as this engine runs it."""
        return statement if self.numbered else _numbered(statement)

    def value(self, value: Any) -> Any:
        """A parameter as this engine's driver takes it."""
        return value if self.numbered else _text_value(value)

    def collate_c(self, expression: str) -> str:
        """`expression` compared byte by byte, as Python sorts strings (SQLite always does)."""
        return f'{expression} COLLATE "C"' if self.numbered else expression

    def keys_in(self, column: str, placeholder: str, *, negate: bool = False) -> str:
        """`column` among (or, negated, not among) the keys passed as one parameter
        (`keys`): an array on PostgreSQL, a JSON list on SQLite."""
        if self.numbered:
            return f"{column} {'<> ALL' if negate else '= ANY'}({placeholder}::text[])"
        return (
            f"{column} {'NOT IN' if negate else 'IN'} (SELECT value FROM json_each({placeholder}))"
        )

    def keys(self, keys: Sequence[str]) -> object:
        """The parameter `keys_in` reads."""
        return list(keys) if self.numbered else json.dumps(list(keys))


POSTGRES = Dialect(
    numbered=True,
    greatest="GREATEST",
    least="LEAST",
    skip_locked=" FOR UPDATE SKIP LOCKED",
    uuid=_same,
    time=_same,
    day=_same,
)
SQLITE = Dialect(
    numbered=False,
    greatest="MAX",
    least="MIN",
    skip_locked="",
    uuid=_uuid_text,
    time=_time_text,
    day=_day_text,
)

_chosen: list[Dialect] = []


def use(client: Connection) -> Dialect:
    """Choose the dialect of the database `client` opens; called once per opening."""
    chosen = POSTGRES if client.capabilities.dialect == "postgres" else SQLITE
    _chosen[:] = [chosen]
    return chosen


def dialect() -> Dialect:
    """The dialect of the open database."""
    if not _chosen:
        raise RuntimeError("the database is not open (models.db.open_database)")
    return _chosen[0]


def uuid(value: Any) -> Any:
    """A UUID column's value as a UUID (None stays None)."""
    return dialect().uuid(value)


def time(value: Any) -> Any:
    """A timestamp column's value as a datetime (None stays None)."""
    return dialect().time(value)


def day(value: Any) -> Any:
    """A date column's value as a date (None stays None)."""
    return dialect().day(value)


# A sum of money is taken in two parts, each far from 64 bits however many full wallets it adds
# up: SQLite's SUM fails past 64 bits (9,224 wallets at the maximum reach it).
SPLIT = 10**9


def split_parts(expression: str) -> tuple[str, str]:
    """The two SQL sums that add up `expression`: of its quotient by `SPLIT` and of its
    remainder (both with its sign, as SQL's `/` and `%` keep it), 0 over no rows."""
    return (
        f"COALESCE(SUM(({expression}) / {SPLIT}), 0)",
        f"COALESCE(SUM(({expression}) % {SPLIT}), 0)",
    )


def split_sum(name: str, expression: str) -> str:
    """`split_parts` of `expression` as the columns `{name}_high` and `{name}_low`."""
    high, low = split_parts(expression)
    return f"{high} AS {name}_high, {low} AS {name}_low"


def joined(row: Any, name: str) -> int:
    """The sum a `split_sum` named `name` stands for."""
    return int(row[f"{name}_high"]) * SPLIT + int(row[f"{name}_low"])


def pool() -> Connection:
    """The connection a statement of its own runs on. (Inside `models.db.transaction` Tortoise
    hands out that transaction's connection: pass the transaction itself, so that the reader
    sees which one a statement joins.)"""
    client: Connection = connections.get("default")
    return client


async def _translated(run: Coroutine[Any, Any, T]) -> T:
    """The driver's errors as Tortoise raises them for the ORM's statements: a broken
    constraint is `IntegrityError` on both engines."""
    try:
        return await run
    except (asyncpg.IntegrityConstraintViolationError, sqlite3.IntegrityError) as error:
        raise IntegrityError(error) from error
    except (asyncpg.SyntaxOrAccessError, asyncpg.DataError, sqlite3.OperationalError) as error:
        raise OperationalError(error) from error
    except asyncpg.InvalidTransactionStateError as error:
        raise TransactionManagementError(error) from error


async def fetch(connection: Connection, statement: str, values: Sequence[Any]) -> list[Row]:
    """The rows of `statement` run on `connection`: tuples that also answer by column name.
    It runs on the driver's connection itself (asyncpg's prepared-statement cache; SQLite's
    `execute_fetchall`), without the ORM's round of building a query."""
    chosen = dialect()
    connection.log.debug("%s: %s", statement, values)
    text, params = chosen.render(statement), [chosen.value(v) for v in values]
    async with connection.acquire_connection() as driver:
        if chosen.numbered:
            return list(await _translated(driver.fetch(text, *params)))
        return list(await _translated(driver.execute_fetchall(text, params)))


async def execute(connection: Connection, statement: str, values: Sequence[Any]) -> int:
    """Run one write on `connection`; returns the rows it changed. A constraint it breaks
    raises Tortoise's `IntegrityError`, as the ORM's writes do."""
    replica.wrote()
    chosen = dialect()
    changed, _ = await connection.execute_query(
        chosen.render(statement), [chosen.value(v) for v in values]
    )
    return int(changed)
