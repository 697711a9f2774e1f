# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""A live order, compiled: typed fields the matching loop reads as struct members, the views
Python reads (enum members, None for what is absent), and its part of the state digest.

The digest part is SHA-256 of the MessagePack of (order_id, canonical()), written here in C
byte for byte as msgpack-python writes it, so a changed order is hashed again in about a
microsecond (digest.py sums the parts). Costs: every method O(1).
"""

from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

import hashlib

import msgpack

cdef extern from "c/sha256.h":
    void exchange_sha256_limbs(const unsigned char *data, size_t n, uint64_t *out)
    int exchange_sha256_ni_usable()
    int exchange_sha256_portable_only

_pack = msgpack.Packer(autoreset=True).pack

from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce

_SIDES = (None, Side.BUY, Side.SELL)
_ORD_TYPES = (None, OrdType.LIMIT, OrdType.MARKET)
_TIFS = (None, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD, TimeInForce.IOC,
         TimeInForce.FOK)
_STPS = (None, StpMode.CANCEL_RESTING, StpMode.CANCEL_INCOMING, StpMode.CANCEL_BOTH,
         StpMode.DECREMENT)


cdef class Order:
    """A live order. `qty` is the total order quantity; `leaves` what remains; cum = qty - leaves.
    The engine makes them (`core`); from Python they read like the plain objects they were
    (enum members for sides and modes, None for an absent price, peak or expiry)."""

    @property
    def side(self):
        return _SIDES[self.c_side]

    @side.setter
    def side(self, value):
        self.c_side = value

    @property
    def ord_type(self):
        return _ORD_TYPES[self.c_ord_type]

    @property
    def tif(self):
        return _TIFS[self.c_tif]

    @property
    def stp(self):
        return _STPS[self.c_stp]

    @property
    def price(self):
        return self.c_price if self.has_price else None

    @price.setter
    def price(self, value):
        self.has_price = value is not None
        self.c_price = 0 if value is None else value

    @property
    def display_qty(self):
        return self.c_display if self.has_display else None

    @property
    def expire_at_us(self):
        return self.c_expire if self.has_expire else None

    @property
    def cum_qty(self):
        return self.qty - self.leaves

    cdef void refill(self):
        """Show the next slice of an iceberg (its queue place is the caller's business)."""
        if self.has_display and self.c_display < self.leaves:
            self.visible = self.c_display
        else:
            self.visible = self.leaves

    cpdef tuple canonical(self):
        """Every field that is state, in a fixed order: what digests and snapshots hold."""
        return (
            self.order_id, self.account, self.firm, self.cl_ord_id, self.symbol, self.c_side,
            self.c_ord_type, self.price, self.qty, self.leaves, self.visible, self.display_qty,
            self.c_tif, self.expire_at_us, self.post_only, self.c_stp, self.priority,
        )

    cdef int digest_part(self, unsigned long long *out) except -1:
        """This order's part of the state digest: SHA-256 of the MessagePack of (order_id,
        canonical()), as a 256-bit big-endian integer in four limbs. The encoding is written
        here, in C, byte for byte as msgpack-python writes it (ints in their shortest form,
        str8 for 32..255 bytes of text); anything longer goes through msgpack itself."""
        cdef unsigned char buffer[1536]
        cdef _Writer w
        w.data, w.n, w.cap = buffer, 0, sizeof(buffer)
        _array(&w, 2)
        _int(&w, self.order_id)
        _array(&w, 17)
        _int(&w, self.order_id)
        if not (_text(&w, self.account) and _text(&w, self.firm) and _text(&w, self.cl_ord_id)
                and _text(&w, self.symbol)):
            return self.digest_part_slowly(out)
        _int(&w, self.c_side)
        _int(&w, self.c_ord_type)
        _opt_int(&w, self.has_price, self.c_price)
        _int(&w, self.qty)
        _int(&w, self.leaves)
        _int(&w, self.visible)
        _opt_int(&w, self.has_display, self.c_display)
        _int(&w, self.c_tif)
        _opt_int(&w, self.has_expire, self.c_expire)
        _byte(&w, 0xc3 if self.post_only else 0xc2)
        _int(&w, self.c_stp)
        _int(&w, self.priority)
        exchange_sha256_limbs(buffer, w.n, <uint64_t *>out)
        return 0

    cdef int digest_part_slowly(self, unsigned long long *out) except -1:
        value = int.from_bytes(hashlib.sha256(_pack((self.order_id, self.canonical()))).digest(),
                               "big")
        for i in range(4):
            out[3 - i] = (value >> (64 * i)) & 0xFFFFFFFFFFFFFFFF
        return 0

    def digest_part_value(self):
        """The digest part as a Python int (for tests: it equals what msgpack and hashlib
        give)."""
        cdef unsigned long long limbs[4]
        self.digest_part(limbs)
        value = 0
        for i in range(4):
            value = (value << 64) | limbs[i]
        return value

    def __repr__(self):
        return (f"Order({self.order_id} {self.account} {self.side.name} {self.leaves}/{self.qty}"
                f" @ {self.price} {self.symbol})")


cdef struct _Writer:
    unsigned char *data
    Py_ssize_t n, cap


cdef inline void _byte(_Writer *w, unsigned char value):
    w.data[w.n] = value
    w.n += 1


cdef inline void _big_endian(_Writer *w, unsigned long long value, int size):
    cdef int i
    for i in range(size):
        w.data[w.n + i] = (value >> (8 * (size - 1 - i))) & 0xFF
    w.n += size


cdef inline void _array(_Writer *w, int length):
    if length < 16:
        _byte(w, 0x90 | length)
    else:
        _byte(w, 0xdc)
        _big_endian(w, length, 2)


cdef void _int(_Writer *w, long long value):
    """An int as msgpack-python packs it: the shortest of fixint, int8..64 or uint8..64."""
    if value < -32:
        if value < -32768:
            if value < -2147483648:
                _byte(w, 0xd3)
                _big_endian(w, <unsigned long long>value, 8)
            else:
                _byte(w, 0xd2)
                _big_endian(w, <unsigned long long>value & 0xFFFFFFFF, 4)
        elif value < -128:
            _byte(w, 0xd1)
            _big_endian(w, <unsigned long long>value & 0xFFFF, 2)
        else:
            _byte(w, 0xd0)
            _big_endian(w, <unsigned long long>value & 0xFF, 1)
    elif value < 128:
        _byte(w, <unsigned char>(value & 0xFF))
    elif value < 65536:
        if value < 256:
            _byte(w, 0xcc)
            _big_endian(w, value, 1)
        else:
            _byte(w, 0xcd)
            _big_endian(w, value, 2)
    elif value < 4294967296:
        _byte(w, 0xce)
        _big_endian(w, value, 4)
    else:
        _byte(w, 0xcf)
        _big_endian(w, value, 8)


cdef inline void _opt_int(_Writer *w, bint present, long long value):
    if present:
        _int(w, value)
    else:
        _byte(w, 0xc0)


cdef bint _text(_Writer *w, str value) except -1:
    """A str as fixstr or str8, if it fits the buffer (else False: the caller packs slowly)."""
    cdef Py_ssize_t size
    cdef const char *utf8 = PyUnicode_AsUTF8AndSize(value, &size)
    if size > 255 or w.n + size + 2 > w.cap - 200:  # room kept for the fields after
        return False
    if size < 32:
        _byte(w, 0xa0 | size)
    else:
        _byte(w, 0xd9)
        _byte(w, size)
    memcpy(&w.data[w.n], utf8, size)
    w.n += size
    return True


def sha256_value(bytes data, bint portable=False):
    """SHA-256 of `data` as a big-endian int, by the C code that hashes digest parts; with
    `portable`, by its portable compression even where the SHA-NI one is used (for tests).
    Returns (value, whether SHA-NI did it)."""
    global exchange_sha256_portable_only
    cdef uint64_t limbs[4]
    cdef int was = exchange_sha256_portable_only
    exchange_sha256_portable_only = portable
    try:
        exchange_sha256_limbs(<const unsigned char *>data, len(data), limbs)
    finally:
        exchange_sha256_portable_only = was
    value = 0
    for i in range(4):
        value = (value << 64) | limbs[i]
    return value, bool(exchange_sha256_ni_usable() and not portable)
