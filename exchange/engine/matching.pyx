# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Continuous matching: an aggressor against the opposite side of its book, best price first,
time priority within a price, each trade at the resting order's price.

A trade takes the least of the maker's displayed and the taker's remaining quantity; an
iceberg maker shown out refills at the back of its level with a new priority number; a maker
of the taker's firm meets the taker's self-trade prevention mode instead of trading. Each
trade is numbered (`next_trade_id`), kept for busts (`day_trades`) and counted into both
firms' day and net bought notionals. Costs: O(levels crossed + orders met), each trade O(1)
(dropping an emptied best level is O(1)).
"""

from exchange.engine.book cimport Book, Ladder, Level
from exchange.engine.changes cimport LevelChanges
from exchange.engine.order cimport BUY, CANCEL_INCOMING, CANCEL_RESTING, DECREMENT, Order
from exchange.engine.resting cimport Resting, abs64, resting_changed
from exchange.engine.risk cimport Firm
from exchange.engine.stream cimport EventStream

from exchange.engine.enums import Side
from exchange.engine.reasons import CancelReason

_SIDES = (None, Side.BUY, Side.SELL)


cdef class Matcher:
    """Trades aggressors against resting orders, through the resting index and event stream."""

    def __cinit__(self, EventStream stream, Resting resting, LevelChanges changes):
        self.stream, self.resting, self.changes = stream, resting, changes
        self.day_trades = {}
        self.next_trade_id = 1

    cdef match(self, Book book, Order taker, object limit):
        """Trade `taker` against the opposite side, best price first, up to `limit` (None: no
        limit). Ends when the taker is done, the side is empty or past the limit, or a
        self-trade rule cancels the taker."""
        cdef bint buying = taker.c_side == BUY
        cdef bint has_limit = limit is not None
        cdef long long bound = limit if has_limit else 0
        cdef Ladder ladder = book.asks if buying else book.bids
        cdef Level level
        cdef Order maker
        cdef long long price, qty, bought, traded, scale = book.scale
        cdef Firm taker_firm, maker_firm
        cdef Resting resting = self.resting
        cdef long long band_low = 0, band_high = 0
        cdef bint banded = book.vi_bands(&band_low, &band_high)  # as they are when it starts
        symbol = book.symbol
        aggressor = _SIDES[taker.c_side]
        while taker.leaves:
            level = ladder.top()
            if level is None:
                break
            price = level.price
            if has_limit and (price > bound if buying else price < bound):
                break
            if banded and (price < band_low or price > band_high):
                self.interrupted(taker.order_id, symbol, price, band_low, band_high)
                break
            self.changes.touch(level)
            while taker.leaves and level.count:
                maker = level.head
                if maker.firm == taker.firm:
                    if not self.prevent_self_trade(level, maker, taker):
                        break
                    continue
                qty = min(maker.visible, taker.leaves)
                maker.visible -= qty
                maker.leaves -= qty
                level.total -= qty
                taker.leaves -= qty
                book.c_last, book.has_last = price, True
                self.stream.trade(self.next_trade_id, symbol, price, qty, aggressor, maker, taker)
                self.day_trades[self.next_trade_id] = (
                    (symbol, price, qty, taker.account, maker.account) if buying
                    else (symbol, price, qty, maker.account, taker.account))
                self.next_trade_id += 1
                bought = (price if buying else -price) * qty * scale  # the taker's firm
                traded = abs64(bought)
                taker_firm, maker_firm = taker.firm_ref, maker.firm_ref
                taker_firm.net_bought += bought
                taker_firm.day_notional += traded
                maker_firm.net_bought -= bought
                maker_firm.day_notional += traded
                resting_changed(maker, -qty)
                if maker.visible:
                    resting.mark(maker)
                    continue
                if maker.leaves:  # iceberg: next slice, at the back of the level
                    maker.refill()
                    maker.priority = resting.next_priority
                    resting.next_priority += 1
                    level.total += maker.visible
                    level.to_back(maker)
                    resting.mark(maker)
                else:
                    level.unlink(maker)
                    resting.unindex(maker)
            if not level.count:
                ladder.remove_level(level)

    def uncross_fill(self, Book book, Order buy, Order sell, long long price, long long qty):
        """One fill of an uncross (calls.py): `qty` of two resting orders at `price`, the
        earlier of them (by time priority) the maker. Icebergs trade beyond their peak and
        keep their place, showing min(peak, leaves); a filled order leaves the book. O(log L)
        to find the two levels."""
        cdef Order maker = buy if buy.priority < sell.priority else sell
        cdef Order taker = sell if maker is buy else buy
        cdef Order order
        cdef Level level
        cdef long long shown, bought = price * qty * book.scale
        for order in (maker, taker):
            level = (book.bids if order.c_side == BUY else book.asks).at(order.c_price)
            self.changes.touch(level)
            order.leaves -= qty
            shown = min(order.visible, order.leaves)
            level.total -= order.visible - shown
            order.visible = shown
            resting_changed(order, -qty)
            self.resting.mark(order)
        self.stream.trade(self.next_trade_id, book.symbol, price, qty, _SIDES[taker.c_side],
                          maker, taker)
        self.day_trades[self.next_trade_id] = (book.symbol, price, qty, buy.account, sell.account)
        self.next_trade_id += 1
        buy.firm_ref.net_bought += bought
        sell.firm_ref.net_bought -= bought
        buy.firm_ref.day_notional += abs64(bought)
        if sell.firm_ref is not buy.firm_ref:  # a firm's own trade counts once in its day
            sell.firm_ref.day_notional += abs64(bought)
        book.c_last, book.has_last = price, True
        for order in (maker, taker):
            if not order.leaves:
                self.resting.take_out(order)

    cdef bint prevent_self_trade(self, Level level, Order maker, Order taker) except -1:
        """Apply the taker's STP mode to a same-firm maker; False when the taker is done."""
        cdef int mode = taker.c_stp
        cdef long long overlap, shown
        if mode == DECREMENT:
            overlap = min(taker.leaves, maker.leaves)
            taker.leaves -= overlap
            if overlap < maker.leaves:
                maker.leaves -= overlap
                resting_changed(maker, -overlap)
                shown = min(maker.visible, maker.leaves)
                level.total -= maker.visible - shown
                maker.visible = shown
                self.resting.mark(maker)
                self.stream.restated(maker, CancelReason.STP_DECREMENT)
            else:
                self.remove_resting(level, maker, overlap, CancelReason.STP_DECREMENT)
            if taker.leaves:
                self.stream.restated(taker, CancelReason.STP_DECREMENT)
                return True
            self.stream.canceled(taker, overlap, CancelReason.STP_DECREMENT)
            return False
        if mode != CANCEL_INCOMING:
            self.remove_resting(level, maker, maker.leaves, CancelReason.STP_RESTING)
        if mode == CANCEL_RESTING:
            return True
        self.stream.canceled(taker, taker.leaves, CancelReason.STP_INCOMING)
        taker.leaves = 0
        return False

    cdef remove_resting(self, Level level, Order order, long long qty, object reason):
        """Cancel a maker met inside the matching loop (its level is already touched; the loop
        drops the level if this empties it)."""
        level.unlink(order)
        self.resting.unindex(order)
        self.stream.canceled(order, qty, reason)
