# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The engine's compiled core: order entry, matching, resting, cancels, expiry and events.

`Core` holds the state and runs the commands on the hot path (SubmitOrder, CancelOrder) in C;
every other command is a Python function in `handlers` (amendments.py, venue.py) that uses the
public methods below. `exchange.engine.engine.Engine` is its Python face (digest, invariants).

Every field of a command is checked in Python first (`validation`), so typed code only ever
sees validated values: ints within 64 bits, enum values, printable strings. Products of
prices and quantities are formed only after the order's terms are checked against its
instrument, whose bounds keep any order's notional within MAX_ORDER_NOTIONAL (10**18) and a
firm's totals below 2**63 (instrument.py), so C arithmetic cannot overflow.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_SET_ITEM

from exchange.engine.book cimport Book, Ladder, Level, Order
from exchange.engine.risk cimport Account, Firm

import heapq

from exchange.engine.book import Books
from exchange.engine.commands import CancelOrder, SubmitOrder
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce, TradingState
from exchange.engine.events import (
    BookChanged,
    CancelRejected,
    CommandRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    OrderRestated,
    TradeExecuted,
)
from exchange.engine.instrument import FIRM_NOTIONAL_CAPACITY
from exchange.engine.pretrade import STATE_REJECT, band_edge, check_limits
from exchange.engine.reasons import CancelReason, Reject
from exchange.engine.validation import cancel_fields, is_int, submit_fields

cdef enum:
    BUY = 1
    SELL = 2
    LIMIT = 1
    MARKET = 2
    GTC = 1
    DAY = 2
    GTD = 3
    IOC = 4
    FOK = 5
    CANCEL_RESTING = 1
    CANCEL_INCOMING = 2
    CANCEL_BOTH = 3
    DECREMENT = 4

cdef long long CAPACITY = FIRM_NOTIONAL_CAPACITY
_SIDES = (None, Side.BUY, Side.SELL)
_ORD_TYPES = (None, OrdType.LIMIT, OrdType.MARKET)
_TIFS = (None, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD, TimeInForce.IOC,
         TimeInForce.FOK)
_STPS = (None, StpMode.CANCEL_RESTING, StpMode.CANCEL_INCOMING, StpMode.CANCEL_BOTH,
         StpMode.DECREMENT)
_OPEN = TradingState.OPEN
_heappush, _heappop = heapq.heappush, heapq.heappop


cdef extern from "Python.h":
    object PyType_GenericAlloc(type kind, Py_ssize_t items)  # every NamedTuple's tp_alloc


cdef inline object _event(type cls, tuple fields):
    """An event (a NamedTuple) made from its fields without the NamedTuple's Python-level
    __new__: allocate the tuple subtype and fill it, as tuple.__new__(cls, fields) would."""
    cdef Py_ssize_t i, n = PyTuple_GET_SIZE(fields)
    made = PyType_GenericAlloc(cls, n)
    for i in range(n):
        item = <object>PyTuple_GET_ITEM(fields, i)
        Py_INCREF(item)  # PyTuple_SET_ITEM steals it
        PyTuple_SET_ITEM(made, i, item)
    return made


# A resting order in a snapshot: seven int64 (order_id, qty, leaves, visible, priority,
# display_qty, expire_at_us; 0 when absent), the account's number (int64), flags (has display,
# has expiry, post-only), ord_type, tif, stp (a byte each), the cl_ord_id's UTF-8 length (two
# bytes); then the cl_ord_id. Little-endian throughout.
cdef Py_ssize_t _ORDER_RECORD = 70


cdef inline void _put64(unsigned char *at, long long value):
    cdef unsigned long long bits = <unsigned long long>value
    cdef int i
    for i in range(8):
        at[i] = (bits >> (8 * i)) & 0xFF


cdef inline long long _get64(const unsigned char *at):
    cdef unsigned long long bits = 0
    cdef int i
    for i in range(8):
        bits |= (<unsigned long long>at[i]) << (8 * i)
    return <long long>bits


cdef inline void _add(unsigned long long *total, unsigned long long *part):
    """total += part, modulo 2**256 (four limbs, most significant first)."""
    cdef unsigned long long carry = 0, step, after
    cdef int i
    for i in range(3, -1, -1):
        step = total[i] + part[i]
        after = step + carry
        carry = (step < part[i]) | (after < step)
        total[i] = after


cdef inline void _subtract(unsigned long long *total, unsigned long long *part):
    """total -= part, modulo 2**256."""
    cdef unsigned long long borrow = 0, step, after
    cdef int i
    for i in range(3, -1, -1):
        step = total[i] - part[i]
        after = step - borrow
        borrow = (part[i] > total[i]) | (borrow > step)
        total[i] = after


cdef inline object _field(object record, Py_ssize_t i):
    """Field i of a command whose type is known (a NamedTuple: a tuple of fixed length)."""
    return <object>PyTuple_GET_ITEM(record, i)


cdef inline bint _crosses(int side, bint has_price, long long price, long long opposite):
    """Would an order at `price` (none: a market order) trade with a level at `opposite`?"""
    if not has_price:
        return True
    return price >= opposite if side == BUY else price <= opposite


cdef inline long long _abs(long long value):
    return -value if value < 0 else value


def text_field(value):
    """A field for a rejection event: the string itself if it is printable text, else a
    bounded repr of what came (repr escapes what is not printable, so the event is always
    encodable)."""
    if type(value) is str and (<str>value).isprintable():
        return value
    return repr(value)[:64]


cdef class Core:
    """All instruments, books, accounts and live orders of one venue, and the hot path."""

    cdef public long long seq, last_command_seq, now_us
    cdef public long long next_order_id, next_trade_id, next_priority
    cdef public dict instruments, accounts, orders, firms, keys, day_trades, handlers
    cdef public set busted
    cdef public list gtd_queue  # heap of (expire_at_us, order_id), lazy
    cdef public object books, state_digest
    cdef list dirty  # orders changed since the last order_parts(), each once
    cdef unsigned long long order_sum[4]  # the sum of every resting order's digest part
    cdef list events, touched
    cdef long long command_no

    def __cinit__(self, *args, **kwargs):
        self.next_order_id = self.next_trade_id = self.next_priority = 1
        self.instruments, self.accounts, self.orders, self.firms = {}, {}, {}, {}
        self.keys, self.day_trades, self.handlers = {}, {}, {}
        self.busted, self.gtd_queue = set(), []
        self.books = Books(self.instruments)  # a listed instrument's book: made at first use
        self.events, self.touched, self.dirty = [], [], []

    # -- the one entry point ---------------------------------------------------------------

    def apply(self, command):
        """Carry out one command; return its events. Never raises for bad input."""
        cdef type kind = type(command)
        cdef long long ts
        self.seq += 1
        self.last_command_seq = self.seq
        self.command_no += 1
        events = self.events = []
        handler = None
        fast = kind is SubmitOrder or kind is CancelOrder
        if not fast:
            handler = self.handlers.get(kind)
        if fast:
            stamp = _field(command, 0)  # ts_us, the first field of every command
        elif handler is not None:
            stamp = command.ts_us
        if (fast or handler is not None) and _as_int64(stamp, &ts) and ts > self.now_us:
            self.now_us = ts  # the clock never goes back
        if self.gtd_queue and self.gtd_queue[0][0] <= self.now_us:
            self.expire_due()
        if kind is SubmitOrder:
            self.submit(command)
        elif kind is CancelOrder:
            self.cancel_(command)
        elif handler is None:
            self.reject_command(Reject.INVALID_FIELD, f"not a command: {kind.__name__}")
        else:
            handler(self, command)
        if self.touched:
            self.publish_book_changes()
        return events

    # -- order entry -----------------------------------------------------------------------

    cdef submit(self, object cmd):
        reason = submit_fields(cmd)
        found = instrument = None
        if reason is None:
            found = self.accounts.get(_field(cmd, 1))
            if found is None:
                reason = Reject.UNKNOWN_ACCOUNT
            else:
                instrument = self.instruments.get(_field(cmd, 3))
                if instrument is None:
                    reason = Reject.UNKNOWN_INSTRUMENT
        if reason is not None:
            self.reject_order(cmd, reason)
            return
        cdef Account account = found
        cdef Book book
        cdef PyObject *made = PyDict_GetItem(self.books, _field(cmd, 3))
        book = <Book><object>made if made is not NULL else self.books[_field(cmd, 3)]
        cdef Order order = _new_order(self.next_order_id, cmd, account, book)
        reason = self.check_order(order, account, instrument, book)
        if reason is not None:
            self.reject_order(cmd, reason)
            return
        self.next_order_id += 1
        self.seq += 1
        self.events.append(_event(OrderAccepted, (
            self.seq, self.now_us, order.order_id, order.account, order.cl_ord_id, order.symbol,
            _SIDES[order.c_side], _ORD_TYPES[order.c_ord_type], order.qty, _field(cmd, 6),
            _TIFS[order.c_tif], _field(cmd, 9), order.post_only, _field(cmd, 11), _STPS[order.c_stp])))
        cdef bint market = order.c_ord_type == MARKET
        cdef Ladder opposite = book.asks if order.c_side == BUY else book.bids
        cdef Level best = opposite.top()
        if best is not None and (market or _crosses(order.c_side, True, order.c_price,
                                                    best.price)):
            if market:
                self.match_(book, order, book.band_edge(order.c_side))
            else:
                self.match_(book, order, order.c_price)
            if not order.leaves:
                return
        if not market and order.c_tif <= GTD:
            self.rest_(book, order)
            return
        why = CancelReason.PRICE_BAND if market and opposite.n else CancelReason.IOC_REMAINDER
        self.canceled_(order, order.leaves, why)

    cdef check_order(self, Order order, Account account, instrument, Book book):
        """The checks after the field types, in a fixed order; None if the order may enter."""
        cdef Firm firm = order.firm_ref
        if account.blocked or firm.blocked:
            return Reject.BLOCKED
        if book.state is not _OPEN:
            return STATE_REJECT[book.state]
        reason = self.check_terms(order, book)
        if reason is None and (account.max_order_qty or account.max_order_notional):
            reason = check_limits(account, instrument, order.c_side, order.qty, order.price)
        if reason is None and order.c_side == BUY and firm.credit_limit:
            reason = self.check_credit(account, instrument, BUY, order.price, order.qty)
        if reason is None and _worst_notional(order, book) > CAPACITY - firm.day_notional - firm.open_notional:
            reason = Reject.NOTIONAL_CAPACITY
        if reason is not None:
            return reason
        if order.cl_ord_id in account.live_cl_ord_ids:
            return Reject.DUPLICATE_ORDER
        limit = account.max_open_orders
        if (order.c_ord_type == LIMIT and order.c_tif <= GTD and limit is not None
                and len(account.open_orders) >= limit):
            return Reject.ACCOUNT_MAX_OPEN_ORDERS
        if order.c_ord_type == MARKET or order.post_only or order.c_tif == FOK:
            return self.check_book(order, book)
        return None

    cdef check_terms(self, Order order, Book book):
        """The order's own terms against the instrument: quantity, price, TIF, iceberg."""
        cdef int tif = order.c_tif
        if order.qty < book.min_qty:
            return Reject.QUANTITY_BELOW_MIN
        if order.qty > book.max_qty:
            return Reject.QUANTITY_ABOVE_MAX
        if order.c_ord_type == LIMIT:
            reason = _price_reason(order.has_price, order.c_price, book)
            if reason is not None:
                return reason
        elif order.has_price:
            return Reject.INVALID_PRICE
        elif tif < IOC or order.post_only:
            return Reject.INVALID_TIF
        if order.post_only and tif >= IOC:
            return Reject.INVALID_TIF
        if (tif == GTD) != order.has_expire:
            return Reject.INVALID_EXPIRE_TIME
        if order.has_expire and order.c_expire <= self.now_us:
            return Reject.INVALID_EXPIRE_TIME
        if order.has_display and (order.c_display > order.qty or tif > GTD):
            return Reject.INVALID_DISPLAY_QTY
        return None

    cdef check_book(self, Order order, Book book):
        """Checks against the book at this moment: liquidity, post-only, fill-or-kill."""
        cdef Ladder opposite = book.asks if order.c_side == BUY else book.bids
        cdef Level best = opposite.top()
        if order.c_ord_type == MARKET and best is None:
            return Reject.NO_LIQUIDITY
        if (order.post_only and best is not None
                and _crosses(order.c_side, order.has_price, order.c_price, best.price)):
            return Reject.WOULD_TAKE
        if order.c_tif == FOK:
            limit = order.c_price if order.c_ord_type == LIMIT else book.band_edge(order.c_side)
            if not _fillable(opposite, order, limit):
                return Reject.FOK_NOT_FILLABLE
        return None

    def check_price(self, price, instrument):
        """A limit price against the instrument: on a tick, in range, inside the band."""
        if price is None:
            return Reject.INVALID_PRICE
        return _price_reason(True, price, self.books[instrument.symbol])

    def instrument_changed(self, str symbol):
        """The instrument's trading state or band changed: its book (if made) reads them again."""
        book = self.books.get(symbol)
        if book is not None:
            (<Book>book).refresh()

    def check_credit(self, account, instrument, side, price, qty, replacing=None):
        """A buy may not take the firm's open buy notional (over all its instruments) plus its
        net bought notional plus this order's notional past its credit limit. A market buy is
        priced at the band's edge; with no band it cannot be bounded, so a firm with a limit
        may not send one. O(1): the open buy notional is a running total."""
        firm = self.firms[account.firm]
        if side != BUY or firm.credit_limit is None:
            return None
        if price is None:
            price = band_edge(instrument, BUY)
            if price is None:
                return Reject.CREDIT_LIMIT
        exposure = firm.open_buy + firm.net_bought + instrument.notional(price, qty)
        if replacing is not None:
            exposure -= instrument.notional(replacing.price, replacing.leaves)
        return Reject.CREDIT_LIMIT if exposure > firm.credit_limit else None

    # -- matching ----------------------------------------------------------------------------

    cdef match_(self, Book book, Order taker, limit):
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
        cdef list events = self.events
        cdef Firm taker_firm, maker_firm
        symbol = book.symbol
        aggressor = _SIDES[taker.c_side]
        while taker.leaves:
            level = ladder.top()
            if level is None:
                break
            price = level.price
            if has_limit and (price > bound if buying else price < bound):
                break
            self.touch_(level)
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
                self.seq += 1
                events.append(_event(TradeExecuted, (
                    self.seq, self.now_us, self.next_trade_id, symbol, price, qty, aggressor,
                    maker.order_id, maker.account, maker.leaves,
                    taker.order_id, taker.account, taker.leaves)))
                self.day_trades[self.next_trade_id] = (
                    (symbol, price, qty, taker.account, maker.account) if buying
                    else (symbol, price, qty, maker.account, taker.account))
                self.next_trade_id += 1
                bought = (price if buying else -price) * qty * scale  # the taker's firm
                traded = _abs(bought)
                taker_firm, maker_firm = taker.firm_ref, maker.firm_ref
                taker_firm.net_bought += bought
                taker_firm.day_notional += traded
                maker_firm.net_bought -= bought
                maker_firm.day_notional += traded
                _resting_changed(maker, -qty)
                if maker.visible:
                    self.mark(maker)
                    continue
                if maker.leaves:  # iceberg: next slice, at the back of the level
                    maker.refill()
                    maker.priority = self.next_priority
                    self.next_priority += 1
                    level.total += maker.visible
                    level.to_back(maker)
                    self.mark(maker)
                else:
                    level.unlink(maker)
                    self.unindex(maker)
            if not level.count:
                ladder.remove_level(level)

    cdef bint prevent_self_trade(self, Level level, Order maker, Order taker) except -1:
        """Apply the taker's STP mode to a same-firm maker; False when the taker is done."""
        cdef int mode = taker.c_stp
        cdef long long overlap, shown
        if mode == DECREMENT:
            overlap = min(taker.leaves, maker.leaves)
            taker.leaves -= overlap
            if overlap < maker.leaves:
                maker.leaves -= overlap
                _resting_changed(maker, -overlap)
                shown = min(maker.visible, maker.leaves)
                level.total -= maker.visible - shown
                maker.visible = shown
                self.mark(maker)
                self.restated_(maker, CancelReason.STP_DECREMENT)
            else:
                self.remove_resting(level, maker, overlap, CancelReason.STP_DECREMENT)
            if taker.leaves:
                self.restated_(taker, CancelReason.STP_DECREMENT)
                return True
            self.canceled_(taker, overlap, CancelReason.STP_DECREMENT)
            return False
        if mode != CANCEL_INCOMING:
            self.remove_resting(level, maker, maker.leaves, CancelReason.STP_RESTING)
        if mode == CANCEL_RESTING:
            return True
        self.canceled_(taker, taker.leaves, CancelReason.STP_INCOMING)
        taker.leaves = 0
        return False

    cdef remove_resting(self, Level level, Order order, long long qty, reason):
        """Cancel a maker met inside the matching loop (its level is already touched; the loop
        drops the level if this empties it)."""
        level.unlink(order)
        self.unindex(order)
        self.canceled_(order, qty, reason)

    # -- resting and leaving -----------------------------------------------------------------

    cdef rest_(self, Book book, Order order):
        """Put a live order at the back of its level and into every index."""
        order.refill()
        order.priority = self.next_priority
        self.next_priority += 1
        cdef Ladder ladder = book.bids if order.c_side == BUY else book.asks
        cdef Level level = ladder.at(order.c_price)
        if level is None:
            level = self.new_level(ladder, order.c_price)
        self.touch_(level)
        level.push(order)
        cdef Account account = order.account_ref
        key = order.order_id
        self.orders[key] = order
        self.mark(order)
        account.open_orders[key] = order
        _resting_changed(order, order.leaves)
        account.live_cl_ord_ids[order.cl_ord_id] = key
        if order.has_expire:
            _heappush(self.gtd_queue, (order.c_expire, order.order_id))

    cdef unindex(self, Order order):
        _resting_changed(order, -order.leaves)
        key = order.order_id
        del self.orders[key]
        self.mark(order)
        cdef Account account = order.account_ref
        del account.open_orders[key]
        del account.live_cl_ord_ids[order.cl_ord_id]

    cdef take_out_(self, Order order):
        """Remove a resting order from its level (dropping the level if emptied) and indexes."""
        cdef Book book = <Book><object>PyDict_GetItem(self.books, order.symbol)  # it rests: made
        cdef Ladder ladder = book.bids if order.c_side == BUY else book.asks
        cdef Level level = ladder.at(order.c_price)
        self.touch_(level)
        level.unlink(order)
        if not level.count:
            ladder.remove_level(level)
        self.unindex(order)

    cdef cancel_(self, object cmd):
        reason = cancel_fields(cmd)
        order = None if reason is not None else self.orders.get(_field(cmd, 2))
        if order is not None and (<Order>order).account == _field(cmd, 1):
            self.take_out_(order)
            self.canceled_(order, (<Order>order).leaves, CancelReason.REQUESTED)
        else:
            self.reject_cancel(cmd, reason or Reject.UNKNOWN_ORDER)

    cdef expire_due(self):
        """Expire GTD orders whose time is at or before the engine clock, earliest first."""
        queue = self.gtd_queue
        while queue and queue[0][0] <= self.now_us:
            order = self.orders.get(_heappop(queue)[1])
            if order is not None:  # else it already left the book
                self.expire_(order)

    cdef expire_(self, Order order):
        self.take_out_(order)
        self.seq += 1
        self.events.append(_event(OrderExpired, (
            self.seq, self.now_us, order.order_id, order.account, order.symbol, order.leaves)))

    cdef inline void mark(self, Order order):
        """Note an order whose digest part changed (or went: it left the book). O(1)."""
        if not order.dirty:
            order.dirty = True
            self.dirty.append(order)

    def order_parts(self):
        """The sum, modulo 2**256, of the digest parts of every resting order (digest.py),
        brought up to date first: each order changed since the last call is hashed again, in
        C, and one that left the book is taken out. O(orders changed)."""
        cdef Order order
        orders = self.orders
        for order in self.dirty:
            order.dirty = False
            if order.counted:
                _subtract(self.order_sum, order.part)
                order.counted = False
            if orders.get(order.order_id) is order:
                order.digest_part(order.part)
                _add(self.order_sum, order.part)
                order.counted = True
        self.dirty = []
        total = 0
        for i in range(4):
            total = (total << 64) | self.order_sum[i]
        return total

    # -- levels this command changed ---------------------------------------------------------

    cdef inline touch_(self, Level level):
        """Note a level about to change, with its displayed total before the command."""
        if level.mark != self.command_no:
            level.mark = self.command_no
            level.before = level.total
            self.touched.append(level)

    cdef Level new_level(self, Ladder ladder, long long price):
        """A new level; if this command emptied (and dropped) one at the same place, the new
        one takes its place in the touched list and keeps its total from before."""
        cdef Level level = ladder.make(price)
        cdef Level seen
        cdef Py_ssize_t i
        for i in range(len(self.touched)):
            seen = self.touched[i]
            if seen.price == price and seen.c_side == ladder.c_side and seen.symbol == ladder.symbol:
                self.touched[i] = level
                level.mark, level.before = self.command_no, seen.before
                break
        return level

    cdef publish_book_changes(self):
        """One BookChanged per touched level whose total moved (a dropped level is empty)."""
        cdef Level level
        cdef long long total
        touched, self.touched = self.touched, []
        for level in touched:
            total = level.total if level.count else 0
            if total != level.before:
                self.seq += 1
                self.events.append(_event(BookChanged, (
                    self.seq, self.now_us, level.symbol, _SIDES[level.c_side], level.price,
                    total)))

    # -- events ------------------------------------------------------------------------------

    cdef canceled_(self, Order order, long long qty, reason):
        self.seq += 1
        self.events.append(_event(OrderCanceled, (
            self.seq, self.now_us, order.order_id, order.account, order.symbol, qty, reason)))

    cdef restated_(self, Order order, reason):
        self.seq += 1
        self.events.append(_event(OrderRestated, (
            self.seq, self.now_us, order.order_id, order.account, order.symbol, order.leaves,
            reason)))

    cdef reject_order(self, object cmd, reason):
        self.seq += 1
        self.events.append(_event(OrderRejected, (
            self.seq, self.now_us, text_field(_field(cmd, 1)), text_field(_field(cmd, 2)), text_field(_field(cmd, 3)),
            reason)))

    # -- for the collaborators in Python (amendments.py, venue.py, snapshot.py) --------------

    def emit(self, event_type, *fields):
        """Append an event of `event_type` with the next seq, the clock, then `fields`."""
        self.seq += 1
        self.events.append(_event(event_type, (self.seq, self.now_us) + fields))

    def reject_command(self, reason, str detail):
        self.seq += 1
        detail = detail if detail.isprintable() else ascii(detail)  # always encodable
        self.events.append(_event(CommandRejected, (self.seq, self.now_us, reason, detail[:200])))

    def reject_cancel(self, cmd, reason):
        """CancelRejected for a cancel or amend (its order, if any, is unchanged)."""
        order_id = cmd.order_id if is_int(cmd.order_id) else 0
        self.seq += 1
        self.events.append(_event(CancelRejected, (
            self.seq, self.now_us, text_field(cmd.account), order_id, reason)))

    def canceled(self, Order order, long long qty, reason):
        self.canceled_(order, qty, reason)

    def replaced(self, Order order, bint kept_priority):
        self.seq += 1
        self.events.append(_event(OrderReplaced, (
            self.seq, self.now_us, order.order_id, order.account, order.cl_ord_id, order.symbol,
            order.qty, order.price, order.leaves, kept_priority)))

    def take_out(self, Order order):
        """Remove a resting order from the book and every index (no event)."""
        self.take_out_(order)

    def expire(self, Order order):
        """Take a resting order out with an OrderExpired."""
        self.expire_(order)

    def match(self, Book book, Order taker, limit):
        self.match_(book, taker, limit)

    def rest(self, Book book, Order order):
        self.rest_(book, order)

    def touch(self, Level level):
        self.touch_(level)

    def resting_changed(self, Order order, long long leaves_change):
        """Count a change of a resting order's leaves, other than by a trade, into its firm's
        open notionals, and mark the order changed for the digest."""
        _resting_changed(order, leaves_change)
        self.mark(order)

    def orders_of(self, accounts):
        """The live orders of these accounts, in order-id (entry) order."""
        found = [order for account in accounts for order in account.open_orders.values()]
        return sorted(found, key=_order_id)

    def dump_orders(self, dict account_numbers):
        """Every resting order, level by level, as (levels, blob) for a snapshot: `levels` a
        list of (symbol, side, price, order count), book by book in the order books were made,
        bids best first then asks best first; `blob` the orders of those levels in time
        priority, one binary record each (`_ORDER_RECORD` bytes, then the cl_ord_id). Accounts
        are given by their number in `account_numbers`. One C pass; O(orders)."""
        cdef Ladder ladder
        cdef Level level
        cdef Order order
        cdef Account account
        cdef Py_ssize_t length, i, at = 0, cap = 1 << 16
        cdef const char *text
        cdef unsigned char *out = <unsigned char *>malloc(cap)
        cdef unsigned char *grown
        if out == NULL:
            raise MemoryError()
        for name, number in account_numbers.items():
            (<Account>self.accounts[name]).number = number
        levels = []
        try:
            for symbol, book in self.books.items():
                for ladder in ((<Book>book).bids, (<Book>book).asks):
                    for i in range(ladder.n - 1, -1, -1):
                        level = ladder.lvls[i]
                        levels.append((symbol, level.c_side, level.price, level.count))
                        order = level.head
                        while order is not None:
                            text = PyUnicode_AsUTF8AndSize(order.cl_ord_id, &length)
                            if at + _ORDER_RECORD + length > cap:
                                cap = 2 * cap + _ORDER_RECORD + length
                                grown = <unsigned char *>realloc(out, cap)
                                if grown == NULL:
                                    raise MemoryError()
                                out = grown
                            _put64(out + at, order.order_id)
                            _put64(out + at + 8, order.qty)
                            _put64(out + at + 16, order.leaves)
                            _put64(out + at + 24, order.visible)
                            _put64(out + at + 32, order.priority)
                            _put64(out + at + 40, order.c_display)
                            _put64(out + at + 48, order.c_expire)
                            _put64(out + at + 56, order.account_ref.number)
                            out[at + 64] = order.has_display | (order.has_expire << 1) | (
                                order.post_only << 2)
                            out[at + 65] = order.c_ord_type
                            out[at + 66] = order.c_tif
                            out[at + 67] = order.c_stp
                            out[at + 68] = length & 0xFF
                            out[at + 69] = length >> 8
                            memcpy(out + at + _ORDER_RECORD, text, length)
                            at += _ORDER_RECORD + length
                            order = order.next
            return levels, PyBytes_FromStringAndSize(<char *>out, at)
        finally:
            free(out)

    def load_orders(self, list levels, bytes blob, list accounts):
        """Put back what `dump_orders` wrote (accounts by number), indexing every order and
        hashing its digest part; the firms' running totals are the caller's (a recount).
        ValueError on a blob that does not match its levels. One C loop; O(orders)."""
        cdef const unsigned char *data = <const unsigned char *>PyBytes_AS_STRING(blob)
        cdef Py_ssize_t size = len(blob), at = 0, length, count, n
        cdef Book book
        cdef Level level
        cdef Order order
        cdef Account account
        cdef int flags
        cdef list made = []
        ladder_key = None
        for symbol, side, price, count in levels:
            if (symbol, side) != ladder_key:
                self.set_levels(ladder_key, made)
                ladder_key, made = (symbol, side), []
            book = self.books[symbol]
            if side != BUY and side != SELL:
                raise ValueError(f"level side {side!r}")
            level = Level(symbol, side, price)
            made.append(level)
            for n in range(count):
                if at + _ORDER_RECORD > size:
                    raise ValueError("the order records end early")
                length = data[at + 68] | (data[at + 69] << 8)
                if at + _ORDER_RECORD + length > size:
                    raise ValueError("the order records end early")
                account = accounts[_get64(data + at + 56)]
                order = Order.__new__(Order)
                order.order_id = _get64(data + at)
                order.qty = _get64(data + at + 8)
                order.leaves = _get64(data + at + 16)
                order.visible = _get64(data + at + 24)
                order.priority = _get64(data + at + 32)
                order.c_display = _get64(data + at + 40)
                order.c_expire = _get64(data + at + 48)
                flags = data[at + 64]
                order.has_display, order.has_expire = flags & 1, (flags >> 1) & 1
                order.post_only = (flags >> 2) & 1
                order.c_ord_type, order.c_tif, order.c_stp = data[at + 65], data[at + 66], data[at + 67]
                order.cl_ord_id = PyUnicode_DecodeUTF8(<const char *>data + at + _ORDER_RECORD,
                                                       length, NULL)
                at += _ORDER_RECORD + length
                order.account, order.firm, order.symbol = account.account, account.firm, symbol
                order.account_ref, order.firm_ref = account, account.firm_ref
                order.c_side, order.has_price, order.c_price, order.scale = (
                    side, True, price, book.scale)
                level.push(order)
                key = order.order_id
                self.orders[key] = order
                account.open_orders[key] = order
                account.live_cl_ord_ids[order.cl_ord_id] = key
                order.digest_part(order.part)  # now, while the order is in the cache
                _add(self.order_sum, order.part)
                order.counted = True
                if order.has_expire:
                    self.gtd_queue.append((order.c_expire, key))  # heapified by the caller
        self.set_levels(ladder_key, made)
        if at != size:
            raise ValueError("order records beyond the levels")

    cdef set_levels(self, key, list best_first):
        """Give a ladder its levels, best first, at once (a snapshot load)."""
        if key is None:
            return
        book = self.books[key[0]]
        (<Book>book).ladder(key[1]).set_levels(best_first)

def _order_id(Order order):
    return order.order_id


cdef bint _as_int64(value, long long *out):
    """Whether `value` is an int (not a bool) within +-(2**63 - 1); if so, its value."""
    cdef int overflow = 0
    if type(value) is not int:
        return False
    out[0] = PyLong_AsLongLongAndOverflow(value, &overflow)
    return not overflow and out[0] != (-9223372036854775807 - 1)


cdef inline void _resting_changed(Order order, long long leaves_change):
    """Keep the firm's open notional (|price| x leaves) and open buy notional (price x leaves of
    its buys) as running totals when a resting order's leaves change."""
    cdef Firm firm = order.firm_ref
    firm.open_notional += _abs(order.c_price) * leaves_change * order.scale
    if order.c_side == BUY:
        firm.open_buy += order.c_price * leaves_change * order.scale


cdef _price_reason(bint has_price, long long price, Book book):
    if not has_price:
        return Reject.INVALID_PRICE
    if price % book.tick:
        return Reject.INVALID_PRICE_INCREMENT
    if not book.min_price <= price <= book.max_price:
        return Reject.PRICE_OUT_OF_RANGE
    if book.has_band and not book.band_low <= price <= book.band_high:
        return Reject.PRICE_OUTSIDE_BAND
    return None


cdef Order _new_order(long long order_id, object cmd, Account account, Book book):
    """The Order a validated SubmitOrder would make (not yet accepted: nothing indexes it)."""
    cdef Order order = Order.__new__(Order)
    price, expire, display = _field(cmd, 6), _field(cmd, 9), _field(cmd, 11)
    order.order_id = order_id
    order.account, order.cl_ord_id, order.symbol = _field(cmd, 1), _field(cmd, 2), _field(cmd, 3)
    order.firm = account.firm
    order.account_ref = account
    order.firm_ref = account.firm_ref
    order.c_side, order.qty, order.c_ord_type = _field(cmd, 4), _field(cmd, 5), _field(cmd, 7)
    order.c_tif, order.post_only, order.c_stp = _field(cmd, 8), _field(cmd, 10), _field(cmd, 12)
    order.has_price = price is not None
    order.c_price = price if order.has_price else 0
    order.has_expire = expire is not None
    order.c_expire = expire if order.has_expire else 0
    order.has_display = display is not None
    order.c_display = display if order.has_display else 0
    order.leaves = order.qty
    order.refill()
    order.scale = book.scale
    return order



cdef bint _fillable(Ladder ladder, Order taker, limit) except -1:
    """Whether matching would fill the taker entirely by trades (fill-or-kill), given its
    self-trade mode: same-firm orders are skipped with CANCEL_RESTING and end the fill with any
    other mode. An iceberg's hidden part counts unless a same-firm order waits behind it."""
    cdef bint has_limit = limit is not None
    cdef long long bound = limit if has_limit else 0
    cdef long long qty = taker.qty, hidden
    cdef bint same_firm_ahead
    cdef Level level
    cdef Order order
    cdef Py_ssize_t i
    for i in range(ladder.n - 1, -1, -1):
        level = ladder.lvls[i]
        if not _crosses(taker.c_side, has_limit, bound, level.price):
            return False
        same_firm_ahead = False
        hidden = 0
        order = level.head
        while order is not None:
            if order.firm == taker.firm:
                if taker.c_stp != CANCEL_RESTING:
                    same_firm_ahead = True
                    break
            else:
                qty -= order.visible
                if qty <= 0:
                    return True
            order = order.next
        if same_firm_ahead:
            return False
        order = level.head
        while order is not None:
            if order.firm != taker.firm:
                hidden += order.leaves - order.visible
            order = order.next
        qty -= hidden
        if qty <= 0:
            return True
    return False


cdef long long _worst_notional(Order order, Book book):
    """The most the order may be worth at any price it may trade at: its own price or, on entry,
    opposite levels between the best one and its price; a market order anywhere in the trading
    range (the band, else the price range). Its terms are checked: within 10**18."""
    cdef long long most
    cdef Level best
    if not order.has_price:
        if book.has_band:
            most = max(_abs(book.band_low), _abs(book.band_high))
        else:
            most = max(_abs(book.min_price), _abs(book.max_price))
    else:
        best = (book.asks if order.c_side == BUY else book.bids).top()
        most = _abs(order.c_price)
        if best is not None:
            most = max(most, _abs(best.price))
    return most * order.qty * book.scale
