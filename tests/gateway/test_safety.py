"""Session safety: cancel-on-disconnect, the dead-man's switch, rate limits, frame size, and slow
consumers that never slow anyone else."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from exchange.client import Client, ExchangeError
from exchange.gateway.protocol import encode_json
from tests.gateway.conftest import WHEAT, eventually, next_report, open_venue, with_config


async def test_cancel_on_disconnect_cancels_and_says_why(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        careful = await venue.client("AGRO-1", cancel_on_disconnect=True)
        relaxed = await venue.client("MILL-1")
        await careful.new_order(WHEAT, "BUY", "5", "209.00", cl_ord_id="c1")
        await relaxed.new_order(WHEAT, "SELL", "5", "212.00", cl_ord_id="r1")
        await careful.close()
        await relaxed.close()
        again = await venue.client("AGRO-1")
        await eventually(lambda: _status(again, "AGRO-1", "c1", "CANCELED"))
        await again.subscribe_exec(resume_from_exec_seq=1)
        report = await next_report(again)
        assert report["cancel_reason"] == "CANCEL_ON_DISCONNECT"
        other = await venue.client("MILL-1")
        assert (await other.order_status(cl_ord_id="r1", account="MILL-1"))["ord_status"] == "NEW"


async def _status(client: Client, account: str, cl_ord_id: str, status: str) -> bool:
    found = await client.order_status(cl_ord_id=cl_ord_id, account=account)
    return found["ord_status"] == status  # type: ignore[no-any-return]


async def test_the_dead_mans_switch_cancels_unless_rearmed(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        trader = await venue.client("AGRO-1")
        await trader.new_order(WHEAT, "BUY", "5", "209.00", cl_ord_id="d1")
        await trader.cancel_all_after(300)
        await trader.cancel_all_after(0)  # disarmed: nothing happens
        await asyncio.sleep(0.5)
        assert await _status(trader, "AGRO-1", "d1", "NEW")
        armed = await trader.cancel_all_after(200)
        assert armed["trigger_at_us"] > 0
        await trader.close()  # the switch fires even though the client is gone
        watcher = await venue.client("AGRO-1")
        await eventually(lambda: _status(watcher, "AGRO-1", "d1", "CANCELED"))


async def test_an_account_over_its_order_rate_is_told_and_keeps_its_connection(
        tmp_path: Path) -> None:
    config = with_config(order_rate=5, order_burst=5)
    async with open_venue(tmp_path / "l.db", config) as venue:
        trader = await venue.client("AGRO-1")
        args = {"sym": WHEAT, "side": "BUY", "qty": "1", "px": "209.00"}
        futures = [await trader.send_request("new_order", {**args, "cl_ord_id": f"r{n}"})
                   for n in range(12)]
        answers = await asyncio.gather(*futures)
        codes = [a["ok"] or a["error"]["code"] for a in answers]
        assert codes.count(True) in (5, 6) and codes.count("RATE_LIMITED") >= 6
        assert "ts_us" in await trader.ping()


async def test_repeated_abuse_closes_the_connection_with_a_reason(tmp_path: Path) -> None:
    config = with_config(conn_rate=1, conn_burst=2, abuse_limit=20)
    async with open_venue(tmp_path / "l.db", config) as venue:
        client = await venue.client()
        for n in range(40):
            await client.ws.send(encode_json({"op": "ping", "id": f"p{n}"}).decode())
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.close_reason == "1008 rate limit abuse"


async def test_an_oversized_frame_closes_with_1009_and_bad_frames_do_not(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db", with_config(max_frame_bytes=4096)) as venue:
        client = await venue.client("AGRO-1")
        with pytest.raises(ExchangeError) as raised:
            await client.request("new_order", sym=WHEAT, side="BUY", qty="1", px="NaN",
                                 cl_ord_id="n")
        assert raised.value.code == "INVALID_PRICE"
        await client.ws.send("x" * 5000)
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.close_reason.startswith("1009")


async def test_a_slow_consumer_gets_resync_required_and_others_get_every_delta(
        tmp_path: Path) -> None:
    config = with_config(md_buffer_bytes=2_000, buffer_bytes=10_000_000, order_rate=10_000,
                         order_burst=10_000)
    async with open_venue(tmp_path / "l.db", config) as venue:
        healthy = await venue.client("auditor")
        book = await healthy.subscribe_book(WHEAT)
        sock = socket.create_connection(("127.0.0.1", venue.server.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow = await connect(venue.url, sock=sock, max_queue=1, compression=None)
        await slow.send(encode_json({"op": "logon", "id": "1",
                                     "args": {"api_key": venue.keys["MILL-1"]}}).decode())
        await slow.send(encode_json({"op": "subscribe", "id": "2",
                                     "args": {"ch": "book", "sym": WHEAT}}).decode())
        await eventually(lambda: len(venue.server.venue.md_subs[("book", WHEAT)]) == 2)
        for session in venue.server.venue.sessions:
            if session.account == "MILL-1":
                session.ws.transport.get_extra_info("socket").setsockopt(
                    socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        trader = await venue.client("AGRO-1")
        pending = []
        for n in range(1, 800):
            side, price = ("BUY", 21_000 - 25 * n) if n < 400 else ("SELL", 21_000 + 25 * (n - 399))
            pending.append(await trader.send_request("new_order", {
                "sym": WHEAT, "side": side, "qty": "1", "cl_ord_id": f"o{n}",
                "px": f"{price // 100}.{price % 100:02d}"}))
            if n % 10 == 0:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        await eventually(lambda: len(venue.server.venue.md_subs[("book", WHEAT)]) == 1)
        feed = venue.server.venue.market.feeds[WHEAT]
        await healthy.wait_synced(WHEAT, feed.seq)
        assert book.resyncs == 0
        resync = None
        async with asyncio.timeout(10):
            while resync is None:
                message = await slow.recv()
                if '"resync_required"' in message:
                    resync = message
        assert '"slow consumer"' in resync
        await slow.close()
