"""How messages reach the engine task and how batches form: messages are handled as they are
parsed (fragmented ones too), in order even when one of them has to wait, and an order that
arrives while an append is in flight goes into the very next append."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.frames import Frame, Opcode

from exchange.gateway.server import STALLED_MESSAGES_MAX
from exchange.gateway.session import frame
from exchange.ledger import queries as ledger_queries
from tests.gateway.conftest import WHEAT, open_venue, with_config


def order(cl_ord_id: str, side: str = "BUY", px: str = "200.00") -> dict[str, Any]:
    return {"sym": WHEAT, "side": side, "qty": "1", "px": px, "cl_ord_id": cl_ord_id}


async def test_a_fragmented_message_is_reassembled_and_answered(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "ledger.db") as venue:
        client = await venue.client("AGRO-1")
        future = asyncio.get_running_loop().create_future()
        client._waiting["frag"] = future
        text = json.dumps({"op": "new_order", "id": "frag", "args": order("f-1")})
        await client.ws.send([text[:10], text[10:40], text[40:]])
        response = await asyncio.wait_for(future, 5)
        assert response["ok"] and response["result"]["cl_ord_id"] == "f-1"


async def test_invalid_utf8_in_a_text_frame_closes_the_connection_with_1007(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "ledger.db") as venue:
        client = await venue.client("AGRO-1")
        await client.ws.send(b'{"op":"ping","id":"\xff"}', text=True)
        await asyncio.wait_for(client.ws.wait_closed(), 5)
        assert client.ws.close_code == 1007
        other = await venue.client("AGRO-1")  # the venue lives on
        assert "ts_us" in await other.ping()


async def test_messages_behind_one_that_waits_are_answered_after_it_in_order(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "ledger.db") as venue:
        operator = await venue.client("operator")
        answered: list[str] = []
        futures = [await operator.send_request("list_trades", {})]  # reads the ledger in a thread
        futures += [await operator.send_request("ping", {})
                     for _ in range(STALLED_MESSAGES_MAX + 10)]  # enough to pause reading
        for future in futures:
            future.add_done_callback(lambda f: answered.append(f.result()["id"]))
        await asyncio.wait_for(asyncio.gather(*futures), 10)
        assert answered == [f"r{n}" for n in range(2, 2 + len(futures))]  # r1 was the logon


async def test_a_full_engine_queue_makes_senders_wait_and_loses_nothing(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "ledger.db", with_config(queue_limit=2)) as venue:
        clients = [await venue.client(name) for name in ("AGRO-1", "MILL-1")]
        futures = [await client.send_request("new_order", order(f"q-{n}", px=f"{200 + n // 4}.{n % 4 * 25:02d}"))
                   for n in range(40) for client in clients]
        responses = await asyncio.wait_for(asyncio.gather(*futures), 10)
        assert all(response["ok"] for response in responses)
        open_orders = await clients[0].open_orders()
        assert len(open_orders) == 40


async def test_orders_arriving_during_an_append_go_into_the_next_append(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "ledger.db") as venue:
        server_venue = venue.server.venue
        assert server_venue is not None
        ledger = server_venue.ledger
        append = ledger.append
        sizes: list[int] = []
        release = asyncio.Event()

        async def held_append(batch: Any) -> None:
            sizes.append(len(batch.entries))
            if len(sizes) == 1:
                await release.wait()  # the first append stays in flight until all four are in
            await append(batch)

        ledger.append = held_append
        client = await venue.client("AGRO-1")
        first = await client.send_request("new_order", order("a-1"))
        while not sizes:
            await asyncio.sleep(0.01)  # the first append is in flight now
        later = [await client.send_request("new_order", order(f"a-{n}")) for n in (2, 3)]
        await asyncio.sleep(0.05)
        last = await client.send_request("new_order", order("a-4"))
        await asyncio.sleep(0.5)  # the venue reads the three frames while the append is held
        release.set()
        responses = await asyncio.wait_for(asyncio.gather(first, *later, last), 10)
        assert all(response["ok"] for response in responses)
        assert sizes == [1, 3]  # not [1, 2, 1]: the open batch took a-4 as well


def test_frames_are_the_bytes_websockets_would_write() -> None:
    for size in (0, 5, 125, 126, 1000, 65535, 65536, 70000):
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        for opcode, text in ((Opcode.TEXT, True), (Opcode.BINARY, False)):
            expected = Frame(opcode, payload).serialize(mask=False, extensions=[])
            assert frame(payload, text) == expected, (size, text)


async def test_a_connection_that_closes_while_a_message_waits_leaves_no_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read_trades = ledger_queries.trades

    def slow_read_trades(*args: Any) -> Any:
        time.sleep(0.3)
        return read_trades(*args)

    monkeypatch.setattr(ledger_queries, "trades", slow_read_trades)
    async with open_venue(tmp_path / "ledger.db") as venue:
        server_venue = venue.server.venue
        assert server_venue is not None
        operator = await venue.client("operator")
        futures = [await operator.send_request("list_trades", {})]
        futures += [await operator.send_request("ping", {}) for _ in range(5)]  # held behind it
        await operator.close()
        await asyncio.sleep(0.5)  # list_trades has finished; the pings are dropped
        assert not server_venue.sessions
        for future in futures:  # unanswered: the client failed them when it closed
            assert not future.done() or future.exception() is not None
