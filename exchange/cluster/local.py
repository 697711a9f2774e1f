"""A whole cluster on this machine: nats-server, PostgreSQL, an engine and a ledger writer per
shard, all on 127.0.0.1, for `exchange cluster-demo` (`make cluster-demo`) and the benchmark.

`LocalCluster` starts the servers, opens the demo market (exchange.demo) on the shards, starts
each shard and writer as its own process (`python -m exchange.cluster.shard` / `pg_ledger`),
the merger and cluster gateways, and stops everything by PID. `run_demo` drives a seeded order flow through `OrderEntry`, waits
for OUT and the ledger, verifies each shard's chain and prints what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg
from nats.aio.client import Client

from exchange import demo
from exchange.cluster import servers
from exchange.cluster.names import in_stream, out_stream
from exchange.cluster.order_entry import OrderEntry
from exchange.cluster.pg_ledger import head, verify
from exchange.cluster.shard import connect
from exchange.cluster.topology import ensure_shard, set_routes
from exchange.engine.commands import AddAccount, AddInstrument
from exchange.gateway.keys import new_key
from exchange.ledger.signing import VenueKey, load_or_create


def demo_routes(shards: list[str], instruments: Sequence[AddInstrument] = demo.INSTRUMENTS
                ) -> dict[str, str]:
    """The (demo) instruments dealt over `shards` in turn."""
    return {spec.symbol: shards[n % len(shards)] for n, spec in enumerate(instruments)}


class LocalCluster:
    """The servers and processes of a cluster of `shards`, data under `directory`."""

    def __init__(self, directory: Path, shards: list[str], snapshot_every: int = 10_000,
                 writers: bool = True,
                 instruments: Sequence[AddInstrument] = demo.INSTRUMENTS) -> None:
        self.directory = directory
        self.shards = shards
        self.instruments = list(instruments)
        self.snapshot_every = snapshot_every
        self.writers = writers
        self.nats = servers.NatsServer(directory / "nats")
        self.postgres = servers.Postgres(fsync=True) if writers else None
        self.key_path = directory / "venue.key"
        self.key: VenueKey | None = None
        self.children: dict[str, subprocess.Popen] = {}

    def start_servers(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.nats.start()
        if self.postgres is not None:
            self.postgres.start()
        self.key = load_or_create(self.key_path, create=not self.key_path.exists())

    async def open_market(self, nc: Client) -> OrderEntry:
        """Streams, routes, the demo instruments on their shards and the accounts on all."""
        js = nc.jetstream()
        for shard in self.shards:
            await ensure_shard(js, shard)
        await set_routes(js, demo_routes(self.shards, self.instruments))
        entry = await OrderEntry.open(nc, self.shards)
        commands: list[AddInstrument | AddAccount] = [*self.instruments, *demo.ACCOUNTS]
        for command in (c._replace(ts_us=1) for c in commands):
            if isinstance(command, AddAccount):
                await entry.broadcast(command, origin="operator:demo")
            else:
                await entry.submit(command, origin="operator:demo")
        return entry

    def start_shard(self, shard: str) -> subprocess.Popen:
        return self._spawn(f"shard {shard}", "exchange.cluster.shard",
                           ["--nats", self.nats.url, "--shard", shard,
                            "--snapshot-every", str(self.snapshot_every)])

    def start_writer(self, shard: str) -> subprocess.Popen:
        assert self.postgres is not None
        return self._spawn(f"writer {shard}", "exchange.cluster.pg_ledger",
                           ["--nats", self.nats.url, "--dsn", self.postgres.dsn, "--shard", shard,
                            "--signing-key", str(self.key_path)])

    async def issue_keys(self, entry: OrderEntry) -> dict[str, str]:
        """A trader key for each demo account, on every shard: account -> API key."""
        keys = {}
        for account in demo.ACCOUNTS:
            command, api_key = new_key(1, "trader", account.account)
            await entry.broadcast(command, origin="operator:demo")
            keys[account.account] = api_key
        return keys

    def start_merger(self) -> subprocess.Popen:
        return self._spawn("merger", "exchange.cluster.merger", ["--nats", self.nats.url])

    async def start_gateway(self, name: str = "gateway", port: int = 0,
                            order_rate: float | None = None, timeout: float = 60) -> str:
        """A cluster gateway process; its URL once it listens (it folds OUT_ALL first)."""
        ready = self.directory / f"{name}.url"
        ready.unlink(missing_ok=True)
        rate = [] if order_rate is None else ["--order-rate", str(order_rate)]
        self._spawn(name, "exchange.cluster.gateway", ["--nats", self.nats.url, "--port",
                                                       str(port), "--ready-file", str(ready),
                                                       *rate])
        deadline = time.monotonic() + timeout
        while not ready.exists() or not ready.read_text().strip():
            if self.children[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: see {self.directory}/{name}.log")
            await asyncio.sleep(0.05)
        return ready.read_text().strip()

    def start_processes(self) -> None:
        for shard in self.shards:
            self.start_shard(shard)
            if self.writers:
                self.start_writer(shard)

    def kill(self, name: str) -> None:
        process = self.children[name]
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for process in self.children.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.children.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
        if self.postgres is not None:
            self.postgres.stop()
        self.nats.stop()

    def _spawn(self, name: str, module: str, args: list[str]) -> subprocess.Popen:
        log = open(self.directory / f"{name.replace(' ', '-')}.log", "ab")  # noqa: SIM115
        self.children[name] = subprocess.Popen([sys.executable, "-m", module, *args],
                                               stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self.children[name]


async def caught_up(nc: Client, shards: list[str], dsn: str | None, timeout: float = 60) -> None:
    """Wait until each shard's OUT (and ledger, given a DSN) has an output for every input."""
    conn = await asyncpg.connect(dsn) if dsn else None
    deadline = time.monotonic() + timeout
    try:
        for shard in shards:
            js = nc.jetstream()
            while True:
                end = (await js.stream_info(in_stream(shard))).state.last_seq
                out = (await js.stream_info(out_stream(shard))).state.last_seq
                found = None
                with contextlib.suppress(asyncpg.UndefinedTableError):  # writer not up yet
                    found = await head(conn, shard) if conn else None
                if out == end and (conn is None or (found and found.last_seq == end)):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"shard {shard}: not caught up in {timeout} s")
                await asyncio.sleep(0.1)
    finally:
        if conn:
            await conn.close()


async def demo_flow(cluster: LocalCluster, orders: int, gateway_port: int) -> int:
    nc = await connect(cluster.nats.url)
    try:
        entry = await cluster.open_market(nc)
        keys = await cluster.issue_keys(entry)
        cluster.start_merger()
        url = await cluster.start_gateway("gateway", gateway_port)
        print(f"gateway {url} (the ordinary CLIs trade on it):", flush=True)
        for account, key in keys.items():
            print(f"  trader {account}: exchange trade --url {url} --key {key} ...", flush=True)
        started = time.monotonic()
        for order in demo.order_flow(orders):
            await entry.submit(order, origin=f"account:{order.account}")
        assert cluster.postgres is not None and cluster.key is not None
        await caught_up(nc, cluster.shards, cluster.postgres.dsn)
        print(f"{orders} orders through {len(cluster.shards)} shards and into PostgreSQL in "
              f"{time.monotonic() - started:.1f} s")
        conn = await asyncpg.connect(cluster.postgres.dsn)
        failed = 0
        for shard in cluster.shards:
            checked, fault = await verify(conn, shard, cluster.key.public_hex)
            trades = await conn.fetchval("SELECT count(*) FROM trades WHERE shard = $1", shard)
            print(f"shard {shard}: {checked} outputs, {trades} trades, ledger "
                  f"{'verifies' if fault is None else 'FAILS: ' + fault}")
            failed += fault is not None
        await conn.close()
        return 1 if failed else 0
    finally:
        await nc.close()


def run_demo(directory: Path, shards: list[str], orders: int, keep: bool,
             gateway_port: int = 8765) -> int:
    """Start a local cluster, trade the demo flow on it, verify, then stop (or, with `keep`,
    run until Ctrl-C)."""
    absent = servers.missing()
    if absent:
        print(f"cluster demo: not installed: {', '.join(absent)} (Debian: apt-get install "
              "nats-server postgresql)", file=sys.stderr)
        return 1
    cluster = LocalCluster(directory, shards)
    try:
        cluster.start_servers()
        cluster.start_processes()
        print(f"nats-server {cluster.nats.url}, PostgreSQL {cluster.postgres and cluster.postgres.dsn}"
              f", shards {', '.join(shards)}; logs in {directory}")
        code = asyncio.run(demo_flow(cluster, orders, gateway_port))
        if keep:
            print("running; Ctrl-C stops it", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
        return code
    finally:
        cluster.stop()
