"""A cl_ord_id is unique per account over the whole history: a resend never executes twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from exchange.client import ExchangeError
from tests.gateway.conftest import WHEAT, next_report, open_venue


async def test_a_resent_cl_ord_id_answers_with_the_existing_order(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        trader = await venue.client("AGRO-1")
        await trader.subscribe_exec()
        first = await trader.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="x1")
        again = await trader.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="x1")
        assert again["order_id"] == first["order_id"] and again["duplicate"] is True
        assert len(await trader.open_orders()) == 1
        assert (await next_report(trader))["exec_type"] == "NEW"
        assert trader.exec_reports.empty()


async def test_a_resend_of_a_filled_order_is_not_executed_again(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        buyer = await venue.client("AGRO-1")
        seller = await venue.client("MILL-1")
        await seller.new_order(WHEAT, "SELL", "5", "210.00", cl_ord_id="s1")
        filled = await buyer.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="b1")
        assert filled["ord_status"] == "FILLED"
        resent = await buyer.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="b1")
        assert resent["ord_status"] == "FILLED" and resent["order_id"] == filled["order_id"]
        assert await buyer.open_orders() == []


async def test_two_copies_in_one_batch_make_one_order(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        trader = await venue.client("AGRO-1")
        args = {"sym": WHEAT, "side": "BUY", "qty": "5", "px": "210.00", "cl_ord_id": "twin"}
        futures = [await trader.send_request("new_order", args) for _ in range(5)]
        answers = await asyncio.gather(*futures)
        assert len({a["result"]["order_id"] for a in answers}) == 1
        assert sum(bool(a["result"].get("duplicate")) for a in answers) == 4


async def test_a_rejected_cl_ord_id_stays_rejected_and_a_resent_replace_applies_once(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        trader = await venue.client("AGRO-1")
        for _ in range(2):
            try:
                await trader.new_order(WHEAT, "BUY", "5", "210.10", cl_ord_id="bad")
            except ExchangeError as exc:
                assert exc.code == "INVALID_PRICE_INCREMENT"
        await trader.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="o1")
        replaced = await trader.replace_order("4", "210.25", orig_cl_ord_id="o1", cl_ord_id="o2")
        resent = await trader.replace_order("4", "210.25", orig_cl_ord_id="o1", cl_ord_id="o2")
        assert resent["duplicate"] and resent["order_id"] == replaced["order_id"]
        assert (await trader.order_status(cl_ord_id="o2", account="AGRO-1"))["order_qty"] == "4"
        try:
            await trader.new_order(WHEAT, "BUY", "1", "210.00", cl_ord_id="o3")
            await trader.replace_order("2", "210.00", orig_cl_ord_id="o3", cl_ord_id="o2")
        except ExchangeError as exc:
            assert exc.code == "DUPLICATE_ORDER"
        else:
            raise AssertionError("took a cl_ord_id of another order")
