"""Re-deriving a ledger: replay its commands through an engine and compare with what it recorded.

The invariant checked: every row's body is byte for byte the command it records followed by
the events the engine produces when the recorded commands before it are applied in order;
every batch links to the one before it (hash chain), its blobs hash to its `events_hash`, and
the engine digest after it equals the recorded digest. Recovery (reader.py) and the auditor's
`verify` (audit.py) both use `walk`, so a file that recovers is one that verifies from the same
point. Pure: no I/O; rows and batches come in as iterators. Cost per row: decoding its command,
one `Engine.apply`, one `entry_body` and one bytes comparison; per batch one digest and one
hash. Only a mismatch decodes the recorded events (to name the first bad seq).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import zip_longest

import msgpack
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from exchange.engine import Engine, codec
from exchange.engine.codec import CodecError
from exchange.engine.commands import Command
from exchange.engine.events import Event, TradeExecuted
from exchange.ledger.schema import (
    COMMAND_KINDS,
    BatchRecord,
    LedgerError,
    Row,
    blob_hash,
    body_records,
    chain_fault,
    command_record,
    entry_body,
    record_count,
    record_ts,
    unpack_batch,
)
from exchange.ledger.signing import batch_fault


class Replayer:
    """Feeds recorded rows to an engine: each row's command is applied, and the row's body must
    equal the command and the events the replay produced. Raises LedgerError naming the first
    seq at fault."""

    def __init__(self, engine: Engine | None = None,
                 collect: list[Event] | None = None) -> None:
        self.engine = engine if engine is not None else Engine()
        self.collect = collect  # if given, every replayed event is appended to it
        self.commands = 0
        self.events = 0
        self.trades = 0
        self.first_ts: int | None = None
        self.last_ts: int | None = None

    def row(self, seq: int, ts_us: int, kind: int, body: bytes) -> list[Event]:
        """Check one row, in seq order, and return the events its command caused. One apply."""
        engine = self.engine
        if seq != engine.seq + 1:
            raise LedgerError(f"seq {engine.seq + 1}: missing (the next row is seq {seq})",
                              engine.seq + 1)
        if kind not in COMMAND_KINDS:
            raise LedgerError(f"seq {seq}: the kind column says {kind}, not a command", seq)
        command = _command(seq, body)
        events = engine.apply(command)
        if entry_body(command, events) != body:
            raise _difference(seq, body, command, events)
        if codec.KIND_OF[type(command)] != kind or ts_us != record_ts(
                command, events[0].ts_us if events else 0):
            raise LedgerError(f"seq {seq}: the kind or ts_us column differs from the command",
                              seq)
        self.commands += 1
        self.events += len(events)
        if self.collect is not None:
            self.collect.extend(events)
        for event in events:
            if type(event) is TradeExecuted:
                self.trades += 1
        if self.first_ts is None:
            self.first_ts = ts_us
        self.last_ts = ts_us
        return events

    def end_batch(self, batch: BatchRecord) -> None:
        """At the end of `batch`'s rows: the engine is at its last seq and agrees with its
        digest."""
        seq = self.engine.seq
        if seq < batch.last_seq:
            raise LedgerError(f"seq {seq + 1}: missing (batch {batch.id} ends at "
                              f"{batch.last_seq})", seq + 1)
        if seq > batch.last_seq:
            raise LedgerError(f"seq {batch.last_seq + 1}: recorded in batch {batch.id}, which "
                              f"ends at {batch.last_seq}", batch.last_seq + 1)
        if self.engine.digest() != batch.digest:
            raise LedgerError(f"seq {batch.last_seq}: engine digest after batch {batch.id} "
                              "differs from the recorded digest", batch.last_seq)


def _command(seq: int, body: bytes) -> Command:
    try:
        return codec.decode(command_record(body))
    except CodecError:
        raise LedgerError(f"seq {seq}: the command's bytes do not decode", seq) from None


def _difference(seq: int, body: bytes, command: object, events: list[Event]) -> LedgerError:
    """The error for a body that differs from the replay: it names the first record (so seq)
    where they part."""
    replayed = [codec.encode(record) for record in (command, *events)]
    try:
        recorded: list[bytes | None] = list(body_records(body))
    except CodecError:  # not even records: the first byte that differs says where
        recorded = _cut_like(body, replayed)
    for offset, (want, got) in enumerate(zip_longest(replayed, recorded)):
        if want == got:
            continue
        at = seq + offset
        if offset == 0:
            return LedgerError(f"seq {seq}: command bytes are not in canonical form", seq)
        if want is None:
            return LedgerError(f"seq {at}: recorded {_name(got)} that the replay does not "
                               f"produce (command at seq {seq})", at)
        if got is None:
            return LedgerError(f"seq {at}: missing (the replay of the command at seq {seq} "
                               f"produces {_name(want)})", at)
        return LedgerError(f"seq {at}: recorded {_name(got)} differs from the replayed "
                           f"{_name(want)} (command at seq {seq})", at)
    return LedgerError(f"seq {seq}: the body's array header differs from the replay's", seq)


def _cut_like(body: bytes, replayed: list[bytes]) -> list[bytes | None]:
    """`body` cut where the replayed records' bytes would end (after the same array header)."""
    cut: list[bytes | None] = []
    start = len(msgpack.Packer().pack_array_header(len(replayed)))
    for record in replayed:
        cut.append(body[start:start + len(record)])
        start += len(record)
    return cut


def walk(batches: Iterator[tuple[BatchRecord, bytes, bytes]], replayer: Replayer | None,
         key: Ed25519PublicKey, previous: BatchRecord | None = None,
         on_batch: Callable[[BatchRecord], None] | None = None) -> BatchRecord | None:
    """Check `batches` (each with its index and body blobs) in order, starting after
    `previous`, each signed by `key`.

    With `replayer` None, checks the chain, the signatures, that the entries tile each batch,
    and the blobs' hashes only (no replay, no digest). Returns the last batch checked. Raises
    LedgerError naming the first bad seq. Cost: O(bytes) plus the replay."""
    for batch, index, body in batches:
        fault = chain_fault(batch, previous) or batch_fault(key, batch)
        if fault is not None:
            raise LedgerError(f"seq {batch.first_seq}: {fault}", batch.first_seq)
        rows = unpack_batch(index, body, batch.first_seq)
        if replayer is not None:
            check = replayer.row
            for seq, ts_us, kind, _, entry in rows:
                check(seq, ts_us, kind, entry)
            replayer.end_batch(batch)
        else:
            _tiles(batch, rows)
        if blob_hash(index, body) != batch.events_hash:
            raise LedgerError(f"seq {batch.first_seq}: batch {batch.id}'s entries do not match "
                              "its events hash", batch.first_seq)
        previous = batch
        if on_batch is not None:
            on_batch(batch)
    return previous


def _tiles(batch: BatchRecord, rows: list[Row]) -> None:
    """LedgerError unless the rows' entries cover exactly `batch`'s seqs, in order."""
    next_seq = batch.first_seq
    for seq, _, _, _, body in rows:
        if seq != next_seq:
            raise LedgerError(f"seq {next_seq}: missing (the next entry is seq {seq})", next_seq)
        next_seq = seq + _count(seq, body)
    if next_seq <= batch.last_seq:
        raise LedgerError(f"seq {next_seq}: missing (batch {batch.id} ends at "
                          f"{batch.last_seq})", next_seq)
    if next_seq > batch.last_seq + 1:
        raise LedgerError(f"seq {batch.last_seq + 1}: recorded in batch {batch.id}, which "
                          f"ends at {batch.last_seq}", batch.last_seq + 1)


def _count(seq: int, body: bytes) -> int:
    try:
        return record_count(body)
    except CodecError:
        raise LedgerError(f"seq {seq}: the body is not an array of records", seq) from None


def _name(record: bytes | None) -> str:
    try:
        return type(codec.decode(record or b"")).__name__
    except CodecError:
        return "an undecodable record"
