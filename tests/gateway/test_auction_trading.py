"""Calls, uncrosses, volatility interruptions and stop orders as traders see them, over real
websockets on 127.0.0.1: the auction channel during a call, an uncross as trades and execution
reports (liquidity AUCTION), a volatility call ended by the gateway's clock, a stop order held
then triggered (FIX vocabulary: ord_type STOP, stop_px, exec_type TRIGGERED), and bad stop
orders refused with a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exchange.client import Client, ExchangeError
from exchange.engine import (
    CancelOrder,
    OrderAccepted,
    OrdType,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
    TradingState,
)
from exchange.engine.commands import SetTradingState
from exchange.gateway.answers import own
from tests.gateway.conftest import (
    WHEAT,
    Venue,
    next_report,
    open_venue,
    start_venue,
    stop_venue,
    with_config,
)
from tests.gateway.test_auction_channel import push, set_phase


async def reports(client: Client, count: int) -> list[dict[str, Any]]:
    return [await next_report(client) for _ in range(count)]


def picked(message: dict[str, Any], *keys: str) -> tuple:
    return tuple(message.get(key) for key in keys)


async def trader(venue: Venue, account: str) -> Client:
    client = await venue.client(account)
    await client.subscribe_exec()
    return client


async def test_a_call_shows_indicative_figures_and_its_uncross_is_trades_and_reports(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        watcher = await venue.client()
        await watcher.subscribe("auction", WHEAT)
        tape = await venue.client()  # its own connection: `push` skips other channels
        await tape.subscribe("trades", WHEAT)
        assert (await push(watcher, "auction"))["phase"] == "OPEN"
        await set_phase(venue, "pre-open")
        assert picked(await push(watcher, "auction"), "type", "seq", "phase") == (
            "phase", 1, "PRE_OPEN")
        empty = await push(watcher, "auction")  # the call starts: nothing would trade
        assert picked(empty, "type", "px", "qty", "imbalance_side", "imbalance_qty") == (
            "indicative", None, "0", None, "0")
        seller, buyer = await trader(venue, "MILL-1"), await trader(venue, "AGRO-1")
        await seller.new_order(WHEAT, "SELL", "5", "209.00")  # one side: still nothing
        accepted = await buyer.new_order(WHEAT, "BUY", "3", "210.00")
        assert accepted["ord_status"] == "NEW" and accepted["cum_qty"] == "0"  # no trade yet
        # 3 lots at either price; the surplus is on the sell side: the lower price
        assert picked(await push(watcher, "auction"), "type", "px", "qty", "imbalance_side",
                      "imbalance_qty", "phase") == (
            "indicative", "209.00", "3", "SELL", "2", "PRE_OPEN")
        snapshot = await (await venue.client()).subscribe("auction", WHEAT)
        assert snapshot["seq"] == 3
        await set_phase(venue, "open")
        assert picked(await push(watcher, "auction"), "type", "phase") == ("phase", "OPEN")
        uncross = await push(watcher, "auction")
        assert picked(uncross, "type", "call", "px", "qty", "imbalance_side", "imbalance_qty",
                      "seq") == ("uncross", "PRE_OPEN", "209.00", "3", "SELL", "2", 5)
        trades = (await push(tape, "trades"))["trades"]
        assert [picked(t, "px", "qty") for t in trades] == [("209.00", "3")]
        for client, side_report in ((buyer, 1), (seller, 1)):
            fills = [r for r in await reports(client, side_report + 1)
                     if r["exec_type"] == "TRADE"]
            assert [picked(r, "last_px", "last_qty", "liquidity") for r in fills] == [
                ("209.00", "3", "AUCTION")]


async def test_market_and_ioc_orders_are_refused_during_a_call(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await set_phase(venue, "pre-open")
        client = await venue.client("AGRO-1")
        with pytest.raises(ExchangeError) as caught:
            await client.new_order(WHEAT, "BUY", "1", "210.00", tif="IOC")
        assert caught.value.code == "NOT_IN_CALL"


async def test_a_volatility_interruption_starts_a_call_that_the_gateway_ends_on_time(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        operator = await venue.client("operator")
        answer = await operator.request("set_volatility_bands", sym=WHEAT, dynamic_ticks="4",
                                        static_ticks="none", call_ms="300")
        assert picked(answer, "dynamic_ticks", "static_ticks", "call_ms") == ("4", None, "300")
        watcher = await venue.client()
        await watcher.subscribe("auction", WHEAT)
        await push(watcher, "auction")
        seller, buyer = await trader(venue, "MILL-1"), await trader(venue, "AGRO-1")
        await seller.new_order(WHEAT, "SELL", "1", "210.00")
        await buyer.new_order(WHEAT, "BUY", "1", "210.00")  # the last price: 210.00
        await seller.new_order(WHEAT, "SELL", "2", "212.00")  # 8 ticks away
        await buyer.new_order(WHEAT, "BUY", "2", "212.00")
        interruption = await push(watcher, "auction")
        assert picked(interruption, "type", "px", "low", "high") == (
            "interruption", "212.00", "209.00", "211.00")
        assert picked(await push(watcher, "auction"), "type", "phase") == (
            "phase", "VOLATILITY_AUCTION")
        assert (await push(watcher, "auction"))["type"] == "indicative"
        # nobody sends anything: the venue's clock ends the call (about 300 ms later)
        ended = [await push(watcher, "auction") for _ in range(2)]
        assert [picked(m, "type", "phase") for m in ended] == [
            ("phase", "OPEN"), ("uncross", "OPEN")]
        assert ended[0]["ts_us"] >= interruption["call_end_us"]
        assert picked(ended[1], "px", "qty") == ("212.00", "2")


async def test_a_stop_order_is_held_then_triggered_by_a_trade(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        stopper = await trader(venue, "AGRO-1")
        held = await stopper.request("new_order", cl_ord_id="stop-1", sym=WHEAT, side="BUY",
                                     qty="2", ord_type="STOP", stop_px="211.00")
        assert picked(held, "ord_type", "stop_px", "px", "ord_status", "leaves_qty") == (
            "STOP", "211.00", None, "NEW", "2")
        book = await (await venue.client()).subscribe("book", WHEAT)
        assert book["seq"] == 0  # held off the book: invisible
        maker, taker = await trader(venue, "MILL-1"), await trader(venue, "STEEL-1")
        await maker.new_order(WHEAT, "SELL", "5", "211.00")
        await taker.new_order(WHEAT, "BUY", "1", "211.00")  # trades at 211.00: the trigger
        new, triggered, became, filled = await reports(stopper, 4)
        assert picked(new, "exec_type", "ord_type", "stop_px") == ("NEW", "STOP", "211.00")
        assert picked(triggered, "exec_type", "ord_status", "trigger_px", "leaves_qty") == (
            "TRIGGERED", "TRIGGERED", "211.00", "0")
        assert picked(became, "exec_type", "ord_type", "cl_ord_id", "order_id") == (
            "NEW", "MARKET", "stop-1", triggered["triggered_order_id"])
        assert picked(filled, "exec_type", "ord_status", "last_px", "last_qty") == (
            "TRADE", "FILLED", "211.00", "2")
        status = await stopper.order_status(cl_ord_id="stop-1")
        assert picked(status, "order_id", "ord_status") == (became["order_id"], "FILLED")
        limit = await stopper.request("new_order", cl_ord_id="stop-2", sym=WHEAT, side="SELL",
                                      qty="1", ord_type="STOP_LIMIT", stop_px="205.00",
                                      px="204.50", tif="DAY")
        assert picked(limit, "ord_type", "stop_px", "px", "tif") == (
            "STOP_LIMIT", "205.00", "204.50", "DAY")
        canceled = await stopper.cancel_order(orig_cl_ord_id="stop-2")
        assert canceled["ord_status"] == "CANCELED"


async def refused(client: Client, **args: Any) -> tuple[str, str]:
    answer = await (await client.send_request("new_order", args))
    assert not answer["ok"], args
    return answer["error"]["code"], answer["error"]["msg"]


async def test_bad_stop_orders_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        client = await venue.client("AGRO-1")
        base = {"cl_ord_id": "s", "sym": WHEAT, "side": "BUY", "qty": "1"}
        for args, code, msg in (
            ({"ord_type": "STOP"}, "INVALID_PRICE", "stop_px is required"),
            ({"ord_type": "STOP", "stop_px": "211.00", "px": "212.00"}, "BAD_REQUEST",
             ("a STOP order takes no px (it becomes a market order when triggered); "
              "STOP_LIMIT takes one")),
            ({"ord_type": "STOP_LIMIT", "stop_px": "211.00"}, "INVALID_PRICE", "px is required"),
            ({"ord_type": "LIMIT", "px": "210.00", "stop_px": "211.00"}, "BAD_REQUEST",
             "stop_px is for ord_type STOP or STOP_LIMIT"),
            ({"ord_type": "STOP", "stop_px": "211.00", "post_only": True}, "BAD_REQUEST",
             "a STOP order takes no post_only"),
            ({"ord_type": "STOP", "stop_px": "211.005"}, "INVALID_PRICE_INCREMENT", "*"),
            ({"ord_type": "STOP", "stop_px": 211}, "INVALID_PRICE", "*"),
            ({"ord_type": "STOP", "stop_px": "211.10"}, "INVALID_STOP_PRICE", "*"),
            ({"ord_type": "STOP", "stop_px": "211.00", "tif": "IOC"}, "*", "*"),
            ({"ord_type": "STOP", "stop_px": "211.00", "trigger": "last"}, "UNKNOWN_FIELD",
             "unknown field args.'trigger'"),
        ):
            got_code, got_msg = await refused(client, **base, **args)
            assert code in ("*", got_code) and msg in ("*", got_msg), (args, got_code, got_msg)
        stopper = await trader(venue, "MILL-1")
        amend = await (await stopper.send_request("new_order", {
            **base, "cl_ord_id": "s2", "ord_type": "STOP", "stop_px": "215.00"}))
        with pytest.raises(ExchangeError) as caught:
            await stopper.replace_order("2", "215.00", order_id=amend["result"]["order_id"])
        assert caught.value.code == "STOP_NOT_AMENDABLE"


async def test_a_held_stop_keeps_its_terms_across_a_restart_from_a_snapshot(
        tmp_path: Path) -> None:
    config = with_config(snapshot_every=3)
    venue = await start_venue(tmp_path / "l.db", config)
    try:
        client = await venue.client("AGRO-1")
        for n in range(3):
            await client.request("new_order", cl_ord_id=f"stop-{n}", sym=WHEAT, side="BUY",
                                 qty="1", ord_type="STOP_LIMIT", stop_px="211.00", px="211.50")
    finally:
        await stop_venue(venue)
    venue = await start_venue(tmp_path / "l.db", config)
    try:
        assert venue.server.venue.ledger.recovered.snapshot_seq > 0  # type: ignore[union-attr]
        client = await venue.client("AGRO-1")
        status = await client.order_status(cl_ord_id="stop-1", account="AGRO-1")
        assert picked(status, "ord_type", "stop_px", "px", "ord_status") == (
            "STOP_LIMIT", "211.00", "211.50", "NEW")
    finally:
        await stop_venue(venue)


def test_an_answer_comes_from_the_commands_own_events_not_from_what_its_time_caused() -> None:
    """A volatility call that ends as an order arrives trades and triggers stops before the
    order's own outcome: the answer is the order's, never another account's."""
    mine = SubmitOrder(5, "AGRO-1", "b1", WHEAT, Side.BUY, 1, 21_000)
    other = OrderAccepted(3, 5, 77, "MILL-1", "s9", WHEAT, Side.SELL, OrdType.MARKET, 2, None,
                          TimeInForce.IOC, None, False, None, StpMode.CANCEL_INCOMING)
    accepted = other._replace(seq=4, order_id=78, account="AGRO-1", cl_ord_id="b1")
    assert not own(mine, other) and own(mine, accepted)
    cancel = CancelOrder(5, "AGRO-1", 78)
    assert own(cancel, accepted) and not own(cancel, other)
    assert not own(SetTradingState(5, WHEAT, TradingState.OPEN), other)
