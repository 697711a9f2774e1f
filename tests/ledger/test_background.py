"""A failed background write (the orders projection, a snapshot) is logged, counted, retried,
and does not hold up the writes after it. Failures are injected into the real SQLite file: a
trigger, added from a second connection, that aborts the write."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from exchange.engine import Engine
from exchange.ledger import Batch, Ledger, audit
from tests.ledger.history import entries, history

FAIL_ORDERS = ("CREATE TRIGGER fail_orders BEFORE INSERT ON orders "
               "BEGIN SELECT RAISE(ABORT, 'injected: disk says no'); END")
FAIL_SNAPSHOTS = ("CREATE TRIGGER fail_snapshots BEFORE INSERT ON snapshots "
                  "BEGIN SELECT RAISE(ABORT, 'injected: disk says no'); END")


def sql(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(statement)
    conn.close()


def test_a_failed_projection_and_snapshot_are_reported_retried_and_do_not_stop_later_writes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "venue.db"
    commands = history(900, seed=3)

    async def scenario() -> Engine:
        ledger = await Ledger.open(path, snapshot_every=400)
        engine = await ledger.recover()  # attached: snapshots every 400 seqs
        batches = [commands[start:start + 30] for start in range(0, len(commands), 30)]

        async def append(chunk: list) -> None:
            await ledger.append(Batch(entries(chunk, engine), engine.digest()))
            await ledger.settle()

        await append(batches[0])
        sql(path, FAIL_ORDERS)
        sql(path, FAIL_SNAPSHOTS)
        with caplog.at_level(logging.ERROR, "exchange.ledger"):
            for chunk in batches[1:8]:
                await append(chunk)
        health = ledger.health()
        assert health["ledger_background_failures"] >= 7
        assert "injected: disk says no" in health["ledger_background_error"]
        assert len([r for r in caplog.records if "background write failed" in r.message]) == 1
        assert ledger.last_seq > 400  # appends went on
        sql(path, "DROP TRIGGER fail_orders")
        sql(path, "DROP TRIGGER fail_snapshots")
        for chunk in batches[8:]:
            await append(chunk)
        assert ledger.health()["ledger_background_error"] is None
        await ledger.close()
        return engine

    engine = asyncio.run(scenario())
    conn = sqlite3.connect(path)
    mark, snapshots = conn.execute(
        "SELECT (SELECT seq FROM projected WHERE name = 'projections'), "
        "(SELECT max(seq) FROM snapshots)").fetchone()
    conn.close()
    assert mark == engine.seq  # the failed batches were projected by a later write
    assert snapshots is not None and snapshots > 400  # snapshots were taken after the failures
    audit.verify(path)  # and the projections equal a rebuild
