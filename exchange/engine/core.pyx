# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The engine's compiled core: one command in, its events out.

`Core` dispatches: the commands of the hot path (SubmitOrder, CancelOrder) in C, every other
command to a Python function in `handlers` (amendments.py, venue.py), which works through the
public methods below. The work is done by collaborators, each in its own module: the event
stream with the seq and clock (stream.pyx), the levels a command changed (changes.pyx), the
resting orders and their indexes (resting.pyx), matching (matching.pyx), the entry checks
(entry.pyx) and a snapshot's order blob (orderblob.pyx). `exchange.engine.engine.Engine` is
its Python face (digest, recounts, invariants).

Every field of a command is checked in Python first (`validation`), so typed code only ever
sees validated values. Costs: `apply` is O(1) plus what the command does (matching: O(levels
crossed + orders met); a level found or made O(log L)).
"""

from cpython.dict cimport PyDict_GetItem
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM

from exchange.engine.book cimport Book, Ladder, Level
from exchange.engine.changes cimport LevelChanges
from exchange.engine.entry cimport crosses, entry_reason, new_order, price_reason
from exchange.engine.matching cimport Matcher
from exchange.engine.order cimport BUY, GTD, MARKET, Order
from exchange.engine.resting cimport Resting, resting_changed
from exchange.engine.risk cimport Account
from exchange.engine.stream cimport EventStream

import heapq

from exchange.engine import orderblob
from exchange.engine.book import Books
from exchange.engine.commands import CancelOrder, SubmitOrder
from exchange.engine.entry import credit_reason
from exchange.engine.reasons import CancelReason, Reject
from exchange.engine.validation import cancel_fields, submit_fields

_heappop = heapq.heappop


cdef inline object _field(object record, Py_ssize_t i):
    """Field i of a command whose type is known (a NamedTuple: a tuple of fixed length)."""
    return <object>PyTuple_GET_ITEM(record, i)


cdef class Core:
    """All instruments, books, accounts and live orders of one venue, and the hot path."""

    cdef public long long last_command_seq, next_order_id
    cdef public dict instruments, accounts, firms, keys, handlers
    cdef public set busted
    cdef public object books, state_digest
    cdef readonly EventStream stream
    cdef readonly LevelChanges changes
    cdef readonly Resting resting
    cdef readonly Matcher matcher
    # the collaborators for calls (calls.Calls) and held stops (stops.Stops), with the counts
    # the hot path looks at: instruments in a call, held stops; and the volatility calls' ends
    cdef public object calls, stops
    cdef public long long calls_open, stop_count
    cdef public list call_ends  # heap of (end_us, symbol), lazy

    def __cinit__(self, *args, **kwargs):
        self.next_order_id = 1
        self.instruments, self.accounts, self.firms = {}, {}, {}
        self.keys, self.handlers = {}, {}
        self.busted = set()
        self.books = Books(self.instruments)  # a listed instrument's book: made at first use
        self.stream = EventStream()
        self.changes = LevelChanges()
        self.resting = Resting(self.books, self.changes)
        self.matcher = Matcher(self.stream, self.resting, self.changes)
        self.call_ends = []

    # -- the state the collaborators keep -------------------------------------------------

    @property
    def seq(self):
        return self.stream.seq

    @seq.setter
    def seq(self, long long value):
        self.stream.seq = value

    @property
    def now_us(self):
        return self.stream.now_us

    @now_us.setter
    def now_us(self, long long value):
        self.stream.now_us = value

    @property
    def orders(self):
        return self.resting.orders

    @property
    def gtd_queue(self):
        return self.resting.gtd_queue

    @property
    def next_priority(self):
        return self.resting.next_priority

    @next_priority.setter
    def next_priority(self, long long value):
        self.resting.next_priority = value

    @property
    def next_trade_id(self):
        return self.matcher.next_trade_id

    @next_trade_id.setter
    def next_trade_id(self, long long value):
        self.matcher.next_trade_id = value

    @property
    def day_trades(self):
        return self.matcher.day_trades

    @day_trades.setter
    def day_trades(self, dict value):
        self.matcher.day_trades = value

    # -- the one entry point ---------------------------------------------------------------

    def apply(self, command):
        """Carry out one command; return its events. Never raises for bad input."""
        cdef type kind = type(command)
        cdef long long ts
        cdef EventStream stream = self.stream
        stream.seq += 1
        self.last_command_seq = stream.seq
        self.changes.begin()
        events = stream.start()
        handler = None
        fast = kind is SubmitOrder or kind is CancelOrder
        if not fast:
            handler = self.handlers.get(kind)
        if fast:
            stamp = _field(command, 0)  # ts_us, the first field of every command
        elif handler is not None:
            stamp = command.ts_us
        if (fast or handler is not None) and _as_int64(stamp, &ts) and ts > stream.now_us:
            stream.now_us = ts  # the clock never goes back
        queue = self.resting.gtd_queue
        if queue and queue[0][0] <= stream.now_us:
            self.expire_due()
        if self.call_ends and self.call_ends[0][0] <= stream.now_us:
            self.calls.end_due(self)
        if kind is SubmitOrder:
            self.submit(command)
        elif kind is CancelOrder:
            self.cancel_(command)
        elif handler is None:
            stream.command_rejected(Reject.INVALID_FIELD, f"not a command: {kind.__name__}")
        else:
            handler(self, command)
        if self.stop_count:
            self.stops.cascade(self, events)
        if self.calls_open:
            symbols = self.changes.symbols()
            if self.changes.any():
                self.changes.publish(stream)
            self.calls.publish(self, symbols)
        elif self.changes.any():
            self.changes.publish(stream)
        return events

    # -- the hot path ----------------------------------------------------------------------

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
            self.stream.order_rejected(cmd, reason)
            return
        cdef Account account = found
        cdef Book book
        cdef PyObject *made = PyDict_GetItem(self.books, _field(cmd, 3))
        book = <Book><object>made if made is not NULL else self.books[_field(cmd, 3)]
        cdef Order order = new_order(self.next_order_id, cmd, account, book)
        reason = entry_reason(order, account, instrument, book, self.stream.now_us)
        if reason is not None:
            self.stream.order_rejected(cmd, reason)
            return
        self.next_order_id += 1
        self.stream.accepted(order, cmd)
        if book.in_call:  # nothing trades in a call before its uncross
            self.resting.rest(book, order)
            return
        cdef bint market = order.c_ord_type == MARKET
        cdef Ladder opposite = book.asks if order.c_side == BUY else book.bids
        cdef Level best = opposite.top()
        if best is not None and (market or crosses(order.c_side, True, order.c_price,
                                                   best.price)):
            if market:
                self.matcher.match(book, order, book.band_edge(order.c_side))
            else:
                self.matcher.match(book, order, order.c_price)
            if not order.leaves:
                return
        if not market and order.c_tif <= GTD:
            self.resting.rest(book, order)
            return
        if book.in_call:  # its trade interrupted trading
            why = CancelReason.VOLATILITY_INTERRUPTION
        else:
            why = CancelReason.PRICE_BAND if market and opposite.n else CancelReason.IOC_REMAINDER
        self.stream.canceled(order, order.leaves, why)

    cdef cancel_(self, object cmd):
        reason = cancel_fields(cmd)
        order = None if reason is not None else self.resting.orders.get(_field(cmd, 2))
        if order is not None and (<Order>order).account == _field(cmd, 1):
            self.resting.take_out(order)
            self.stream.canceled(order, (<Order>order).leaves, CancelReason.REQUESTED)
        elif not (reason is None and self.stop_count
                  and self.stops.cancel(self, _field(cmd, 2), _field(cmd, 1))):
            self.stream.cancel_rejected(cmd, reason or Reject.UNKNOWN_ORDER)

    cdef expire_due(self):
        """Expire GTD orders whose time is at or before the engine clock, earliest first."""
        queue = self.resting.gtd_queue
        orders = self.resting.orders
        while queue and queue[0][0] <= self.stream.now_us:
            order = orders.get(_heappop(queue)[1])
            if order is not None:  # else it already left the book
                self.resting.take_out(order)
                self.stream.expired(order)

    # -- for the collaborators in Python (amendments.py, venue.py, snapshot.py) --------------

    def check_price(self, price, instrument):
        """A limit price against the instrument: on a tick, in range, inside the band."""
        if price is None:
            return Reject.INVALID_PRICE
        return price_reason(True, price, self.books[instrument.symbol])

    def check_credit(self, account, instrument, side, price, qty, replacing=None):
        """The firm's credit limit against a buy (entry.credit_reason). O(1)."""
        return credit_reason(self.firms[account.firm], instrument, side, price, qty, replacing)

    def instrument_changed(self, str symbol):
        """The instrument's trading state or band changed: its book (if made) reads them again."""
        book = self.books.get(symbol)
        if book is not None:
            (<Book>book).refresh()

    def emit(self, event_type, *fields):
        """Append an event of `event_type` with the next seq, the clock, then `fields`."""
        self.stream.add(event_type, fields)

    def reject_command(self, reason, str detail):
        self.stream.command_rejected(reason, detail)

    def reject_cancel(self, cmd, reason):
        """CancelRejected for a cancel or amend (its order, if any, is unchanged)."""
        self.stream.cancel_rejected(cmd, reason)

    def canceled(self, Order order, long long qty, reason):
        self.stream.canceled(order, qty, reason)

    def replaced(self, Order order, bint kept_priority):
        self.stream.replaced(order, kept_priority)

    def submit_order(self, cmd):
        """Enter a SubmitOrder as `apply` would, inside the current command (a triggered
        stop, stops.py)."""
        self.submit(cmd)

    def uncross_trade(self, Order buy, Order sell, long long price, long long qty):
        """One fill of an uncross at `price` (Matcher.uncross_fill)."""
        self.matcher.uncross_fill(self.books[buy.symbol], buy, sell, price, qty)

    def take_out(self, Order order):
        """Remove a resting order from the book and every index (no event)."""
        self.resting.take_out(order)

    def expire(self, Order order):
        """Take a resting order out with an OrderExpired."""
        self.resting.take_out(order)
        self.stream.expired(order)

    def match(self, Book book, Order taker, limit):
        self.matcher.match(book, taker, limit)

    def rest(self, Book book, Order order):
        self.resting.rest(book, order)

    def touch(self, Level level):
        self.changes.touch(level)

    def resting_changed(self, Order order, long long leaves_change):
        """Count a change of a resting order's leaves, other than by a trade, into its firm's
        open notionals, and mark the order changed for the digest."""
        resting_changed(order, leaves_change)
        self.resting.mark(order)

    def orders_of(self, accounts):
        """The live orders of these accounts, in order-id (entry) order."""
        found = [order for account in accounts for order in account.open_orders.values()]
        return sorted(found, key=_order_id)

    def order_parts(self):
        """The sum, modulo 2**256, of the resting orders' digest parts (Resting.order_parts)."""
        return self.resting.order_parts()

    def dump_orders(self, dict account_numbers):
        """Every resting order as (levels, blob) for a snapshot (orderblob.dump_orders)."""
        return orderblob.dump_orders(self.books, self.accounts, account_numbers)

    def load_orders(self, list levels, bytes blob, list accounts):
        """Put back what `dump_orders` wrote (orderblob.load_orders)."""
        orderblob.load_orders(self.resting, self.books, levels, blob, accounts)


def _order_id(Order order):
    return order.order_id


cdef bint _as_int64(value, long long *out):
    """Whether `value` is an int (not a bool) within +-(2**63 - 1); if so, its value."""
    cdef int overflow = 0
    if type(value) is not int:
        return False
    out[0] = PyLong_AsLongLongAndOverflow(value, &overflow)
    return not overflow and out[0] != (-9223372036854775807 - 1)
