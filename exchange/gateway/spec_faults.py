"""Which field of an instrument spec the engine refused, and why, in the operator's words.

The engine's reject of an `AddInstrument` or `ImportInstruments` says only its reason code and
the symbol or row (that text is in the ledger, so it stays as it is). `spec_fault(spec)` walks
the same checks as `validation.instrument_spec` and `instrument.spec_price_range`, in the same
order, and names the first field that fails with its numbers, under the wire name an operator
writes (`max_qty`, `tick`, `max_px`, ...); `rejected_detail` adds that to the reject the
gateway answers and to `instruments import --check`'s verdict, so both say the same. A test
holds `spec_fault`'s reason equal to the engine's for every spec it generates. Pure; O(1) for
one spec (the reject of an import costs one row).
"""

from __future__ import annotations

from typing import Any

from exchange.engine import AddInstrument, ImportInstruments
from exchange.engine.enums import TradingState
from exchange.engine.events import CommandRejected
from exchange.engine.instrument import (
    INT64_MAX,
    MAX_ORDER_NOTIONAL,
    NOTIONAL_DECIMALS,
    format_price,
    notional_scale,
    spec_price_range,
)
from exchange.engine.reasons import Reject
from exchange.engine.validation import MAX_ID_LENGTH, MAX_TEXT_LENGTH, is_int, is_name, is_text

Fault = tuple[Reject, str]
_TEXTS = (("commodity", 2), ("grade", 3), ("location", 4), ("delivery_period", 5), ("unit", 6))
_COUNTS = (("lot_size", "lot_size"), ("tick", "tick_size"), ("min_qty", "min_qty"),
           ("max_qty", "max_qty"))
_MONEY = format_price(MAX_ORDER_NOTIONAL, NOTIONAL_DECIMALS)
_STATES = frozenset(state.value for state in TradingState)


def spec_fault(spec: AddInstrument) -> Fault | None:
    """(the engine's reason, "field: why") for the first field the engine refuses, or None if
    it accepts the spec (a duplicate symbol aside: that needs the venue's listing)."""
    return _field_fault(spec) or _terms_fault(spec) or _range_fault(spec) or _band_fault(spec)


def rejected_detail(event: CommandRejected, command: Any) -> str:
    """The engine's detail of a rejected command, with the refused field named where the
    command is an instrument listing (`add instrument 'X': max_qty: ...`)."""
    detail = event.detail
    spec: Any = command
    if type(command) is ImportInstruments and detail.startswith("import instruments: row "):
        row = int(detail.rpartition(" ")[2])
        found = command.rows[row - 1]
        spec = AddInstrument(command.ts_us, *found) if type(found) in (list, tuple) \
            and 9 <= len(found) <= 16 else None
    elif type(command) is not AddInstrument:
        return detail
    fault = None if spec is None else spec_fault(spec)
    if fault is not None and fault[0] is event.reason:
        return f"{detail}: {fault[1]}"
    if event.reason is Reject.DUPLICATE_INSTRUMENT and spec is not None:
        earlier = "" if type(command) is AddInstrument else " or on an earlier row"
        return f"{detail}: symbol: {spec.symbol!r} is listed already{earlier}"
    return detail


def _field_fault(spec: AddInstrument) -> Fault | None:
    def bad(field: str, why: str) -> Fault:
        return Reject.INVALID_FIELD, f"{field}: {why}"
    for field, place in _TEXTS:
        if not is_text(spec[place]):
            return bad(field, f"printable text of at most {MAX_TEXT_LENGTH} characters")
    if not is_int(spec.ts_us):
        return bad("ts_us", "a 64-bit integer")
    if not is_name(spec.symbol):
        return bad("symbol", f"printable, 1 to {MAX_ID_LENGTH} characters")
    state = spec.state
    if not (type(state) is TradingState
            or (type(state) is int and state in _STATES)):
        return bad("state", "one of " + ", ".join(s.name for s in TradingState))
    for field, value in (("min_px", spec.min_price), ("max_px", spec.max_price)):
        if not (value is None or is_int(value)):
            return bad(field, "a 64-bit integer of price units")
    return None


def _terms_fault(spec: AddInstrument) -> Fault | None:
    def bad(why: str) -> Fault:
        return Reject.INVALID_INSTRUMENT_SPEC, why
    for field, name in (*_COUNTS, ("price_decimals", "price_decimals")):
        if type(getattr(spec, name)) is not int:
            return bad(f"{field}: a whole number")
    decimals = spec.price_decimals
    if not 0 <= decimals <= NOTIONAL_DECIMALS:
        return bad(f"price_decimals: {decimals} is not 0 to {NOTIONAL_DECIMALS} (notional is "
                   f"counted in 10**-{NOTIONAL_DECIMALS} of the currency)")
    if not 0 < spec.lot_size <= INT64_MAX:
        return bad(f"lot_size: {spec.lot_size} is not a positive 64-bit number")
    if not 0 < spec.tick_size <= INT64_MAX:
        return bad(f"tick: {format_price(spec.tick_size, decimals)} is not positive "
                   "(or beyond 64 bits)")
    if not 0 < spec.min_qty:
        return bad(f"min_qty: {spec.min_qty} is not positive")
    if not spec.min_qty <= spec.max_qty:
        return bad(f"max_qty: {spec.max_qty} is below min_qty {spec.min_qty}")
    if not spec.max_qty <= INT64_MAX:
        return bad(f"max_qty: {spec.max_qty} is beyond 64 bits")
    return None


def _range_fault(spec: AddInstrument) -> Fault | None:
    """instrument.spec_price_range's checks, each named."""
    tick, decimals = spec.tick_size, spec.price_decimals

    def px(units: int) -> str:
        return format_price(units, decimals)

    def bad(why: str) -> Fault:
        return Reject.INVALID_INSTRUMENT_SPEC, why
    per_price_unit = spec.max_qty * notional_scale(spec.lot_size, decimals)
    low = tick if spec.min_price is None else spec.min_price
    high = spec.max_price
    if high is None:
        high = MAX_ORDER_NOTIONAL // per_price_unit // tick * tick
    if low % tick:
        return bad(f"min_px: {px(low)} is not a multiple of the tick {px(tick)}")
    if high % tick:
        return bad(f"max_px: {px(high)} is not a multiple of the tick {px(tick)}")
    if low > high:
        if spec.max_price is not None:
            low_name = "min_px" if spec.min_price is not None else "the default min_px (one tick)"
            return bad(f"max_px: {px(high)} is below {low_name} {px(low)}")
        limit = (f"the highest tick at which max_qty {spec.max_qty} lots of {spec.lot_size} "
                 f"{spec.unit} stay within an order's notional limit {_MONEY}")
        if spec.min_price is not None:
            return bad(f"min_px: {px(low)} is above the default max_px {px(high)} ({limit})")
        return bad(f"max_qty: {spec.max_qty} lots are too many for one tick {px(low)}: the "
                   f"default max_px is {limit}, {px(high)}")
    end, value = ("min_px", low) if abs(low) > abs(high) else ("max_px", high)
    if abs(value) * per_price_unit > MAX_ORDER_NOTIONAL:
        worth = format_price(abs(value) * per_price_unit, NOTIONAL_DECIMALS)
        return bad(f"{end}: max_qty {spec.max_qty} lots at {px(value)} are worth {worth}, "
                   f"more than an order may ({_MONEY})")
    return None


def _band_fault(spec: AddInstrument) -> Fault | None:
    reference, band, tick = spec.reference_price, spec.band_ticks, spec.tick_size
    for field, value in (("reference_px", reference), ("band_ticks", band)):
        if not (value is None or is_int(value)):
            return Reject.INVALID_FIELD, f"{field}: a 64-bit integer"
    if band is not None and band < 0:
        return Reject.INVALID_INSTRUMENT_SPEC, f"band_ticks: {band} is negative"
    if reference is None:
        return None
    decimals = spec.price_decimals
    shown = format_price(reference, decimals)
    if reference % tick:
        why = f"reference_px: {shown} is not a multiple of the tick {format_price(tick, decimals)}"
        return Reject.INVALID_PRICE_INCREMENT, why
    price_range = spec_price_range(spec)
    assert price_range is not None  # _range_fault found none wrong
    low, high = price_range
    if not low <= reference <= high:
        why = (f"reference_px: {shown} is outside the price range "
               f"{format_price(low, decimals)} to {format_price(high, decimals)}")
        return Reject.PRICE_OUT_OF_RANGE, why
    return None
