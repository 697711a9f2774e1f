"""Trading phases and call auctions: entering and leaving a call, the uncross, the indicative
figures, and volatility interruptions (docs/engine.md, "Trading phases and call auctions").

`Calls` is the engine's collaborator for everything that happens when an instrument is in a
call (PRE_OPEN, CLOSING_AUCTION, VOLATILITY_AUCTION): orders rest there without trading, and
the book may cross. Its invariant: an instrument is in a call exactly when its book's
`in_call` is set; `shown` holds, for each instrument in a call, the indicative figures last
published for it; `volatility_end` holds, for each instrument in a volatility call, when the
call ends and whether it was extended (the engine's `call_ends` heap has an entry for each,
possibly with stale ones beside, skipped when they come up). Entering OPEN or CLOSED uncrosses
a crossed book first, whatever the state before.

Costs: the indicative figures of an instrument O(L log L) in its price levels (level totals:
displayed quantities); an uncross O(L log L + n) in the levels and the orders that trade.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from exchange.engine import auction
from exchange.engine.enums import CALL_STATES, TradingState
from exchange.engine.events import (
    AuctionExtended,
    AuctionIndicative,
    AuctionUncrossed,
    TradingStateChanged,
    VolatilityInterruption,
)
from exchange.engine.instrument import Instrument

if TYPE_CHECKING:
    from exchange.engine.engine import Engine

OPEN, CLOSED = TradingState.OPEN, TradingState.CLOSED
VOLATILITY_AUCTION = TradingState.VOLATILITY_AUCTION
NOTHING = (None, 0, 0, None)  # the figures of a call that would not trade


class Calls:
    """The calls of one engine: their published figures and the volatility calls' ends."""

    __slots__ = ("pending", "shown", "tracked", "volatility_end")

    def __init__(self) -> None:
        self.shown: dict[str, tuple[Any, ...]] = {}  # symbol -> (price, volume, surplus, side)
        self.volatility_end: dict[str, tuple[int, bool]] = {}  # symbol -> (end_us, extended)
        # instruments with auction state worth a digest part (docs/engine.md, "Digest")
        self.tracked: set[str] = set()
        self.pending: set[str] = set()  # to look at after this command besides its book changes

    # -- phases ------------------------------------------------------------------------------

    def enter(self, engine: Engine, instrument: Instrument, state: TradingState) -> None:
        """Move an instrument to `state`: TradingStateChanged, then an uncross if it enters
        OPEN or CLOSED with a crossed book (the call it leaves, or a halt after one)."""
        symbol = instrument.symbol
        before = instrument.state
        instrument.state = state
        engine.instrument_changed(symbol)
        engine.state_digest.mark_member("instrument", symbol, instrument)
        engine.emit(TradingStateChanged, symbol, state)
        if state is not VOLATILITY_AUCTION:
            self.volatility_end.pop(symbol, None)
        if state in CALL_STATES:
            self.tracked.add(symbol)
            if before not in CALL_STATES:
                engine.calls_open += 1
                self.shown[symbol] = ()  # nothing shown yet: the call's first figures will be
            self.pending.add(symbol)
        elif before in CALL_STATES:
            engine.calls_open -= 1
            del self.shown[symbol]
        if state is OPEN or state is CLOSED:
            self.uncross(engine, symbol, before)

    def listed(self, engine: Engine, instrument: Instrument) -> None:
        """An instrument listed in a call is in it from the start (its first figures are
        published at the end of the command)."""
        if instrument.state in CALL_STATES:
            engine.calls_open += 1
            self.shown[instrument.symbol] = ()
            self.pending.add(instrument.symbol)
            self.tracked.add(instrument.symbol)

    def uncross(self, engine: Engine, symbol: str, ended: TradingState) -> None:
        """Trade a crossed book at its one uncrossing price (auction.py), each side from its
        front in price-time priority, icebergs in full. Nothing if the book does not cross."""
        result = self.determine(engine, symbol)
        if result is None:
            return
        book = engine.books[symbol]
        price, volume, surplus, side = result
        engine.emit(AuctionUncrossed, symbol, ended, price, volume, surplus, side)
        buys = _front(book.bids, volume, lambda p: p >= price)
        sells = _front(book.asks, volume, lambda p: p <= price)
        b = s = 0
        while volume:
            buy, sell = buys[b], sells[s]
            qty = min(buy.leaves, sell.leaves, volume)
            engine.uncross_trade(buy, sell, price, qty)
            volume -= qty
            b += not buy.leaves
            s += not sell.leaves

    def determine(self, engine: Engine, symbol: str) -> auction.Uncross | None:
        """The uncross the book would have now, on all quantities (icebergs in full)."""
        book = engine.books.get(symbol)
        if book is None:
            return None
        bids = [(level.price, _leaves(level)) for level in book.bids]
        asks = [(level.price, _leaves(level)) for level in book.asks]
        return auction.uncross(bids, asks, self.reference(engine, symbol))

    @staticmethod
    def reference(engine: Engine, symbol: str) -> int | None:
        """The uncross's reference price: the last trade price, else the instrument's."""
        book = engine.books.get(symbol)
        last = None if book is None else book.last_price
        return engine.instruments[symbol].reference_price if last is None else last

    # -- indicative figures ------------------------------------------------------------------

    def publish(self, engine: Engine, symbols: set[str]) -> None:
        """AuctionIndicative, in symbol order, for each of `symbols` (whose books the command
        touched) and of the pending ones (a call entered, a reference price changed) that is in
        a call and whose figures differ from the ones last shown."""
        symbols = symbols | self.pending
        self.pending = set()
        for symbol in sorted(symbols):
            if symbol not in self.shown:
                continue
            figures = self.figures(engine, symbol)
            if figures != self.shown[symbol]:
                self.shown[symbol] = figures
                engine.emit(AuctionIndicative, symbol, engine.instruments[symbol].state,
                            *figures)

    def figures(self, engine: Engine, symbol: str) -> tuple[Any, ...]:
        """(price, volume, surplus, surplus side) the call would uncross at now, on displayed
        quantities (an iceberg shows its peak only)."""
        book = engine.books.get(symbol)
        if book is None:
            return NOTHING
        bids = [(level.price, level.total) for level in book.bids]
        asks = [(level.price, level.total) for level in book.asks]
        result = auction.uncross(bids, asks, self.reference(engine, symbol))
        return NOTHING if result is None else tuple(result)

    # -- volatility interruptions ------------------------------------------------------------

    def interrupt(self, engine: Engine, order_id: int, symbol: str, price: int, low: int,
                  high: int) -> None:
        """A continuous trade at `price` would leave [low, high]: start a volatility call."""
        instrument = engine.instruments[symbol]
        end = engine.now_us + instrument.volatility[2]
        engine.emit(VolatilityInterruption, symbol, order_id, price, low, high, end)
        self.enter(engine, instrument, VOLATILITY_AUCTION)
        self.volatility_end[symbol] = (end, False)
        heapq.heappush(engine.call_ends, (end, symbol))

    def end_due(self, engine: Engine) -> None:
        """End (or extend, once) each volatility call whose end time has come, earliest first,
        ties by symbol. A call whose uncross price would lie outside the static band goes on
        for another `call_us`; otherwise the instrument enters OPEN (an uncross)."""
        ends = engine.call_ends
        while ends and ends[0][0] <= engine.now_us:
            end, symbol = heapq.heappop(ends)
            if self.volatility_end.get(symbol, (None,))[0] != end:
                continue  # the call ended otherwise before
            instrument = engine.instruments[symbol]
            result = self.determine(engine, symbol)
            price = None if result is None else result.price
            if not self.volatility_end[symbol][1] and _outside_static(instrument, price):
                later = end + instrument.volatility[2]
                self.volatility_end[symbol] = (later, True)
                heapq.heappush(ends, (later, symbol))
                engine.emit(AuctionExtended, symbol, price, later)
                continue
            self.enter(engine, instrument, OPEN)

    # -- state -------------------------------------------------------------------------------

    def canonical(self, engine: Engine) -> tuple:
        """The tracked instruments' auction state, by symbol: last price, the volatility
        call's end, the figures shown."""
        return tuple(
            (symbol, engine.books[symbol].last_price, self.volatility_end.get(symbol),
             self.shown.get(symbol))
            for symbol in sorted(self.tracked))


def _leaves(level: Any) -> int:
    return sum(order.leaves for order in level.orders.values())


def _front(ladder: Any, volume: int, reaches: Any) -> list[Any]:
    """The orders of a side, best first in time priority, that `volume` reaches."""
    taken = []
    for level in ladder:
        if not reaches(level.price) or volume <= 0:
            break
        for order in level.orders.values():
            taken.append(order)
            volume -= order.leaves
            if volume <= 0:
                break
    return taken


def _outside_static(instrument: Instrument, price: int | None) -> bool:
    band = instrument.static_band()
    return price is not None and band is not None and not band[0] <= price <= band[1]

