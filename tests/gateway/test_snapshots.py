"""Snapshots under the pipelined group commit: the engine runs a batch ahead of the ledger, so
the venue drains the pipeline when a snapshot is due and takes it at the last durable batch,
with the gateway's own state; a restart then starts from it (engine and gateway) and ends in
the same state as a replay of every entry."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from exchange.client import ExchangeError
from exchange.gateway import snapshot as gateway_snapshot
from exchange.gateway.marketdata import MarketData
from exchange.gateway.orders import OrderTracker
from exchange.ledger import reader
from tests.gateway.conftest import WHEAT, open_venue, with_config


def entries(path: Path) -> list:
    conn = reader.connect(path)
    try:
        return [reader.entry_of(row) for row in reader.rows(conn)]
    finally:
        conn.close()


async def test_snapshots_are_taken_under_sustained_load_and_a_restart_uses_them(
        tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    config = with_config(snapshot_every=60, order_rate=100_000.0, order_burst=100_000.0)
    async with open_venue(path, config) as venue:
        traders = [await venue.client(name) for name in ("AGRO-1", "MILL-1", "STEEL-1")]
        for wave in range(6):  # each wave's batches overlap their commits; >60 rows a wave
            await asyncio.gather(*(
                trader.new_order(WHEAT, "BUY" if n % 2 else "SELL", "1",
                                 "209.00" if n % 2 else "211.00", cl_ord_id=f"o{wave}-{n}-{i}")
                for i in range(20 // len(traders) + 1)
                for n, trader in enumerate(traders)
            ))
        digest = venue.server.venue.engine.digest()  # type: ignore[union-attr]
        resting = len(venue.server.venue.engine.orders)  # type: ignore[union-attr]
    with sqlite3.connect(path) as db:
        snapshots = db.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    assert snapshots >= 3
    async with open_venue(path, config) as again:
        engine = again.server.venue.engine  # type: ignore[union-attr]
        assert engine.digest() == digest and len(engine.orders) == resting == 6 * 21


async def test_a_restart_rebuilds_the_gateway_from_its_snapshot_as_from_every_entry(
        tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    config = with_config(snapshot_every=50, order_rate=100_000.0, order_burst=100_000.0)
    async with open_venue(path, config) as venue:
        agro, mill = await venue.client("AGRO-1"), await venue.client("MILL-1")
        for n in range(40):  # trades, partial fills, rejects, replaces, cancels
            await agro.new_order(WHEAT, "BUY", "3", f"{209 + n % 3}.00", cl_ord_id=f"b{n}")
            await mill.new_order(WHEAT, "SELL", "2", "209.00", cl_ord_id=f"s{n}")
            with contextlib.suppress(ExchangeError):
                await agro.new_order(WHEAT, "BUY", "0", "209.00", cl_ord_id=f"bad{n}")
            if n % 5 == 0:
                with contextlib.suppress(ExchangeError):
                    await agro.replace_order("5", "208.00", orig_cl_ord_id=f"b{n}",
                                             cl_ord_id=f"r{n}")
        await agro.new_order(WHEAT, "BUY", "1", "150.00", cl_ord_id="last")  # after the last
    async with open_venue(path, config) as again:
        gateway = again.server.venue
        assert gateway is not None
        started = gateway.ledger.recovered
        assert started.edge is not None and 0 < started.snapshot_seq < gateway.engine.seq
        restored = gateway_snapshot.dump(gateway.tracker, gateway.market)
    everything = OrderTracker(), MarketData()
    for entry in entries(path):
        everything[0].apply(entry.command, entry.events, ())
        everything[1].apply(entry.command, entry.events)
    everything[1].discard_pending()
    assert restored == gateway_snapshot.dump(*everything)
