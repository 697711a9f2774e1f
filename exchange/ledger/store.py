"""The venue's ledger: an append-only, hash-chained SQLite file, written in durable batches.

Invariant: every row in `events` up to `last_seq` belongs to exactly one committed batch; each
batch was one transaction, committed with `synchronous=FULL` in WAL mode before `append`
returned, so whatever a caller published after `append` survives a crash (DESIGN rule 4). The
layout and the chain are in schema.py, the transactions in writes.py, the replay rules in
replay.py; this module is the asyncio edge.

One writer thread (writer.py) owns the file's connection, and each write is one call to it (an
append: encode, hash, insert, commit, head mark), so an append costs the event loop one await
however busy the loop is. (That is aiosqlite's model — a thread that owns a sqlite3 connection — with one hop
per transaction instead of one per statement: an append was eight awaits through aiosqlite,
each queued behind the busy event loop, so the ledger uses sqlite3 on its own thread instead.) Group commit is the caller's loop: it awaits `append(batch)` before publishing that
batch, and the commands that arrive meanwhile form the next batch. Appends are serialized;
each costs one fsync'd commit, so larger batches amortize it.

Every batch and snapshot is signed with the venue's key (signing.py), held in a file outside
the ledger; after each commit the writer rewrites the head mark (headmark.py), so `open`
refuses a ledger cut short behind its back.

Background writes, on the writer thread: snapshots, queued among the appends once their bytes
are in (`snapshot(engine)` forks a child that serializes the engine, the fork being the only
part that holds the caller; `append` does the same every `snapshot_every` seqs when it has the
engine, from `recover` or `attach`, and that engine is exactly at the batch's end; the bytes are
awaited on a thread of their own, not the writer's), and the projections (projections.py: they trail the
chain), written by the thread whenever no call waits, each write taking every batch appended
since the last one, so a busy writer merges them; `open` catches up after a crash.

A failed background write is retried, not fatal, and never silent: it is logged (once per run
of failures, and again when they end), counted in `health()` (operators' `stats`), and the
writes after it still run. A failed projection write keeps its batches, and the projection is
tried again after the next append (or at `settle`); a failed snapshot is taken again
`snapshot_every` seqs later. The durable chain does not depend on them: if the disk is really gone, the next append
fails, and that stops the venue (DESIGN rule 4).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from sqlite3 import Connection
from typing import Any, TypeVar

from exchange.engine import Engine
from exchange.engine import snapshot as engine_snapshot
from exchange.ledger import forked, headmark, reader, signing, writes
from exchange.ledger.background import BackgroundRecord
from exchange.ledger.records import Batch, Entry
from exchange.ledger.schema import GENESIS, BatchRecord, LedgerError, Row
from exchange.ledger.writer import WriterThread

T = TypeVar("T")


class Ledger:
    """The writer of one ledger file. Make it with `await Ledger.open(path)`."""

    def __init__(self, path: Path, conn: Connection, writer: WriterThread,
                 head: BatchRecord | None, snapshot_every: int, key: signing.VenueKey,
                 mark_file: Path) -> None:
        self.path = path
        self.mark_file = mark_file
        self._head = head
        self._snapshot_every = snapshot_every
        self._since_snapshot = 0
        self._engine: Engine | None = None
        self.recovered = reader.Recovery(Engine(), 0, None)  # what `recover` started from
        self._lock = asyncio.Lock()  # appends one at a time (each continues the last head)
        self.background = BackgroundRecord(path, asyncio.get_running_loop())
        self.projected_seq = self.last_seq  # the projections are current to here (open caught up)
        self._projection_moved = asyncio.Event()
        self._watching = 0  # callers of `projected` waiting: the thread tells the loop then
        self._snapshots: set[asyncio.Task[None]] = set()  # waiting for their children's bytes
        # the writer thread's own: only it touches these
        self._conn = conn
        self._key = key
        self._mark = headmark.MarkWriter(mark_file)
        self._unprojected: list[list[Entry]] = []  # batches after the projections' mark
        self._unprojected_to = self.last_seq
        self._projection_stuck = False  # it failed: wait for the next append (or `settle`)
        self._writer = writer
        writer.idle = self._project_idle

    @classmethod
    async def open(cls, path: str | Path, *, snapshot_every: int = 100_000,
                   key_file: Path | None = None, mark_file: Path | None = None) -> Ledger:
        """Open the ledger at `path`, creating it (and its folder) if absent, signing with the
        key in `key_file` (default `PATH.key`; made for a new ledger) and keeping the head mark
        in `mark_file` (default `PATH.head`). LedgerError for a file that is not a ledger this
        code reads, a key that is not the one the ledger names, or a ledger shorter than (or
        other than) its head mark. Cost: the projections' catch-up, if a crash left them
        behind (the last batches before the crash)."""
        path = Path(path)
        key_file = signing.key_path_for(path) if key_file is None else Path(key_file)
        mark_file = headmark.mark_path_for(path) if mark_file is None else Path(mark_file)
        create = not path.exists()
        if not create:
            reader.check_file(path)  # refuses before SQLite could turn it into a database
        key = signing.load_or_create(key_file, create)
        mark = headmark.read(mark_file)
        if create and mark is not None:
            raise LedgerError(f"{path} does not exist, but its head mark {mark_file} says seq "
                              f"{mark.seq} was committed: the ledger was removed", mark.seq)
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = WriterThread("ledger-writer")
        try:
            conn, head = await writer.call(_open_checked, path, create, key.public_hex,
                                           mark_file, mark)
        except BaseException:
            writer.stop()
            raise
        return cls(path, conn, writer, head, snapshot_every, key, mark_file)

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
            record = await self._writer.call(self._append_batch, batch.entries, self._head,
                                             batch.digest)
            self._head = record
            pending_snapshot = self._snapshot_due(record)
            if pending_snapshot is not None:
                self._store_snapshot(*pending_snapshot)

    @property
    def snapshot_due(self) -> bool:
        """Whether `snapshot_every` seqs were appended since the last snapshot: a caller whose
        engine runs ahead of the ledger (a pipelined writer) calls `snapshot` when its engine
        is back at the last batch."""
        return self._since_snapshot >= self._snapshot_every

    async def snapshot(self, engine: Engine,
                       edge: bytes | Callable[[], bytes] | None = None) -> None:
        """Record `engine`'s state, which must be exactly at the last committed batch, with
        `edge`, the caller's own state at the same seq (given back by `recovered`; a function
        making it is called in the forked child, so its cost does not hold the caller). Holds the
        caller for a fork only: a child process serializes the engine (forked.py), and the
        writer thread waits for its bytes and writes them in the background (`close` and the
        next `append` wait for it)."""
        if engine.seq != self.last_seq or engine.digest() != self.last_digest:
            raise LedgerError(f"snapshot at seq {engine.seq}: the engine is not at the ledger's "
                              f"last batch (seq {self.last_seq})", engine.seq)
        snapshot = (engine.seq, engine.digest(), engine_snapshot.FORMAT,
                    forked.dump_in_child(engine, edge if callable(edge) else None),
                    None if callable(edge) else edge)
        self._store_snapshot(*snapshot)
        self._since_snapshot = 0

    async def entries(self, from_seq: int = 1, to_seq: int | None = None
                      ) -> AsyncIterator[Entry]:
        """Committed entries in order: those whose command seq is in [from_seq, to_seq] (an
        event seq in `from_seq` starts at its command). O(rows) decoding, fetched in chunks."""
        last = self.last_seq if to_seq is None else min(to_seq, self.last_seq)
        start = await self._call(reader.entry_start, from_seq)
        while start <= last:
            rows: list[Row] = await self._call(_fetch, start, last, 2000)
            if not rows:
                return
            for row in rows:
                yield reader.entry_of(row)
            start = rows[-1][0] + 1

    async def edge_seqs(self, upto_seq: int) -> list[int]:
        """The seqs of the snapshots at or before `upto_seq` that carry the caller's own state
        (`snapshot(engine, edge)`), newest first."""
        return await self._call(_edge_seqs, upto_seq)

    async def edge(self, seq: int) -> bytes:
        """The caller's own state saved with the snapshot at `seq`, checked against the
        snapshot's signature (LedgerError if it does not match)."""
        return await self._call(_edge, seq)

    async def projected(self, seq: int, timeout: float = 2.0) -> bool:
        """Wait until the projections are current to `seq` (at most `timeout` seconds, so a
        failing projection cannot hold a reader forever): whether they are. A reader of them
        that must see every committed batch (`list_trades`) asks first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._watching += 1  # before looking: the thread reads it after moving the mark
        try:
            while self.projected_seq < seq:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                moved = self._projection_moved
                try:
                    await asyncio.wait_for(moved.wait(), remaining)
                except TimeoutError:
                    return False
            return True
        finally:
            self._watching -= 1

    def health(self) -> dict[str, Any]:
        """What operators watch (`stats`): the background writes' failures this run, the last
        one's error while they fail (None once one succeeds), the last committed seq and the
        seq the projections are current to."""
        return {"ledger_last_seq": self.last_seq, "ledger_projected_seq": self.projected_seq,
                "ledger_background_failures": self.background.failures,
                "ledger_background_error": self.background.error}

    async def settle(self) -> None:
        """Wait for the background writes queued so far (snapshots), and bring the projections
        up to date. Their failures are reported (`health`, the log), not raised."""
        while self._snapshots:  # their bytes, still coming from the forked children
            await asyncio.wait(set(self._snapshots))
        await self._writer.call(self._project_pending)

    async def close(self) -> None:
        """Finish the background writes (so the projections are up to date), make the
        head mark durable, close."""
        try:
            await self.settle()
        finally:
            await self._writer.call(self._close_files)
            self._writer.stop()

    # -- the writer thread and background writes -----------------------------------------

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """`function(self._conn, *args)` on the writer thread (the only one that touches the
        file), after the calls before it."""
        return await self._writer.call(function, self._conn, *args)

    def _snapshot_due(self, record: BatchRecord
                      ) -> tuple[int, str, int, Callable[[], tuple[bytes, bytes | None]]] | None:
        """Start serializing the attached engine (in a forked child) if a snapshot is due and
        it sits at `record`."""
        self._since_snapshot += record.last_seq - record.first_seq + 1
        engine = self._engine
        if self._since_snapshot < self._snapshot_every or engine is None:
            return None
        if engine.seq != record.last_seq or engine.digest() != record.digest:
            return None  # the engine has moved on (or is not this ledger's): try next batch
        self._since_snapshot = 0
        return (record.last_seq, record.digest, engine_snapshot.FORMAT,
                forked.dump_in_child(engine))

    def _store_snapshot(self, seq: int, digest: str, engine_format: int,
                        body: Callable[[], tuple[bytes, bytes | None]],
                        edge: bytes | None = None) -> None:
        """Wait for a forked child's snapshot bytes on a thread of their own, then write them
        on the writer thread (which goes on appending meanwhile: the child takes ~1 s per
        million orders, and a writer waiting for it held every acknowledgement that long)."""
        async def store() -> None:
            try:
                engine_body, made = await asyncio.to_thread(body)
            except Exception as exc:  # noqa: BLE001 - reported through the writer, in order
                self._background("snapshot", _raise, exc)
            else:
                self._background("snapshot", self._put_snapshot, seq, digest, engine_format,
                                 engine_body, edge if made is None else made)

        task = asyncio.ensure_future(store())
        self._snapshots.add(task)
        task.add_done_callback(self._snapshots.discard)

    def _background(self, what: str, function: Callable[..., None], *args: Any) -> None:
        """`function(*args)` on the writer thread after the calls before it; its failure is
        reported (`self.background`), not passed on."""
        def write() -> None:
            try:
                function(*args)
            except Exception as exc:  # noqa: BLE001 - reported, and retried later
                self.background.failed(what, exc)
            else:
                self.background.succeeded(what)

        self._writer.call(write)  # its future only ever holds None

    # on the writer thread:

    def _append_batch(self, entries: list[Entry], head: BatchRecord | None,
                      digest: str) -> BatchRecord:
        """writes.append, then the head mark (after the commit: the mark never leads the
        file); the batch waits for the projections."""
        record = writes.append(self._conn, self._key, entries, head, digest)
        self._mark.write(record)
        self._unprojected.append(entries)
        self._unprojected_to = record.last_seq
        self._projection_stuck = False
        return record

    def _put_snapshot(self, seq: int, digest: str, engine_format: int, body: bytes,
                      edge: bytes | None) -> None:
        writes.put_snapshot(self._conn, self._key, seq, digest, engine_format, body, edge)

    def _project_idle(self) -> bool:
        """The thread's idle work: the batches not yet projected, unless the last try failed
        and no batch came since. Whether it did anything."""
        if not self._unprojected or self._projection_stuck:
            return False
        self._project_pending()
        return True

    def _project_pending(self) -> None:
        """Project every batch not yet projected, in one transaction (writes.project_batches);
        on failure keep them for the next try."""
        batches, to_seq = self._unprojected, self._unprojected_to
        if not batches:
            return
        self._unprojected = []
        try:
            writes.project_batches(self._conn, batches, to_seq)
        except Exception as exc:  # noqa: BLE001 - reported, and retried later
            self._unprojected[:0] = batches
            self._projection_stuck = True
            self.background.failed("projection", exc)
            return
        self.projected_seq = to_seq  # an int: the loop reads it
        if self._watching:
            self.background.tell(self._moved)
        self.background.succeeded("projection")

    def _close_files(self) -> None:
        try:
            self._mark.close(self._head)
        finally:
            self._conn.close()

    # on the loop, told by the writer thread:

    def _moved(self) -> None:
        self._projection_moved.set()  # wake readers waiting for the projections
        self._projection_moved = asyncio.Event()


def _open_checked(path: Path, create: bool, public_key: str, mark_file: Path,
                  mark: headmark.Mark | None) -> tuple[Connection, BatchRecord | None]:
    """writes.open_file, then the head mark's check against the file."""
    conn, head = writes.open_file(path, create, public_key)
    try:
        at = None if mark is None else reader.batch_numbered(conn, mark.batch)
        headmark.check(mark_file, mark, head, at)
    except BaseException:
        conn.close()
        raise
    return conn, head


def _raise(exc: Exception) -> None:
    raise exc


def _edge_seqs(conn: Connection, upto_seq: int) -> list[int]:
    return [seq for (seq,) in conn.execute(
        "SELECT seq FROM snapshots WHERE seq <= ? AND edge IS NOT NULL ORDER BY seq DESC",
        (upto_seq,))]


def _edge(conn: Connection, seq: int) -> bytes:
    seals = reader.snapshot_seals(conn, seq)
    if not seals or seals[0].seq != seq:
        raise LedgerError(f"seq {seq}: no snapshot there", seq)
    _, (edge,) = reader.checked_snapshot(conn, reader.public_key(conn), seals[0], "edge")
    if edge is None:
        raise LedgerError(f"seq {seq}: the snapshot there has no gateway state", seq)
    return bytes(edge)


def _fetch(conn: Connection, first: int, last: int, limit: int) -> list[Row]:
    """The entries from command seq `first` to `last`, at least `limit` of them if there are
    (whole batches: the last one read is not cut)."""
    found: list[Row] = []
    for row in reader.rows(conn, first - 1, last):
        found.append(row)
        if len(found) >= limit:
            break
    return found

