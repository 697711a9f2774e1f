"""A connection's market-data streams are capped (GatewayConfig.md_streams_max, docs/protocol.md
"Market data"): one subscribe past the cap is refused with TOO_MANY_STREAMS and changes nothing,
subscribes still in flight count, a stream held already is free to subscribe again, an
unsubscribe makes room, and each connection has its own cap. Over real websockets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from exchange.client import ExchangeError
from exchange.gateway.streams import MARKET_CHANNELS
from tests.gateway.conftest import WHEAT, open_venue, with_config

CAP = 3
MESSAGE = ("at most 3 market-data streams per connection (a channel of one instrument each, a "
           "book depth apart): unsubscribe one first, or open another connection")


async def test_a_subscribe_past_the_cap_is_refused_and_an_unsubscribe_makes_room(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db", with_config(md_streams_max=CAP)) as venue:
        client = await venue.client()
        for channel in ("book", "trades", "bbo"):
            await client.request("subscribe", ch=channel, sym=WHEAT)
        for past in ({"ch": "auction"}, {"ch": "book", "depth": 10}):
            with pytest.raises(ExchangeError) as refused:
                await client.request("subscribe", sym=WHEAT, **past)
            assert (refused.value.code, refused.value.msg) == ("TOO_MANY_STREAMS", MESSAGE)
        server_venue = venue.server.venue
        assert server_venue is not None
        [session] = server_venue.sessions
        assert session.md_channels == {("book", WHEAT), ("trades", WHEAT), ("bbo", WHEAT)}
        assert (await client.request("subscribe", ch="trades", sym=WHEAT))["ch"] == "trades"
        await client.request("ticker", sym=WHEAT)  # the connection goes on
        other = await venue.client()  # with a cap of its own
        await other.request("subscribe", ch="auction", sym=WHEAT)
        await client.request("unsubscribe", ch="trades", sym=WHEAT)
        await client.request("subscribe", ch="auction", sym=WHEAT)
        assert len(session.md_channels) == CAP and session.md_joining == 0


async def test_pipelined_subscribes_cannot_pass_the_cap(tmp_path: Path) -> None:
    config = with_config(md_streams_max=CAP)
    async with open_venue(tmp_path / "l.db", config) as venue, connect(
            venue.url, compression=None) as ws:
        for n, channel in enumerate((*MARKET_CHANNELS, "book", "trades")):
            depth = {"depth": 5} if n >= len(MARKET_CHANNELS) else {}
            await ws.send(json.dumps({"op": "subscribe", "id": str(n),
                                      "args": {"ch": channel, "sym": WHEAT, **depth}}))
        answers = {}
        while len(answers) < len(MARKET_CHANNELS) + 2:
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if "id" in message:
                answers[message["id"]] = message
        ok = sorted(key for key, answer in answers.items() if answer["ok"])
        refused = {answer["error"]["code"] for answer in answers.values() if not answer["ok"]}
        assert ok == ["0", "1", "2"] and refused == {"TOO_MANY_STREAMS"}
