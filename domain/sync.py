"""Synchronisation rules: what the local mirror stores, what a re-sync changes, what links to what.

An adapter hands up a snapshot of one upstream (`domain.upstream`); this module turns it into
mirror rows in our units.

Conversion (`gopos_rows`, `goorder_rows`). Percentages become basis points ("10.00" → 1000) and
money becomes minor units of the location's currency, exactly: nothing is rounded, because the
mirror must price exactly as the upstream does. A snapshot with data that would make a price wrong
is refused whole with a `SyncDataError` that names every such object (id and name); the mirror
then keeps what it had. Refused: money in another currency than the location's; more decimal
places than the currency has (percentages: more than 2); a negative value or limit; a percentage
over 100; an amount over the maximum (`domain.money.MAX_AMOUNT_MAJOR`); a value that is not a
number; an unknown discount or promotion type; a blank id; one id listed twice with different
data (the same record listed twice, as paging can do, is read once).
Tolerated, with a note for the sync run's log: a group naming a discount id that the snapshot does
not hold (the id is dropped), and a disabled discount or an inactive promotion whose data cannot
be read (it never prices, so it is left out of the mirror rather than failing the run). The
promotion's `add_type` is kept as the upstream spells it: it does not change how it applies.

The smallest set of writes is `domain.mirror_diff`.

What links to what is `domain.links`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, TypeVar

from domain.messages import Message, listing, msg
from domain.money import MAX_AMOUNT_MAJOR, PERCENT_PLACES, percent_to_basis_points, to_minor
from domain.upstream import (
    GoorderSnapshot,
    GoposSnapshot,
    PosDiscountRecord,
    PosGroupRecord,
    PromotionRecord,
    UpstreamMoney,
)

MAX_LISTED = 10
"""How many problems or objects a message names before it says how many more there are."""
MAX_NAME_IN_MESSAGE = 80
MAX_PERCENT = 100


class SyncDataError(Exception):
    """The upstream data would make prices wrong; nothing of the snapshot is mirrored."""

    def __init__(self, message: Message, problems: Sequence[Message] = ()) -> None:
        super().__init__(message.id)
        self.message = message
        self.problems: tuple[Message, ...] = tuple(problems) or (message,)


class DiscountType(StrEnum):
    PERCENT = "PERCENT"
    AMOUNT = "AMOUNT"


class PromotionType(StrEnum):
    ORDER_PERCENT = "ORDER_PERCENT"
    ORDER_AMOUNT = "ORDER_AMOUNT"


class ConnectionStatus(StrEnum):
    LINKED = "LINKED"
    NOT_FOUND = "NOT_FOUND"
    AMBIGUOUS = "AMBIGUOUS"
    NOT_SYNCED = "NOT_SYNCED"


@dataclass(frozen=True, slots=True)
class MirrorDiscount:
    external_id: str
    name: str
    type: DiscountType
    value: int  # basis points for PERCENT, minor units for AMOUNT
    enabled: bool


@dataclass(frozen=True, slots=True)
class MirrorPosGroup:
    external_id: str
    name: str
    reference: str | None  # trimmed; None when upstream has none or a blank one
    daily_limit: int | None  # minor units; None = no limit
    discount_ids: tuple[str, ...]  # sorted, each a discount of the same snapshot


@dataclass(frozen=True, slots=True)
class MirrorPromotion:
    external_id: str
    name: str
    reference: str | None
    type: PromotionType
    add_type: str
    value: int  # basis points for ORDER_PERCENT, minor units for ORDER_AMOUNT
    min_basket: int | None  # minor units
    active: bool


@dataclass(frozen=True, slots=True)
class GoposRows:
    groups: tuple[MirrorPosGroup, ...]
    discounts: tuple[MirrorDiscount, ...]
    notes: tuple[Message, ...]  # what was tolerated, for the sync run's log


@dataclass(frozen=True, slots=True)
class GoorderRows:
    promotions: tuple[MirrorPromotion, ...]
    notes: tuple[Message, ...]


# ------------------------------------------------------------------------------- conversion


def quoted(name: str) -> str:
    name = " ".join(name.split())
    if len(name) > MAX_NAME_IN_MESSAGE:
        name = name[: MAX_NAME_IN_MESSAGE - 1] + "…"
    return f"„{name}”"


def labelled(what: str, external_id: str, name: str | None) -> Message:
    """An upstream object named in a message, by id and name, by name alone (`external_id`
    empty) or by id alone (`name` None): `what` is "gopos_discount", "gopos_group" or
    "goorder_promotion" (messages ``sync.object.<what>``, ``….named``, ``….id``)."""
    if name is None:
        return msg(f"sync.object.{what}.id", id=external_id)
    if not external_id:
        return msg(f"sync.object.{what}.named", name=quoted(name))
    return msg(f"sync.object.{what}", id=external_id, name=quoted(name))


def _refuse(upstream: str, problems: Sequence[Message]) -> SyncDataError:
    listed = listing(list(problems), limit=MAX_LISTED, separator=" ")
    return SyncDataError(
        msg("sync.data_refused", upstream=upstream, count=len(problems), problems=listed),
        problems,
    )


def _problem(label: Message, problem: Message | None) -> Message:
    return msg("sync.object_problem", object=label, problem=problem or "")


def _not_number(value: Decimal, field: str) -> Message | None:
    return None if value.is_finite() else _wrong(field, "not_a_number", value)


def _wrong(field: str, what: str, value: Decimal, **params: object) -> Message:
    """`field` is "value", "daily_limit" or "min_basket" (message ``sync.field.<field>``)."""
    return msg(f"sync.value.{what}", field=msg(f"sync.field.{field}"), value=value, **params)


def _basis_points(value: Decimal, field: str) -> tuple[int | None, Message | None]:
    """A percentage in basis points, or why it cannot be one."""
    if problem := _not_number(value, field):
        return None, problem
    if value < 0:
        return None, _wrong(field, "negative", value)
    if value > MAX_PERCENT:
        return None, _wrong(field, "over_100", value)
    bp = percent_to_basis_points(value)
    if bp is None:
        return None, _wrong(field, "percent_places", value, count=PERCENT_PLACES)
    return bp, None


def _minor(
    value: Decimal, currency: str, minor_units: int, field: str
) -> tuple[int | None, Message | None]:
    """An amount of the location's currency in minor units, or why it cannot be one."""
    if problem := _not_number(value, field):
        return None, problem
    if value < 0:
        return None, _wrong(field, "negative", value)
    if value > MAX_AMOUNT_MAJOR:
        return None, _wrong(
            field, "over_maximum", value, maximum=MAX_AMOUNT_MAJOR, currency=currency
        )
    minor = to_minor(value, minor_units)
    if minor is None:
        return None, _wrong(field, "money_places", value, count=minor_units, currency=currency)
    return minor, None


def _money(
    money: UpstreamMoney, currency: str, minor_units: int, field: str
) -> tuple[int | None, Message | None]:
    if money.currency.strip().upper() != currency.upper():
        problem = msg(
            "sync.value.currency",
            field=msg(f"sync.field.{field}"),
            given=money.currency,
            currency=currency,
        )
        return None, problem
    return _minor(money.amount, currency, minor_units, field)


class _Record(Protocol):
    @property
    def external_id(self) -> str: ...

    @property
    def name(self) -> str: ...


R = TypeVar("R", bound=_Record)


def _distinct(records: Iterable[R], what: str, problems: list[Message]) -> list[R]:
    """Records by id in snapshot order; a repeated identical record is read once, a repeated
    id with other data and a blank id are problems."""
    seen: dict[str, R] = {}
    conflicting: set[str] = set()
    for record in records:
        if not record.external_id.strip():
            problems.append(msg("sync.no_id", object=labelled(what, "", record.name)))
            continue
        first = seen.setdefault(record.external_id, record)
        if first != record and record.external_id not in conflicting:
            conflicting.add(record.external_id)
            problems.append(
                msg(
                    "sync.listed_twice",
                    object=labelled(what, record.external_id, None),
                    first=quoted(first.name),
                    second=quoted(record.name),
                )
            )
    return [record for key, record in seen.items() if key not in conflicting]


def _reference(reference: str | None) -> str | None:
    trimmed = reference.strip() if reference is not None else ""
    return trimmed or None


def _discount(
    record: PosDiscountRecord, currency: str, minor_units: int
) -> tuple[MirrorDiscount | None, Message | None]:
    try:
        kind = DiscountType(record.type)
    except ValueError:
        return None, msg("sync.unknown_discount_type", type=record.type)
    if kind is DiscountType.PERCENT:
        value, problem = _basis_points(record.value, "value")
    else:
        value, problem = _minor(record.value, currency, minor_units, "value")
    if value is None:
        return None, problem
    return MirrorDiscount(record.external_id, record.name, kind, value, record.enabled), None


def gopos_rows(snapshot: GoposSnapshot, currency: str, minor_units: int) -> GoposRows:
    """Mirror rows of a GoPOS snapshot in the location's units; raises `SyncDataError`."""
    return GoposConversion(currency, minor_units).rows(snapshot)


class GoposConversion:
    """`gopos_rows`, with the work on each record done as the record arrives: the fetch hands
    each page to `discounts` or `groups` while the next pages are still on their way, and
    `rows` then puts the snapshot together from what was converted (converting what was not
    handed in), with the same result and the same refusals as converting it all at the end.
    Nothing is decided before `rows`: a page's problems count only if the snapshot holds it."""

    def __init__(self, currency: str, minor_units: int) -> None:
        self.currency = currency
        self.minor_units = minor_units
        # By the record's identity; the record is kept beside its result, so that an identity
        # is never taken for another record's.
        self._discounts: dict[
            int, tuple[PosDiscountRecord, MirrorDiscount | None, Message | None]
        ] = {}
        self._limits: dict[int, tuple[PosGroupRecord, int | None, Message | None]] = {}

    def discounts(self, records: Iterable[PosDiscountRecord]) -> None:
        currency, minor_units = self.currency, self.minor_units
        for record in records:
            self._discounts[id(record)] = (record, *_discount(record, currency, minor_units))

    def groups(self, records: Iterable[PosGroupRecord]) -> None:
        for record in records:
            if record.daily_discount_limit is not None:
                self._limits[id(record)] = (record, *self._limit(record.daily_discount_limit))

    def _limit(self, money: UpstreamMoney) -> tuple[int | None, Message | None]:
        return _money(money, self.currency, self.minor_units, "daily_limit")

    def _discount(self, record: PosDiscountRecord) -> tuple[MirrorDiscount | None, Message | None]:
        found = self._discounts.get(id(record))
        if found is not None and found[0] is record:
            return found[1], found[2]
        return _discount(record, self.currency, self.minor_units)

    def _group(
        self, record: PosGroupRecord, discount_ids: tuple[str, ...]
    ) -> tuple[MirrorPosGroup | None, Message | None]:
        limit: int | None = None
        if record.daily_discount_limit is not None:
            found = self._limits.get(id(record))
            if found is not None and found[0] is record:
                limit, problem = found[1], found[2]
            else:
                limit, problem = self._limit(record.daily_discount_limit)
            if problem:
                return None, problem
        reference = _reference(record.reference)
        row = MirrorPosGroup(record.external_id, record.name, reference, limit, discount_ids)
        return row, None

    def rows(self, snapshot: GoposSnapshot) -> GoposRows:
        """Mirror rows of `snapshot` in the location's units; raises `SyncDataError`."""
        problems: list[Message] = []
        notes: list[Message] = []
        discounts: dict[str, MirrorDiscount] = {}
        left_out: set[str] = set()
        for record in _distinct(snapshot.discounts, "gopos_discount", problems):
            row, problem = self._discount(record)
            if row is not None:
                discounts[row.external_id] = row
                continue
            label = labelled("gopos_discount", record.external_id, record.name)
            if record.enabled:
                problems.append(_problem(label, problem))
            else:
                left_out.add(record.external_id)
                notes.append(msg("sync.note.disabled", object=label, problem=problem or ""))
        groups: list[MirrorPosGroup] = []
        # Sets made once: a set minus a dict's keys view walks the whole view, for every group.
        known = set(discounts)
        listed = known | left_out
        for group_record in _distinct(snapshot.groups, "gopos_group", problems):
            named_ids = set(group_record.discount_ids)
            dangling = sorted(named_ids - listed)
            if dangling:
                label = labelled("gopos_group", group_record.external_id, group_record.name)
                notes.append(
                    msg(
                        "sync.note.dangling",
                        object=label,
                        count=len(dangling),
                        ids=", ".join(dangling),
                    )
                )
            ids = tuple(sorted(named_ids & known))
            group, problem = self._group(group_record, ids)
            if group is None:
                label = labelled("gopos_group", group_record.external_id, group_record.name)
                problems.append(_problem(label, problem))
            else:
                groups.append(group)
        if problems:
            raise _refuse("GoPOS", problems)
        return GoposRows(
            groups=tuple(sorted(groups, key=lambda g: g.external_id)),
            discounts=tuple(sorted(discounts.values(), key=lambda d: d.external_id)),
            notes=tuple(notes),
        )


def _promotion(
    record: PromotionRecord, currency: str, minor_units: int
) -> tuple[MirrorPromotion | None, list[Message]]:
    found: list[Message] = []
    kind: PromotionType | None = None
    value: int | None = None
    try:
        kind = PromotionType(record.type)
    except ValueError:
        found.append(msg("sync.unknown_promotion_type", type=record.type))
    if kind is PromotionType.ORDER_PERCENT:
        value, problem = _basis_points(record.value, "value")
        found += [problem] if problem else []
    elif kind is PromotionType.ORDER_AMOUNT:
        value, problem = _minor(record.value, currency, minor_units, "value")
        found += [problem] if problem else []
    min_basket: int | None = None
    if record.min_basket_value is not None:
        min_basket, problem = _minor(record.min_basket_value, currency, minor_units, "min_basket")
        found += [problem] if problem else []
    if found or kind is None or value is None:
        return None, found
    row = MirrorPromotion(
        external_id=record.external_id,
        name=record.name,
        reference=_reference(record.reference),
        type=kind,
        add_type=record.add_type,
        value=value,
        min_basket=min_basket,
        active=record.active,
    )
    return row, []


def goorder_rows(snapshot: GoorderSnapshot, currency: str, minor_units: int) -> GoorderRows:
    """Mirror rows of a GoOrder snapshot (amounts in the store's currency, which is the
    location's) in the location's units; raises `SyncDataError`."""
    problems: list[Message] = []
    notes: list[Message] = []
    promotions: list[MirrorPromotion] = []
    for record in _distinct(snapshot.promotions, "goorder_promotion", problems):
        row, found = _promotion(record, currency, minor_units)
        if row is not None:
            promotions.append(row)
            continue
        label = labelled("goorder_promotion", record.external_id, record.name)
        if record.active:
            problems.extend(_problem(label, problem) for problem in found)
        else:
            why = listing(found, limit=len(found), separator="; ")
            notes.append(msg("sync.note.inactive", object=label, problem=why))
    if problems:
        raise _refuse("GoOrder", problems)
    return GoorderRows(
        promotions=tuple(sorted(promotions, key=lambda p: p.external_id)), notes=tuple(notes)
    )
