"""A lean load generator for the gateway, run as its own process (bench/gateway_bench.py starts
one or more): raw websocket frames over asyncio protocols, no websocket library.

Every request frame is encoded before the clock starts (msgspec, then framed with an all-zero
mask key: RFC 6455 requires client frames to be masked, and a zero key leaves the payload as it
is, so sending is one `transport.write` of bytes made earlier). Answers are read with msgspec
into a Struct of the two fields it needs. The process reports its own CPU time, so its cost per
order is known and can be told apart from the server's.

Protocol with the parent (one JSON line each way on stdout/stdin): the process connects and logs
on every connection, prints {"ready": true}, waits for a line on stdin, runs for `--seconds`
(closed loop: `--window` requests in flight per connection; or open loop at `--rate`), waits
for every answer, and prints its result (latencies go to `--latencies`, a .npy file of ns).

    python -m bench.loadgen --url ws://127.0.0.1:PORT --keys AGRO-1=KEY ... --connections 4
    python -m bench.loadgen --url ... --subscribers 500 --sym WHEAT-M2-CTA-2703   # market data
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import resource
import struct
import sys
import time
from typing import Any
from urllib.parse import urlparse

import msgspec
import numpy as np

SUBPROTOCOL = {"json": "exchange.json.v1", "msgpack": "exchange.msgpack.v1"}
SYMBOL = "WHEAT-M2-CTA-2703"
OK_CODES = ("UNKNOWN_ORDER", "TOO_LATE_TO_CANCEL")


class Error(msgspec.Struct):
    code: str = ""


class Answer(msgspec.Struct):
    """What the generator reads of any message: an answer's id and outcome, a book message's
    sequence and time."""

    id: str | None = None
    ok: bool = True
    error: Error | None = None
    result: dict[str, Any] | None = None
    ch: str | None = None
    type: str | None = None
    seq: int = 0
    first_seq: int = 0
    ts_us: int = 0


def encoder(encoding: str) -> Any:
    return msgspec.json.encode if encoding == "json" else msgspec.msgpack.encode


def decoder(encoding: str) -> Any:
    module = msgspec.json if encoding == "json" else msgspec.msgpack
    return module.Decoder(Answer).decode


def client_frame(payload: bytes, text: bool) -> bytes:
    """A masked client frame with the zero mask key (payload bytes unchanged)."""
    head = 0x81 if text else 0x82
    size = len(payload)
    if size < 126:
        return bytes((head, 0x80 | size)) + b"\0\0\0\0" + payload
    if size < 1 << 16:
        return struct.pack("!BBH", head, 0xFE, size) + b"\0\0\0\0" + payload
    return struct.pack("!BBQ", head, 0xFF, size) + b"\0\0\0\0" + payload


def workload(tag: str, count: int, encoding: str) -> list[bytes]:
    """`count` framed requests (id = their index): 60% new limit orders on WHEAT (side 50/50,
    price within 8 ticks of 210.00, qty 1-10, GTC), 40% cancels of one of the last 100."""
    rng = random.Random(tag)
    encode, text = encoder(encoding), encoding == "json"
    frames = []
    for n in range(count):
        if n >= 100 and rng.random() < 0.4:
            op = "cancel_order"
            args: dict[str, Any] = {"orig_cl_ord_id": f"{tag}-{rng.randint(n - 100, n - 1)}"}
        else:
            op = "new_order"
            price = 21_000 + 25 * rng.randint(-8, 8)
            args = {"sym": SYMBOL, "side": "BUY" if rng.random() < 0.5 else "SELL",
                    "qty": str(rng.randint(1, 10)), "px": f"{price // 100}.{price % 100:02d}",
                    "cl_ord_id": f"{tag}-{n}"}
        frames.append(client_frame(encode({"op": op, "id": str(n), "args": args}), text))
    return frames


class Connection(asyncio.Protocol):
    """One websocket client connection: handshake, then frames in, `on_message` per message."""

    def __init__(self, host: str, encoding: str) -> None:
        self.host = host
        self.encoding = encoding
        self.decode = decoder(encoding)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.open = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write((
            f"GET / HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {SUBPROTOCOL[self.encoding]}\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.open.set_exception(ConnectionError(bytes(buffer[:200]).decode()))
                return
            del buffer[:end + 4]
            self.upgraded = True
            self.open.set_result(None)
        start, size = 0, len(buffer)
        messages = []
        while size - start >= 2:
            opcode, length = buffer[start] & 0x0F, buffer[start + 1] & 0x7F
            at = start + 2
            if length == 126:
                if size - at < 2:
                    break
                length, at = int.from_bytes(buffer[at:at + 2], "big"), at + 2
            elif length == 127:
                if size - at < 8:
                    break
                length, at = int.from_bytes(buffer[at:at + 8], "big"), at + 8
            if size - at < length:
                break
            if opcode in (1, 2):
                messages.append(bytes(buffer[at:at + length]))
            elif opcode == 9:  # ping: pong with the same payload
                self.transport.write(bytes((0x8A, 0x80 | length)) + b"\0\0\0\0"
                                     + bytes(buffer[at:at + length]))
            start = at + length
        if start:
            del buffer[:start]
        if messages:
            self.on_messages(messages)

    def on_messages(self, messages: list[bytes]) -> None:
        raise NotImplementedError

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.open.done():
            self.open.set_exception(exc or ConnectionError("closed"))


class Trader(Connection):
    """Sends its pre-encoded requests, `window` in flight (closed loop) or when due (open loop),
    and times each answer against its request's send."""

    def __init__(self, host: str, encoding: str, frames: list[bytes], window: int) -> None:
        super().__init__(host, encoding)
        self.frames = frames
        self.window = window
        self.sent_ns = np.zeros(len(frames), dtype=np.int64)
        self.latency_ns: list[int] = []
        self.next = 0
        self.stop = False
        self.in_flight = 0
        self.new_orders = 0
        self.logged_on = asyncio.get_running_loop().create_future()
        self.drained: asyncio.Future | None = None
        self.failures: list[str] = []

    def send_upto(self, count: int) -> None:
        """Send requests until `count` are in flight (or the frames run out)."""
        first = self.next
        last = min(len(self.frames), first + count - self.in_flight)
        if last <= first or self.stop:
            return
        now = time.perf_counter_ns()
        self.sent_ns[first:last] = now
        self.transport.write(b"".join(self.frames[first:last]))
        self.in_flight += last - first
        self.next = last

    def on_messages(self, messages: list[bytes]) -> None:
        now = time.perf_counter_ns()
        decode, sent, latency = self.decode, self.sent_ns, self.latency_ns
        for message in messages:
            answer = decode(message)
            if answer.id is None:
                continue
            if answer.id == "L":
                self.logged_on.set_result(answer.ok)
                continue
            latency.append(now - int(sent[int(answer.id)]))
            if not answer.ok and answer.error.code not in OK_CODES:  # type: ignore[union-attr]
                self.failures.append(answer.error.code)  # type: ignore[union-attr]
            self.in_flight -= 1
        if self.window:
            self.send_upto(self.window)
        if self.drained is not None and self.in_flight == 0 and not self.drained.done():
            self.drained.set_result(None)


class Subscriber(Connection):
    """A book subscriber: checks that deltas are contiguous and records when each arrived."""

    def __init__(self, host: str, encoding: str) -> None:
        super().__init__(host, encoding)
        self.seq: int | None = None
        self.gaps = 0
        self.deltas = 0
        self.arrivals: dict[int, int] = {}  # delta seq -> arrival - ts_us (us)

    def on_messages(self, messages: list[bytes]) -> None:
        now_us = time.time_ns() // 1000
        for message in messages:
            answer = self.decode(message)
            if answer.ch != "book":
                continue
            if answer.type == "snapshot":
                self.seq = answer.seq
            elif answer.type == "delta" and self.seq is not None:
                if answer.first_seq != self.seq + 1:
                    self.gaps += 1
                self.seq = answer.seq
                self.deltas += 1
                self.arrivals[answer.seq] = now_us - answer.ts_us
            else:
                self.gaps += 1  # resync_required


async def open_connection(url: str, make: Any) -> Any:
    parts = urlparse(url)
    loop = asyncio.get_running_loop()
    for attempt in range(20):
        try:
            _, protocol = await loop.create_connection(make, parts.hostname, parts.port)
            await protocol.open
            return protocol
        except OSError:
            await asyncio.sleep(0.1 * (attempt + 1))
    raise SystemExit("could not connect")


def request(encoding: str, op: str, request_id: str, **args: Any) -> bytes:
    return client_frame(encoder(encoding)({"op": op, "id": request_id, "args": args}),
                        encoding == "json")


async def go_signal() -> None:
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def run_traders(args: argparse.Namespace) -> dict[str, Any]:
    keys = [item.split("=", 1) for item in args.keys]
    count = int(args.seconds * (args.rate or 40_000) / args.connections) + 1000
    traders = []
    for n in range(args.connections):
        account, key = keys[n % len(keys)]
        frames = workload(f"{args.tag}{n}", count, args.encoding)
        trader = await open_connection(args.url, lambda f=frames: Trader(
            urlparse(args.url).netloc, args.encoding, f, 0 if args.rate else args.window))
        trader.transport.write(request(args.encoding, "logon", "L", api_key=key))
        assert await trader.logged_on, account
        traders.append(trader)
    await go_signal()
    cpu0, started = cpu_seconds(), time.perf_counter()
    deadline = started + args.seconds
    if args.rate:  # open loop: every millisecond, send what is due
        per_connection = args.rate / args.connections
        while (now := time.perf_counter()) < deadline:
            due = int((now - started) * per_connection) + 1
            for trader in traders:
                trader.send_upto(due - trader.next + trader.in_flight)
            await asyncio.sleep(0.001)
    else:
        for trader in traders:
            trader.send_upto(args.window)
        await asyncio.sleep(args.seconds)
    for trader in traders:
        trader.stop = True
        trader.drained = asyncio.get_running_loop().create_future()
        if trader.in_flight == 0:
            trader.drained.set_result(None)
    await asyncio.wait_for(asyncio.gather(*(t.drained for t in traders)), 60)
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    latency = np.concatenate([np.array(t.latency_ns, dtype=np.int64) for t in traders])
    np.save(args.latencies, latency)
    new_orders = sum(sum(1 for f in t.frames[:t.next] if b"new_order" in f) for t in traders)
    failures = [code for t in traders for code in t.failures]
    for trader in traders:
        trader.transport.close()
    return {"answered": int(latency.size), "new_orders": new_orders, "elapsed_s": elapsed,
            "cpu_s": cpu, "failures": failures[:5], "failed": len(failures)}


async def run_subscribers(args: argparse.Namespace) -> dict[str, Any]:
    subscribers = []
    host = urlparse(args.url).netloc
    for wave in range(0, args.subscribers, 50):
        made = await asyncio.gather(*(open_connection(args.url, lambda: Subscriber(
            host, args.encoding)) for _ in range(wave, min(wave + 50, args.subscribers))))
        for subscriber in made:
            subscriber.transport.write(request(args.encoding, "subscribe", "s", ch="book",
                                               sym=args.sym))
        subscribers += made
    while any(s.seq is None for s in subscribers):
        await asyncio.sleep(0.02)
    await go_signal()  # the parent sends orders now, then a line once the final seq is known
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    final = int(line)
    waited = time.perf_counter()
    while any(s.seq < final for s in subscribers) and time.perf_counter() - waited < 60:
        await asyncio.sleep(0.01)
    lags: dict[int, int] = {}  # delta seq -> the last subscriber's lag (us)
    for subscriber in subscribers:
        for seq, lag in subscriber.arrivals.items():
            if lag > lags.get(seq, -1):
                lags[seq] = lag
    np.save(args.latencies, np.array(sorted(lags.values()), dtype=np.int64) * 1000)
    complete = sum(1 for s in subscribers if s.seq == final and not s.gaps)
    for subscriber in subscribers:
        subscriber.transport.close()
    return {"subscribers": len(subscribers), "complete_in_order": complete,
            "deltas_each": subscribers[0].deltas, "cpu_s": cpu_seconds()}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--keys", nargs="*", default=[], help="ACCOUNT=API_KEY, round robin")
    parser.add_argument("--encoding", choices=sorted(SUBPROTOCOL), default="json")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--rate", type=float, default=0, help="orders/s (0: closed loop)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--tag", default="g")
    parser.add_argument("--subscribers", type=int, default=0)
    parser.add_argument("--sym", default=SYMBOL)
    parser.add_argument("--latencies", required=True, help="where to save latencies (.npy)")
    args = parser.parse_args(argv)
    run = run_subscribers if args.subscribers else run_traders
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
