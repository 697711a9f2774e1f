# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The resting orders of a snapshot as one binary blob, written and read by one C loop each.

`dump_orders` gives (levels, blob): `levels` a list of (symbol, side, price, order count),
book by book in the order books were made, bids best first then asks best first; `blob` the
orders of those levels in time priority, one fixed-width record each. `load_orders` puts them
back into their books and the resting index. A record: seven int64 (order_id, qty, leaves,
visible, priority, display_qty, expire_at_us; 0 when absent), the account's number (int64),
flags (has display, has expiry, post-only), ord_type, tif, stp (a byte each), the cl_ord_id's
UTF-8 length (two bytes); then the cl_ord_id. Little-endian throughout. Costs: O(orders).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy

from exchange.engine.book cimport Book, Ladder, Level
from exchange.engine.order cimport BUY, SELL, Order
from exchange.engine.resting cimport Resting
from exchange.engine.risk cimport Account

cdef Py_ssize_t _ORDER_RECORD = 70


cdef inline void _put64(unsigned char *at, long long value):
    cdef unsigned long long bits = <unsigned long long>value
    cdef int i
    for i in range(8):
        at[i] = (bits >> (8 * i)) & 0xFF


cdef inline long long _get64(const unsigned char *at):
    cdef unsigned long long bits = 0
    cdef int i
    for i in range(8):
        bits |= (<unsigned long long>at[i]) << (8 * i)
    return <long long>bits


def dump_orders(books, dict accounts, dict account_numbers):
    """Every resting order of `books` (symbol -> Book) as (levels, blob); accounts (name ->
    Account) are given by their number in `account_numbers`. One C pass."""
    cdef Ladder ladder
    cdef Level level
    cdef Order order
    cdef Py_ssize_t length, i, at = 0, cap = 1 << 16
    cdef const char *text
    cdef unsigned char *out = <unsigned char *>malloc(cap)
    cdef unsigned char *grown
    if out == NULL:
        raise MemoryError()
    for name, number in account_numbers.items():
        (<Account>accounts[name]).number = number
    levels = []
    try:
        for symbol, book in books.items():
            for ladder in ((<Book>book).bids, (<Book>book).asks):
                for i in range(ladder.n - 1, -1, -1):
                    level = ladder.lvls[i]
                    levels.append((symbol, level.c_side, level.price, level.count))
                    order = level.head
                    while order is not None:
                        text = PyUnicode_AsUTF8AndSize(order.cl_ord_id, &length)
                        if at + _ORDER_RECORD + length > cap:
                            cap = 2 * cap + _ORDER_RECORD + length
                            grown = <unsigned char *>realloc(out, cap)
                            if grown == NULL:
                                raise MemoryError()
                            out = grown
                        _put64(out + at, order.order_id)
                        _put64(out + at + 8, order.qty)
                        _put64(out + at + 16, order.leaves)
                        _put64(out + at + 24, order.visible)
                        _put64(out + at + 32, order.priority)
                        _put64(out + at + 40, order.c_display)
                        _put64(out + at + 48, order.c_expire)
                        _put64(out + at + 56, order.account_ref.number)
                        out[at + 64] = order.has_display | (order.has_expire << 1) | (
                            order.post_only << 2)
                        out[at + 65] = order.c_ord_type
                        out[at + 66] = order.c_tif
                        out[at + 67] = order.c_stp
                        out[at + 68] = length & 0xFF
                        out[at + 69] = length >> 8
                        memcpy(out + at + _ORDER_RECORD, text, length)
                        at += _ORDER_RECORD + length
                        order = order.next
        return levels, PyBytes_FromStringAndSize(<char *>out, at)
    finally:
        free(out)


def load_orders(Resting resting, books, list levels, bytes blob, list accounts):
    """Put back what `dump_orders` wrote (accounts by number, `accounts[number]`) into `books`
    and `resting`, which hashes each order's digest part and counts it into its firm's open
    notionals; the day's notionals are the caller's (a recount), and so is heapifying the GTD
    heap. ValueError on a blob that does not match its levels. One C loop (after one that
    counts the records, to size the indexes)."""
    cdef const unsigned char *data = <const unsigned char *>PyBytes_AS_STRING(blob)
    cdef Py_ssize_t size = len(blob), at = 0, length, count, n
    cdef Book book
    cdef Level level
    cdef Order order
    cdef Account account
    cdef int flags
    cdef list made = []
    _reserve(resting, data, size, accounts)
    ladder_key = None
    for symbol, side, price, count in levels:
        if (symbol, side) != ladder_key:
            _set_levels(books, ladder_key, made)
            ladder_key, made = (symbol, side), []
        book = books[symbol]
        if side != BUY and side != SELL:
            raise ValueError(f"level side {side!r}")
        level = Level(symbol, side, price)
        made.append(level)
        for n in range(count):
            if at + _ORDER_RECORD > size:
                raise ValueError("the order records end early")
            length = data[at + 68] | (data[at + 69] << 8)
            if at + _ORDER_RECORD + length > size:
                raise ValueError("the order records end early")
            account = accounts[_get64(data + at + 56)]
            order = Order.__new__(Order)
            order.order_id = _get64(data + at)
            order.qty = _get64(data + at + 8)
            order.leaves = _get64(data + at + 16)
            order.visible = _get64(data + at + 24)
            order.priority = _get64(data + at + 32)
            order.c_display = _get64(data + at + 40)
            order.c_expire = _get64(data + at + 48)
            flags = data[at + 64]
            order.has_display, order.has_expire = flags & 1, (flags >> 1) & 1
            order.post_only = (flags >> 2) & 1
            order.c_ord_type, order.c_tif, order.c_stp = data[at + 65], data[at + 66], data[at + 67]
            order.cl_ord_id = PyUnicode_DecodeUTF8(<const char *>data + at + _ORDER_RECORD,
                                                   length, NULL)
            at += _ORDER_RECORD + length
            order.account, order.firm, order.symbol = account.account, account.firm, symbol
            order.account_ref, order.firm_ref = account, account.firm_ref
            order.c_side, order.has_price, order.c_price, order.scale = (
                side, True, price, book.scale)
            level.push(order)
            resting.index_loaded(order)
    _set_levels(books, ladder_key, made)
    if at != size:
        raise ValueError("order records beyond the levels")


cdef _reserve(Resting resting, const unsigned char *data, Py_ssize_t size, list accounts):
    """Size the indexes for the orders of the blob before they are filled: one pass over the
    records counting each account's (records that do not parse are left to the load)."""
    cdef Py_ssize_t at = 0, total = 0, n = len(accounts), number
    cdef Py_ssize_t *counts = <Py_ssize_t *>calloc(n + 1, sizeof(Py_ssize_t))
    if counts == NULL:
        raise MemoryError()
    try:
        while at + _ORDER_RECORD <= size:
            number = _get64(data + at + 56)
            counts[number if 0 <= number < n else n] += 1
            total += 1
            at += _ORDER_RECORD + (data[at + 68] | (data[at + 69] << 8))
        resting.reserve(total)
        for number in range(n):
            (<Account>accounts[number]).reserve(counts[number])
    finally:
        free(counts)


cdef _set_levels(books, key, list best_first):
    """Give a ladder its levels, best first, at once."""
    if key is None:
        return
    book = books[key[0]]
    (<Book>book).ladder(key[1]).set_levels(best_first)
