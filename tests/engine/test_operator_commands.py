"""Operator commands: each answers with its event or a CommandRejected, and takes a seq."""

from __future__ import annotations

import pytest

from exchange.engine.commands import (
    AddAccount, SetAccountLimits, SetPriceBand, SetTradingState,
)
from exchange.engine.engine import Engine
from exchange.engine.enums import TradingState
from exchange.engine.events import (
    AccountAdded, AccountLimitsSet, InstrumentAdded, PriceBandSet, TradingStateChanged,
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
    {"lot_size": 0}, {"tick_size": 0}, {"tick_size": -5}, {"price_decimals": 13},
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
                                         band_ticks=0, reference_price=-10))) == ["InstrumentAdded"]
    assert kinds(engine.apply(instrument("X", price_decimals=12))) == ["InstrumentAdded"]


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
