"""Why an order was rejected, in numbers: the `msg` beside the engine's reason code.

`explain(reason, command, engine)` reads the state the engine judged the command against (a
rejected command changes nothing, so the state after it is the state it met) and says what the
rule allowed: the band's range, the instrument's or the account's quantity limits, the
account's notional limit, the firm's credit used and left, the trading state. Reasons without
numbers get their name in words. Pure: no I/O; cost O(1), or O(the firm's open orders) for
CREDIT_LIMIT.
"""

from __future__ import annotations

from typing import Any

from exchange.engine import AmendOrder, SubmitOrder
from exchange.engine.instrument import NOTIONAL_DECIMALS, format_price
from exchange.engine.reasons import Reject


def _money(value: int) -> str:
    return format_price(value, NOTIONAL_DECIMALS)


def explain(reason: Reject, command: Any, engine: Any) -> str:
    """The reject message for `command` (a SubmitOrder or AmendOrder) refused with `reason`."""
    detail = _detail(reason, command, engine) if isinstance(command, SubmitOrder | AmendOrder) \
        else None
    base = f"order rejected: {reason.name}"
    return f"{base}: {detail}" if detail else base


def _instrument_of(command: Any, engine: Any) -> Any:
    if isinstance(command, SubmitOrder):
        return engine.instruments.get(command.symbol)
    order = engine.orders.get(command.order_id)  # an amend: the order it would change
    return None if order is None else engine.instruments.get(order.symbol)


def _detail(reason: Reject, command: Any, engine: Any) -> str | None:
    instrument = _instrument_of(command, engine)
    account = engine.accounts.get(command.account)
    if instrument is None or account is None:
        return None
    decimals = instrument.spec.price_decimals

    def px(units: int) -> str:
        return format_price(units, decimals)

    price = command.price
    if reason is Reject.PRICE_OUTSIDE_BAND and instrument.band is not None and price is not None:
        low, high = instrument.band
        return (f"price {px(price)} is outside the band {px(low)} to {px(high)} (reference "
                f"{px(instrument.reference_price)} +/- {instrument.band_ticks} ticks of "
                f"{px(instrument.tick_size)})")
    if reason is Reject.PRICE_OUT_OF_RANGE and price is not None:
        return (f"price {px(price)} is outside the instrument's range "
                f"{px(instrument.min_price)} to {px(instrument.max_price)}")
    if reason is Reject.QUANTITY_BELOW_MIN:
        return f"qty {command.qty} is below the instrument's minimum of {instrument.min_qty} lots"
    if reason is Reject.QUANTITY_ABOVE_MAX:
        return f"qty {command.qty} is above the instrument's maximum of {instrument.max_qty} lots"
    if reason is Reject.ACCOUNT_MAX_ORDER_QTY and account.max_order_qty is not None:
        return (f"qty {command.qty} is above the account's limit of {account.max_order_qty} "
                "lots an order")
    if reason is Reject.ACCOUNT_MAX_NOTIONAL and account.max_order_notional is not None:
        shown = "" if price is None else (
            f"{_money(instrument.notional(price, command.qty))} ({command.qty} lots at "
            f"{px(price)}) is ")
        return (f"the order's notional {shown}above the account's limit of "
                f"{_money(account.max_order_notional)}")
    if reason is Reject.ACCOUNT_MAX_OPEN_ORDERS and account.max_open_orders is not None:
        return f"the account has {len(account.open_orders)} open orders, its limit"
    if reason is Reject.CREDIT_LIMIT:
        firm = engine.firms[account.firm]
        if firm.credit_limit is None:
            return None
        used = firm.open_buy_notional(engine.instruments) + firm.net_bought
        asked = "" if price is None else \
            f"the order needs {_money(instrument.notional(price, command.qty))}; "
        return (f"{asked}firm {firm.name} has used {_money(used)} of its credit limit "
                f"{_money(firm.credit_limit)} (open buys + net bought), "
                f"{_money(max(firm.credit_limit - used, 0))} left")
    if reason in (Reject.MARKET_HALTED, Reject.MARKET_CLOSED):
        return f"{instrument.symbol} is {instrument.state.name}"
    if reason is Reject.BLOCKED:
        firm = engine.firms[account.firm]
        who = f"account {account.account}" if account.blocked else f"firm {firm.name}"
        return f"a kill switch holds {who}"
    return None
