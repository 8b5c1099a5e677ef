"""Importing customers of one location from a CSV file (`gocrm import-customers`).

The file has a header row and the columns first_name, last_name, email, phone, card_code and
groups (group references separated by ``;``); other columns are ignored. The card code is the key:
a row whose card belongs to a customer of the location fills in that customer's non-empty contact
fields and adds (never removes) its group memberships; any other row creates a customer with that
card. Rows that fail validation are skipped and reported with their line, so importing the same
file twice changes nothing the second time.

Everything is parsed and validated first; then the rows are written in batches, each with a few
set-based statements in one transaction, so a batch is either written whole or not at all.

The file is read a line at a time, never whole: a line longer than `MAX_LINE_BYTES` is read through
in pieces and its row is skipped and reported, like a row the CSV reader refuses (a quoted field
longer than the csv module's field size limit), so memory stays bounded whatever the file holds.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

from domain import entities
from domain.contacts import (
    MAX_NAME_LENGTH,
    PhoneRule,
    card_code_problem,
    clean_text,
    email_problem,
    normalise_card_code,
    normalise_email,
    normalised_phone,
)
from domain.customer_checks import CheckedCard, CustomerWrite
from domain.errors import ErrorCode, fail, not_found
from domain.references import normalise_reference
from domain.text import control_character, text_problem
from models import customers as repository
from models import groups as group_repository
from models import locations as location_repository
from models.db import IntegrityError, Transaction, transaction
from services.phones import phone_rule

if TYPE_CHECKING:
    from _csv import Reader

BATCH_SIZE = 5_000  # rows written per transaction, unless the caller gives another size
MAX_ATTEMPTS = 3
MAX_LINE_BYTES = 64 * 1024  # a line's bytes, without its line ending
MAX_QUOTED_LENGTH = 64  # the longest cell a problem report quotes back
READ_CHUNK = 64 * 1024
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")
COLUMNS = (*CONTACT_FIELDS, "card_code", "groups")
_NAME_LABELS = {"first_name": "first name", "last_name": "last name"}


@dataclass(frozen=True)
class ImportProblem:
    line: int
    reason: str


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    skipped: int
    problems: tuple[ImportProblem, ...]

    def summary(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }


@dataclass(frozen=True)
class _Row:
    """A valid data row: the card code, the non-empty contact values and the groups to join."""

    line: int
    card_code: str
    contact: tuple[tuple[str, str], ...]
    group_ids: tuple[UUID, ...]


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Plan:
    """The writes one batch needs, worked out from a read of the current state: new customers
    (with their card and groups), groups joined by existing customers, and existing customers
    with their changed contact values, by the set of columns that changed."""

    counts: _Counts = field(default_factory=_Counts)
    new_codes: set[str] = field(default_factory=set)
    customers: list[CustomerWrite] = field(default_factory=list)
    memberships: list[tuple[UUID, UUID]] = field(default_factory=list)
    changes: dict[frozenset[str], list[entities.Customer]] = field(default_factory=dict)


async def import_customers(
    location_id: UUID,
    path: Path,
    on_progress: Callable[[int, int], None] | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import the file into the location, `batch_size` rows per transaction; raises INVALID
    (field "file") for an unusable file."""
    if not await location_repository.exists(location_id):
        raise not_found("location", "Location")
    groups = await group_repository.ids_by_reference(location_id)
    rule = phone_rule(await location_repository.get(location_id))
    records = await asyncio.to_thread(_read, path, groups, rule)

    problems = [r for r in records if isinstance(r, ImportProblem)]
    totals = _Counts()
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        rows = [r for r in chunk if isinstance(r, _Row)]
        if rows:
            counts, conflicts = await _import_batch(location_id, rows)
            totals.created += counts.created
            totals.updated += counts.updated
            totals.unchanged += counts.unchanged
            problems.extend(conflicts)
        if on_progress is not None:
            on_progress(start + len(chunk), len(records))
    problems.sort(key=lambda p: p.line)
    return ImportReport(
        created=totals.created,
        updated=totals.updated,
        unchanged=totals.unchanged,
        skipped=len(problems),
        problems=tuple(problems),
    )


class _Lines:
    """The lines of a file opened in binary mode, decoded, for the CSV reader.

    A line of more than `limit` bytes is read through in pieces of `READ_CHUNK` bytes and never
    held whole: the reader gets an empty line in its place (so its line count stays right), and
    the line's number and size are kept in `oversized` until the caller takes them.
    """

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.number = 0
        self.oversized: list[tuple[int, int]] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        piece = self._stream.readline(self._limit + 2)  # the limit, and room for "\r\n"
        if not piece:
            raise StopIteration
        self.number += 1
        if len(piece) - _ending(piece) <= self._limit:
            return self._decode(piece)
        size, tail = len(piece), piece[-2:]
        while not tail.endswith(b"\n"):
            piece = self._stream.readline(READ_CHUNK)
            if not piece:
                break
            size, tail = size + len(piece), (tail + piece)[-2:]
        self.oversized.append((self.number, size - _ending(tail)))
        return "\n"

    def take_oversized(self) -> list[tuple[int, int]]:
        taken, self.oversized = self.oversized, []
        return taken

    def _decode(self, data: bytes) -> str:
        try:
            return data.decode("utf-8-sig" if self.number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise fail(
                ErrorCode.INVALID, "file", f"The file is not UTF-8 text (line {self.number})."
            ) from error


def _ending(line: bytes) -> int:
    """The length of the line ending that `line` ends with: 2 for CR LF, 1 for LF, else 0."""
    if line.endswith(b"\r\n"):
        return 2
    return 1 if line.endswith(b"\n") else 0


def _too_long(line: int, oversized: list[tuple[int, int]]) -> ImportProblem:
    number, size = oversized[0]
    which = "the line" if number == line else f"its line {number}"
    return ImportProblem(
        line, f"{which} is longer than {MAX_LINE_BYTES // 1024} KiB ({size:,} bytes)"
    )


def _read(path: Path, groups: dict[str, UUID], rule: PhoneRule) -> list[_Row | ImportProblem]:
    """Every non-blank data row of the file, valid or not, in file order."""
    with path.open("rb") as stream:
        lines = _Lines(stream, MAX_LINE_BYTES)
        reader = csv.reader(lines)
        columns = _columns(reader, lines)
        return _parse(reader, lines, columns, groups, rule)


def _columns(reader: Reader, lines: _Lines) -> dict[str, int]:
    """The position of each known column in the header row."""
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise fail(ErrorCode.INVALID, "file", f"Line 1: {error}.") from error
    if lines.oversized:
        raise fail(ErrorCode.INVALID, "file", f"Line 1: {_too_long(1, lines.oversized).reason}.")
    if header is None:
        raise fail(ErrorCode.INVALID, "file", "The file is empty; a header row is required.")
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().casefold()
        if key in COLUMNS:
            positions.setdefault(key, index)
    if "card_code" not in positions:
        raise fail(ErrorCode.INVALID, "file", "The header row has no card_code column.")
    return positions


def _parse(
    reader: Reader,
    lines: _Lines,
    columns: dict[str, int],
    groups: dict[str, UUID],
    rule: PhoneRule,
) -> list[_Row | ImportProblem]:
    records: list[_Row | ImportProblem] = []
    first_seen: dict[str, int] = {}
    while True:
        line = lines.number + 1
        try:
            cells = next(reader)
        except StopIteration:
            if oversized := lines.take_oversized():
                records.append(_too_long(line, oversized))
            return records
        except csv.Error as error:
            lines.take_oversized()
            records.append(ImportProblem(line, f"unreadable CSV ({error})"))
            continue
        if oversized := lines.take_oversized():
            records.append(_too_long(line, oversized))
            continue
        values = {
            name: cells[index] if index < len(cells) else "" for name, index in columns.items()
        }
        if any(value.strip() for value in values.values()):
            records.append(_check_row(line, values, groups, first_seen, rule))


def _shown(value: str) -> str | None:
    """A cell as a problem report may quote it: short and clean, or not at all, so that a cell
    of 100 KiB or one with control characters never reaches the report or the log."""
    if len(value) <= MAX_QUOTED_LENGTH and control_character(value) is None:
        return f"'{value}'"
    return None


def _invalid(what: str, value: str, problem: str, *, explain: bool = False) -> str:
    shown = _shown(value)
    if shown is None:
        return f"invalid {what} ({problem.rstrip('.')})"
    return f"invalid {what} {shown}" + (f" ({problem.rstrip('.')})" if explain else "")


def _check_row(
    line: int,
    values: dict[str, str],
    groups: dict[str, UUID],
    first_seen: dict[str, int],
    rule: PhoneRule,
) -> _Row | ImportProblem:
    if any("\x00" in value for value in values.values()):
        return ImportProblem(line, "the row contains a NUL character")
    reasons: list[str] = []
    code = normalise_card_code(values["card_code"])
    if not code:
        reasons.append("missing card code")
    elif problem := card_code_problem(code):
        reasons.append(_invalid("card code", code, problem, explain=True))
    elif code in first_seen:
        reasons.append(f"card code '{code}' repeats line {first_seen[code]}")
    else:
        first_seen[code] = line

    contact: dict[str, str] = {}
    for name, label in _NAME_LABELS.items():
        text = clean_text(values.get(name))
        if text is not None and (problem := text_problem(text, MAX_NAME_LENGTH)):
            reasons.append(_invalid(label, text, problem, explain=True))
        elif text is not None:
            contact[name] = text
    email = clean_text(values.get("email"))
    if email is not None:
        email = normalise_email(email)
        if problem := email_problem(email):
            reasons.append(_invalid("email", email, problem))
        contact["email"] = email
    phone = clean_text(values.get("phone"))
    if phone is not None:
        normalised, problem = normalised_phone(phone, rule)
        if normalised is None:
            reasons.append(_invalid("phone", phone, problem or ""))
        else:
            contact["phone"] = normalised

    group_ids: list[UUID] = []
    for raw in values.get("groups", "").split(";"):
        reference = normalise_reference(raw)
        if not reference:
            continue
        if (group_id := groups.get(reference)) is None:
            reasons.append(f"unknown group reference {_shown(raw.strip()) or '(not shown)'}")
        else:
            group_ids.append(group_id)

    if reasons:
        return ImportProblem(line, "; ".join(reasons))
    return _Row(line, code, tuple(contact.items()), tuple(dict.fromkeys(group_ids)))


async def _import_batch(
    location_id: UUID, rows: Sequence[_Row]
) -> tuple[_Counts, list[ImportProblem]]:
    """Write one batch in one transaction. Rows whose new card code another writer took between
    our read and our write are reported instead, and the rest of the batch is tried again."""
    problems: list[ImportProblem] = []
    pending = list(rows)
    failure: IntegrityError | None = None
    for _ in range(MAX_ATTEMPTS):
        plan = await _plan(location_id, pending)
        try:
            async with transaction() as db:
                await _apply(db, location_id, plan)
        except IntegrityError as error:
            failure = error
            taken = await _card_owners(location_id, sorted(plan.new_codes))
            problems.extend(
                ImportProblem(r.line, f"card code '{r.card_code}' was taken during the import")
                for r in pending
                if r.card_code in taken
            )
            pending = [r for r in pending if r.card_code not in taken]
            if not pending:
                break
        else:
            return plan.counts, problems
    problems.extend(
        ImportProblem(r.line, f"not imported: a concurrent change conflicted ({failure})")
        for r in pending
    )
    return _Counts(), problems


async def _card_owners(location_id: UUID, codes: Sequence[str]) -> dict[str, entities.Customer]:
    """The customers holding these card codes in the location, by code."""
    return await repository.card_holders(location_id, codes)


async def _plan(location_id: UUID, rows: Sequence[_Row]) -> _Plan:
    owners = await _card_owners(location_id, [r.card_code for r in rows])
    # Each existing customer as this batch leaves it: a later row sees an earlier row's changes.
    current = {c.id: c for c in owners.values()}
    wanted_groups = list({g for r in rows for g in r.group_ids})
    joined = await repository.memberships(list(current), wanted_groups)

    plan = _Plan()
    changed: dict[UUID, set[str]] = {}
    for row in rows:
        owner = owners.get(row.card_code)
        if owner is None:
            card = CheckedCard(row.card_code, None, None)
            plan.customers.append(CustomerWrite(dict(row.contact), (card,), row.group_ids))
            plan.new_codes.add(row.card_code)
            plan.counts.created += 1
            continue
        customer = current[owner.id]
        values: dict[str, Any] = {
            name: value for name, value in row.contact if getattr(customer, name) != value
        }
        if values:
            current[owner.id] = replace(customer, **values)
            changed.setdefault(owner.id, set()).update(values)
        adds = [g for g in row.group_ids if (owner.id, g) not in joined]
        joined.update((owner.id, g) for g in adds)
        plan.memberships.extend((owner.id, g) for g in adds)
        if values or adds:
            plan.counts.updated += 1
        else:
            plan.counts.unchanged += 1
    for uid, columns in changed.items():
        plan.changes.setdefault(frozenset(columns), []).append(current[uid])
    return plan


async def _apply(db: Transaction, location_id: UUID, plan: _Plan) -> None:
    await repository.create_many(db, location_id, plan.customers)
    await repository.add_memberships(db, plan.memberships)
    for columns, customers in plan.changes.items():
        # Only the columns that changed, so a concurrent edit of another field survives.
        await repository.update_contacts(db, customers, columns)
