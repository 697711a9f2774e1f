"""The operators' ops over real sockets, on a real ledger: each action is sequenced, durable,
recorded with the operator's identity, and refused to anyone but an operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exchange.client import Client, ExchangeError
from exchange.engine import (
    AddAccount,
    AddInstrument,
    BustTrade,
    ImportInstruments,
    SetCreditLimit,
    SetKillSwitch,
    SetPriceBand,
    SetTradingState,
)
from exchange.ledger import reader
from tests.gateway.conftest import (
    WHEAT,
    Venue,
    eventually,
    open_venue,
    start_venue,
    stop_venue,
    with_config,
)

OPERATOR_ORIGIN = "operator:operator"  # the test venue's operator key is named "operator"
COPPER = {"sym": "CU-A-RTM-2706", "commodity": "copper cathode", "grade": "A",
          "location": "FCA Rotterdam", "delivery_period": "2027-06", "unit": "t",
          "lot_size": "25", "tick": "0.50", "price_decimals": "2", "min_qty": "1",
          "max_qty": "100", "reference_px": "8500.00", "band_ticks": "2000"}


def row(symbol: str, tick: str = "0.25", reference: str | None = "100.00") -> list[Any]:
    return [symbol, "wheat", "milling", "FOB Constanta", "2027-09", "t", "20", tick, "2",
            "1", "500", reference, "400"]


def entries(path: Path) -> list[reader.Entry]:  # type: ignore[name-defined]
    conn = reader.connect(path)
    try:
        builder = reader.EntryBuilder()
        found = list(builder.feed(reader.rows(conn)))
        return found + list(builder.finish())
    finally:
        conn.close()


async def refused(call: Any, code: str) -> str:
    with pytest.raises(ExchangeError) as caught:
        await call
    assert caught.value.code == code, caught.value
    return caught.value.msg


async def operator(venue: Venue) -> Client:
    return await venue.client("operator", encoding="msgpack")


async def test_add_list_halt_refuse_resume_trade_all_recorded_with_the_operator(
        tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    async with open_venue(path) as venue:
        admin = await operator(venue)
        added = await admin.request("add_instrument", **COPPER)
        assert added["event"] == "InstrumentAdded" and added["sym"] == COPPER["sym"]
        listed = await admin.request("list_instruments", commodity="Copper Cathode")
        assert [i["sym"] for i in listed["instruments"]] == [COPPER["sym"]]
        assert listed["instruments"][0]["reference_px"] == "8500.00"
        await admin.request("set_trading_state", sym=COPPER["sym"], state="HALTED")
        halted = await admin.request("list_instruments", state="HALTED")
        assert [i["sym"] for i in halted["instruments"]] == [COPPER["sym"]]
        buyer, seller = await venue.client("AGRO-1"), await venue.client("MILL-1")
        await refused(buyer.new_order(COPPER["sym"], "BUY", "2", "8500.00"), "MARKET_HALTED")
        await admin.request("set_trading_state", sym=COPPER["sym"], state="OPEN")
        await buyer.new_order(COPPER["sym"], "BUY", "2", "8500.00")
        sold = await seller.new_order(COPPER["sym"], "SELL", "2", "8499.50")
        assert sold["ord_status"] == "FILLED" and sold["avg_px"] == "8500.000000"
        book = await admin.request("book", sym=COPPER["sym"])
        assert book["bids"] == [] and book["asks"] == []
    recorded = [(type(e.command), e.origin) for e in entries(path)]
    operator_commands = [kind for kind, origin in recorded if origin == OPERATOR_ORIGIN]
    assert operator_commands == [AddInstrument, SetTradingState, SetTradingState]


async def test_every_operator_action_is_in_the_ledger_with_its_origin(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    async with open_venue(path) as venue:
        admin = await operator(venue)
        await admin.request("add_account", account="CU-1", firm="CUPRUM", max_order_qty="50")
        await admin.request("set_account_limits", account="CU-1", max_open_orders="10")
        await admin.request("set_credit_limit", firm="CUPRUM", credit_limit="1000000.25")
        await admin.request("set_price_band", sym=WHEAT, reference_px="200.00")
        await admin.request("set_price_band", sym=WHEAT, band_ticks="10")
        await admin.request("set_kill_switch", scope="firm", name="CUPRUM", engaged=True)
        await admin.request("import_instruments", import_id="i1", rows=[row("X-1"), row("X-2")])
        await refused(admin.request("bust_trade", trade_id="99", reason="fat finger"),
                      "UNKNOWN_TRADE")
        account = await admin.request("show_account", account="CU-1")
        assert (account["max_order_qty"], account["max_open_orders"]) == ("50", "10")
        assert account["blocked"] is False and account["firm_blocked"] is True
        shown = await admin.request("show_instrument", sym=WHEAT)
        assert (shown["reference_px"], shown["band_ticks"]) == ("200.00", "10")
    by_operator = [e.command for e in entries(path) if e.origin == OPERATOR_ORIGIN]
    assert [type(c) for c in by_operator] == [
        AddAccount, type(by_operator[1]), SetCreditLimit, SetPriceBand, SetPriceBand,
        SetKillSwitch, ImportInstruments, BustTrade]
    assert by_operator[1].max_order_qty == 50 and by_operator[1].max_open_orders == 10
    assert by_operator[2].credit_limit == 1_000_000_250_000  # EUR, in 10**-6
    assert by_operator[3].band_ticks == 400 and by_operator[4].reference_price == 20000


async def test_trader_and_auditor_keys_are_refused(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        for name in ("AGRO-1", "auditor"):
            client = await venue.client(name)
            await refused(client.request("add_instrument", **COPPER), "FORBIDDEN")
            await refused(client.request("stats"), "FORBIDDEN")
            await refused(client.request("set_kill_switch", scope="firm", name="AGROTRADE"),
                          "FORBIDDEN")


async def test_operator_keys_log_on_only_from_the_operator_networks(tmp_path: Path) -> None:
    venue = await start_venue(tmp_path / "l.db", with_config(operator_networks=("10.0.0.0/8",)))
    try:
        client = await venue.client()
        msg = await refused(client.logon(venue.keys["operator"]), "FORBIDDEN")
        assert "operator" in msg
        trader = await venue.client("AGRO-1")  # traders are not affected
        assert (await trader.ping())["ts_us"] > 0
    finally:
        await stop_venue(venue)


async def test_kill_switch_cancels_all_and_blocks_until_released(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        admin = await operator(venue)
        trader = await venue.client("AGRO-1")
        await trader.subscribe_exec()
        for px in ("209.00", "209.25", "209.50"):
            await trader.new_order(WHEAT, "BUY", "1", px)
        engaged = await admin.request("set_kill_switch", scope="firm", name="AGROTRADE")
        assert engaged["event"] == "KillSwitchSet" and engaged["canceled"] == 3
        assert await trader.open_orders() == []
        await refused(trader.new_order(WHEAT, "BUY", "1", "209.00"), "BLOCKED")
        firm = await admin.request("show_firm", firm="AGROTRADE")
        assert firm["blocked"] is True
        await admin.request("set_kill_switch", scope="firm", name="AGROTRADE", engaged=False)
        assert (await trader.new_order(WHEAT, "BUY", "1", "209.00"))["ord_status"] == "NEW"
        orders = await admin.request("list_orders", firm="AGROTRADE", closed=True)
        assert [o["ord_status"] for o in orders["orders"]] == ["NEW"] + ["CANCELED"] * 3


async def test_a_revoked_key_loses_its_connection_at_once(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        admin = await operator(venue)
        issued = await admin.request("issue_key", role="trader", account="MILL-1")
        trader = await venue.client()
        await trader.logon(issued["api_key"])
        await admin.request("revoke_key", key_id=issued["key_id"])
        await eventually(lambda: trader.closed.is_set(), timeout=2)
        assert "revoked" in trader.close_reason
        again = await venue.client()
        await refused(again.logon(issued["api_key"]), "UNAUTHENTICATED")
        await refused(admin.request("revoke_key", key_id=issued["key_id"]), "UNKNOWN_KEY")
        await refused(admin.request("issue_key", role="trader", account="NOBODY"),
                      "UNKNOWN_ACCOUNT")
    recorded = [(type(e.command).__name__, e.origin) for e in entries(tmp_path / "l.db")
                if type(e.command).__name__ in ("IssueKey", "RevokeKey")]
    assert recorded[-4:] == [("IssueKey", OPERATOR_ORIGIN), ("RevokeKey", OPERATOR_ORIGIN),
                             ("RevokeKey", OPERATOR_ORIGIN), ("IssueKey", OPERATOR_ORIGIN)]
    secret = issued["api_key"].split(".", 1)[1]
    assert secret.encode() not in (tmp_path / "l.db").read_bytes()  # only its salted hash


async def test_a_bad_row_in_any_chunk_imports_nothing(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        admin = await operator(venue)
        first = [row(f"A-{n}") for n in range(5)]
        staged = await admin.request("import_instruments", import_id="i1", rows=first, more=True)
        assert staged["staged"] == 5
        bad = [row("A-5"), row("A-6", tick="0.251")]
        msg = await refused(admin.request("import_instruments", import_id="i1", rows=bad,
                                          more=True), "BAD_REQUEST")
        assert msg.startswith("row 7: tick:")
        await refused(admin.request("import_instruments", import_id="i1", rows=[row("A-9")]),
                      "BAD_REQUEST")  # the failed import cannot be committed later
        duplicate = [row("B-1"), row("B-2"), row(WHEAT)]
        msg = await refused(admin.request("import_instruments", import_id="i2", rows=duplicate),
                            "DUPLICATE_INSTRUMENT")
        assert msg == f"row 3: symbol: {WHEAT!r} is listed already"
        await admin.request("import_instruments", import_id="i4", rows=[row("B-1")], more=True)
        msg = await refused(admin.request("import_instruments", import_id="i4",
                                          rows=[row("B-2"), row("B-1")]), "DUPLICATE_INSTRUMENT")
        assert msg == "row 3: symbol: 'B-1' is also on row 1"  # across chunks
        listed = await admin.request("list_instruments")
        assert listed["total"] == 3  # the demo's, nothing else
        done = await admin.request("import_instruments", import_id="i3",
                                   rows=[row("C-1"), row("C-2")], total="2")
        assert done["imported"] == 2


async def test_imported_instruments_trade_and_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    async with open_venue(path) as venue:
        admin = await operator(venue)
        await admin.request("import_instruments", import_id="i", rows=[row("D-1"), row("D-2")])
        trader = await venue.client("AGRO-1")
        await trader.new_order("D-2", "BUY", "3", "100.25")
    venue = await start_venue(path, setup=False)
    try:
        seller = await venue.client("MILL-1")  # keys are ledger state: MILL-1's key still works
        assert (await seller.new_order("D-2", "SELL", "3", "100.00"))["ord_status"] == "FILLED"
        book = await seller.subscribe_book("D-1")
        await seller.wait_synced("D-1")
        assert book.bids() == [] and book.asks() == []
    finally:
        await stop_venue(venue)


async def test_bust_and_credit_limit_and_trade_views(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        admin = await operator(venue)
        buyer, seller = await venue.client("AGRO-1"), await venue.client("MILL-1")
        # 10 lots of 20 t at EUR 210.00 are EUR 42,000
        await admin.request("set_credit_limit", firm="AGROTRADE", credit_limit="42000.00")
        await buyer.new_order(WHEAT, "BUY", "10", "210.00")
        await refused(buyer.new_order(WHEAT, "BUY", "1", "210.00"), "CREDIT_LIMIT")
        await seller.new_order(WHEAT, "SELL", "4", "210.00")
        firm = await admin.request("show_firm", firm="AGROTRADE")
        assert (firm["credit_limit"], firm["net_bought"], firm["open_buy_notional"]) == (
            "42000.000000", "16800.000000", "25200.000000")
        trades = (await admin.request("list_trades", sym=WHEAT))["trades"]
        assert [(t["px"], t["qty"], t["buy_account"], t["busted"]) for t in trades] == [
            ("210.00", "4", "AGRO-1", False)]
        busted = await admin.request("bust_trade", trade_id=trades[0]["trade_id"],
                                     reason="wrong grade")
        assert busted["event"] == "TradeBusted" and busted["qty"] == "4"
        assert (await admin.request("list_trades", sym=WHEAT))["trades"][0]["busted"] is True
        await refused(admin.request("bust_trade", trade_id=trades[0]["trade_id"], reason="again"),
                      "TRADE_ALREADY_BUSTED")
        later = await admin.request("list_trades", since_us=trades[0]["ts_us"] + 1)
        assert later["trades"] == []
        await refused(admin.request("book", sym="NOPE"), "UNKNOWN_INSTRUMENT")


async def test_money_limits_are_decimal_strings_of_at_most_six_decimals(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        admin = await operator(venue)
        for bad in ("1.0000001", "1e6", "2,000,000", 2_000_000, "NaN", ""):
            await refused(admin.request("set_credit_limit", firm="AGROTRADE", credit_limit=bad),
                          "BAD_REQUEST")
            await refused(admin.request("set_account_limits", account="AGRO-1",
                                        max_order_notional=bad), "BAD_REQUEST")
        await admin.request("set_account_limits", account="AGRO-1", max_order_notional="0.000001")
        account = await admin.request("show_account", account="AGRO-1")
        assert account["max_order_notional"] == "0.000001"
        assert account["firm_credit_limit"] is None


async def test_stats_count_connections_and_sessions_per_firm(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        admin = await operator(venue)
        await venue.client("AGRO-1")
        await venue.client("AGRO-2")
        await venue.client("MILL-1")
        stats = await admin.request("stats")
        assert stats["connections"] == 4
        assert stats["sessions_by_firm"] == {"(operator)": 1, "AGROTRADE": 2, "DANUBE-MILLS": 1}
        assert stats["ledger_last_seq"] > 0 and stats["ledger_bytes"] > 0
        assert stats["instruments"] == 3 and stats["slow_consumer_disconnects"] == 0


async def test_a_new_trading_day_gives_the_credit_back_and_closes_busts(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        admin = await operator(venue)
        buyer, seller = await venue.client("AGRO-1"), await venue.client("MILL-1")
        await admin.request("set_credit_limit", firm="AGROTRADE", credit_limit="42000.00")
        await seller.new_order(WHEAT, "SELL", "10", "210.00")
        await buyer.new_order(WHEAT, "BUY", "10", "210.00")  # the whole limit, now bought
        await refused(buyer.new_order(WHEAT, "BUY", "1", "200.00"), "CREDIT_LIMIT")
        trade_id = (await admin.request("list_trades", sym=WHEAT))["trades"][0]["trade_id"]
        day = await admin.request("start_trading_day")
        assert day["event"] == "TradingDayStarted" and day["trades_closed"] == 1
        firm = await admin.request("show_firm", firm="AGROTRADE")
        assert firm["net_bought"] == "0.000000"
        await buyer.new_order(WHEAT, "BUY", "1", "200.00")
        await refused(admin.request("bust_trade", trade_id=trade_id, reason="late"),
                      "UNKNOWN_TRADE")

