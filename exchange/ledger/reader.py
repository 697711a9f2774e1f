"""Reading a ledger file synchronously: opening it safely, streaming its rows and batches, and
recovering an engine from it. Used by the auditor CLI directly and by `Ledger.recover` in a
worker thread, so both read a file the same way.

A file is refused (LedgerError, one clear line) unless it exists, is non-empty, is SQLite, and
holds this schema version. Reads see only committed transactions; recovery stops at the last
whole batch, whatever rows may follow it.

What recovery checks (so what a starting server checks): the newest snapshot's signature and
the hashes of its engine and gateway bytes (a bad one refuses the file: it was written by the
venue, so a mismatch is tampering), the signature of the batch it ends, and from there every
later batch's link, hash and signature, its rows against its `events_hash`, and the replay of
its commands. Batches and rows before the snapshot are not read: the signed snapshot stands
for them. Only `audit verify` checks those, every snapshot's signature, and the projections.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import msgpack
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from exchange.engine import Engine, codec
from exchange.engine.snapshot import FORMAT as ENGINE_FORMAT
from exchange.engine.snapshot import SnapshotError
from exchange.engine.snapshot import load as load_snapshot
from exchange.ledger import signing
from exchange.ledger.records import Entry
from exchange.ledger.replay import Replayer, walk
from exchange.ledger.schema import (
    SELECT_BATCH_BLOBS,
    SELECT_BATCHES,
    SELECT_SNAPSHOT_SEALS,
    BatchRecord,
    LedgerError,
    Row,
    SnapshotSeal,
    body_records,
    check_meta,
    unpack_batch,
)
from exchange.ledger.signing import batch_fault, snapshot_fault

SQLITE_MAGIC = b"SQLite format 3\x00"
SELECT_HEAD = SELECT_BATCHES + " ORDER BY id DESC LIMIT 1"
ENTRY_START = ("SELECT first_seq, entries FROM batches WHERE last_seq >= ? ORDER BY last_seq "
               "LIMIT 1")


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


def batch_blobs(conn: sqlite3.Connection, after_id: int = 0
                ) -> Iterator[tuple[BatchRecord, bytes, bytes]]:
    """Each batch after `after_id` in order, with its (index, body) blobs, streamed: one SQLite
    row per batch."""
    cursor = conn.execute(SELECT_BATCH_BLOBS + " WHERE id > ? ORDER BY id", (after_id,))
    return ((BatchRecord(*row[:8]), row[8], row[9]) for row in cursor)


def rows(conn: sqlite3.Connection, after_seq: int = 0,
         to_seq: int | None = None) -> Iterator[Row]:
    """The entries whose command seq is in (after_seq, to_seq], in seq order, as rows
    `(seq, ts_us, kind, origin, body)`, streamed batch by batch. LedgerError for a batch whose
    blobs do not unpack. O(entries of the batches read)."""
    sql = "SELECT first_seq, entries, body FROM batches WHERE last_seq > ?"
    params: tuple[int, ...] = (after_seq,)
    if to_seq is not None:
        sql += " AND first_seq <= ?"
        params = (after_seq, to_seq)
    for first_seq, index, body in conn.execute(sql + " ORDER BY last_seq", params):
        for row in unpack_batch(index, body, first_seq):
            if row[0] > after_seq and (to_seq is None or row[0] <= to_seq):
                yield row


def entry_start(conn: sqlite3.Connection, seq: int) -> int:
    """The seq of the command whose entry holds `seq` (the last command's past the end, 1 if
    there is none). O(log batches) plus one batch's index."""
    found = conn.execute(ENTRY_START, (seq,)).fetchone() or conn.execute(
        "SELECT first_seq, entries FROM batches ORDER BY last_seq DESC LIMIT 1").fetchone()
    if found is None or seq < found[0]:
        return 1
    starts = command_seqs(found[1], found[0])
    return starts[bisect_right(starts, seq) - 1]


def command_seqs(index: bytes, first_seq: int) -> list[int]:
    """The command seqs a batch's index lists. LedgerError naming `first_seq` if it does not
    decode."""
    try:
        return [int(entry[0]) for entry in msgpack.unpackb(index)]
    except (msgpack.UnpackException, ValueError, TypeError, IndexError):
        raise LedgerError(f"seq {first_seq}: the batch's entry index does not decode",
                          first_seq) from None


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
    """`recover`, with the snapshot it started from (checked as the module docstring says)."""
    conn = connect(path)
    try:
        last = head(conn)
        if last is None:
            return Recovery(Engine(), 0, None)
        key = public_key(conn)
        engine, start, edge = _newest_snapshot(conn, key, last.last_seq)
        replayer = Replayer(engine)
        walk(batch_blobs(conn, 0 if start is None else start.id), replayer, key, start)
        return Recovery(replayer.engine, 0 if start is None else start.last_seq, edge)
    finally:
        conn.close()


def public_key(conn: sqlite3.Connection) -> Ed25519PublicKey:
    """The public key the ledger's meta names (check_meta made sure there is one)."""
    (text,) = conn.execute("SELECT value FROM meta WHERE key = 'public_key'").fetchone()
    return signing.public_key(text, "the ledger's meta public_key")


def batch_ending(conn: sqlite3.Connection, seq: int) -> BatchRecord | None:
    found = conn.execute(SELECT_BATCHES + " WHERE last_seq = ?", (seq,)).fetchone()
    return None if found is None else BatchRecord(*found)


def batch_numbered(conn: sqlite3.Connection, batch_id: int) -> BatchRecord | None:
    found = conn.execute(SELECT_BATCHES + " WHERE id = ?", (batch_id,)).fetchone()
    return None if found is None else BatchRecord(*found)


def snapshot_seals(conn: sqlite3.Connection, upto_seq: int | None = None) -> list[SnapshotSeal]:
    """The snapshots' seals, newest first (those at or before `upto_seq` if given)."""
    where = "" if upto_seq is None else f" WHERE seq <= {int(upto_seq)}"
    return [SnapshotSeal(*row) for row in conn.execute(
        SELECT_SNAPSHOT_SEALS + where + " ORDER BY seq DESC")]


def checked_snapshot(conn: sqlite3.Connection, key: Ed25519PublicKey, seal: SnapshotSeal,
                     parts: str = "body, edge") -> tuple[BatchRecord, list[Any]]:
    """The batch the snapshot `seal` ends and its `parts` (columns), all checked against the
    seal and its signature, and the batch's own signature. LedgerError naming the seq."""
    batch = batch_ending(conn, seal.seq)
    values = list(conn.execute(f"SELECT {parts} FROM snapshots WHERE seq = ?",
                               (seal.seq,)).fetchone())
    named = dict(zip([p.strip() for p in parts.split(",")], values, strict=True))
    fault = snapshot_fault(key, seal, batch, named.get("body"), named.get("edge"))
    if fault is None and "edge" in named and named["edge"] is None and seal.edge_hash:
        fault = f"the snapshot at seq {seal.seq}: its gateway state is missing"
    if fault is None and batch is not None:
        fault = batch_fault(key, batch)
    if fault is not None or batch is None:
        raise LedgerError(f"seq {seal.seq}: {fault}", seal.seq)
    return batch, values


def _newest_snapshot(conn: sqlite3.Connection, key: Ed25519PublicKey, last_seq: int
                     ) -> tuple[Engine | None, BatchRecord | None, bytes | None]:
    """The newest snapshot, checked (`checked_snapshot`), loaded, with the batch it ends and
    its edge state; Nones when there is none. One of an older engine format is passed over
    (replay from an earlier one); a bad one refuses the file: it is signed, so it was not
    written as it is."""
    for seal in snapshot_seals(conn, last_seq):
        batch, (body, edge) = checked_snapshot(conn, key, seal)
        if seal.format != ENGINE_FORMAT:
            continue
        try:
            engine = load_snapshot(body)
        except SnapshotError as exc:
            raise LedgerError(f"seq {seal.seq}: the signed snapshot does not load ({exc})",
                              seal.seq) from None
        if engine.seq != seal.seq or engine.digest() != seal.digest:
            raise LedgerError(f"seq {seal.seq}: the signed snapshot loads to another state",
                              seal.seq)
        return engine, batch, edge
    return None, None, None


class EntryBuilder:
    """Rows (seq order) to entries, for callers that stream them: each row is one entry, so
    `finish` has nothing left over (schema 1 spread an entry over several rows)."""

    def feed(self, chunk: Iterable[Row]) -> Iterator[Entry]:
        return map(entry_of, chunk)

    def finish(self) -> Iterator[Entry]:
        return iter(())
