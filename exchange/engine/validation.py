"""Checks of a command's own fields, before the engine looks anything up.

Each function returns the first Reject that applies, or None. They read only the command, so
they can run anywhere (the gateway may run them early); the engine always runs them itself,
because a command can come from anywhere, including a ledger file. Types are checked exactly:
a bool is not a quantity, a float is not a price, and ints must fit in 64 bits.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from exchange.engine.commands import (
    AddAccount,
    AddInstrument,
    AmendOrder,
    BustTrade,
    CancelOrder,
    IssueKey,
    MassCancel,
    SetAccountLimits,
    SetCreditLimit,
    SetKillSwitch,
    SetPriceBand,
    SetTradingState,
    SetVolatilityBands,
    SubmitOrder,
    SubmitStopOrder,
)
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce, TradingState
from exchange.engine.instrument import INT64_MAX, KEY_ROLES, NOTIONAL_DECIMALS, spec_price_range
from exchange.engine.reasons import CancelReason, Reject

MAX_ID_LENGTH = 64
MAX_TEXT_LENGTH = 200
_VALUES: dict[type[IntEnum], frozenset[int]] = {
    enum: frozenset(m.value for m in enum)
           for enum in (Side, OrdType, TimeInForce, StpMode, TradingState, CancelReason)}
# The states an operator may set (or list an instrument in); only the engine starts a
# volatility call.
_OPERATOR_STATES = frozenset(_VALUES[TradingState] - {TradingState.VOLATILITY_AUCTION.value})


def is_int(value: Any) -> bool:
    """An int that fits in 64 bits (and not a bool)."""
    return type(value) is int and -INT64_MAX <= value <= INT64_MAX


def _opt_int(value: Any) -> bool:
    return value is None or is_int(value)


def _opt_positive(value: Any) -> bool:
    return value is None or (is_int(value) and value > 0)


def is_name(value: Any) -> bool:
    """A non-empty string of printable characters, at most 64 long (ids, symbols)."""
    return type(value) is str and 0 < len(value) <= MAX_ID_LENGTH and value.isprintable()


def is_text(value: Any, most: int = MAX_TEXT_LENGTH) -> bool:
    """A string of printable characters, at most `most` long (descriptions, reasons).

    Printable excludes control and format characters, lone surrogates (which no UTF-8
    encoder takes) and unassigned code points, so text that passes is safe to encode, store
    and show anywhere.
    """
    return type(value) is str and len(value) <= most and value.isprintable()


def _member(value: Any, enum: type[IntEnum]) -> bool:
    return isinstance(value, int) and type(value) is not bool and value in _VALUES[enum]


# A SubmitOrder is a limit or market order; stops come as SubmitStopOrder.
_SUBMITTABLE = frozenset({OrdType.LIMIT.value, OrdType.MARKET.value})
_LIMIT, _MARKET = OrdType.LIMIT, OrdType.MARKET


def submit_fields(cmd: SubmitOrder) -> Reject | None:
    # Written out flat: this runs for every order, and each call here costs.
    (ts_us, account, cl_ord_id, symbol, side, qty, price, ord_type, tif, expire_at_us, post_only,
     display_qty, stp) = cmd
    if not (type(ts_us) is int and type(account) is str and type(cl_ord_id) is str
            and type(symbol) is str and type(post_only) is bool
            and 0 < len(account) <= MAX_ID_LENGTH and 0 < len(cl_ord_id) <= MAX_ID_LENGTH
            and 0 < len(symbol) <= MAX_ID_LENGTH
            and account.isprintable() and cl_ord_id.isprintable() and symbol.isprintable()
            and (type(side) is Side or _member(side, Side))
            and (ord_type is _LIMIT or ord_type is _MARKET
                 or (isinstance(ord_type, int) and type(ord_type) is not bool
                     and ord_type in _SUBMITTABLE))
            and (type(tif) is TimeInForce or _member(tif, TimeInForce))
            and (type(stp) is StpMode or _member(stp, StpMode))
            and -INT64_MAX <= ts_us <= INT64_MAX):
        return Reject.INVALID_FIELD
    if type(qty) is not int or not 0 < qty <= INT64_MAX:
        return Reject.INVALID_QUANTITY
    if price is not None and (type(price) is not int or not -INT64_MAX <= price <= INT64_MAX):
        return Reject.INVALID_PRICE
    if not _opt_int(expire_at_us):
        return Reject.INVALID_EXPIRE_TIME
    if not _opt_positive(display_qty):
        return Reject.INVALID_DISPLAY_QTY
    return None


def stop_fields(cmd: SubmitStopOrder) -> Reject | None:
    """A stop order's field types (its terms are checked against the instrument later)."""
    if not (is_int(cmd.ts_us) and is_name(cmd.account) and is_name(cmd.cl_ord_id)
            and is_name(cmd.symbol) and _member(cmd.side, Side) and _member(cmd.tif, TimeInForce)
            and _member(cmd.stp, StpMode)):
        return Reject.INVALID_FIELD
    if not is_int(cmd.qty) or cmd.qty <= 0:
        return Reject.INVALID_QUANTITY
    if not is_int(cmd.stop_price):
        return Reject.INVALID_STOP_PRICE
    if not _opt_int(cmd.price):
        return Reject.INVALID_PRICE
    return None


# A volatility call lasts at most a day (its end stays a 64-bit time on any realistic clock).
MAX_CALL_US = 86_400_000_000


def volatility_fields(cmd: SetVolatilityBands) -> Reject | None:
    if not (is_int(cmd.ts_us) and is_name(cmd.symbol) and _opt_positive(cmd.dynamic_ticks)
            and _opt_positive(cmd.static_ticks) and is_int(cmd.call_us)
            and 0 < cmd.call_us <= MAX_CALL_US):
        return Reject.INVALID_FIELD
    return None


def cancel_fields(cmd: CancelOrder) -> Reject | None:
    if not (is_int(cmd.ts_us) and is_name(cmd.account) and is_int(cmd.order_id)):
        return Reject.INVALID_FIELD
    return None


def amend_fields(cmd: AmendOrder) -> Reject | None:
    if not (is_int(cmd.ts_us) and is_name(cmd.account) and is_int(cmd.order_id)
            and (cmd.cl_ord_id is None or is_name(cmd.cl_ord_id))):
        return Reject.INVALID_FIELD
    if not is_int(cmd.qty) or cmd.qty <= 0:
        return Reject.INVALID_QUANTITY
    if not is_int(cmd.price):
        return Reject.INVALID_PRICE
    return None


MASS_CANCEL_REASONS = (CancelReason.MASS_CANCEL, CancelReason.DISCONNECT,
                       CancelReason.DEAD_MANS_SWITCH, CancelReason.OPERATOR)


def mass_cancel_fields(cmd: MassCancel) -> Reject | None:
    if not (is_int(cmd.ts_us) and is_name(cmd.account)
            and (cmd.symbol is None or is_name(cmd.symbol))
            and (cmd.side is None or _member(cmd.side, Side))
            and _member(cmd.reason, CancelReason) and cmd.reason in MASS_CANCEL_REASONS):
        return Reject.INVALID_FIELD
    return None


def credit_limit_fields(cmd: SetCreditLimit) -> Reject | None:
    if not (is_int(cmd.ts_us) and is_name(cmd.firm) and _opt_positive(cmd.credit_limit)):
        return Reject.INVALID_FIELD
    return None


def kill_switch_fields(cmd: SetKillSwitch) -> Reject | None:
    if not (is_int(cmd.ts_us) and cmd.scope in ("firm", "account") and is_name(cmd.name)
            and type(cmd.engaged) is bool):
        return Reject.INVALID_FIELD
    return None


def bust_fields(cmd: BustTrade) -> Reject | None:
    if not (is_int(cmd.ts_us) and is_int(cmd.trade_id) and is_text(cmd.reason)):
        return Reject.INVALID_FIELD
    return None


def instrument_spec(cmd: AddInstrument) -> Reject | None:
    """An instrument's spec, including its price range and band (instrument.spec_price_range).
    """
    return instrument_spec_range(cmd)[0]


def instrument_spec_range(cmd: AddInstrument) -> tuple[Reject | None, tuple[int, int] | None]:
    """`instrument_spec`, and the price range it found (None if the spec has none), so that
    listing the instrument need not work it out again."""
    # Flat, like submit_fields: a bulk import runs this for every row.
    (ts_us, symbol, commodity, grade, location, period, unit, lot_size, tick_size, decimals,
     min_qty, max_qty, reference_price, band_ticks, state, min_price, max_price) = cmd
    if not (is_text(commodity) and is_text(grade) and is_text(location) and is_text(period)
            and is_text(unit) and is_int(ts_us) and is_name(symbol)
            and _operator_state(state)
            and _opt_int(min_price) and _opt_int(max_price)):
        return Reject.INVALID_FIELD, None
    if not (type(lot_size) is int and type(tick_size) is int and type(decimals) is int
            and type(min_qty) is int and type(max_qty) is int
            and 0 < lot_size <= INT64_MAX and 0 < tick_size <= INT64_MAX
            and 0 <= decimals <= NOTIONAL_DECIMALS
            and 0 < min_qty <= max_qty <= INT64_MAX):
        return Reject.INVALID_INSTRUMENT_SPEC, None
    price_range = spec_price_range(cmd)
    if price_range is None:
        return Reject.INVALID_INSTRUMENT_SPEC, None
    return band_fields(reference_price, band_ticks, tick_size, price_range), price_range


def band_fields(reference_price: Any, band_ticks: Any, tick_size: int,
                price_range: tuple[int, int]) -> Reject | None:
    """A price band: the reference on a tick inside the price range, a width of 0 or more."""
    if not (_opt_int(reference_price) and _opt_int(band_ticks)):
        return Reject.INVALID_FIELD
    if band_ticks is not None and band_ticks < 0:
        return Reject.INVALID_INSTRUMENT_SPEC
    if reference_price is not None and reference_price % tick_size:
        return Reject.INVALID_PRICE_INCREMENT
    if reference_price is not None and not price_range[0] <= reference_price <= price_range[1]:
        return Reject.PRICE_OUT_OF_RANGE
    return None


def _operator_state(state: Any) -> bool:
    return isinstance(state, int) and type(state) is not bool and state in _OPERATOR_STATES


def trading_state_fields(cmd: SetTradingState) -> Reject | None:
    if not (is_int(cmd.ts_us) and is_name(cmd.symbol) and _operator_state(cmd.state)):
        return Reject.INVALID_FIELD
    return None


def price_band_fields(cmd: SetPriceBand) -> Reject | None:
    if not (is_int(cmd.ts_us) and is_name(cmd.symbol)):
        return Reject.INVALID_FIELD
    return None


def _hex(value: Any, length: int) -> bool:
    return (type(value) is str and len(value) == length
            and all(c in "0123456789abcdef" for c in value))


def is_key_id(value: Any) -> bool:
    """A key id: a name without '.', which separates it from the secret in an API key."""
    return is_name(value) and "." not in value


def key_fields(cmd: IssueKey) -> Reject | None:
    """A trader key names its account; operator and auditor keys none."""
    if not (is_int(cmd.ts_us) and is_key_id(cmd.key_id) and cmd.role in KEY_ROLES
            and (is_name(cmd.account) if cmd.role == "trader" else cmd.account is None)
            and _hex(cmd.salt, 32) and _hex(cmd.secret_hash, 64)):
        return Reject.INVALID_FIELD
    return None


def account_fields(cmd: AddAccount | SetAccountLimits) -> Reject | None:
    firm_ok = is_name(cmd.firm) if isinstance(cmd, AddAccount) else True
    if not (is_int(cmd.ts_us) and is_name(cmd.account) and firm_ok
            and _opt_positive(cmd.max_order_qty) and _opt_positive(cmd.max_order_notional)
            and _opt_positive(cmd.max_open_orders)):
        return Reject.INVALID_FIELD
    return None
