"""No answer passes the 64 KiB frame limit (docs/protocol.md), however many orders or
instruments there are: `open_orders` and the operators' `list_instruments` come in pages
(listing.py), read here by clients whose own message limit is that frame limit, so one larger
answer would close their connection (1009) and fail the walk. The CLI and the client follow
the pages to the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exchange.client import Client, ExchangeError
from exchange.engine import MassCancel, Side, SubmitOrder
from exchange.gateway.jobs import now_us
from tests.admin.test_cli import admin as admin_cli
from tests.gateway.conftest import WHEAT, Venue, open_venue
from tests.gateway.test_listing import _list_many

FRAME_LIMIT = 64 * 1024
ORDERS = 1200  # ~420 bytes each with a 64-character cl_ord_id: about 500 KB unpaged


async def _rest_many(venue: Venue, count: int) -> None:
    await venue.server.setup([SubmitOrder(
        now_us(), "AGRO-1", f"{n:06}-" + "c" * 57, WHEAT, Side.BUY, 1, 20_000 + 25 * (n % 40))
        for n in range(count)], "operator:test")


async def _bounded(venue: Venue, key: str, encoding: str = "json") -> Client:
    client = await Client.connect(venue.url, encoding=encoding, max_size=FRAME_LIMIT)
    venue.clients.append(client)
    await client.logon(venue.keys[key])
    return client


async def _walk(client: Client, op: str, items: str, **args: object) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        answer = await client.request(op, cursor=cursor, **args)
        assert len(json.dumps(answer)) < FRAME_LIMIT - 100  # and so the envelope fits
        pages.append(answer[items])
        if (cursor := answer["next_cursor"]) is None:
            return pages


@pytest.mark.parametrize("encoding", ["json", "msgpack"])
async def test_open_orders_pages_walk_every_live_order_once_each_under_the_frame_limit(
        tmp_path: Path, encoding: str) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await _rest_many(venue, ORDERS)
        trader = await _bounded(venue, "AGRO-1", encoding)
        pages = await _walk(trader, "open_orders", "orders")
        ids = [int(order["order_id"]) for page in pages for order in page]
        assert len(pages) > 2 and len(ids) == ORDERS and ids == sorted(set(ids))
        assert len(await trader.open_orders(WHEAT)) == ORDERS  # the client walks them all
        auditor = await _bounded(venue, "auditor", encoding)
        assert sum(map(len, await _walk(auditor, "open_orders", "orders"))) == ORDERS
        first = await trader.request("open_orders", limit=7)
        assert len(first["orders"]) == 7 and first["next_cursor"] == first["orders"][6]["order_id"]
        after = await trader.request("open_orders", limit=1, cursor=first["next_cursor"])
        assert int(after["orders"][0]["order_id"]) == ids[7]
        for bad in ({"cursor": "seven"}, {"cursor": 7}, {"limit": 501}, {"limit": 0}):
            with pytest.raises(ExchangeError) as refused:
                await trader.request("open_orders", **bad)
            assert refused.value.code == "BAD_REQUEST", bad


async def test_list_instruments_pages_every_instrument_once_each_under_the_frame_limit(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await _list_many(venue, 1500)
        operator = await _bounded(venue, "operator")
        pages = await _walk(operator, "list_instruments", "instruments", limit=10_000)
        symbols = [view["sym"] for page in pages for view in page]
        assert len(pages) > 2 and len(symbols) == len(set(symbols)) == 1503
        wanted = await _walk(operator, "list_instruments", "instruments", period="2027-01")
        assert len([view for page in wanted for view in page]) == 125
        first = await operator.request("list_instruments", limit=2, period="2027-01")
        assert first["total"] == 125 and len(first["instruments"]) == 2
        code, out, _ = await admin_cli(venue, "instruments", "list", "--json")  # every page
        listed = json.loads(out)
        assert code == 0 and listed["total"] == len(listed["instruments"]) == 1503
        code, out, _ = await admin_cli(venue, "instruments", "list", "--limit", "700")
        assert out.splitlines()[-1] == "(700 of 1503; see --limit)"


async def test_order_history_pages_stay_under_the_frame_limit_at_their_largest(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await _rest_many(venue, 300)
        await venue.server.setup([MassCancel(now_us(), "AGRO-1")], "operator:test")
        trader = await _bounded(venue, "AGRO-1")
        pages, cursor = [], None
        while True:  # 200 finished orders of ~350 bytes would be ~70 KB: a page ends earlier
            answer = await trader.request("order_history", limit=200, cursor=cursor)
            assert len(json.dumps(answer)) < FRAME_LIMIT - 100
            pages.append([int(order["order_id"]) for order in answer["orders"]])
            if (cursor := answer["next_cursor"]) is None:
                break
        ids = [order_id for page in pages for order_id in page]
        assert len(ids) == 300 and ids == sorted(set(ids), reverse=True)
        assert len(pages) == 2 and len(pages[0]) < 200  # cut by bytes, not by limit


async def test_list_trades_and_list_orders_stay_under_the_frame_limit(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        pairs = 700  # ~230 bytes a trade: ~160 KB in one answer of limit 1000
        await venue.server.setup([SubmitOrder(
            now_us(), account, f"t{n:05}{side.name}", WHEAT, side, 1, 21_000)
            for n in range(pairs) for account, side in (("AGRO-1", Side.BUY),
                                                       ("MILL-1", Side.SELL))], "operator:test")
        await _rest_many(venue, ORDERS)
        operator = await _bounded(venue, "operator")
        pages = await _walk(operator, "list_trades", "trades", limit=1000)
        seqs = [trade["seq"] for page in pages for trade in page]
        assert len(pages) > 2 and len(seqs) == pairs and seqs == sorted(set(seqs))
        code, out, _ = await admin_cli(venue, "trades", "--json")  # the CLI walks the pages
        assert code == 0 and [trade["seq"] for trade in json.loads(out)["trades"]] == seqs
        code, out, _ = await admin_cli(venue, "trades", "--json", "--limit", "650")
        assert [trade["seq"] for trade in json.loads(out)["trades"]] == seqs[:650]
        listed = await operator.request("list_orders", account="AGRO-1", limit=10_000)
        assert len(json.dumps(listed)) < FRAME_LIMIT - 100
        assert listed["total"] == ORDERS and 100 < len(listed["orders"]) < ORDERS
