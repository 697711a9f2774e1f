"""The ledger under a running venue: the gateway state saved with a snapshot is covered by its
signature, and what the venue reads from the projections cannot stop it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import msgpack
import pytest

from exchange.client import ExchangeError
from exchange.ledger import LedgerError, audit
from tests.gateway.conftest import WHEAT, open_venue, with_config

CONFIG = with_config(snapshot_every=40, order_rate=100_000.0, order_burst=100_000.0)


async def trade_and_snapshot(path: Path) -> None:
    async with open_venue(path, CONFIG) as venue:
        agro, mill = await venue.client("AGRO-1"), await venue.client("MILL-1")
        await agro.new_order(WHEAT, "BUY", "1", "150.00", cl_ord_id="once")
        for n in range(30):
            await agro.new_order(WHEAT, "BUY", "1", "209.00", cl_ord_id=f"b{n}")
            await mill.new_order(WHEAT, "SELL", "1", "209.00", cl_ord_id=f"s{n}")


def test_a_cl_ord_id_removed_from_the_snapshots_gateway_state_refuses_the_restart(
        tmp_path: Path) -> None:
    """Before schema 3, a restart took the edited index as it was, and a resend of `once`
    executed a second time."""
    path = tmp_path / "venue.db"
    asyncio.run(trade_and_snapshot(path))
    conn = sqlite3.connect(path, isolation_level=None)
    seq, edge = conn.execute("SELECT seq, edge FROM snapshots WHERE edge IS NOT NULL "
                             "ORDER BY seq DESC LIMIT 1").fetchone()
    state = msgpack.unpackb(edge)
    names = state[3]
    state[3] = [name for name in names if name[:2] != ["AGRO-1", "once"]]
    assert len(state[3]) == len(names) - 1
    conn.execute("UPDATE snapshots SET edge = ? WHERE seq = ?", (msgpack.packb(state), seq))
    conn.close()

    async def restart() -> None:
        async with open_venue(path, CONFIG):
            pass

    with pytest.raises(LedgerError, match=f"seq {seq}: the snapshot at seq {seq}: its gateway "
                                          "state does not match its hash"):
        asyncio.run(restart())


def test_list_trades_answers_a_corrupt_trades_row_with_an_error_and_the_venue_goes_on(
        tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    asyncio.run(trade_and_snapshot(path))
    conn = sqlite3.connect(path, isolation_level=None)
    trade_id, seq = conn.execute("SELECT trade_id, seq FROM trades ORDER BY trade_id "
                                 "LIMIT 1 OFFSET 3").fetchone()

    async def ask(expect_error: bool, tag: str = "") -> None:
        async with open_venue(path, CONFIG) as venue:
            operator = await venue.client("operator")
            if not expect_error:
                assert len((await operator.request("list_trades"))["trades"]) == 30
                return
            with pytest.raises(ExchangeError) as raised:
                await operator.request("list_trades")
            assert raised.value.code == "LEDGER_CORRUPT"
            assert f"seq {seq}" in raised.value.msg and f"trade {trade_id}" in raised.value.msg
            # the connection and the venue live on
            assert (await operator.request("stats"))["ledger_last_seq"] > seq
            agro = await venue.client("AGRO-1")
            await agro.new_order(WHEAT, "BUY", "1", "150.00", cl_ord_id=f"after-{tag}")

    asyncio.run(ask(False))
    for column, value in (("price", "not a price"), ("symbol", "NO-SUCH-SYMBOL"),
                          ("aggressor_side", "UP"), ("qty", 2.5)):
        conn.execute(f"UPDATE trades SET {column} = ? WHERE trade_id = ?", (value, trade_id))
        asyncio.run(ask(True, column))
        audit.rebuild(path)  # back to the true table for the next column
    conn.close()
