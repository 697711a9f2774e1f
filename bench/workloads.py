"""Seeded, deterministic order-flow workloads for matching-engine benchmarks.

`generate(mix, n, seed)` returns a list of small tuples; the same arguments
always give the same list (the only randomness is one `random.Random(seed)`):

    ("limit",  order_id, side, price_ticks, qty, account)
    ("market", order_id, side, qty, account)        # immediate-or-cancel
    ("cancel", order_id)

`side` is "B" or "S"; prices are integer ticks around 10_000; `account` is one
of "A1", "A2", "A3" (each its own firm, so an engine with self-trade
prevention may trade less than the reference below). Order ids are 1, 2, 3...
in op order; a cancel re-uses the id of an earlier order.

To keep these descriptions true the generator runs a small shadow book (plain
price-time priority, no self-trade prevention, market orders IOC, the rest of
a marketable limit stays on the book). Its (trade_count, traded_qty) comes
back from `generate_with_expected` as a cross-check for engines and peers.

Mixes (fractions of ops; quantities 1..100 unless said otherwise):

normal
    60% passive limits 1..5 ticks from the mid on their own side, clamped so
        they never cross (qty 1..40: takers are larger than makers here,
        which keeps the book at a steady few thousand orders),
    25% cancels: with >= 1,000 orders resting, 95% pick a live order;
        otherwise any earlier id (usually filled, cancelled or a market
        order, which the engine must reject),
    10% marketable limits priced 1..3 ticks through the best opposite price
        (a remainder rests),
     5% market orders (immediate-or-cancel).
cancel_heavy
    40% passive limits, 55% cancels, 5% marketable limits, as above. Cancels
    outnumber adds, so the book hovers near 1,000 orders and about a third
    of the cancels miss (the reject path).
deep_sweep
    Every 20th op sweeps the best 5..15 opposite levels: qty = their total
    open qty (up to a few thousand lots), half as a market order, half as a
    limit priced at the last of those levels. The other ops are 90% passive
    limits 1..50 ticks from the mid and 10% cancels (live ones once 100 rest),
    so the book spans 100+ price levels a few orders deep.

Passive prices lean slightly toward 10_000 so the mid does not wander off.
Generating 1,000,000 ops takes about 10 s in CPython.
"""

from __future__ import annotations

import heapq
import random
from typing import Literal

Side = Literal["B", "S"]
LimitOp = tuple[Literal["limit"], int, Side, int, int, str]
MarketOp = tuple[Literal["market"], int, Side, int, str]
CancelOp = tuple[Literal["cancel"], int]
Op = LimitOp | MarketOp | CancelOp

MIXES = ("normal", "cancel_heavy", "deep_sweep")
ACCOUNTS = ("A1", "A2", "A3")
FAIR = 10_000
DEFAULT_N = 1_000_000


class _ShadowBook:
    """Minimal price-time book used only to steer the generator."""

    def __init__(self) -> None:
        # side -> price -> {order_id: open qty} (dicts keep FIFO order)
        self.levels: dict[str, dict[int, dict[int, int]]] = {"B": {}, "S": {}}
        self.heaps: dict[str, list[int]] = {"B": [], "S": []}  # bids stored negated
        self.where: dict[int, tuple[str, int]] = {}
        self.live: list[int] = []  # resting ids, for O(1) random choice
        self.pos: dict[int, int] = {}
        self.trades = 0
        self.traded_qty = 0

    def best(self, side: str) -> int | None:
        heap, levels = self.heaps[side], self.levels[side]
        while heap:
            price = -heap[0] if side == "B" else heap[0]
            if levels.get(price):
                return price
            heapq.heappop(heap)
            levels.pop(price, None)
        return None

    def _forget(self, oid: int) -> None:
        del self.where[oid]
        i = self.pos.pop(oid)
        last = self.live.pop()
        if last != oid:
            self.live[i] = last
            self.pos[last] = i

    def rest(self, oid: int, side: str, price: int, qty: int) -> None:
        level = self.levels[side].get(price)
        if level is None:
            level = self.levels[side][price] = {}
            heapq.heappush(self.heaps[side], -price if side == "B" else price)
        level[oid] = qty
        self.where[oid] = (side, price)
        self.pos[oid] = len(self.live)
        self.live.append(oid)

    def top(self, side: str, k: int) -> list[tuple[int, int]]:
        """The best k non-empty levels of a side as (price, total open qty)."""
        levels = self.levels[side]
        prices = sorted((p for p, q in levels.items() if q), reverse=side == "B")[:k]
        return [(p, sum(levels[p].values())) for p in prices]

    def cancel(self, oid: int) -> None:
        if oid in self.where:
            side, price = self.where[oid]
            del self.levels[side][price][oid]
            self._forget(oid)

    def take(self, side: str, qty: int, limit: int | None) -> int:
        """Match an incoming order; return the unfilled quantity."""
        other = "S" if side == "B" else "B"
        while qty:
            price = self.best(other)
            if price is None or (
                limit is not None and (price > limit if side == "B" else price < limit)
            ):
                break
            level = self.levels[other][price]
            while qty and level:
                maker = next(iter(level))
                fill = min(qty, level[maker])
                qty -= fill
                self.trades += 1
                self.traded_qty += fill
                if fill == level[maker]:
                    del level[maker]
                    self._forget(maker)
                else:
                    level[maker] -= fill
        return qty


def generate(mix: str = "normal", n: int = DEFAULT_N, seed: int = 0) -> list[Op]:
    """Return `n` operations of the named mix (see the module docstring)."""
    return generate_with_expected(mix, n, seed)[0]


# mix -> (cumulative cut points for passive / cancel / marketable limit, the rest
# being market orders; max passive qty; max passive offset behind the touch;
# min resting orders for a cancel to pick a live order)
_MIX_PARAMS: dict[str, tuple[tuple[float, float, float], int, int, int]] = {
    "normal": ((0.60, 0.85, 0.95), 40, 5, 1_000),
    "cancel_heavy": ((0.40, 0.95, 1.00), 100, 5, 1_000),
    "deep_sweep": ((0.90, 1.00, 1.00), 100, 50, 100),
}


def generate_with_expected(
    mix: str = "normal", n: int = DEFAULT_N, seed: int = 0
) -> tuple[list[Op], tuple[int, int]]:
    """Like `generate`, plus (trade_count, traded_qty) of a plain price-time book.

    A trade is one fill between an incoming order and one resting order.
    """
    if mix not in _MIX_PARAMS:
        raise ValueError(f"unknown mix {mix!r}; expected one of {MIXES}")
    cuts, max_passive_qty, max_offset, min_live = _MIX_PARAMS[mix]
    rng = random.Random(seed)
    book = _ShadowBook()
    ops: list[Op] = []
    next_id = 1
    for i in range(n):
        r = rng.random() if next_id > 1 else 0.0  # first op: nothing to cancel yet
        sweep = mix == "deep_sweep" and i % 20 == 19
        if not sweep and cuts[0] <= r < cuts[1]:
            if len(book.live) >= min_live and rng.random() < 0.95:
                target = book.live[rng.randrange(len(book.live))]
            else:  # any earlier id: usually filled, cancelled or a market order
                target = rng.randrange(1, next_id)
            book.cancel(target)
            ops.append(("cancel", target))
            continue
        oid, next_id = next_id, next_id + 1
        side: Side = "B" if rng.random() < 0.5 else "S"
        account = ACCOUNTS[rng.randrange(3)]
        bid, ask = book.best("B"), book.best("S")
        other = "S" if side == "B" else "B"
        far = ask if side == "B" else bid
        if sweep and far is not None:
            # Take exactly the first k opposite levels (fewer if the book is thin).
            levels = book.top(other, rng.randint(5, 15))
            qty = sum(q for _, q in levels)
            if rng.random() < 0.5:
                book.take(side, qty, None)
                ops.append(("market", oid, side, qty, account))
                continue
            price, left = levels[-1][0], book.take(side, qty, levels[-1][0])
        elif not sweep and r >= cuts[1]:
            qty = rng.randint(1, 100)
            if r >= cuts[2]:
                book.take(side, qty, None)
                ops.append(("market", oid, side, qty, account))
                continue
            if far is None:  # empty opposite side: price off our own touch
                near = bid if side == "B" else ask
                far = near if near is not None else FAIR
            through = rng.randint(1, 3)
            price = far + through if side == "B" else max(1, far - through)
            left = book.take(side, qty, price)
        else:
            # Passive (also a sweep that finds nothing to sweep): behind the
            # touch on its own side, never crossing.
            qty, offset = rng.randint(1, max_passive_qty), rng.randint(1, max_offset)
            if bid is not None and ask is not None:
                mid = (bid + ask + (i & 1)) // 2  # alternate rounding: no drift
            else:
                mid = bid + 1 if bid is not None else ask - 1 if ask is not None else FAIR
            anchor = mid + int((FAIR - mid) / 32)  # gentle pull toward FAIR
            if side == "B":
                price = anchor - offset if ask is None else min(anchor - offset, ask - 1)
            else:
                price = anchor + offset if bid is None else max(anchor + offset, bid + 1)
            price, left = max(1, price), qty
        if left:
            book.rest(oid, side, price, left)
        ops.append(("limit", oid, side, price, qty, account))
    return ops, (book.trades, book.traded_qty)


def stats(ops: list[Op]) -> dict[str, int]:
    """Count ops by kind (for eyeballing a mix)."""
    out: dict[str, int] = {}
    for op in ops:
        out[op[0]] = out.get(op[0], 0) + 1
    return out
