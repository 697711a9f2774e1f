"""The websocket server: the thin asyncio edge around the venue.

`Server.start()` opens the ledger, recovers the engine from it, rebuilds the gateway's state
from the ledger's entries, starts the engine task, and listens. Frames over `max_frame_bytes`
close the connection (1009); websocket pings with a timeout find dead peers.

Receiving: websockets' sans-I/O protocol parses the bytes, and each complete message goes to
`ops.receive` right there, in the event loop's read callback (`GatewayConnection`): no task and
no queue per message, and all the frames of one read are handled in one go. `ops.receive` is a
coroutine that almost never suspends (it hands jobs to the engine task's queue); it is run
eagerly, and in the rare case that it does suspend (a full engine queue, an operator's ledger
read), a task finishes it while the session's later messages wait behind it, in order (reading
pauses if many pile up). On the way out, the handler tells the venue (cancel-on-disconnect).

Garbage collection: the venue's state only grows during a day (every order ever stays in the
order tracker), and each of CPython's full collections walks all of it, stopping the event loop
(~100 ms at 100k orders, measured, and longer as the day goes on). So every `gc_freeze_s` the
objects that survived so far are frozen (`gc.freeze`, O(1)) and collections walk only what was
made since. Reference counting still frees frozen objects; only a reference cycle that became
garbage after it was frozen waits for the full collection every `gc_full_s` (one stall, on a
schedule). `close` unfreezes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import ssl
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, cast

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import NegotiationError
from websockets.frames import CloseCode, Frame, Opcode

from exchange.engine import Command
from exchange.gateway import ops
from exchange.gateway.config import DEFAULT_CONFIG, GatewayConfig
from exchange.gateway.keys import KeyStore
from exchange.gateway.protocol import SUBPROTOCOLS
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue
from exchange.ledger import Ledger
from exchange.web import pages

log = logging.getLogger("exchange.gateway")

STALLED_MESSAGES_MAX = 64  # messages held behind a suspended one before reading pauses
_MESSAGE_OPCODES = (Opcode.TEXT, Opcode.BINARY)


def run_eagerly(coro: Coroutine[Any, Any, None]) -> asyncio.Task | None:
    """Run `coro` now, in the caller, up to its end or its first real suspension; in the latter
    case a task finishes it, and is returned. (Python 3.12's eager tasks do the same.)"""
    try:
        awaited = coro.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_finish(coro, awaited))


async def _finish(coro: Coroutine[Any, Any, None], awaited: Any) -> None:
    """Drive a suspended coroutine on: wait for what it awaits, then resume it (it reads the
    awaited future's result or exception itself)."""
    while True:
        if awaited is None:  # a bare yield (asyncio.sleep(0))
            await asyncio.sleep(0)
        else:
            awaited._asyncio_future_blocking = False  # taken over, as a Task step does
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await awaited
        try:
            awaited = coro.send(None)
        except StopIteration:
            return


class GatewayConnection(ServerConnection):
    """A server connection that hands each complete message to the gateway as it is parsed."""

    def __init__(self, gateway: Server, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway = gateway
        self._session: Session | None = None
        self._fragments: list[bytes] = []
        self._text = False
        self._stalled: list[str | bytes] | None = None  # messages behind a suspended one
        self._over = False

    @property
    def session(self) -> Session:
        if self._session is None:
            venue = self.gateway.venue
            assert venue is not None
            self._session = Session(self, self.gateway.config)
            venue.sessions.add(self._session)
        return self._session

    def process_event(self, event: Any) -> None:
        if self.request is None or type(event) is not Frame:
            super().process_event(event)  # the handshake
            return
        opcode = event.opcode
        data = cast(bytes, event.data)  # the parser makes bytes
        if opcode in _MESSAGE_OPCODES:
            if event.fin:
                self._message(data, opcode is Opcode.TEXT)
            else:
                self._fragments, self._text = [data], opcode is Opcode.TEXT
        elif opcode is Opcode.CONT:
            self._fragments.append(data)
            if event.fin:
                data, self._fragments = b"".join(self._fragments), []
                self._message(data, self._text)
        else:
            super().process_event(event)  # control frames (pongs)

    def _message(self, data: bytes, text: bool) -> None:
        if text:
            try:
                message: str | bytes = data.decode()
            except UnicodeDecodeError as exc:
                self.protocol.fail(CloseCode.INVALID_DATA,
                                   f"{exc.reason} at position {exc.start}")
                self.send_data()
                return
        else:
            message = data
        if self._stalled is not None:
            self._stalled.append(message)
            if len(self._stalled) == STALLED_MESSAGES_MAX:
                self.transport.pause_reading()
            return
        self._receive(message)

    def forget(self) -> None:
        """The connection is over: drop the session (no reference cycle to leave to the
        collector) and ignore whatever was still waiting."""
        self._session, self._stalled, self._over = None, None, True

    def _receive(self, message: str | bytes) -> None:
        if self._over:
            return
        session = self.session
        try:
            task = run_eagerly(ops.receive(self.gateway.venue, session, message))  # type: ignore[arg-type]
        except Exception:
            log.exception("request failed")
            session.close(1011, "internal error")
            return
        if task is not None:
            self._stalled = []
            task.add_done_callback(self._resume)

    def _resume(self, task: asyncio.Task) -> None:
        if self._over:
            return
        if not task.cancelled() and task.exception() is not None:
            log.error("request failed", exc_info=task.exception())
            self.session.close(1011, "internal error")
        stalled, self._stalled = self._stalled or [], None
        if len(stalled) >= STALLED_MESSAGES_MAX:
            self.transport.resume_reading()
        for message in stalled:
            if self._stalled is not None:  # suspended again: the rest wait behind it
                self._stalled.append(message)
            else:
                self._receive(message)


def _select_subprotocol(connection: ServerConnection, offered: Any) -> Any:
    """The first of the client's subprotocols that we speak; none offered means JSON."""
    for subprotocol in offered:
        if subprotocol in SUBPROTOCOLS:
            return subprotocol
    if offered:  # a NegotiationError is the client's fault: websockets answers 400, not 500
        raise NegotiationError(f"unsupported subprotocols {list(offered)[:4]}; "
                               f"use one of {SUBPROTOCOLS}")
    return None


class Server:
    def __init__(self, ledger_path: Path, config: GatewayConfig = DEFAULT_CONFIG,
                 signing_key: Path | None = None) -> None:
        self.ledger_path = Path(ledger_path)
        self.signing_key = signing_key  # the ledger's key file (None: beside the ledger)
        self.config = config
        self.venue: Venue | None = None
        self._ledger: Any = None
        self._ws_server: Any = None
        self._tasks: list[asyncio.Task] = []

    async def open(self) -> Venue:
        """Open the ledger and recover; nothing listens yet (set up the venue now)."""
        self._ledger = await Ledger.open(self.ledger_path,
                                         snapshot_every=self.config.snapshot_every,
                                         key_file=self.signing_key)
        engine = await self._ledger.recover()
        self.venue = Venue(engine, self._ledger, KeyStore(engine.keys), self.config)
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
            max_queue=64, select_subprotocol=_select_subprotocol,
            process_request=pages.process_request,  # the market page (exchange/web) on this port
            create_connection=functools.partial(GatewayConnection, self))  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.venue.run()), loop.create_task(self._tick())]  # type: ignore[union-attr]
        if config.gc_freeze_s is not None:
            gc.freeze()  # the recovered state

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
        if self.config.gc_freeze_s is not None:
            gc.unfreeze()

    async def _handle(self, ws: ServerConnection) -> None:
        """The connection's life: its messages are handled as they arrive (`GatewayConnection`);
        this waits for the end, then tells the venue."""
        venue = self.venue
        assert venue is not None and isinstance(ws, GatewayConnection)
        session = ws.session
        try:
            await ws.wait_closed()
        finally:
            session.closing = True
            ws.forget()
            await venue.session_closed(session)

    async def _tick(self) -> None:
        assert self.venue is not None
        config = self.config
        frozen = collected = time.monotonic()
        while True:
            await asyncio.sleep(min(config.heartbeat_s, 0.25))
            try:
                await self.venue.tick()
            except Exception:  # a stopped venue refuses jobs; the heartbeat goes on
                log.debug("tick failed", exc_info=True)
            now = time.monotonic()
            if config.gc_freeze_s is not None and now - frozen >= config.gc_freeze_s:
                if config.gc_full_s is not None and now - collected >= config.gc_full_s:
                    gc.unfreeze()
                    gc.collect()
                    collected = now
                gc.freeze()
                frozen = now

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not (self.config.certfile and self.config.keyfile):
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.config.certfile, self.config.keyfile)
        return context
