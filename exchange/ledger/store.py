"""The venue's ledger: an append-only, hash-chained SQLite file, written in durable batches.

Invariant: every row in `events` up to `last_seq` belongs to exactly one committed batch; each
batch was one transaction, committed with `synchronous=FULL` in WAL mode before `append`
returned, so whatever a caller published after `append` survives a crash (DESIGN rule 4). The
layout and the chain are in schema.py, the transactions in writes.py, the replay rules in
replay.py; this module is the asyncio edge.

One writer thread owns the file's connection, and each write is one call to it (an append:
encode, hash, insert, commit), so an append costs the event loop one await however busy the
loop is. (That is aiosqlite's model — a thread that owns a sqlite3 connection — with one hop
per transaction instead of one per statement: an append was eight awaits through aiosqlite,
each queued behind the busy event loop, so the ledger uses sqlite3 on its own thread instead.) Group commit is the caller's loop: it awaits `append(batch)` before publishing that
batch, and the commands that arrive meanwhile form the next batch. Appends are serialized;
each costs one fsync'd commit, so larger batches amortize it.

Background writes, in order and between appends: snapshots (`snapshot(engine)` serializes the
engine at once, the only part that holds the caller, O(state); `append` does the same every
`snapshot_every` seqs when it has the engine, from `recover` or `attach`, and that engine is
exactly at the batch's end) and the orders projection (projections.py: it trails the chain).
The projection write for a batch is queued when its append returns and takes every batch
appended until it starts, so a busy writer merges them; `open` catches up after a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from sqlite3 import Connection
from typing import Any, TypeVar

from exchange.engine import Engine
from exchange.engine import snapshot as engine_snapshot
from exchange.ledger import reader, writes
from exchange.ledger.records import Batch, Entry
from exchange.ledger.schema import GENESIS, SELECT_ROWS, BatchRecord, LedgerError, Row

T = TypeVar("T")
SELECT_CHUNK = SELECT_ROWS + " WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?"


class Ledger:
    """The writer of one ledger file. Make it with `await Ledger.open(path)`."""

    def __init__(self, path: Path, conn: Connection, thread: ThreadPoolExecutor,
                 head: BatchRecord | None, snapshot_every: int) -> None:
        self.path = path
        self._conn = conn
        self._thread = thread
        self._head = head
        self._snapshot_every = snapshot_every
        self._since_snapshot = 0
        self._unprojected: list[list[Entry]] = []  # batches after the orders projection's mark
        self._projection_queued = False
        self._engine: Engine | None = None
        self.recovered = reader.Recovery(Engine(), 0, None)  # what `recover` started from
        self._lock = asyncio.Lock()
        self._background: asyncio.Future[None] | None = None

    @classmethod
    async def open(cls, path: str | Path, *, snapshot_every: int = 100_000) -> Ledger:
        """Open the ledger at `path`, creating it (and its folder) if absent. LedgerError for a
        file that is not a ledger this code reads. Cost: the orders projection's catch-up, if a
        crash left it behind (the last batches before the crash)."""
        path = Path(path)
        create = not path.exists()
        if not create:
            reader.check_file(path)  # refuses before SQLite could turn it into a database
        path.parent.mkdir(parents=True, exist_ok=True)
        thread = ThreadPoolExecutor(1, thread_name_prefix="ledger-writer")
        try:
            conn, head = await _run(thread, writes.open_file, path, create)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(path, conn, thread, head, snapshot_every)

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
        recovery = await asyncio.to_thread(reader.recovery, self.path)
        self.recovered = recovery
        self.attach(recovery.engine)
        return recovery.engine

    def attach(self, engine: Engine | None) -> None:
        """Let `append` snapshot `engine` every `snapshot_every` seqs (None: leave snapshots to
        the caller, who watches `snapshot_due`)."""
        self._engine = engine

    async def append(self, batch: Batch) -> None:
        """Write `batch` in one transaction; return once it is durable. Its entries must
        continue the sequence exactly. Cost: O(bytes) encoding and hashing plus one fsync'd
        commit, all on the writer thread (writes.append)."""
        if not batch.entries:
            return
        async with self._lock:
            record = await self._call(writes.append, self._conn, batch.entries, self._head,
                                      batch.digest)
            self._head = record
            self._unprojected.append(batch.entries)
            pending_snapshot = self._snapshot_due(record)
            if pending_snapshot is not None:
                self._later(lambda: pending_snapshot, writes.put_snapshot)
            self._project_later()

    @property
    def snapshot_due(self) -> bool:
        """Whether `snapshot_every` seqs were appended since the last snapshot: a caller whose
        engine runs ahead of the ledger (a pipelined writer) calls `snapshot` when its engine
        is back at the last batch."""
        return self._since_snapshot >= self._snapshot_every

    async def snapshot(self, engine: Engine, edge: bytes | None = None) -> None:
        """Record `engine`'s state, which must be exactly at the last committed batch, with
        `edge`, the caller's own state at the same seq (given back by `recovered`). Holds the
        caller for the serialization only; the write goes on in the background (`close` and
        the next `append` wait for it)."""
        if engine.seq != self.last_seq or engine.digest() != self.last_digest:
            raise LedgerError(f"snapshot at seq {engine.seq}: the engine is not at the ledger's "
                              f"last batch (seq {self.last_seq})", engine.seq)
        snapshot = (engine.seq, engine.digest(), engine_snapshot.FORMAT,
                    engine_snapshot.dump(engine), edge)
        self._later(lambda: snapshot, writes.put_snapshot)
        self._since_snapshot = 0

    async def entries(self, from_seq: int = 1, to_seq: int | None = None
                      ) -> AsyncIterator[Entry]:
        """Committed entries in order: those whose command seq is in [from_seq, to_seq] (an
        event seq in `from_seq` starts at its command). O(rows) decoding, fetched in chunks."""
        last = self.last_seq if to_seq is None else min(to_seq, self.last_seq)
        start = await self._call(reader.entry_start, self._conn, from_seq)
        while start <= last:
            rows: list[Row] = await self._call(_fetch, self._conn, start, last, 2000)
            if not rows:
                return
            for row in rows:
                yield reader.entry_of(row)
            start = rows[-1][0] + 1

    async def edge_seqs(self, upto_seq: int) -> list[int]:
        """The seqs of the snapshots at or before `upto_seq` that carry the caller's own state
        (`snapshot(engine, edge)`), newest first."""
        return await self._call(_edge_seqs, self._conn, upto_seq)

    async def edge(self, seq: int) -> bytes:
        """The caller's own state saved with the snapshot at `seq`."""
        return await self._call(_edge, self._conn, seq)

    async def settle(self) -> None:
        """Wait for the background writes queued so far (snapshots, the orders projection)."""
        if self._background is not None:
            await self._background

    async def close(self) -> None:
        """Finish the background writes (so the orders projection is up to date), close."""
        try:
            await self.settle()
        finally:
            await self._call(self._conn.close)
            self._thread.shutdown()

    # -- the writer thread and background writes -----------------------------------------

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on the writer thread (the only one that touches the file)."""
        return await _run(self._thread, function, *args)

    def _snapshot_due(self, record: BatchRecord) -> tuple[int, str, int, bytes] | None:
        """Serialize the attached engine now if a snapshot is due and it sits at `record`."""
        self._since_snapshot += record.last_seq - record.first_seq + 1
        engine = self._engine
        if self._since_snapshot < self._snapshot_every or engine is None:
            return None
        if engine.seq != record.last_seq or engine.digest() != record.digest:
            return None  # the engine has moved on (or is not this ledger's): try next batch
        self._since_snapshot = 0
        return record.last_seq, record.digest, engine_snapshot.FORMAT, engine_snapshot.dump(engine)

    def _project_later(self) -> None:
        """Queue the orders projection of the batches not yet projected, unless a queued one
        that has not started will take them."""
        if not self._projection_queued:
            self._projection_queued = True
            self._later(self._unprojected_batches, writes.project_orders)

    def _unprojected_batches(self) -> tuple[list[list[Entry]], int]:
        batches, self._unprojected = self._unprojected, []
        self._projection_queued = False
        return batches, self.last_seq

    def _later(self, arguments: Callable[[], tuple[Any, ...]],
               function: Callable[..., None]) -> None:
        """Run `function(conn, *arguments())` on the writer thread after the background writes
        before it, between appends; `arguments` is called when the write starts."""
        previous = self._background

        async def write() -> None:
            if previous is not None:
                await previous
            async with self._lock:
                await self._call(function, self._conn, *arguments())

        self._background = asyncio.ensure_future(write())


def _edge_seqs(conn: Connection, upto_seq: int) -> list[int]:
    return [seq for (seq,) in conn.execute(
        "SELECT seq FROM snapshots WHERE seq <= ? AND edge IS NOT NULL ORDER BY seq DESC",
        (upto_seq,))]


def _edge(conn: Connection, seq: int) -> bytes:
    return bytes(conn.execute("SELECT edge FROM snapshots WHERE seq = ?", (seq,)).fetchone()[0])


def _fetch(conn: Connection, first: int, last: int, limit: int) -> list[Row]:
    return conn.execute(SELECT_CHUNK, (first, last, limit)).fetchall()


async def _run(thread: ThreadPoolExecutor, function: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(thread, function, *args)
