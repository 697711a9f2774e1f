"""Gateway benchmark: durable acks over real websockets, and market-data fan-out.

The venue runs as `exchange serve --demo` in its own process (ledger fsync on: WAL,
synchronous=FULL); the load comes from `bench/loadgen.py` processes (pre-encoded frames, raw
websocket protocol, msgspec), so the server's CPU per order (from /proc: every thread of its
process, the ledger's writer included) and the generator's own are reported apart. Phases per
encoding (JSON, MessagePack):

1. closed loop -- `--connections` traders (AGRO-1, MILL-1, STEEL-1 round robin) in `--procs`
   generator processes, each keeping `--window` requests in flight, for `--seconds`: sustained
   answers/s, ack latency (send to answer) p50/p99/p99.9;
2. open loop -- the same at `--rates` orders/s (latency at a known load);
3. fan-out -- `--subscribers` book subscribers (one generator process) while traders send at
   `--fanout-rate`: every subscriber must see every delta in order up to the final seq; the
   p99 over deltas of the time from the delta's engine time (`ts_us`) to its last subscriber.

Workload (seeded, per connection, `loadgen.workload`): 60% new limit orders on WHEAT, side
50/50, price uniform within 8 ticks either side of 210.00, qty 1..10, GTC; 40% cancels of one of
the connection's last 100 orders (most already filled: TOO_LATE_TO_CANCEL). Rates count both.
At the end the ledger is recovered independently (full replay, digest checked at every batch)
and must hold one accepted-or-rejected outcome for every new order sent (on WHEAT: the demo's
own trading day, `serve --demo`, places orders on UREA).

Side by side: `--against TREE --rounds N` alternates this tree's server with TREE's (its own
.venv build) on the same generator and prints the medians and ratios (this / TREE).

    python -m bench.gateway_bench                    # the figures in bench/README.md
    python -m bench.gateway_bench --seconds 3 --subscribers 100   # quick
    python -m bench.gateway_bench --against /work/wt/gateway-base --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SYMBOL = "WHEAT-M2-CTA-2703"
HERE = Path(__file__).resolve().parent.parent

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


def start_server(ledger: Path, tree: Path = HERE) -> tuple[subprocess.Popen, str, dict[str, str]]:
    """`exchange serve --demo` from `tree` (its own .venv), on a fresh ledger."""
    ready = ledger.with_name("ready")
    own = tree / ".venv" / "bin" / "python"
    process = subprocess.Popen(
        [str(own) if own.exists() else sys.executable, "-m", "exchange.cli.main", "serve",
         "--demo", "--port", "0", "--ledger", str(ledger), "--ready-file", str(ready),
         "--order-rate", "1e9", "--conn-rate", "1e9"], stdout=subprocess.PIPE, text=True,
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)})
    deadline = time.monotonic() + 60
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


def generator(url: str, out: Path, *options: str) -> subprocess.Popen:
    """A loadgen process, started; it prints {"ready": true} once connected."""
    process = subprocess.Popen([sys.executable, "-m", "bench.loadgen", "--url", url,
                                "--latencies", str(out), *options], cwd=HERE,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith('{"ready"'):
        raise SystemExit(f"load generator failed: {line!r}")
    return process


def go(process: subprocess.Popen, line: str = "") -> None:
    process.stdin.write(line + "\n")  # type: ignore[union-attr]
    process.stdin.flush()  # type: ignore[union-attr]


def result_of(process: subprocess.Popen) -> dict[str, Any]:
    out, _ = process.communicate(timeout=180)
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def percentiles_ms(latency_ns: np.ndarray) -> dict[str, float]:
    ms = latency_ns.astype(np.float64) / 1e6
    p50, p99, p999 = np.percentile(ms, [50, 99, 99.9])
    return {"p50_ms": p50, "p99_ms": p99, "p99_9_ms": p999, "max_ms": ms.max()}


def load(url: str, server: int, keys: dict[str, str], folder: Path, encoding: str,
         args: argparse.Namespace, rate: float, tag: str) -> dict[str, Any]:
    """One phase: `args.procs` generators (open loop at `rate` if set), started together."""
    procs = 1 if rate else args.procs
    per_proc = max(1, args.connections // procs)
    key_args = [f"{account}={key}" for account, key in keys.items()]
    started = []
    for n in range(procs):
        started.append(generator(
            url, folder / f"{tag}{n}.npy", "--encoding", encoding, "--connections",
            str(per_proc), "--window", str(args.window), "--rate", str(rate), "--seconds",
            str(args.seconds), "--tag", f"{tag}{n}-", "--keys",
            *key_args[n % len(key_args):], *key_args[:n % len(key_args)]))
    server_cpu = cpu_seconds(server)
    for process in started:
        go(process)
    results = [result_of(process) for process in started]
    server_cpu = cpu_seconds(server) - server_cpu
    latency = np.concatenate([np.load(folder / f"{tag}{n}.npy") for n in range(procs)])
    answered = sum(r["answered"] for r in results)
    failed = sum(r["failed"] for r in results)
    assert not failed, [r["failures"] for r in results]
    elapsed = max(r["elapsed_s"] for r in results)
    return {"orders": answered, "new_orders": sum(r["new_orders"] for r in results),
            "orders_per_s": answered / elapsed, **percentiles_ms(latency),
            "server_us": server_cpu / answered * 1e6,
            "loadgen_us": sum(r["cpu_s"] for r in results) / answered * 1e6}


def fanout(url: str, server: int, keys: dict[str, str], folder: Path,
           args: argparse.Namespace) -> dict[str, Any]:
    """Subscribers in one process, orders from another; the last subscriber's lag per delta."""
    subscribers = generator(url, folder / "fanout.npy", "--encoding", "msgpack",
                            "--subscribers", str(args.subscribers))
    server_cpu = cpu_seconds(server)
    go(subscribers)
    traders = generator(url, folder / "fanout-orders.npy", "--encoding", "msgpack",
                        "--connections", "2", "--rate", str(args.fanout_rate), "--seconds",
                        str(args.seconds), "--tag", "fan-", "--keys",
                        *(f"{a}={k}" for a, k in keys.items()))
    go(traders)
    orders = result_of(traders)
    final = book_seq(url, keys["STEEL-1"])
    go(subscribers, str(final))
    result = result_of(subscribers)
    lag = np.load(folder / "fanout.npy")
    return {**result, "orders": orders["new_orders"], "server_cpu_s": cpu_seconds(server) -
            server_cpu, **percentiles_ms(lag)}


def book_seq(url: str, key: str) -> int:
    """The book's seq now (a subscribe's answer), through the websockets client."""
    import asyncio

    from websockets.asyncio.client import connect

    async def ask() -> int:
        async with connect(url, ping_interval=None) as ws:
            await ws.send(json.dumps({"op": "logon", "id": "l", "args": {"api_key": key}}))
            await ws.recv()
            await ws.send(json.dumps({"op": "subscribe", "id": "p",
                                      "args": {"ch": "book", "sym": SYMBOL}}))
            while True:
                answer = json.loads(await ws.recv())
                if answer.get("id") == "p":
                    return int(answer["result"]["seq"])
    return asyncio.run(ask())


def run_tree(tree: Path, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Every phase against a fresh server of `tree`; verify the ledger; print each line."""
    figures: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        ledger = folder / "bench.db"
        process, url, keys = start_server(ledger, tree)
        sent = 0
        try:
            for encoding in args.encodings:
                modes = [*((("closed loop", 0.0),) if not args.no_closed_loop else ()),
                         *((f"{rate:.0f}/s", rate) for rate in args.rates)]
                for mode, rate in modes:
                    result = load(url, process.pid, keys, folder, encoding, args, rate,
                                  f"{encoding[0]}{len(figures)}")
                    sent += result["new_orders"]
                    figures[f"{encoding} {mode}"] = result
                    print(f"{encoding:8} {mode:11} {result['orders']:8d} orders "
                          f"{result['orders_per_s']:9.0f}/s  p50 {result['p50_ms']:6.2f} ms  "
                          f"p99 {result['p99_ms']:6.2f} ms  p99.9 {result['p99_9_ms']:6.2f} ms"
                          f"  max {result['max_ms']:6.1f} ms  cpu/order: server "
                          f"{result['server_us']:4.0f} us, load generator "
                          f"{result['loadgen_us']:4.0f} us", flush=True)
            if args.subscribers:
                result = fanout(url, process.pid, keys, folder, args)
                figures["fan-out"] = result
                sent += result["orders"]
                print(f"fan-out  {result['subscribers']} subscribers, "
                      f"{result['complete_in_order']} got every delta in order "
                      f"({result['deltas_each']} delta messages each, {result['orders']} "
                      f"orders); engine to last subscriber p50 {result['p50_ms']:.2f} ms  "
                      f"p99 {result['p99_ms']:.2f} ms  max {result['max_ms']:.1f} ms; server "
                      f"cpu {result['server_cpu_s']:.1f} s, the subscribers' process "
                      f"{result['cpu_s']:.1f} s (its own CPU: when it nears the phase's "
                      f"length, the lag is the subscribers')", flush=True)
                assert result["complete_in_order"] == result["subscribers"], result
        finally:
            process.terminate()
            process.wait(30)
        print(f"ledger replayed and verified: {sent} new orders, one outcome each; digest "
              f"{verify(ledger, sent)[:16]}", flush=True)
    return figures


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
        # the bench's orders: the demo's own day of trading is on another instrument
        if type(entry.command) is SubmitOrder and entry.command.symbol == SYMBOL:
            outcomes += sum(type(e) in (OrderAccepted, OrderRejected) for e in entry.events)
    conn.close()
    assert outcomes == acked, (outcomes, acked)
    return engine.digest()


FIGURES = ("orders_per_s", "p50_ms", "p99_ms", "p99_9_ms", "server_us", "loadgen_us")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--procs", type=int, default=2, help="generator processes, closed loop")
    parser.add_argument("--window", type=int, default=64, help="requests in flight per connection")
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
    parser.add_argument("--against", type=Path, help="another tree to alternate with (its .venv)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    if args.fsync_commits:
        with tempfile.TemporaryDirectory() as folder:
            disk = fsync_latency(Path(folder), args.fsync_commits)
        print(f"disk     fsync'd SQLite commit (WAL, synchronous=FULL), {disk['commits']} "
              f"commits: p50 {disk['p50_ms']:.2f} ms  p99 {disk['p99_ms']:.2f} ms  "
              f"p99.9 {disk['p99_9_ms']:.2f} ms  max {disk['max_ms']:.1f} ms", flush=True)
    if args.fsync_only:
        return 0
    if args.against is None:
        run_tree(HERE, args)
        return 0
    runs: dict[str, list[dict[str, dict[str, Any]]]] = {"this": [], "other": []}
    for round_no in range(args.rounds):
        order = [("this", HERE), ("other", args.against)]
        for name, tree in order if round_no % 2 == 0 else order[::-1]:
            print(f"--- round {round_no + 1}, {name} ({tree}); load {os.getloadavg()[0]:.2f}",
                  flush=True)
            runs[name].append(run_tree(tree, args))
    print(f"side by side, medians of {args.rounds} alternated rounds: this tree {HERE} / "
          f"{args.against}")
    for phase in runs["this"][0]:
        for figure in FIGURES:
            ours = [run[phase][figure] for run in runs["this"] if figure in run.get(phase, {})]
            theirs = [run[phase][figure] for run in runs["other"] if figure in run.get(phase, {})]
            if ours and theirs:
                a, b = statistics.median(ours), statistics.median(theirs)
                print(f"  {phase:20} {figure:13} {a:>10.2f} vs {b:>10.2f}   ratio "
                      f"{a / b if b else float('nan'):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
