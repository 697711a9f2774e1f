"""Depth-limited books: `subscribe {ch: "book", sym, depth}` (docs/protocol.md). Pure.

A depth view shows the best `depth` levels of each side of one instrument's book. It has its
own sequence: each level change *of the view* is numbered 1, 2, 3, ... from the view's start
(a level entering the view when a better one leaves is a change too), and its checksum is the
protocol's CRC32 of the view's best 10 levels per side, so a client checks it exactly as it
checks the full book (for depth >= 10 it equals the full book's checksum). Views start when
first asked for and follow the full book: after each flush of market data, every view of an
instrument whose book changed is compared with the book's top levels, and the differences are
one delta message. Costs: O(depth) per view per changed instrument per batch.
"""

from __future__ import annotations

from typing import Any

from exchange.gateway.book import LevelBook, checksum
from exchange.gateway.protocol import Code, RequestError

DEPTHS = (1, 5, 10, 25, 50, 100)


def parse_depth(args: Any) -> int | None:
    """A subscription's `depth`: None for the full book (absent or "full"), else one of DEPTHS."""
    depth = args.get("depth")
    if depth is None or depth == "full":
        return None
    if type(depth) is not int or depth not in DEPTHS:
        raise RequestError(Code.BAD_REQUEST, "depth must be one of "
                                             f"{', '.join(map(str, DEPTHS))} or \"full\"")
    return depth  # type: ignore[no-any-return]


def channel_key(depth: int | None) -> str:
    """The subscription key of a book stream: "book" (full depth) or "book/<depth>"."""
    return "book" if depth is None else f"book/{depth}"


class DepthView:
    __slots__ = ("asks", "bids", "depth", "seq")

    def __init__(self, depth: int, book: LevelBook) -> None:
        self.depth = depth
        self.seq = 0
        self.bids = dict(book.wire_levels(True, depth))  # px -> qty, best first
        self.asks = dict(book.wire_levels(False, depth))

    def update(self, book: LevelBook) -> list[list[str]]:
        """The view's level changes to match `book` now (absolute quantities, "0" deletes)."""
        changes: list[list[str]] = []
        for side, is_bid in (("bid", True), ("ask", False)):
            shown = self.bids if is_bid else self.asks
            now = dict(book.wire_levels(is_bid, self.depth))
            changes += [[side, px, "0"] for px in shown if px not in now]
            changes += [[side, px, qty] for px, qty in now.items() if shown.get(px) != qty]
            if is_bid:
                self.bids = now
            else:
                self.asks = now
        return changes

    def checksum(self) -> int:
        return checksum(list(self.asks.items()), list(self.bids.items()))  # the best 10

    def snapshot(self, symbol: str, ts_us: int) -> dict[str, Any]:
        return {"ch": "book", "type": "snapshot", "sym": symbol, "depth": self.depth,
                "seq": self.seq, "bids": [list(level) for level in self.bids.items()],
                "asks": [list(level) for level in self.asks.items()],
                "checksum": self.checksum(), "ts_us": ts_us}


class DepthViews:
    """Every depth view the venue keeps, by instrument."""

    def __init__(self) -> None:
        self.views: dict[str, dict[int, DepthView]] = {}

    def view(self, symbol: str, depth: int, book: LevelBook) -> DepthView:
        by_depth = self.views.setdefault(symbol, {})
        view = by_depth.get(depth)
        if view is None:
            view = by_depth[depth] = DepthView(depth, book)
        return view

    def follow(self, flushed: list[tuple[str, str, dict[str, Any]]], books: Any
               ) -> list[tuple[str, str, dict[str, Any]]]:
        """`flushed` (the market data of a batch) and, after each full-book delta, the deltas
        of that instrument's views. `books[symbol].book` is the instrument's LevelBook."""
        if not self.views:
            return flushed
        out: list[tuple[str, str, dict[str, Any]]] = []
        for channel, symbol, message in flushed:
            out.append((channel, symbol, message))
            if channel != "book" or symbol not in self.views:
                continue
            book = books[symbol].book
            for depth, view in self.views[symbol].items():
                changes = view.update(book)
                if changes:
                    first = view.seq + 1
                    view.seq += len(changes)
                    out.append((channel_key(depth), symbol, {
                        "ch": "book", "type": "delta", "sym": symbol, "depth": depth,
                        "first_seq": first, "seq": view.seq, "changes": changes,
                        "checksum": view.checksum(), "ts_us": message["ts_us"]}))
        return out
