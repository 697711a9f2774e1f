"""Order entry: the documented checks, in their order, and what an accepted order does."""

from __future__ import annotations

from exchange.engine.commands import AddAccount, SetPriceBand, SetTradingState, SubmitOrder
from exchange.engine.enums import OrdType, Side, TimeInForce, TradingState
from exchange.engine.events import (
    BookChanged,
    OrderAccepted,
    OrderCanceled,
    OrderRejected,
    TradeExecuted,
)
from exchange.engine.reasons import CancelReason, Reject
from tests.engine.helpers import SCALE, SYMBOL, book, buy, kinds, only, sell, state, venue

GTC, DAY, GTD, IOC, FOK = TimeInForce


def reason_of(engine, command) -> Reject:
    events = engine.apply(command)
    assert kinds(events) == ["OrderRejected"], events
    return events[0].reason


def test_an_order_takes_the_seq_after_its_command_and_the_next_order_id() -> None:
    engine = venue()
    events = engine.apply(buy("a1", 5, 100))
    command_seq = engine.last_command_seq
    assert [e.seq for e in events] == [command_seq + 1, command_seq + 2]
    accepted = events[0]
    assert type(accepted) is OrderAccepted and accepted.order_id == 1
    assert engine.apply(buy("a1", 5, 100)).pop(0).order_id == 2


def test_a_limit_order_that_does_not_cross_rests_and_changes_its_level() -> None:
    engine = venue()
    events = engine.apply(buy("a1", 5, 100))
    assert kinds(events) == ["OrderAccepted", "BookChanged"]
    assert events[1] == BookChanged(events[1].seq, 1, "PIPE", Side.BUY, 100, 5)
    assert book(engine)["BUY"] == [(100, 5, [1])]


def test_events_carry_the_engine_clock() -> None:
    engine = venue()
    events = engine.apply(buy("a1", 5, 100, ts_us=77))
    assert {e.ts_us for e in events} == {77}


def test_negative_and_zero_prices_are_allowed_where_the_price_range_allows_them() -> None:
    engine = venue(sell("b1", 2, -5), sell("b1", 2, 0), min_price=-100)
    assert book(engine)["SELL"] == [(-5, 2, [1]), (0, 2, [2])]


def test_by_default_prices_are_positive_and_outside_the_range_is_rejected() -> None:
    engine = venue()
    assert reason_of(engine, sell("b1", 2, 0)) is Reject.PRICE_OUT_OF_RANGE
    assert reason_of(engine, sell("b1", 2, -5)) is Reject.PRICE_OUT_OF_RANGE
    top = engine.instruments[SYMBOL].max_price
    assert reason_of(engine, sell("b1", 2, top + 1)) is Reject.PRICE_OUT_OF_RANGE
    assert kinds(engine.apply(sell("b1", 2, top)))[0] == "OrderAccepted"


def test_market_order_on_an_empty_opposite_side_is_rejected_with_no_liquidity() -> None:
    assert reason_of(venue(buy("a1", 5, 100)), buy("b1", 5, None)) is Reject.NO_LIQUIDITY


def test_market_order_never_rests_and_its_remainder_is_canceled_when_the_side_empties() -> None:
    engine = venue(sell("b1", 3, 101))
    events = engine.apply(buy("a1", 5, None))
    assert kinds(events) == ["OrderAccepted", "TradeExecuted", "OrderCanceled", "BookChanged"]
    assert events[2].canceled_qty == 2 and events[2].reason is CancelReason.IOC_REMAINDER
    assert engine.orders == {}


def test_market_order_stops_at_the_band_edge_and_its_remainder_is_canceled_price_band() -> None:
    engine = venue(sell("b1", 3, 101), sell("b1", 3, 100), SetPriceBand(0, "PIPE", 100, 0))
    events = engine.apply(buy("a1", 5, None))
    assert [t.price for t in only(events, TradeExecuted)] == [100]
    canceled = only(events, OrderCanceled)[0]
    assert (canceled.canceled_qty, canceled.reason) == (2, CancelReason.PRICE_BAND)
    assert book(engine)["SELL"] == [(101, 3, [1])]


def test_market_order_with_a_price_is_rejected_invalid_price() -> None:
    command = buy("a1", 5, 100, ord_type=OrdType.MARKET, tif=IOC)
    assert reason_of(venue(sell("b1", 5, 100)), command) is Reject.INVALID_PRICE


def test_market_order_must_be_ioc_or_fok_and_not_post_only() -> None:
    engine = venue(sell("b1", 5, 100))
    assert reason_of(engine, buy("a1", 5, None, tif=GTC)) is Reject.INVALID_TIF
    assert reason_of(engine, buy("a1", 5, None, tif=DAY)) is Reject.INVALID_TIF
    assert reason_of(engine, buy("a1", 5, None, post_only=True)) is Reject.INVALID_TIF
    assert kinds(engine.apply(buy("a1", 5, None, tif=FOK)))[:2] == ["OrderAccepted", "TradeExecuted"]


def test_limit_order_needs_a_price() -> None:
    assert reason_of(venue(), buy("a1", 5, None, ord_type=OrdType.LIMIT, tif=GTC)) is Reject.INVALID_PRICE


def test_post_only_that_would_take_is_rejected_and_one_that_would_not_rests() -> None:
    engine = venue(sell("b1", 5, 101))
    assert reason_of(engine, buy("a1", 5, 101, post_only=True)) is Reject.WOULD_TAKE
    assert reason_of(engine, buy("a1", 5, 102, post_only=True)) is Reject.WOULD_TAKE
    assert kinds(engine.apply(buy("a1", 5, 100, post_only=True))) == ["OrderAccepted", "BookChanged"]


def test_post_only_with_ioc_or_fok_is_invalid_tif() -> None:
    engine = venue()
    assert reason_of(engine, buy("a1", 5, 100, post_only=True, tif=IOC)) is Reject.INVALID_TIF
    assert reason_of(engine, buy("a1", 5, 100, post_only=True, tif=FOK)) is Reject.INVALID_TIF


def test_ioc_remainder_is_canceled_after_partial_fill() -> None:
    engine = venue(sell("b1", 3, 100))
    events = engine.apply(buy("a1", 5, 100, tif=IOC))
    assert kinds(events) == ["OrderAccepted", "TradeExecuted", "OrderCanceled", "BookChanged"]
    assert events[2].canceled_qty == 2 and events[2].reason is CancelReason.IOC_REMAINDER
    assert book(engine) == {"BUY": [], "SELL": []}


def test_ioc_that_does_not_cross_is_canceled_whole() -> None:
    events = venue(sell("b1", 3, 101)).apply(buy("a1", 5, 100, tif=IOC))
    assert kinds(events) == ["OrderAccepted", "OrderCanceled"]
    assert events[1].canceled_qty == 5


def test_fok_that_cannot_fill_is_rejected_and_trades_nothing() -> None:
    engine = venue(sell("b1", 3, 100), sell("b1", 3, 102))
    before = state(engine)
    assert reason_of(engine, buy("a1", 5, 101, tif=FOK)) is Reject.FOK_NOT_FILLABLE
    assert state(engine) == before


def test_fok_that_can_fill_trades_all_across_levels_at_once() -> None:
    engine = venue(sell("b1", 3, 100), sell("c1", 3, 101))
    events = engine.apply(buy("a1", 5, 101, tif=FOK))
    assert [(t.price, t.qty) for t in only(events, TradeExecuted)] == [(100, 3), (101, 2)]
    assert not only(events, OrderCanceled)


def test_gtd_needs_an_expiry_time_after_now_and_other_tifs_none() -> None:
    engine = venue(buy("a1", 1, 90, ts_us=50))
    assert reason_of(engine, buy("a1", 5, 100, tif=GTD)) is Reject.INVALID_EXPIRE_TIME
    assert reason_of(engine, buy("a1", 5, 100, tif=GTD, expire_at_us=50)) is Reject.INVALID_EXPIRE_TIME
    assert reason_of(engine, buy("a1", 5, 100, tif=GTC, expire_at_us=99)) is Reject.INVALID_EXPIRE_TIME
    assert kinds(engine.apply(buy("a1", 5, 100, tif=GTD, expire_at_us=51)))[0] == "OrderAccepted"


def test_display_qty_is_only_up_to_the_quantity_and_only_for_orders_that_may_rest() -> None:
    engine = venue()
    assert reason_of(engine, buy("a1", 5, 100, display_qty=6)) is Reject.INVALID_DISPLAY_QTY
    assert reason_of(engine, buy("a1", 5, 100, display_qty=2, tif=IOC)) is Reject.INVALID_DISPLAY_QTY
    assert kinds(engine.apply(buy("a1", 5, 100, display_qty=5)))[0] == "OrderAccepted"


def test_quantity_outside_the_instruments_min_and_max_is_rejected() -> None:
    engine = venue(min_qty=2, max_qty=10)
    assert reason_of(engine, buy("a1", 1, 100)) is Reject.QUANTITY_BELOW_MIN
    assert reason_of(engine, buy("a1", 11, 100)) is Reject.QUANTITY_ABOVE_MAX


def test_price_must_be_on_the_tick_and_inside_the_band() -> None:
    engine = venue(tick_size=5, reference_price=100, band_ticks=2)
    assert reason_of(engine, buy("a1", 1, 103)) is Reject.INVALID_PRICE_INCREMENT
    assert reason_of(engine, buy("a1", 1, 115)) is Reject.PRICE_OUTSIDE_BAND
    assert reason_of(engine, buy("a1", 1, 85)) is Reject.PRICE_OUTSIDE_BAND
    assert kinds(engine.apply(buy("a1", 1, 110)))[0] == "OrderAccepted"
    assert kinds(engine.apply(buy("a1", 1, 90)))[0] == "OrderAccepted"


def test_account_max_order_qty_and_notional_use_the_absolute_price() -> None:
    engine = venue(AddAccount(0, "lim", "F9", max_order_qty=10, max_order_notional=500 * SCALE),
                   min_price=-1000)
    assert reason_of(engine, buy("lim", 11, 1)) is Reject.ACCOUNT_MAX_ORDER_QTY
    assert reason_of(engine, buy("lim", 6, 100)) is Reject.ACCOUNT_MAX_NOTIONAL
    assert reason_of(engine, sell("lim", 6, -100)) is Reject.ACCOUNT_MAX_NOTIONAL
    assert kinds(engine.apply(buy("lim", 5, 100)))[0] == "OrderAccepted"


def test_market_order_notional_is_taken_at_the_band_edge_and_unchecked_without_a_band() -> None:
    engine = venue(AddAccount(0, "lim", "F9", max_order_notional=500 * SCALE), sell("b1", 10, 100))
    assert kinds(engine.apply(buy("lim", 6, None)))[0] == "OrderAccepted"  # no band: no check
    banded = venue(AddAccount(0, "lim", "F9", max_order_notional=500 * SCALE), sell("b1", 10, 100),
                   reference_price=100, band_ticks=5)
    assert reason_of(banded, buy("lim", 5, None)) is Reject.ACCOUNT_MAX_NOTIONAL  # 105 x 5
    assert kinds(banded.apply(buy("lim", 4, None)))[0] == "OrderAccepted"


def test_duplicate_cl_ord_id_of_a_live_order_is_rejected_but_may_be_reused_after() -> None:
    engine = venue(buy("a1", 5, 100, "x"))
    assert reason_of(engine, buy("a1", 5, 99, "x")) is Reject.DUPLICATE_ORDER
    assert kinds(engine.apply(buy("a2", 5, 99, "x")))[0] == "OrderAccepted"  # another account
    assert kinds(engine.apply(sell("b1", 5, 100)))[1] == "TradeExecuted"  # fills "x"
    assert kinds(engine.apply(buy("a1", 5, 100, "x")))[0] == "OrderAccepted"


def test_max_open_orders_only_counts_for_orders_that_may_rest() -> None:
    engine = venue(AddAccount(0, "lim", "F9", max_open_orders=1), buy("lim", 1, 90),
                   sell("b1", 5, 101))
    assert reason_of(engine, buy("lim", 1, 91)) is Reject.ACCOUNT_MAX_OPEN_ORDERS
    assert kinds(engine.apply(buy("lim", 1, 101, tif=IOC)))[1] == "TradeExecuted"
    assert kinds(engine.apply(buy("lim", 1, None)))[1] == "TradeExecuted"


def test_checks_run_in_the_documented_order() -> None:
    engine = venue(AddAccount(0, "lim", "F9", max_order_qty=1, max_open_orders=1),
                   buy("lim", 1, 90, "live"), SetTradingState(0, "PIPE", TradingState.HALTED))
    bad = SubmitOrder(1, "lim", "live", "PIPE", Side.BUY, 2, 101, tif=FOK, post_only=True)
    assert reason_of(engine, bad._replace(qty=0)) is Reject.INVALID_QUANTITY
    assert reason_of(engine, bad._replace(account="nobody", symbol="NONE")) is Reject.UNKNOWN_ACCOUNT
    assert reason_of(engine, bad._replace(symbol="NONE")) is Reject.UNKNOWN_INSTRUMENT
    assert reason_of(engine, bad) is Reject.MARKET_HALTED
    engine.apply(SetTradingState(1, "PIPE", TradingState.OPEN))
    assert reason_of(engine, bad) is Reject.INVALID_TIF  # terms before limits
    bad = bad._replace(post_only=False)
    assert reason_of(engine, bad) is Reject.ACCOUNT_MAX_ORDER_QTY  # limits before duplicate
    bad = bad._replace(qty=1)
    assert reason_of(engine, bad) is Reject.DUPLICATE_ORDER  # duplicate before the book
    bad = bad._replace(cl_ord_id="new")
    assert reason_of(engine, bad) is Reject.FOK_NOT_FILLABLE
    assert reason_of(engine, bad._replace(tif=GTC)) is Reject.ACCOUNT_MAX_OPEN_ORDERS


def test_a_rejected_order_changes_nothing_but_the_sequence() -> None:
    engine = venue(buy("a1", 5, 100), sell("b1", 5, 102))
    before, seq = state(engine), engine.seq
    events = engine.apply(buy("a1", 5, 103, post_only=True))
    assert type(events[0]) is OrderRejected and state(engine) == before
    assert engine.seq == seq + 2 and engine.next_order_id == 3
