"""Cancel, amend (all three outcomes and every check), and mass cancel."""

from __future__ import annotations

from typing import Any

import pytest

from exchange.engine import snapshot
from exchange.engine.commands import (
    AddAccount,
    AmendOrder,
    CancelOrder,
    MassCancel,
    SetPriceBand,
    SetTradingState,
)
from exchange.engine.enums import Side, TradingState
from exchange.engine.events import OrderCanceled, OrderReplaced, TradeExecuted
from exchange.engine.reasons import CancelReason, Reject
from tests.engine.helpers import (
    SCALE,
    SYMBOL,
    book,
    buy,
    instrument,
    kinds,
    only,
    sell,
    state,
    venue,
)


def amend(account: str, order_id: int, qty: int, price: int, cl_ord_id: str | None = None):
    return AmendOrder(2, account, order_id, qty, price, cl_ord_id)


def rejected(engine, command) -> Reject:
    events = engine.apply(command)
    assert kinds(events) == ["CancelRejected"], events
    return events[0].reason


def test_cancel_removes_the_order_with_reason_requested() -> None:
    engine = venue(buy("a1", 5, 100))
    events = engine.apply(CancelOrder(2, "a1", 1))
    assert kinds(events) == ["OrderCanceled", "BookChanged"]
    assert (events[0].canceled_qty, events[0].reason) == (5, CancelReason.REQUESTED)
    assert book(engine)["BUY"] == [] and engine.orders == {}


def test_cancel_of_another_accounts_order_is_unknown_order_even_in_the_same_firm() -> None:
    engine = venue(buy("a1", 5, 100))
    before = state(engine)
    assert rejected(engine, CancelOrder(2, "a2", 1)) is Reject.UNKNOWN_ORDER
    assert rejected(engine, CancelOrder(2, "b1", 1)) is Reject.UNKNOWN_ORDER
    assert state(engine) == before


def test_cancel_of_an_unknown_or_finished_order_is_unknown_order() -> None:
    engine = venue(buy("a1", 5, 100), sell("b1", 5, 100))
    assert rejected(engine, CancelOrder(2, "a1", 1)) is Reject.UNKNOWN_ORDER
    assert rejected(engine, CancelOrder(2, "a1", 99)) is Reject.UNKNOWN_ORDER


def test_cancel_is_allowed_in_every_trading_state() -> None:
    engine = venue(buy("a1", 5, 100), buy("a1", 5, 99))
    engine.apply(SetTradingState(1, SYMBOL, TradingState.HALTED))
    assert kinds(engine.apply(CancelOrder(2, "a1", 1)))[0] == "OrderCanceled"
    engine.apply(SetTradingState(1, SYMBOL, TradingState.CLOSED))
    assert kinds(engine.apply(CancelOrder(2, "a1", 2)))[0] == "OrderCanceled"


def test_amend_quantity_down_keeps_priority() -> None:
    engine = venue(buy("a1", 5, 100), buy("b1", 5, 100))
    events = engine.apply(amend("a1", 1, 3, 100))
    assert kinds(events) == ["OrderReplaced", "BookChanged"]
    replaced = events[0]
    assert (replaced.qty, replaced.price, replaced.leaves, replaced.kept_priority) == (
        3, 100, 3, True)
    assert book(engine)["BUY"] == [(100, 8, [1, 2])]


def test_amend_quantity_up_loses_priority() -> None:
    engine = venue(buy("a1", 5, 100), buy("b1", 5, 100))
    events = engine.apply(amend("a1", 1, 6, 100))
    assert events[0].kept_priority is False
    assert book(engine)["BUY"] == [(100, 11, [2, 1])]


def test_amend_qty_is_the_new_total_including_the_filled_part() -> None:
    engine = venue(buy("a1", 10, 100), sell("b1", 4, 100))
    events = engine.apply(amend("a1", 1, 8, 100))
    assert (events[0].qty, events[0].leaves, events[0].kept_priority) == (8, 4, True)
    assert book(engine)["BUY"] == [(100, 4, [1])]


def test_amend_price_change_loses_priority_and_may_trade_at_once() -> None:
    engine = venue(buy("a1", 5, 99), sell("b1", 2, 100))
    events = engine.apply(amend("a1", 1, 5, 100))
    assert kinds(events)[:2] == ["OrderReplaced", "TradeExecuted"]
    assert events[0].kept_priority is False and events[0].leaves == 5
    assert only(events, TradeExecuted)[0].taker_order_id == 1
    assert book(engine) == {"BUY": [(100, 3, [1])], "SELL": []}


def test_an_amended_taker_uses_its_own_self_trade_mode() -> None:
    engine = venue(buy("a1", 5, 99), sell("a2", 2, 100))
    events = engine.apply(amend("a1", 1, 5, 100))
    assert [(e.order_id, e.reason) for e in only(events, OrderCanceled)] == [
        (1, CancelReason.STP_INCOMING)]
    assert engine.orders.keys() == {2}


def test_amend_to_at_or_below_the_filled_quantity_cancels_the_rest() -> None:
    engine = venue(buy("a1", 10, 100), sell("b1", 4, 100))
    events = engine.apply(amend("a1", 1, 4, 100))
    assert kinds(events) == ["OrderCanceled", "BookChanged"]
    assert (events[0].canceled_qty, events[0].reason) == (6, CancelReason.AMENDED_BELOW_FILLED)
    assert engine.orders == {}


def test_amend_that_only_shrinks_an_iceberg_shows_at_most_its_new_leaves() -> None:
    engine = venue(buy("a1", 10, 100, display_qty=4))
    engine.apply(amend("a1", 1, 3, 100))
    assert book(engine)["BUY"] == [(100, 3, [1])]
    engine.apply(amend("a1", 1, 2, 100))
    assert book(engine)["BUY"] == [(100, 2, [1])]


def test_amend_with_no_change_is_rejected() -> None:
    engine = venue(buy("a1", 5, 100, "x"))
    assert rejected(engine, amend("a1", 1, 5, 100)) is Reject.AMEND_NO_CHANGE
    assert rejected(engine, amend("a1", 1, 5, 100, "x")) is Reject.AMEND_NO_CHANGE


def test_amend_of_only_the_cl_ord_id_keeps_priority_and_frees_the_old_id() -> None:
    engine = venue(buy("a1", 5, 100, "x"), buy("b1", 5, 100))
    events = engine.apply(amend("a1", 1, 5, 100, "y"))
    assert type(events[0]) is OrderReplaced and events[0].kept_priority
    assert events[0].cl_ord_id == "y" and book(engine)["BUY"] == [(100, 10, [1, 2])]
    assert kinds(engine.apply(buy("a1", 1, 90, "x")))[0] == "OrderAccepted"


def test_amend_to_a_cl_ord_id_live_for_the_account_is_a_duplicate() -> None:
    engine = venue(buy("a1", 5, 100, "x"), buy("a1", 5, 99, "y"))
    assert rejected(engine, amend("a1", 1, 4, 100, "y")) is Reject.DUPLICATE_ORDER


def test_amend_of_another_accounts_order_is_unknown_order() -> None:
    assert rejected(venue(buy("a1", 5, 100)), amend("a2", 1, 4, 100)) is Reject.UNKNOWN_ORDER


def test_amend_is_rejected_when_the_instrument_is_halted_or_closed() -> None:
    engine = venue(buy("a1", 5, 100), SetTradingState(1, SYMBOL, TradingState.HALTED))
    assert rejected(engine, amend("a1", 1, 4, 100)) is Reject.MARKET_HALTED
    engine.apply(SetTradingState(1, SYMBOL, TradingState.CLOSED))
    assert rejected(engine, amend("a1", 1, 4, 100)) is Reject.MARKET_CLOSED


def test_amend_checks_quantity_price_and_account_limits() -> None:
    engine = venue(AddAccount(0, "lim", "F9", max_order_qty=8, max_order_notional=900 * SCALE),
                   buy("lim", 5, 100), SetPriceBand(0, SYMBOL, 100, 10),
                   min_qty=2, max_qty=20, tick_size=2)
    assert rejected(engine, amend("lim", 1, 21, 100)) is Reject.QUANTITY_ABOVE_MAX
    assert rejected(engine, amend("lim", 1, 1, 100)) is Reject.QUANTITY_BELOW_MIN
    assert rejected(engine, amend("lim", 1, 5, 101)) is Reject.INVALID_PRICE_INCREMENT
    assert rejected(engine, amend("lim", 1, 5, 122)) is Reject.PRICE_OUTSIDE_BAND
    assert rejected(engine, amend("lim", 1, 9, 100)) is Reject.ACCOUNT_MAX_ORDER_QTY
    assert rejected(engine, amend("lim", 1, 8, 120)) is Reject.ACCOUNT_MAX_NOTIONAL


def test_amend_below_the_minimum_is_allowed_when_it_cancels() -> None:
    engine = venue(buy("a1", 5, 100), sell("b1", 3, 100), min_qty=3)
    events = engine.apply(amend("a1", 1, 2, 100))
    assert events[0].reason is CancelReason.AMENDED_BELOW_FILLED


def test_amend_of_a_post_only_order_to_a_price_that_reaches_the_opposite_best_is_would_take() -> None:
    engine = venue(buy("a1", 5, 98, post_only=True), sell("b1", 5, 100))
    assert rejected(engine, amend("a1", 1, 5, 100)) is Reject.WOULD_TAKE
    assert engine.apply(amend("a1", 1, 5, 99))[0].kept_priority is False


def test_mass_cancel_reports_the_count_then_cancels_each_order_in_entry_order() -> None:
    engine = venue(buy("a1", 1, 90), sell("a1", 1, 110), buy("a1", 1, 95), buy("a2", 1, 91))
    events = engine.apply(MassCancel(2, "a1"))
    assert kinds(events)[:4] == ["MassCanceled", "OrderCanceled", "OrderCanceled", "OrderCanceled"]
    assert events[0].count == 3
    assert [(e.order_id, e.reason) for e in only(events, OrderCanceled)] == [
        (1, CancelReason.MASS_CANCEL), (2, CancelReason.MASS_CANCEL), (3, CancelReason.MASS_CANCEL)]
    assert engine.orders.keys() == {4}


def test_mass_cancel_keeps_entry_order_after_an_amend_that_lost_priority() -> None:
    # Found by the stateful test: the engine once cancelled in the order orders (re)joined
    # the book, so a price-amended order came last.
    engine = venue(buy("a1", 1, 90), buy("a1", 1, 91), amend("a1", 1, 1, 92))
    events = engine.apply(MassCancel(2, "a1"))
    assert [e.order_id for e in only(events, OrderCanceled)] == [1, 2]


def test_mass_cancel_keeps_entry_order_after_a_snapshot_load() -> None:
    # Found by the stateful test: a loaded engine listed an account's orders in book order.
    engine = venue(buy("a1", 1, 90), buy("a1", 1, 91))
    loaded = snapshot.load(snapshot.dump(engine))
    expected = engine.apply(MassCancel(2, "a1"))
    assert loaded.apply(MassCancel(2, "a1")) == expected
    assert [e.order_id for e in only(expected, OrderCanceled)] == [1, 2]


def test_mass_cancel_by_instrument_and_side() -> None:
    engine = venue(instrument("WIRE"), buy("a1", 1, 90), sell("a1", 1, 110),
                   buy("a1", 1, 90, symbol="WIRE"))
    events = engine.apply(MassCancel(2, "a1", SYMBOL, Side.BUY))
    assert (events[0].symbol, events[0].side, events[0].count) == (SYMBOL, Side.BUY, 1)
    assert engine.orders.keys() == {2, 3}
    assert engine.apply(MassCancel(2, "a1", "WIRE"))[0].count == 1


def test_mass_cancel_with_nothing_to_cancel_reports_zero() -> None:
    assert kinds(venue().apply(MassCancel(2, "a1"))) == ["MassCanceled"]


def test_mass_cancel_of_an_unknown_account_or_instrument_is_command_rejected() -> None:
    engine = venue(buy("a1", 1, 90))
    for command, reason in ((MassCancel(2, "nobody"), Reject.UNKNOWN_ACCOUNT),
                            (MassCancel(2, "a1", "NONE"), Reject.UNKNOWN_INSTRUMENT)):
        events = engine.apply(command)
        assert kinds(events) == ["CommandRejected"] and events[0].reason is reason
    assert engine.orders.keys() == {1}


def test_mass_cancel_is_allowed_when_closed() -> None:
    engine = venue(buy("a1", 1, 90), SetTradingState(1, SYMBOL, TradingState.CLOSED))
    assert engine.apply(MassCancel(2, "a1"))[0].count == 1


@pytest.mark.parametrize("reason", [CancelReason.MASS_CANCEL, CancelReason.DISCONNECT,
                                    CancelReason.DEAD_MANS_SWITCH, CancelReason.OPERATOR])
def test_mass_cancel_cancels_each_order_with_the_reason_given(reason: CancelReason) -> None:
    engine = venue(buy("a1", 5, 99), sell("a1", 5, 105))
    events = engine.apply(MassCancel(2, "a1", reason=reason))
    assert [e.reason for e in only(events, OrderCanceled)] == [reason, reason]


@pytest.mark.parametrize("reason", [CancelReason.REQUESTED, CancelReason.KILL_SWITCH,
                                    CancelReason.IOC_REMAINDER, 99, 9.0, True, "OPERATOR", None])
def test_mass_cancel_with_any_other_reason_is_invalid_and_cancels_nothing(reason: Any) -> None:
    engine = venue(buy("a1", 5, 99))
    events = engine.apply(MassCancel(2, "a1", reason=reason))
    assert kinds(events) == ["CommandRejected"] and events[0].reason is Reject.INVALID_FIELD
    assert list(engine.orders) == [1]
