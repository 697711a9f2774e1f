"""A price-level book as market data sees it, and its CRC32 checksum. Pure; server and client.

A `LevelBook` holds, per side, price (integer units) -> displayed quantity (lots), with no
zero levels; `set` is the only mutation, with the absolute quantity of a level ("0" deletes).
The server keeps one per instrument from the engine's `BookChanged` events; the client keeps one
from snapshots and deltas. Both compute `checksum()` the same way, so a client proves its book
equals the venue's after every message.

Checksum (docs/protocol.md has test vectors): CRC32 (zlib, unsigned) of the ASCII string made of
the best 10 asks (lowest first) then the best 10 bids (highest first), each level written as
`<price>:<qty>` with the price exactly as on the wire (the instrument's decimals) and levels
joined by `,`, the two sides joined by `|`. Example: asks 101.00x3, bids 100.50x2 and 100.00x7
give "101.00:3|100.50:2,100.00:7".

Costs: `set` O(log L); `top(n)` O(n); `checksum` O(10).
"""

from __future__ import annotations

import zlib
from itertools import islice

from sortedcontainers import SortedDict

from exchange.engine.instrument import format_price

DEPTH = 10


def checksum_text(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> str:
    """The string whose CRC32 is the checksum; levels best first, already wire-formatted."""
    def side(levels: list[tuple[str, str]]) -> str:
        return ",".join(f"{px}:{qty}" for px, qty in levels[:DEPTH])
    return f"{side(asks)}|{side(bids)}"


def checksum(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> int:
    return zlib.crc32(checksum_text(asks, bids).encode("ascii"))


class LevelBook:
    __slots__ = ("asks", "bids", "decimals", "symbol")

    def __init__(self, symbol: str, decimals: int) -> None:
        self.symbol = symbol
        self.decimals = decimals
        self.bids: SortedDict = SortedDict()  # -price -> qty: best (highest) first
        self.asks: SortedDict = SortedDict()  # price -> qty: best (lowest) first

    def set(self, is_bid: bool, price: int, qty: int) -> None:
        """Set a level's displayed quantity; 0 removes it. O(log L)."""
        ladder, key = (self.bids, -price) if is_bid else (self.asks, price)
        if qty:
            ladder[key] = qty
        else:
            ladder.pop(key, None)

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    def top(self, is_bid: bool, depth: int | None = DEPTH) -> list[tuple[int, int]]:
        """(price, qty) best first, at most `depth` levels (None: all). O(depth)."""
        ladder = self.bids if is_bid else self.asks
        sign = -1 if is_bid else 1
        items = ladder.items() if depth is None else islice(ladder.items(), depth)
        return [(key * sign, qty) for key, qty in items]

    def wire_levels(self, is_bid: bool, depth: int | None = DEPTH) -> list[tuple[str, str]]:
        decimals = self.decimals
        return [(format_price(px, decimals), str(qty)) for px, qty in self.top(is_bid, depth)]

    def best(self, is_bid: bool) -> tuple[int, int] | None:
        top = self.top(is_bid, 1)
        return top[0] if top else None

    def checksum(self) -> int:
        return checksum(self.wire_levels(False), self.wire_levels(True))

    def check(self) -> None:
        """Invariants: no zero or negative levels; not crossed."""
        assert all(qty > 0 for qty in self.bids.values())
        assert all(qty > 0 for qty in self.asks.values())
        bid, ask = self.best(True), self.best(False)
        assert bid is None or ask is None or bid[0] < ask[0], f"crossed {self.symbol}"
