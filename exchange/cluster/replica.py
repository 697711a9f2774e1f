"""A shard's engine as a function from input bytes to output bytes (pure: no I/O).

The engine shard process, the single-process replay the tests and auditors run, and the
ledger writer all go through here, so "byte-identical to a replay" means one code path.

An input is the codec record of a command (`exchange.engine.codec.encode`), with an optional
origin (who sent it) beside it. Its output is the MessagePack array `[digest, origin, body]`:
`body` is the SQLite ledger's row body for the command and its events (`schema.entry_body`:
the command's record, then each event's), and `digest` the engine's digest after it. An input
that is not a command record (corrupt or foreign bytes) still takes its slot, one output for
one input, with `body` None: the engine never sees it, so its state and digest are unchanged.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgpack

from exchange.engine import snapshot
from exchange.engine.codec import CodecError, decode
from exchange.engine.commands import COMMAND_TYPES
from exchange.engine.engine import Engine
from exchange.ledger.schema import entry_body

_COMMANDS = frozenset(COMMAND_TYPES)
_pack = msgpack.Packer(autoreset=True).pack


class Output(NamedTuple):
    digest: str
    origin: str | None
    body: bytes | None  # None: the input was not a command


class SnapshotMismatch(ValueError):
    """A shard snapshot whose engine does not have the digest it was saved with."""


def command_of(payload: bytes) -> Any | None:
    """The command in an input's bytes, or None if they are not a command record."""
    try:
        record = decode(payload)
    except CodecError:
        return None
    return record if type(record) in _COMMANDS else None


def decode_output(data: bytes) -> Output:
    """The parts of an output message's payload. ValueError if it is not one."""
    try:
        digest, origin, body = msgpack.unpackb(data)
    except Exception as exc:  # noqa: BLE001 - any malformed payload: one error type
        raise ValueError(f"not a shard output: {exc}") from None
    return Output(digest, origin, body)


class Replica:
    """One shard's engine and how far it has read its input stream (`in_seq`)."""

    def __init__(self, engine: Engine | None = None, in_seq: int = 0) -> None:
        self.engine = engine if engine is not None else Engine()
        self.in_seq = in_seq

    def apply(self, payload: bytes, origin: str | None = None) -> bytes:
        """The output of the next input. Cost: the engine's apply and digest, two packs."""
        command = command_of(payload)
        body = None
        if command is not None:
            body = entry_body(command, self.engine.apply(command))
        self.in_seq += 1
        return _pack((self.engine.digest(), origin, body))

    def dump(self) -> bytes:
        """A snapshot: `[in_seq, digest, engine format, engine snapshot]`. O(state)."""
        return _pack((self.in_seq, self.engine.digest(), snapshot.FORMAT,
                      snapshot.dump(self.engine)))

    @classmethod
    def load(cls, data: bytes) -> Replica:
        """The replica a `dump` saved. SnapshotMismatch if its digest disagrees, SnapshotError
        (engine) for bytes that are not a snapshot. O(state)."""
        try:
            in_seq, digest, _format, body = msgpack.unpackb(data)
        except Exception as exc:  # noqa: BLE001 - any malformed bytes: one error type
            raise snapshot.SnapshotError(f"not a shard snapshot: {exc}") from None
        engine = snapshot.load(body)
        if engine.digest() != digest:
            raise SnapshotMismatch(f"shard snapshot at input {in_seq}: digest "
                                   f"{engine.digest()} after loading, {digest} saved")
        return cls(engine, in_seq)


def replay(inputs: list[tuple[bytes, str | None]]) -> list[bytes]:
    """Every output of `inputs` through a fresh engine: what OUT must hold, in order."""
    replica = Replica()
    return [replica.apply(payload, origin) for payload, origin in inputs]
