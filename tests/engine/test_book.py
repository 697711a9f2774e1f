"""check() asserts the book's invariants: a corrupted book fails it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from exchange.engine.engine import Engine
from exchange.engine.enums import Side
from tests.engine.helpers import SYMBOL, buy, sell, venue


def sample() -> Engine:
    engine = venue(buy("a1", 5, 99), buy("b1", 3, 99), buy("c1", 2, 98),
                   sell("b1", 10, 101, display_qty=4), sell("c1", 1, 102))
    engine.check()
    return engine


def test_a_healthy_engine_passes_check() -> None:
    sample().check()


def test_ladders_iterate_best_first_and_best_is_the_top() -> None:
    book = sample().books[SYMBOL]
    assert [level.price for level in book.bids] == [99, 98]
    assert [level.price for level in book.asks] == [101, 102]
    assert book.bids.best().price == 99 and book.asks.best().price == 101
    assert [o.order_id for o in book.orders()] == [1, 2, 3, 4, 5]


def wrong_total(engine: Engine) -> None:
    engine.books[SYMBOL].bids.levels[99].total += 1


def empty_level(engine: Engine) -> None:
    engine.books[SYMBOL].bids.level_for(90)


def crossed(engine: Engine) -> None:
    order = engine.orders[5]
    engine.books[SYMBOL].asks.levels[102].remove(order)
    engine.books[SYMBOL].asks.drop(engine.books[SYMBOL].asks.levels[102])
    order.price = 95
    engine.books[SYMBOL].asks.level_for(95).append(order)


def order_at_wrong_price(engine: Engine) -> None:
    engine.orders[3].price = 97


def shown_more_than_leaves(engine: Engine) -> None:
    engine.orders[4].visible = 11


def iceberg_shows_more_than_display(engine: Engine) -> None:
    order = engine.orders[4]
    order.visible += 1
    engine.books[SYMBOL].asks.levels[101].total += 1


def order_on_the_wrong_side(engine: Engine) -> None:
    engine.orders[1].side = Side.SELL


def missing_from_the_index(engine: Engine) -> None:
    del engine.orders[2]


def stale_cl_ord_id(engine: Engine) -> None:
    engine.accounts["a1"].live_cl_ord_ids["ghost"] = 1


def account_forgets_an_order(engine: Engine) -> None:
    del engine.accounts["c1"].open_orders[3]


@pytest.mark.parametrize("corrupt", [
    wrong_total, empty_level, crossed, order_at_wrong_price, shown_more_than_leaves,
    iceberg_shows_more_than_display, order_on_the_wrong_side, missing_from_the_index,
    stale_cl_ord_id, account_forgets_an_order,
], ids=lambda corrupt: corrupt.__name__)
def test_check_catches_a_corrupted_book(corrupt: Callable[[Engine], None]) -> None:
    engine = sample()
    corrupt(engine)
    with pytest.raises(AssertionError):
        engine.check()
