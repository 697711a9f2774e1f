"""`exchange serve --no-public-market-data` (GatewayConfig.public_market_data = False): before
logon a connection may only `logon` and `ping`; a subscribe, the history and the instrument
list say clearly that this venue's market data needs a logon. Over real websockets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from exchange.client import ExchangeError
from exchange.gateway.protocol import JSON_SUBPROTOCOL
from tests.gateway.conftest import WHEAT, open_venue, spawn_serve, with_config

PUBLIC_OPS = (("subscribe", {"ch": "book", "sym": WHEAT}), ("subscribe", {"ch": "trades", "sym": WHEAT}),
              ("subscribe", {"ch": "bbo", "sym": WHEAT}), ("instruments", {}),
              ("trades_history", {"sym": WHEAT}), ("candles", {"sym": WHEAT, "interval": "1m"}),
              ("ticker", {"sym": WHEAT}))


async def test_with_public_market_data_off_only_a_logon_opens_the_market(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db", with_config(public_market_data=False)) as venue:
        anonymous = await venue.client()
        assert "ts_us" in await anonymous.request("ping")
        for op, args in PUBLIC_OPS:
            with pytest.raises(ExchangeError) as refused:
                await anonymous.request(op, **args)
            assert refused.value.code == "UNAUTHENTICATED", op
            assert "public market data is off" in refused.value.msg
        await anonymous.logon(venue.keys["AGRO-1"])
        for op, args in PUBLIC_OPS:
            await anonymous.request(op, **args)  # the same requests, after logon: answered


async def test_public_market_data_is_on_by_default(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        anonymous = await venue.client()
        for op, args in PUBLIC_OPS:
            await anonymous.request(op, **args)


def test_serve_flag_turns_public_market_data_off(tmp_path: Path) -> None:
    """The real `exchange serve --no-public-market-data`, a plain websockets client."""
    import asyncio

    process, url = spawn_serve(tmp_path / "v.db", "--demo", "--no-public-market-data")
    try:
        async def anonymous_subscribe() -> dict:
            async with connect(url, subprotocols=[JSON_SUBPROTOCOL]) as ws:  # type: ignore[list-item]
                await ws.send(json.dumps({"op": "subscribe", "id": "1",
                                          "args": {"ch": "book", "sym": WHEAT}}))
                return json.loads(await asyncio.wait_for(ws.recv(), 10))
        answer = asyncio.run(anonymous_subscribe())
        assert answer["ok"] is False and answer["error"]["code"] == "UNAUTHENTICATED"
        assert answer["error"]["msg"] == ("public market data is off on this venue: "
                                          "log on first")
    finally:
        process.terminate()
        process.wait(10)


async def test_market_data_subscribes_have_their_own_per_connection_limit(
        tmp_path: Path) -> None:
    config = with_config(md_subscribe_rate=0.5, md_subscribe_burst=3)
    async with open_venue(tmp_path / "l.db", config) as venue:
        anonymous = await venue.client()
        for channel in ("book", "trades", "bbo"):
            await anonymous.request("subscribe", ch=channel, sym=WHEAT)
        with pytest.raises(ExchangeError) as limited:
            await anonymous.request("subscribe", ch="book", sym=WHEAT, depth=10)
        assert limited.value.code == "RATE_LIMITED"
        assert limited.value.msg == ("market-data subscribes: at most 0.5/s per connection "
                                     "(burst 3)")
        await anonymous.request("ticker", sym=WHEAT)  # other requests go on
        other = await venue.client()  # and each connection has its own
        await other.request("subscribe", ch="book", sym=WHEAT, depth=10)
        await anonymous.logon(venue.keys["AGRO-1"])
        await anonymous.request("subscribe", ch="exec")  # execution reports are not market data
