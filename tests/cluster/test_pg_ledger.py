"""The PostgreSQL ledger writer on real servers: OUT copied once, chained, signed and verified;
replays harmless; a second writer cannot fork the chain; tampering is found."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import asyncpg

from exchange.cluster import pg_schema
from exchange.cluster.names import WriterConfig, out_stream
from exchange.cluster.pg_ledger import LedgerWriter, head, verify, verify_ledger
from exchange.cluster.servers import NatsServer
from exchange.cluster.shard import connect
from exchange.ledger import schema as sqlite_schema
from exchange.ledger.signing import VenueKey
from tests.cluster.harness import eventually, last_seq, open_venue, order, outputs_of
from tests.cluster.test_shard import caught_up, run_shard, stop


async def venue_with_outputs(url: str, orders: int, seed: int = 1) -> None:
    nc = await connect(url)
    entry = await open_venue(nc)
    rng = random.Random(seed)
    for n in range(orders):
        await entry.submit(order(n, rng.choice(["PIPE-A", "WIRE-A"]), rng))
    engine, task = await run_shard(url, "A")
    await caught_up(nc, "A")
    await stop(engine, task)
    await nc.close()


async def run_writer(url: str, dsn: str, key: Path, batch: int = 64
                     ) -> tuple[LedgerWriter, asyncio.Task]:
    writer = LedgerWriter(WriterConfig(url, dsn, "A", str(key), batch=batch))
    return writer, asyncio.create_task(writer.run())


async def written(dsn: str, upto: int) -> None:
    conn = await asyncpg.connect(dsn)

    async def ledger_has_all() -> bool:
        try:
            found = await head(conn, "A")
        except asyncpg.UndefinedTableError:  # the writer has not made its tables yet
            return False
        return found is not None and found.last_seq >= upto
    try:
        await eventually(ledger_has_all)
    finally:
        await conn.close()


async def test_the_writer_copies_out_once_in_signed_batches_that_verify(
        nats_server: NatsServer, pg_dsn: str, signing_key: tuple[Path, VenueKey]) -> None:
    await venue_with_outputs(nats_server.url, 400)
    nc = await connect(nats_server.url)
    end = await last_seq(nc, out_stream("A"))
    writer, task = await run_writer(nats_server.url, pg_dsn, signing_key[0])
    await written(pg_dsn, end)
    writer.stopping.set()
    await task
    conn = await asyncpg.connect(pg_dsn)
    outputs = await outputs_of(nc, "A")
    rows = await conn.fetch("SELECT out_seq, body FROM events WHERE shard = 'A' ORDER BY out_seq")
    assert [r["out_seq"] for r in rows] == list(range(1, end + 1))
    from exchange.cluster.replica import decode_output
    assert [bytes(r["body"]) for r in rows] == [decode_output(m.data).body for m in outputs]
    assert await conn.fetchval("SELECT count(*) FROM batches WHERE shard = 'A'") > 1
    assert await conn.fetchval("SELECT count(*) FROM trades WHERE shard = 'A'") > 0
    assert await verify(conn, "A", signing_key[1].public_hex) == (end, None)
    # the chain starts at its own genesis, whatever the SQLite ledger's schema does
    first = await conn.fetchval("SELECT prev_hash FROM batches WHERE shard = 'A' AND id = 1")
    assert first == pg_schema.GENESIS != sqlite_schema.GENESIS
    await conn.close()
    await nc.close()


async def test_a_restarted_writer_and_a_second_writer_leave_one_chain(
        nats_server: NatsServer, pg_dsn: str, signing_key: tuple[Path, VenueKey]) -> None:
    await venue_with_outputs(nats_server.url, 200)
    first = await run_writer(nats_server.url, pg_dsn, signing_key[0], batch=16)
    await written(pg_dsn, 50)
    second = await run_writer(nats_server.url, pg_dsn, signing_key[0], batch=16)
    await venue_more(nats_server.url)
    nc = await connect(nats_server.url)
    end = await last_seq(nc, out_stream("A"))
    await written(pg_dsn, end)
    for writer, task in (first, second):
        writer.stopping.set()
        await task
    conn = await asyncpg.connect(pg_dsn)
    assert await conn.fetchval("SELECT count(*) FROM events WHERE shard = 'A'") == end
    assert await verify(conn, "A", signing_key[1].public_hex) == (end, None)
    await conn.close()
    await nc.close()


async def venue_more(url: str) -> None:
    nc = await connect(url)
    from exchange.cluster.order_entry import OrderEntry
    entry = await OrderEntry.open(nc)
    rng = random.Random(9)
    for n in range(1000, 1100):
        await entry.submit(order(n, "PIPE-A", rng))
    engine, task = await run_shard(url, "A")
    await caught_up(nc, "A")
    await stop(engine, task)
    await nc.close()


async def test_verify_names_a_changed_row_and_a_foreign_key(
        nats_server: NatsServer, pg_dsn: str, signing_key: tuple[Path, VenueKey]) -> None:
    await venue_with_outputs(nats_server.url, 100)
    writer, task = await run_writer(nats_server.url, pg_dsn, signing_key[0])
    await written(pg_dsn, 100)
    writer.stopping.set()
    await task
    conn = await asyncpg.connect(pg_dsn)
    _, fault = await verify(conn, "A", VenueKey.generate().public_hex)
    assert fault is not None and fault.startswith("batch 1 is not signed by the venue key")
    try:
        await conn.execute("UPDATE events SET origin = 'x' WHERE shard = 'A' AND out_seq = 30")
        raise AssertionError("the update went through")
    except asyncpg.RaiseError as refused:
        assert "append-only" in str(refused)
    await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
    await conn.execute("UPDATE events SET origin = 'x' WHERE shard = 'A' AND out_seq = 30")
    checked, fault = await verify(conn, "A", signing_key[1].public_hex)
    assert fault is not None and "rows do not match" in fault and checked < 30
    await conn.close()


async def test_ledger_verify_checks_every_shard_and_says_whose_key(
        nats_server: NatsServer, pg_dsn: str, signing_key: tuple[Path, VenueKey],
        tmp_path: Path, capsys: object) -> None:
    await venue_with_outputs(nats_server.url, 60)
    writer, task = await run_writer(nats_server.url, pg_dsn, signing_key[0])
    await written(pg_dsn, 60)
    writer.stopping.set()
    await task
    pub = signing_key[0].with_name(signing_key[0].name + ".pub")
    assert await verify_ledger(pg_dsn, None, pub) == 0
    assert await verify_ledger(pg_dsn, ["A", "B"], None) == 1  # B has no batches: said so
    other = tmp_path / "other.pub"
    other.write_text(VenueKey.generate().public_hex)
    assert await verify_ledger(pg_dsn, None, other) == 1
    out = capsys.readouterr().out.splitlines()  # type: ignore[attr-defined]
    assert out[0].startswith("shard A: ") and out[0].endswith(" outputs verify")
    assert out[1].startswith("checked against the venue key")
    assert "shard B: 0 outputs FAIL: no batches" in out
    assert any("not signed by the venue key" in line for line in out)
