"""The order book: two ladders of price levels, each level a FIFO of resting orders.

Invariants (asserted by `check`): the book is never crossed (best bid < best ask); a ladder has
no empty level; a level's `total` is the sum of its orders' displayed (`visible`) quantities;
every resting order has 0 < visible <= leaves, sits at its own price on its own side, and
appears once. Orders keep time priority by their place in their level's OrderedDict, and
their `priority` numbers (given by the engine as they join a level) increase along it; an
iceberg's refill goes to the back with a new number.

Costs: best level O(1); remove the best level O(1); add or remove another level O(log L) to find
its place plus a memmove of up to L keys; add, cancel or fill an order O(1) within its level.

A ladder keeps its price keys in a plain sorted list (bisect), best last, rather than a
sortedcontainers SortedList: for the level counts a commodity book has (tens to thousands,
inside a price band) the C-level list is about 4x faster to add to and remove from, and reading
the best key is a plain index instead of a Python method call; matching takes levels off the end.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Iterator

from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce


class Order:
    """A live order. `qty` is the total order quantity; `leaves` what remains; cum = qty - leaves."""

    __slots__ = (
        "account",
        "cl_ord_id",
        "display_qty",
        "expire_at_us",
        "firm",
        "leaves",
        "ord_type",
        "order_id",
        "post_only",
        "price",
        "priority",
        "qty",
        "side",
        "stp",
        "symbol",
        "tif",
        "visible",
    )

    def __init__(
        self,
        order_id: int,
        account: str,
        firm: str,
        cl_ord_id: str,
        symbol: str,
        side: Side,
        ord_type: OrdType,
        price: int | None,
        qty: int,
        display_qty: int | None,
        tif: TimeInForce,
        expire_at_us: int | None,
        post_only: bool,
        stp: StpMode,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.firm = firm
        self.cl_ord_id = cl_ord_id
        self.symbol = symbol
        self.side = side
        self.ord_type = ord_type
        self.price = price
        self.qty = qty
        self.leaves = qty
        self.visible = qty if display_qty is None else min(display_qty, qty)
        self.display_qty = display_qty
        self.tif = tif
        self.expire_at_us = expire_at_us
        self.post_only = post_only
        self.stp = stp
        self.priority = 0  # time priority: set from the engine's counter when it joins a level

    @property
    def cum_qty(self) -> int:
        return self.qty - self.leaves

    def refill(self) -> None:
        """Show the next slice of an iceberg (its queue place is the caller's business)."""
        self.visible = self.leaves if self.display_qty is None else min(self.display_qty, self.leaves)

    def canonical(self) -> tuple:
        """Every field that is state, in a fixed order: what digests and snapshots hold."""
        return (
            self.order_id, self.account, self.firm, self.cl_ord_id, self.symbol, int(self.side),
            int(self.ord_type), self.price, self.qty, self.leaves, self.visible, self.display_qty,
            int(self.tif), self.expire_at_us, self.post_only, int(self.stp), self.priority,
        )


class Level:
    """One price on one side: resting orders in time priority and their displayed total."""

    __slots__ = ("orders", "price", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: OrderedDict[int, Order] = OrderedDict()
        self.total = 0

    def append(self, order: Order) -> None:
        self.orders[order.order_id] = order
        self.total += order.visible

    def remove(self, order: Order) -> None:
        del self.orders[order.order_id]
        self.total -= order.visible



class Ladder:
    """One side of a book: levels by price, best first (highest bid, lowest ask)."""

    __slots__ = ("_keys", "_sign", "levels", "side")

    def __init__(self, side: Side) -> None:
        self.side = side
        self.levels: dict[int, Level] = {}
        self._sign = 1 if side is Side.BUY else -1  # key = price * sign; the best key is last
        self._keys: list[int] = []  # ascending

    def best(self) -> Level | None:
        """The best level, or None if the side is empty. O(1)."""
        keys = self._keys
        return self.levels[keys[-1] * self._sign] if keys else None

    def level_for(self, price: int) -> Level:
        """The level at `price`, created (empty) if absent."""
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = Level(price)
            insort(self._keys, price * self._sign)
        return level

    def drop(self, level: Level) -> None:
        """Remove an (empty) level; O(1) for the best one."""
        del self.levels[level.price]
        keys, key = self._keys, level.price * self._sign
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def reindex(self) -> None:
        """Rebuild the price keys from `levels`, after levels were put there directly (a
        snapshot load). O(L log L)."""
        self._keys = sorted(price * self._sign for price in self.levels)

    def __iter__(self) -> Iterator[Level]:
        """Levels best first."""
        sign = self._sign
        for key in reversed(self._keys):
            yield self.levels[key * sign]

    def check(self) -> None:
        assert self._keys == sorted(self._keys)
        assert sorted(self.levels) == sorted(key * self._sign for key in self._keys)
        for price, level in self.levels.items():
            assert level.price == price
            assert level.orders, f"empty level {self.side.name} {price}"
            assert level.total == sum(o.visible for o in level.orders.values())
            priorities = [order.priority for order in level.orders.values()]
            assert priorities == sorted(set(priorities)), "time priority out of order"
            for order_id, order in level.orders.items():
                assert order.order_id == order_id
                assert order.side is self.side and order.price == price
                assert 0 < order.visible <= order.leaves <= order.qty
                if order.display_qty is not None:
                    assert order.visible <= order.display_qty
                else:
                    assert order.visible == order.leaves


class Book:
    """Both sides of one instrument's book."""

    __slots__ = ("asks", "bids", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids = Ladder(Side.BUY)
        self.asks = Ladder(Side.SELL)

    def ladder(self, side: Side) -> Ladder:
        return self.bids if side is Side.BUY else self.asks

    def orders(self) -> Iterator[Order]:
        """Every resting order: bids best first, then asks, each level in time priority."""
        for ladder in (self.bids, self.asks):
            for level in ladder:
                yield from level.orders.values()

    def check(self) -> None:
        self.bids.check()
        self.asks.check()
        bid, ask = self.bids.best(), self.asks.best()
        if bid is not None and ask is not None:
            assert bid.price < ask.price, f"crossed book {self.symbol}: {bid.price} >= {ask.price}"


class Books(dict[str, Book]):
    """Books by symbol, each made the first time it is asked for. Callers ask only for listed
    instruments; most listed instruments never see an order, and an empty book made at listing
    would cost time and memory for each of them (a venue may list 150,000)."""

    def __missing__(self, symbol: str) -> Book:
        book = self[symbol] = Book(symbol)
        return book
