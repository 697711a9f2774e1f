"""The merger: copies every shard's OUT into `OUT_ALL`, one interleaving for all gateways.

`python -m exchange.cluster.merger --nats URL` (the shards: those the ROUTES bucket names).

Each copy is fenced as the shards' outputs are: the message going to `OUT_ALL` sequence `k`
carries `Nats-Expected-Last-Sequence = k-1`, and its id is its source, `<shard>:<out_seq>`. So
`OUT_ALL` holds each shard's outputs exactly once and in their order, whatever happens: the
merger starts from what `OUT_ALL` holds (the last copy of each shard, `get_last_msg` of
`all.<shard>`), reads each OUT from the output after it, and copies outputs in the order they
arrive, up to `window` in flight. A copy refused by the fence (a second merger, a zombie, a
republish after a reconnect) or not acknowledged makes it start over from `OUT_ALL` again: two
mergers never corrupt it, they only race (run one; a restarted one is safe). Which interleaving
wins does not matter; that there is one, stored, does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from collections import deque

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from exchange.cluster import merged
from exchange.cluster.merged import MERGED, merged_subject, source_of
from exchange.cluster.names import EXPECTED_LAST_SEQ, MSG_ID, out_subject, output_id
from exchange.cluster.shard import connect, log
from exchange.cluster.topology import read_routes

ROUTES_CHECK_S = 1.0  # how often an idle merger looks for new shards


class StartOver(Exception):
    """A copy was refused or is in doubt: reread OUT_ALL and go on from there."""


async def merged_positions(js: JetStreamContext, shards: list[str]) -> tuple[int, dict[str, int]]:
    """OUT_ALL's last sequence, and the last output of each shard copied into it."""
    last = (await js.stream_info(MERGED)).state.last_seq
    copied = {}
    for shard in shards:
        try:
            found = await js.get_last_msg(MERGED, merged_subject(shard))
        except NotFoundError:
            copied[shard] = 0
            continue
        source = source_of(found.headers)
        copied[shard] = source[1] if source is not None else 0
    return last, copied


class Merger:
    def __init__(self, nats_url: str, window: int = 256, ack_timeout: float = 2.0) -> None:
        self.nats_url = nats_url
        self.window = window
        self.ack_timeout = ack_timeout
        self.stopping = asyncio.Event()
        self.reconnected = asyncio.Event()
        self.copies = 0

    async def run(self) -> None:
        nc = await connect(self.nats_url, self.reconnected)
        try:
            js = nc.jetstream(timeout=self.ack_timeout)
            while not self.stopping.is_set():
                try:
                    shards = sorted(set((await read_routes(js)).values()))
                    await merged.ensure(js)
                    await self._copy(js, shards)
                except (StartOver, TimeoutError, nats.errors.Error) as exc:
                    log("merger", f"starting over: {exc!r}")
                    await asyncio.sleep(0.05)
        finally:
            await nc.close()

    async def _copy(self, js: JetStreamContext, shards: list[str]) -> None:
        last, copied = await merged_positions(js, shards)
        inbox: asyncio.Queue[Msg] = asyncio.Queue()

        async def arrived(msg: Msg) -> None:
            inbox.put_nowait(msg)
        self.reconnected.clear()
        subs = [await js.subscribe(out_subject(shard), cb=arrived, ordered_consumer=True,
                                   deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                   config=ConsumerConfig(opt_start_seq=copied[shard] + 1))
                for shard in shards]
        in_flight: deque[tuple[int, asyncio.Future]] = deque()
        checked = time.monotonic()
        try:
            while not self.stopping.is_set():
                if self.reconnected.is_set():
                    raise StartOver("reconnected")
                try:
                    msg = await asyncio.wait_for(inbox.get(), 0.05)
                except TimeoutError:
                    self._reap(in_flight)
                    if time.monotonic() - checked > ROUTES_CHECK_S:
                        checked = time.monotonic()
                        if set(shards) != set((await read_routes(js)).values()):
                            return  # the shards changed: start over with the new ones
                    continue
                while True:
                    shard = msg.subject.partition(".")[2]
                    seq = msg.metadata.sequence.stream
                    if seq == copied[shard] + 1:
                        last += 1
                        ack = await js.publish_async(merged_subject(shard), msg.data, headers={
                            MSG_ID: output_id(shard, seq), EXPECTED_LAST_SEQ: str(last - 1)})
                        in_flight.append((last, ack))
                        copied[shard] = seq
                    elif seq > copied[shard] + 1:
                        raise StartOver(f"OUT_{shard} gave {seq} after {copied[shard]}")
                    while len(in_flight) >= self.window:
                        await self._settle_oldest(in_flight)
                    if inbox.empty():
                        break
                    msg = inbox.get_nowait()
                self._reap(in_flight)
            while in_flight:
                await self._settle_oldest(in_flight)
        finally:
            for flight in in_flight:
                flight[1].cancel()
            for sub in subs:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()

    async def _settle_oldest(self, in_flight: deque[tuple[int, asyncio.Future]]) -> None:
        done, _ = await asyncio.wait([in_flight[0][1]], timeout=self.ack_timeout)
        if not done:
            raise StartOver(f"no ack for OUT_ALL {in_flight[0][0]} in {self.ack_timeout} s")
        self._reap(in_flight)

    def _reap(self, in_flight: deque[tuple[int, asyncio.Future]]) -> None:
        while in_flight and in_flight[0][1].done():
            slot, ack = in_flight.popleft()
            if ack.cancelled() or ack.exception() is not None:
                why = "canceled" if ack.cancelled() else repr(ack.exception())
                raise StartOver(f"OUT_ALL {slot}: {why}")
            if ack.result().seq != slot:  # stored before, elsewhere: another merger's copy
                raise StartOver(f"OUT_ALL {slot} was acknowledged at {ack.result().seq}")
            self.copies += 1


async def serve(nats_url: str) -> int:
    merger = Merger(nats_url)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, merger.stopping.set)
    await merger.run()
    return 0


def main(argv: list[str] | None = None) -> int:
    from exchange.cli.cluster import MERGER

    parser = argparse.ArgumentParser(prog="exchange merger", description=MERGER)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    return asyncio.run(serve(parser.parse_args(argv).nats))


if __name__ == "__main__":
    sys.exit(main())
