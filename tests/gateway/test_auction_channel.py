"""The `auction` market-data channel and the phase in `bbo` and `ticker`, over real websockets on
127.0.0.1: a snapshot on subscribing, one message per change with its own per-instrument seq,
the same seq after a restart (from every entry, and from the gateway's snapshot)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from exchange.client import Client
from tests.gateway.conftest import (
    WHEAT,
    Venue,
    open_venue,
    start_venue,
    stop_venue,
    with_config,
)


async def push(client: Client, channel: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next push on `channel` (others are skipped: heartbeats, bbo, ...)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await client.pushes.get()
            if message.get("ch") == channel:
                return message


async def set_phase(venue: Venue, phase: str, symbol: str = WHEAT) -> dict[str, Any]:
    operator = await venue.client("operator")
    return await operator.request("set_phase", sym=symbol, phase=phase)


async def test_the_auction_channel_sends_a_snapshot_then_each_phase_change_in_seq(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        watcher = await venue.client()  # public: no logon
        assert await watcher.subscribe("auction", WHEAT) == {"ch": "auction", "sym": WHEAT,
                                                             "seq": 0}
        assert await push(watcher, "auction") == {
            "ch": "auction", "type": "snapshot", "sym": WHEAT, "seq": 0, "phase": "OPEN",
            "indicative": None, "call_end_us": None}
        await set_phase(venue, "halt")
        halted = await push(watcher, "auction")
        assert {k: halted[k] for k in ("type", "seq", "phase")} == {
            "type": "phase", "seq": 1, "phase": "HALTED"}
        await set_phase(venue, "close")
        closed = await push(watcher, "auction")
        assert (closed["seq"], closed["phase"]) == (2, "CLOSED")
        assert closed["ts_us"] >= halted["ts_us"] > 0


async def test_bbo_and_ticker_carry_the_phase(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        watcher = await venue.client()
        await watcher.subscribe("bbo", WHEAT)
        assert (await push(watcher, "bbo"))["phase"] == "OPEN"
        await set_phase(venue, "halt")
        bbo = await push(watcher, "bbo")
        assert (bbo["phase"], bbo["bid_px"], bbo["ask_px"]) == ("HALTED", None, None)
        assert (await watcher.request("ticker", sym=WHEAT))["phase"] == "HALTED"


async def test_a_restart_keeps_the_auction_seq_and_phase(tmp_path: Path) -> None:
    for config in (with_config(), with_config(snapshot_every=3)):
        path = tmp_path / f"l{config.snapshot_every}.db"
        venue = await start_venue(path, config)
        try:
            for phase in ("halt", "open", "halt"):
                await set_phase(venue, phase)
        finally:
            await stop_venue(venue)
        venue = await start_venue(path, config)
        try:
            inner = venue.server.venue
            assert inner is not None
            assert (inner.ledger.recovered.snapshot_seq > 0) == (config.snapshot_every == 3)
            watcher = await venue.client()
            await watcher.subscribe("auction", WHEAT)
            snapshot = await push(watcher, "auction")
            assert (snapshot["seq"], snapshot["phase"]) == (3, "HALTED"), config
            await set_phase(venue, "open")
            assert (await push(watcher, "auction"))["seq"] == 4
        finally:
            await stop_venue(venue)


async def test_a_bad_auction_subscription_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        watcher = await venue.client()
        for args, code, msg in (
            ({"ch": "auctions", "sym": WHEAT}, "BAD_REQUEST",
             "ch must be exec, book, trades, bbo or auction"),
            ({"ch": "auction", "sym": "NOPE"}, "UNKNOWN_INSTRUMENT", "no instrument 'NOPE'"),
            ({"ch": "auction", "sym": WHEAT, "depth": "5", "x": 1}, "UNKNOWN_FIELD",
             "unknown field args.'x'"),
        ):
            answer = await (await watcher.send_request("subscribe", args))
            assert answer["error"] == {"code": code, "msg": msg}, args
