"""What the cluster tests share: a two-shard venue's opening commands, whole-stream reads, and
shard / ledger-writer processes that can be killed with SIGKILL and started again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from nats.aio.client import Client

from exchange.cluster.names import in_stream, in_subject, out_stream, out_subject
from exchange.cluster.order_entry import OrderEntry
from exchange.cluster.topology import ensure_shard, read_stream, set_routes
from exchange.engine.commands import AddAccount, AddInstrument, SubmitOrder
from exchange.engine.enums import Side

SHARDS = ("A", "B")
SYMBOLS = {"PIPE-A": "A", "WIRE-A": "A", "PIPE-B": "B", "WIRE-B": "B"}
ACCOUNTS = (("a1", "F1"), ("a2", "F1"), ("b1", "F2"), ("c1", "F3"))


def instrument(symbol: str) -> AddInstrument:
    return AddInstrument(0, symbol, "steel pipe", "114x6 A", "Constanta", "2025-03", "t", 20,
                         1, 2)


async def open_venue(nc: Client, symbols: dict[str, str] = SYMBOLS) -> OrderEntry:
    """Streams and routes for the shards of `symbols`, each instrument listed on its shard and
    every account on every shard."""
    js = nc.jetstream()
    shards = sorted(set(symbols.values()))
    for shard in shards:
        await ensure_shard(js, shard)
    await set_routes(js, symbols)
    entry = await OrderEntry.open(nc, shards, retry_for=60.0)
    for symbol in symbols:
        await entry.submit(instrument(symbol))
    for account, firm in ACCOUNTS:
        await entry.broadcast(AddAccount(0, account, firm))
    return entry


def order(n: int, symbol: str, rng: Any) -> SubmitOrder:
    """Order number `n` of a seeded mix that rests and trades around price 100."""
    account, _ = ACCOUNTS[rng.randrange(len(ACCOUNTS))]
    side = Side.BUY if rng.random() < 0.5 else Side.SELL
    return SubmitOrder(1_000 + n, account, f"o{n}", symbol, side, rng.randint(1, 5),
                       rng.randint(95, 105))


async def last_seq(nc: Client, stream: str) -> int:
    return int((await nc.jetstream().stream_info(stream)).state.last_seq)


async def inputs_of(nc: Client, shard: str) -> list[Any]:
    return await read_stream(nc, in_subject(shard), await last_seq(nc, in_stream(shard)))


async def outputs_of(nc: Client, shard: str) -> list[Any]:
    return await read_stream(nc, out_subject(shard), await last_seq(nc, out_stream(shard)))


async def eventually(check: Any, timeout: float = 30.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {check.__name__}")
        await asyncio.sleep(every)


class Process:
    """A `python -m MODULE ARGS` child that can be SIGKILLed and started again."""

    def __init__(self, module: str, args: list[str], log: Path) -> None:
        self.module = module
        self.args = args
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", self.module, *self.args],
                                            stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets and state but runs no more (a zombie-to-be)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def shard_process(url: str, shard: str, log_dir: Path, snapshot_every: int = 100) -> Process:
    return Process("exchange.cluster.shard", ["--nats", url, "--shard", shard,
                                              "--snapshot-every", str(snapshot_every)],
                   log_dir / f"shard-{shard}.log")


def writer_process(url: str, dsn: str, shard: str, key: Path, log_dir: Path) -> Process:
    return Process("exchange.cluster.pg_ledger", ["--nats", url, "--dsn", dsn, "--shard", shard,
                                                  "--signing-key", str(key)],
                   log_dir / f"writer-{shard}.log")


async def issue_keys(entry: OrderEntry) -> dict[str, str]:
    """A trader key for each account (on every shard); account -> API key."""
    from exchange.gateway.keys import new_key

    keys = {}
    for account, _ in ACCOUNTS:
        command, api_key = new_key(0, "trader", account, key_id=f"k{account}")
        await entry.broadcast(command)
        keys[account] = api_key
    return keys


def gateway_process(url: str, log_dir: Path, name: str) -> Process:
    """A cluster gateway on a free port; its URL appears in `<log_dir>/<name>.url`."""
    return Process("exchange.cluster.gateway", ["--nats", url, "--port", "0", "--ready-file",
                                                str(log_dir / f"{name}.url")],
                   log_dir / f"{name}.log")


async def gateway_url(log_dir: Path, name: str, timeout: float = 60.0) -> str:
    path = log_dir / f"{name}.url"
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        if time.monotonic() > deadline:
            raise AssertionError(f"gateway {name} did not start")
        await asyncio.sleep(0.05)
    return path.read_text().strip()


async def settled(nc: Client, shards: tuple[str, ...] | list[str] = SHARDS,
                  timeout: float = 60.0) -> None:
    """Wait until every shard has an output for each of its inputs, and OUT_ALL a copy of
    each output."""
    from exchange.cluster.merged import MERGED

    async def outputs_caught_up() -> bool:
        outs = [await last_seq(nc, out_stream(s)) for s in shards]
        if outs != [await last_seq(nc, in_stream(s)) for s in shards]:
            return False
        try:
            return await last_seq(nc, MERGED) == sum(outs)
        except Exception:  # noqa: BLE001 - the merger has not made OUT_ALL yet
            return False
    await eventually(outputs_caught_up, timeout)


def merger_process(url: str, log_dir: Path) -> Process:
    return Process("exchange.cluster.merger", ["--nats", url], log_dir / "merger.log")
