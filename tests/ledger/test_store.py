"""The async Ledger on real files: append, read back, recover, snapshots, projections."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import msgpack
import pytest

from exchange.engine import BookChanged, Engine, codec
from exchange.ledger import Batch, Entry, Ledger, LedgerError, audit, recover_file
from exchange.ledger.schema import GENESIS, SCHEMA_VERSION, body_records
from tests.ledger.history import entries, history, write
from tests.ledger.rowtable import entry_table


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def test_open_creates_the_file_and_its_folder_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "var" / "venue.db"

    async def scenario() -> None:
        ledger = await Ledger.open(path)
        assert ledger.last_seq == 0 and ledger.last_hash == GENESIS
        assert ledger.last_digest == Engine().digest()
        await ledger.close()

    run(scenario())
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert dict(conn.execute("SELECT key, value FROM meta"))["schema_version"] == str(
        SCHEMA_VERSION)


def test_appended_entries_read_back_in_order_with_origin(tmp_path: Path) -> None:
    commands = history(300, seed=3)

    async def scenario() -> list[Entry]:
        ledger = await Ledger.open(tmp_path / "l.db")
        engine = await ledger.recover()
        written = entries(commands, engine)
        written = [entry._replace(origin=f"account:{i % 3}") for i, entry in enumerate(written)]
        for start in range(0, len(written), 40):
            await ledger.append(Batch(written[start:start + 40],
                                      _digest_after(written, start + 40)))
        assert ledger.last_seq == engine.seq and ledger.last_digest == engine.digest()
        read = [entry async for entry in ledger.entries()]
        assert read == written
        middle = written[100]
        tail = [entry async for entry in ledger.entries(middle.seq + 1, written[110].seq)]
        assert tail == written[100:111]  # an event seq starts at its command
        await ledger.close()
        return written

    run(scenario())


def _digest_after(written: list[Entry], stop: int) -> str:
    engine = Engine()
    for entry in written[:stop]:
        engine.apply(entry.command)
    return engine.digest()


def test_append_refuses_a_batch_that_does_not_continue_the_sequence(tmp_path: Path) -> None:
    commands = history(20)

    async def scenario() -> None:
        ledger = await Ledger.open(tmp_path / "l.db")
        engine = Engine()
        written = entries(commands, engine)
        with pytest.raises(LedgerError, match="next seq is 1"):
            await ledger.append(Batch(written[1:], engine.digest()))
        await ledger.append(Batch(written, engine.digest()))
        with pytest.raises(LedgerError):
            await ledger.append(Batch(written[-1:], engine.digest()))
        assert ledger.last_seq == engine.seq
        await ledger.close()

    run(scenario())


def test_recovery_after_reopen_reaches_the_same_digest(tmp_path: Path) -> None:
    commands = history(2_000, seed=5)
    engine = write(tmp_path / "l.db", commands, batch_size=37)

    async def scenario() -> None:
        ledger = await Ledger.open(tmp_path / "l.db")
        recovered = await ledger.recover()
        assert recovered.digest() == engine.digest() == ledger.last_digest
        recovered.check()
        await ledger.close()

    run(scenario())


def test_recovery_with_a_snapshot_equals_recovery_without(tmp_path: Path) -> None:
    commands = history(3_000, seed=11)
    with_snapshots = write(tmp_path / "snap.db", commands, batch_size=50, snapshots_at=[10, 40])
    without = write(tmp_path / "plain.db", commands, batch_size=50)
    conn = sqlite3.connect(tmp_path / "snap.db")
    assert conn.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 2
    from_snapshot = recover_file(tmp_path / "snap.db")
    from_scratch = recover_file(tmp_path / "plain.db")
    assert from_snapshot.digest() == from_scratch.digest() == with_snapshots.digest()
    assert with_snapshots.digest() == without.digest()
    # and both go on identically
    for command in history(3_400, seed=11)[-400:]:
        left, right = from_snapshot.apply(command), from_scratch.apply(command)
        assert [codec.encode(e) for e in left] == [codec.encode(e) for e in right]


def test_automatic_snapshots_every_n_events(tmp_path: Path) -> None:
    write(tmp_path / "l.db", history(1_500, seed=2), batch_size=25, snapshot_every=1_000)
    conn = sqlite3.connect(tmp_path / "l.db")
    seqs = [seq for (seq,) in conn.execute("SELECT seq FROM snapshots ORDER BY seq")]
    last = conn.execute("SELECT max(last_seq) FROM batches").fetchone()[0]
    assert len(seqs) >= last // 1_000 - 1 and seqs
    batch_ends = {s for (s,) in conn.execute("SELECT last_seq FROM batches")}
    assert set(seqs) <= batch_ends


def test_a_changed_snapshot_refuses_recovery_naming_its_seq(tmp_path: Path) -> None:
    commands = history(800, seed=4)
    write(tmp_path / "l.db", commands, batch_size=40, snapshots_at=[5, 15])
    conn = sqlite3.connect(tmp_path / "l.db")
    newest = conn.execute("SELECT max(seq) FROM snapshots").fetchone()[0]
    conn.execute("UPDATE snapshots SET body = x'00' WHERE seq = ?", (newest,))
    conn.commit()
    with pytest.raises(LedgerError, match=f"seq {newest}: .*engine state does not match"):
        recover_file(tmp_path / "l.db")


def test_recovery_names_the_seq_where_the_replay_parts_from_the_file(tmp_path: Path) -> None:
    write(tmp_path / "l.db", history(400, seed=9), batch_size=20)
    with entry_table(tmp_path / "l.db") as conn:
        seq, body = conn.execute("SELECT seq, body FROM events WHERE kind = 101 ORDER BY seq "
                                 "LIMIT 1 OFFSET 50").fetchone()
        records = body_records(body)
        book_change = max(i for i, r in enumerate(records)
                          if type(codec.decode(r)) is BookChanged)
        event = codec.decode(records[book_change])
        records[book_change] = codec.encode(event._replace(qty=event.qty + 1))
        changed = msgpack.Packer().pack_array_header(len(records)) + b"".join(records)
        conn.execute("UPDATE events SET body = ? WHERE seq = ?", (changed, seq))
    target = (event.seq,)

    async def scenario() -> None:
        ledger = await Ledger.open(tmp_path / "l.db")
        with pytest.raises(LedgerError) as raised:
            await ledger.recover()
        assert raised.value.seq == target[0] and f"seq {target[0]}" in str(raised.value)
        await ledger.close()

    run(scenario())


def test_projections_kept_by_append_equal_a_rebuild(tmp_path: Path) -> None:
    write(tmp_path / "l.db", history(2_500, seed=8), batch_size=30)
    before = _projection_dump(tmp_path / "l.db")
    assert before["trades"] and before["orders"]
    audit.rebuild(tmp_path / "l.db", chunk=777)
    assert _projection_dump(tmp_path / "l.db") == before


def test_projected_orders_match_the_engine(tmp_path: Path) -> None:
    engine = write(tmp_path / "l.db", history(1_500, seed=6), batch_size=30)
    conn = sqlite3.connect(tmp_path / "l.db")
    live = dict(conn.execute("SELECT order_id, leaves_qty FROM orders "
                             "WHERE status IN ('NEW', 'PARTIALLY_FILLED')"))
    assert live == {order_id: order.leaves for order_id, order in engine.orders.items()}
    trade = conn.execute("SELECT buyer_firm, seller_firm FROM trades LIMIT 1").fetchone()
    assert all(trade)
    names = conn.execute("SELECT DISTINCT side, ord_type, tif FROM orders").fetchall()
    assert {n[0] for n in names} == {"BUY", "SELL"} and {n[1] for n in names} == {"LIMIT", "MARKET"}
    assert {n[2] for n in names} >= {"GTC", "DAY", "GTD", "IOC", "FOK"}


def _projection_dump(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    return {name: conn.execute(f"SELECT * FROM {name} ORDER BY 1").fetchall()
            for name in ("accounts", "trades", "orders")}


def test_batches_refuse_update_and_delete(tmp_path: Path) -> None:
    write(tmp_path / "l.db", history(50), batch_size=10)
    conn = sqlite3.connect(tmp_path / "l.db")
    for sql in ("UPDATE batches SET body = x'00'", "DELETE FROM batches WHERE id = 3",
                "UPDATE batches SET digest = 'x'", "DELETE FROM batches"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)


def test_the_orders_projection_trails_the_chain_and_catches_up_after_a_crash(
        tmp_path: Path) -> None:
    path, crashed = tmp_path / "live.db", tmp_path / "crashed.db"
    commands = history(1_200, seed=13)

    async def scenario() -> Engine:
        ledger = await Ledger.open(path)
        engine = Engine()
        for start in range(0, len(commands) - 40, 40):
            await ledger.append(Batch(entries(commands[start:start + 40], engine),
                                      engine.digest()))
        await ledger.settle()
        # the last batch's projection cannot be written (as if the writer died after the
        # batch's commit): copy the files then, as a crash would leave them
        blocked = sqlite3.connect(path, isolation_level=None)
        blocked.execute("CREATE TRIGGER hold BEFORE INSERT ON orders "
                        "BEGIN SELECT RAISE(ABORT, 'held'); END")
        await ledger.append(Batch(entries(commands[len(commands) - 40:], engine),
                                  engine.digest()))
        await ledger.settle()
        for suffix in ("", "-wal", ".key", ".head"):
            shutil.copy(f"{path}{suffix}", f"{crashed}{suffix}")
        for held in (blocked, sqlite3.connect(crashed, isolation_level=None)):
            held.execute("DROP TRIGGER hold")
            held.close()
        await ledger.close()
        return engine

    engine = asyncio.run(scenario())
    conn = sqlite3.connect(crashed)
    mark, last = conn.execute("SELECT (SELECT seq FROM projected WHERE name = 'projections'), "
                              "(SELECT max(last_seq) FROM batches)").fetchone()
    conn.close()
    assert 0 < mark < last  # written after each batch, the last one lost with the writer

    async def reopen() -> None:
        ledger = await Ledger.open(crashed)  # catches up from the rows
        await ledger.close()

    asyncio.run(reopen())
    assert _projection_dump(crashed) == _projection_dump(path)
    conn = sqlite3.connect(crashed)
    live = dict(conn.execute("SELECT order_id, leaves_qty FROM orders "
                             "WHERE status IN ('NEW', 'PARTIALLY_FILLED')"))
    assert live == {order_id: order.leaves for order_id, order in engine.orders.items()}


def test_a_snapshots_edge_made_by_a_function_is_made_in_the_forked_child(tmp_path: Path) -> None:
    """The caller's own state can be given as a function: it runs in the child that dumps the
    engine (so a large edge does not hold the caller), and is stored beside it."""
    import os

    commands = history(200, seed=5)

    async def scenario() -> bytes:
        ledger = await Ledger.open(tmp_path / "l.db")
        engine = await ledger.recover()
        written = entries(commands, engine)
        await ledger.append(Batch(written, engine.digest()))
        await ledger.snapshot(engine, lambda: str(os.getpid()).encode())
        await ledger.close()
        reopened = await Ledger.open(tmp_path / "l.db")
        (seq,) = await reopened.edge_seqs(engine.seq)
        edge = await reopened.edge(seq)
        await reopened.close()
        return edge

    maker = int(run(scenario()))
    assert maker != os.getpid() or not hasattr(os, "fork")


def test_appends_go_on_while_a_snapshots_child_is_still_dumping(tmp_path: Path) -> None:
    """The writer does not wait for a forked child's bytes: a child held until the test lets
    it go does not hold the appends after it (it held every acknowledgement for as long as
    the dump took, ~1 s per million orders)."""
    import os
    import time

    if not hasattr(os, "fork"):
        pytest.skip("no fork: the snapshot is made in place")
    commands = history(300, seed=8)
    gate = tmp_path / "let-the-child-finish"

    def held_edge() -> bytes:  # runs in the child
        deadline = time.monotonic() + 60
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return b"edge"

    async def scenario() -> tuple[list[int], list[int]]:
        ledger = await Ledger.open(tmp_path / "l.db")
        engine = await ledger.recover()
        await ledger.append(Batch(entries(commands[:100], engine), engine.digest()))
        await ledger.snapshot(engine, held_edge)
        for start in (100, 200):  # both durable while the child still waits
            await ledger.append(Batch(entries(commands[start:start + 100], engine),
                                      engine.digest()))
        before = await ledger.edge_seqs(engine.seq)
        gate.touch()
        await ledger.settle()
        after = await ledger.edge_seqs(engine.seq)
        await ledger.close()
        return before, after

    before, after = run(scenario())
    assert before == [] and len(after) == 1
    audit.verify(tmp_path / "l.db")
