"""Icebergs: only the displayed slice is in the book; each refill goes to the back."""

from __future__ import annotations

from exchange.engine.enums import Side, StpMode, TimeInForce
from exchange.engine.events import TradeExecuted
from exchange.engine.reasons import Reject
from tests.engine.helpers import book, buy, kinds, only, sell, venue


def trades(events: list) -> list[tuple[int, int]]:
    return [(t.maker_order_id, t.qty) for t in only(events, TradeExecuted)]


def test_only_the_displayed_part_is_in_the_level_total() -> None:
    engine = venue(sell("b1", 10, 100, display_qty=3), sell("c1", 2, 100))
    assert book(engine)["SELL"] == [(100, 5, [1, 2])]


def test_a_trade_takes_at_most_the_displayed_quantity_then_the_refill_goes_to_the_back() -> None:
    engine = venue(sell("b1", 10, 100, display_qty=3), sell("c1", 2, 100))
    events = engine.apply(buy("a1", 4, 100))
    assert trades(events) == [(1, 3), (2, 1)]
    assert book(engine)["SELL"] == [(100, 4, [2, 1])]


def test_a_taker_meets_the_same_iceberg_again_after_the_others_at_its_level() -> None:
    engine = venue(sell("b1", 10, 100, display_qty=3), sell("c1", 2, 100))
    events = engine.apply(buy("a1", 9, 100))
    assert trades(events) == [(1, 3), (2, 2), (1, 3), (1, 1)]
    assert book(engine)["SELL"] == [(100, 2, [1])]


def test_the_last_slice_is_what_remains_when_less_than_the_display() -> None:
    engine = venue(sell("b1", 7, 100, display_qty=3))
    engine.apply(buy("a1", 6, 100))
    assert book(engine)["SELL"] == [(100, 1, [1])]
    assert engine.orders[1].visible == engine.orders[1].leaves == 1


def test_a_resting_iceberg_taker_shows_only_its_display() -> None:
    engine = venue(sell("b1", 2, 100))
    engine.apply(buy("a1", 10, 100, display_qty=4))
    assert book(engine)["BUY"] == [(100, 4, [2])]


def test_an_iceberg_as_taker_trades_its_whole_quantity_not_just_the_display() -> None:
    engine = venue(sell("b1", 8, 100))
    assert trades(engine.apply(buy("a1", 10, 100, display_qty=2))) == [(1, 8)]
    assert book(engine)["BUY"] == [(100, 2, [2])]


def test_fill_or_kill_counts_an_icebergs_hidden_quantity() -> None:
    engine = venue(sell("b1", 10, 100, display_qty=2))
    events = engine.apply(buy("a1", 9, 100, tif=TimeInForce.FOK))
    assert sum(t.qty for t in only(events, TradeExecuted)) == 9


def test_fill_or_kill_counts_only_the_displayed_part_ahead_of_a_same_firm_order() -> None:
    # a2 (firm F1) waits behind b1's iceberg; a1 (F1) may take only the shown 2 before it.
    engine = venue(sell("b1", 10, 100, display_qty=2), sell("a2", 5, 100))
    fok = buy("a1", 3, 100, tif=TimeInForce.FOK, stp=StpMode.CANCEL_INCOMING)
    assert engine.apply(fok)[0].reason is Reject.FOK_NOT_FILLABLE
    assert kinds(engine.apply(fok._replace(qty=2, cl_ord_id="two")))[1] == "TradeExecuted"


def test_an_iceberg_side_is_shown_per_level_in_book_changed() -> None:
    engine = venue()
    events = engine.apply(sell("b1", 10, 100, display_qty=3))
    assert (events[-1].side, events[-1].price, events[-1].qty) == (Side.SELL, 100, 3)
