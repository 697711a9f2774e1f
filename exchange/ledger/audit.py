"""Offline checks an auditor runs on a ledger file: verify, checkpoint, replay to a point, and
rebuild the projections. Synchronous (sqlite3); the CLI (`exchange audit`) only presents.

`verify` is the full check: every batch links to the one before it from the genesis hash,
every row of every batch hashes to the batch's `events_hash`, every recorded event is byte for
byte what a fresh engine produces from the recorded commands, and the engine digest after each
batch equals the recorded one. The first failure raises LedgerError naming its seq.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from exchange.engine import Engine
from exchange.ledger import reader, writes
from exchange.ledger.replay import Replayer, walk
from exchange.ledger.schema import BatchRecord, LedgerError


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


def verify(path: str | Path, progress: Callable[[int, int], None] | None = None,
           expect: tuple[int, str] | None = None, replay: bool = True) -> Summary:
    """Check the whole file (see the module docstring). `progress(seq, last_seq)` is called
    after each batch; `expect=(seq, hash)` also requires a batch ending at `seq` with that hash
    (a checkpoint recorded earlier); `replay=False` checks the chain and hashes only (no
    engine: fast, but blind to a history that was rewritten and re-hashed consistently).
    Cost: one apply per command, O(bytes) hashing."""
    conn = reader.connect(path)
    try:
        head = reader.head(conn)
        last_seq = 0 if head is None else head.last_seq
        replayer = Replayer()
        matched: list[BatchRecord] = []

        def on_batch(batch: BatchRecord) -> None:
            if expect is not None and batch.last_seq == expect[0]:
                matched.append(batch)
            if progress is not None:
                progress(batch.last_seq, last_seq)

        last, orphan = walk(reader.batches(conn), reader.rows(conn),
                            replayer if replay else None, None, on_batch)
        if orphan is not None:
            raise LedgerError(f"seq {orphan}: row is not covered by any batch", orphan)
        if expect is not None:
            _check_expected(expect, matched)
        engine = replayer.engine
        return Summary(0 if last is None else last.id, last_seq, replayer.commands,
                       replayer.events, replayer.trades, len(engine.instruments),
                       len(engine.accounts), replayer.first_ts, replayer.last_ts,
                       None if last is None else last.hash)
    finally:
        conn.close()


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


def replay_to(path: str | Path, to_seq: int | None = None, to_ts_us: int | None = None
              ) -> Engine:
    """The engine after the last command with seq <= `to_seq` and ts_us <= `to_ts_us` (either
    may be None: no bound), replayed from the start and checked on the way. A seq inside a
    command's events means the state after that whole command."""
    conn = reader.connect(path)
    try:
        head = reader.head(conn)
        replayer = Replayer()
        for seq, ts_us, kind, _, body in reader.rows(conn, 0, 0 if head is None
                                                     else head.last_seq):
            if (to_seq is not None and seq > to_seq) or (to_ts_us is not None
                                                         and ts_us > to_ts_us):
                break
            replayer.row(seq, ts_us, kind, body)
        return replayer.engine
    finally:
        conn.close()


def rebuild(path: str | Path, chunk: int = 20_000) -> dict[str, int]:
    """Drop and regenerate the projection tables from the rows of committed batches, in one
    transaction. Returns the row count of each. O(rows)."""
    conn = reader.connect(path, writable=True)
    try:
        head = reader.head(conn)
        return writes.rebuild(conn, 0 if head is None else head.last_seq, chunk)
    finally:
        conn.close()
