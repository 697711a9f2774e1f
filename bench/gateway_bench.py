"""Gateway benchmark: durable acks over real websockets, and market-data fan-out.

The venue runs as `exchange serve --demo` in its own process (ledger fsync on: WAL,
synchronous=FULL); this process is the load generator. Three phases per run:

1. throughput — `--connections` traders (AGRO-1, MILL-1, STEEL-1, ... round robin), each keeping
   `--window` new_order requests in flight, for `--seconds`; sustained acks/s and ack latency
   (send to response, measured here) p50/p99/p99.9, once per encoding (JSON, MessagePack);
2. fixed rates — the same at open-loop `--rates` orders/s, for latency at a known load;
3. fan-out — `--subscribers` connections subscribed to the book while one trader sends orders
   at `--fanout-rate`; every subscriber must see every delta in order (contiguous seq, no
   resync) up to the venue's final seq.

Workload (seeded, per connection): 60% new limit orders on WHEAT, side 50/50, price uniform within
8 ticks either side of 210.00, qty 1..10, GTC; 40% cancels of one of the connection's last 100
orders (most of them already filled: TOO_LATE_TO_CANCEL, answered by the gateway). Rates count
both. At the end the ledger is recovered independently (full replay, digest checked at every
batch) and must hold one accepted-or-rejected outcome for every new order acknowledged.

    python -m bench.gateway_bench                    # the figures in bench/README.md
    python -m bench.gateway_bench --seconds 3 --subscribers 100   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
from websockets.asyncio.client import connect

SYMBOL = "WHEAT-M2-CTA-2703"
SUBPROTOCOL = {"json": "exchange.json.v1", "msgpack": "exchange.msgpack.v1"}


def fsync_latency(folder: Path, commits: int) -> dict[str, float]:
    """Latency of the smallest durable commit on this disk: one 200-byte row per transaction in
    a SQLite database in WAL mode with synchronous=FULL (the ledger's settings), in ms."""
    conn = sqlite3.connect(folder / "fsync-probe.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, body BLOB)")
    body = bytes(200)
    latencies = []
    for _ in range(commits):
        started = time.perf_counter_ns()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO probe (body) VALUES (?)", (body,))
        conn.execute("COMMIT")
        latencies.append(time.perf_counter_ns() - started)
    conn.close()
    lat_ms = np.array(latencies, dtype=np.float64) / 1e6
    p50, p99, p999 = np.percentile(lat_ms, [50, 99, 99.9])
    return {"commits": commits, "p50_ms": p50, "p99_ms": p99, "p99_9_ms": p999,
            "max_ms": lat_ms.max()}


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (all its threads): this one, or `pid` (Linux)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(ledger: Path) -> tuple[subprocess.Popen, str, dict[str, str]]:
    ready = ledger.with_name("ready")
    process = subprocess.Popen(
        [sys.executable, "-m", "exchange.cli.main", "serve", "--demo", "--port", "0",
         "--ledger", str(ledger), "--ready-file", str(ready), "--order-rate", "1e9",
         "--conn-rate", "1e9"], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("server did not start")
        time.sleep(0.05)
    keys: dict[str, str] = {}
    while "STEEL-1" not in keys:
        match = re.match(r"\s+trader\s+(\S+)\s+(\S+)", process.stdout.readline())  # type: ignore[union-attr]
        if match:
            keys[match.group(1)] = match.group(2)
    return process, ready.read_text(), keys


class Codec:
    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.encode = (lambda m: json.dumps(m, separators=(",", ":"))) if encoding == "json" \
            else msgpack.packb
        self.decode = json.loads if encoding == "json" else msgpack.unpackb


async def open_trader(url: str, key: str, codec: Codec) -> Any:
    ws = await connect(url, subprotocols=[SUBPROTOCOL[codec.encoding]], compression=None,  # type: ignore[list-item]
                       max_size=None, ping_interval=None)
    await ws.send(codec.encode({"op": "logon", "id": "L", "args": {"api_key": key}}))
    assert codec.decode(await ws.recv())["ok"]
    return ws


def next_request(rng: random.Random, n: int, tag: str) -> tuple[str, dict[str, Any]]:
    """60% new limit orders, 40% cancels of one of the connection's last 100 orders."""
    if n >= 100 and rng.random() < 0.4:
        return "cancel_order", {"orig_cl_ord_id": f"{tag}-{rng.randint(n - 100, n - 1)}"}
    side = "BUY" if rng.random() < 0.5 else "SELL"
    price = 21_000 + 25 * rng.randint(-8, 8)
    return "new_order", {"sym": SYMBOL, "side": side, "qty": str(rng.randint(1, 10)),
                         "px": f"{price // 100}.{price % 100:02d}", "cl_ord_id": f"{tag}-{n}"}


async def trader(url: str, key: str, codec: Codec, tag: str, seconds: float, window: int,
                 rate: float | None, latencies: list[int], counts: list[int]) -> int:
    """Send order requests for `seconds` (closed loop with `window` in flight, or open loop at
    `rate`); return how many were answered; latencies (ns) go into `latencies`, the number of
    new orders into `counts`."""
    ws = await open_trader(url, key, codec)
    rng = random.Random(tag)
    sent: dict[str, int] = {}
    new_orders: list[str] = []
    slots = asyncio.Semaphore(window)
    answered = 0
    done = asyncio.Event()

    async def read() -> None:
        nonlocal answered
        async for frame in ws:
            message = codec.decode(frame)
            started = sent.pop(message.get("id"), None)
            if started is None:
                continue
            latencies.append(time.perf_counter_ns() - started)
            assert message["ok"] or message["error"]["code"] in ("UNKNOWN_ORDER",
                                                                 "TOO_LATE_TO_CANCEL"), message
            answered += 1
            slots.release()
            if done.is_set() and not sent:
                return

    reader = asyncio.get_running_loop().create_task(read())
    start = time.perf_counter()
    for n in itertools.count():
        now = time.perf_counter()
        if now - start >= seconds:
            break
        if rate is not None:
            due = start + n / rate
            if due > now:
                await asyncio.sleep(due - now)
        await slots.acquire()
        request_id = str(n)
        sent[request_id] = time.perf_counter_ns()
        op, args = next_request(rng, n, tag)
        if op == "new_order":
            new_orders.append(request_id)
        await ws.send(codec.encode({"op": op, "id": request_id, "args": args}))
    done.set()
    if sent:
        await asyncio.wait_for(reader, 30)
    else:
        reader.cancel()
    await ws.close()
    counts.append(len(new_orders))
    return answered


async def load(url: str, keys: dict[str, str], codec: Codec, connections: int, window: int,
               seconds: float, rate: float | None, run: str) -> dict[str, Any]:
    accounts = list(keys)
    latencies: list[int] = []
    new_orders: list[int] = []
    per_connection = None if rate is None else rate / connections
    started = time.perf_counter()
    counts = await asyncio.gather(*(
        trader(url, keys[accounts[n % len(accounts)]], codec, f"{run}{n}", seconds, window,
               per_connection, latencies, new_orders) for n in range(connections)))
    elapsed = time.perf_counter() - started
    lat_ms = np.array(latencies, dtype=np.float64) / 1e6
    p50, p99, p999 = np.percentile(lat_ms, [50, 99, 99.9])
    return {"orders": sum(counts), "new_orders": sum(new_orders), "orders_per_s": sum(counts) / elapsed, "p50_ms": p50,
            "p99_ms": p99, "p99_9_ms": p999, "max_ms": lat_ms.max()}


async def fanout(url: str, keys: dict[str, str], subscribers: int, rate: float,
                 seconds: float) -> dict[str, Any]:
    codec = Codec("msgpack")
    state = [{"seq": None, "deltas": 0, "gaps": 0} for _ in range(subscribers)]
    sockets = []
    accounts = list(keys)

    async def subscribe(index: int) -> Any:
        for attempt in range(5):
            try:
                ws = await connect(url, subprotocols=[SUBPROTOCOL["msgpack"]],  # type: ignore[list-item]
                                   compression=None, max_size=None, ping_interval=None,
                                   open_timeout=60)
                break
            except (TimeoutError, OSError):
                await asyncio.sleep(0.5)
        else:
            raise SystemExit(f"subscriber {index} could not connect")
        sockets.append(ws)
        key = keys[accounts[index % len(accounts)]]
        await ws.send(codec.encode({"op": "logon", "id": "l", "args": {"api_key": key}}))
        await ws.send(codec.encode({"op": "subscribe", "id": "s", "args": {"ch": "book",
                                                                          "sym": SYMBOL}}))
        return ws

    async def subscriber(ws: Any, index: int) -> None:
        mine = state[index]
        async for frame in ws:
            message = codec.decode(frame)
            if message.get("ch") != "book":
                continue
            if message["type"] == "snapshot":
                mine["seq"] = message["seq"]
            elif message["type"] == "delta" and mine["seq"] is not None:
                if message["first_seq"] != mine["seq"] + 1:
                    mine["gaps"] += 1
                mine["seq"] = message["seq"]
                mine["deltas"] += 1
            else:
                mine["gaps"] += 1  # resync_required

    readers = []
    loop = asyncio.get_running_loop()
    for wave in range(0, subscribers, 50):  # connect in waves: the listen backlog is finite
        indexes = range(wave, min(wave + 50, subscribers))
        connections = await asyncio.gather(*(subscribe(index) for index in indexes))
        readers += [loop.create_task(subscriber(ws, index))
                    for ws, index in zip(connections, indexes)]
    waited = time.perf_counter()
    while any(s["seq"] is None for s in state):
        if time.perf_counter() - waited > 60:
            synced = sum(s["seq"] is not None for s in state)
            raise SystemExit(f"only {synced} of {subscribers} subscribers got a snapshot")
        await asyncio.sleep(0.05)
    start_seq = state[0]["seq"]
    orders = (await load(url, {"AGRO-1": keys["AGRO-1"], "MILL-1": keys["MILL-1"]},
                         Codec("msgpack"), 2, 8, seconds, rate, "fan"))["new_orders"]
    probe = await open_trader(url, keys["STEEL-1"], codec)
    await probe.send(codec.encode({"op": "subscribe", "id": "p", "args": {"ch": "book",
                                                                         "sym": SYMBOL}}))
    final = codec.decode(await probe.recv())["result"]["seq"]
    waited = time.perf_counter()
    while any(s["seq"] < final for s in state) and time.perf_counter() - waited < 60:
        await asyncio.sleep(0.05)
    lag_s = time.perf_counter() - waited
    for ws in sockets:
        await ws.close()
    for reader in readers:
        reader.cancel()
    complete = sum(1 for s in state if s["seq"] == final and not s["gaps"])
    return {"subscribers": subscribers, "complete_in_order": complete, "orders": orders,
            "deltas_each": state[0]["deltas"], "book_changes": final - start_seq,
            "catch_up_s": lag_s}


def verify(ledger: Path, acked: int) -> str:
    from exchange.engine import OrderAccepted, OrderRejected, SubmitOrder
    from exchange.ledger import recover_file
    from exchange.ledger.reader import EntryBuilder, rows
    from exchange.ledger.reader import connect as open_ledger

    engine = recover_file(ledger)  # full replay, digest checked
    conn = open_ledger(ledger)
    builder = EntryBuilder()
    outcomes = 0
    for entry in [*builder.feed(list(rows(conn))), *builder.finish()]:
        if type(entry.command) is SubmitOrder:
            outcomes += sum(type(e) in (OrderAccepted, OrderRejected) for e in entry.events)
    conn.close()
    assert outcomes == acked, (outcomes, acked)
    return engine.digest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--rates", type=float, nargs="*", default=[1000, 5000],
                        help="open-loop order rates to measure latency at")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--fanout-rate", type=float, default=500)
    parser.add_argument("--encodings", nargs="+", default=["json", "msgpack"])
    parser.add_argument("--no-closed-loop", action="store_true",
                        help="skip the closed-loop throughput phase")
    parser.add_argument("--fsync-commits", type=int, default=2000,
                        help="fsync'd commits to time on the ledger's disk first (0: none)")
    parser.add_argument("--fsync-only", action="store_true",
                        help="time the disk's fsync'd commits, then stop")
    args = parser.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    with tempfile.TemporaryDirectory() as folder:
        ledger = Path(folder) / "bench.db"
        if args.fsync_commits:
            disk = fsync_latency(Path(folder), args.fsync_commits)
            print(f"disk     fsync'd SQLite commit (WAL, synchronous=FULL), {disk['commits']} "
                  f"commits: p50 {disk['p50_ms']:.2f} ms  p99 {disk['p99_ms']:.2f} ms  "
                  f"p99.9 {disk['p99_9_ms']:.2f} ms  max {disk['max_ms']:.1f} ms", flush=True)
        if args.fsync_only:
            return 0
        process, url, keys = start_server(ledger)
        acked = 0
        try:
            for encoding in args.encodings:
                codec = Codec(encoding)
                modes = [*((("throughput", None),) if not args.no_closed_loop else ()),
                         *((f"{rate:.0f}/s", rate) for rate in args.rates)]
                for mode, rate in modes:
                    server_cpu, own_cpu = cpu_seconds(process.pid), cpu_seconds()
                    result = asyncio.run(load(url, keys, codec, args.connections, args.window,
                                              args.seconds, rate, f"{encoding}{mode}"))
                    server_us = (cpu_seconds(process.pid) - server_cpu) / result["orders"] * 1e6
                    own_us = (cpu_seconds() - own_cpu) / result["orders"] * 1e6
                    acked += result["new_orders"]
                    print(f"{encoding:8} {mode:11} {result['orders']:8d} orders "
                          f"{result['orders_per_s']:9.0f}/s  p50 {result['p50_ms']:6.2f} ms  "
                          f"p99 {result['p99_ms']:6.2f} ms  p99.9 {result['p99_9_ms']:6.2f} ms"
                          f"  max {result['max_ms']:6.1f} ms  cpu/order: server "
                          f"{server_us:4.0f} us, load generator {own_us:4.0f} us", flush=True)
            if args.subscribers:
                server_cpu = cpu_seconds(process.pid)
                result = asyncio.run(fanout(url, keys, args.subscribers, args.fanout_rate,
                                            args.seconds))
                print(f"fan-out  {result['subscribers']} subscribers, "
                      f"{result['complete_in_order']} got all {result['book_changes']} book "
                      f"changes in order ({result['deltas_each']} delta messages each); "
                      f"last caught up {result['catch_up_s']:.2f} s after the orders stopped; "
                      f"server cpu {cpu_seconds(process.pid) - server_cpu:.1f} s", flush=True)
                acked += result["orders"]
        finally:
            process.terminate()
            process.wait(30)
        print(f"ledger replayed and verified: {acked} new orders, one outcome each; digest "
              f"{verify(ledger, acked)[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
