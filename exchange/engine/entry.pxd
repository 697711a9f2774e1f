from exchange.engine.book cimport Book
from exchange.engine.order cimport BUY, Order
from exchange.engine.risk cimport Account

# The checks an order meets on entry (entry.pyx).

cdef Order new_order(long long order_id, object cmd, Account account, Book book)
cdef object entry_reason(Order order, Account account, object instrument, Book book,
                         long long now_us)
cdef object price_reason(bint has_price, long long price, Book book)


cdef inline bint crosses(int side, bint has_price, long long price, long long opposite):
    """Would an order at `price` (none: a market order) trade with a level at `opposite`?"""
    if not has_price:
        return True
    return price >= opposite if side == BUY else price <= opposite
