"""One client connection's session state, and how messages leave the venue.

Outgoing messages are written synchronously into the connection's transport buffer, never
awaited, so the engine task and a fan-out to a thousand subscribers never wait for one client.
Each message is framed here (`frame`: a server's frames are unmasked and never fragmented, so
the bytes are the same for every receiver) and a market-data message is encoded and framed once
for all its subscribers; websockets still owns the connection's state, control frames and
closing handshake, and nothing is written to a connection that is no longer open. That buffer is the connection's bounded queue: `deliver` checks its size
before each write. Past `md_buffer_bytes` a market-data stream is dropped for that client with a
`resync_required` message naming it (the client resubscribes and gets a fresh snapshot); past
`buffer_bytes` the connection is closed with reason "slow consumer" (a client resumes its
execution reports from `exec_seq`). Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from websockets.protocol import State

from exchange.gateway.config import GatewayConfig
from exchange.gateway.keys import Principal
from exchange.gateway.protocol import ENCODERS, JSON_SUBPROTOCOL
from exchange.gateway.ratelimit import TokenBucket

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

SLOW_CONSUMER = "slow consumer"
_TEXT, _BINARY = 0x81, 0x82  # FIN + the data opcode


def frame(payload: bytes, text: bool) -> bytes:
    """One whole websocket data frame as a server sends it (RFC 6455 5.2: FIN, no mask, no
    extension; this server negotiates none). Cost: one copy of the payload."""
    head = _TEXT if text else _BINARY
    size = len(payload)
    if size < 126:
        return bytes((head, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", head, 126, size) + payload
    return struct.pack("!BBQ", head, 127, size) + payload


def _write(ws: ServerConnection, data: bytes) -> None:
    """Write framed bytes to a connection, unless it is closing or closed."""
    if ws.protocol.state is State.OPEN:
        ws.transport.write(data)


class Session:
    def __init__(self, ws: ServerConnection, config: GatewayConfig) -> None:
        self.ws = ws
        self.config = config
        self.subprotocol = ws.subprotocol or JSON_SUBPROTOCOL
        self.encode = ENCODERS[self.subprotocol]
        self.text = self.subprotocol == JSON_SUBPROTOCOL
        self.principal: Principal | None = None
        self.firm: str | None = None
        self.origin = ""  # the ledger's origin of this session's commands, set at logon
        self.cancel_on_disconnect = False
        self.bucket = TokenBucket(config.conn_rate, config.conn_burst, time.monotonic())
        self.md_bucket = TokenBucket(config.md_subscribe_rate, config.md_subscribe_burst,
                                     time.monotonic())  # market-data subscribes (each a snapshot)
        self.limited_in_a_row = 0
        self.md_channels: set[tuple[str, str]] = set()  # (channel, symbol)
        self.md_joining = 0  # market-data subscribes accepted, their streams not joined yet
        self.exec_accounts: set[str] = set()  # "*" for all (auditors)
        self.exec_backlog: list[dict[str, Any]] | None = None  # live reports held during resume
        self.last_md_s = time.monotonic()
        self.closing = False
        self.posted: list[bytes] = []  # framed, waiting for flush
        self.pending = 0  # requests handed to the engine task, not yet answered
        self.drain: tuple[int, str] | None = None  # close (code, reason) once pending is 0

    def may_before_logon(self, op: str) -> bool:
        """Whether an op open to all (roles None) may run before this session logs on: always
        `logon` and `ping`; the public market ops unless the venue turned them off."""
        return self.config.public_market_data or op in ("logon", "ping")

    @property
    def account(self) -> str | None:
        return None if self.principal is None else self.principal.account

    def buffered(self) -> int:
        transport = self.ws.transport
        return 0 if transport is None else transport.get_write_buffer_size()

    def send(self, message: Mapping[str, Any]) -> None:
        """Write one message now (private: responses, exec reports); close if hopelessly slow."""
        if self.closing:
            return
        if self.buffered() > self.config.buffer_bytes:
            self.close(1008, SLOW_CONSUMER)
            return
        _write(self.ws, frame(self.encode(message), self.text))

    def post(self, message: Mapping[str, Any]) -> bool:
        """Queue a message for `flush` (the engine task's publishing: one write per batch).
        True if this is the first message queued since the last flush."""
        if self.closing:
            return False
        self.posted.append(frame(self.encode(message), self.text))
        return len(self.posted) == 1

    def flush(self) -> None:
        """Write the queued messages as frames in one write (one syscall, not one each)."""
        posted, self.posted = self.posted, []
        protocol = self.ws.protocol
        if not posted or self.closing or protocol.state is not State.OPEN:
            return
        if self.buffered() > self.config.buffer_bytes:
            self.close(1008, SLOW_CONSUMER)
            return
        self.ws.transport.write(b"".join(posted))

    def post_report(self, report: dict[str, Any]) -> bool:
        if self.exec_backlog is not None:
            self.exec_backlog.append(report)
            return False
        return self.post(report)

    def close_when_answered(self, code: int, reason: str) -> None:
        """Close, but only after every request already handed to the engine is answered (the
        venue calls `closed_if_answered` as it publishes); nothing more is read meanwhile."""
        if self.drain is None and not self.closing:
            self.drain = (code, reason)
            self.closed_if_answered()

    def closed_if_answered(self) -> None:
        if self.drain is not None and self.pending <= 0:
            self.close(*self.drain)

    def close(self, code: int, reason: str) -> None:
        """Close with a code and reason, without waiting (the handler sees the end)."""
        if self.closing:
            return
        self.closing = True
        if self.ws.protocol.state is State.OPEN:
            asyncio.get_running_loop().create_task(self.ws.close(code, reason))


def deliver(sessions: Iterable[Session], message: Mapping[str, Any], channel: str,
            symbol: str, on_drop: Any) -> None:
    """Send one market-data message to many sessions, encoded once per encoding.

    A session whose unsent bytes exceed the market-data bound is passed to `on_drop(session,
    channel, symbol)` instead (it unsubscribes and tells the client to resync). O(sessions).
    """
    if not sessions:
        return
    now = time.monotonic()
    by_encoding: dict[str, list] = {}
    for session in list(sessions):
        if session.closing:
            continue
        if session.buffered() > session.config.md_buffer_bytes:
            on_drop(session, channel, symbol)
            continue
        session.last_md_s = now
        by_encoding.setdefault(session.subprotocol, []).append(session.ws)
    for subprotocol, connections in by_encoding.items():
        data = frame(ENCODERS[subprotocol](message), subprotocol == JSON_SUBPROTOCOL)
        for ws in connections:
            _write(ws, data)
