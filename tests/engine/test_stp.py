"""Self-trade prevention: between orders of one firm, by the aggressor's mode."""

from __future__ import annotations

from exchange.engine.enums import StpMode, TimeInForce
from exchange.engine.events import OrderCanceled, OrderRestated, TradeExecuted
from exchange.engine.reasons import CancelReason, Reject
from tests.engine.helpers import book, buy, kinds, only, sell, venue

CANCEL_RESTING, CANCEL_INCOMING, CANCEL_BOTH, DECREMENT = StpMode


def cancels(events: list) -> list[tuple[int, int, CancelReason]]:
    return [(e.order_id, e.canceled_qty, e.reason) for e in only(events, OrderCanceled)]


def test_orders_of_different_firms_trade() -> None:
    assert kinds(venue(sell("b1", 2, 100)).apply(buy("a1", 2, 100)))[1] == "TradeExecuted"


def test_cancel_incoming_is_the_default_and_cancels_the_takers_rest_and_stops() -> None:
    # b1 trades first; then a2 (a1's firm) is met and a1's remaining 3 are canceled.
    engine = venue(sell("b1", 2, 100), sell("a2", 4, 100), sell("c1", 4, 100))
    events = engine.apply(buy("a1", 5, 100))
    assert kinds(events) == ["OrderAccepted", "TradeExecuted", "OrderCanceled", "BookChanged"]
    assert cancels(events) == [(4, 3, CancelReason.STP_INCOMING)]
    assert book(engine)["SELL"] == [(100, 8, [2, 3])]


def test_cancel_resting_cancels_the_maker_with_all_its_leaves_and_goes_on() -> None:
    engine = venue(sell("a2", 10, 100, display_qty=2), sell("b1", 4, 100))
    events = engine.apply(buy("a1", 3, 100, stp=CANCEL_RESTING))
    assert cancels(events) == [(1, 10, CancelReason.STP_RESTING)]
    assert [(t.maker_order_id, t.qty) for t in only(events, TradeExecuted)] == [(2, 3)]
    assert book(engine)["SELL"] == [(100, 1, [2])]


def test_cancel_both_cancels_the_maker_then_the_taker_and_stops() -> None:
    engine = venue(sell("a2", 4, 100), sell("b1", 4, 100))
    events = engine.apply(buy("a1", 3, 100, stp=CANCEL_BOTH))
    assert cancels(events) == [(1, 4, CancelReason.STP_RESTING), (3, 3, CancelReason.STP_INCOMING)]
    assert not only(events, TradeExecuted)
    assert book(engine)["SELL"] == [(100, 4, [2])]


def test_decrement_with_the_maker_larger_restates_the_maker_and_cancels_the_taker() -> None:
    engine = venue(sell("a2", 5, 100))
    events = engine.apply(buy("a1", 3, 100, stp=DECREMENT))
    assert kinds(events) == ["OrderAccepted", "OrderRestated", "OrderCanceled", "BookChanged"]
    assert (events[1].order_id, events[1].leaves, events[1].reason) == (
        1, 2, CancelReason.STP_DECREMENT)
    assert cancels(events) == [(2, 3, CancelReason.STP_DECREMENT)]
    assert book(engine)["SELL"] == [(100, 2, [1])]


def test_decrement_with_the_taker_larger_cancels_the_maker_restates_the_taker_and_goes_on() -> None:
    engine = venue(sell("a2", 2, 100), sell("b1", 2, 100))
    events = engine.apply(buy("a1", 5, 100, stp=DECREMENT))
    assert kinds(events)[:4] == ["OrderAccepted", "OrderCanceled", "OrderRestated", "TradeExecuted"]
    assert cancels(events) == [(1, 2, CancelReason.STP_DECREMENT)]
    restated = only(events, OrderRestated)[0]
    assert (restated.order_id, restated.leaves) == (3, 3)
    trade = only(events, TradeExecuted)[0]
    assert (trade.maker_order_id, trade.qty, trade.taker_leaves) == (2, 2, 1)
    assert book(engine) == {"BUY": [(100, 1, [3])], "SELL": []}


def test_decrement_with_equal_quantities_cancels_the_maker_then_the_taker() -> None:
    events = venue(sell("a2", 3, 100)).apply(buy("a1", 3, 100, stp=DECREMENT))
    assert cancels(events) == [(1, 3, CancelReason.STP_DECREMENT), (2, 3, CancelReason.STP_DECREMENT)]
    assert not only(events, OrderRestated)


def test_decrement_of_an_iceberg_maker_keeps_its_slice_within_its_leaves() -> None:
    engine = venue(sell("a2", 10, 100, display_qty=4))
    engine.apply(buy("a1", 8, 100, stp=DECREMENT))
    assert book(engine)["SELL"] == [(100, 2, [1])]


def test_stp_applies_between_two_accounts_of_one_firm_and_to_the_same_account() -> None:
    engine = venue(sell("a1", 2, 100))
    assert cancels(engine.apply(buy("a1", 2, 100))) == [(2, 2, CancelReason.STP_INCOMING)]


def test_fill_or_kill_with_cancel_resting_skips_same_firm_orders() -> None:
    engine = venue(sell("a2", 5, 100), sell("b1", 3, 100))
    events = engine.apply(buy("a1", 3, 100, tif=TimeInForce.FOK, stp=CANCEL_RESTING))
    assert cancels(events) == [(1, 5, CancelReason.STP_RESTING)]
    assert sum(t.qty for t in only(events, TradeExecuted)) == 3


def test_fill_or_kill_with_other_modes_ends_at_the_first_same_firm_order() -> None:
    engine = venue(sell("b1", 2, 100), sell("a2", 5, 100), sell("b1", 3, 101))
    for mode in (CANCEL_INCOMING, CANCEL_BOTH, DECREMENT):
        events = engine.apply(buy("a1", 3, 101, tif=TimeInForce.FOK, stp=mode))
        assert events[0].reason is Reject.FOK_NOT_FILLABLE
    assert kinds(engine.apply(buy("a1", 2, 101, tif=TimeInForce.FOK)))[1] == "TradeExecuted"
