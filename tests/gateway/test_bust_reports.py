"""A busted trade reaches both sides as an execution report (exec_type TRADE_CANCEL) that takes
the fill out of cum_qty and avg_px, and says why; it survives a restart like every report."""

from __future__ import annotations

from pathlib import Path

from tests.gateway.conftest import WHEAT, next_report, open_venue


async def test_both_sides_of_a_busted_trade_get_a_trade_cancel_report(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        buyer, seller = await venue.client("AGRO-1"), await venue.client("MILL-1")
        operator = await venue.client("operator")
        await buyer.subscribe_exec()
        await seller.subscribe_exec()
        await buyer.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="b1")
        await seller.new_order(WHEAT, "SELL", "3", "210.00", cl_ord_id="s1")
        fills = {}
        for client in (buyer, seller):
            report = {}
            while report.get("exec_type") != "TRADE":
                report = await next_report(client)
            fills[client] = report
        trade_id = fills[buyer]["trade_id"]
        await operator.request("bust_trade", trade_id=trade_id, reason="wrong grade")
        for client, cum_qty, leaves in ((buyer, "0", "2"), (seller, "0", "0")):
            bust = await next_report(client)
            assert bust["exec_type"] == "TRADE_CANCEL" and bust["trade_id"] == trade_id
            assert (bust["last_qty"], bust["last_px"]) == ("3", "210.00")
            assert (bust["cum_qty"], bust["leaves_qty"], bust["avg_px"]) == (cum_qty, leaves, None)
            assert bust["bust_reason"] == "wrong grade"
            assert bust["exec_seq"] == fills[client]["exec_seq"] + 1
        venue.server.venue.tracker.check()  # type: ignore[union-attr]
