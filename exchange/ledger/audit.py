"""Offline checks an auditor runs on a ledger file: verify, checkpoint, replay to a point, and
rebuild the projections. Synchronous (sqlite3); the CLI (`exchange audit`) only presents.

`verify` is the full check: every batch links to the one before it from the genesis hash and
is signed by the venue's key (the one given, or else the one the ledger's meta names), every
row of every batch hashes to the batch's `events_hash`, every recorded event is byte for byte
what a fresh engine produces from the recorded commands, the engine digest after each batch
equals the recorded one, every snapshot's bytes match its signed hash, and the projections
(`accounts`, `trades`, `orders`, up to their mark) equal a rebuild from the replayed events. The
first failure raises LedgerError naming its seq.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from exchange.engine import Engine
from exchange.ledger import reader, signing, writes
from exchange.ledger.replay import Replayer, walk
from exchange.ledger.schema import PROJECTION_TABLES, BatchRecord, LedgerError

# each projection, its key column and the column naming a seq for an error message
PROJECTION_KEYS = (("accounts", "account", None), ("trades", "trade_id", "seq"),
                   ("orders", "order_id", "last_seq"))


class Summary(NamedTuple):
    batches: int
    last_seq: int
    commands: int
    events: int
    trades: int
    instruments: int
    accounts: int
    first_ts_us: int | None
    last_ts_us: int | None
    head_hash: str | None
    public_key: str  # the key every batch and snapshot was checked against
    key_given: bool  # it was given (--pubkey), not taken from the ledger's meta
    snapshots: int  # snapshots checked against their signed hashes
    projected_seq: int | None  # the projections' mark (None: not checked)


def verify(path: str | Path, progress: Callable[[int, int], None] | None = None,
           expect: tuple[int, str] | None = None, replay: bool = True,
           key: Ed25519PublicKey | None = None) -> Summary:
    """Check the whole file (see the module docstring) against the public `key` (None: the one
    the ledger's meta names). `progress(seq, last_seq)` is called after each batch;
    `expect=(seq, hash)` also requires a batch ending at `seq` with that hash (a checkpoint
    recorded earlier); `replay=False` checks the chain, signatures and hashes only (no engine,
    so no projections either: fast, but blind to a history that was rewritten and re-signed
    by the key holder). Cost: one apply per command, O(bytes) hashing, one signature check per
    batch and snapshot, the projections rebuilt in memory."""
    conn = reader.connect(path)
    try:
        given = key is not None
        key = reader.public_key(conn) if key is None else key
        head = reader.head(conn)
        last_seq = 0 if head is None else head.last_seq
        rebuilt = _Rebuilt(path, _projected_mark(conn)) if replay else None
        replayer = Replayer(collect=None if rebuilt is None else rebuilt.events)
        matched: list[BatchRecord] = []

        def on_batch(batch: BatchRecord) -> None:
            if expect is not None and batch.last_seq == expect[0]:
                matched.append(batch)
            if rebuilt is not None:
                rebuilt.end_batch(batch)
            if progress is not None:
                progress(batch.last_seq, last_seq)

        last = walk(reader.batch_blobs(conn), replayer if replay else None, key, None, on_batch)
        if expect is not None:
            _check_expected(expect, matched)
        snapshots = _check_snapshots(conn, key)
        if rebuilt is not None:
            rebuilt.compare()
        engine = replayer.engine
        return Summary(0 if last is None else last.id, last_seq, replayer.commands,
                       replayer.events, replayer.trades, len(engine.instruments),
                       len(engine.accounts), replayer.first_ts, replayer.last_ts,
                       None if last is None else last.hash, signing.public_hex(key), given,
                       snapshots, None if rebuilt is None else rebuilt.mark)
    finally:
        conn.close()


def _check_snapshots(conn: sqlite3.Connection, key: Ed25519PublicKey) -> int:
    """Every snapshot's bytes against its signed hash (not loaded: recovery loads the newest).
    The number checked. O(snapshot bytes)."""
    seals = reader.snapshot_seals(conn)
    for seal in seals:
        reader.checked_snapshot(conn, key, seal)
    return len(seals)


def _projected_mark(conn: sqlite3.Connection) -> int:
    try:
        found = conn.execute(writes.GET_PROJECTED).fetchone()
    except sqlite3.DatabaseError:
        found = None
    if found is None or type(found[0]) is not int:
        raise LedgerError("the projections have no valid mark (`exchange audit rebuild` "
                          "regenerates them)")
    return int(found[0])


class _Rebuilt:
    """The projections rebuilt in memory from the replayed events up to the file's mark (they
    trail the chain), then compared with the file's tables in SQL. The events are projected
    `CHUNK` or more at a time (whole batches), not batch by batch: an order's changes within a
    chunk are one row write, and projecting is chunk-independent (as `writes.rebuild`)."""

    CHUNK = 100_000

    def __init__(self, path: str | Path, mark: int) -> None:
        self.path = Path(path)
        self.mark = mark
        self.events: list[Any] = []  # the replayer appends each row's events here
        self._pending = 0  # how many of `events`, from the start, are of batches to project
        self._db = sqlite3.connect("file::memory:", uri=True, isolation_level=None)
        self._db.executescript(PROJECTION_TABLES)
        self._db.execute("BEGIN")

    def end_batch(self, batch: BatchRecord) -> None:
        if batch.last_seq <= self.mark:
            self._pending = len(self.events)
            if self._pending >= self.CHUNK:
                self._flush()
        else:  # past the mark: this batch's events are not projected
            self._flush()
            self.events.clear()

    def _flush(self) -> None:
        if self._pending:
            writes.project(self._db, self.events[:self._pending])
            del self.events[:self._pending]
            self._pending = 0

    def compare(self) -> None:
        """LedgerError naming the first projected row that differs from the rebuild."""
        self._flush()
        db = self._db
        db.execute("COMMIT")
        db.execute("ATTACH DATABASE ? AS file", (f"file:{self.path}?mode=ro",))
        try:
            for table, key, seq_column in PROJECTION_KEYS:
                self._compare(table, key, seq_column)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"the projections do not read ({exc}): `exchange audit rebuild` "
                              "regenerates them") from None
        finally:
            db.close()

    def _compare(self, table: str, key: str, seq_column: str | None) -> None:
        # (rows only in this one, the other, what it means when the other lacks the key)
        for ours, theirs, alone in (("main", "file", "is missing from the file"),
                                    ("file", "main", "is not in the rebuild")):
            found = self._db.execute(
                f"SELECT {key}{', ' + seq_column if seq_column else ''} FROM "
                f"(SELECT * FROM {ours}.{table} EXCEPT SELECT * FROM {theirs}.{table}) "
                f"ORDER BY {key} LIMIT 1").fetchone()
            if found is None:
                if ours == "main" and self._count("main", table) == self._count("file", table):
                    return  # every rebuilt row is in the file, and it has no others
                continue
            seq = found[1] if seq_column and type(found[1]) is int else None
            where = f"seq {seq}: " if seq is not None else ""
            detail = ("differs from the rebuild from the events"
                      if self._has(theirs, table, key, found[0]) else alone)
            raise LedgerError(f"{where}the {table} projection's row {key}={found[0]!r} {detail} "
                              "(`exchange audit rebuild` regenerates it)", seq)

    def _count(self, schema: str, table: str) -> int:
        return int(self._db.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0])

    def _has(self, schema: str, table: str, key: str, value: Any) -> bool:
        return self._db.execute(f"SELECT 1 FROM {schema}.{table} WHERE {key} = ?",
                                (value,)).fetchone() is not None


def _check_expected(expect: tuple[int, str], matched: list[BatchRecord]) -> None:
    seq, expected_hash = expect
    if not matched:
        raise LedgerError(f"seq {seq}: no batch ends there, so the checkpoint cannot match", seq)
    if matched[0].hash != expected_hash:
        raise LedgerError(f"seq {seq}: batch {matched[0].id} has hash {matched[0].hash}, the "
                          f"checkpoint says {expected_hash}: history was rewritten", seq)


def checkpoint(path: str | Path) -> BatchRecord | None:
    """The last batch (its id, last seq and hash), for an auditor to record elsewhere."""
    conn = reader.connect(path)
    try:
        return reader.head(conn)
    finally:
        conn.close()


def replay_to(path: str | Path, to_seq: int | None = None, to_ts_us: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> Engine:
    """The engine after the last command with seq <= `to_seq` and ts_us <= `to_ts_us` (either
    may be None: no bound), replayed from the start and checked on the way. A seq inside a
    command's events means the state after that whole command. `progress(seq, last_seq)` is
    called after each command."""
    conn = reader.connect(path)
    try:
        head = reader.head(conn)
        last_seq = 0 if head is None else head.last_seq
        if to_seq is not None:
            last_seq = min(last_seq, to_seq)
        replayer = Replayer()
        for seq, ts_us, kind, _, body in reader.rows(conn, 0, 0 if head is None
                                                     else head.last_seq):
            if (to_seq is not None and seq > to_seq) or (to_ts_us is not None
                                                         and ts_us > to_ts_us):
                break
            replayer.row(seq, ts_us, kind, body)
            if progress is not None:
                progress(replayer.engine.seq, last_seq)
        return replayer.engine
    finally:
        conn.close()


def rebuild(path: str | Path, chunk: int = 20_000,
            progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Drop and regenerate the projection tables from the rows of committed batches, in one
    transaction. Returns the row count of each. O(rows). `progress(seq, last_seq)` as the
    rows are read."""
    conn = reader.connect(path, writable=True)
    try:
        head = reader.head(conn)
        return writes.rebuild(conn, 0 if head is None else head.last_seq, chunk, progress)
    finally:
        conn.close()
