"""Undoing a wallet operation or a schedule's period: which ones may be undone, and how an undo
request is fingerprinted.

An undo writes, for each customer the original reached, one UNDO entry: the negative of the net
delta the original's entries applied to that customer (its ADD, REDUCE or SET entry, and the
CLAWBACK an incoming credit wrote to pay off owed cashback), clamped so that the balance stays
within its range. What is owed is left as it is (DESIGN §2: "a SET and an undo leave it as it
is"): an ADD that paid off a debt is taken back by what it left spendable, not by its amount.
A customer whose compensation applied whole is restored; one whose compensation was clamped
(they spent the credits since) is partly restored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

from domain.errors import DomainError, ErrorCode, fail
from domain.jobs import JobStatus
from domain.messages import msg


@dataclass(frozen=True)
class UndoOriginal:
    """What an undo reverses: a wallet operation, or one period (run) of a schedule. Its
    entries are those of `source_id` and `period` of kind `operation` (and CLAWBACK)."""

    id: UUID  # the operation's id, or the run's
    location_id: UUID
    operation: str  # ADD, REDUCE or SET
    amount: int
    description: str | None
    source_id: UUID  # the operation's id, or the schedule's
    period: int
    status: str
    undo_of_id: UUID | None  # set when the original is itself an undo


@dataclass(frozen=True)
class UndoTotals:
    """What an undo does (or would do): customers restored in whole and in part, and what it
    takes back in all (negative when it gives back, as for a REDUCE)."""

    restored: int
    partly_restored: int
    amount: int


def refusal(original: UndoOriginal, field: str = "id") -> DomainError | None:
    """Why `original` may not be undone, or None when it may."""
    if original.undo_of_id is not None:
        return fail(ErrorCode.INVALID, field, msg("undo.of_undo"))
    if original.status != JobStatus.SUCCEEDED:
        return fail(ErrorCode.CONFLICT, field, msg("undo.not_finished"))
    return None


def already_undone(field: str = "id") -> DomainError:
    return fail(ErrorCode.CONFLICT, field, msg("undo.already_undone"))


def request_hash(original_id: UUID) -> str:
    """The fingerprint of an undo request: an idempotency key repeated with another id is a
    different request."""
    return hashlib.sha256(f"undo:{original_id}".encode()).hexdigest()
