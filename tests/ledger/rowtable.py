"""Editing a ledger's entries the way an intruder with SQLite could: as a table of rows.

Schema 4 keeps each batch's entries in two blobs (schema.py). `entry_table(path)` gives a
connection whose TEMP table `events (seq, ts_us, kind, origin, body)` holds every entry as a
row (what schema 3 stored), without the append-only triggers; on leaving, each batch whose rows
changed gets its blobs rewritten from them (rows outside every batch are dropped), and no hash
is touched. So a tamper test says what it changes in SQL, as before."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from exchange.ledger.schema import pack_batch, unpack_batch

TRIGGERS = ("batches_no_update", "batches_no_delete")


@contextmanager
def entry_table(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for trigger in TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.execute("CREATE TEMP TABLE events (seq INTEGER PRIMARY KEY, ts_us INTEGER, "
                     "kind INTEGER, origin TEXT, body BLOB)")
        for first_seq, index, body in conn.execute(
                "SELECT first_seq, entries, body FROM batches ORDER BY id").fetchall():
            conn.executemany("INSERT INTO temp.events VALUES (?,?,?,?,?)",
                             unpack_batch(index, body, first_seq))
        yield conn
        batches = conn.execute("SELECT id, first_seq, last_seq, entries, body FROM batches "
                               "ORDER BY id").fetchall()
        for batch_id, first_seq, last_seq, index, body in batches:
            rows = conn.execute("SELECT * FROM temp.events WHERE seq >= ? AND seq <= ? "
                                "ORDER BY seq", (first_seq, last_seq)).fetchall()
            blobs = pack_batch(rows)
            if blobs != (index, body):
                conn.execute("UPDATE batches SET entries = ?, body = ? WHERE id = ?",
                             (*blobs, batch_id))
    finally:
        conn.close()


def query(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """`sql` on a ledger whose entries are the table `events` (read only)."""
    with entry_table(path) as conn:
        return conn.execute(sql, params).fetchall()
