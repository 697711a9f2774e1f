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
        sends = [
            trader.new_order(WHEAT, side, "1", price, cl_ord_id=f"o{n}-{i}")
            for i in range(40)
            for n, trader in enumerate(traders)
            for side, price in ((("BUY", "209.00"),) if n % 2 else (("SELL", "211.00"),))
        ]
        await asyncio.gather(*sends)  # all in flight at once: batches overlap their commits
        digest = venue.server.venue.engine.digest()  # type: ignore[union-attr]
        resting = len(venue.server.venue.engine.orders)  # type: ignore[union-attr]
    with sqlite3.connect(path) as db:
        snapshots = db.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    assert snapshots >= 2
    async with open_venue(path, config) as again:
        engine = again.server.venue.engine  # type: ignore[union-attr]
        assert engine.digest() == digest and len(engine.orders) == resting == 120
