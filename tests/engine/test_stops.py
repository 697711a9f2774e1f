"""Stop and stop-limit orders (docs/engine.md, "Stop orders"): held off the book, triggered by
trades in order, cascading to a fixed point within one command; each example runs through the
engine and the naive model together (tests/engine/twin.py)."""

from __future__ import annotations

from exchange.engine import codec, snapshot
from exchange.engine.commands import (
    AmendOrder,
    CancelOrder,
    MassCancel,
    SetKillSwitch,
    SetTradingState,
    SetVolatilityBands,
    SubmitStopOrder,
)
from exchange.engine.enums import OrdType, Side, TimeInForce, TradingState
from exchange.engine.events import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    StopOrderAccepted,
    StopTriggered,
    TradeExecuted,
)
from exchange.engine.reasons import CancelReason, Reject
from tests.engine.helpers import SYMBOL, buy, kinds, only, sell
from tests.engine.twin import Twin


def stop(account: str, side: Side, qty: int, stop_price: int, price: int | None = None,
         cl: str = "s1", **fields: object) -> SubmitStopOrder:
    return SubmitStopOrder(1, account, cl, SYMBOL, side, qty, stop_price, price,
                           **fields)  # type: ignore[arg-type]


def traded_at(twin: Twin, price: int) -> None:
    """A trade of 1 lot at `price` between c1 and b1 (which sets the last price)."""
    twin.run(sell("c1", 1, price), buy("b1", 1, price))


def test_a_stop_is_held_off_the_book_and_invisible() -> None:
    twin = Twin()
    traded_at(twin, 100)
    events = twin.apply(stop("a1", Side.BUY, 5, 103))
    assert kinds(events) == ["StopOrderAccepted"]  # no BookChanged: nothing shows
    accepted = events[0]
    assert accepted == StopOrderAccepted(accepted.seq, 1, accepted.order_id, "a1", "s1", SYMBOL,
                                         Side.BUY, OrdType.STOP, 5, 103, None, TimeInForce.GTC,
                                         accepted.stp)
    assert twin.engine.books[SYMBOL].bids.best() is None


def test_a_buy_stop_triggers_at_or_above_its_price_and_becomes_a_market_order() -> None:
    twin = Twin()
    traded_at(twin, 100)
    held = twin.apply(stop("a1", Side.BUY, 2, 103))[0].order_id
    twin.apply(sell("c1", 5, 104))
    events = twin.apply(sell("c1", 1, 103))
    assert only(events, TradeExecuted) == []  # no bid: the ask rests; nothing traded yet
    events = twin.apply(buy("b1", 1, 103))  # trades at 103: the stop is reached
    names = kinds(events)
    trigger = events[names.index("StopTriggered")]
    new_order = events[names.index("StopTriggered") + 1]
    assert trigger == StopTriggered(trigger.seq, 1, held, "a1", SYMBOL, 103, new_order.order_id)
    assert type(new_order) is OrderAccepted and new_order.ord_type is OrdType.MARKET
    assert new_order.cl_ord_id == "s1" and new_order.tif is TimeInForce.IOC
    assert [t.price for t in only(events, TradeExecuted)] == [103, 104]


def test_a_sell_stop_limit_becomes_a_resting_limit_order() -> None:
    twin = Twin()
    traded_at(twin, 100)
    twin.apply(stop("a1", Side.SELL, 4, 98, price=97))
    events = twin.run(buy("b1", 1, 98), sell("c1", 1, 98))
    new_order = only(events, OrderAccepted)[-1]
    assert new_order.ord_type is OrdType.LIMIT and new_order.price == 97
    assert twin.engine.books[SYMBOL].asks.best().price == 97


def test_a_stop_already_reached_by_the_last_price_is_refused() -> None:
    twin = Twin()
    traded_at(twin, 100)
    refused = {
        stop("a1", Side.BUY, 1, 100): Reject.INVALID_STOP_PRICE,
        stop("a1", Side.SELL, 1, 100): Reject.INVALID_STOP_PRICE,
        stop("a1", Side.BUY, 1, 101, tif=TimeInForce.IOC): Reject.INVALID_TIF,
        stop("a1", Side.BUY, 1, 101, price=3.5): Reject.INVALID_PRICE,  # type: ignore[arg-type]
        stop("a1", Side.BUY, 1, 101.0): Reject.INVALID_STOP_PRICE,  # type: ignore[arg-type]
    }
    for command, reason in refused.items():
        assert [e.reason for e in twin.apply(command)] == [reason]


def test_stops_cascade_in_trigger_order_to_a_fixed_point_in_one_command() -> None:
    twin = Twin()
    traded_at(twin, 100)
    twin.run(stop("a1", Side.BUY, 1, 101, cl="s1"), stop("a2", Side.BUY, 1, 102, cl="s2"),
             stop("c1", Side.BUY, 1, 101, cl="s3"))
    twin.run(sell("b1", 1, 101), sell("b1", 1, 102), sell("b1", 1, 103), sell("b1", 1, 104))
    events = twin.apply(buy("c1", 1, 101, cl_ord_id="go"))
    triggers = only(events, StopTriggered)
    # the trade at 101 reaches s1 and s3 (order-id order); s1 trades at 102 and reaches s2
    assert [(t.account, t.trigger_price) for t in triggers] == [
        ("a1", 101), ("c1", 101), ("a2", 102)]
    assert [t.price for t in only(events, TradeExecuted)] == [101, 102, 103, 104]
    assert not twin.engine.stops.by_id


def test_a_stop_that_cannot_enter_is_rejected_when_it_triggers() -> None:
    twin = Twin()
    traded_at(twin, 100)
    twin.apply(stop("a1", Side.BUY, 1, 101))
    twin.apply(sell("c1", 1, 101))
    events = twin.apply(buy("b1", 1, 101))  # the last ask goes: the market buy finds nothing
    trigger = only(events, StopTriggered)[0]
    assert trigger.new_order_id is None
    assert only(events, OrderRejected)[0].reason is Reject.NO_LIQUIDITY


def test_held_stops_are_canceled_mass_canceled_and_killed_but_not_amended() -> None:
    twin = Twin()
    traded_at(twin, 100)
    first = twin.apply(stop("a1", Side.BUY, 1, 101, cl="s1"))[0].order_id
    amend = twin.apply(AmendOrder(1, "a1", first, 2, 101))
    assert only(amend, CancelRejected)[0].reason is Reject.STOP_NOT_AMENDABLE
    assert kinds(twin.apply(CancelOrder(1, "b1", first))) == ["CancelRejected"]
    canceled = twin.apply(CancelOrder(1, "a1", first))
    assert canceled[0] == OrderCanceled(canceled[0].seq, 1, first, "a1", SYMBOL, 1,
                                        CancelReason.REQUESTED)
    twin.run(stop("a1", Side.BUY, 1, 101, cl="s2"), buy("a1", 1, 90, cl_ord_id="r1"))
    events = twin.apply(MassCancel(1, "a1"))
    assert events[0].count == 2 and len(only(events, OrderCanceled)) == 2
    twin.apply(stop("a2", Side.SELL, 1, 99, cl="s3"))
    events = twin.apply(SetKillSwitch(1, "firm", "F1", True))
    assert only(events, OrderCanceled)[0].reason is CancelReason.KILL_SWITCH


def test_a_held_stops_client_id_is_live() -> None:
    twin = Twin()
    traded_at(twin, 100)
    twin.apply(stop("a1", Side.BUY, 1, 101, cl="dup"))
    events = twin.apply(buy("a1", 1, 90, cl_ord_id="dup"))
    assert only(events, OrderRejected)[0].reason is Reject.DUPLICATE_ORDER


def test_day_stops_expire_at_the_close() -> None:
    twin = Twin()
    traded_at(twin, 100)
    twin.run(stop("a1", Side.BUY, 1, 101, cl="d", tif=TimeInForce.DAY),
             stop("a1", Side.BUY, 1, 101, cl="g"))
    events = twin.apply(SetTradingState(1, SYMBOL, TradingState.CLOSED))
    assert len(only(events, OrderExpired)) == 1 and len(twin.engine.stops.by_id) == 1


def test_a_stop_limit_triggered_into_a_volatility_call_joins_it() -> None:
    twin = Twin()
    twin.apply(SetVolatilityBands(1, SYMBOL, 2, None, 10))
    traded_at(twin, 100)
    twin.apply(stop("a1", Side.BUY, 3, 101, price=106))
    twin.run(sell("c1", 1, 101), sell("c1", 5, 105))
    events = twin.apply(buy("b1", 1, 101))  # trades at 101: the stop's buy then meets 105
    names = kinds(events)
    assert names.index("StopTriggered") < names.index("VolatilityInterruption")
    assert twin.engine.books[SYMBOL].bids.best().price == 106  # resting in the call


def test_uncross_trades_trigger_stops_in_the_phase_entered() -> None:
    twin = Twin()
    traded_at(twin, 100)
    twin.apply(stop("a1", Side.BUY, 1, 101, price=102))
    twin.run(SetTradingState(1, SYMBOL, TradingState.PRE_OPEN), buy("b1", 2, 101),
             sell("c1", 2, 101))
    events = twin.apply(SetTradingState(1, SYMBOL, TradingState.OPEN))
    names = kinds(events)
    assert names.index("AuctionUncrossed") < names.index("StopTriggered")
    assert only(events, OrderAccepted)[0].price == 102


def test_stops_survive_a_snapshot_and_their_records_round_trip() -> None:
    twin = Twin()
    traded_at(twin, 100)
    events = twin.apply(stop("a1", Side.BUY, 1, 101))
    assert codec.decode(codec.encode(events[0])) == events[0]
    command = stop("a1", Side.BUY, 1, 101)
    assert codec.decode(codec.encode(command)) == command
    restored = snapshot.load(snapshot.dump(twin.engine))
    assert restored.digest() == twin.engine.digest()
    for command in (sell("c1", 2, 101, cl_ord_id="x1"), buy("b1", 1, 101, cl_ord_id="x2")):
        assert restored.apply(command) == twin.apply(command)
    assert restored.digest() == twin.engine.digest()
