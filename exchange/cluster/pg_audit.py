"""Auditing the cluster's ledger: in PostgreSQL (a DSN) or in a file exported from it.

`export(dsn, path)` copies the ledger's four tables (meta, events, batches, trades) as they are
into one SQLite file (`meta.format = cluster-export-1`), so an auditor checks it offline with
the same code: `verify(source, shard, key)` reads a shard's batches and rows from either
(`PgSource`, `ExportSource`) and checks, from the first row: each batch's link, hash, signature
and rows' hash; rows without gaps; a replay of every command through a fresh engine giving every
body byte for byte (so every event is re-derived) and every digest; and the `trades` rows equal
to those the replayed events give, no more and no fewer. `exchange audit verify DSN|FILE`
runs it on every shard (`verify_all`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from exchange.cluster.pg_schema import START, TRADE_COLUMNS
from exchange.cluster.replica import Replica, decode_output
from exchange.ledger import signing
from exchange.ledger.schema import BatchRecord, body_records, chain_fault, events_hash

EXPORT_FORMAT = "cluster-export-1"
BATCH_COLUMNS = ("id", "first_seq", "last_seq", "prev_hash", "events_hash", "digest", "hash",
                 "signature")
ROW_COLUMNS = ("out_seq", "ts_us", "kind", "origin", "body", "digest")
TABLE_COLUMNS = {
    "meta": ("key", "value"),
    "events": ("shard", "out_seq", "seq", "ts_us", "kind", "origin", "body", "digest"),
    "batches": ("shard", *BATCH_COLUMNS),
    "trades": TRADE_COLUMNS,
}
ORDER_BY = {"meta": "key", "events": "shard, out_seq", "batches": "shard, id",
            "trades": "shard, out_seq, idx"}


class Source(Protocol):
    async def meta(self, key: str) -> str | None: ...
    async def shards(self) -> list[str]: ...
    async def batches(self, shard: str) -> Sequence[Sequence[Any]]: ...
    async def rows(self, shard: str, first: int, last: int) -> Sequence[Sequence[Any]]: ...
    async def trades(self, shard: str) -> Sequence[Sequence[Any]]: ...


class PgSource:
    """The ledger in PostgreSQL (an asyncpg connection)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def meta(self, key: str) -> str | None:
        return await self.conn.fetchval("SELECT value FROM meta WHERE key = $1", key)  # type: ignore[no-any-return]

    async def shards(self) -> list[str]:
        return [row[0] for row in await self.conn.fetch(
            "SELECT DISTINCT shard FROM batches ORDER BY shard")]

    async def batches(self, shard: str) -> Sequence[Sequence[Any]]:
        return await self.conn.fetch(  # type: ignore[no-any-return]
            f"SELECT {', '.join(BATCH_COLUMNS)} FROM batches WHERE shard = $1 ORDER BY id",
            shard)

    async def rows(self, shard: str, first: int, last: int) -> Sequence[Sequence[Any]]:
        return await self.conn.fetch(  # type: ignore[no-any-return]
            f"SELECT {', '.join(ROW_COLUMNS)} FROM events WHERE shard = $1 "
            "AND out_seq BETWEEN $2 AND $3 ORDER BY out_seq", shard, first, last)

    async def trades(self, shard: str) -> Sequence[Sequence[Any]]:
        return await self.conn.fetch(  # type: ignore[no-any-return]
            f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE shard = $1 "
            "ORDER BY out_seq, idx", shard)


class ExportSource:
    """An exported ledger file (`export`), read with the stdlib's sqlite3."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def close(self) -> None:
        self.db.close()

    async def meta(self, key: str) -> str | None:
        found = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if found is None else str(found[0])

    async def shards(self) -> list[str]:
        return [row[0] for row in self.db.execute(
            "SELECT DISTINCT shard FROM batches ORDER BY shard")]

    async def batches(self, shard: str) -> Sequence[Sequence[Any]]:
        return self.db.execute(f"SELECT {', '.join(BATCH_COLUMNS)} FROM batches "
                               "WHERE shard = ? ORDER BY id", (shard,)).fetchall()

    async def rows(self, shard: str, first: int, last: int) -> Sequence[Sequence[Any]]:
        return self.db.execute(f"SELECT {', '.join(ROW_COLUMNS)} FROM events WHERE shard = ? "
                               "AND out_seq BETWEEN ? AND ? ORDER BY out_seq",
                               (shard, first, last)).fetchall()

    async def trades(self, shard: str) -> Sequence[Sequence[Any]]:
        return self.db.execute(f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades WHERE shard = ? "
                               "ORDER BY out_seq, idx", (shard,)).fetchall()


def is_export(path: Path) -> bool:
    """Whether `path` is a file `export` wrote (an SQLite file whose meta says so)."""
    try:
        with open(path, "rb") as file:
            if file.read(16) != b"SQLite format 3\x00":
                return False
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        finally:
            db.close()
    except (OSError, sqlite3.Error):
        return False
    return found is not None and found[0] == EXPORT_FORMAT


async def verify(source: Source, shard: str, public_key: str) -> tuple[int, str | None]:
    """(outputs checked, the first fault or None) for one shard, from its first row.
    O(rows + their replay)."""
    from exchange.cluster.pg_ledger import rows_of

    key = signing.public_key(public_key, "public key")
    replica, previous, count = Replica(), START, 0
    derived: list[tuple] = []
    for found in await source.batches(shard):
        batch = BatchRecord(*found)
        fault = chain_fault(batch, previous) or signing.batch_fault(key, batch)
        if fault:
            return count, fault
        rows = await source.rows(shard, batch.first_seq, batch.last_seq)
        chain = [(row[0], row[1], row[2], row[3], bytes(row[4])) for row in rows]
        if [row[0] for row in chain] != list(range(batch.first_seq, batch.last_seq + 1)):
            return count, f"batch {batch.id}: rows missing or extra"
        if events_hash(chain) != batch.events_hash:
            return count, f"batch {batch.id}: its rows do not match its hash"
        for (out_seq, _ts, _kind, origin, body), row in zip(chain, rows, strict=True):
            command = body_records(body)[0] if body else b""
            output = replica.apply(command, origin)
            expected = decode_output(output)
            if (expected.body or b"") != body or expected.digest != row[5]:
                return count, f"output {out_seq}: the replay differs"
            derived.extend(rows_of(shard, out_seq, output)[2])
            count += 1
        if replica.engine.digest() != batch.digest:
            return count, f"batch {batch.id}: the digest differs from the replay's"
        previous = batch
    if [tuple(row) for row in await source.trades(shard)] != derived:
        return count, "the trades table differs from the trades the replayed events give"
    return count, None


def given_key(pubkey: Path | None) -> tuple[str | None, str]:
    """The public key to check against (None: the one the ledger names), and whose it is."""
    if pubkey is None:
        return None, "the key the ledger names (give --pubkey to prove origin)"
    key = signing.public_hex(signing.public_key(pubkey.read_text(), str(pubkey)))
    return key, f"the venue key {key[:16]}…"


async def verify_file(path: Path, pubkey: Path | None) -> int:
    """`exchange audit verify FILE` of an exported cluster ledger: every shard."""
    source = ExportSource(path)
    try:
        key, whose = given_key(pubkey)
        return await verify_all(source, None, key, whose)
    finally:
        source.close()


async def verify_all(source: Source, shards: list[str] | None, public_key: str | None,
                     whose: str) -> int:
    """Verify each shard (all by default), one line each; 0 if every one verifies, else 1."""
    key = public_key or await source.meta("public_key")
    if key is None:
        print("verify FAILED: the ledger names no public key (give --pubkey)")
        return 1
    found = await source.shards()
    failed = 0
    for shard in shards or found:
        checked, fault = await verify(source, shard, key)
        if fault is None and shard not in found:
            fault = "no batches"
        print(f"shard {shard}: {checked} outputs "
              + ("verify" if fault is None else f"FAIL: {fault}"))
        failed += fault is not None
    print(f"checked against {whose}")
    return 1 if failed else 0


async def export(dsn: str, path: Path) -> dict[str, int]:
    """Copy the ledger at `dsn` into a new SQLite file at `path`; rows copied per table. The
    copy is of one snapshot of the database (one repeatable-read transaction)."""
    import asyncpg

    if path.exists():
        raise FileExistsError(f"{path} exists")
    conn = await asyncpg.connect(dsn)
    db = sqlite3.connect(path)
    counts = {}
    try:
        for table, columns in TABLE_COLUMNS.items():
            db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            for table, columns in TABLE_COLUMNS.items():
                rows = await conn.fetch(f"SELECT {', '.join(columns)} FROM {table} "
                                        f"ORDER BY {ORDER_BY[table]}")
                db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})",
                               [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                                for r in rows])
                counts[table] = len(rows)
        db.execute("INSERT INTO meta VALUES ('format', ?)", (EXPORT_FORMAT,))
        db.commit()
    finally:
        db.close()
        await conn.close()
    return counts
