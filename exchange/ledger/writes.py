"""The ledger file's write transactions, synchronous (sqlite3). The async `Ledger` runs each as
one call on its writer thread, and the auditor's `rebuild` runs them directly, so one set of
functions writes every file.

Each public function but `open_file` is one transaction (BEGIN IMMEDIATE … COMMIT, rolled back
on any error), committed with `synchronous=FULL` in WAL mode: durable when it returns (the
projections excepted, see `project_batches`).

The projections trail the chain (projections.py): `projected` says up to which seq they are
current; `project_batches` advances them with entries the caller holds (the writer's batches
since), `catch_up` from the entries in the file (after a crash), `rebuild` from scratch. So an
append is the batch's two blobs and its record, nothing else: the projections are written by
the writer thread after the commit, off the engine's path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from exchange.engine.codec import KIND_OF, CodecError
from exchange.ledger import reader
from exchange.ledger.projections import Statements
from exchange.ledger.projections import project_orders as order_writes
from exchange.ledger.projections import project_trades as trade_writes
from exchange.ledger.records import Entry
from exchange.ledger.schema import (
    GENESIS,
    INSERT_BATCH,
    INSERT_SNAPSHOT,
    PRAGMAS,
    PROJECTION_TABLES,
    PROJECTIONS,
    SYNCHRONOUS,
    TABLES,
    BatchRecord,
    LedgerError,
    Row,
    blob_hash,
    entry_body,
    meta_rows,
    pack_batch,
    record_ts,
    seal_hashed,
    sha256_hex,
    snapshot_hash,
)
from exchange.ledger.signing import VenueKey

SET_PROJECTED = "UPDATE projected SET seq = ? WHERE name = 'projections'"
GET_PROJECTED = "SELECT seq FROM projected WHERE name = 'projections'"
SYNCHRONOUS_DERIVED = "PRAGMA synchronous=NORMAL"


def open_file(path: Path, create: bool, public_key: str
              ) -> tuple[sqlite3.Connection, BatchRecord | None]:
    """The writer's connection to the ledger at `path` (made with its tables if `create`,
    naming `public_key` in its meta; the caller has checked an existing file), and its last
    batch. LedgerError if an existing ledger names another public key. Brings the
    projections up to that batch."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        if create:
            conn.executescript(
                "BEGIN;" + TABLES + PROJECTION_TABLES
                + "".join(f"INSERT INTO meta VALUES ('{k}', '{v}');"
                          for k, v in meta_rows(public_key))
                + "COMMIT;")
        else:
            (named,) = conn.execute("SELECT value FROM meta WHERE key = 'public_key'").fetchone()
            if named != public_key:
                raise LedgerError(f"{path}: the ledger names public key {named}, not the signing "
                                  f"key's {public_key}: wrong --signing-key, or a foreign ledger")
            conn.executescript(PROJECTION_TABLES)
        head = reader.head(conn)
        catch_up(conn, 0 if head is None else head.last_seq)
    except BaseException:
        conn.close()
        raise
    return conn, head


def append(conn: sqlite3.Connection, key: VenueKey, entries: list[Entry],
           head: BatchRecord | None, digest: str) -> BatchRecord:
    """Write `entries` as the batch after `head` with the engine `digest` after them, signed
    with `key`; return its record. The entries must continue the sequence exactly. Cost: one
    `entry_body` per entry, one hash over the batch's bytes, one signature, one row, one
    fsync'd commit."""
    rows, last_seq = _rows(entries, 1 if head is None else head.last_seq + 1)
    index, body = pack_batch(rows)
    record = seal_hashed(1 if head is None else head.id + 1,
                         GENESIS if head is None else head.hash, rows[0][0], last_seq,
                         blob_hash(index, body), digest, key.sign_batch)
    with _transaction(conn):
        conn.execute(INSERT_BATCH, (*record, index, body))
    return record


def put_snapshot(conn: sqlite3.Connection, key: VenueKey, seq: int, digest: str,
                 engine_format: int, body: bytes, edge: bytes | None = None) -> None:
    """An engine snapshot at the end of the batch ending at `seq`, and the edge's own state
    at the same seq if it gives one, signed with `key` (schema.snapshot_hash). O(bytes)."""
    found = conn.execute("SELECT hash FROM batches WHERE last_seq = ?", (seq,)).fetchone()
    if found is None:
        raise LedgerError(f"snapshot at seq {seq}: no batch ends there", seq)
    body_hash, edge_hash = sha256_hex(body), sha256_hex(edge)
    assert body_hash is not None
    own = snapshot_hash(seq, digest, engine_format, body_hash, edge_hash, found[0])
    with _transaction(conn):
        conn.execute(INSERT_SNAPSHOT, (seq, digest, engine_format, body, edge, body_hash,
                                       edge_hash, own, key.sign_snapshot(own)))


def project_batches(conn: sqlite3.Connection, batches: list[list[Entry]], to_seq: int) -> None:
    """Bring the projections to `to_seq` with `batches`: the entries from their mark to there.
    O(events). Committed without an fsync of its own (`synchronous=NORMAL` for this
    transaction only): it is derived data, the next batch's fsync'd commit makes it durable,
    and a crash before that loses all of it or none (the mark is in the same transaction), so
    `open` catches up."""
    conn.execute(SYNCHRONOUS_DERIVED)
    try:
        with _transaction(conn):
            project(conn, [event for entries in batches for entry in entries
                           for event in entry.events])
            conn.execute(SET_PROJECTED, (to_seq,))
    finally:
        conn.execute(SYNCHRONOUS)


def catch_up(conn: sqlite3.Connection, to_seq: int, chunk: int = 20_000) -> None:
    """Bring the projections to `to_seq` from the entries after their mark. O(rows read)."""
    (mark,) = conn.execute(GET_PROJECTED).fetchone()
    if mark >= to_seq:
        return
    with _transaction(conn):
        _project_rows(conn, mark, to_seq, chunk)


def rebuild(conn: sqlite3.Connection, to_seq: int, chunk: int = 20_000,
            progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Drop the projection tables and regenerate them from the rows up to `to_seq`. Returns
    the row count of each. O(rows). `progress(seq, to_seq)` as the rows are projected."""
    with _transaction(conn):  # statement by statement: executescript would commit first
        for name in (*PROJECTIONS, "projected"):
            conn.execute(f"DROP TABLE IF EXISTS {name}")
        for statement in PROJECTION_TABLES.split(";"):
            if statement.strip():
                conn.execute(statement)
        _project_rows(conn, 0, to_seq, chunk, progress)
    return {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in PROJECTIONS}


def project(conn: sqlite3.Connection, events: list[Any], trades: bool = True,
            orders: bool = True) -> None:
    """Apply `events` (in seq order, after those already projected) to the projection tables
    of `conn`, in the caller's transaction. O(events)."""
    if trades:
        _execute(conn, trade_writes(events))
    if orders:
        _execute(conn, order_writes(events))


def _project_rows(conn: sqlite3.Connection, after_seq: int, to_seq: int, chunk: int,
                  progress: Callable[[int, int], None] | None = None) -> None:
    for events in _events(conn, after_seq, to_seq, chunk):
        project(conn, events)
        if progress is not None and events:
            progress(events[-1].seq, to_seq)
    conn.execute(SET_PROJECTED, (to_seq,))


def _events(conn: sqlite3.Connection, after_seq: int, to_seq: int,
            chunk: int) -> Iterator[list[Any]]:
    """The events of the rows in (after_seq, to_seq], about `chunk` at a time. Reads them all
    first: the caller writes to the same connection meanwhile."""
    events: list[Any] = []
    for row in list(reader.rows(conn, after_seq, to_seq)):
        try:
            events.extend(reader.entry_of(row).events)
        except CodecError:
            raise LedgerError(f"seq {row[0]}: the body does not decode", row[0]) from None
        if len(events) >= chunk:
            yield events
            events = []
    yield events


def _rows(entries: list[Entry], next_seq: int) -> tuple[list[Row], int]:
    """The `events` rows of a batch and its last seq, checking that the entries continue from
    `next_seq` and that each entry's events follow its command."""
    rows: list[Row] = []
    add = rows.append
    for seq, command, events, origin in entries:
        if seq != next_seq:
            raise LedgerError(f"entry at seq {seq}: the ledger's next seq is {next_seq}", seq)
        next_seq = seq + 1 + len(events)
        if events and (events[0].seq != seq + 1 or events[-1].seq != next_seq - 1):
            raise LedgerError(f"entry at seq {seq}: its events are not at seqs {seq + 1}.."
                              f"{next_seq - 1}", seq)
        add((seq, record_ts(command, events[0].ts_us if events else 0),
             KIND_OF[type(command)], origin or None, entry_body(command, events)))
    return rows, next_seq - 1


def _execute(conn: sqlite3.Connection, statements: Statements) -> None:
    for sql, params in statements:
        conn.executemany(sql, params)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
