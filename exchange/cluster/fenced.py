"""Outputs fenced to their slots: output k is published only where OUT holds exactly k-1.

Every output goes out with `Nats-Msg-Id = <shard>:<k>` and `Nats-Expected-Last-Sequence =
k-1`, so JetStream stores it at OUT sequence k or not at all: a second engine (a restart that
overlaps a zombie, a republish after a reconnect) either finds the id already there (a
duplicate ack, nothing written) or the sequence moved (error 10071, nothing written). As the
engine is deterministic, whoever wins wrote the same bytes.

`FencedOutputs` keeps up to `window` outputs in flight (published, ack awaited) so the engine
does not wait one round trip per input. Any failure (an error ack, a lost ack, a dropped
connection) raises `Resync`; `resync()` then asks OUT where it ends, forgets what is there, and
republishes the rest it holds, one at a time. `Lost` means OUT ends before the oldest output
held, so the missing ones cannot be regenerated here: the process must restart from a snapshot.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import NamedTuple

from nats.js import JetStreamContext
from nats.js.api import PubAck

from exchange.cluster.names import EXPECTED_LAST_SEQ, MSG_ID, out_stream, out_subject, output_id


class Resync(Exception):
    """The outputs in flight are in doubt: resynchronise with OUT before going on."""


class Lost(Exception):
    """OUT lacks outputs this process no longer holds: restart from a snapshot."""


class InFlight(NamedTuple):
    seq: int
    payload: bytes
    ack: asyncio.Future


class FencedOutputs:
    """The output side of one shard. `last` is OUT's last sequence as far as is known."""

    def __init__(self, js: JetStreamContext, shard: str, last: int, window: int = 256,
                 ack_timeout: float = 2.0) -> None:
        self.js = js
        self.shard = shard
        self.last = last
        self.window = window
        self.ack_timeout = ack_timeout
        self.in_flight: deque[InFlight] = deque()
        self.held: deque[tuple[int, bytes]] = deque()  # not yet published (after a Resync)

    async def send(self, seq: int, payload: bytes) -> None:
        """Publish the output of input `seq` unless OUT already has it. Waits for the oldest
        ack only when `window` are in flight. Raises Resync."""
        if seq <= self.last:
            return  # replaying inputs whose outputs are in OUT already
        if self.held:
            self.held.append((seq, payload))
            raise Resync("earlier outputs are waiting to be republished")
        try:
            ack = await self.js.publish_async(out_subject(self.shard), payload, headers={
                MSG_ID: output_id(self.shard, seq), EXPECTED_LAST_SEQ: str(seq - 1)})
        except Exception as exc:  # noqa: BLE001 - not sent, or not known to be: resync decides
            self.held.append((seq, payload))
            raise Resync(f"output {seq} not published: {exc!r}") from None
        self.in_flight.append(InFlight(seq, payload, ack))
        self._reap()
        while len(self.in_flight) >= self.window:
            await self._settle_oldest()

    async def settle(self) -> None:
        """Wait until every output in flight is acknowledged. Raises Resync."""
        while self.in_flight:
            await self._settle_oldest()

    def idle_check(self) -> None:
        """Account for acks that have arrived, without waiting. Raises Resync."""
        self._reap()

    async def resync(self, applied: int) -> None:
        """Find where OUT ends, drop what it has, republish the rest one by one (each ack
        awaited), so that OUT ends at `applied` (the engine's last input). Raises Lost, or
        whatever the server does (the caller retries)."""
        held = [(f.seq, f.payload) for f in self.in_flight] + list(self.held)
        for flight in self.in_flight:
            flight.ack.cancel()
        self.in_flight.clear()
        self.held = deque(held)
        info = await self.js.stream_info(out_stream(self.shard))
        self.last = info.state.last_seq
        while self.held and self.held[0][0] <= self.last:
            self.held.popleft()
        if self.held and self.held[0][0] != self.last + 1:
            raise Lost(f"OUT_{self.shard} ends at {self.last}; the oldest output held is "
                       f"{self.held[0][0]}")
        while self.held:
            seq, payload = self.held[0]
            ack = await self.js.publish(out_subject(self.shard), payload, timeout=self.ack_timeout,
                                        headers={MSG_ID: output_id(self.shard, seq),
                                                 EXPECTED_LAST_SEQ: str(seq - 1)})
            self._accept(seq, ack)
            self.held.popleft()
        if self.last < applied:
            raise Lost(f"OUT_{self.shard} ends at {self.last}, the engine has applied input "
                       f"{applied}")

    def _reap(self) -> None:
        while self.in_flight and self.in_flight[0].ack.done():
            self._take_oldest()

    async def _settle_oldest(self) -> None:
        done, _ = await asyncio.wait([self.in_flight[0].ack], timeout=self.ack_timeout)
        if not done:
            raise Resync(f"no ack for output {self.in_flight[0].seq} in {self.ack_timeout} s")
        self._take_oldest()  # an error ack becomes Resync there

    def _take_oldest(self) -> None:
        flight = self.in_flight[0]
        if flight.ack.cancelled():
            raise Resync(f"output {flight.seq}: ack canceled")
        error = flight.ack.exception()
        if error is not None:
            raise Resync(f"output {flight.seq}: {error!r}")
        self._accept(flight.seq, flight.ack.result())
        self.in_flight.popleft()

    def _accept(self, seq: int, ack: PubAck) -> None:
        if ack.seq != seq:
            # the id was stored before, at another sequence: only a foreign writer could do that
            raise Lost(f"output {seq} of {self.shard} was acknowledged at OUT sequence {ack.seq}")
        self.last = max(self.last, seq)
