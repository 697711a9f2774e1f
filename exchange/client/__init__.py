"""An asyncio client for the exchange's websocket API (docs/protocol.md).

    client = await Client.connect("ws://127.0.0.1:8765", encoding="msgpack")
    await client.logon(api_key, cancel_on_disconnect=True)
    order = await client.new_order("WHEAT-M2-CTA-2703", "BUY", "5", "210.25")
    book = await client.subscribe_book("WHEAT-M2-CTA-2703")   # kept in sync from now on
    report = await client.exec_reports.get()

Requests return the response's `result`, or raise `ExchangeError(code, msg)`. Pushes are
handled as they arrive: execution reports go to `exec_reports` (and `last_exec_seq` follows
them, so a reconnecting client resumes with `subscribe_exec(resume_from_exec_seq=...)`); a
subscribed book is a `LocalBook` that applies deltas, checks seq continuity and the checksum,
and resubscribes on a gap, a bad checksum or `resync_required`; other pushes go to `pushes`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from typing import Any, Self

import msgpack
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from exchange.engine.instrument import parse_price
from exchange.gateway.book import LevelBook
from exchange.gateway.protocol import JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL

__all__ = ["Client", "ExchangeError", "LocalBook"]


class ExchangeError(Exception):
    """The venue answered a request with an error."""

    def __init__(self, code: str, msg: str = "") -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg


class LocalBook:
    """A client's copy of one instrument's book, proven equal to the venue's by checksum."""

    def __init__(self, symbol: str, decimals: int) -> None:
        self.book = LevelBook(symbol, decimals)
        self.seq: int | None = None  # None: waiting for a snapshot
        self.depth: int | None = None  # a depth-limited stream's depth
        self.resyncs = 0
        self.messages = 0

    @property
    def synced(self) -> bool:
        return self.seq is not None

    def apply(self, message: dict[str, Any]) -> bool:
        """Apply a snapshot or delta; False when the book is out of sync (gap or checksum)."""
        kind = message.get("type")
        decimals = self.book.decimals
        if kind == "snapshot":
            self.book.clear()
            for is_bid, levels in ((True, message["bids"]), (False, message["asks"])):
                for px, qty in levels:
                    self.book.set(is_bid, parse_price(px, decimals), int(qty))
            self.seq = message["seq"]
        elif kind == "delta":
            if self.seq is None:
                return True  # a delta before the snapshot: the snapshot will cover it
            if message["first_seq"] != self.seq + 1:
                self.seq = None
                return False
            for side, px, qty in message["changes"]:
                self.book.set(side == "bid", parse_price(px, decimals), int(qty))
            self.seq = message["seq"]
        else:
            return True
        self.messages += 1
        if self.book.checksum() != message["checksum"]:
            self.seq = None
            return False
        return True

    def bids(self, depth: int | None = None) -> list[tuple[str, str]]:
        return self.book.wire_levels(True, depth)

    def asks(self, depth: int | None = None) -> list[tuple[str, str]]:
        return self.book.wire_levels(False, depth)


class Client:
    def __init__(self, ws: ClientConnection, encoding: str) -> None:
        self.ws = ws
        self.encoding = encoding
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future] = {}
        self.exec_reports: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.pushes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.books: dict[str, LocalBook] = {}
        self.last_exec_seq: dict[str, int] = {}
        self.specs: dict[str, dict[str, Any]] = {}
        self.closed = asyncio.Event()
        self.close_reason = ""
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, url: str, encoding: str = "json", **options: Any) -> Client:
        """Connect; `encoding` is "json" (text frames) or "msgpack" (binary frames)."""
        subprotocol = {"json": JSON_SUBPROTOCOL, "msgpack": MSGPACK_SUBPROTOCOL}[encoding]
        options.setdefault("max_size", 16 << 20)
        options.setdefault("compression", None)
        ws = await connect(url, subprotocols=[subprotocol], **options)  # type: ignore[list-item]
        return cls(ws, encoding)

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- requests --------------------------------------------------------------------------

    def encode(self, message: dict[str, Any]) -> str | bytes:
        if self.encoding == "json":
            return json.dumps(message, separators=(",", ":"))
        return msgpack.packb(message)  # type: ignore[no-any-return]

    async def send_request(self, op: str, args: dict[str, Any]) -> asyncio.Future:
        """Send a request without waiting for its answer; the future resolves to the response."""
        request_id = f"r{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        await self.ws.send(self.encode({"op": op, "id": request_id, "args": args}))
        return future

    async def request(self, op: str, **args: Any) -> dict[str, Any]:
        """Send a request and return its result; ExchangeError if it failed."""
        args = {key: value for key, value in args.items() if value is not None}
        response = await (await self.send_request(op, args))
        if not response["ok"]:
            raise ExchangeError(response["error"]["code"], response["error"]["msg"])
        return response["result"]  # type: ignore[no-any-return]

    async def logon(self, api_key: str, cancel_on_disconnect: bool = False) -> dict[str, Any]:
        return await self.request("logon", api_key=api_key,
                                  cancel_on_disconnect=cancel_on_disconnect)

    async def instruments(self, **filters: Any) -> dict[str, dict[str, Any]]:
        """Instruments by symbol, every page of them (filters as the `instruments` op takes:
        sym, prefix, search, commodity, location, period, state); kept in `specs`."""
        found: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            result = await self.request("instruments", cursor=cursor, **filters)
            found.update((spec["sym"], spec) for spec in result["instruments"])
            cursor = result.get("next_cursor")
            if cursor is None:
                break
        self.specs.update(found)
        return found

    async def new_order(self, sym: str, side: str, qty: str, px: str | None = None,
                        cl_ord_id: str | None = None, **more: Any) -> dict[str, Any]:
        cl_ord_id = cl_ord_id or f"c{uuid.uuid4().hex[:20]}"
        return await self.request("new_order", sym=sym, side=side, qty=qty, px=px,
                                  cl_ord_id=cl_ord_id, **more)

    async def cancel_order(self, order_id: str | None = None,
                           orig_cl_ord_id: str | None = None) -> dict[str, Any]:
        return await self.request("cancel_order", order_id=order_id,
                                  orig_cl_ord_id=orig_cl_ord_id)

    async def replace_order(self, qty: str, px: str, order_id: str | None = None,
                            orig_cl_ord_id: str | None = None,
                            cl_ord_id: str | None = None) -> dict[str, Any]:
        return await self.request("replace_order", order_id=order_id,
                                  orig_cl_ord_id=orig_cl_ord_id, cl_ord_id=cl_ord_id, qty=qty,
                                  px=px)

    async def mass_cancel(self, sym: str | None = None, side: str | None = None) -> int:
        return (await self.request("mass_cancel", sym=sym, side=side))["count"]  # type: ignore[no-any-return]

    async def order_status(self, **ref: Any) -> dict[str, Any]:
        return await self.request("order_status", **ref)

    async def open_orders(self, sym: str | None = None,
                          account: str | None = None) -> list[dict[str, Any]]:
        """Every live order, page by page (the op pages by order id, following `next_cursor`)."""
        orders: list[dict[str, Any]] = []
        cursor = None
        while True:
            result = await self.request("open_orders", sym=sym, account=account, cursor=cursor)
            orders += result["orders"]
            cursor = result["next_cursor"]
            if cursor is None:
                return orders

    async def cancel_all_after(self, timeout_ms: int) -> dict[str, Any]:
        return await self.request("cancel_all_after", timeout_ms=timeout_ms)

    async def ping(self) -> dict[str, Any]:
        return await self.request("ping")

    # -- subscriptions ---------------------------------------------------------------------

    async def subscribe_exec(self, resume_from_exec_seq: int | None = None,
                             account: str | None = None) -> dict[str, Any]:
        return await self.request("subscribe", ch="exec", account=account,
                                  resume_from_exec_seq=resume_from_exec_seq)

    async def subscribe_book(self, sym: str, depth: int | None = None) -> LocalBook:
        """Subscribe and return the local book (synced once its snapshot arrives); `depth`
        keeps only the best levels of each side (one book stream per symbol)."""
        if sym not in self.specs:
            await self.instruments(sym=sym)
        if sym not in self.specs:
            raise ExchangeError("UNKNOWN_INSTRUMENT", f"no instrument {sym!r}")
        book = self.books.get(sym)
        if book is None:
            book = self.books[sym] = LocalBook(sym, self.specs[sym]["price_decimals"])
        book.depth = depth
        await self.request("subscribe", ch="book", sym=sym, depth=depth)
        return book

    async def subscribe(self, ch: str, sym: str) -> dict[str, Any]:
        return await self.request("subscribe", ch=ch, sym=sym)

    async def wait_synced(self, sym: str, seq: int | None = None, timeout: float = 5.0) -> None:
        """Wait until the local book is synced (at `seq` or later, if given)."""
        book = self.books[sym]
        async with asyncio.timeout(timeout):
            while book.seq is None or (seq is not None and book.seq < seq):
                await asyncio.sleep(0.005)

    # -- the reader ------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                message = json.loads(frame) if isinstance(frame, str) else msgpack.unpackb(frame)
                channel = message.get("ch")
                if channel is None:
                    future = self._waiting.pop(message.get("id"), None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif channel == "exec":
                    account = message["account"]
                    self.last_exec_seq[account] = message["exec_seq"]
                    self.exec_reports.put_nowait(message)
                elif channel == "book" and message.get("sym") in self.books:
                    await self._on_book(message)
                else:
                    self.pushes.put_nowait(message)
        except ConnectionClosed:
            pass
        finally:
            self.close_reason = f"{self.ws.close_code} {self.ws.close_reason or ''}".strip()
            self.closed.set()
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ExchangeError("CLOSED", self.close_reason))

    async def _on_book(self, message: dict[str, Any]) -> None:
        book = self.books[message["sym"]]
        if message.get("type") == "resync_required" or not book.apply(message):
            book.seq = None
            book.resyncs += 1
            again = {"ch": "book", "sym": message["sym"]}
            if book.depth is not None:
                again["depth"] = book.depth
            await self.send_request("subscribe", again)
