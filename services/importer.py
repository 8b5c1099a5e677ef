"""Importing customers of one location from a CSV file (`gocrm import-customers`) or from CSV
text (`importCustomers`, which the console sends a large file to in chunks).

The file's form (encodings, separators, columns) is read by `services.import_csv`. The card codes
are the key: a row whose cards belong to a customer of the location fills in that customer's
non-empty contact fields, adds (never removes) its group memberships and adds the row's other
cards; a row whose cards nobody holds creates a customer with them. Rows that fail validation are
skipped and reported with their line, so importing the same file (or chunk) twice changes nothing
the second time.

Everything is parsed and validated first; then the rows are written in batches, each with a few
set-based statements in one transaction, so a batch is either written whole or not at all. A dry
run plans the same batches against the current state and writes nothing.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from uuid import UUID

from domain import entities
from domain.contacts import PhoneRule
from domain.customer_checks import MAX_CARDS_PER_CUSTOMER, CheckedCard, CustomerWrite
from domain.errors import DomainError, ErrorCode, fail, not_found
from domain.messages import msg
from models import customers as repository
from models import groups as group_repository
from models import locations as location_repository
from models.db import IntegrityError, Transaction, transaction
from services.import_csv import Groups, Row, read_rows
from services.import_problems import ImportProblem
from services.phones import phone_rule

__all__ = ["ImportProblem", "ImportReport", "import_customers", "import_text"]

BATCH_SIZE = 5_000  # rows written per transaction, unless the caller gives another size
MAX_ATTEMPTS = 3
MAX_TEXT_CHARACTERS = 2 * 1024 * 1024  # the most CSV text one importCustomers call takes
MAX_TEXT_ROWS = (
    2_000  # the most data rows one importCustomers call takes: seconds, within the request timeout
)


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    skipped: int
    problems: tuple[ImportProblem, ...]
    rows: int = 0

    def summary(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }

    @property
    def all_skipped(self) -> bool:
        """True when the file had rows and not one of them could be imported."""
        return self.rows > 0 and self.skipped == self.rows


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Plan:
    """The writes one batch needs, worked out from a read of the current state: new customers
    (with their cards and groups), cards and groups added to existing customers, and existing
    customers with their changed contact values, by the set of columns that changed."""

    counts: _Counts = field(default_factory=_Counts)
    new_codes: set[str] = field(default_factory=set)
    customers: list[CustomerWrite] = field(default_factory=list)
    cards: list[tuple[UUID, CheckedCard, int]] = field(default_factory=list)
    memberships: list[tuple[UUID, UUID]] = field(default_factory=list)
    changes: dict[frozenset[str], list[entities.Customer]] = field(default_factory=dict)
    conflicts: list[ImportProblem] = field(default_factory=list)


async def import_customers(
    location_id: UUID,
    path: Path,
    on_progress: Callable[[int, int], None] | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
) -> ImportReport:
    """Import the file into the location, `batch_size` rows per transaction; raises INVALID
    (field "file") for an unusable file."""

    def read(groups: Groups, phone: PhoneRule) -> list[Row | ImportProblem]:
        with path.open("rb") as stream:
            return read_rows(stream, groups, phone)

    return await _import(location_id, read, on_progress, batch_size=batch_size, dry_run=dry_run)


async def import_text(location_id: UUID, text: str, *, dry_run: bool = False) -> ImportReport:
    """Import CSV text (the file's form; one chunk of a larger file, its header repeated) into
    the location; raises INVALID (field "input.csv") for unusable or oversized text."""
    if len(text) > MAX_TEXT_CHARACTERS:
        raise fail(
            ErrorCode.INVALID,
            "input.csv",
            msg("import.text_too_long", cap=MAX_TEXT_CHARACTERS),
        )
    if "\ufffd" in text:  # what a browser's decoder leaves of Windows-1250 read as UTF-8
        raise fail(
            ErrorCode.INVALID,
            "input.csv",
            msg("import.replacement_characters"),
        )
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise fail(ErrorCode.INVALID, "input.csv", msg("import.not_unicode")) from error

    def read(groups: Groups, phone: PhoneRule) -> list[Row | ImportProblem]:
        return read_rows(io.BytesIO(data), groups, phone, MAX_TEXT_ROWS)

    try:
        return await _import(location_id, read, None, batch_size=BATCH_SIZE, dry_run=dry_run)
    except DomainError as error:
        raise DomainError(
            *(replace(e, field="input.csv") if e.field == "file" else e for e in error.errors)
        ) from error


async def _import(
    location_id: UUID,
    read: Callable[[Groups, PhoneRule], list[Row | ImportProblem]],
    on_progress: Callable[[int, int], None] | None,
    *,
    batch_size: int,
    dry_run: bool,
) -> ImportReport:
    if not await location_repository.exists(location_id):
        raise not_found("location", "location")
    groups = Groups(await group_repository.in_location(location_id))
    phone = phone_rule(await location_repository.get(location_id))
    records = await asyncio.to_thread(read, groups, phone)

    problems = [r for r in records if isinstance(r, ImportProblem)]
    totals = _Counts()
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        rows = [r for r in chunk if isinstance(r, Row)]
        if rows:
            counts, conflicts = await _import_batch(location_id, rows, dry_run)
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
        rows=len(records),
    )


async def _import_batch(
    location_id: UUID, rows: Sequence[Row], dry_run: bool
) -> tuple[_Counts, list[ImportProblem]]:
    """Write one batch in one transaction. Rows whose new card code another writer took between
    our read and our write are reported instead, and the rest of the batch is tried again."""
    problems: list[ImportProblem] = []
    pending = list(rows)
    failure: IntegrityError | None = None
    for _ in range(MAX_ATTEMPTS):
        plan = await _plan(location_id, pending)
        if dry_run:
            return plan.counts, plan.conflicts
        try:
            async with transaction() as db:
                await _apply(db, location_id, plan)
        except IntegrityError as error:
            failure = error
            taken = await _card_owners(location_id, sorted(plan.new_codes))
            problems.extend(
                ImportProblem(r.line, msg("import.card_code_taken_during", code=codes[0]))
                for r in pending
                if (codes := [c for c in r.card_codes if c in taken])
            )
            pending = [r for r in pending if not any(c in taken for c in r.card_codes)]
            if not pending:
                break
        else:
            return plan.counts, [*problems, *plan.conflicts]
    problems.extend(
        ImportProblem(r.line, msg("import.concurrent_conflict", detail=failure)) for r in pending
    )
    return _Counts(), problems


async def _card_owners(location_id: UUID, codes: Sequence[str]) -> dict[str, entities.Customer]:
    """The customers holding these card codes in the location, by code."""
    return await repository.card_holders(location_id, codes)


async def _plan(location_id: UUID, rows: Sequence[Row]) -> _Plan:
    owners = await _card_owners(location_id, [c for r in rows for c in r.card_codes])
    # Each existing customer as this batch leaves it: a later row sees an earlier row's changes.
    current = {c.id: c for c in owners.values()}
    wanted_groups = list({g for r in rows for g in r.group_ids})
    joined = await repository.memberships(list(current), wanted_groups)
    cards = await repository.cards_of(list(current))
    card_counts = {uid: len(found) for uid, found in cards.items()}

    plan = _Plan()
    changed: dict[UUID, set[str]] = {}
    for row in rows:
        holders = {owners[c].id for c in row.card_codes if c in owners}
        if len(holders) > 1:
            plan.conflicts.append(
                ImportProblem(row.line, msg("import.card_codes_of_several_customers"))
            )
        elif not holders:
            new = tuple(CheckedCard(code, None, None) for code in row.card_codes)
            plan.customers.append(CustomerWrite(dict(row.contact), new, row.group_ids))
            plan.new_codes.update(row.card_codes)
            plan.counts.created += 1
        else:
            (uid,) = holders
            _plan_update(plan, row, uid, current, owners, joined, card_counts, changed)
    for uid, columns in changed.items():
        plan.changes.setdefault(frozenset(columns), []).append(current[uid])
    return plan


def _plan_update(
    plan: _Plan,
    row: Row,
    uid: UUID,
    current: dict[UUID, entities.Customer],
    owners: dict[str, entities.Customer],
    joined: set[tuple[UUID, UUID]],
    card_counts: dict[UUID, int],
    changed: dict[UUID, set[str]],
) -> None:
    """Plan what a row adds to the existing customer `uid`: its changed contact values, its
    cards nobody holds and the groups the customer is not in yet."""
    customer = current[uid]
    new_cards = [c for c in row.card_codes if c not in owners]
    if card_counts.get(uid, 0) + len(new_cards) > MAX_CARDS_PER_CUSTOMER:
        plan.conflicts.append(
            ImportProblem(
                row.line, msg("import.customer_cards_too_many", count=MAX_CARDS_PER_CUSTOMER)
            )
        )
        return
    values: dict[str, Any] = {
        name: value for name, value in row.contact if getattr(customer, name) != value
    }
    if values:
        current[uid] = replace(customer, **values)
        changed.setdefault(uid, set()).update(values)
    for code in new_cards:
        position = card_counts.get(uid, 0)
        card_counts[uid] = position + 1
        plan.cards.append((uid, CheckedCard(code, None, None), position))
        plan.new_codes.add(code)
        owners[code] = customer
    adds = [g for g in row.group_ids if (uid, g) not in joined]
    joined.update((uid, g) for g in adds)
    plan.memberships.extend((uid, g) for g in adds)
    if values or adds or new_cards:
        plan.counts.updated += 1
    else:
        plan.counts.unchanged += 1


async def _apply(db: Transaction, location_id: UUID, plan: _Plan) -> None:
    await repository.create_many(db, location_id, plan.customers)
    await repository.add_cards(db, location_id, plan.cards)
    await repository.add_memberships(db, plan.memberships)
    for columns, customers in plan.changes.items():
        # Only the columns that changed, so a concurrent edit of another field survives.
        await repository.update_contacts(db, customers, columns)
