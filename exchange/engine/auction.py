"""The uncrossing of a call auction: one price for a crossed book, and who trades at it.

Pure functions of the orders in a call, given side by side in priority order (market orders
first, then limit orders best price first, time order within a price). The price follows the
standard rule (docs/engine.md, "Call auctions"), each step applied only to the prices the one
before left:

1. the price at which the most quantity executes (`min(demand, supply)`), where demand at p is
   every market buy and every bid at p or above, supply every market sell and ask at p or below;
2. the least surplus (`|demand - supply|`);
3. market pressure: if every price left has its surplus on the buy side, the highest of them;
   if every one on the sell side, the lowest;
4. the price closest to the reference price (ties: the higher); with no reference, closest to
   the middle of the prices left (ties: the higher).

Candidates are the limit prices in the call; with only market orders on both sides the
reference price is the one candidate (and without one there is no uncross). Allocation is in
priority order at the single price: each side trades its executable volume from the front.
Costs: `uncross` is O(n log n) in the orders (sorting the distinct prices), `allocate` O(n).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import NamedTuple

from exchange.engine.enums import Side

# An order in a call, as these functions see it: its limit price (None: a market order) and
# the quantity that counts (all of it to trade; an iceberg's displayed part for the indicative
# figures).
CallOrder = tuple[int | None, int]


class Uncross(NamedTuple):
    """The result of the price determination: the price, the quantity that executes at it, and
    the surplus left (its size and side; None when the sides match exactly)."""

    price: int
    volume: int
    surplus: int
    surplus_side: Side | None


def uncross(bids: Sequence[CallOrder], asks: Sequence[CallOrder],
            reference: int | None) -> Uncross | None:
    """The uncrossing price of a call with these `bids` and `asks`, or None when nothing would
    execute (the book does not cross, or there is no price to trade at)."""
    prices = sorted({price for price, _ in bids if price is not None}
                    | {price for price, _ in asks if price is not None})
    if not prices:
        if reference is None:
            return None
        prices = [reference]
    demand = _demand(bids, prices)
    supply = _supply(asks, prices)
    best = max(min(d, s) for d, s in zip(demand, supply, strict=True))
    if best == 0:
        return None
    left = [i for i, (d, s) in enumerate(zip(demand, supply, strict=True)) if min(d, s) == best]
    least = min(abs(demand[i] - supply[i]) for i in left)
    left = [i for i in left if abs(demand[i] - supply[i]) == least]
    if all(demand[i] > supply[i] for i in left):
        chosen = left[-1]
    elif all(demand[i] < supply[i] for i in left):
        chosen = left[0]
    else:
        chosen = _closest(left, prices, reference)
    surplus = demand[chosen] - supply[chosen]
    side = None if surplus == 0 else Side.BUY if surplus > 0 else Side.SELL
    return Uncross(prices[chosen], best, abs(surplus), side)


def allocate(orders: Sequence[CallOrder], volume: int) -> list[int]:
    """How much each order of one side (in priority order) trades when `volume` executes: the
    front orders in full, then one in part, the rest nothing."""
    fills = []
    for _, qty in orders:
        take = min(qty, volume)
        fills.append(take)
        volume -= take
    return fills


def _demand(bids: Sequence[CallOrder], prices: list[int]) -> list[int]:
    """Demand at each price (ascending): market buys plus bids at that price or above."""
    return _cumulative(bids, prices[::-1])[::-1]


def _supply(asks: Sequence[CallOrder], prices: list[int]) -> list[int]:
    """Supply at each price (ascending): market sells plus asks at that price or below."""
    return _cumulative(asks, prices)


def _cumulative(orders: Sequence[CallOrder], prices: list[int]) -> list[int]:
    """For each price in the order given: the market orders plus the limit orders at that
    price or one before it in the list."""
    market = sum(qty for price, qty in orders if price is None)
    at = dict.fromkeys(prices, 0)
    for price, qty in orders:
        if price is not None:
            at[price] += qty
    return [market + total for total in accumulate(at[p] for p in prices)]


def _closest(left: list[int], prices: list[int], reference: int | None) -> int:
    """The index in `left` whose price is closest to the reference (or, with none, to the
    middle of the prices left); ties go to the higher price."""
    if reference is None:
        target2 = prices[left[0]] + prices[left[-1]]  # twice the middle: stays an integer
        return min(reversed(left), key=lambda i: abs(2 * prices[i] - target2))
    return min(reversed(left), key=lambda i: abs(prices[i] - reference))
