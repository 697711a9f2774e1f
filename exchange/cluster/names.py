"""Names the cluster's parts agree on: streams, subjects, headers, buckets, and the config.

Shard `A` reads stream `IN_A` (subject `in.A`) and writes `OUT_A` (subject `out.A`); the route
map is the KV bucket `ROUTES` (key: instrument symbol, value: shard name); engine snapshots are
objects named after their shard in the object store `SNAPSHOTS`. A shard name is 1-32 of
`A-Z a-z 0-9 _ -` (it is part of stream names and subjects).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROUTES = "ROUTES"
SNAPSHOTS = "SNAPSHOTS"
MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence"
ORIGIN = "Exchange-Origin"  # optional input header: who sent the command (the ledger's origin)
WRONG_LAST_SEQUENCE = 10071  # JetStream's err_code when Nats-Expected-Last-Sequence fails

_SHARD_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")


def check_shard(name: str) -> str:
    if not _SHARD_NAME.fullmatch(name):
        raise ValueError(f"shard name {name!r}: 1-32 of A-Z a-z 0-9 _ -")
    return name


def in_stream(shard: str) -> str:
    return f"IN_{shard}"


def out_stream(shard: str) -> str:
    return f"OUT_{shard}"


def in_subject(shard: str) -> str:
    return f"in.{shard}"


def out_subject(shard: str) -> str:
    return f"out.{shard}"


def output_id(shard: str, in_seq: int) -> str:
    """The Nats-Msg-Id of the output of input `in_seq`."""
    return f"{shard}:{in_seq}"


def order_id(account: str, cl_ord_id: str) -> str:
    """The Nats-Msg-Id of an order entered by a gateway."""
    return f"{account}:{cl_ord_id}"


@dataclass(frozen=True)
class ShardConfig:
    """One engine shard's settings. `snapshot_every`: inputs between snapshots (a restart
    replays at most that many, plus those since); `window`: outputs in flight before the
    shard waits for their acks; `ack_timeout`: seconds before an unanswered output counts as
    lost and the shard resynchronises with OUT."""

    nats_url: str
    shard: str
    snapshot_every: int = 10_000
    window: int = 256
    ack_timeout: float = 2.0
    ready_file: str | None = None  # written once the shard has caught up and is live


@dataclass(frozen=True)
class WriterConfig:
    """One ledger writer's settings: up to `batch` outputs per transaction, waiting at most
    `linger` seconds for a batch to fill."""

    nats_url: str
    dsn: str
    shard: str
    signing_key: str  # the venue's Ed25519 key file (exchange.ledger.signing)
    batch: int = 512
    linger: float = 0.05
    ready_file: str | None = None
