"""The uncrossing rule of a call auction, step by step on worked examples (docs/engine.md, "Call
auctions"), and against a brute force over every price."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exchange.engine.auction import Uncross, allocate, uncross
from exchange.engine.enums import Side

MARKET = None


def test_the_price_is_where_the_most_executes() -> None:
    bids = [(102, 10), (101, 5)]
    asks = [(100, 8), (101, 6)]
    # demand 15/15/10, supply 8/14/14 at 100/101/102: 14 executes at 101
    assert uncross(bids, asks, None) == Uncross(101, 14, 1, Side.BUY)


def test_equal_volumes_are_decided_by_the_least_surplus() -> None:
    bids = [(101, 10), (99, 5)]
    asks = [(100, 10), (101, 2)]
    # 10 executes at 100 and at 101; the surplus is 0 at 100, 2 (sell) at 101
    assert uncross(bids, asks, 101) == Uncross(100, 10, 0, None)


def test_a_buy_surplus_at_every_price_left_takes_the_highest() -> None:
    assert uncross([(102, 10)], [(100, 5)], 100) == Uncross(102, 5, 5, Side.BUY)


def test_a_sell_surplus_at_every_price_left_takes_the_lowest() -> None:
    assert uncross([(102, 5)], [(100, 10)], 102) == Uncross(100, 5, 5, Side.SELL)


def test_no_pressure_takes_the_price_closest_to_the_reference_ties_to_the_higher() -> None:
    bids, asks = [(102, 5)], [(100, 5)]
    assert uncross(bids, asks, 99).price == 100
    assert uncross(bids, asks, 101).price == 102  # equidistant: the higher
    assert uncross(bids, asks, 500).price == 102
    assert uncross(bids, asks, None).price == 102  # the middle, 101: equidistant again


def test_market_orders_count_at_every_price_and_alone_trade_at_the_reference() -> None:
    assert uncross([(MARKET, 5)], [(MARKET, 3)], 100) == Uncross(100, 3, 2, Side.BUY)
    assert uncross([(MARKET, 5)], [(MARKET, 3)], None) is None
    assert uncross([(MARKET, 4)], [(101, 3), (103, 3)], 90) == Uncross(103, 4, 2, Side.SELL)


def test_a_book_that_does_not_cross_has_no_uncross() -> None:
    assert uncross([(99, 5)], [(100, 5)], 100) is None
    assert uncross([], [(100, 5)], 100) is None


def test_allocation_fills_the_front_of_each_side_in_priority_order() -> None:
    assert allocate([(MARKET, 3), (102, 4), (101, 5)], 6) == [3, 3, 0]
    assert allocate([(100, 2)], 0) == [0]


def _volume(bids: list, asks: list, price: int) -> tuple[int, int]:
    demand = sum(q for p, q in bids if p is None or p >= price)
    supply = sum(q for p, q in asks if p is None or p <= price)
    return min(demand, supply), demand - supply


orders = st.lists(st.tuples(st.one_of(st.none(), st.integers(90, 110)), st.integers(1, 20)),
                  max_size=8)


@given(bids=orders, asks=orders, reference=st.one_of(st.none(), st.integers(80, 120)))
def test_no_price_at_all_executes_more_and_the_result_is_consistent(
        bids: list, asks: list, reference: int | None) -> None:
    found = uncross(bids, asks, reference)
    every = range(70, 131)
    most = max(_volume(bids, asks, price)[0] for price in every)
    limits = {p for p, _ in bids + asks if p is not None}
    if found is None:
        assert most == 0 or not limits and reference is None
        return
    volume, surplus = _volume(bids, asks, found.price)
    assert found.volume == volume == (most if limits else volume)
    assert found.surplus == abs(surplus)
    assert found.surplus_side == (None if surplus == 0 else Side.BUY if surplus > 0 else Side.SELL)
    same = [p for p in limits if _volume(bids, asks, p)[0] == volume]
    assert found.surplus == min(abs(_volume(bids, asks, p)[1]) for p in same or [found.price])
    assert sum(allocate(bids, volume)) == volume == sum(allocate(asks, volume))
