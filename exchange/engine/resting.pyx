# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The resting orders: where each one rests, and every index that finds it.

Invariant: an order rests at the back of the level of its price on its side (made if absent)
exactly while it is in `orders` (by order id), in its account's `open_orders` and, by
cl_ord_id, `live_cl_ord_ids`; a GTD order is also in the lazy heap `gtd_queue`; its firm's
open notionals count its leaves (`resting_changed`). Every order whose digest part changed or
that left is in `dirty`, once, until `order_parts` brings `order_sum` (the sum modulo 2**256
of the resting orders' parts, digest.py) up to date. Costs: `rest` O(log L) to find its level,
`take_out` the same, `unindex` and `mark` O(1), `order_parts` O(orders changed).
"""

from cpython.dict cimport PyDict_GetItem

cdef extern from "Python.h":
    dict _PyDict_NewPresized(Py_ssize_t minused)  # CPython's own, for dicts of known size

import heapq

from exchange.engine.book cimport Book, Ladder, Level
from exchange.engine.changes cimport LevelChanges
from exchange.engine.order cimport BUY, Order
from exchange.engine.risk cimport Account

_heappush = heapq.heappush


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


cdef class Resting:
    """The resting orders of a venue's books (`books`, by symbol), their indexes and digest."""

    def __cinit__(self, books, LevelChanges changes):
        self.books, self.changes = books, changes
        self.orders, self.gtd_queue, self.dirty = {}, [], []
        self.next_priority = 1

    cdef rest(self, Book book, Order order):
        """Put a live order at the back of its level and into every index."""
        order.refill()
        order.priority = self.next_priority
        self.next_priority += 1
        cdef Ladder ladder = book.bids if order.c_side == BUY else book.asks
        cdef Level level = ladder.at(order.c_price)
        if level is None:
            level = self.changes.new_level(ladder, order.c_price)
        self.changes.touch(level)
        level.push(order)
        cdef Account account = order.account_ref
        key = order.order_id
        self.orders[key] = order
        self.mark(order)
        account.open_orders[key] = order
        resting_changed(order, order.leaves)
        account.live_cl_ord_ids[order.cl_ord_id] = key
        if order.has_expire:
            _heappush(self.gtd_queue, (order.c_expire, order.order_id))

    cdef unindex(self, Order order):
        """Take an order out of every index (its level is the caller's)."""
        resting_changed(order, -order.leaves)
        key = order.order_id
        del self.orders[key]
        self.mark(order)
        cdef Account account = order.account_ref
        del account.open_orders[key]
        del account.live_cl_ord_ids[order.cl_ord_id]

    cdef take_out(self, Order order):
        """Remove a resting order from its level (dropping the level if emptied) and indexes."""
        cdef Book book = <Book><object>PyDict_GetItem(self.books, order.symbol)  # it rests: made
        cdef Ladder ladder = book.bids if order.c_side == BUY else book.asks
        cdef Level level = ladder.at(order.c_price)
        self.changes.touch(level)
        level.unlink(order)
        if not level.count:
            ladder.remove_level(level)
        self.unindex(order)

    cdef void mark(self, Order order):
        """Note an order whose digest part changed (or went: it left the book). O(1)."""
        if not order.dirty:
            order.dirty = True
            self.dirty.append(order)

    cdef reserve(self, Py_ssize_t orders):
        """Make room for `orders` resting orders at once (a snapshot load, into an empty
        index), so the index is not regrown and rehashed as it fills."""
        if not self.orders:
            self.orders = _PyDict_NewPresized(orders)

    cdef index_loaded(self, Order order):
        """Index an order a snapshot put back in its level, count it into its firm's open
        notionals, and count its digest part (hashed now, while the order is in the cache).
        The GTD heap is heapified by the loader."""
        cdef Account account = order.account_ref
        resting_changed(order, order.leaves)
        key = order.order_id
        self.orders[key] = order
        account.open_orders[key] = order
        account.live_cl_ord_ids[order.cl_ord_id] = key
        order.digest_part(order.part)
        _add(self.order_sum, order.part)
        order.counted = True
        if order.has_expire:
            self.gtd_queue.append((order.c_expire, key))

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
