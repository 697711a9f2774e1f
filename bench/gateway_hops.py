"""Python calls per order between a frame arriving and its ack leaving, counted in one process.

A venue (`Server`, a fresh ledger in a temporary folder, fsync on) and a `bench/loadgen.py`
trader run in one event loop; after a warm-up, `sys.setprofile` counts the event-loop thread's
calls while `--orders` requests are answered (the loadgen's workload: 60% new orders, 40%
cancels), then divides by the answers. The client's own calls are counted apart (its
`data_received` and what it calls) and subtracted. The writer thread's calls (the ledger) are
not on this thread and not counted. Counts are per request, averaged over the batches the run
makes (`--window` in flight).

    python -m bench.gateway_hops [--orders 20000] [--window 64] [--encoding json]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from bench import loadgen
from exchange import demo
from exchange.cli.serve import DEMO_KEYS
from exchange.gateway.config import GatewayConfig
from exchange.gateway.jobs import now_us
from exchange.gateway.keys import new_key
from exchange.gateway.server import Server

CLIENT_FILE = loadgen.__file__


class CallCounter:
    """Counts 'call' (Python) and 'c_call' events, by where they run (client or server)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.by_function: Counter[str] = Counter()
        self.client_depth = 0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if event == "call":
            if code.co_filename == CLIENT_FILE:
                self.client_depth += 1
            side = "client" if self.client_depth else "server"
            self.counts[f"{side} python"] += 1
            if side == "server":
                self.by_function[f"{code.co_qualname} ({Path(code.co_filename).name})"] += 1
        elif event == "return":
            if code.co_filename == CLIENT_FILE and self.client_depth:
                self.client_depth -= 1
        elif event == "c_call":
            self.counts[f"{'client' if self.client_depth else 'server'} c"] += 1


async def count(args: argparse.Namespace) -> tuple[CallCounter, int]:
    with tempfile.TemporaryDirectory() as folder:
        config = GatewayConfig(port=0, order_rate=1e9, order_burst=1e9, conn_rate=1e9,
                               conn_burst=1e9, ping_interval_s=None)
        server = Server(Path(folder) / "hops.db", config)
        await server.open()
        await server.setup(demo.setup(now_us()), "operator:demo")
        command, api_key = new_key(now_us(), "trader", "AGRO-1", f"{DEMO_KEYS[0][0]}-hops")
        await server.setup([command], "operator:demo")
        await server.start()
        try:
            warm, measured = 2000, args.orders
            frames = loadgen.workload("hops", warm + measured, args.encoding)
            trader = await loadgen.open_connection(server.url, lambda: loadgen.Trader(
                f"127.0.0.1:{server.port}", args.encoding, frames, args.window))
            trader.transport.write(loadgen.request(args.encoding, "logon", "L", api_key=api_key))
            assert await trader.logged_on
            counter = CallCounter()
            trader.frames = frames[:warm]
            await run_until_answered(trader, warm)
            trader.frames = frames
            sys.setprofile(counter)
            await run_until_answered(trader, warm + measured)
            sys.setprofile(None)
            assert not trader.failures, trader.failures[:5]
            trader.transport.close()
            return counter, measured
        finally:
            sys.setprofile(None)
            await server.close()


async def run_until_answered(trader: loadgen.Trader, total: int) -> None:
    trader.drained = asyncio.get_running_loop().create_future()
    trader.send_upto(trader.window)
    while len(trader.latency_ns) < total:
        await asyncio.sleep(0.005)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--encoding", choices=("json", "msgpack"), default="json")
    parser.add_argument("--top", type=int, default=25, help="server functions to list")
    args = parser.parse_args(argv)
    counter, orders = asyncio.run(count(args))
    server_calls = counter.counts["server python"] / orders
    server_c = counter.counts["server c"] / orders
    print(f"{args.encoding}: per request, event-loop thread: {server_calls:.1f} Python calls, "
          f"{server_c:.1f} C calls (the client's own: "
          f"{counter.counts['client python'] / orders:.1f} + "
          f"{counter.counts['client c'] / orders:.1f}, not included)")
    for name, calls in counter.by_function.most_common(args.top):
        print(f"  {calls / orders:6.2f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
