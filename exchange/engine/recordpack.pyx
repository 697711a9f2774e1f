# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""MessagePack of records (commands and events) in C: the codec's fast path.

`RecordPack` writes and reads exactly the bytes that msgpack-python's Packer (default
options) and `unpackb(use_list=True)` give for a record `[kind, [field, ...]]`, for the values
records hold: None, bools, ints within 64 bits, floats, str, and (nested) lists and tuples.
Anything else (bytes, dicts, int or float or str subclasses other than IntEnum-like int
subclasses, ints beyond 64 bits, nesting deeper than MAX_DEPTH) is handed to the Python codec
(`encode_python` / `decode_python` given at construction), which packs it or raises exactly as
before. The same goes for any input the fast reader does not accept: a truncated record, bad
UTF-8, an unknown kind, a field that is no enum value, map/bin/ext types, trailing bytes. So
the fast path can only agree with the Python codec or step aside; it never decides an error.

Costs: encode O(bytes) with one bytes object made; decode O(bytes), one Python object per
value, enum fields turned into members by a dict lookup.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_AsUnsignedLongLong
from cpython.long cimport PyLong_FromLongLong, PyLong_FromUnsignedLongLong
from cpython.ref cimport Py_INCREF, PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_SET_ITEM
from libc.stdint cimport int16_t, int32_t, int64_t, int8_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object o, Py_ssize_t* size) except NULL
    object PyUnicode_DecodeUTF8(const char* s, Py_ssize_t size, const char* errors)
    bint PyUnicode_CheckExact(object o)
    bint PyFloat_CheckExact(object o)
    bint PyLong_Check(object o)
    bint PyList_Check(object o)
    bint PyTuple_Check(object o)
    object PyFloat_FromDouble(double v)
    ctypedef struct PyTypeObject:
        pass
    # a tuple subclass's instance with n empty slots (what tuple.__new__ fills; NamedTuples
    # allocate with it), filled in place: no list and no copy per record
    object PyType_GenericAlloc(PyTypeObject* cls, Py_ssize_t n)

DEF STACK_BYTES = 512
MAX_DEPTH = 32  # deeper nesting goes to the Python codec (msgpack's own limit is 511)
cdef int _MAX_DEPTH = 32


class _Unsupported(Exception):
    """Internal: this value or input is the Python codec's to handle."""


cdef struct Buf:
    char* data
    Py_ssize_t length
    Py_ssize_t capacity
    bint heap


cdef int _grow(Buf* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t wanted = b.length + extra
    cdef Py_ssize_t capacity = b.capacity
    cdef char* data
    if wanted <= capacity:
        return 0
    while capacity < wanted:
        capacity *= 2
    if b.heap:
        data = <char*>realloc(b.data, capacity)
    else:
        data = <char*>malloc(capacity)
        if data != NULL:
            memcpy(data, b.data, b.length)
    if data == NULL:
        raise MemoryError()
    b.data, b.capacity, b.heap = data, capacity, True
    return 0


cdef inline int _put1(Buf* b, uint8_t byte) except -1:
    if b.length + 1 > b.capacity:
        _grow(b, 1)
    b.data[b.length] = <char>byte
    b.length += 1
    return 0


cdef inline int _put_be(Buf* b, uint8_t tag, uint64_t value, int size) except -1:
    """tag, then `value` big-endian in `size` bytes."""
    cdef int i
    if b.length + 1 + size > b.capacity:
        _grow(b, 1 + size)
    b.data[b.length] = <char>tag
    for i in range(size):
        b.data[b.length + size - i] = <char>(value & 0xff)
        value >>= 8
    b.length += 1 + size
    return 0


cdef int _put_int(Buf* b, int64_t d) except -1:
    # msgpack-python's msgpack_pack_long_long: the smallest form
    if d < -(1 << 5):
        if d < -(<int64_t>1 << 15):
            if d < -(<int64_t>1 << 31):
                return _put_be(b, 0xd3, <uint64_t>d, 8)
            return _put_be(b, 0xd2, <uint64_t>d & 0xffffffff, 4)
        if d < -(1 << 7):
            return _put_be(b, 0xd1, <uint64_t>d & 0xffff, 2)
        return _put_be(b, 0xd0, <uint64_t>d & 0xff, 1)
    if d < (1 << 7):
        return _put1(b, <uint8_t>(d & 0xff))
    if d < (1 << 8):
        return _put_be(b, 0xcc, <uint64_t>d, 1)
    if d < (1 << 16):
        return _put_be(b, 0xcd, <uint64_t>d, 2)
    if d < (<int64_t>1 << 32):
        return _put_be(b, 0xce, <uint64_t>d, 4)
    return _put_be(b, 0xcf, <uint64_t>d, 8)


cdef int _put_header(Buf* b, Py_ssize_t n, uint8_t fix, uint8_t fix_limit, uint8_t tag8,
                     uint8_t tag16, uint8_t tag32) except -1:
    if n < fix_limit:
        return _put1(b, fix | <uint8_t>n)
    if tag8 and n < 256:
        return _put_be(b, tag8, <uint64_t>n, 1)
    if n < 65536:
        return _put_be(b, tag16, <uint64_t>n, 2)
    if n <= 0xffffffff:
        return _put_be(b, tag32, <uint64_t>n, 4)
    raise _Unsupported()


cdef int _put_bytes(Buf* b, const char* data, Py_ssize_t n) except -1:
    if b.length + n > b.capacity:
        _grow(b, n)
    memcpy(b.data + b.length, data, n)
    b.length += n
    return 0


cdef union DoubleBits:
    double d
    uint64_t u


cdef union FloatBits:
    float f
    uint32_t u


cdef int _pack(Buf* b, object o, int depth) except -1:
    """Append o's MessagePack; _Unsupported for anything the Python codec must pack."""
    cdef int overflow = 0
    cdef int64_t value
    cdef uint64_t unsigned_value
    cdef Py_ssize_t n, i
    cdef const char* text
    cdef DoubleBits bits
    if o is None:
        return _put1(b, 0xc0)
    if o is True:
        return _put1(b, 0xc3)
    if o is False:
        return _put1(b, 0xc2)
    if PyLong_Check(o):
        value = PyLong_AsLongLongAndOverflow(o, &overflow)
        if overflow == 0:
            return _put_int(b, value)
        if overflow > 0:
            try:
                unsigned_value = PyLong_AsUnsignedLongLong(o)
            except OverflowError:
                raise _Unsupported()
            return _put_be(b, 0xcf, unsigned_value, 8)
        raise _Unsupported()
    if PyUnicode_CheckExact(o):
        try:
            text = PyUnicode_AsUTF8AndSize(o, &n)
        except UnicodeError:  # surrogates: the Python codec raises what it raises
            raise _Unsupported()
        _put_header(b, n, 0xa0, 32, 0xd9, 0xda, 0xdb)
        return _put_bytes(b, text, n)
    if PyFloat_CheckExact(o):
        bits.d = PyFloat_AS_DOUBLE(o)
        return _put_be(b, 0xcb, bits.u, 8)
    if depth >= _MAX_DEPTH:
        raise _Unsupported()
    if PyTuple_Check(o):
        n = PyTuple_GET_SIZE(o)
        _put_header(b, n, 0x90, 16, 0, 0xdc, 0xdd)
        for i in range(n):
            _pack(b, <object>PyTuple_GET_ITEM(o, i), depth + 1)
        return 0
    if PyList_Check(o):
        n = PyList_GET_SIZE(o)
        _put_header(b, n, 0x90, 16, 0, 0xdc, 0xdd)
        i = 0
        while i < PyList_GET_SIZE(o):  # re-read: the list is the caller's
            _pack(b, <object>PyList_GET_ITEM(o, i), depth + 1)
            i += 1
        if i != n:
            raise _Unsupported()
        return 0
    raise _Unsupported()


cdef struct Reader:
    const uint8_t* data
    Py_ssize_t length
    Py_ssize_t pos


cdef inline uint64_t _take(Reader* r, int size) except? 0xffffffffffffffff:
    cdef uint64_t value = 0
    cdef int i
    if r.pos + size > r.length:
        raise _Unsupported()
    for i in range(size):
        value = (value << 8) | r.data[r.pos + i]
    r.pos += size
    return value


cdef object _text(Reader* r, Py_ssize_t n):
    if n < 0 or r.pos + n > r.length:
        raise _Unsupported()
    value = PyUnicode_DecodeUTF8(<const char*>(r.data + r.pos), n, NULL)
    r.pos += n
    return value


cdef list _array(Reader* r, Py_ssize_t n, int depth):
    cdef Py_ssize_t i
    if depth >= _MAX_DEPTH or n > r.length - r.pos:  # each value takes a byte at least
        raise _Unsupported()
    cdef list items = PyList_New(n)
    for i in range(n):
        item = _unpack(r, depth + 1)
        Py_INCREF(item)
        PyList_SET_ITEM(items, i, item)
    return items


cdef object _unpack(Reader* r, int depth):
    """The next value; _Unsupported for what the Python codec must read (or refuse)."""
    cdef uint8_t tag
    cdef DoubleBits bits
    cdef FloatBits single
    if r.pos >= r.length:
        raise _Unsupported()
    tag = r.data[r.pos]
    r.pos += 1
    if tag < 0x80:
        return <long>tag
    if tag >= 0xe0:
        return <long>tag - 256
    if 0xa0 <= tag < 0xc0:
        return _text(r, tag & 0x1f)
    if 0x90 <= tag < 0xa0:
        return _array(r, tag & 0x0f, depth)
    if tag == 0xc0:
        return None
    if tag == 0xc3:
        return True
    if tag == 0xc2:
        return False
    if tag == 0xcc:
        return <long>_take(r, 1)
    if tag == 0xcd:
        return <long>_take(r, 2)
    if tag == 0xce:
        return PyLong_FromUnsignedLongLong(_take(r, 4))
    if tag == 0xcf:
        return PyLong_FromUnsignedLongLong(_take(r, 8))
    if tag == 0xd0:
        return <long><int8_t><uint8_t>_take(r, 1)
    if tag == 0xd1:
        return <long><int16_t><uint16_t>_take(r, 2)
    if tag == 0xd2:
        return PyLong_FromLongLong(<int32_t><uint32_t>_take(r, 4))
    if tag == 0xd3:
        return PyLong_FromLongLong(<int64_t>_take(r, 8))
    if tag == 0xd9:
        return _text(r, <Py_ssize_t>_take(r, 1))
    if tag == 0xda:
        return _text(r, <Py_ssize_t>_take(r, 2))
    if tag == 0xdb:
        return _text(r, <Py_ssize_t>_take(r, 4))
    if tag == 0xdc:
        return _array(r, <Py_ssize_t>_take(r, 2), depth)
    if tag == 0xdd:
        return _array(r, <Py_ssize_t>_take(r, 4), depth)
    if tag == 0xcb:
        bits.u = _take(r, 8)
        return PyFloat_FromDouble(bits.d)
    if tag == 0xca:
        single.u = <uint32_t>_take(r, 4)
        return PyFloat_FromDouble(single.f)
    raise _Unsupported()  # maps, bin, ext, and the never-used 0xc1


cdef class RecordPack:
    """encode/decode of records by kind tables (see codec.py, which builds them)."""

    cdef dict kind_of  # record type -> kind
    cdef dict kinds  # kind -> record type
    cdef dict enums  # kind -> tuple with, per field position, None or {value: member}
    cdef object encode_python, decode_python

    def __init__(self, dict kind_of, dict kinds, dict enums, encode_python, decode_python):
        self.kind_of, self.kinds, self.enums = kind_of, kinds, enums
        self.encode_python, self.decode_python = encode_python, decode_python

    def encode(self, record):
        """MessagePack bytes of a command or event, as the Python codec writes them."""
        cdef char stack[STACK_BYTES]
        cdef Buf b
        kind = self.kind_of[type(record)]  # KeyError for a non-record, as before
        b.data, b.length, b.capacity, b.heap = stack, 0, STACK_BYTES, False
        try:
            _put1(&b, 0x92)
            _put_int(&b, kind)
            _pack(&b, record, 1)
            return PyBytes_FromStringAndSize(b.data, b.length)
        except _Unsupported:
            return self.encode_python(record)
        finally:
            if b.heap:
                free(b.data)

    def decode(self, data):
        """The record `data` holds; what the Python codec makes of anything unusual."""
        cdef Reader r
        cdef Py_ssize_t n, i
        cdef tuple enum_table
        cdef PyObject* member
        cdef uint8_t tag
        if type(data) is not bytes:
            return self.decode_python(data)
        r.data = <const uint8_t*>PyBytes_AS_STRING(data)
        r.length = PyBytes_GET_SIZE(data)
        r.pos = 0
        try:
            if r.length < 2 or r.data[0] != 0x92:
                raise _Unsupported()
            r.pos = 1
            kind = _unpack(&r, 1)
            if type(kind) is not int:
                raise _Unsupported()
            cls = self.kinds.get(kind)
            if cls is None or r.pos >= r.length:
                raise _Unsupported()
            tag = r.data[r.pos]
            r.pos += 1
            if 0x90 <= tag < 0xa0:
                n = tag & 0x0f
            elif tag == 0xdc:
                n = <Py_ssize_t>_take(&r, 2)
            else:
                raise _Unsupported()
            enum_table = self.enums[kind]
            if n != PyTuple_GET_SIZE(enum_table):  # an older record: defaults filled there
                raise _Unsupported()
            record = PyType_GenericAlloc(<PyTypeObject*>cls, n)
            for i in range(n):
                value = _unpack(&r, 2)
                values = <object>PyTuple_GET_ITEM(enum_table, i)
                if values is not None and value is not None:
                    member = PyDict_GetItem(values, value)  # NULL if unhashable too: the
                    if member == NULL:                      # Python codec says why
                        raise _Unsupported()
                    value = <object>member
                Py_INCREF(value)
                PyTuple_SET_ITEM(record, i, value)
            if r.pos != r.length:
                raise _Unsupported()
            return record
        except Exception:
            return self.decode_python(data)
