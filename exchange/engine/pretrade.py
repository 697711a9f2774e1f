"""Pre-trade rules that read the state and change none: an account's per-order limits, whether
a price crosses a level, and the band's edge for a market order. Shared by order entry (the
compiled core, `core.pyx`, which also holds the fill-or-kill test over the book) and amends
(amendments.py)."""

from __future__ import annotations

from exchange.engine.enums import Side, TimeInForce, TradingState
from exchange.engine.instrument import Account, Instrument
from exchange.engine.reasons import Reject

BUY = Side.BUY
RESTING_TIFS = (TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD)  # may rest on the book
STATE_REJECT = {TradingState.HALTED: Reject.MARKET_HALTED,
                TradingState.CLOSED: Reject.MARKET_CLOSED}


def check_limits(account: Account, instrument: Instrument, side: Side | int, qty: int,
                 price: int | None) -> Reject | None:
    """The account's per-order limits. The notional limit is on |price| x qty as money
    (`Instrument.notional`); a market order's is taken at the band's edge, and with no band it
    has no notional check (there is no price to take it at)."""
    if account.max_order_qty is not None and qty > account.max_order_qty:
        return Reject.ACCOUNT_MAX_ORDER_QTY
    if account.max_order_notional is None:
        return None
    if price is None:
        price = band_edge(instrument, side)
        if price is None:
            return None
    if instrument.notional(abs(price), qty) > account.max_order_notional:
        return Reject.ACCOUNT_MAX_NOTIONAL
    return None


def crosses(side: Side | int, price: int | None, opposite_price: int) -> bool:
    """Would an order at `price` trade with the opposite side's level at `opposite_price`?"""
    if price is None:
        return True
    return price >= opposite_price if side == BUY else price <= opposite_price


def band_edge(instrument: Instrument, side: Side | int) -> int | None:
    """The furthest price a market order may trade at, or None with no band."""
    band = instrument.band_limits()
    if band is None:
        return None
    return band[1] if side == BUY else band[0]

