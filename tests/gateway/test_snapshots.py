"""Snapshots under the pipelined group commit: the engine runs a batch ahead of the ledger, so
the venue drains the pipeline when a snapshot is due and takes it at the last durable batch;
a restart then starts from it and ends in the same state."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests.gateway.conftest import WHEAT, open_venue, with_config


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
