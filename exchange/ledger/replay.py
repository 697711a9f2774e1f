"""Re-deriving a ledger: replay its commands through an engine and compare with what it recorded.

The invariant checked: every recorded event row is byte for byte what the engine produces when
the recorded commands before it are applied in order; every batch links to the one before it
(hash chain), its rows hash to its `events_hash`, and the engine digest after it equals the
recorded digest. Recovery (store.py) and the auditor's `verify` (audit.py) both use `walk`, so a
file that recovers is one that verifies from the same point. Pure: no I/O; rows and batches come
in as iterators. Cost: one `Engine.apply` per command plus O(bytes) hashing and comparing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from exchange.engine import Engine, codec
from exchange.engine.codec import CodecError
from exchange.engine.events import TradeExecuted
from exchange.ledger.schema import (
    COMMAND_KINDS, BatchRecord, LedgerError, Row, chain_fault, events_hash, record_ts,
)

TRADE_KIND = codec.KIND_OF[TradeExecuted]


class Replayer:
    """Feeds recorded rows to an engine: a command row is applied, an event row must equal the
    next event the replay produced. Raises LedgerError naming the first seq at fault."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine if engine is not None else Engine()
        self.commands = 0
        self.events = 0
        self.trades = 0
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        self._expected: list[tuple[int, int, int, bytes]] = []  # (seq, ts_us, kind, body)
        self._next = 0

    def row(self, seq: int, ts_us: int, kind: int, body: bytes) -> None:
        """Check one row, in seq order. O(1) for an event; one apply for a command."""
        if self._next < len(self._expected):
            self._event(seq, ts_us, kind, body)
        else:
            self._command(seq, ts_us, kind, body)

    def end_batch(self, batch: BatchRecord) -> None:
        """At the end of `batch`'s rows: nothing owed, and the engine agrees with its digest."""
        if self._next < len(self._expected):
            missing = self._expected[self._next][0]
            raise LedgerError(f"seq {missing}: missing (batch {batch.id} ends before it)", missing)
        if self.engine.seq != batch.last_seq:
            missing = self.engine.seq + 1
            raise LedgerError(f"seq {missing}: missing (batch {batch.id} ends at "
                              f"{batch.last_seq})", missing)
        if self.engine.digest() != batch.digest:
            raise LedgerError(f"seq {batch.last_seq}: engine digest after batch {batch.id} "
                              "differs from the recorded digest", batch.last_seq)

    def _command(self, seq: int, ts_us: int, kind: int, body: bytes) -> None:
        engine = self.engine
        if seq != engine.seq + 1:
            raise LedgerError(f"seq {engine.seq + 1}: missing (the next row is seq {seq})",
                              engine.seq + 1)
        if kind not in COMMAND_KINDS:
            raise LedgerError(f"seq {seq}: a {_name(body)} where the replay expects a command",
                              seq)
        try:
            command = codec.decode(body)
        except CodecError:
            raise LedgerError(f"seq {seq}: command bytes do not decode", seq) from None
        if codec.KIND_OF[type(command)] != kind or codec.encode(command) != body:
            raise LedgerError(f"seq {seq}: command bytes are not in canonical form", seq)
        events = engine.apply(command)
        if ts_us != record_ts(command, events[0].ts_us if events else 0):
            raise LedgerError(f"seq {seq}: the ts_us column differs from the command's", seq)
        encode, kinds = codec.encode, codec.KIND_OF
        self._expected = [(e.seq, e.ts_us, kinds[type(e)], encode(e)) for e in events]
        self._next = 0
        self.commands += 1
        if self.first_ts is None:
            self.first_ts = ts_us
        self.last_ts = ts_us

    def _event(self, seq: int, ts_us: int, kind: int, body: bytes) -> None:
        want_seq, want_ts, want_kind, want_body = self._expected[self._next]
        if seq != want_seq:
            raise LedgerError(f"seq {want_seq}: missing (the next row is seq {seq})", want_seq)
        if body != want_body:
            raise LedgerError(
                f"seq {seq}: recorded {_name(body)} differs from the replayed "
                f"{_name(want_body)} (command at seq {self.engine.last_command_seq})", seq)
        if kind != want_kind or ts_us != want_ts:
            raise LedgerError(f"seq {seq}: kind or ts_us column differs from the event", seq)
        self._next += 1
        self.events += 1
        if kind == TRADE_KIND:
            self.trades += 1


def walk(batches: Iterator[BatchRecord], rows: Iterator[Row], replayer: Replayer | None,
         previous: BatchRecord | None = None,
         on_batch: Callable[[BatchRecord], None] | None = None
         ) -> tuple[BatchRecord | None, int | None]:
    """Check `batches` in order against `rows` (seq order, starting after `previous`).

    With `replayer` None, checks the chain and the rows' hashes only (no replay, no digest).
    Returns the last batch checked and the seq of the first row after it that no batch covers,
    if any (a write that never committed cannot leave one: the caller decides what it means).
    Raises LedgerError naming the first bad seq. Cost: O(rows) plus the replay."""
    row = next(rows, None)
    for batch in batches:
        fault = chain_fault(batch, previous)
        if fault is not None:
            raise LedgerError(f"seq {batch.first_seq}: {fault}", batch.first_seq)
        own: list[Row] = []
        while row is not None and row[0] <= batch.last_seq:
            seq, ts_us, kind, _, batch_id, body = row
            if replayer is not None:
                replayer.row(seq, ts_us, kind, body)
            elif seq != batch.first_seq + len(own):
                missing = batch.first_seq + len(own)
                raise LedgerError(f"seq {missing}: missing (the next row is seq {seq})", missing)
            if batch_id != batch.id:
                raise LedgerError(f"seq {seq}: row says batch {batch_id}, chain says {batch.id}",
                                  seq)
            own.append(row)
            row = next(rows, None)
        if replayer is not None:
            replayer.end_batch(batch)
        elif len(own) != batch.last_seq - batch.first_seq + 1:
            missing = batch.first_seq + len(own)
            raise LedgerError(f"seq {missing}: missing (batch {batch.id} ends before it)",
                              missing)
        if events_hash(own) != batch.events_hash:
            raise LedgerError(f"seq {batch.first_seq}: batch {batch.id}'s rows do not match its "
                              "events hash", batch.first_seq)
        previous = batch
        if on_batch is not None:
            on_batch(batch)
    return previous, None if row is None else row[0]


def _name(body: bytes) -> str:
    try:
        return type(codec.decode(body)).__name__
    except CodecError:
        return "undecodable record"
