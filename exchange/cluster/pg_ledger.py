"""The PostgreSQL ledger: a writer per shard copying OUT_<shard> into it, and its verifier.

The writer reads the shard's last batch, then consumes OUT from the output after it with a
durable pull consumer (made afresh at that sequence on every start, explicit acks). Each fetch
of up to `batch` outputs becomes one transaction: the rows, their trades and the signed batch
record chained to the previous one (pg_schema.py); the messages are acknowledged after the
commit. A crash before the commit loses nothing (OUT still has them, the consumer is remade
from the last commit), a crash after it and before the acks redelivers outputs the ledger has
(skipped by sequence). A second writer of the same shard (a zombie) fails on the batch's keys
and rereads the head: the chain never forks.

`verify(conn, shard, public_key)` checks one shard's ledger from its first row: each batch's
link, hash, signature and rows' hash, rows without gaps, and a replay of every command through
a fresh engine giving every body byte for byte and every digest.

Run: `python -m exchange.cluster.pg_ledger --nats URL --dsn DSN --shard NAME --signing-key F`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

import asyncpg
import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from exchange.cluster import options, pg_audit
from exchange.cluster.names import WriterConfig, check_shard, out_stream, out_subject
from exchange.cluster.pg_schema import (
    EVENT_COLUMNS,
    GENESIS,
    INSERT_BATCH,
    LOCK,
    SCHEMA_VERSION,
    SELECT_HEAD,
    TABLES,
    TRADE_COLUMNS,
)
from exchange.cluster.replica import decode_output
from exchange.cluster.shard import connect
from exchange.engine.codec import KIND_OF, decode
from exchange.engine.enums import Side
from exchange.engine.events import TradeExecuted
from exchange.ledger import signing
from exchange.ledger.schema import (
    BatchRecord,
    LedgerError,
    Row,
    body_records,
    record_ts,
    seal,
)


class Gap(Exception):
    """OUT delivered an output past the next one the ledger needs: remake the consumer."""


async def open_ledger(conn: asyncpg.Connection, public_key: str) -> None:
    """Create the tables if missing (under an advisory lock: writers start together) and check
    that the ledger names `public_key`. LedgerError if it names another."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
        await conn.execute(TABLES)
        await conn.execute("INSERT INTO meta VALUES ('schema_version', $1), ('genesis', $2), "
                           "('public_key', $3) ON CONFLICT DO NOTHING",
                           SCHEMA_VERSION, GENESIS, public_key)
    named = await conn.fetchval("SELECT value FROM meta WHERE key = 'public_key'")
    if named != public_key:
        raise LedgerError(f"the ledger names public key {named}, not the signing key's "
                          f"{public_key}")


async def head(conn: asyncpg.Connection, shard: str) -> BatchRecord | None:
    found = await conn.fetchrow(SELECT_HEAD, shard)
    return None if found is None else BatchRecord(*found)


def rows_of(shard: str, out_seq: int, payload: bytes) -> tuple[Row, tuple, list[tuple]]:
    """The chain row, the `events` row and the `trades` rows of one output. O(records)."""
    digest, origin, body = decode_output(payload)
    if body is None:
        return (out_seq, 0, 0, origin, b""), (shard, out_seq, None, 0, 0, origin, b"",
                                              digest), []
    records = [decode(record) for record in body_records(body)]
    command, events = records[0], records[1:]
    ts_us = record_ts(command, events[0].ts_us if events else 0)
    kind = KIND_OF[type(command)]
    seq = events[0].seq - 1 if events else None
    trades = [(shard, out_seq, idx, *_trade(event))
              for idx, event in enumerate(records) if type(event) is TradeExecuted]
    return ((out_seq, ts_us, kind, origin, body),
            (shard, out_seq, seq, ts_us, kind, origin, body, digest), trades)


def _trade(trade: Any) -> tuple:
    if trade.aggressor_side == Side.BUY:
        buyer, seller = trade.taker_account, trade.maker_account
    else:
        buyer, seller = trade.maker_account, trade.taker_account
    return (trade.trade_id, trade.seq, trade.ts_us, trade.symbol, trade.price, trade.qty,
            Side(trade.aggressor_side).name, buyer, seller, trade.maker_order_id,
            trade.taker_order_id)


async def append(conn: asyncpg.Connection, key: signing.VenueKey, shard: str,
                 last: BatchRecord | None, outputs: list[tuple[int, bytes]]) -> BatchRecord:
    """Write `outputs` ((out_seq, payload), contiguous, after `last`) as one signed batch in one
    transaction. asyncpg.UniqueViolationError if another writer got there first."""
    chain, events, trades = [], [], []
    for out_seq, payload in outputs:
        row, event, trade_rows = rows_of(shard, out_seq, payload)
        chain.append(row)
        events.append(event)
        trades.extend(trade_rows)
    digest = events[-1][-1]
    record = seal(1 if last is None else last.id + 1, GENESIS if last is None else last.hash,
                  chain, outputs[-1][0], digest, key.sign_batch)
    async with conn.transaction():
        await conn.copy_records_to_table("events", records=events, columns=EVENT_COLUMNS)
        if trades:
            await conn.copy_records_to_table("trades", records=trades, columns=TRADE_COLUMNS)
        await conn.execute(INSERT_BATCH, shard, *record)
    return record


class LedgerWriter:
    """Copies one shard's OUT into PostgreSQL."""

    def __init__(self, config: WriterConfig) -> None:
        self.config = config
        self.shard = check_shard(config.shard)
        self.key = signing.load_or_create(Path(config.signing_key), create=False)
        self.stopping = asyncio.Event()
        self.head: BatchRecord | None = None

    async def run(self) -> None:
        conn = await asyncpg.connect(self.config.dsn)
        nc = await connect(self.config.nats_url)
        try:
            await open_ledger(conn, self.key.public_hex)
            js = nc.jetstream(timeout=2)
            self.head = await head(conn, self.shard)
            if self.config.ready_file:
                Path(self.config.ready_file).write_text(f"{self.next_seq - 1}\n")
            while not self.stopping.is_set():
                try:
                    await self._copy(js, conn)
                except asyncpg.UniqueViolationError:
                    self.head = await head(conn, self.shard)  # another writer wrote there
                except (Gap, nats.errors.Error, TimeoutError) as exc:
                    print(f"ledger writer {self.shard}: {exc!r}", file=sys.stderr, flush=True)
                    await asyncio.sleep(0.1)
        finally:
            await nc.close()
            await conn.close()

    @property
    def next_seq(self) -> int:
        return 1 if self.head is None else self.head.last_seq + 1

    async def _copy(self, js: JetStreamContext, conn: asyncpg.Connection) -> None:
        stream, durable = out_stream(self.shard), f"ledger_{self.shard}"
        try:
            await js.delete_consumer(stream, durable)
        except NotFoundError:
            pass
        sub = await js.pull_subscribe(out_subject(self.shard), durable=durable, stream=stream,
                                      config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.next_seq,
            ack_policy=AckPolicy.EXPLICIT, ack_wait=60, max_ack_pending=self.config.batch * 4))
        try:
            await self._consume(sub, conn)
        finally:
            with contextlib.suppress(Exception):  # the connection may be gone; the consumer stays
                await sub.unsubscribe()

    async def _consume(self, sub: Any, conn: asyncpg.Connection) -> None:
        while not self.stopping.is_set():
            try:
                msgs = await sub.fetch(self.config.batch, timeout=self.config.linger)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            taken: list[tuple[int, bytes]] = []
            for msg in msgs:
                seq = msg.metadata.sequence.stream
                if seq < self.next_seq + len(taken):
                    continue  # redelivered, in the ledger already
                if seq != self.next_seq + len(taken):
                    raise Gap(f"OUT gave {seq}, the ledger needs {self.next_seq + len(taken)}")
                taken.append((seq, msg.data))
            if taken:
                self.head = await append(conn, self.key, self.shard, self.head, taken)
            for msg in msgs:
                await msg.ack()


async def verify(conn: asyncpg.Connection, shard: str, public_key: str) -> tuple[int, str | None]:
    """(outputs checked, the first fault or None) for one shard's ledger, from its first row
    (pg_audit.verify). O(rows + their replay)."""
    return await pg_audit.verify(pg_audit.PgSource(conn), shard, public_key)


async def verify_ledger(dsn: str, shards: list[str] | None, pubkey: Path | None) -> int:
    """`exchange ledger-verify` / `exchange audit verify DSN`: verify each shard (all by
    default), print one line each; 0 if every one verifies, 1 otherwise."""
    conn = await asyncpg.connect(dsn)
    try:
        key, whose = pg_audit.given_key(pubkey)
        return await pg_audit.verify_all(pg_audit.PgSource(conn), shards, key, whose)
    except (asyncpg.UndefinedTableError, LedgerError) as exc:
        print(f"ledger-verify: {exc}", file=sys.stderr)
        return 1
    finally:
        await conn.close()


def parse(argv: list[str] | None) -> WriterConfig:
    parser = argparse.ArgumentParser(prog="exchange ledger-writer", description=options.WRITER)
    options.add_writer_arguments(parser)
    return options.writer_config(parser.parse_args(argv))


async def serve(config: WriterConfig) -> int:
    writer = LedgerWriter(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, writer.stopping.set)
    await writer.run()
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(parse(argv))


def run(config: WriterConfig) -> int:
    try:
        return asyncio.run(serve(config))
    except LedgerError as exc:
        print(f"ledger writer: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
