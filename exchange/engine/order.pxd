from exchange.engine.risk cimport Account, Firm

# An order's terms as the compiled core holds them: the values of the enums (enums.py).
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

# Fields are C-typed so that the matching loop reads and writes them as struct members; each
# is also visible from Python (properties in order.pyx) for views, tests and snapshots.

cdef class Order:
    cdef public long long order_id, qty, leaves, visible, priority
    cdef long long c_price, c_display, c_expire  # valid when has_price / display / has_expire
    cdef long long scale  # its instrument's notional scale (money per price unit per lot)
    cdef public str account, firm, cl_ord_id, symbol
    cdef int c_side, c_ord_type, c_tif, c_stp
    cdef public bint post_only
    cdef bint has_price, has_display, has_expire
    cdef bint dirty  # in the resting index's list of orders changed since the digest looked
    cdef bint counted  # its digest part, `part`, is in the resting index's sum of parts
    cdef unsigned long long part[4]
    cdef int digest_part(self, unsigned long long *out) except -1
    cdef int digest_part_slowly(self, unsigned long long *out) except -1
    cdef public Account account_ref  # the Account and Firm it belongs to
    cdef public Firm firm_ref
    cdef Order prev, next  # neighbours in its level's FIFO while it rests
    cdef void refill(self)
    cpdef tuple canonical(self)
