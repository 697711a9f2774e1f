"""R3 on loopback: three nats-servers clustered on 127.0.0.1, the shard's streams replicated
three ways; kill -9 of a server (the streams' leader among them) under load loses nothing that
was acknowledged and doubles nothing: every acknowledged order once in IN at its receipt's
sequence, OUT byte-identical to a single-process replay of IN."""

from __future__ import annotations

import asyncio
import random
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from nats.errors import TimeoutError as NatsTimeout

from exchange.cluster import servers
from exchange.cluster.names import MSG_ID, ORIGIN, in_stream, order_id, out_stream
from exchange.cluster.order_entry import OrderEntry, Receipt
from exchange.cluster.replica import replay
from exchange.cluster.shard import connect
from exchange.cluster.topology import ensure_shard, set_routes
from exchange.engine.commands import AddAccount
from tests.cluster.harness import (
    ACCOUNTS,
    Process,
    eventually,
    inputs_of,
    instrument,
    last_seq,
    order,
    outputs_of,
)

T = TypeVar("T")
SYMBOLS = {"PIPE-A": "A", "WIRE-A": "A"}


class ClusteredNats:
    """Three nats-servers with JetStream in one cluster on loopback, each its own store."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ports = [servers.free_port() for _ in range(3)]
        self.routes = [servers.free_port() for _ in range(3)]
        self.processes: list[subprocess.Popen | None] = [None] * 3

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{port}" for port in self.ports]

    def start(self, n: int) -> None:
        store = self.directory / f"n{n}"
        store.mkdir(parents=True, exist_ok=True)
        routes = ",".join(f"nats://127.0.0.1:{port}" for port in self.routes)
        with open(store / "nats.log", "ab") as log:
            self.processes[n] = subprocess.Popen(
                [servers.NATS_BIN, "-js", "-sd", str(store / "store"), "-a", "127.0.0.1",
                 "-p", str(self.ports[n]), "--server_name", f"n{n}", "--cluster_name", "r3",
                 "--cluster", f"nats://127.0.0.1:{self.routes[n]}", "--routes", routes],
                stdout=log, stderr=subprocess.STDOUT)
        servers.wait_for_port(self.ports[n], self.processes[n])  # type: ignore[arg-type]

    def kill(self, n: int) -> None:
        process = self.processes[n]
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)


@pytest.fixture
def r3(tmp_path: Path) -> Iterator[ClusteredNats]:
    if servers.missing():
        pytest.skip(f"not installed: {', '.join(servers.missing())}")
    cluster = ClusteredNats(tmp_path / "r3")
    for n in range(3):
        cluster.start(n)
    yield cluster
    cluster.stop()


async def answered(ask: Callable[[], Awaitable[T]], tries: int = 30) -> T:
    """`ask()`'s answer, asked again while it times out (a stream's info request during a
    leader election, under a loaded machine, can outlast the client's timeout)."""
    for _ in range(tries - 1):
        try:
            return await ask()
        except NatsTimeout:
            await asyncio.sleep(0.5)
    return await ask()


async def test_r3_streams_survive_kill_9_of_any_server_and_of_the_leader(
        r3: ClusteredNats, tmp_path: Path) -> None:
    nc = await connect(r3.urls[0])
    js = nc.jetstream()

    async def streams_made() -> bool:
        try:
            await ensure_shard(js, "A", replicas=3)
            return True
        except Exception:  # noqa: BLE001 - the cluster is still electing its meta leader
            return False
    await eventually(streams_made, timeout=60, every=0.5)
    await set_routes(js, SYMBOLS)
    entry = await OrderEntry.open(nc, ["A"], retry_for=60.0)
    for symbol in SYMBOLS:
        await entry.submit(instrument(symbol))
    for account, firm in ACCOUNTS:
        await entry.broadcast(AddAccount(0, account, firm))
    shard = Process("exchange.cluster.shard", ["--nats", r3.urls[1], "--shard", "A",
                                               "--snapshot-every", "100"],
                    tmp_path / "shard-A.log").start()
    rng = random.Random(3)
    receipts: dict[str, Receipt] = {}
    try:
        n = 0
        for victim in (2, "leader"):
            for _ in range(150):
                command = order(n, rng.choice(sorted(SYMBOLS)), rng)
                receipt = await entry.submit(command, origin=f"account:{command.account}")
                receipts[order_id(command.account, command.cl_ord_id)] = receipt
                n += 1
            info = await answered(lambda: js.stream_info(in_stream("A")))
            which = victim if victim != "leader" else int(info.cluster.leader[1:])
            r3.kill(which)
            for _ in range(150):  # the others go on (a new leader is elected)
                command = order(n, rng.choice(sorted(SYMBOLS)), rng)
                receipt = await entry.submit(command, origin=f"account:{command.account}")
                receipts[order_id(command.account, command.cl_ord_id)] = receipt
                n += 1
            r3.start(which)
            await asyncio.sleep(1)

        async def caught_up() -> bool:
            try:
                return await last_seq(nc, out_stream("A")) == await last_seq(nc, in_stream("A"))
            except NatsTimeout:  # an info request during an election: ask again
                return False
        await eventually(caught_up, timeout=60, every=0.2)
        assert shard.alive(), shard.log.read_text()[-2000:]
    finally:
        shard.stop()
    inputs, outputs = await inputs_of(nc, "A"), await outputs_of(nc, "A")
    ids = [m.headers.get(MSG_ID) for m in inputs if m.headers]
    assert {key: r.in_seq for key, r in receipts.items()} == {
        i: m.metadata.sequence.stream for m in inputs
        if (i := m.headers and m.headers.get(MSG_ID)) in receipts}
    assert len([i for i in ids if i in receipts]) == len(receipts)
    assert [m.data for m in outputs] == replay(
        [(m.data, m.headers.get(ORIGIN) if m.headers else None) for m in inputs])
    assert (await js.stream_info(out_stream("A"))).config.num_replicas == 3
    await nc.close()
