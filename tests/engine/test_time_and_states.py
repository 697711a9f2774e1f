"""The clock, GTD and DAY expiry, and what each trading state allows."""

from __future__ import annotations

from exchange.engine.commands import AmendOrder, CancelOrder, ExpireOrders, SetTradingState
from exchange.engine.enums import TimeInForce, TradingState
from exchange.engine.events import OrderExpired
from exchange.engine.reasons import Reject
from tests.engine.helpers import SYMBOL, book, buy, kinds, only, sell, venue

GTD, DAY = TimeInForce.GTD, TimeInForce.DAY
OPEN, HALTED, CLOSED = TradingState.OPEN, TradingState.HALTED, TradingState.CLOSED


def gtd(account: str, qty: int, price: int, expire_at_us: int, **fields):
    return buy(account, qty, price, tif=GTD, expire_at_us=expire_at_us, **fields)


def test_the_clock_is_the_largest_command_time_and_an_older_command_runs_at_it() -> None:
    engine = venue(buy("a1", 1, 90, ts_us=50))
    events = engine.apply(buy("a1", 1, 91, ts_us=20))
    assert engine.now_us == 50 and {e.ts_us for e in events} == {50}


def test_a_gtd_order_expires_at_the_first_command_whose_time_reaches_it_before_its_outcome() -> None:
    engine = venue(gtd("a1", 5, 100, 10))
    assert kinds(engine.apply(buy("b1", 1, 90, ts_us=9)))[0] == "OrderAccepted"
    events = engine.apply(sell("b1", 5, 100, ts_us=10))
    assert kinds(events) == ["OrderExpired", "OrderAccepted", "BookChanged", "BookChanged"]
    expired = events[0]
    assert (expired.order_id, expired.expired_qty, expired.ts_us) == (1, 5, 10)
    assert book(engine) == {"BUY": [(90, 1, [2])], "SELL": [(100, 5, [3])]}


def test_expiries_come_earliest_first_and_ties_by_order_id() -> None:
    engine = venue(gtd("a1", 1, 90, 30), gtd("a2", 1, 91, 20), gtd("b1", 1, 92, 30))
    events = engine.apply(ExpireOrders(40))
    assert [e.order_id for e in only(events, OrderExpired)] == [2, 1, 3]


def test_expire_orders_only_advances_the_clock_and_may_cause_nothing() -> None:
    engine = venue(gtd("a1", 1, 90, 30))
    assert engine.apply(ExpireOrders(29)) == [] and engine.now_us == 29
    assert kinds(engine.apply(ExpireOrders(30))) == ["OrderExpired", "BookChanged"]
    assert engine.apply(ExpireOrders(5)) == [] and engine.now_us == 30


def test_a_rejected_command_still_brings_the_expiries_its_time_caused() -> None:
    engine = venue(gtd("a1", 1, 90, 30))
    events = engine.apply(CancelOrder(31, "a1", 99))
    assert kinds(events) == ["OrderExpired", "CancelRejected", "BookChanged"]


def test_an_amended_gtd_order_keeps_its_expiry_and_expires_once() -> None:
    engine = venue(gtd("a1", 5, 100, 30))
    engine.apply(AmendOrder(2, "a1", 1, 6, 101))  # loses priority, re-enters the book
    events = engine.apply(ExpireOrders(30))
    assert [e.order_id for e in only(events, OrderExpired)] == [1]
    assert engine.apply(ExpireOrders(40)) == []


def test_day_orders_expire_when_the_instrument_closes_after_the_state_change_in_book_order() -> None:
    engine = venue(buy("a1", 1, 90, tif=DAY), buy("a2", 1, 91, tif=DAY), buy("b1", 1, 91),
                   sell("b1", 1, 95, tif=DAY), buy("c1", 1, 91, tif=DAY))
    events = engine.apply(SetTradingState(2, SYMBOL, CLOSED))
    assert kinds(events)[0] == "TradingStateChanged"
    assert [e.order_id for e in only(events, OrderExpired)] == [2, 5, 1, 4]
    assert engine.orders.keys() == {3}  # GTC stays


def test_halting_does_not_expire_day_orders() -> None:
    engine = venue(buy("a1", 1, 90, tif=DAY))
    assert kinds(engine.apply(SetTradingState(2, SYMBOL, HALTED))) == ["TradingStateChanged"]
    assert engine.orders.keys() == {1}


def test_halted_and_closed_reject_new_orders() -> None:
    engine = venue(SetTradingState(1, SYMBOL, HALTED))
    assert engine.apply(buy("a1", 1, 90))[0].reason is Reject.MARKET_HALTED
    engine.apply(SetTradingState(1, SYMBOL, CLOSED))
    assert engine.apply(buy("a1", 1, 90))[0].reason is Reject.MARKET_CLOSED
    engine.apply(SetTradingState(1, SYMBOL, OPEN))
    assert kinds(engine.apply(buy("a1", 1, 90)))[0] == "OrderAccepted"


def test_an_instrument_listed_closed_accepts_no_orders_until_opened() -> None:
    engine = venue(state=CLOSED)
    assert engine.apply(buy("a1", 1, 90))[0].reason is Reject.MARKET_CLOSED
