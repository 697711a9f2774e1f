"""The venue's ledger: an append-only, hash-chained SQLite file, written in durable batches.

Invariant: every row in `events` up to `last_seq` belongs to exactly one committed batch; each
batch was one transaction, committed with `synchronous=FULL` in WAL mode before `append`
returned, so whatever a caller published after `append` survives a crash (DESIGN rule 4). The
chain and the replay rules are in schema.py and replay.py; this module is the asyncio edge.

Group commit is the caller's loop: it awaits `append(batch)` before publishing that batch, and
the commands that arrive meanwhile form the next batch. Appends are serialized; each costs one
fsync'd commit, so larger batches amortize it.

Snapshots: `snapshot(engine)` serializes the engine at once (the only part that holds the
caller, O(state)) and writes it in the background on the writer connection. `append` does the
same every `snapshot_every` events when it has the engine (the one `recover` returned, or one
given to `attach`) and that engine is exactly at the batch's end.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from exchange.engine import Engine, codec, snapshot as engine_snapshot
from exchange.ledger import reader
from exchange.ledger.projections import project
from exchange.ledger.records import Batch, Entry
from exchange.ledger.schema import (
    GENESIS, INSERT_BATCH, INSERT_EVENT, INSERT_SNAPSHOT, PRAGMAS, PROJECTION_TABLES, TABLES,
    BatchRecord, LedgerError, Row, meta_rows, record_ts, seal,
)


class Ledger:
    """The writer of one ledger file. Make it with `await Ledger.open(path)`."""

    def __init__(self, path: Path, conn: aiosqlite.Connection, head: BatchRecord | None,
                 snapshot_every: int) -> None:
        self.path = path
        self._conn = conn
        self._head = head
        self._snapshot_every = snapshot_every
        self._since_snapshot = 0
        self._engine: Engine | None = None
        self._lock = asyncio.Lock()
        self._snapshot_task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: str | Path, *, snapshot_every: int = 100_000) -> Ledger:
        """Open the ledger at `path`, creating it (and its folder) if absent. LedgerError for a
        file that is not a ledger this code reads."""
        path = Path(path)
        create = not path.exists()
        if not create:
            reader.check_file(path)  # refuses before SQLite could turn it into a database
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            for pragma in PRAGMAS:
                await conn.execute(pragma)
            if create:
                await conn.executescript(
                    "BEGIN;" + TABLES + PROJECTION_TABLES
                    + "".join(f"INSERT INTO meta VALUES ('{k}', '{v}');" for k, v in meta_rows())
                    + "COMMIT;")
            else:
                await conn.executescript(PROJECTION_TABLES)
            rows = list(await conn.execute_fetchall(reader.SELECT_HEAD))
        except BaseException:
            await conn.close()
            raise
        head = BatchRecord(*rows[0]) if rows else None
        return cls(path, conn, head, snapshot_every)

    @property
    def last_seq(self) -> int:
        """The last seq of the last committed batch (0 for an empty ledger)."""
        return 0 if self._head is None else self._head.last_seq

    @property
    def last_digest(self) -> str:
        """The engine digest after the last committed batch (an empty engine's if none)."""
        return Engine().digest() if self._head is None else self._head.digest

    @property
    def last_hash(self) -> str:
        return GENESIS if self._head is None else self._head.hash

    async def recover(self) -> Engine:
        """The engine as of the last committed batch: the newest snapshot that checks out, then
        the rest replayed and compared. LedgerError naming the seq where the file and the
        replay part. Also attaches the engine for automatic snapshots. Cost: O(snapshot) plus
        one apply per command after it.

        Runs the synchronous reader in a worker thread (one code path with `audit verify`);
        a second, read-only connection sees exactly the committed batches."""
        engine = await asyncio.to_thread(reader.recover, self.path)
        self.attach(engine)
        return engine

    def attach(self, engine: Engine) -> None:
        """Let `append` snapshot `engine` every `snapshot_every` events."""
        self._engine = engine

    async def append(self, batch: Batch) -> None:
        """Write `batch` in one transaction; return once it is durable. Its entries must
        continue the sequence exactly. Cost: O(rows) encoding and hashing plus one fsync'd
        commit."""
        if not batch.entries:
            return
        async with self._lock:
            head = self._head
            batch_id = 1 if head is None else head.id + 1
            rows = _rows(batch.entries, batch_id, self.last_seq + 1)
            record = seal(batch_id, self.last_hash, rows, batch.digest)
            writes = project([event for entry in batch.entries for event in entry.events])
            pending_snapshot = self._snapshot_due(len(rows), record)
            conn = self._conn
            # Everything is computed before the transaction: overlapping it with the writer
            # thread's inserts was measured slower (the two threads fight over the GIL).
            await conn.execute("BEGIN IMMEDIATE")
            try:
                await conn.executemany(INSERT_EVENT, rows)
                for sql, params in writes.statements():
                    await conn.executemany(sql, params)
                await conn.execute(INSERT_BATCH, record)
                await conn.execute("COMMIT")
            except BaseException:
                await _rollback(conn)
                raise
            self._head = record
            if pending_snapshot is not None:
                self._write_snapshot_later(*pending_snapshot)

    @property
    def snapshot_due(self) -> bool:
        """Whether `snapshot_every` events were appended since the last snapshot: a caller
        whose engine runs ahead of the ledger (a pipelined writer) calls `snapshot` when its
        engine is back at the last batch."""
        return self._since_snapshot >= self._snapshot_every

    async def snapshot(self, engine: Engine) -> None:
        """Record `engine`'s state, which must be exactly at the last committed batch. Holds the
        caller for the serialization only; the write goes on in the background (`close` and
        the next `append` wait for it)."""
        if engine.seq != self.last_seq or engine.digest() != self.last_digest:
            raise LedgerError(f"snapshot at seq {engine.seq}: the engine is not at the ledger's "
                              f"last batch (seq {self.last_seq})", engine.seq)
        self._write_snapshot_later(engine.seq, engine.digest(), engine_snapshot.dump(engine))
        self._since_snapshot = 0

    async def entries(self, from_seq: int = 1, to_seq: int | None = None
                      ) -> AsyncIterator[Entry]:
        """Committed entries in order: those whose command seq is in [from_seq, to_seq] (an
        event seq in `from_seq` starts at its command). O(rows) decoding, fetched in chunks."""
        last = self.last_seq if to_seq is None else to_seq
        builder = reader.EntryBuilder()
        async with self._conn.execute(reader.SELECT_ENTRY_ROWS,
                                      (from_seq, from_seq, self.last_seq)) as cursor:
            while chunk := await cursor.fetchmany(2000):
                for entry in builder.feed(chunk):  # type: ignore[arg-type]
                    if entry.seq > last:
                        return
                    yield entry
        for entry in builder.finish():
            if entry.seq <= last:
                yield entry

    async def close(self) -> None:
        if self._snapshot_task is not None:
            await self._snapshot_task
        await self._conn.close()

    # -- snapshots -------------------------------------------------------------------------

    def _snapshot_due(self, row_count: int, record: BatchRecord) -> tuple[int, str, bytes] | None:
        """Serialize the attached engine now if a snapshot is due and it sits at `record`."""
        self._since_snapshot += row_count
        engine = self._engine
        if self._since_snapshot < self._snapshot_every or engine is None:
            return None
        if engine.seq != record.last_seq or engine.digest() != record.digest:
            return None  # the engine has moved on (or is not this ledger's): try next batch
        self._since_snapshot = 0
        return record.last_seq, record.digest, engine_snapshot.dump(engine)

    def _write_snapshot_later(self, seq: int, digest: str, body: bytes) -> None:
        previous = self._snapshot_task

        async def write() -> None:
            if previous is not None:
                await previous
            async with self._lock:
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    await self._conn.execute(
                        INSERT_SNAPSHOT, (seq, digest, engine_snapshot.FORMAT, body))
                    await self._conn.execute("COMMIT")
                except BaseException:
                    await _rollback(self._conn)
                    raise

        self._snapshot_task = asyncio.ensure_future(write())


def _rows(entries: list[Entry], batch_id: int, next_seq: int) -> list[Row]:
    """The `events` rows of a batch, checking that its seqs continue from `next_seq`."""
    encode, kinds = codec.encode, codec.KIND_OF
    rows: list[Row] = []
    append = rows.append
    for entry in entries:
        command, events = entry.command, entry.events
        if entry.seq != next_seq:
            raise LedgerError(f"entry at seq {entry.seq}: the ledger's next seq is {next_seq}",
                              entry.seq)
        ts = record_ts(command, events[0].ts_us if events else 0)
        append((entry.seq, ts, kinds[type(command)], entry.origin or None, batch_id,
                encode(command)))
        for offset, event in enumerate(events, 1):
            if event.seq != entry.seq + offset:
                raise LedgerError(f"event at seq {event.seq}: expected seq "
                                  f"{entry.seq + offset}", event.seq)
            append((event.seq, event.ts_us, kinds[type(event)], None, batch_id, encode(event)))
        next_seq = entry.seq + len(events) + 1
    return rows


async def _rollback(conn: aiosqlite.Connection) -> None:
    try:
        await conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # nothing to roll back: the transaction never began

