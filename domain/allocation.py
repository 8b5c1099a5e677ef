"""Splitting money exactly: an amount spread over weights by largest remainder, and cashback
rounded down, in integer minor units. Pricing (`domain.pricing`) spreads its discounts with
`allocate` and re-exports both."""

from __future__ import annotations

from collections.abc import Sequence

BASIS_POINTS_WHOLE = 10_000


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split in proportion to `weights`, in whole minor units that sum to it exactly.

    Each share is its exact proportion rounded down; the units left over go one each to the
    largest remainders, earlier positions first on a tie. A share never exceeds its weight
    when `amount` does not exceed the sum of the weights.
    """
    if amount < 0 or any(weight < 0 for weight in weights):
        raise ValueError("an amount and its weights are never negative")
    total = sum(weights)
    if total == 0:
        if amount:
            raise ValueError("a non-zero amount cannot be spread over zero weights")
        return [0] * len(weights)
    shares: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        share, remainder = divmod(amount * weight, total)
        shares.append(share)
        remainders.append(remainder)
    left_over = amount - sum(shares)
    for index in sorted(range(len(shares)), key=lambda i: (-remainders[i], i))[:left_over]:
        shares[index] += 1
    return shares


def cashback(paid_minor: int, basis_points: int) -> int:
    """Cashback on an amount paid: `basis_points` of it, rounded down to the minor unit, so
    that a bill split any way never earns more than the whole bill would."""
    if paid_minor < 0 or basis_points < 0:
        raise ValueError("an amount paid and a cashback rate are never negative")
    return paid_minor * basis_points // BASIS_POINTS_WHOLE
