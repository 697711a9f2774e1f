"""Reading OUT_ALL in order, for a gateway: live (`Follower`) and from its start (replays).

`Follower` subscribes to OUT_ALL from the message after the last one folded (an ordered
consumer), hands each message to `fold` and, after each run of messages that had arrived
together, calls `done` (market data out, reads released). A reconnect or a skipped message makes
it subscribe again from where it is, so every message is folded once and in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from exchange.cluster.merged import MERGED, MERGED_SUBJECTS, MergedPosition
from exchange.gateway.orders import OrderTracker

log = logging.getLogger("exchange.cluster.gateway")


class Follower:
    def __init__(self, js: JetStreamContext, position: MergedPosition,
                 fold: Callable[[Msg], None], done: Callable[[], None]) -> None:
        self.js = js
        self.position = position
        self.fold = fold
        self.done = done
        self.reconnected = asyncio.Event()  # set by the connection's reconnect callback

    async def catch_up(self) -> None:
        """Fold OUT_ALL up to where it ends now."""
        await self.follow((await self.js.stream_info(MERGED)).state.last_seq)

    async def follow(self, until: int | None) -> None:
        """Fold OUT_ALL up to `until` (None: for ever). Raises what `fold` raises."""
        while until is None or self.position.merged_seq < until:
            inbox: asyncio.Queue[Msg] = asyncio.Queue()

            async def arrived(msg: Msg, inbox: asyncio.Queue[Msg] = inbox) -> None:
                inbox.put_nowait(msg)
            self.reconnected.clear()
            try:
                sub = await self.js.subscribe(
                    MERGED_SUBJECTS, stream=MERGED, cb=arrived, ordered_consumer=True,
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                    config=ConsumerConfig(opt_start_seq=self.position.merged_seq + 1))
            except (TimeoutError, nats.errors.Error) as exc:
                log.warning("OUT_ALL: subscribing failed, retrying: %r", exc)
                await asyncio.sleep(0.2)
                continue
            try:
                await self._drain(inbox, until)
            finally:
                with contextlib.suppress(Exception):  # the connection may be gone
                    await sub.unsubscribe()

    async def _drain(self, inbox: asyncio.Queue[Msg], until: int | None) -> None:
        while until is None or self.position.merged_seq < until:
            if self.reconnected.is_set():
                return
            try:
                first = await asyncio.wait_for(inbox.get(), 0.25)
            except TimeoutError:
                continue
            run = [first]
            while not inbox.empty():
                run.append(inbox.get_nowait())
            try:
                for msg in run:
                    seq = msg.metadata.sequence.stream
                    if seq <= self.position.merged_seq:
                        continue
                    if seq != self.position.merged_seq + 1:
                        log.warning("OUT_ALL gave %d after %d: subscribing again", seq,
                                    self.position.merged_seq)
                        return
                    self.fold(msg)
            finally:
                self.done()


async def replay_reports(js: JetStreamContext, shards: list[str], account: str, after: int,
                         upto: int) -> AsyncIterator[dict[str, Any]]:
    """The account's reports with after < exec_seq <= upto, re-derived by folding OUT_ALL from
    its start into a fresh tracker (a resume from further back than a gateway keeps).
    O(OUT_ALL up to the last of them)."""
    tracker, position = OrderTracker(), MergedPosition(shards)
    sub = await js.subscribe(MERGED_SUBJECTS, stream=MERGED, ordered_consumer=True)
    try:
        while tracker.exec_seq.get(account, 0) < upto:
            msg = await sub.next_msg(timeout=10)
            folded = position.take(msg.metadata.sequence.stream, msg.headers, msg.data)
            if folded is None or folded.command is None:
                continue
            for owner, report in tracker.apply(folded.command, folded.events, (account,)):
                if owner == account and after < report["exec_seq"] <= upto:
                    yield report
            if position.merged_seq % 2000 == 0:
                await asyncio.sleep(0)
    finally:
        await sub.unsubscribe()
