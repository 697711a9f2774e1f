"""Authorization: a trader acts for its own account and reads only its own firm's orders."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.client import Client, ExchangeError
from tests.gateway.conftest import WHEAT, open_venue


async def code_of(request: object) -> str:
    with pytest.raises(ExchangeError) as raised:
        await request  # type: ignore[misc]
    return raised.value.code


async def test_a_trader_cannot_cancel_amend_or_see_another_firms_orders(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        owner = await venue.client("AGRO-1")
        other = await venue.client("MILL-1")
        order = await owner.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="mine")
        order_id = order["order_id"]
        assert await code_of(other.cancel_order(order_id=order_id)) == "UNKNOWN_ORDER"
        assert await code_of(other.replace_order("4", "210.00", order_id=order_id)) == "UNKNOWN_ORDER"
        assert await code_of(other.order_status(order_id=order_id)) == "UNKNOWN_ORDER"
        assert await code_of(other.open_orders(account="AGRO-1")) == "FORBIDDEN"
        assert await code_of(other.subscribe_exec(account="AGRO-1")) == "FORBIDDEN"
        assert await other.open_orders() == []
        assert (await owner.order_status(order_id=order_id))["ord_status"] == "NEW"


async def test_a_colleague_of_the_same_firm_sees_but_cannot_cancel(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        owner = await venue.client("AGRO-1")
        colleague = await venue.client("AGRO-2")
        order = await owner.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="mine")
        seen = await colleague.order_status(order_id=order["order_id"])
        assert seen["cl_ord_id"] == "mine"
        assert len(await colleague.open_orders(account="AGRO-1")) == 1
        assert await code_of(colleague.cancel_order(order_id=order["order_id"])) == "UNKNOWN_ORDER"


async def test_auditors_read_everything_and_change_nothing(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        owner = await venue.client("AGRO-1")
        auditor = await venue.client("auditor")
        order = await owner.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="mine")
        assert (await auditor.order_status(order_id=order["order_id"]))["account"] == "AGRO-1"
        assert len(await auditor.open_orders()) == 1
        assert await code_of(auditor.new_order(WHEAT, "BUY", "1", "210.00")) == "FORBIDDEN"
        assert await code_of(auditor.request("set_trading_state", sym=WHEAT,
                                             state="HALTED")) == "FORBIDDEN"


async def test_requests_before_logon_and_bad_keys_are_unauthenticated(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        anonymous = await venue.client()
        assert await code_of(anonymous.new_order(WHEAT, "BUY", "1", "210.00")) == "UNAUTHENTICATED"
        assert await code_of(anonymous.logon("AGRO-1.wrong")) == "UNAUTHENTICATED"
        assert await code_of(anonymous.logon("nonsense")) == "UNAUTHENTICATED"
        assert "ts_us" in await anonymous.ping()
        await anonymous.logon(venue.keys["AGRO-1"])
        assert await code_of(anonymous.logon(venue.keys["AGRO-1"])) == "BAD_REQUEST"


async def test_a_revoked_key_is_disconnected_and_refused(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        trader = await venue.client("AGRO-1")
        operator = await venue.client("operator")
        await operator.request("revoke_key", key_id="AGRO-1")
        await trader.closed.wait()
        assert "revoked" in trader.close_reason
        again = await Client.connect(venue.url)
        venue.clients.append(again)
        assert await code_of(again.logon(venue.keys["AGRO-1"])) == "UNAUTHENTICATED"
        issued = await operator.request("issue_key", role="trader", account="AGRO-1")
        await again.logon(issued["api_key"])
