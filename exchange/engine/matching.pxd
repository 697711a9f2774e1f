from exchange.engine.book cimport Book, Level
from exchange.engine.changes cimport LevelChanges
from exchange.engine.order cimport Order
from exchange.engine.resting cimport Resting
from exchange.engine.stream cimport EventStream

# Continuous matching (matching.pyx).

cdef class Matcher:
    cdef EventStream stream
    cdef Resting resting
    cdef LevelChanges changes
    cdef public dict day_trades  # trade_id -> (symbol, price, qty, buyer, seller)
    cdef public long long next_trade_id
    cdef public object interrupted  # (order_id, symbol, price, low, high): a volatility call
    cdef match(self, Book book, Order taker, object limit)
    cdef bint prevent_self_trade(self, Level level, Order maker, Order taker) except -1
    cdef remove_resting(self, Level level, Order order, long long qty, object reason)
