"""Creating the cluster's streams, route map and snapshot store, and reading them.

Idempotent: each `ensure_*` makes what is missing and leaves what exists. Streams keep every
message (no limits: a restart replays IN from a snapshot, the ledger writer reads OUT from its
last commit) on file storage, and remember message ids for `DUPLICATE_WINDOW` seconds, the
longest a gateway may keep retrying one order. `replicas` is 1 on this machine; production
uses 3 (docs/cluster.md).
"""

from __future__ import annotations

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from exchange.cluster.names import (
    ROUTES,
    SNAPSHOTS,
    check_shard,
    in_stream,
    in_subject,
    out_stream,
    out_subject,
)

DUPLICATE_WINDOW = 600.0  # seconds


async def ensure_shard(js: JetStreamContext, shard: str, replicas: int = 1) -> None:
    """The IN and OUT streams of `shard`. One stream-info round trip each when they exist."""
    check_shard(shard)
    for name, subject in ((in_stream(shard), in_subject(shard)),
                          (out_stream(shard), out_subject(shard))):
        try:
            await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(StreamConfig(
                name=name, subjects=[subject], storage=StorageType.FILE,
                retention=RetentionPolicy.LIMITS, num_replicas=replicas,
                duplicate_window=DUPLICATE_WINDOW))


async def route_map(js: JetStreamContext) -> KeyValue:
    """The ROUTES bucket (instrument symbol -> shard name), made if missing."""
    try:
        return await js.key_value(ROUTES)
    except BucketNotFoundError:
        return await js.create_key_value(bucket=ROUTES, history=5)


async def snapshot_store(js: JetStreamContext) -> ObjectStore:
    """The SNAPSHOTS object store (one object per shard, replaced at each snapshot)."""
    try:
        return await js.object_store(SNAPSHOTS)
    except (BucketNotFoundError, NotFoundError):
        return await js.create_object_store(SNAPSHOTS)


async def set_routes(js: JetStreamContext, routes: dict[str, str]) -> None:
    """Route each symbol to its shard. Change a listed instrument's route only while it is
    halted on both shards and the old shard's IN is drained (docs/cluster.md)."""
    bucket = await route_map(js)
    for symbol, shard in routes.items():
        await bucket.put(symbol, check_shard(shard).encode())


async def read_routes(js: JetStreamContext) -> dict[str, str]:
    bucket = await route_map(js)
    try:
        symbols = await bucket.keys()
    except NotFoundError:  # an empty bucket has no keys
        return {}
    found = {}
    for symbol in symbols:
        value = (await bucket.get(symbol)).value
        if value:
            found[symbol] = value.decode()
    return found


async def read_stream(nc: Client, subject: str, count: int) -> list[Msg]:
    """The first `count` messages of the stream on `subject`, in order (an ordered consumer;
    for checks and audits, not the hot path). O(count)."""
    if count == 0:
        return []
    sub = await nc.jetstream().subscribe(subject, ordered_consumer=True)
    try:
        return [await sub.next_msg(timeout=10) for _ in range(count)]
    finally:
        await sub.unsubscribe()
