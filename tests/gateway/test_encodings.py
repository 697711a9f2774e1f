"""JSON and MessagePack are one schema: the same session gives the same answers and pushes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exchange.client import ExchangeError
from tests.gateway.conftest import PIPE, WHEAT, next_report, open_venue


def without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if not k.endswith("_us")}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


async def session(path: Path, encoding: str) -> list[Any]:
    seen: list[Any] = []
    async with open_venue(path) as venue:
        buyer = await venue.client("AGRO-1", encoding)
        seller = await venue.client("STEEL-1", encoding)
        await buyer.subscribe_exec()
        book = await buyer.subscribe_book(WHEAT)
        seen.append(await buyer.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="b1",
                                          display_qty="2"))
        seen.append(await seller.new_order(WHEAT, "SELL", "3", "209.50", cl_ord_id="s1"))
        seen.append(await seller.new_order(PIPE, "SELL", "1", "780.00", cl_ord_id="p1",
                                           tif="GTD", expire_at_us=2**62))
        seen.append(await buyer.replace_order("4", "209.75", orig_cl_ord_id="b1"))
        for bad in ({"px": "210.001"}, {"qty": "0"}, {"px": 210.0}, {"sym": "NOPE"}):
            try:
                await buyer.new_order(**{"sym": WHEAT, "side": "BUY", "qty": "1", "px": "1.00",
                                         **bad})
            except ExchangeError as exc:
                seen.append(exc.code)
        seen.append(await seller.open_orders())
        seen.extend([await next_report(buyer) for _ in range(3)])
        await buyer.wait_synced(WHEAT, venue.server.venue.market.feeds[WHEAT].seq)
        seen.append((book.bids(), book.asks()))
    return without_times(seen)


async def test_json_and_msgpack_sessions_give_identical_results(tmp_path: Path) -> None:
    as_json = await session(tmp_path / "json.db", "json")
    as_msgpack = await session(tmp_path / "msgpack.db", "msgpack")
    assert as_json == as_msgpack
    assert as_json[4:8] == ["INVALID_PRICE_INCREMENT", "INVALID_QUANTITY", "INVALID_PRICE",
                            "UNKNOWN_INSTRUMENT"]
