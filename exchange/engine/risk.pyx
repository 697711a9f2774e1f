# cython: language_level=3
"""Firms and accounts: limits, kill switches, and the running notionals the risk checks read.

Compiled so that the order-entry and matching code (`core.pyx`) reads and writes their fields
as struct members; from Python they are plain objects with the same attributes as before.
Notionals and the credit limit are money, in 10**-6 of the currency, over all instruments; the
bounds of instrument.py keep every running total below 2**63 (FIRM_NOTIONAL_CAPACITY), which
is why they are C integers here.
"""

cdef extern from "Python.h":
    dict _PyDict_NewPresized(Py_ssize_t minused)  # CPython's own, for dicts of known size


cdef class Firm:
    """A member firm: its accounts, credit limit, kill switch, and the day's net bought notional
    (bought minus sold since the trading day started).

    Running totals, kept by the engine as orders rest, trade and leave (not in `canonical`:
    they follow from the state: a snapshot's loader counts the open ones as it puts each order
    back and the day's from the day's trades, `recount_day_notional`):
    `day_notional`, within FIRM_NOTIONAL_CAPACITY: what it traded today (|price| x qty of each
    side it took in a trade, busts included) and what rests (|price| x leaves of each resting
    order, `open_notional`); and `open_buy`, price x leaves of its resting buys (the credit
    check's open buy notional).
    """

    def __init__(self, str name):
        self.name = name
        self.accounts = []
        self.credit_limit = None

    def day_room(self):
        """How much more notional the firm may take on today (FIRM_NOTIONAL_CAPACITY)."""
        from exchange.engine.instrument import FIRM_NOTIONAL_CAPACITY  # it imports this module
        return FIRM_NOTIONAL_CAPACITY - self.day_notional - self.open_notional

    def open_buy_notional(self, instruments=None):
        """The notional of the leaves of the firm's resting buy orders. O(1): a running total
        (`count_open_buy` counts it afresh)."""
        return self.open_buy

    def count_open_buy(self, instruments):
        """Sum of the notional of the leaves of the firm's resting buy orders, each at its own
        instrument's scale, counted afresh. O(its open orders)."""
        return sum(
            order.price * order.leaves * instruments[order.symbol].notional_scale
            for account in self.accounts
            for order in account.open_orders.values()
            if order.side == 1
        )

    def resting_notional(self, instruments):
        """|price| x leaves over the firm's resting orders, counted afresh. O(its orders)."""
        return sum(
            abs(order.price) * order.leaves * instruments[order.symbol].notional_scale
            for account in self.accounts for order in account.open_orders.values())

    def canonical(self):
        return (self.name, self.credit_limit, self.net_bought, self.blocked)

    def __repr__(self):
        return f"Firm({self.name!r})"


cdef class Account:
    """A trading account of a firm, its limits, and its live orders (in no particular order)."""

    def __init__(self, spec, Firm firm=None):
        self.account = spec.account
        self.firm = spec.firm
        self.firm_ref = firm
        self.max_order_qty = spec.max_order_qty
        self.max_order_notional = spec.max_order_notional
        self.max_open_orders = spec.max_open_orders
        self.open_orders = {}  # order_id -> Order
        self.live_cl_ord_ids = {}  # cl_ord_id -> order_id

    cdef reserve(self, Py_ssize_t orders):
        """Make room for `orders` live orders at once (a snapshot load, into empty indexes)."""
        if not self.open_orders and not self.live_cl_ord_ids:
            self.open_orders = _PyDict_NewPresized(orders)
            self.live_cl_ord_ids = _PyDict_NewPresized(orders)

    def canonical(self):
        return (self.account, self.firm, self.max_order_qty, self.max_order_notional,
                self.max_open_orders, self.blocked)

    def __repr__(self):
        return f"Account({self.account!r}, firm {self.firm!r})"
