"""An order reject says why in numbers (gateway/rejects.py), and docs/protocol.md lists every
reason code the engine has."""

from __future__ import annotations

from pathlib import Path

from exchange.client import Client, ExchangeError
from exchange.engine.reasons import Reject
from tests.gateway.conftest import WHEAT, open_venue
from tests.gateway.test_docs import DOC


async def refusal(client: Client, *order: str) -> str:
    try:
        await client.new_order(WHEAT, *order)
    except ExchangeError as exc:
        return f"{exc.code}: {exc.msg}"
    raise AssertionError(f"accepted: {order}")


async def test_order_rejects_give_the_limits_they_met(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        buyer, operator = await venue.client("AGRO-1"), await venue.client("operator")
        assert await refusal(buyer, "BUY", "5", "999.00") == (
            "PRICE_OUTSIDE_BAND: order rejected: PRICE_OUTSIDE_BAND: price 999.00 is outside the "
            "band 110.00 to 310.00 (reference 210.00 +/- 400 ticks of 0.25)")
        assert (await refusal(buyer, "BUY", "600", "210.00")).endswith(
            "qty 600 is above the instrument's maximum of 500 lots")
        assert (await refusal(buyer, "BUY", "300", "210.00")).endswith(
            "qty 300 is above the account's limit of 200 lots an order")
        await operator.request("set_account_limits", account="AGRO-1",
                               max_order_notional="10000.00")
        assert (await refusal(buyer, "BUY", "3", "210.00")).endswith(
            "the order's notional 12600.000000 (3 lots at 210.00) is above the account's limit "
            "of 10000.000000")
        await operator.request("set_account_limits", account="AGRO-1", max_order_notional="none")
        await operator.request("set_credit_limit", firm="AGROTRADE", credit_limit="50000")
        await buyer.new_order(WHEAT, "BUY", "5", "200.00")  # 20,000 of open buys
        assert (await refusal(buyer, "BUY", "8", "210.00")).endswith(
            "the order needs 33600.000000; firm AGROTRADE has used 20000.000000 of its credit "
            "limit 50000.000000 (open buys + net bought), 30000.000000 left")
        await operator.request("set_kill_switch", scope="account", name="AGRO-1")
        assert (await refusal(buyer, "BUY", "1", "200.00")).endswith(
            "a kill switch holds account AGRO-1")
        await operator.request("set_kill_switch", scope="account", name="AGRO-1", engaged=False)
        await operator.request("set_trading_state", sym=WHEAT, state="HALTED")
        assert (await refusal(buyer, "BUY", "1", "200.00")).endswith(f"{WHEAT} is HALTED")


def test_the_protocol_lists_every_reject_reason() -> None:
    text = DOC.read_text()
    missing = [reason.name for reason in Reject if reason.name not in text]
    assert missing == []


async def test_an_order_canceled_at_once_says_why_in_its_answer(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        buyer, seller = await venue.client("AGRO-1"), await venue.client("MILL-1")
        await seller.new_order(WHEAT, "SELL", "2", "210.00")
        ioc = await buyer.new_order(WHEAT, "BUY", "5", "210.00", tif="IOC")
        assert (ioc["ord_status"], ioc["cum_qty"], ioc["cancel_reason"]) == (
            "CANCELED", "2", "IOC_REMAINDER")
        await buyer.new_order(WHEAT, "SELL", "1", "211.00")
        self_trade = await buyer.new_order(WHEAT, "BUY", "1", "211.00")
        assert (self_trade["ord_status"], self_trade["cancel_reason"]) == (
            "CANCELED", "STP_INCOMING")
        resting = await buyer.new_order(WHEAT, "BUY", "1", "205.00")
        assert "cancel_reason" not in resting
