"""Reading a ledger file synchronously: opening it safely, streaming its rows and batches, and
recovering an engine from it. Used by the auditor CLI directly and by `Ledger.recover` in a
worker thread, so both read a file the same way.

A file is refused (LedgerError, one clear line) unless it exists, is non-empty, is SQLite, and
holds this schema version. Reads see only committed transactions; recovery stops at the last
whole batch, whatever rows may follow it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from exchange.engine import Engine, codec
from exchange.engine.snapshot import SnapshotError
from exchange.engine.snapshot import load as load_snapshot
from exchange.ledger.records import Entry
from exchange.ledger.replay import Replayer, walk
from exchange.ledger.schema import (
    SELECT_BATCHES,
    SELECT_ROWS,
    BatchRecord,
    LedgerError,
    Row,
    body_records,
    check_meta,
)

SQLITE_MAGIC = b"SQLite format 3\x00"
SELECT_HEAD = SELECT_BATCHES + " ORDER BY id DESC LIMIT 1"
ENTRY_START = "SELECT coalesce(max(seq), 1) FROM events WHERE seq <= ?"


def check_file(path: Path) -> None:
    """LedgerError unless `path` is a ledger file this code reads. Reads only."""
    if not path.exists():
        raise LedgerError(f"{path}: no such file")
    if path.is_dir():
        raise LedgerError(f"{path}: is a directory, not a ledger file")
    if path.stat().st_size == 0:
        raise LedgerError(f"{path}: empty file, not a ledger")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise LedgerError(f"{path}: not a SQLite database, so not a ledger")
    conn = _connect(path, writable=False)
    conn.close()


def connect(path: str | Path, *, writable: bool = False) -> sqlite3.Connection:
    """A checked connection to the ledger at `path` (read-only unless `writable`)."""
    path = Path(path)
    check_file(path)
    return _connect(path, writable)


def _connect(path: Path, writable: bool) -> sqlite3.Connection:
    mode = "rw" if writable else "ro"
    try:
        conn = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, isolation_level=None)
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        meta = dict(conn.execute("SELECT key, value FROM meta")) if "meta" in tables else {}
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{path}: unreadable as a ledger ({exc})") from None
    try:
        check_meta(tables, meta, str(path))
    except LedgerError:
        conn.close()
        raise
    return conn


def head(conn: sqlite3.Connection) -> BatchRecord | None:
    row = conn.execute(SELECT_HEAD).fetchone()
    return None if row is None else BatchRecord(*row)


def batches(conn: sqlite3.Connection, after_id: int = 0) -> Iterator[BatchRecord]:
    cursor = conn.execute(SELECT_BATCHES + " WHERE id > ? ORDER BY id", (after_id,))
    return (BatchRecord(*row) for row in cursor)


def rows(conn: sqlite3.Connection, after_seq: int = 0,
         to_seq: int | None = None) -> Iterator[Row]:
    """Rows with seq in (after_seq, to_seq], in seq order, streamed."""
    if to_seq is None:
        return conn.execute(SELECT_ROWS + " WHERE seq > ? ORDER BY seq", (after_seq,))
    return conn.execute(SELECT_ROWS + " WHERE seq > ? AND seq <= ? ORDER BY seq",
                        (after_seq, to_seq))


def entry_start(conn: sqlite3.Connection, seq: int) -> int:
    """The seq of the command whose entry holds `seq` (1 if none does). O(log rows)."""
    return int(conn.execute(ENTRY_START, (seq,)).fetchone()[0])


def entry_of(row: Row) -> Entry:
    """The entry a row records, decoded. O(bytes)."""
    seq, _, _, origin, body = row
    command, *events = [codec.decode(record) for record in body_records(body)]
    return Entry(seq, command, events, origin or "")


class Recovery(NamedTuple):
    engine: Engine  # after the last whole batch
    snapshot_seq: int  # where the snapshot it started from ends (0: none, replayed from 1)
    edge: bytes | None  # the edge's own state saved with that snapshot, if any


def recover(path: str | Path) -> Engine:
    """The engine after the last whole batch of the ledger at `path` (see Ledger.recover)."""
    return recovery(path).engine


def recovery(path: str | Path) -> Recovery:
    """`recover`, with the snapshot it started from."""
    conn = connect(path)
    try:
        last = head(conn)
        if last is None:
            return Recovery(Engine(), 0, None)
        engine, start, edge = _newest_snapshot(conn, last.last_seq)
        replayer = Replayer(engine)
        walk(batches(conn, 0 if start is None else start.id),
             rows(conn, 0 if start is None else start.last_seq, last.last_seq),
             replayer, start)
        return Recovery(replayer.engine, 0 if start is None else start.last_seq, edge)
    finally:
        conn.close()


def _newest_snapshot(conn: sqlite3.Connection, last_seq: int
                     ) -> tuple[Engine | None, BatchRecord | None, bytes | None]:
    """The newest snapshot that loads and matches the batch it claims to follow, with that
    batch and its edge state; Nones when there is none. A bad snapshot is passed over, not
    trusted."""
    candidates = conn.execute(
        "SELECT seq, digest FROM snapshots WHERE seq <= ? ORDER BY seq DESC", (last_seq,))
    for seq, digest in candidates.fetchall():
        found = conn.execute(SELECT_BATCHES + " WHERE last_seq = ?", (seq,)).fetchone()
        if found is None or BatchRecord(*found).digest != digest:
            continue
        body, edge = conn.execute(
            "SELECT body, edge FROM snapshots WHERE seq = ?", (seq,)).fetchone()
        try:
            engine = load_snapshot(body)
        except SnapshotError:
            continue
        if engine.seq == seq and engine.digest() == digest:
            return engine, BatchRecord(*found), edge
    return None, None, None


class EntryBuilder:
    """Rows (seq order) to entries, for callers that stream them: each row is one entry, so
    `finish` has nothing left over (schema 1 spread an entry over several rows)."""

    def feed(self, chunk: Iterable[Row]) -> Iterator[Entry]:
        return map(entry_of, chunk)

    def finish(self) -> Iterator[Entry]:
        return iter(())
