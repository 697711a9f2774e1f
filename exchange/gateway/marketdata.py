"""Market data from the engine's events: book snapshots and deltas, trades, best bid/offer, and
the trading phase with the auctions (`auction` channel, auction.py). Pure.

`MarketData.apply(command, events)` folds one ledger entry in; `flush()` returns the messages
that the entries since the last flush make, one per channel and instrument, ready to encode once
and send to every subscriber. Books come only from `BookChanged` events, trades from
`TradeExecuted`.

Book sequence: each instrument counts its `BookChanged` events, 1, 2, ... over the whole
history (so it is the same after a restart). A delta carries the changes numbered
`first_seq..seq` in order, with `first_seq` = the previous message's `seq` + 1, and the
checksum of the book after them; a snapshot carries `seq` and the checksum. A client that sees
a gap or a wrong checksum resubscribes. The `auction` channel has its own seq per instrument
(auction.py); a phase change also publishes `bbo`, which carries the phase.
"""

from __future__ import annotations

from typing import Any

from exchange.engine import AddInstrument, BookChanged, Command, Event, Side, TradeExecuted
from exchange.engine.enums import TradingState
from exchange.engine.instrument import format_price
from exchange.gateway.auction import AuctionFeed
from exchange.gateway.book import LevelBook

_SIDE_NAMES = {Side.BUY: "bid", Side.SELL: "ask"}
AUCTION_EVENTS = frozenset(AuctionFeed.EVENTS)


class InstrumentFeed:
    """One instrument's book, its sequence, and what changed since the last flush."""

    __slots__ = (
        "auction",
        "auction_messages",
        "bbo",
        "book",
        "changes",
        "first_pending",
        "last_trade_id",
        "seq",
        "trades",
        "ts_us",
    )

    def __init__(self, symbol: str, decimals: int,
                 phase: TradingState = TradingState.OPEN) -> None:
        self.book = LevelBook(symbol, decimals)
        self.auction = AuctionFeed(symbol, decimals, phase)
        self.auction_messages: list[dict[str, Any]] = []
        self.seq = 0
        self.first_pending = 1
        self.changes: list[list[str]] = []
        self.trades: list[dict[str, Any]] = []
        self.last_trade_id = 0
        self.bbo: tuple | None = (None, None)  # None: publish bbo at the next flush
        self.ts_us = 0


class MarketData:
    def __init__(self) -> None:
        self.feeds: dict[str, InstrumentFeed] = {}
        self._dirty: dict[str, InstrumentFeed] = {}

    def apply(self, command: Command, events: list[Event]) -> None:
        """Fold one entry's events in. O(events x log levels)."""
        if type(command) is AddInstrument and command.symbol not in self.feeds:
            self.feeds[command.symbol] = InstrumentFeed(command.symbol, command.price_decimals,
                                                        TradingState(command.state))
        for event in events:
            kind = type(event)
            if kind is BookChanged:
                self._book_changed(event)  # type: ignore[arg-type]
            elif kind is TradeExecuted:
                self._traded(event)  # type: ignore[arg-type]
            elif kind in AUCTION_EVENTS:
                self._auction(event)

    def _auction(self, event: Any) -> None:
        feed = self.feeds[event.symbol]
        message = feed.auction.apply(event)
        if message is not None:
            feed.auction_messages.append(message)
            feed.bbo = None  # the phase rides on bbo: publish it again
            self._dirty[event.symbol] = feed

    def _book_changed(self, event: BookChanged) -> None:
        feed = self.feeds[event.symbol]
        is_bid = event.side is Side.BUY
        feed.book.set(is_bid, event.price, event.qty)
        feed.seq += 1
        feed.ts_us = event.ts_us
        feed.changes.append([_SIDE_NAMES[event.side],
                             format_price(event.price, feed.book.decimals), str(event.qty)])
        self._dirty[event.symbol] = feed

    def _traded(self, event: TradeExecuted) -> None:
        feed = self.feeds[event.symbol]
        feed.last_trade_id = event.trade_id
        feed.trades.append({
            "trade_id": str(event.trade_id), "px": format_price(event.price, feed.book.decimals),
            "qty": str(event.qty), "aggressor_side": event.aggressor_side.name,
            "ts_us": event.ts_us,
        })
        self._dirty[event.symbol] = feed

    def flush(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(channel, symbol, message) for everything since the last flush; book deltas first,
        then trades, then a changed best bid/offer (or phase), then auction messages.
        O(changes)."""
        out: list[tuple[str, str, dict[str, Any]]] = []
        for symbol, feed in self._dirty.items():
            if feed.changes:
                out.append(("book", symbol, {
                    "ch": "book", "type": "delta", "sym": symbol, "first_seq": feed.first_pending,
                    "seq": feed.seq, "changes": feed.changes, "checksum": feed.book.checksum(),
                    "ts_us": feed.ts_us,
                }))
                feed.changes = []
                feed.first_pending = feed.seq + 1
            if feed.trades:
                out.append(("trades", symbol, {"ch": "trades", "sym": symbol,
                                               "trades": feed.trades}))
                feed.trades = []
            bbo = (feed.book.best(True), feed.book.best(False))
            if bbo != feed.bbo:
                feed.bbo = bbo
                out.append(("bbo", symbol, self.bbo(symbol)))
            if feed.auction_messages:
                out.extend(("auction", symbol, message) for message in feed.auction_messages)
                feed.auction_messages = []
        self._dirty = {}
        return out

    def discard_pending(self) -> None:
        """Forget unflushed changes (after a replay, where nobody was listening)."""
        for feed in self._dirty.values():
            feed.changes, feed.trades, feed.auction_messages = [], [], []
            feed.first_pending = feed.seq + 1
            feed.bbo = (feed.book.best(True), feed.book.best(False))
        self._dirty = {}

    def snapshot(self, symbol: str) -> dict[str, Any]:
        """The whole book now, with its seq and checksum. O(levels)."""
        feed = self.feeds[symbol]
        book = feed.book
        return {
            "ch": "book", "type": "snapshot", "sym": symbol, "seq": feed.seq,
            "bids": [list(level) for level in book.wire_levels(True, None)],
            "asks": [list(level) for level in book.wire_levels(False, None)],
            "checksum": book.checksum(), "ts_us": feed.ts_us,
        }

    def bbo(self, symbol: str) -> dict[str, Any]:
        feed = self.feeds[symbol]
        decimals = feed.book.decimals
        message: dict[str, Any] = {"ch": "bbo", "sym": symbol, "seq": feed.seq,
                                   "phase": feed.auction.phase.name}
        for is_bid, prefix in ((True, "bid"), (False, "ask")):
            best = feed.book.best(is_bid)
            message[f"{prefix}_px"] = None if best is None else format_price(best[0], decimals)
            message[f"{prefix}_qty"] = None if best is None else str(best[1])
        return message

    def auction_snapshot(self, symbol: str) -> dict[str, Any]:
        return self.feeds[symbol].auction.snapshot()

    def heartbeat(self, ts_us: int) -> dict[str, Any]:
        return {
            "ch": "heartbeat", "ts_us": ts_us,
            "book": {symbol: feed.seq for symbol, feed in self.feeds.items()},
            "trades": {symbol: str(feed.last_trade_id) for symbol, feed in self.feeds.items()},
            "auction": {symbol: feed.auction.seq for symbol, feed in self.feeds.items()},
        }
