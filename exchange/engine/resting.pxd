from exchange.engine.book cimport Book
from exchange.engine.changes cimport LevelChanges
from exchange.engine.order cimport BUY, Order
from exchange.engine.risk cimport Account, Firm

# The resting orders and their indexes (resting.pyx).

cdef class Resting:
    cdef public dict orders  # order_id -> Order, every resting order
    cdef public list gtd_queue  # heap of (expire_at_us, order_id), lazy
    cdef public long long next_priority
    cdef object books
    cdef LevelChanges changes
    cdef list dirty  # orders changed since the last order_parts(), each once
    cdef unsigned long long order_sum[4]  # the sum of every resting order's digest part
    cdef rest(self, Book book, Order order)
    cdef unindex(self, Order order)
    cdef take_out(self, Order order)
    cdef void mark(self, Order order)
    cdef reserve(self, Py_ssize_t orders)
    cdef index_loaded(self, Order order)


cdef inline long long abs64(long long value):
    return -value if value < 0 else value


cdef inline void resting_changed(Order order, long long leaves_change):
    """Keep the firm's open notional (|price| x leaves) and open buy notional (price x leaves of
    its buys) as running totals when a resting order's leaves change."""
    cdef Firm firm = order.firm_ref
    firm.open_notional += abs64(order.c_price) * leaves_change * order.scale
    if order.c_side == BUY:
        firm.open_buy += order.c_price * leaves_change * order.scale
