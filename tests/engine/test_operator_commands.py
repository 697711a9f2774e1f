"""Operator commands: each answers with its event or a CommandRejected, and takes a seq.
ImportInstruments lists many instruments at once, all or none."""

from __future__ import annotations

from typing import Any

import pytest

from exchange.engine.commands import (
    AddAccount,
    AddInstrument,
    ImportInstruments,
    SetAccountLimits,
    SetPriceBand,
    SetTradingState,
)
from exchange.engine.engine import Engine
from exchange.engine.enums import TradingState
from exchange.engine.events import (
    AccountAdded,
    AccountLimitsSet,
    InstrumentAdded,
    InstrumentsImported,
    PriceBandSet,
    TradingStateChanged,
)
from exchange.engine.reasons import Reject
from tests.engine.helpers import SYMBOL, book, buy, instrument, kinds, sell, state, venue


def command_rejected(engine: Engine, command) -> Reject:
    events = engine.apply(command)
    assert kinds(events) == ["CommandRejected"], events
    return events[0].reason


def test_add_instrument_answers_instrument_added_with_the_next_seq() -> None:
    engine = Engine()
    events = engine.apply(instrument(ts_us=5))
    assert events == [InstrumentAdded(2, 5, SYMBOL)] and engine.last_command_seq == 1


def test_add_instrument_twice_is_a_duplicate() -> None:
    assert command_rejected(venue(), instrument()) is Reject.DUPLICATE_INSTRUMENT


@pytest.mark.parametrize("terms", [
    {"lot_size": 0}, {"tick_size": 0}, {"tick_size": -5}, {"price_decimals": 7},
    {"price_decimals": -1}, {"min_qty": 0}, {"min_qty": 5, "max_qty": 4}, {"band_ticks": -1},
])
def test_add_instrument_with_an_invalid_spec_is_rejected(terms: dict) -> None:
    engine = Engine()
    assert command_rejected(engine, instrument(**terms)) is Reject.INVALID_INSTRUMENT_SPEC
    assert engine.instruments == {}


def test_add_instrument_with_a_reference_price_off_the_tick_is_rejected() -> None:
    # The doc says "reference price on the tick" but names no code: the engine says which rule.
    engine = Engine()
    reason = command_rejected(engine, instrument(tick_size=5, reference_price=7, band_ticks=1))
    assert reason is Reject.INVALID_PRICE_INCREMENT and engine.instruments == {}


def test_add_instrument_accepts_the_edges_of_its_spec() -> None:
    engine = Engine()
    assert kinds(engine.apply(instrument(price_decimals=0, min_qty=3, max_qty=3,
                                         band_ticks=0, reference_price=-10, min_price=-10))) == ["InstrumentAdded"]
    assert kinds(engine.apply(instrument("X", price_decimals=6))) == ["InstrumentAdded"]


def test_set_trading_state_answers_with_the_change_or_unknown_instrument() -> None:
    engine = venue()
    events = engine.apply(SetTradingState(3, SYMBOL, TradingState.HALTED))
    assert events == [TradingStateChanged(events[0].seq, 3, SYMBOL, TradingState.HALTED)]
    assert command_rejected(engine, SetTradingState(3, "NONE", TradingState.OPEN)) is (
        Reject.UNKNOWN_INSTRUMENT)


def test_set_price_band_applies_to_new_orders_and_none_removes_it() -> None:
    engine = venue()
    events = engine.apply(SetPriceBand(1, SYMBOL, 100, 2))
    assert events == [PriceBandSet(events[0].seq, 1, SYMBOL, 100, 2)]
    assert engine.apply(buy("a1", 1, 103))[0].reason is Reject.PRICE_OUTSIDE_BAND
    engine.apply(SetPriceBand(1, SYMBOL, None, None))
    assert kinds(engine.apply(buy("a1", 1, 103)))[0] == "OrderAccepted"


def test_the_band_is_static_resting_orders_outside_a_new_band_stay() -> None:
    engine = venue(sell("b1", 1, 150), SetPriceBand(1, SYMBOL, 100, 2))
    assert book(engine)["SELL"] == [(150, 1, [1])]


def test_set_price_band_checks_its_fields_and_the_instrument() -> None:
    engine = venue(tick_size=5)
    before = state(engine)
    assert command_rejected(engine, SetPriceBand(1, "NONE", 100, 2)) is Reject.UNKNOWN_INSTRUMENT
    assert command_rejected(engine, SetPriceBand(1, SYMBOL, 101, 2)) is (
        Reject.INVALID_PRICE_INCREMENT)
    assert command_rejected(engine, SetPriceBand(1, SYMBOL, 100, -1)) is (
        Reject.INVALID_INSTRUMENT_SPEC)
    assert command_rejected(engine, SetPriceBand(1, SYMBOL, 100.0, 1)) is Reject.INVALID_FIELD
    assert state(engine) == before


def test_add_account_answers_account_added_and_refuses_a_duplicate_or_bad_limits() -> None:
    engine = venue()
    assert engine.apply(AddAccount(1, "new", "F7"))[0] == AccountAdded(
        engine.seq, 1, "new", "F7")
    assert command_rejected(engine, AddAccount(1, "new", "F7")) is Reject.DUPLICATE_ACCOUNT
    assert command_rejected(engine, AddAccount(1, "n2", "F7", max_order_qty=0)) is (
        Reject.INVALID_FIELD)
    assert command_rejected(engine, AddAccount(1, "n2", "")) is Reject.INVALID_FIELD
    assert "n2" not in engine.accounts


def test_set_account_limits_applies_to_the_next_orders() -> None:
    engine = venue(buy("a1", 9, 90))
    events = engine.apply(SetAccountLimits(1, "a1", max_order_qty=5))
    assert events == [AccountLimitsSet(events[0].seq, 1, "a1", 5, None, None)]
    assert engine.apply(buy("a1", 6, 90))[0].reason is Reject.ACCOUNT_MAX_ORDER_QTY
    assert engine.orders[1].leaves == 9  # a resting order is not touched
    engine.apply(SetAccountLimits(1, "a1"))
    assert kinds(engine.apply(buy("a1", 6, 90)))[0] == "OrderAccepted"


def test_set_account_limits_of_an_unknown_account_is_rejected() -> None:
    assert command_rejected(venue(), SetAccountLimits(1, "nobody", 5)) is Reject.UNKNOWN_ACCOUNT


def test_every_operator_command_takes_one_seq_and_its_event_the_next() -> None:
    engine = Engine()
    for command in (instrument(), AddAccount(0, "a", "F"), SetAccountLimits(0, "a", 1),
                    SetPriceBand(0, SYMBOL, 0, 1), SetTradingState(0, SYMBOL, TradingState.OPEN)):
        before = engine.seq
        events = engine.apply(command)
        assert engine.last_command_seq == before + 1 and [e.seq for e in events] == [before + 2]


# -- ImportInstruments: all or none ------------------------------------------------------------


def row(symbol: str, **terms: Any) -> list[Any]:
    """An import row: an AddInstrument's fields after ts_us."""
    return list(instrument(symbol, **terms))[1:]


def test_import_instruments_lists_every_row_with_one_event() -> None:
    engine = venue()
    events = engine.apply(ImportInstruments(4, [row("X1"), row("X2", tick_size=5), row("X3")]))
    assert events == [InstrumentsImported(engine.seq, 4, 3)]
    assert list(engine.instruments) == [SYMBOL, "X1", "X2", "X3"]
    assert engine.instruments["X2"].tick_size == 5


def test_imported_instruments_equal_added_ones() -> None:
    imported, added = venue(), venue()
    specs = [row("X1"), tuple(row("X2", min_qty=3, reference_price=50, band_ticks=4))]
    imported.apply(ImportInstruments(0, specs))
    for spec in specs:
        added.apply(AddInstrument(0, *spec))
    assert state(imported)[1] == state(added)[1]  # the instruments, in listing order
    for engine in (imported, added):
        assert engine.apply(buy("a1", 2, 55, symbol="X2"))[0].reason is Reject.QUANTITY_BELOW_MIN


def test_an_import_row_may_leave_out_the_fields_with_defaults() -> None:
    engine = venue()
    assert kinds(engine.apply(ImportInstruments(1, [row("X1")[:9]]))) == ["InstrumentsImported"]
    assert engine.instruments["X1"].max_qty == instrument().max_qty


def test_an_empty_import_lists_nothing_and_answers_zero() -> None:
    engine = venue()
    assert engine.apply(ImportInstruments(1, []))[0].count == 0
    assert list(engine.instruments) == [SYMBOL]


@pytest.mark.parametrize(("bad", "reason"), [
    (row("X9", tick_size=0), Reject.INVALID_INSTRUMENT_SPEC),
    (row("X9", lot_size=20.0), Reject.INVALID_INSTRUMENT_SPEC),
    (row("X9", price_decimals=7), Reject.INVALID_INSTRUMENT_SPEC),  # notional is in 10**-6
    (row("X9", tick_size=5, reference_price=7, band_ticks=1), Reject.INVALID_PRICE_INCREMENT),
    (row("", ), Reject.INVALID_FIELD),
    (row(SYMBOL), Reject.DUPLICATE_INSTRUMENT),
    (row("X1"), Reject.DUPLICATE_INSTRUMENT),  # twice in one import
    (row("X9")[:8], Reject.INVALID_FIELD),  # too few fields
    ([*row("X9"), 1], Reject.INVALID_FIELD),  # too many
    ("X9", Reject.INVALID_FIELD),
    (None, Reject.INVALID_FIELD),
])
def test_a_bad_row_rejects_the_whole_import_and_the_detail_names_it(bad: Any,
                                                                    reason: Reject) -> None:
    engine = venue()
    before = state(engine)
    events = engine.apply(ImportInstruments(1, [row("X1"), row("X2"), bad, row("X4")]))
    assert kinds(events) == ["CommandRejected"] and events[0].reason is reason
    assert "row 3" in events[0].detail
    assert state(engine) == before and list(engine.instruments) == [SYMBOL]


def test_the_first_bad_row_is_the_one_named() -> None:
    events = venue().apply(ImportInstruments(1, [row("X1"), row(SYMBOL), row("X3", lot_size=0)]))
    assert events[0].reason is Reject.DUPLICATE_INSTRUMENT and "row 2" in events[0].detail


@pytest.mark.parametrize("command", [
    ImportInstruments(1.5, [row("X1")]), ImportInstruments(2**64, [row("X1")]),
    ImportInstruments(1, row("X1")[0]), ImportInstruments(1, None),
])
def test_an_import_with_a_bad_time_or_no_list_of_rows_is_invalid(command: Any) -> None:
    engine = venue()
    assert command_rejected(engine, command) is Reject.INVALID_FIELD
    assert list(engine.instruments) == [SYMBOL]


def test_add_instrument_with_a_time_past_64_bits_is_invalid() -> None:
    assert command_rejected(Engine(), instrument(ts_us=2**63)) is Reject.INVALID_FIELD
