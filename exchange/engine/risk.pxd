# Firms and accounts as the compiled core reads them: typed fields, read as struct members on
# the hot path, and visible from Python as plain attributes (risk.pyx has the code).

cdef class Firm:
    cdef public str name
    cdef public list accounts
    cdef public object credit_limit  # money (10**-6 of the currency), or None
    cdef public long long net_bought, day_notional, open_notional, open_buy
    cdef public bint blocked


cdef class Account:
    cdef public str account, firm
    cdef public Firm firm_ref  # the Firm named by `firm` (set when the account is added)
    cdef public object max_order_qty, max_order_notional, max_open_orders  # int or None
    cdef public dict open_orders, live_cl_ord_ids
    cdef public bint blocked
    cdef public long long number  # its place in a snapshot being written
    cdef reserve(self, Py_ssize_t orders)
