from exchange.engine.order cimport Order

# The compiled book's types, shared by book.pyx (their code) and the engine's other compiled
# modules (core, matching, resting, orderblob).

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
    # Calls and volatility interruptions (calls.py): whether the instrument is in a call, its
    # last trade price, and its volatility bands (widths cut at the price range's).
    cdef public bint in_call
    cdef bint has_last, vi_on, has_dynamic, has_static
    cdef long long c_last, dynamic_width, static_low, static_high
    cdef bint vi_bands(self, long long *low, long long *high)
    cpdef refresh(self)
