from exchange.engine.risk cimport Account, Firm

# The compiled book's types, shared by book.pyx (their code) and core.pyx (the engine).
# Fields are C-typed so that the matching loop reads and writes them as struct members; each
# is also visible from Python (properties in book.pyx) for views, tests and snapshots.

cdef class Order:
    cdef public long long order_id, qty, leaves, visible, priority
    cdef long long c_price, c_display, c_expire  # valid when has_price / display / has_expire
    cdef long long scale  # its instrument's notional scale (money per price unit per lot)
    cdef public str account, firm, cl_ord_id, symbol
    cdef int c_side, c_ord_type, c_tif, c_stp
    cdef public bint post_only
    cdef bint has_price, has_display, has_expire
    cdef bint dirty  # in the core's list of orders changed since the digest last looked
    cdef bint counted  # its digest part, `part`, is in the core's sum of order parts
    cdef unsigned long long part[4]
    cdef int digest_part(self, unsigned long long *out) except -1
    cdef int digest_part_slowly(self, unsigned long long *out) except -1
    cdef public Account account_ref  # the Account and Firm it belongs to
    cdef public Firm firm_ref
    cdef Order prev, next  # neighbours in its level's FIFO while it rests
    cdef void refill(self)
    cpdef tuple canonical(self)


cdef class Level:
    cdef readonly long long price
    cdef public long long total  # displayed quantity, the sum of the orders' `visible`
    cdef readonly Py_ssize_t count
    cdef readonly str symbol
    cdef int c_side
    cdef Order head, tail
    cdef long long mark, before  # the command that last touched it, and its total then
    cdef void push(self, Order order)
    cdef void unlink(self, Order order)
    cdef void to_back(self, Order order)


cdef class Ladder:
    cdef readonly str symbol
    cdef int c_side, sign
    cdef long long *keys  # price * sign, ascending: the best level is last
    cdef list lvls  # the Level for each key, same index
    cdef Py_ssize_t n, cap
    cdef Level top(self)
    cdef Py_ssize_t index_of(self, long long price)
    cdef Level at(self, long long price)
    cdef Level make(self, long long price)
    cdef void remove_level(self, Level level)
    cpdef set_levels(self, list best_first)


cdef class Book:
    cdef readonly str symbol
    cdef readonly Ladder bids, asks
    # The instrument's terms, copied: its spec never changes; its trading state and band do,
    # and whoever changes them calls `refresh` (venue.py, through the engine).
    cdef readonly object instrument
    cdef long long tick, min_qty, max_qty, min_price, max_price, scale
    cdef readonly object state  # a TradingState
    cdef bint has_band
    cdef long long band_low, band_high
    cpdef refresh(self)
