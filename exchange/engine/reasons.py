"""Stable reason codes: why a command was rejected, why an order left the book.

One IntEnum per question, grouped by hundreds by the stage that decides. Codes are never
renumbered (they are stored in the ledger); new ones are appended within their group. Where FIX
has a matching OrdRejReason (tag 103) or CxlRejReason (tag 102), `fix_ord_rej_reason` maps it.
"""

from __future__ import annotations

from enum import IntEnum


class Reject(IntEnum):
    # 1xx: the command's shape (types, ranges) and references
    INVALID_FIELD = 100
    UNKNOWN_INSTRUMENT = 101
    UNKNOWN_ACCOUNT = 102
    DUPLICATE_INSTRUMENT = 103
    DUPLICATE_ACCOUNT = 104
    INVALID_INSTRUMENT_SPEC = 105
    # 2xx: the instrument's trading state
    MARKET_HALTED = 200
    MARKET_CLOSED = 201
    NOT_IN_CALL = 202  # market, IOC and FOK orders are refused while the instrument is in a call
    # 3xx: the order's own fields against the instrument
    INVALID_QUANTITY = 300
    QUANTITY_BELOW_MIN = 301
    QUANTITY_ABOVE_MAX = 302
    INVALID_PRICE = 303
    INVALID_PRICE_INCREMENT = 304
    PRICE_OUTSIDE_BAND = 305
    INVALID_DISPLAY_QTY = 306
    INVALID_EXPIRE_TIME = 307
    INVALID_TIF = 308
    DUPLICATE_ORDER = 309
    PRICE_OUT_OF_RANGE = 310  # outside the instrument's price range [min_price, max_price]
    INVALID_STOP_PRICE = 311  # off the tick or range, or the last trade price already reached it
    # 4xx: the account's limits
    ACCOUNT_MAX_ORDER_QTY = 400
    ACCOUNT_MAX_NOTIONAL = 401
    ACCOUNT_MAX_OPEN_ORDERS = 402
    CREDIT_LIMIT = 403  # the firm's open buy plus net bought notional would pass its limit
    BLOCKED = 404  # a kill switch holds the account or its firm
    NOTIONAL_CAPACITY = 405  # the firm's day notional would pass FIRM_NOTIONAL_CAPACITY
    # 5xx: the book at the moment of entry
    NO_LIQUIDITY = 500
    WOULD_TAKE = 501
    FOK_NOT_FILLABLE = 502
    # 6xx: cancels and amends
    UNKNOWN_ORDER = 600
    AMEND_NO_CHANGE = 601
    STOP_NOT_AMENDABLE = 602  # a held stop order is canceled and sent again, not amended
    # 7xx: operator commands on firms, trades and API keys
    UNKNOWN_FIRM = 700
    UNKNOWN_TRADE = 701
    TRADE_ALREADY_BUSTED = 702
    UNKNOWN_KEY = 703  # no such key, or it is already revoked
    DUPLICATE_KEY = 704  # the key id was used before


class CancelReason(IntEnum):
    """Why an order (or its remainder) left the book without trading."""

    REQUESTED = 1
    MASS_CANCEL = 2
    IOC_REMAINDER = 3  # IOC, FOK or market remainder after matching
    STP_RESTING = 4  # canceled as the resting side of a self-trade
    STP_INCOMING = 5  # canceled as the aggressor of a self-trade
    AMENDED_BELOW_FILLED = 6
    PRICE_BAND = 7  # a market order's remainder at the band's edge
    STP_DECREMENT = 8  # reduced to nothing by a decrementing self-trade
    DISCONNECT = 9  # cancel-on-disconnect (a mass cancel the gateway sends)
    DEAD_MANS_SWITCH = 10  # cancel_all_after ran out (a mass cancel the gateway sends)
    KILL_SWITCH = 11  # an operator engaged the kill switch of the account or its firm
    OPERATOR = 12  # an operator's mass cancel
    VOLATILITY_INTERRUPTION = 13  # a market, IOC or FOK remainder when its trade started a call


# FIX OrdRejReason (103): 0 broker option, 1 unknown symbol, 2 exchange closed, 3 order exceeds
# limit, 5 unknown order, 6 duplicate order, 11 unsupported order characteristic, 13 incorrect
# quantity, 99 other.
_FIX_ORD_REJ = {
    Reject.UNKNOWN_INSTRUMENT: 1,
    Reject.MARKET_HALTED: 2,
    Reject.MARKET_CLOSED: 2,
    Reject.NOT_IN_CALL: 2,
    Reject.ACCOUNT_MAX_ORDER_QTY: 3,
    Reject.ACCOUNT_MAX_NOTIONAL: 3,
    Reject.ACCOUNT_MAX_OPEN_ORDERS: 3,
    Reject.CREDIT_LIMIT: 3,
    Reject.UNKNOWN_ORDER: 5,
    Reject.DUPLICATE_ORDER: 6,
    Reject.INVALID_TIF: 11,
    Reject.INVALID_QUANTITY: 13,
    Reject.QUANTITY_BELOW_MIN: 13,
    Reject.QUANTITY_ABOVE_MAX: 13,
}


def fix_ord_rej_reason(reason: Reject) -> int:
    """The FIX OrdRejReason (tag 103) for a reject code; 99 (other) where FIX has none."""
    return _FIX_ORD_REJ.get(reason, 99)
