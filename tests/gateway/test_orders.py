"""Order entry over real sockets: acks after durability, fills between two firms, exec reports."""

from __future__ import annotations

from pathlib import Path

from exchange.client import ExchangeError
from tests.gateway.conftest import WHEAT, next_report, open_venue


async def test_a_buy_and_a_sell_from_two_firms_trade_and_both_get_reports(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        buyer = await venue.client("AGRO-1")
        seller = await venue.client("MILL-1", encoding="msgpack")
        await buyer.subscribe_exec()
        await seller.subscribe_exec()
        bid = await buyer.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="b1")
        assert bid["ord_status"] == "NEW" and bid["leaves_qty"] == "5"
        assert (await next_report(buyer))["exec_type"] == "NEW"
        ask = await seller.new_order(WHEAT, "SELL", "3", "209.75", cl_ord_id="s1")
        assert ask["ord_status"] == "FILLED" and ask["avg_px"] == "210.000000"
        new, fill = await next_report(seller), await next_report(seller)
        assert (new["exec_type"], fill["exec_type"]) == ("NEW", "TRADE")
        assert fill["liquidity"] == "TAKER" and fill["last_px"] == "210.00"
        maker_fill = await next_report(buyer)
        assert maker_fill["exec_type"] == "TRADE" and maker_fill["ord_status"] == "PARTIALLY_FILLED"
        assert (maker_fill["cum_qty"], maker_fill["leaves_qty"]) == ("3", "2")
        assert [r["exec_seq"] for r in (new, fill)] == [1, 2]
        assert maker_fill["trade_id"] == fill["trade_id"]


async def test_an_off_tick_price_is_rejected_with_a_reason(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        trader = await venue.client("AGRO-1")
        try:
            await trader.new_order(WHEAT, "BUY", "5", "210.10")
        except ExchangeError as exc:
            assert exc.code == "INVALID_PRICE_INCREMENT"
        else:
            raise AssertionError("accepted an off-tick price")
