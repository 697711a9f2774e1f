# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Order entry: the Order a validated SubmitOrder makes, and the checks it meets before it may
enter, in a fixed order (the first failing one is the reject's reason).

Every field was checked by `validation` first, so these see ints within 64 bits and enum
values. Products of prices and quantities are formed only after the order's terms are checked
against its instrument, whose bounds keep any order's notional within MAX_ORDER_NOTIONAL
(10**18) and a firm's totals below 2**63 (instrument.py), so C arithmetic cannot overflow.
Costs: O(1), except fill-or-kill's look down the book (O(levels and orders it would meet)).
"""

from cpython.tuple cimport PyTuple_GET_ITEM

from exchange.engine.book cimport Book, Ladder, Level
from exchange.engine.order cimport (
    BUY,
    CANCEL_RESTING,
    FOK,
    GTD,
    IOC,
    LIMIT,
    MARKET,
    Order,
)
from exchange.engine.resting cimport abs64
from exchange.engine.risk cimport Account, Firm

from exchange.engine.instrument import FIRM_NOTIONAL_CAPACITY
from exchange.engine.pretrade import STATE_REJECT, band_edge, check_limits
from exchange.engine.reasons import Reject
from exchange.engine.enums import TradingState

cdef long long CAPACITY = FIRM_NOTIONAL_CAPACITY
_OPEN = TradingState.OPEN


cdef inline object _field(object record, Py_ssize_t i):
    """Field i of a command whose type is known (a NamedTuple: a tuple of fixed length)."""
    return <object>PyTuple_GET_ITEM(record, i)


cdef Order new_order(long long order_id, object cmd, Account account, Book book):
    """The Order a validated SubmitOrder would make (not yet accepted: nothing indexes it)."""
    cdef Order order = Order.__new__(Order)
    price, expire, display = _field(cmd, 6), _field(cmd, 9), _field(cmd, 11)
    order.order_id = order_id
    order.account, order.cl_ord_id, order.symbol = _field(cmd, 1), _field(cmd, 2), _field(cmd, 3)
    order.firm = account.firm
    order.account_ref = account
    order.firm_ref = account.firm_ref
    order.c_side, order.qty, order.c_ord_type = _field(cmd, 4), _field(cmd, 5), _field(cmd, 7)
    order.c_tif, order.post_only, order.c_stp = _field(cmd, 8), _field(cmd, 10), _field(cmd, 12)
    order.has_price = price is not None
    order.c_price = price if order.has_price else 0
    order.has_expire = expire is not None
    order.c_expire = expire if order.has_expire else 0
    order.has_display = display is not None
    order.c_display = display if order.has_display else 0
    order.leaves = order.qty
    order.refill()
    order.scale = book.scale
    return order


cdef object entry_reason(Order order, Account account, object instrument, Book book,
                         long long now_us):
    """The checks after the field types, in a fixed order; None if the order may enter."""
    cdef Firm firm = order.firm_ref
    if account.blocked or firm.blocked:
        return Reject.BLOCKED
    if book.state is not _OPEN:
        if not book.in_call:
            return STATE_REJECT[book.state]
        if order.c_ord_type == MARKET or order.c_tif >= IOC:
            return Reject.NOT_IN_CALL
    reason = _terms_reason(order, book, now_us)
    if reason is None and (account.max_order_qty or account.max_order_notional):
        reason = check_limits(account, instrument, order.c_side, order.qty, order.price)
    if reason is None and order.c_side == BUY and firm.credit_limit:
        reason = credit_reason(firm, instrument, BUY, order.price, order.qty)
    if reason is None and _worst_notional(order, book) > CAPACITY - firm.day_notional - firm.open_notional:
        reason = Reject.NOTIONAL_CAPACITY
    if reason is not None:
        return reason
    if order.cl_ord_id in account.live_cl_ord_ids:
        return Reject.DUPLICATE_ORDER
    limit = account.max_open_orders
    if (order.c_ord_type == LIMIT and order.c_tif <= GTD and limit is not None
            and len(account.open_orders) >= limit):
        return Reject.ACCOUNT_MAX_OPEN_ORDERS
    if book.in_call:  # post-only has nothing to take; market, IOC and FOK are out
        return None
    if order.c_ord_type == MARKET or order.post_only or order.c_tif == FOK:
        return _book_reason(order, book)
    return None


cdef object _terms_reason(Order order, Book book, long long now_us):
    """The order's own terms against the instrument: quantity, price, TIF, iceberg."""
    cdef int tif = order.c_tif
    if order.qty < book.min_qty:
        return Reject.QUANTITY_BELOW_MIN
    if order.qty > book.max_qty:
        return Reject.QUANTITY_ABOVE_MAX
    if order.c_ord_type == LIMIT:
        reason = price_reason(order.has_price, order.c_price, book)
        if reason is not None:
            return reason
    elif order.has_price:
        return Reject.INVALID_PRICE
    elif tif < IOC or order.post_only:
        return Reject.INVALID_TIF
    if order.post_only and tif >= IOC:
        return Reject.INVALID_TIF
    if (tif == GTD) != order.has_expire:
        return Reject.INVALID_EXPIRE_TIME
    if order.has_expire and order.c_expire <= now_us:
        return Reject.INVALID_EXPIRE_TIME
    if order.has_display and (order.c_display > order.qty or tif > GTD):
        return Reject.INVALID_DISPLAY_QTY
    return None


cdef object _book_reason(Order order, Book book):
    """Checks against the book at this moment: liquidity, post-only, fill-or-kill."""
    cdef Ladder opposite = book.asks if order.c_side == BUY else book.bids
    cdef Level best = opposite.top()
    if order.c_ord_type == MARKET and best is None:
        return Reject.NO_LIQUIDITY
    if (order.post_only and best is not None
            and crosses(order.c_side, order.has_price, order.c_price, best.price)):
        return Reject.WOULD_TAKE
    cdef long long low, high
    if order.c_tif == FOK:
        limit = order.c_price if order.c_ord_type == LIMIT else book.band_edge(order.c_side)
        if book.vi_bands(&low, &high):  # a FOK never interrupts: it trades within the bands
            if best is not None and (best.price < low if order.c_side == BUY
                                     else best.price > high):
                return Reject.FOK_NOT_FILLABLE  # its first trade would be below (above) them
            if order.c_side == BUY:
                limit = high if limit is None else min(limit, high)
            else:
                limit = low if limit is None else max(limit, low)
        if not _fillable(opposite, order, limit):
            return Reject.FOK_NOT_FILLABLE
    return None


cdef object price_reason(bint has_price, long long price, Book book):
    """A limit price against its book's instrument: on a tick, in range, inside the band."""
    if not has_price:
        return Reject.INVALID_PRICE
    if price % book.tick:
        return Reject.INVALID_PRICE_INCREMENT
    if not book.min_price <= price <= book.max_price:
        return Reject.PRICE_OUT_OF_RANGE
    if book.has_band and not book.band_low <= price <= book.band_high:
        return Reject.PRICE_OUTSIDE_BAND
    return None


def credit_reason(Firm firm, instrument, side, price, qty, replacing=None):
    """A buy may not take the firm's open buy notional (over all its instruments) plus its
    net bought notional plus this order's notional past its credit limit. A market buy is
    priced at the band's edge; with no band it cannot be bounded, so a firm with a limit
    may not send one. O(1): the open buy notional is a running total."""
    if side != BUY or firm.credit_limit is None:
        return None
    if price is None:
        price = band_edge(instrument, BUY)
        if price is None:
            return Reject.CREDIT_LIMIT
    exposure = firm.open_buy + firm.net_bought + instrument.notional(price, qty)
    if replacing is not None:
        exposure -= instrument.notional(replacing.price, replacing.leaves)
    return Reject.CREDIT_LIMIT if exposure > firm.credit_limit else None


cdef bint _fillable(Ladder ladder, Order taker, limit) except -1:
    """Whether matching would fill the taker entirely by trades (fill-or-kill), given its
    self-trade mode: same-firm orders are skipped with CANCEL_RESTING and end the fill with any
    other mode. An iceberg's hidden part counts unless a same-firm order waits behind it."""
    cdef bint has_limit = limit is not None
    cdef long long bound = limit if has_limit else 0
    cdef long long qty = taker.qty, hidden
    cdef bint same_firm_ahead
    cdef Level level
    cdef Order order
    cdef Py_ssize_t i
    for i in range(ladder.n - 1, -1, -1):
        level = ladder.lvls[i]
        if not crosses(taker.c_side, has_limit, bound, level.price):
            return False
        same_firm_ahead = False
        hidden = 0
        order = level.head
        while order is not None:
            if order.firm == taker.firm:
                if taker.c_stp != CANCEL_RESTING:
                    same_firm_ahead = True
                    break
            else:
                qty -= order.visible
                if qty <= 0:
                    return True
            order = order.next
        if same_firm_ahead:
            return False
        order = level.head
        while order is not None:
            if order.firm != taker.firm:
                hidden += order.leaves - order.visible
            order = order.next
        qty -= hidden
        if qty <= 0:
            return True
    return False


cdef long long _worst_notional(Order order, Book book):
    """The most the order may be worth at any price it may trade at: its own price or, on entry,
    opposite levels between the best one and its price; a market order anywhere in the trading
    range (the band, else the price range). Its terms are checked: within 10**18."""
    cdef long long most
    cdef Level best
    if not order.has_price:
        if book.has_band:
            most = max(abs64(book.band_low), abs64(book.band_high))
        else:
            most = max(abs64(book.min_price), abs64(book.max_price))
    else:
        best = (book.asks if order.c_side == BUY else book.bids).top()
        most = abs64(order.c_price)
        if best is not None:
            most = max(most, abs64(best.price))
    return most * order.qty * book.scale
