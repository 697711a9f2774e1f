"""Trading phases, call auctions and volatility interruptions in the engine (docs/engine.md,
"Trading phases and call auctions", "Volatility interruptions"): the worked examples, each run
through the engine and the naive model together (tests/engine/twin.py)."""

from __future__ import annotations

from exchange.engine import codec, snapshot
from exchange.engine.commands import (
    AmendOrder,
    ExpireOrders,
    SetPriceBand,
    SetTradingState,
    SetVolatilityBands,
)
from exchange.engine.enums import Side, TimeInForce, TradingState
from exchange.engine.events import (
    AuctionExtended,
    AuctionIndicative,
    AuctionUncrossed,
    CommandRejected,
    OrderCanceled,
    OrderRejected,
    TradeExecuted,
    TradingStateChanged,
    VolatilityInterruption,
)
from exchange.engine.reasons import CancelReason, Reject
from tests.engine.helpers import SYMBOL, buy, instrument, kinds, only, sell
from tests.engine.twin import Twin

PRE_OPEN, OPEN, CLOSED = TradingState.PRE_OPEN, TradingState.OPEN, TradingState.CLOSED
CLOSING, VOLATILITY = TradingState.CLOSING_AUCTION, TradingState.VOLATILITY_AUCTION
HALTED = TradingState.HALTED


def figures(event: AuctionIndicative) -> tuple:
    return event.price, event.volume, event.surplus, event.surplus_side


def opening_call() -> Twin:
    """The docs' opening example: PRE_OPEN, bids 10 @ 102 and 5 @ 101, asks 8 @ 100 and
    6 @ 101 (order ids 1 to 4)."""
    twin = Twin()
    twin.apply(SetTradingState(1, SYMBOL, PRE_OPEN))
    twin.run(buy("a1", 10, 102), buy("b1", 5, 101), sell("c1", 8, 100), sell("c1", 6, 101))
    return twin


def test_entering_a_call_publishes_its_first_figures() -> None:
    events = Twin().apply(SetTradingState(1, SYMBOL, PRE_OPEN))
    assert kinds(events) == ["TradingStateChanged", "AuctionIndicative"]
    assert figures(events[1]) == (None, 0, 0, None) and events[1].state is PRE_OPEN


def test_an_instrument_listed_in_pre_open_is_in_its_call_from_the_start() -> None:
    twin = Twin()
    events = twin.apply(instrument("WIRE", state=PRE_OPEN))
    assert kinds(events) == ["InstrumentAdded", "AuctionIndicative"]
    twin.run(buy("a1", 5, 101, symbol="WIRE"), sell("c1", 5, 100, symbol="WIRE"))
    events = twin.apply(SetTradingState(2, "WIRE", OPEN))
    assert only(events, AuctionUncrossed)[0].volume == 5


def test_orders_in_a_call_rest_crossed_and_each_change_publishes_figures() -> None:
    twin = opening_call()
    engine = twin.engine
    assert engine.books[SYMBOL].bids.best().price == 102
    assert engine.books[SYMBOL].asks.best().price == 100  # crossed: nothing traded
    last = twin.apply(sell("c1", 1, 110))  # an ask that changes nothing in the figures
    assert kinds(last) == ["OrderAccepted", "BookChanged"]
    assert engine.calls.shown[SYMBOL] == (101, 14, 1, Side.BUY)


def test_the_opening_uncross_trades_everything_at_one_price_in_priority_order() -> None:
    events = opening_call().apply(SetTradingState(2, SYMBOL, OPEN))
    assert events[0] == TradingStateChanged(events[0].seq, 2, SYMBOL, OPEN)
    assert events[1] == AuctionUncrossed(events[1].seq, 2, SYMBOL, PRE_OPEN, 101, 14, 1,
                                         Side.BUY)
    trades = only(events, TradeExecuted)
    assert [(t.qty, t.price, t.maker_order_id, t.taker_order_id) for t in trades] == [
        (8, 101, 1, 3), (2, 101, 1, 4), (4, 101, 2, 4)]
    assert [t.aggressor_side for t in trades] == [Side.SELL, Side.SELL, Side.SELL]
    assert (trades[-1].maker_leaves, trades[-1].taker_leaves) == (1, 0)
    assert kinds(events)[-1] == "BookChanged"  # no figures: the call is over


def test_after_the_open_the_book_is_uncrossed_and_matching_is_continuous() -> None:
    twin = opening_call()
    twin.apply(SetTradingState(2, SYMBOL, OPEN))
    assert twin.engine.books[SYMBOL].bids.best().price == 101
    assert twin.engine.books[SYMBOL].asks.best() is None
    events = twin.apply(sell("c1", 1, 101))
    assert only(events, TradeExecuted)[0].price == 101


def test_market_ioc_and_fok_orders_are_refused_in_a_call() -> None:
    twin = opening_call()
    for order in (buy("a1", 1, None), buy("a1", 1, 100, tif=TimeInForce.IOC),
                  buy("a1", 1, 100, tif=TimeInForce.FOK)):
        assert only(twin.apply(order), OrderRejected)[0].reason is Reject.NOT_IN_CALL


def test_post_only_rests_in_a_call_even_across_the_book() -> None:
    twin = opening_call()
    events = twin.apply(buy("b1", 2, 105, post_only=True))
    assert kinds(events)[0] == "OrderAccepted"


def test_an_iceberg_shows_its_peak_in_the_figures_and_trades_in_full() -> None:
    twin = Twin()
    twin.apply(SetTradingState(1, SYMBOL, PRE_OPEN))
    twin.apply(sell("c1", 10, 100, display_qty=2))
    events = twin.apply(buy("a1", 10, 100))
    assert figures(only(events, AuctionIndicative)[0]) == (100, 2, 8, Side.BUY)
    trades = only(twin.apply(SetTradingState(2, SYMBOL, OPEN)), TradeExecuted)
    assert [t.qty for t in trades] == [10]


def test_an_amend_in_a_call_does_not_trade() -> None:
    twin = opening_call()
    events = twin.apply(AmendOrder(3, "b1", 2, 5, 100))  # bid 2 to 100: still crossed
    assert not only(events, TradeExecuted)
    # bids 10 @ 102, 5 @ 100; asks 8 @ 100, 6 @ 101: 10 at 101 and 102, sell pressure
    assert figures(only(events, AuctionIndicative)[0]) == (101, 10, 4, Side.SELL)


def test_the_closing_auction_uncrosses_on_close_and_then_day_orders_expire() -> None:
    twin = Twin()
    twin.run(buy("a1", 5, 100, tif=TimeInForce.DAY), SetTradingState(1, SYMBOL, CLOSING))
    twin.apply(sell("c1", 3, 99))
    events = twin.apply(SetTradingState(2, SYMBOL, CLOSED))
    assert kinds(events)[:4] == ["TradingStateChanged", "AuctionUncrossed", "TradeExecuted",
                                 "OrderExpired"]
    assert events[1].state is CLOSING and events[1].price == 100


def test_a_halted_call_keeps_its_crossed_book_and_uncrosses_when_it_opens() -> None:
    twin = opening_call()
    events = twin.apply(SetTradingState(2, SYMBOL, HALTED))
    assert kinds(events) == ["TradingStateChanged"]
    events = twin.apply(SetTradingState(3, SYMBOL, OPEN))
    assert events[1].state is HALTED and events[1].volume == 14


def test_the_operator_cannot_start_a_volatility_call() -> None:
    events = Twin().apply(SetTradingState(1, SYMBOL, VOLATILITY))
    assert only(events, CommandRejected)[0].reason is Reject.INVALID_FIELD


def test_a_reference_price_change_in_a_call_can_move_its_figures() -> None:
    twin = Twin()
    twin.run(SetTradingState(1, SYMBOL, PRE_OPEN), buy("a1", 5, 102), sell("c1", 5, 100))
    assert twin.engine.calls.shown[SYMBOL][0] == 102  # no reference: the middle, ties higher
    events = twin.apply(SetPriceBand(2, SYMBOL, 99, None))
    assert figures(only(events, AuctionIndicative)[0]) == (100, 5, 0, None)


# -- volatility interruptions -------------------------------------------------------------------

def interrupted() -> tuple[Twin, list]:
    """The docs' example: dynamic band 2 ticks, call 10 us, last trade 100, asks 1 @ 101 and
    5 @ 104; a buy of 3 @ 105 trades 1 @ 101 and then interrupts at 104."""
    twin = Twin()
    twin.run(SetVolatilityBands(1, SYMBOL, 2, None, 10), sell("c1", 1, 100), buy("b1", 1, 100))
    twin.run(sell("c1", 1, 101), sell("c1", 5, 104))
    return twin, twin.apply(buy("a1", 3, 105, ts_us=5))


def test_a_trade_outside_the_dynamic_band_starts_a_volatility_call() -> None:
    twin, events = interrupted()
    assert kinds(events) == ["OrderAccepted", "TradeExecuted", "VolatilityInterruption",
                             "TradingStateChanged", "BookChanged", "BookChanged",
                             "AuctionIndicative"]
    taker = events[0].order_id
    assert events[2] == VolatilityInterruption(events[2].seq, 5, SYMBOL, taker, 104, 98, 102, 15)
    assert events[3].state is VOLATILITY
    assert figures(events[-1]) == (104, 2, 3, Side.SELL)
    assert twin.engine.books[SYMBOL].bids.best().price == 105  # the rest waits in the call


def test_the_volatility_call_uncrosses_at_the_first_command_at_its_end() -> None:
    twin, _ = interrupted()
    assert kinds(twin.apply(ExpireOrders(14))) == []
    events = twin.apply(ExpireOrders(15))
    assert kinds(events)[:3] == ["TradingStateChanged", "AuctionUncrossed", "TradeExecuted"]
    assert events[1].state is VOLATILITY and (events[1].price, events[1].volume) == (104, 2)
    assert twin.engine.books[SYMBOL].last_price == 104


def test_a_command_after_the_end_runs_after_the_uncross() -> None:
    twin, _ = interrupted()
    events = twin.apply(buy("b1", 3, 104, ts_us=20))
    names = kinds(events)
    assert names[:3] == ["TradingStateChanged", "AuctionUncrossed", "TradeExecuted"]
    accepted = events[names.index("OrderAccepted")]
    assert only(events, TradeExecuted)[-1].taker_order_id == accepted.order_id


def test_a_market_order_remainder_is_canceled_at_an_interruption() -> None:
    twin = Twin()
    twin.run(SetVolatilityBands(1, SYMBOL, 2, None, 10), sell("c1", 1, 100), buy("b1", 1, 100))
    twin.run(sell("c1", 1, 101), sell("c1", 5, 104))
    events = twin.apply(buy("a1", 3, None))
    canceled = only(events, OrderCanceled)[0]
    assert canceled.reason is CancelReason.VOLATILITY_INTERRUPTION and canceled.canceled_qty == 2


def test_a_fok_order_never_interrupts_it_is_not_fillable_past_the_band() -> None:
    twin = Twin()
    twin.run(SetVolatilityBands(1, SYMBOL, 2, None, 10), sell("c1", 1, 100), buy("b1", 1, 100))
    twin.run(sell("c1", 1, 101), sell("c1", 5, 104))
    events = twin.apply(buy("a1", 3, 105, tif=TimeInForce.FOK))
    assert only(events, OrderRejected)[0].reason is Reject.FOK_NOT_FILLABLE


def test_a_fok_order_whose_best_opposite_price_is_outside_the_band_is_not_fillable() -> None:
    """Its first trade would be outside the allowed prices on its near side (a buy under the
    low edge, a sell over the high edge): refused, and trading goes on (found by the stateful
    test: a buy FOK took an ask resting below the band, and the model interrupted)."""
    for resting, fok in ((sell("c1", 1, 95), buy("a1", 1, None, tif=TimeInForce.FOK)),
                         (buy("c1", 1, 106), sell("a1", 1, 90, tif=TimeInForce.FOK))):
        twin = Twin()
        twin.run(SetVolatilityBands(1, SYMBOL, 2, None, 10), sell("c1", 1, 100),
                 buy("b1", 1, 100))  # the last price 100: allowed 98 to 102
        twin.run(resting)
        events = twin.apply(fok)
        assert kinds(events) == ["OrderRejected"]
        assert events[0].reason is Reject.FOK_NOT_FILLABLE
        assert TradingState(twin.engine.instruments[SYMBOL].state) is TradingState.OPEN


def test_the_static_band_interrupts_and_an_outside_price_extends_the_call_once() -> None:
    twin = Twin(reference_price=100)
    twin.run(SetVolatilityBands(1, SYMBOL, None, 3, 10), sell("c1", 5, 104))
    events = twin.apply(buy("a1", 5, 104, ts_us=2))
    assert only(events, VolatilityInterruption)[0].low == 97
    events = twin.apply(ExpireOrders(12))
    assert events == [AuctionExtended(events[0].seq, 12, SYMBOL, 104, 22)]
    events = twin.apply(ExpireOrders(22))
    assert only(events, AuctionUncrossed)[0].price == 104


def test_operator_open_ends_a_volatility_call_early() -> None:
    twin, _ = interrupted()
    events = twin.apply(SetTradingState(6, SYMBOL, OPEN))
    assert only(events, AuctionUncrossed)[0].volume == 2
    assert kinds(twin.apply(ExpireOrders(30))) == []  # its end no longer counts


def test_no_bands_no_interruption_and_bands_can_be_cleared() -> None:
    twin, _ = interrupted()
    twin.apply(SetTradingState(6, SYMBOL, OPEN))
    twin.apply(SetVolatilityBands(7, SYMBOL, None, None, 10))
    twin.apply(sell("c1", 5, 200))
    trades = only(twin.apply(buy("a1", 5, 200)), TradeExecuted)
    assert [t.price for t in trades] == [104, 200]  # 200 is far outside any band that was


def test_bad_volatility_settings_are_refused() -> None:
    twin = Twin()
    for command in (SetVolatilityBands(1, SYMBOL, 0, None, 10),
                    SetVolatilityBands(1, SYMBOL, 2, None, 0),
                    SetVolatilityBands(1, SYMBOL, 2.0, None, 10),  # type: ignore[arg-type]
                    SetVolatilityBands(1, "NOPE", 2, None, 10)):
        assert kinds(twin.apply(command)) == ["CommandRejected"]


def test_calls_survive_a_snapshot_and_their_records_round_trip() -> None:
    twin, events = interrupted()
    for event in events:
        assert codec.decode(codec.encode(event)) == event
    restored = snapshot.load(snapshot.dump(twin.engine))
    assert restored.digest() == twin.engine.digest()
    assert restored.apply(ExpireOrders(15)) == twin.engine.apply(ExpireOrders(15))


def test_digests_differ_with_the_auction_state() -> None:
    twin, _ = interrupted()
    other = snapshot.load(snapshot.dump(twin.engine))
    assert other.digest() == twin.engine.digest()
    other.apply(SetVolatilityBands(7, SYMBOL, 3, None, 10))
    twin.apply(SetVolatilityBands(7, SYMBOL, 2, None, 10))
    assert other.digest() != twin.engine.digest()  # the settings differ
    other.apply(SetVolatilityBands(8, SYMBOL, 2, None, 10))
    twin.apply(SetVolatilityBands(8, SYMBOL, 2, None, 10))
    assert other.digest() == twin.engine.digest()
    other.calls.volatility_end[SYMBOL] = (16, False)  # only the call's end differs
    twin.engine.calls.pending.add(SYMBOL)
    assert other.digest() != twin.engine.digest()
