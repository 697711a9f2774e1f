"""Market data: a client's book, kept from a snapshot and deltas, equals the venue's after every
message (seq continuity and the CRC32 checksum are checked on each), across many random orders."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from exchange.client import Client, LocalBook
from exchange.gateway.book import LevelBook
from tests.gateway.conftest import WHEAT, eventually, open_venue, with_config

ACCOUNTS = ("AGRO-1", "MILL-1", "STEEL-1", "FERT-1")


def engine_levels(venue_server: object, symbol: str) -> tuple[list, list]:
    book = venue_server.venue.engine.books[symbol]  # type: ignore[attr-defined]
    return ([(lv.price, lv.total) for lv in book.bids], [(lv.price, lv.total) for lv in book.asks])


async def random_flow(traders: list[Client], count: int, seed: int) -> None:
    rng = random.Random(seed)
    pending = []
    for n in range(count):
        trader = rng.choice(traders)
        if n % 7 == 6:
            pending.append(await trader.send_request("mass_cancel", {"sym": WHEAT}))
            continue
        side = rng.choice(("BUY", "SELL"))
        ticks = rng.randint(-6, 10) * (-1 if side == "BUY" else 1)
        price = 21_000 + 25 * ticks
        args = {"sym": WHEAT, "side": side, "qty": str(rng.randint(1, 12)),
                "px": f"{price // 100}.{price % 100:02d}", "cl_ord_id": f"f{n}"}
        if rng.random() < 0.15:
            args["display_qty"] = "2"
        pending.append(await trader.send_request("new_order", args))
        if n % 4 == 0:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)


async def test_the_clients_book_equals_the_engines_after_every_message(tmp_path: Path) -> None:
    config = with_config(order_rate=10_000, order_burst=10_000)
    async with open_venue(tmp_path / "l.db", config) as venue:
        watchers = [await venue.client("auditor"), await venue.client("AGRO-2", "msgpack")]
        failures: list[str] = []
        for watcher in watchers:
            book = await watcher.subscribe_book(WHEAT)
            original = book.apply

            def checked(message: dict, book: LocalBook = book, original=original) -> bool:
                good = original(message)
                if not good:
                    failures.append(f"{message.get('type')} {message.get('seq')}")
                return good

            book.apply = checked  # type: ignore[method-assign]
        traders = [await venue.client(account) for account in ACCOUNTS]
        await random_flow(traders, 400, seed=11)
        feed = venue.server.venue.market.feeds[WHEAT]
        for watcher in watchers:
            await watcher.wait_synced(WHEAT, feed.seq)
            book = watcher.books[WHEAT].book
            assert (book.top(True, None), book.top(False, None)) == engine_levels(venue.server, WHEAT)
            assert watcher.books[WHEAT].messages > 30
        assert failures == []
        venue.server.venue.engine.check()
        venue.server.venue.tracker.check()


async def test_a_gap_makes_the_client_resync_from_a_new_snapshot(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        watcher = await venue.client("auditor")
        book = await watcher.subscribe_book(WHEAT)
        trader = await venue.client("AGRO-1")
        await trader.new_order(WHEAT, "BUY", "1", "209.00")
        await eventually(lambda: book.seq == 1)
        book.seq = 0  # as if a delta had been lost
        await trader.new_order(WHEAT, "BUY", "1", "208.00")
        await eventually(lambda: book.resyncs == 1 and book.seq == 2)
        assert book.book.top(True) == [(20900, 1), (20800, 1)]


def test_a_level_book_checksum_follows_the_published_rule() -> None:
    book = LevelBook("X", 2)
    book.set(False, 10100, 3)
    book.set(True, 10050, 2)
    book.set(True, 10000, 7)
    import zlib
    assert book.checksum() == zlib.crc32(b"101.00:3|100.50:2,100.00:7")
    book.set(True, 10050, 0)
    assert book.top(True) == [(10000, 7)]
