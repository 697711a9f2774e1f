from exchange.engine.book cimport Level
from exchange.engine.order cimport Order

# The events of the command being carried out, numbered and stamped (stream.pyx).

cdef class EventStream:
    cdef public long long seq, now_us
    cdef list events
    cdef list start(self)
    cdef add(self, type kind, tuple fields)
    cdef accepted(self, Order order, object cmd)
    cdef trade(self, long long trade_id, str symbol, long long price, long long qty,
               object aggressor, Order maker, Order taker)
    cdef canceled(self, Order order, long long qty, object reason)
    cdef restated(self, Order order, object reason)
    cdef expired(self, Order order)
    cdef replaced(self, Order order, bint kept_priority)
    cdef book_changed(self, Level level, long long total)
    cdef order_rejected(self, object cmd, object reason)
    cdef cancel_rejected(self, object cmd, object reason)
    cdef command_rejected(self, object reason, str detail)
