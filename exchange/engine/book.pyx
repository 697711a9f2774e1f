# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The order book, compiled: price levels, ladders and books as typed extension types (the
orders themselves are order.pyx).

Invariants (asserted by `Book.check`): the book is never crossed (best bid < best ask); a
ladder has no empty level; a level's `total` is the sum of its orders' displayed (`visible`)
quantities; every resting order has 0 < visible <= leaves, sits at its own price on its own
side, and appears once. Time priority is the order of a level's intrusive FIFO (each Order
links to its neighbours), and the `priority` numbers the engine gives as orders join a level
increase along it; an iceberg's refill goes to the back with a new number.

Costs: the best level O(1); find a level by price O(log L) (a binary search over a C array of
keys); add or drop a level O(log L) plus a memmove of up to L keys (dropping the best: O(1));
append, unlink or move an order within its level O(1).

Empty books are small (a book holds two ladders with no arrays until a level is made), since
a venue may list 150,000 instruments and most never see an order.
"""


from libc.stdlib cimport realloc, free
from libc.string cimport memmove

from exchange.engine.enums import CALL_STATES, Side

_SIDES = (None, Side.BUY, Side.SELL)


cdef class Level:
    """One price on one side: resting orders in time priority and their displayed total."""

    def __cinit__(self, str symbol, int side, long long price):
        self.symbol = symbol
        self.c_side = side
        self.price = price

    def __dealloc__(self):
        # Break the FIFO's links so its orders do not keep each other alive.
        cdef Order order = self.head
        cdef Order after
        self.head = self.tail = None
        while order is not None:
            after = order.next
            order.prev = order.next = None
            order = after

    cdef void push(self, Order order):
        """Append at the back, counting its displayed quantity. O(1)."""
        order.next = None
        order.prev = self.tail
        if self.tail is None:
            self.head = order
        else:
            self.tail.next = order
        self.tail = order
        self.count += 1
        self.total += order.visible

    cdef void unlink(self, Order order):
        """Take out of the FIFO, uncounting its displayed quantity. O(1)."""
        if order.prev is None:
            self.head = order.next
        else:
            order.prev.next = order.next
        if order.next is None:
            self.tail = order.prev
        else:
            order.next.prev = order.prev
        order.prev = order.next = None
        self.count -= 1
        self.total -= order.visible

    cdef void to_back(self, Order order):
        """Move to the back of the FIFO (an iceberg's refill), total unchanged. O(1)."""
        if order is not self.tail:
            self.unlink(order)
            self.push(order)

    def append(self, Order order):
        """Put an order at the back (for building and testing books by hand). O(1)."""
        self.push(order)

    def remove(self, Order order):
        """Take an order out (for building and testing books by hand). O(1)."""
        self.unlink(order)

    @property
    def side(self):
        return _SIDES[self.c_side]

    @property
    def orders(self):
        """order_id -> Order in time priority (a fresh dict: a view for reading). O(count)."""
        found = {}
        cdef Order order = self.head
        while order is not None:
            found[order.order_id] = order
            order = order.next
        return found

    def __repr__(self):
        return f"Level({self.side.name} {self.price} total {self.total} orders {self.count})"


cdef class Ladder:
    """One side of a book: levels by price, best first (highest bid, lowest ask)."""

    def __cinit__(self, str symbol, int side):
        self.symbol = symbol
        self.c_side = side
        self.sign = 1 if side == 1 else -1  # lvls stays None until the first level: empty
        # books are most books

    def __dealloc__(self):
        free(self.keys)

    @property
    def side(self):
        return _SIDES[self.c_side]

    cdef Level top(self):
        if self.n == 0:
            return None
        return <Level>self.lvls[self.n - 1]

    cdef Py_ssize_t index_of(self, long long price):
        """The index where the key of `price` is or would go (binary search). O(log L)."""
        cdef long long key = price * self.sign
        cdef Py_ssize_t low = 0, high = self.n, mid
        if high and self.keys[high - 1] == key:  # the best level: the common case
            return high - 1
        while low < high:
            mid = (low + high) >> 1
            if self.keys[mid] < key:
                low = mid + 1
            else:
                high = mid
        return low

    cdef Level at(self, long long price):
        """The level at `price`, or None."""
        cdef Py_ssize_t i = self.index_of(price)
        if i < self.n and self.keys[i] == price * self.sign:
            return <Level>self.lvls[i]
        return None

    cdef Level make(self, long long price):
        """A new empty level at `price` (which has none), in its place."""
        cdef Py_ssize_t i = self.index_of(price)
        cdef long long *grown
        if self.n == self.cap:
            grown = <long long *>realloc(self.keys, (self.cap * 2 + 8) * sizeof(long long))
            if grown == NULL:
                raise MemoryError()
            self.keys = grown
            self.cap = self.cap * 2 + 8
        memmove(&self.keys[i + 1], &self.keys[i], (self.n - i) * sizeof(long long))
        self.keys[i] = price * self.sign
        self.n += 1
        level = Level(self.symbol, self.c_side, price)
        if self.lvls is None:
            self.lvls = []
        self.lvls.insert(i, level)
        return level

    cdef void remove_level(self, Level level):
        """Remove a level (empty, by the book's rules). O(1) for the best one."""
        cdef Py_ssize_t i = self.index_of(level.price)
        memmove(&self.keys[i], &self.keys[i + 1], (self.n - i - 1) * sizeof(long long))
        self.n -= 1
        if i == self.n:
            self.lvls.pop()
        else:
            del self.lvls[i]

    cpdef set_levels(self, list best_first):
        """Replace the ladder's levels by these (a snapshot load): best first, strictly, each
        of this side. O(L); ValueError if they are not in order."""
        cdef Py_ssize_t n = len(best_first), i
        cdef Level level
        cdef long long *keys = <long long *>realloc(self.keys, (n + 8) * sizeof(long long))
        if keys == NULL:
            raise MemoryError()
        self.keys, self.cap = keys, n + 8
        self.lvls = best_first[::-1]
        self.n = n
        for i in range(n):
            level = self.lvls[i]
            if level.c_side != self.c_side or level.symbol != self.symbol:
                raise ValueError(f"a level of another ladder at {level.price}")
            keys[i] = level.price * self.sign
            if i and keys[i - 1] >= keys[i]:
                raise ValueError(f"levels out of order at {level.price}")

    # -- for Python: views, tests, snapshots -----------------------------------------------

    def best(self):
        """The best level, or None if the side is empty. O(1)."""
        return self.top()

    def find(self, long long price):
        """The level at `price`, or None. O(log L)."""
        return self.at(price)

    def level_for(self, long long price):
        """The level at `price`, made (empty) if absent: for building books by hand."""
        level = self.at(price)
        return self.make(price) if level is None else level

    def drop(self, Level level):
        """Remove an (empty) level: for building books by hand."""
        self.remove_level(level)

    @property
    def levels(self):
        """price -> Level, best first (a fresh dict: a view for reading). O(L)."""
        return {level.price: level for level in self}

    def __len__(self):
        return self.n

    def __iter__(self):
        """Levels best first."""
        return reversed(self.lvls[:self.n] if self.n else [])

    def check(self):
        cdef Order order
        cdef Level level
        assert len(self.lvls or ()) == self.n
        for i in range(1, self.n):
            assert self.keys[i - 1] < self.keys[i], "ladder keys out of order"
        for i in range(self.n):
            level = self.lvls[i]
            assert level.price * self.sign == self.keys[i] and level.c_side == self.c_side
            assert level.count, f"empty level {self.side.name} {level.price}"
            orders = list(level.orders.values())
            assert len(orders) == level.count
            assert level.total == sum(o.visible for o in orders)
            priorities = [o.priority for o in orders]
            assert priorities == sorted(set(priorities)), "time priority out of order"
            for order in orders:
                assert order.c_side == self.c_side and order.has_price
                assert order.c_price == level.price and order.symbol == self.symbol
                assert 0 < order.visible <= order.leaves <= order.qty
                if order.has_display:
                    assert order.visible <= order.c_display
                else:
                    assert order.visible == order.leaves


cdef class Book:
    """Both sides of one instrument's book."""

    def __cinit__(self, str symbol, instrument):
        self.symbol = symbol
        self.instrument = instrument
        self.bids = Ladder(symbol, 1)
        self.asks = Ladder(symbol, 2)
        self.tick = instrument.tick_size
        self.min_qty = instrument.min_qty
        self.max_qty = instrument.max_qty
        self.min_price = instrument.min_price
        self.max_price = instrument.max_price
        self.scale = instrument.notional_scale
        self.refresh()

    cpdef refresh(self):
        """Read the instrument's trading state, band and volatility bands again (after any
        changed)."""
        instrument = self.instrument
        self.state = instrument.state
        self.in_call = self.state in CALL_STATES
        band = instrument.band
        self.has_band = band is not None
        if self.has_band:
            self.band_low, self.band_high = band
        settings = instrument.volatility
        self.vi_on = settings is not None
        if self.vi_on:
            self.has_dynamic = settings[0] is not None
            if self.has_dynamic:
                self.dynamic_width = instrument.band_width(settings[0])
            static = instrument.static_band()
            self.has_static = static is not None
            if self.has_static:
                self.static_low, self.static_high = static

    cdef bint vi_bands(self, long long *low, long long *high):
        """The prices a continuous trade may have now without interrupting trading: the
        static band, cut to the dynamic one around the last price; False if neither applies."""
        cdef bint banded = False
        if not self.vi_on:
            return False
        low[0], high[0] = -9223372036854775807 - 1, 9223372036854775807
        if self.has_static:
            low[0], high[0], banded = self.static_low, self.static_high, True
        if self.has_dynamic and self.has_last:
            low[0] = max(low[0], self.c_last - self.dynamic_width)
            high[0] = min(high[0], self.c_last + self.dynamic_width)
            banded = True
        return banded

    @property
    def last_price(self):
        """The price of the instrument's last trade, or None before its first."""
        return self.c_last if self.has_last else None

    @last_price.setter
    def last_price(self, value):
        self.has_last = value is not None
        self.c_last = 0 if value is None else value

    def band_edge(self, side):
        """The furthest price a market order may trade at, or None with no band."""
        if not self.has_band:
            return None
        return self.band_high if side == 1 else self.band_low

    def ladder(self, side):
        return self.bids if side == 1 else self.asks

    def orders(self):
        """Every resting order: bids best first, then asks, each level in time priority."""
        for ladder in (self.bids, self.asks):
            for level in ladder:
                yield from level.orders.values()

    def check(self, may_cross=False):
        """The book's invariants; it may be crossed only in a call (or halted after one)."""
        self.bids.check()
        self.asks.check()
        bid, ask = self.bids.top(), self.asks.top()
        if bid is not None and ask is not None and not may_cross:
            assert bid.price < ask.price, f"crossed book {self.symbol}: {bid.price} >= {ask.price}"


class Books(dict):
    """Books by symbol, each made the first time it is asked for. Callers ask only for listed
    instruments; most listed instruments never see an order, and an empty book made at listing
    would cost time and memory for each of them (a venue may list 150,000)."""

    def __init__(self, instruments):
        super().__init__()
        self.instruments = instruments

    def __missing__(self, symbol):
        book = self[symbol] = Book(symbol, self.instruments[symbol])
        return book
