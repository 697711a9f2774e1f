"""Depth-limited books (gateway/depth.py): a depth view follows the full book exactly (its best
levels), with its own contiguous seq and a checksum the client library verifies, while the full
book stream is unchanged; depth is checked."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from exchange.client import ExchangeError
from exchange.gateway.book import LevelBook
from exchange.gateway.depth import DepthView
from tests.gateway.conftest import WHEAT, eventually, open_venue


def test_a_view_sends_levels_entering_and_leaving_its_depth() -> None:
    book = LevelBook(WHEAT, 2)
    for price, qty in ((21000, 5), (20975, 3), (20950, 7)):
        book.set(True, price, qty)
    view = DepthView(2, book)
    assert view.bids == {"210.00": "5", "209.75": "3"}
    book.set(True, 21000, 0)  # the best leaves: 209.50 enters the view
    assert view.update(book) == [["bid", "210.00", "0"], ["bid", "209.50", "7"]]
    book.set(True, 20950, 9)
    assert view.update(book) == [["bid", "209.50", "9"]]
    book.set(True, 20000, 1)  # below the view: nothing to say
    assert view.update(book) == []


async def test_depth_streams_follow_the_full_book(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        full, top1, top5 = (await venue.client(), await venue.client(), await venue.client())
        books = {"full": await full.subscribe_book(WHEAT), 1: await top1.subscribe_book(WHEAT, 1),
                 5: await top5.subscribe_book(WHEAT, 5)}
        traders = [await venue.client(name) for name in ("AGRO-1", "MILL-1", "STEEL-1")]
        rng = random.Random(5)
        live: list[tuple[object, str]] = []
        for n in range(120):
            trader = rng.choice(traders)
            if live and rng.random() < 0.3:
                owner, order_id = live.pop(rng.randrange(len(live)))
                try:
                    await owner.cancel_order(order_id)  # type: ignore[attr-defined]
                except ExchangeError:
                    pass  # traded away meanwhile
                continue
            side = rng.choice(("BUY", "SELL"))
            ticks = rng.randint(-6, 6) + (-3 if side == "BUY" else 3)
            px = f"{210 + ticks * 0.25:.2f}"
            order = await trader.new_order(WHEAT, side, str(rng.randint(1, 9)), px)
            if order["leaves_qty"] != "0":
                live.append((trader, order["order_id"]))
        operator = await venue.client("operator")

        async def settled() -> bool:
            venue_book = await operator.request("book", sym=WHEAT, depth=50)
            bids = [(level["px"], level["qty"]) for level in venue_book["bids"]]
            asks = [(level["px"], level["qty"]) for level in venue_book["asks"]]
            return (books["full"].bids() == bids and books["full"].asks() == asks
                    and books[1].bids() == bids[:1] and books[1].asks() == asks[:1]
                    and books[5].bids() == bids[:5] and books[5].asks() == asks[:5])

        await eventually(settled)
        assert all(book.resyncs == 0 for book in books.values())  # seqs and checksums held
        assert books[1].messages > 1 and books[5].messages >= books[1].messages


async def test_depth_is_one_of_the_published_sizes(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        client = await venue.client()
        for depth in (0, 7, "10", True):
            with pytest.raises(ExchangeError) as refused:
                await client.request("subscribe", ch="book", sym=WHEAT, depth=depth)
            assert refused.value.code == "BAD_REQUEST" and "depth must be one of" in \
                refused.value.msg
        answer = await client.request("subscribe", ch="book", sym=WHEAT, depth="full")
        assert "depth" not in answer
        answer = await client.request("subscribe", ch="book", sym=WHEAT, depth=10)
        assert answer["depth"] == 10
        assert (await client.request("unsubscribe", ch="book", sym=WHEAT, depth=10))["ch"] == \
            "book"
