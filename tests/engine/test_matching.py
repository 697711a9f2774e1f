"""Price-time priority, trade prices and ids, and the BookChanged that close each command."""

from __future__ import annotations

from exchange.engine.enums import Side, TimeInForce
from exchange.engine.events import BookChanged, TradeExecuted
from tests.engine.helpers import book, buy, kinds, only, sell, venue


def trades(events: list) -> list[tuple[int, int, int]]:
    """(maker order id, price, qty) of each trade, in order."""
    return [(t.maker_order_id, t.price, t.qty) for t in only(events, TradeExecuted)]


def test_trade_price_is_the_resting_orders_price() -> None:
    events = venue(sell("b1", 5, 100)).apply(buy("a1", 5, 104))
    assert trades(events) == [(1, 100, 5)]
    events = venue(buy("b1", 5, 100)).apply(sell("a1", 5, 96))
    assert trades(events) == [(1, 100, 5)]


def test_a_buy_takes_the_lowest_ask_first() -> None:
    engine = venue(sell("b1", 2, 102), sell("b1", 2, 100), sell("b1", 2, 101))
    assert trades(engine.apply(buy("a1", 6, 102))) == [(2, 100, 2), (3, 101, 2), (1, 102, 2)]


def test_a_sell_takes_the_highest_bid_first() -> None:
    engine = venue(buy("b1", 2, 98), buy("b1", 2, 100), buy("b1", 2, 99))
    assert trades(engine.apply(sell("a1", 6, 98))) == [(2, 100, 2), (3, 99, 2), (1, 98, 2)]


def test_orders_at_one_price_trade_in_time_order() -> None:
    engine = venue(sell("b1", 2, 100), sell("c1", 2, 100), sell("b1", 2, 100))
    assert trades(engine.apply(buy("a1", 5, 100))) == [(1, 100, 2), (2, 100, 2), (3, 100, 1)]
    assert book(engine)["SELL"] == [(100, 1, [3])]


def test_matching_stops_at_the_orders_limit_and_the_rest_rests_at_its_price() -> None:
    engine = venue(sell("b1", 2, 100), sell("b1", 2, 102))
    events = engine.apply(buy("a1", 5, 101))
    assert trades(events) == [(1, 100, 2)]
    assert book(engine) == {"BUY": [(101, 3, [3])], "SELL": [(102, 2, [2])]}


def test_a_resting_taker_joins_the_back_of_its_level() -> None:
    engine = venue(buy("b1", 1, 100), buy("c1", 1, 99), sell("c1", 1, 101))
    engine.apply(buy("a1", 3, 101))  # takes 1 at 101, rests 2 at the back of 101
    engine.apply(buy("b1", 2, 99))
    assert book(engine)["BUY"] == [(101, 2, [4]), (100, 1, [1]), (99, 3, [2, 5])]


def test_each_trade_takes_the_smaller_of_taker_leaves_and_maker_shown_and_the_next_id() -> None:
    engine = venue(sell("b1", 2, 100), sell("c1", 4, 100))
    events = engine.apply(buy("a1", 5, 100))
    first, second = only(events, TradeExecuted)
    assert (first.trade_id, first.qty, first.maker_leaves, first.taker_leaves) == (1, 2, 0, 3)
    assert (second.trade_id, second.qty, second.maker_leaves, second.taker_leaves) == (2, 3, 1, 0)
    assert first.aggressor_side is Side.BUY and first.taker_order_id == 3
    assert (first.maker_account, first.taker_account) == ("b1", "a1")
    assert only(engine.apply(buy("a1", 1, 100)), TradeExecuted)[0].trade_id == 3


def test_book_changed_once_per_level_in_the_order_first_changed_with_the_new_total() -> None:
    engine = venue(sell("b1", 2, 100), sell("b1", 2, 101), sell("b1", 5, 102))
    events = engine.apply(buy("a1", 7, 102))
    changes = [(e.side, e.price, e.qty) for e in only(events, BookChanged)]
    assert changes == [(Side.SELL, 100, 0), (Side.SELL, 101, 0), (Side.SELL, 102, 2)]
    assert kinds(events)[-3:] == ["BookChanged"] * 3


def test_book_changed_comes_last_and_follows_a_resting_remainder() -> None:
    engine = venue(sell("b1", 2, 100))
    events = engine.apply(buy("a1", 5, 100))
    assert kinds(events) == ["OrderAccepted", "TradeExecuted", "BookChanged", "BookChanged"]
    assert [(e.side, e.price, e.qty) for e in events[2:]] == [
        (Side.SELL, 100, 0), (Side.BUY, 100, 3)]


def test_a_level_whose_total_ends_unchanged_gets_no_book_changed() -> None:
    # An iceberg's refill shows as much as was taken: the level's total is the same.
    engine = venue(sell("b1", 9, 100, display_qty=3))
    events = engine.apply(buy("a1", 3, 100))
    assert kinds(events) == ["OrderAccepted", "TradeExecuted"]


def test_event_sequence_numbers_are_contiguous_across_commands() -> None:
    engine = venue()
    seqs = []
    for command in (sell("b1", 2, 100), buy("a1", 5, 100, tif=TimeInForce.IOC), buy("a1", 1, 9)):
        seqs.append(engine.seq + 1)
        events = engine.apply(command)
        seqs.extend(e.seq for e in events)
        assert seqs[-len(events) - 1] == engine.last_command_seq
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
