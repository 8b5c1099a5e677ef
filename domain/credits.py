"""A credit request, parsed once into a value the services trust.

`parse_credit` turns what a client sent (`CreditRequest`: raw strings, a Decimal, ids as text)
into a `ParsedCredit`: the operation, the amount in minor units of the location's currency, a
trimmed description, the idempotency key, the recurrence and the target with its ids parsed.
It finds every problem at once and raises them together as one `DomainError`, each with its
field path; what is left for the services is what needs the database (does each id name a
customer or group of this location).

An id that is not a UUID cannot name anything. It is kept as None in its place, and the
service's look-up answers it NOT_FOUND at its path together with the well-formed ids that name
nothing, so that a client cannot tell the two apart and sees every unknown id at once.

A target is a list of customers, a filter, or every customer of the location, and only ever
the last when the client says so (`allCustomers: true`): a filter without a single criterion is
refused, so that no request reaches the whole location by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from domain.contacts import clean_text, search_problem
from domain.errors import DomainError, ErrorCode, UserError
from domain.idempotency import parse_idempotency_key
from domain.ids import parse_id
from domain.ledger import CreditOperation, amount_problem
from domain.messages import msg
from domain.money import to_minor
from domain.requests import CreditRequest, CustomerFilter, Target
from domain.schedule import Recurrence, recurrence_problems
from domain.text import text_problem

MAX_DESCRIPTION_LENGTH = 500
MAX_TARGET_IDS = 10_000

EXACTLY_ONE_TARGET = msg("target.exactly_one")
EMPTY_FILTER = msg("target.empty_filter")
NOT_RECURRING = msg("target.not_recurring")

CUSTOMER_NOT_FOUND = msg("customer.not_found")
EXPIRES_FIELD = "input.expiresOn"
GROUP_NOT_FOUND = msg("group.not_found")


@dataclass(frozen=True)
class CustomerSelection:
    """A customer filter with its ids parsed: the customers matching every given criterion.

    Ids keep the order and repetitions the client sent, so that index i is the path's index;
    None stands for an id that is not a UUID (and so names nothing).
    """

    ids: tuple[UUID | None, ...] | None = None
    group_ids: tuple[UUID | None, ...] | None = None
    search: str | None = None
    has_credits: bool | None = None


@dataclass(frozen=True)
class ParsedTarget:
    """Exactly one of the three: listed customers (in the order given), a selection with at
    least one criterion, or every customer of the location."""

    customer_ids: tuple[UUID | None, ...] | None = None
    selection: CustomerSelection | None = None
    all_customers: bool = False

    def distinct_customer_ids(self) -> list[UUID]:
        return list(dict.fromkeys(c for c in self.customer_ids or () if c is not None))


@dataclass(frozen=True)
class ParsedCredit:
    """A credit request as the services trust it; `amount` is in minor units of the currency."""

    operation: CreditOperation
    amount: int
    description: str | None
    idempotency_key: str | None
    target: ParsedTarget
    recurrence: Recurrence | None = None
    expected_balance: int | None = None  # minor units; a single customer's target only
    expires_on: date | None = None


def parse_credit(request: CreditRequest, *, minor_units: int, today: date) -> ParsedCredit:
    """The validated request, or a `DomainError` naming every problem.

    `minor_units` is the location currency's number of decimal places; `today` is the date in
    the location's time zone (a recurrence may not start before it).
    """
    errors: list[UserError] = []
    operation = _operation(errors, request.operation)
    amount = 0
    if operation is not None:
        if problem := amount_problem(operation, request.amount, minor_units):
            errors.append(UserError(ErrorCode.INVALID, "input.amount", problem))
        else:
            amount = to_minor(request.amount, minor_units) or 0
    description = _description(errors, request.description)
    key = (
        None
        if request.idempotency_key is None  # only an omitted key means "no key"
        else parse_idempotency_key(request.idempotency_key, "input.idempotencyKey", errors)
    )
    recurrence = request.recurrence
    target = _target(errors, request.target, "input.target", recurring=recurrence is not None)
    if recurrence is not None:
        errors.extend(
            UserError(ErrorCode.INVALID, field, message)
            for field, message in recurrence_problems(recurrence, today)
        )
    expected = _expected_balance(errors, request, target, minor_units)
    errors.extend(_expiry_problems(request, today))
    if errors:
        raise DomainError(*errors)
    assert operation is not None
    return ParsedCredit(
        operation, amount, description, key, target, recurrence, expected, request.expires_on
    )


def _expected_balance(
    errors: list[UserError], request: CreditRequest, target: ParsedTarget, minor_units: int
) -> int | None:
    """The balance the caller saw, in minor units: for a one-off change of one customer."""
    raw, field = request.expected_balance, "input.expectedBalance"
    if raw is None:
        return None
    single = target.customer_ids is not None and len(set(target.customer_ids)) == 1
    if not single or request.recurrence is not None:
        errors.append(UserError(ErrorCode.INVALID, field, msg("credit.expected_balance_single")))
        return None
    if problem := amount_problem(CreditOperation.SET, raw, minor_units):
        errors.append(UserError(ErrorCode.INVALID, field, problem))
        return None
    return to_minor(raw, minor_units)


def _expiry_problems(request: CreditRequest, today: date) -> list[UserError]:
    """A credit's expiry: not before the location's today, and not on a recurring request
    (whose top-ups expire after `expiresAfterDays`)."""
    if request.expires_on is None:
        return []
    if request.recurrence is not None:
        return [UserError(ErrorCode.INVALID, EXPIRES_FIELD, msg("credit.expires_on_recurring"))]
    if request.expires_on < today:
        problem = msg("credit.expires_before_today", today=today.isoformat())
        return [UserError(ErrorCode.INVALID, EXPIRES_FIELD, problem)]
    return []


def parse_target(target: Target, field: str) -> ParsedTarget:
    """A target of a group membership change (or any list of customers): exactly one of
    customerIds, filter and allCustomers, every id parsed."""
    errors: list[UserError] = []
    parsed = _target(errors, target, field, recurring=False)
    if errors:
        raise DomainError(*errors)
    return parsed


def parse_filter(criteria: CustomerFilter, field: str) -> CustomerSelection:
    """A filter of a customer list, every id parsed."""
    errors: list[UserError] = []
    selection = _selection(errors, criteria, field)
    if errors:
        raise DomainError(*errors)
    return selection


def _operation(errors: list[UserError], raw: str) -> CreditOperation | None:
    try:
        return CreditOperation(raw)
    except ValueError:
        errors.append(UserError(ErrorCode.INVALID, "input.operation", msg("credit.operation")))
        return None


def _description(errors: list[UserError], raw: str | None) -> str | None:
    description = clean_text(raw)
    if description is not None and (
        problem := text_problem(description, MAX_DESCRIPTION_LENGTH, multiline=True)
    ):
        errors.append(UserError(ErrorCode.INVALID, "input.description", problem))
    return description


def _target(
    errors: list[UserError], target: Target, field: str, *, recurring: bool
) -> ParsedTarget:
    given = (target.customer_ids is not None, target.filter is not None, target.all_customers)
    if sum(map(bool, given)) != 1:
        errors.append(UserError(ErrorCode.INVALID, field, EXACTLY_ONE_TARGET))
        return ParsedTarget()
    if target.all_customers:
        return ParsedTarget(all_customers=True)
    if target.customer_ids is not None:
        if len(target.customer_ids) > MAX_TARGET_IDS:
            errors.append(
                UserError(
                    ErrorCode.INVALID,
                    f"{field}.customerIds",
                    msg("target.too_many_ids", count=MAX_TARGET_IDS),
                )
            )
            return ParsedTarget()
        return ParsedTarget(customer_ids=_ids(target.customer_ids))
    assert target.filter is not None
    criteria = target.filter
    if not has_criterion(criteria):
        errors.append(UserError(ErrorCode.INVALID, f"{field}.filter", EMPTY_FILTER))
        return ParsedTarget()
    if recurring and (
        not criteria.group_ids
        or criteria.ids is not None
        or clean_text(criteria.search)
        or criteria.has_credits is not None
    ):
        errors.append(UserError(ErrorCode.INVALID, f"{field}.filter", NOT_RECURRING))
        return ParsedTarget()
    return ParsedTarget(selection=_selection(errors, criteria, f"{field}.filter"))


def has_criterion(criteria: CustomerFilter) -> bool:
    """Whether a filter says anything about whom it selects. Without a criterion it would
    select every customer. A list, even an empty one, is a criterion (an empty list is met by
    no customer); a blank search is none, as the search then matches everyone."""
    return (
        criteria.ids is not None
        or criteria.group_ids is not None
        or clean_text(criteria.search) is not None
        or criteria.has_credits is not None
    )


def _selection(errors: list[UserError], criteria: CustomerFilter, field: str) -> CustomerSelection:
    search = clean_text(criteria.search)
    if search is not None and (problem := search_problem(search)):
        errors.append(UserError(ErrorCode.INVALID, f"{field}.search", problem))
    return CustomerSelection(
        ids=_id_list(errors, criteria.ids, f"{field}.ids"),
        group_ids=_id_list(errors, criteria.group_ids, f"{field}.groupIds"),
        search=search,
        has_credits=criteria.has_credits,
    )


def _id_list(
    errors: list[UserError], values: tuple[str, ...] | None, field: str
) -> tuple[UUID | None, ...] | None:
    if values is None:
        return None
    if len(values) > MAX_TARGET_IDS:
        errors.append(
            UserError(ErrorCode.INVALID, field, msg("filter.too_many_ids", count=MAX_TARGET_IDS))
        )
        return ()
    return _ids(values)


def _ids(values: tuple[str, ...]) -> tuple[UUID | None, ...]:
    return tuple(parse_id(value) for value in values)
