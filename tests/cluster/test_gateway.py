"""Stateless gateways on a real two-shard cluster: two gateways, clients on both, the unchanged
websocket protocol (exchange.client, the CLIs' client)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from exchange.client import Client, ExchangeError
from exchange.cluster.gateway import ClusterGateway
from exchange.cluster.servers import NatsServer
from exchange.cluster.shard import connect
from exchange.gateway.config import GatewayConfig
from tests.cluster.harness import (
    issue_keys,
    merger_process,
    open_venue,
    settled,
    shard_process,
)

GATEWAY_CONFIG = GatewayConfig(port=0, order_rate=10_000, order_burst=10_000)


class Venue:
    def __init__(self, keys: dict[str, str], gateways: list[ClusterGateway]) -> None:
        self.keys = keys
        self.gateways = gateways

    async def client(self, gateway: int, account: str | None = None) -> Client:
        client = await Client.connect(self.gateways[gateway].url)
        if account is not None:
            await client.logon(self.keys[account])
        return client

    async def gateway(self, nats_url: str) -> ClusterGateway:
        gateway = ClusterGateway(nats_url, GATEWAY_CONFIG)
        await gateway.start()
        self.gateways.append(gateway)
        return gateway


async def cluster(nats_server: NatsServer, tmp_path: Path) -> Any:
    """Two shards and the merger (processes), the opening commands and keys, two gateways in
    this process."""
    shards = [shard_process(nats_server.url, shard, tmp_path).start() for shard in "AB"]
    shards.append(merger_process(nats_server.url, tmp_path).start())
    nc = await connect(nats_server.url)
    entry = await open_venue(nc)
    keys = await issue_keys(entry)
    await settled(nc)
    venue = Venue(keys, [])
    for _ in range(2):
        await venue.gateway(nats_server.url)
    return venue, shards, nc


async def close(venue: Venue, shards: list[Any], nc: Any) -> None:
    for gateway in venue.gateways:
        await gateway.close()
    for shard in shards:
        shard.stop()
    await nc.close()


async def test_an_instruments_book_is_the_same_through_either_gateway(
        nats_server: NatsServer, tmp_path: Path) -> None:
    venue, shards, nc = await cluster(nats_server, tmp_path)
    try:
        first, second = await venue.client(0, "a1"), await venue.client(1, "b1")
        watchers = [await venue.client(0), await venue.client(1)]
        books = [[await w.subscribe_book(sym) for sym in ("PIPE-A", "PIPE-B")] for w in watchers]
        for n in range(20):
            sym = ("PIPE-A", "PIPE-B")[n % 2]
            trader = (first, second)[n % 3 % 2]
            side = ("BUY", "SELL")[n % 2 ^ n // 2 % 2]
            await trader.new_order(sym, side, str(1 + n % 4), f"1.{n % 5:02d}",
                                   cl_ord_id=f"x{n}")
        late = await venue.client(1)  # a snapshot after the flow, from the other gateway
        late_books = [await late.subscribe_book(sym) for sym in ("PIPE-A", "PIPE-B")]
        for index in range(2):
            async def same(index: int = index) -> bool:
                views = [(b.seq, b.bids(), b.asks()) for b in
                         (books[0][index], books[1][index], late_books[index])]
                return views[0] == views[1] == views[2] and views[0][0] > 0
            await until(same)
        for client in (first, second, late, *watchers):
            await client.close()
    finally:
        await close(venue, shards, nc)


async def until(check: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true after {timeout} s")
        await asyncio.sleep(0.05)


async def test_exec_reports_resume_without_gaps_on_the_other_gateway(
        nats_server: NatsServer, tmp_path: Path) -> None:
    venue, shards, nc = await cluster(nats_server, tmp_path)
    try:
        mine = await venue.client(0, "a1")
        await mine.subscribe_exec()
        other = await venue.client(1, "b1")
        for n in range(6):  # a1 rests on both shards, b1 trades against it through gateway 2
            sym = ("PIPE-A", "PIPE-B")[n % 2]
            await mine.new_order(sym, "BUY", "2", "1.00", cl_ord_id=f"m{n}")
        seen = [await asyncio.wait_for(mine.exec_reports.get(), 10) for _ in range(6)]
        last = seen[-1]["exec_seq"]
        await mine.close()
        for n in range(6):
            await other.new_order(("PIPE-A", "PIPE-B")[n % 2], "SELL", "1", "1.00",
                                  cl_ord_id=f"s{n}")
        back = await venue.client(1, "a1")
        answer = await back.subscribe_exec(resume_from_exec_seq=last)
        assert answer["exec_seq"] >= last
        later = await back.new_order("WIRE-A", "BUY", "1", "1.00", cl_ord_id="after")
        resumed = []
        while not resumed or resumed[-1].get("cl_ord_id") != "after":
            resumed.append(await asyncio.wait_for(back.exec_reports.get(), 10))
        seqs = [r["exec_seq"] for r in seen + resumed]
        assert seqs == list(range(1, len(seqs) + 1))
        assert sum(r["exec_type"] == "TRADE" for r in resumed) == 6
        assert later["ord_status"] == "NEW"
        # the same reports, exec_seq for exec_seq, through the first gateway from the start
        again = await venue.client(0, "a1")
        await again.subscribe_exec(resume_from_exec_seq=0)
        replayed = [await asyncio.wait_for(again.exec_reports.get(), 10) for _ in seqs]
        assert replayed == seen + resumed
        for client in (other, back, again):
            await client.close()
    finally:
        await close(venue, shards, nc)


async def test_requests_are_answered_in_order_and_ids_name_their_shard(
        nats_server: NatsServer, tmp_path: Path) -> None:
    venue, shards, nc = await cluster(nats_server, tmp_path)
    try:
        client = await venue.client(1, "a1")
        new_a, new_b = await asyncio.gather(
            client.new_order("PIPE-A", "BUY", "3", "0.90", cl_ord_id="p1"),
            client.new_order("PIPE-B", "BUY", "3", "0.90", cl_ord_id="p2"))
        assert new_a["order_id"] != new_b["order_id"]
        again = await client.new_order("PIPE-A", "BUY", "3", "0.90", cl_ord_id="p1")
        assert again["duplicate"] is True and again["order_id"] == new_a["order_id"]
        canceled, status = await asyncio.gather(
            client.cancel_order(order_id=new_b["order_id"]),
            client.order_status(order_id=new_b["order_id"]))
        assert canceled["ord_status"] == status["ord_status"] == "CANCELED"
        assert [o["cl_ord_id"] for o in await client.open_orders()] == ["p1"]
        with pytest.raises(ExchangeError) as refused:
            await client.cancel_order(order_id="9999999")
        assert refused.value.code == "UNKNOWN_ORDER"
        assert await client.mass_cancel() == 1
        fresh = await venue.gateway(nats_server.url)  # started after all that: same answers
        seen = await Client.connect(fresh.url)
        await seen.logon(venue.keys["a1"])
        assert (await seen.order_status(order_id=new_a["order_id"]))["ord_status"] == "CANCELED"
        for c in (client, seen):
            await c.close()
    finally:
        await close(venue, shards, nc)
