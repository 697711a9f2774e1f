"""Public market history and the trader's own account (docs/protocol.md, "Market history",
"Your account"): the documented sessions run as written (the history before logon); trades_history pages with its cursor; busts show in the history and stay
out of candles and the ticker; its own rate limit; and the pure OHLCV arithmetic."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from exchange.client import ExchangeError
from exchange.gateway import history
from exchange.gateway.candles import Candle, candles, exact_ratio, stats
from tests.gateway.conftest import WHEAT, Venue, open_venue
from tests.gateway.test_docs import DOC, matches


async def _two_trades(venue) -> None:  # type: ignore[no-untyped-def]
    buyer, seller = await venue.client("AGRO-1"), await venue.client("MILL-1")
    await buyer.new_order(WHEAT, "BUY", "5", "210.00")
    await seller.new_order(WHEAT, "SELL", "2", "210.00")
    await seller.new_order(WHEAT, "SELL", "1", "209.75")


async def run_session(venue: Venue, name: str) -> None:
    """The docs' ```<name> block, sent and checked line by line on a fresh connection."""
    block = re.search(rf"```{name}\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert block is not None, name
    client = await venue.client()
    for line in block.group(1).splitlines():
        direction, text = line[:2], line[3:]
        if direction == ">>":
            for key_name, key in venue.keys.items():
                text = text.replace(f"<{key_name}>", key)
            await client.ws.send(text)
        else:
            got = json.loads(await client.ws.recv())
            assert matches(json.loads(text), got), f"expected {text}\n     got {got}"


async def test_the_history_session_in_the_docs_runs_as_written_before_logon(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await _two_trades(venue)
        await run_session(venue, "history-session")


async def test_the_account_session_in_the_docs_runs_as_written(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        seller = await venue.client("MILL-1")
        await seller.new_order(WHEAT, "SELL", "2", "210.00")
        await run_session(venue, "account-session")


async def test_account_status_shows_credit_and_kill_switches_and_lists_page(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        operator = await venue.client("operator")
        await operator.request("set_credit_limit", firm="AGROTRADE", credit_limit="100000.00")
        buyer, seller = await venue.client("AGRO-1"), await venue.client("MILL-1")
        await buyer.new_order(WHEAT, "BUY", "10", "200.00")  # open: 10 x 20 t x 200 = 40,000
        for n in range(5):
            await seller.new_order(WHEAT, "SELL", "1", "200.00")  # 5 fills of 4,000
        status = await buyer.request("account_status")
        assert status["firm_credit_limit"] == "100000.000000"
        assert status["firm_open_buy_notional"] == "20000.000000"
        assert status["firm_net_bought"] == "20000.000000"
        assert status["firm_credit_remaining"] == "60000.000000" and status["can_trade"]
        await operator.request("set_kill_switch", scope="firm", name="AGROTRADE")
        status = await buyer.request("account_status", account="AGRO-2")  # same firm
        assert status["firm_blocked"] and not status["can_trade"]
        pages, cursor = [], None
        while True:
            page = await buyer.request("my_trades", since_us=0, limit=2, cursor=cursor)
            pages.append([t["trade_id"] for t in page["trades"]])
            if (cursor := page["next_cursor"]) is None:
                break
        assert pages == [["1", "2"], ["3", "4"], ["5"]]
        sold = await seller.request("my_trades", limit=1)
        assert [(t["side"], t["liquidity"]) for t in sold["trades"]] == [("SELL", "TAKER")]
        history_page = await buyer.request("order_history")
        assert [o["ord_status"] for o in history_page["orders"]] == ["CANCELED"]  # killed
        auditor = await venue.client("auditor")
        assert (await auditor.request("account_status", account="MILL-1"))["open_orders"] == 0


async def test_market_data_is_public_and_order_entry_is_not(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        anonymous = await venue.client()
        assert WHEAT in await anonymous.instruments()
        book = await anonymous.subscribe_book(WHEAT)
        await anonymous.wait_synced(WHEAT)
        before = book.seq
        buyer = await venue.client("AGRO-1")
        await buyer.new_order(WHEAT, "BUY", "5", "209.50")
        await anonymous.wait_synced(WHEAT, seq=before + 1)  # type: ignore[operator]
        assert book.bids() == [("209.50", "5")]
        for call in (anonymous.new_order(WHEAT, "BUY", "1", "209.50"), anonymous.open_orders()):
            try:
                await call
            except ExchangeError as exc:
                assert exc.code == "UNAUTHENTICATED"
            else:
                raise AssertionError("an anonymous connection traded or read orders")


async def test_trades_history_pages_with_its_cursor_and_shows_busts(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        buyer, seller = await venue.client("AGRO-1"), await venue.client("MILL-1")
        await buyer.new_order(WHEAT, "BUY", "50", "210.00")
        for _ in range(7):
            await seller.new_order(WHEAT, "SELL", "1", "210.00")
        operator = await venue.client("operator")
        await operator.request("bust_trade", trade_id="3", reason="fat finger")
        anonymous = await venue.client()
        seen, cursor = [], None
        while True:
            page = await anonymous.request("trades_history", sym=WHEAT, since_us=0, limit=3,
                                           cursor=cursor)
            seen += page["trades"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [t["trade_id"] for t in seen] == [str(n) for n in range(1, 8)]
        assert [t["trade_id"] for t in seen if t["busted"]] == ["3"]
        latest = await anonymous.request("trades_history", sym=WHEAT, limit=2)
        assert [t["trade_id"] for t in latest["trades"]] == ["6", "7"]
        ticker = await anonymous.request("ticker", sym=WHEAT)
        assert (ticker["volume"], ticker["trades"]) == ("6", 6)  # the bust left out
        day = await anonymous.request("candles", sym=WHEAT, interval="1d")
        assert [(c["volume"], c["trades"]) for c in day["candles"]] == [("6", 6)]
        for bad in ({"cursor": "x"}, {"limit": 501}, {"sym": "NOPE"}):
            try:
                await anonymous.request("trades_history", **{"sym": WHEAT, **bad})
            except ExchangeError as exc:
                assert exc.code in ("BAD_REQUEST", "UNKNOWN_INSTRUMENT"), bad
            else:
                raise AssertionError(bad)


async def test_history_requests_have_their_own_rate_limit(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        anonymous = await venue.client()
        futures = [await anonymous.send_request("ticker", {"sym": WHEAT})
                   for _ in range(int(history.HISTORY_BURST) + 5)]
        answers = [await future for future in futures]
        limited = [a for a in answers if not a["ok"]]
        assert limited and all(a["error"]["code"] == "RATE_LIMITED" for a in limited)
        assert "per connection" in limited[0]["error"]["msg"]
        assert sum(a["ok"] for a in answers) >= history.HISTORY_BURST


def test_candles_bucket_by_interval_from_the_epoch() -> None:
    minute = 60_000_000
    trades = [(minute * 10 + 5, 100, 2), (minute * 10 + 9, 103, 1), (minute * 11, 99, 4),
              (minute * 13 + 1, 101, 1)]
    assert candles(trades, minute) == [Candle(minute * 10, 100, 103, 100, 103, 3, 2),
                                       Candle(minute * 11, 99, 99, 99, 99, 4, 1),
                                       Candle(minute * 13, 101, 101, 101, 101, 1, 1)]
    window = stats(trades)
    assert (window.first, window.last, window.high, window.low) == (100, 101, 103, 99)
    assert exact_ratio(window.notional, window.volume) == 1_000_000  # 800 / 8 = 100.0000
    assert exact_ratio(1001, 8) == 1_251_250  # 125.125 at 4 extra places
    assert exact_ratio(-5, 3) == -16667 and stats([]).last is None


@given(st.lists(st.tuples(st.integers(0, 10**12), st.integers(-10**6, 10**6),
                          st.integers(1, 1000)), max_size=60),
       st.sampled_from([60_000_000, 3_600_000_000]))
def test_candles_hold_every_trade_once(trades: list[tuple[int, int, int]], interval: int) -> None:
    trades.sort(key=lambda trade: trade[0])
    found = candles(trades, interval)
    assert sum(c.volume for c in found) == sum(q for _, _, q in trades)
    assert sum(c.trades for c in found) == len(trades)
    for candle in found:
        assert candle.low <= min(candle.open, candle.close) <= max(candle.open,
                                                                   candle.close) <= candle.high
        assert candle.start_us % interval == 0
