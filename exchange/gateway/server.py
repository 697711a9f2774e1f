"""The websocket server: the thin asyncio edge around the venue.

`Server.start()` opens the ledger, recovers the engine from it, rebuilds the gateway's state
from the ledger's entries, starts the engine task, and listens. Each connection is a loop of
five lines: receive a frame, hand it to `ops.receive`, and on the way out tell the venue (for
cancel-on-disconnect). Frames over `max_frame_bytes` close the connection (1009); websocket pings
with a timeout find dead peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from exchange.engine import Command
from exchange.gateway import ops
from exchange.gateway.config import GatewayConfig
from exchange.gateway.keys import KeyStore
from exchange.gateway.protocol import SUBPROTOCOLS
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue
from exchange.ledger import Ledger

log = logging.getLogger("exchange.gateway")


def _select_subprotocol(connection: ServerConnection, offered: Any) -> Any:
    """The first of the client's subprotocols that we speak; none offered means JSON."""
    for subprotocol in offered:
        if subprotocol in SUBPROTOCOLS:
            return subprotocol
    if offered:
        raise ValueError(f"unsupported subprotocols {list(offered)}; use one of {SUBPROTOCOLS}")
    return None


class Server:
    def __init__(self, ledger_path: Path, config: GatewayConfig = GatewayConfig(),
                 keys: KeyStore | None = None) -> None:
        self.ledger_path = Path(ledger_path)
        self.config = config
        self.keys = keys if keys is not None else KeyStore.beside(self.ledger_path)
        self.venue: Venue | None = None
        self._ledger: Any = None
        self._ws_server: Any = None
        self._tasks: list[asyncio.Task] = []

    async def open(self) -> Venue:
        """Open the ledger and recover; nothing listens yet (set up the venue now)."""
        self._ledger = await Ledger.open(self.ledger_path,
                                         snapshot_every=self.config.snapshot_every)
        engine = await self._ledger.recover()
        self.venue = Venue(engine, self._ledger, self.keys, self.config)
        await self.venue.recover()
        return self.venue

    async def setup(self, commands: list[Command], origin: str) -> None:
        """Apply setup commands (listing instruments, adding accounts) in one durable batch."""
        assert self.venue is not None
        await self.venue.apply_now(commands, origin)

    async def start(self) -> None:
        if self.venue is None:
            await self.open()
        config = self.config
        self._ws_server = await serve(
            self._handle, config.host, config.port, subprotocols=list(SUBPROTOCOLS),  # type: ignore[arg-type]
            max_size=config.max_frame_bytes, ping_interval=config.ping_interval_s,
            ping_timeout=config.ping_timeout_s, compression=None, ssl=self._ssl_context(),
            max_queue=64, select_subprotocol=_select_subprotocol)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.venue.run()), loop.create_task(self._tick())]  # type: ignore[union-attr]

    @property
    def port(self) -> int:
        return int(self._ws_server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        scheme = "wss" if self.config.certfile else "ws"
        return f"{scheme}://{self.config.host}:{self.port}"

    async def serve_forever(self) -> None:
        """Run until cancelled or the venue stops (ledger failure)."""
        assert self.venue is not None
        await self.venue.stopped.wait()
        raise RuntimeError(f"venue stopped: {self.venue.failed}")

    async def close(self) -> None:
        if self._ws_server is not None:
            self._ws_server.close()
            await self._ws_server.wait_closed()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._ledger is not None:
            await self._ledger.close()

    async def _handle(self, ws: ServerConnection) -> None:
        venue = self.venue
        assert venue is not None
        session = Session(ws, self.config)
        venue.sessions.add(session)
        try:
            async for frame in ws:
                await ops.receive(venue, session, frame)
        except ConnectionClosed:
            pass
        finally:
            session.closing = True
            await venue.session_closed(session)

    async def _tick(self) -> None:
        assert self.venue is not None
        while True:
            await asyncio.sleep(min(self.config.heartbeat_s, 0.25))
            try:
                await self.venue.tick()
            except Exception:  # a stopped venue refuses jobs; the heartbeat goes on
                log.debug("tick failed", exc_info=True)

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not (self.config.certfile and self.config.keyfile):
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.config.certfile, self.config.keyfile)
        return context
