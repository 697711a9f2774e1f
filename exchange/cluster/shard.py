"""The engine shard: one process per shard, IN_<shard> in, OUT_<shard> out, one output per input.

Start: load the newest snapshot of the shard from the SNAPSHOTS object store (or a fresh
engine), ask OUT where it ends, and read IN in order from the input after the snapshot with an
ordered consumer. Inputs whose outputs OUT already holds are applied and not published; from
there on each output is published fenced to its slot (fenced.py). Every `snapshot_every`
inputs, once every output so far is acknowledged, the state is saved, so a snapshot never runs
ahead of OUT. On any doubt (a failed or missing ack, a reconnect, a gap in IN) the shard
resynchronises in place; if OUT has lost outputs it no longer holds (`Lost`) it exits 3, and a
restart rebuilds them from the snapshot and IN.

Run: `python -m exchange.cluster.shard --nats URL --shard NAME [--snapshot-every N]`.
SIGTERM or SIGINT stops it after the outputs in flight are acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from exchange.cluster import options
from exchange.cluster.fenced import FencedOutputs, Lost, Resync
from exchange.cluster.names import (
    ORIGIN,
    ShardConfig,
    check_shard,
    in_stream,
    in_subject,
    out_stream,
)
from exchange.cluster.replica import Replica
from exchange.cluster.topology import ensure_shard, snapshot_store

EXIT_LOST = 3


def log(shard: str, text: str) -> None:
    print(f"shard {shard}: {text}", file=sys.stderr, flush=True)


async def connect(url: str, on_reconnect: asyncio.Event | None = None) -> Client:
    """A NATS connection that keeps reconnecting (every 0.2 s) for as long as it takes."""

    async def reconnected() -> None:
        if on_reconnect is not None:
            on_reconnect.set()

    async def quiet(_: Exception) -> None:
        return None

    return await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                              reconnected_cb=reconnected, error_cb=quiet,
                              connect_timeout=2, ping_interval=2, max_outstanding_pings=2)


async def load_snapshot(store: ObjectStore, shard: str) -> Replica | None:
    try:
        found = await store.get(shard)
    except NotFoundError:
        return None
    assert found.data is not None
    return Replica.load(found.data)


class Shard:
    """The engine of one shard between IN and OUT."""

    def __init__(self, config: ShardConfig) -> None:
        self.config = config
        self.shard = check_shard(config.shard)
        self.reconnected = asyncio.Event()
        self.stopping = asyncio.Event()
        self.replica = Replica()

    async def run(self) -> None:
        """Serve until `stopping` is set. Raises Lost (see the module's docstring)."""
        nc = await connect(self.config.nats_url, self.reconnected)
        try:
            js = nc.jetstream(timeout=self.config.ack_timeout)
            store, outputs, live_at = await self._start(js)
            self._mark_ready(live_at)
            while not self.stopping.is_set():
                try:
                    await self._consume(js, store, outputs, live_at)
                except (Resync, TimeoutError, nats.errors.Error) as exc:
                    log(self.shard, f"resync after input {self.replica.in_seq}: {exc!r}")
                    await self._resync(outputs)
            await outputs.settle()
        finally:
            await nc.close()

    async def _start(self, js: JetStreamContext) -> tuple[ObjectStore, FencedOutputs, int]:
        """The streams, the snapshot store, the restored replica and IN's end; retried while
        the server is away or not ready yet (a shard started beside a restarting nats-server
        waits for it instead of exiting)."""
        while True:
            try:
                await ensure_shard(js, self.shard)
                store = await snapshot_store(js)
                outputs = await self._restore(js, store)
                live_at = (await js.stream_info(in_stream(self.shard))).state.last_seq
                return store, outputs, live_at
            except (TimeoutError, nats.errors.Error) as exc:
                if self.stopping.is_set():
                    raise
                log(self.shard, f"starting: server not ready, retrying: {exc!r}")
                await asyncio.sleep(0.2)

    async def _restore(self, js: JetStreamContext, store: ObjectStore) -> FencedOutputs:
        found = await load_snapshot(store, self.shard)
        out_last = (await js.stream_info(out_stream(self.shard))).state.last_seq
        if found is not None and found.in_seq <= out_last:
            self.replica = found
        elif found is not None:  # OUT lost outputs since (storage loss): rebuild from input 1
            log(self.shard, f"snapshot at input {found.in_seq} is past OUT's end {out_last}")
        log(self.shard, f"from input {self.replica.in_seq}, OUT ends at {out_last}")
        return FencedOutputs(js, self.shard, out_last, self.config.window,
                             self.config.ack_timeout)

    async def _consume(self, js: JetStreamContext, store: ObjectStore, outputs: FencedOutputs,
                       live_at: int) -> None:
        """Apply IN from the input after the replica's, publishing each output, until stopped
        or something goes wrong (Resync). Inputs that have arrived are applied in a run without
        yielding to the event loop, so their outputs leave in one socket write, not one each."""
        self.reconnected.clear()
        inbox: asyncio.Queue = asyncio.Queue()

        async def arrived(msg: Msg) -> None:
            inbox.put_nowait(msg)
        sub = await js.subscribe(
            in_subject(self.shard), cb=arrived, ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            config=ConsumerConfig(opt_start_seq=self.replica.in_seq + 1))
        try:
            while not self.stopping.is_set():
                if self.reconnected.is_set():
                    raise Resync("reconnected")
                try:
                    msg = await asyncio.wait_for(inbox.get(), 0.05)
                except TimeoutError:
                    outputs.idle_check()
                    continue
                await self._apply(msg, store, outputs, live_at)
                while not inbox.empty():
                    await self._apply(inbox.get_nowait(), store, outputs, live_at)
        finally:
            with contextlib.suppress(Exception):  # the connection may be gone; the server reaps it
                await sub.unsubscribe()

    async def _apply(self, msg: Msg, store: ObjectStore, outputs: FencedOutputs,
                     live_at: int) -> None:
        replica = self.replica
        seq = msg.metadata.sequence.stream
        if seq <= replica.in_seq:
            return
        if seq != replica.in_seq + 1:
            raise Resync(f"IN gave input {seq} after {replica.in_seq}")
        origin = msg.headers.get(ORIGIN) if msg.headers else None
        await outputs.send(seq, replica.apply(msg.data, origin))
        if seq % self.config.snapshot_every == 0:
            await outputs.settle()
            await store.put(self.shard, replica.dump())
        if seq == live_at:
            self._mark_ready(live_at)

    async def _resync(self, outputs: FencedOutputs) -> None:
        while not self.stopping.is_set():
            try:
                await outputs.resync(self.replica.in_seq)
                return
            except Lost:
                raise
            except Exception as exc:  # noqa: BLE001 - server away or busy: try again
                log(self.shard, f"resync failed, retrying: {exc!r}")
                await asyncio.sleep(0.2)

    def _mark_ready(self, live_at: int) -> None:
        if self.config.ready_file and self.replica.in_seq >= live_at:
            path = Path(self.config.ready_file)
            if not path.exists():
                path.write_text(f"{self.replica.in_seq}\n")


def parse(argv: list[str] | None) -> ShardConfig:
    parser = argparse.ArgumentParser(prog="exchange shard", description=options.SHARD)
    options.add_shard_arguments(parser)
    return options.shard_config(parser.parse_args(argv))


async def serve(config: ShardConfig) -> int:
    shard = Shard(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, shard.stopping.set)
    try:
        await shard.run()
    except Lost as exc:
        log(config.shard, f"exiting: {exc}")
        return EXIT_LOST
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(serve(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
