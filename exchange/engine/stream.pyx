# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The event stream of one command: each event takes the next `seq` and the engine clock
`now_us`, then its own fields, in the order the engine caused them.

`EventStream` owns the numbering and the clock (the core advances `now_us` from the commands'
times, never back) and the list of the current command's events (`start` begins a new one).
Events are the NamedTuples of events.py, made without their Python-level __new__ (allocate the
tuple subtype and fill it, as tuple.__new__ would), so an event costs one allocation. Every
method O(1).
"""

from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_SET_ITEM

from exchange.engine.book cimport Level
from exchange.engine.order cimport Order

from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce
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
from exchange.engine.validation import is_int

_SIDES = (None, Side.BUY, Side.SELL)
_ORD_TYPES = (None, OrdType.LIMIT, OrdType.MARKET)
_TIFS = (None, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD, TimeInForce.IOC,
         TimeInForce.FOK)
_STPS = (None, StpMode.CANCEL_RESTING, StpMode.CANCEL_INCOMING, StpMode.CANCEL_BOTH,
         StpMode.DECREMENT)


cdef extern from "Python.h":
    object PyType_GenericAlloc(type kind, Py_ssize_t items)  # every NamedTuple's tp_alloc


cdef inline object _event(type cls, tuple fields):
    """An event of type `cls` (a NamedTuple) holding `fields`."""
    cdef Py_ssize_t i, n = PyTuple_GET_SIZE(fields)
    made = PyType_GenericAlloc(cls, n)
    for i in range(n):
        item = <object>PyTuple_GET_ITEM(fields, i)
        Py_INCREF(item)  # PyTuple_SET_ITEM steals it
        PyTuple_SET_ITEM(made, i, item)
    return made


cdef inline object _field(object record, Py_ssize_t i):
    """Field i of a command whose type is known (a NamedTuple: a tuple of fixed length)."""
    return <object>PyTuple_GET_ITEM(record, i)


def text_field(value):
    """A field for a rejection event: the string itself if it is printable text, else a
    bounded repr of what came (repr escapes what is not printable, so the event is always
    encodable)."""
    if type(value) is str and (<str>value).isprintable():
        return value
    return repr(value)[:64]


cdef class EventStream:
    """The numbering and clock of events, and the current command's events."""

    def __cinit__(self):
        self.events = []

    cdef list start(self):
        """Begin a command's events; the list returned is the one they go to."""
        self.events = []
        return self.events

    cdef add(self, type kind, tuple fields):
        """An event of `kind`: the next seq, the clock, then `fields`."""
        self.seq += 1
        self.events.append(_event(kind, (self.seq, self.now_us) + fields))

    cdef accepted(self, Order order, object cmd):
        self.seq += 1
        self.events.append(_event(OrderAccepted, (
            self.seq, self.now_us, order.order_id, order.account, order.cl_ord_id, order.symbol,
            _SIDES[order.c_side], _ORD_TYPES[order.c_ord_type], order.qty, _field(cmd, 6),
            _TIFS[order.c_tif], _field(cmd, 9), order.post_only, _field(cmd, 11),
            _STPS[order.c_stp])))

    cdef trade(self, long long trade_id, str symbol, long long price, long long qty,
               object aggressor, Order maker, Order taker):
        self.seq += 1
        self.events.append(_event(TradeExecuted, (
            self.seq, self.now_us, trade_id, symbol, price, qty, aggressor,
            maker.order_id, maker.account, maker.leaves,
            taker.order_id, taker.account, taker.leaves)))

    cdef canceled(self, Order order, long long qty, object reason):
        self.seq += 1
        self.events.append(_event(OrderCanceled, (
            self.seq, self.now_us, order.order_id, order.account, order.symbol, qty, reason)))

    cdef restated(self, Order order, object reason):
        self.seq += 1
        self.events.append(_event(OrderRestated, (
            self.seq, self.now_us, order.order_id, order.account, order.symbol, order.leaves,
            reason)))

    cdef expired(self, Order order):
        self.seq += 1
        self.events.append(_event(OrderExpired, (
            self.seq, self.now_us, order.order_id, order.account, order.symbol, order.leaves)))

    cdef replaced(self, Order order, bint kept_priority):
        self.seq += 1
        self.events.append(_event(OrderReplaced, (
            self.seq, self.now_us, order.order_id, order.account, order.cl_ord_id, order.symbol,
            order.qty, order.price, order.leaves, kept_priority)))

    cdef book_changed(self, Level level, long long total):
        self.seq += 1
        self.events.append(_event(BookChanged, (
            self.seq, self.now_us, level.symbol, _SIDES[level.c_side], level.price, total)))

    cdef order_rejected(self, object cmd, object reason):
        self.seq += 1
        self.events.append(_event(OrderRejected, (
            self.seq, self.now_us, text_field(_field(cmd, 1)), text_field(_field(cmd, 2)),
            text_field(_field(cmd, 3)), reason)))

    cdef cancel_rejected(self, object cmd, object reason):
        """For a cancel or amend (its order, if any, is unchanged)."""
        order_id = cmd.order_id if is_int(cmd.order_id) else 0
        self.seq += 1
        self.events.append(_event(CancelRejected, (
            self.seq, self.now_us, text_field(cmd.account), order_id, reason)))

    cdef command_rejected(self, object reason, str detail):
        self.seq += 1
        detail = detail if detail.isprintable() else ascii(detail)  # always encodable
        self.events.append(_event(CommandRejected, (self.seq, self.now_us, reason, detail[:200])))
