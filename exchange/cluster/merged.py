"""The merged output stream `OUT_ALL`, and what a gateway reads from it (pure but for `ensure`).

`OUT_ALL` (subjects `all.<shard>`) holds every shard's outputs, each shard's in its own order,
interleaved once for everyone by the merger (merger.py): output `j` of shard `A` is copied to
`all.A` with `Nats-Msg-Id = A:j`, fenced like the shards' own outputs. Gateways fold `OUT_ALL`
in its order; that makes every value they derive from more than one shard (an account's
`exec_seq` over its orders on all shards) the same at every gateway and after every restart.
(JetStream's own stream sourcing would do the copying, but nats-server 2.9 checks the copies'
`Nats-Expected-Last-Sequence` against the sourcing stream and drops them silently, so the
shards' fenced outputs cannot be sourced there.) A reader skips a copy at or below the place it
has folded of that shard, and refuses one past it (`GapInMerged`).

Ids: each shard numbers its own orders, trades and command seqs from 1, so a gateway shows them
to clients as one number space: `global = local * SHARD_SLOTS + index` (index: the shard's place
in the cluster's sorted shard list; 0 stays 0). `to_global` rewrites an engine record's id fields
that way, `to_local` gives back (local, index) for a command a client sends.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from exchange.cluster.names import MSG_ID
from exchange.cluster.replica import decode_output
from exchange.cluster.topology import DUPLICATE_WINDOW
from exchange.engine.codec import decode
from exchange.ledger.schema import body_records

MERGED = "OUT_ALL"
MERGED_SUBJECTS = "all.*"
SHARD_SLOTS = 10  # at most 10 shards: the last decimal digit of a client-visible id
ID_FIELDS = ("order_id", "maker_order_id", "taker_order_id", "trade_id", "seq")
_fields_of: dict[type, tuple[str, ...]] = {}


def merged_subject(shard: str) -> str:
    return f"all.{shard}"


async def ensure(js: JetStreamContext, replicas: int = 1) -> None:
    """The `OUT_ALL` stream, made if missing (kept whole, like OUT)."""
    try:
        await js.stream_info(MERGED)
    except NotFoundError:
        await js.add_stream(StreamConfig(
            name=MERGED, subjects=[MERGED_SUBJECTS], storage=StorageType.FILE,
            num_replicas=replicas, duplicate_window=DUPLICATE_WINDOW))


def shard_index(shards: list[str]) -> dict[str, int]:
    if len(shards) > SHARD_SLOTS:
        raise ValueError(f"at most {SHARD_SLOTS} shards, not {len(shards)}")
    return {shard: index for index, shard in enumerate(sorted(shards))}


def to_global(record: Any, index: int) -> Any:
    """The record with its shard-local ids made cluster-wide. O(fields)."""
    kind = type(record)
    names = _fields_of.get(kind)
    if names is None:
        names = _fields_of[kind] = tuple(f for f in ID_FIELDS
                                         if f in getattr(kind, "_fields", ()))
    if not names:
        return record
    changes = {}
    for name in names:
        value = getattr(record, name)
        if type(value) is int and value > 0:
            changes[name] = value * SHARD_SLOTS + index
    return record._replace(**changes) if changes else record


def to_local(global_id: int) -> tuple[int, int]:
    """(local id, shard index) of a cluster-wide id."""
    return divmod(global_id, SHARD_SLOTS)


class Folded(NamedTuple):
    """One output as a gateway folds it: its shard, its place in OUT_<shard>, who sent the
    input, and the command and events with cluster-wide ids (None: the input was not a
    command)."""

    shard: str
    out_seq: int
    origin: str | None
    command: Any | None
    events: list[Any]


def source_of(headers: dict[str, str] | None) -> tuple[str, int] | None:
    """(shard, out_seq) of an OUT_ALL message, from its id `<shard>:<out_seq>` (None: none)."""
    shard, _, seq = (headers or {}).get(MSG_ID, "").rpartition(":")
    return (shard, int(seq)) if shard and seq.isdigit() else None


def unfold(shard: str, out_seq: int, index: int, payload: bytes) -> Folded:
    """The output's parts, ids made cluster-wide. ValueError if it is not a shard output."""
    output = decode_output(payload)
    if output.body is None:
        return Folded(shard, out_seq, output.origin, None, [])
    command, *events = (to_global(decode(record), index)
                        for record in body_records(output.body))
    return Folded(shard, out_seq, output.origin, command, events)


class GapInMerged(RuntimeError):
    """OUT_ALL skipped one of a shard's outputs: nothing derived from it can be trusted."""


class MergedPosition:
    """How far a reader has folded OUT_ALL, and in each shard's OUT. `take` turns the next
    message into a `Folded`, None for a copy already folded (or a foreign message), and raises
    GapInMerged for a shard output out of its place."""

    def __init__(self, shards: list[str]) -> None:
        self.index = shard_index(shards)
        self.merged_seq = 0
        self.folded = dict.fromkeys(self.index, 0)

    def take(self, merged_seq: int, headers: dict[str, str] | None,
             payload: bytes) -> Folded | None:
        self.merged_seq = merged_seq
        source = source_of(headers)
        if source is None or source[0] not in self.index or source[1] <= self.folded[source[0]]:
            return None
        shard, out_seq = source
        if out_seq != self.folded[shard] + 1:
            raise GapInMerged(f"OUT_ALL {merged_seq}: output {out_seq} of shard {shard} "
                              f"after {self.folded[shard]}")
        self.folded[shard] = out_seq
        return unfold(shard, out_seq, self.index[shard], payload)
