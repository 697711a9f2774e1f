"""The cluster on this machine (docs/cluster.md): throughput with 1 and 2 shards, end-to-end
latency input -> output through JetStream, the ledger writer's rate, and failover time after
an engine kill -9. Everything on 127.0.0.1; run under the bench lock:

    flock /tmp/exchange-bench.lock .venv/bin/python -m bench.cluster_bench [--n N] [--quick]

Workload: exchange.demo's seeded order flow (limit orders around each instrument's reference
price; seed 7), its instruments dealt over the shards (local.demo_routes). Each result is
checked: every shard's OUT must equal a single-process replay of its IN, byte for byte, and the
PostgreSQL ledger must verify. The comparison is the same engine in this process
(`replica.replay` of the same inputs, no JetStream), measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
from nats.js.errors import NotFoundError

from exchange import demo
from exchange.client import Client
from exchange.cluster.local import LocalCluster, caught_up, demo_routes
from exchange.cluster.merged import MERGED
from exchange.cluster.names import ORIGIN, in_stream, in_subject, out_stream, out_subject
from exchange.cluster.order_entry import OrderEntry
from exchange.cluster.pg_ledger import verify
from exchange.cluster.replica import replay
from exchange.cluster.shard import connect
from exchange.cluster.topology import read_stream
from exchange.engine.codec import encode
from exchange.engine.enums import Side
from exchange.engine.instrument import format_price


def flow_by_shard(shards: list[str], per_shard: int) -> dict[str, list[bytes]]:
    """The first `per_shard` demo orders routed to each shard, encoded."""
    routes = demo_routes(shards)
    found: dict[str, list[bytes]] = {shard: [] for shard in shards}
    for order in demo.order_flow(per_shard * 4 * len(shards)):
        shard = routes[order.symbol]
        if len(found[shard]) < per_shard:
            found[shard].append(encode(order))
    assert all(len(payloads) == per_shard for payloads in found.values())
    return found


async def preload(nc: object, shard: str, payloads: list[bytes]) -> None:
    js = nc.jetstream()  # type: ignore[attr-defined]
    acks = [await js.publish_async(in_subject(shard), payload) for payload in payloads]
    await asyncio.gather(*acks)


async def out_end(nc: object, shard: str) -> int:
    return int((await nc.jetstream().stream_info(out_stream(shard))).state.last_seq)  # type: ignore[attr-defined]


async def check_replay(nc: object, shards: list[str]) -> None:
    """Each shard's OUT is byte-identical to a single-process replay of its IN."""
    for shard in shards:
        js = nc.jetstream()  # type: ignore[attr-defined]
        count = (await js.stream_info(in_stream(shard))).state.last_seq
        inputs = await read_stream(nc, in_subject(shard), count)  # type: ignore[arg-type]
        outputs = await read_stream(nc, out_subject(shard), count)  # type: ignore[arg-type]
        expected = replay([(m.data, m.headers.get(ORIGIN) if m.headers else None)
                           for m in inputs])
        assert [m.data for m in outputs] == expected, f"shard {shard}: OUT differs from replay"


async def throughput(shards: list[str], per_shard: int) -> dict[str, float]:
    """Inputs/s through the shard processes, from the first output to the last (IN preloaded,
    shards started after), against the same inputs replayed in this process."""
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="cluster-bench-")), shards,
                           snapshot_every=10**9, writers=False)
    cluster.start_servers()
    try:
        nc = await connect(cluster.nats.url)
        await cluster.open_market(nc)
        flows = flow_by_shard(shards, per_shard)
        for shard, payloads in flows.items():
            await preload(nc, shard, payloads)
        cluster.start_processes()
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        totals = {shard: (await nc.jetstream().stream_info(in_stream(shard))).state.last_seq
                  for shard in shards}
        while len(last) < len(shards):
            now = time.perf_counter()
            for shard in shards:
                end = await out_end(nc, shard)
                if end >= 1 and shard not in first:
                    first[shard] = now
                if end == totals[shard] and shard not in last:
                    last[shard] = now
            await asyncio.sleep(0.005)
        await check_replay(nc, shards)
        await nc.close()
    finally:
        cluster.stop()
    inputs = sum(totals.values())
    cluster_rate = inputs / (max(last.values()) - min(first.values()))
    started = time.perf_counter()
    for payloads in flows.values():
        replay([(payload, None) for payload in payloads])
    local_rate = per_shard * len(shards) / (time.perf_counter() - started)
    return {"cluster": cluster_rate, "in_process": local_rate}


async def latency_and_ledger(orders: int, per_shard: int) -> dict[str, float]:
    """Closed loop on one shard with its ledger writer running: PubAck time ("received") and
    input -> output time, one order at a time. Then the writer's rate copying `per_shard`
    preloaded outputs."""
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="cluster-bench-")), ["A"],
                           snapshot_every=10_000)
    cluster.start_servers()
    figures: dict[str, float] = {}
    try:
        nc = await connect(cluster.nats.url)
        entry = await cluster.open_market(nc)
        cluster.start_processes()
        assert cluster.postgres is not None and cluster.key is not None
        await caught_up(nc, ["A"], cluster.postgres.dsn)
        arrived: dict[int, float] = {}
        waiting: dict[int, asyncio.Future] = {}

        async def on_output(msg: object) -> None:
            seq = int(msg.headers["Nats-Msg-Id"].split(":")[1])  # type: ignore[attr-defined]
            arrived[seq] = time.perf_counter()
            if seq in waiting:
                waiting.pop(seq).set_result(None)
        await nc.subscribe(out_subject("A"), cb=on_output)
        acks, outs = [], []
        for order in demo.order_flow(orders, seed=11):
            order = order._replace(cl_ord_id="lat-" + order.cl_ord_id)
            started = time.perf_counter()
            receipt = await entry.submit(order)
            acked = time.perf_counter()
            if receipt.in_seq not in arrived:
                waiting[receipt.in_seq] = asyncio.get_running_loop().create_future()
                await waiting[receipt.in_seq]
            acks.append(acked - started)
            outs.append(arrived[receipt.in_seq] - started)
        figures.update(_percentiles("ack", acks))
        figures.update(_percentiles("output", outs))
        # the writer's rate: stop it, let OUT grow by per_shard, start it, time the copy
        cluster.children["writer A"].terminate()
        cluster.children["writer A"].wait()
        await preload(nc, "A", flow_by_shard(["A"], per_shard)["A"])
        await caught_up(nc, ["A"], None)
        conn = await asyncpg.connect(cluster.postgres.dsn)
        before = await conn.fetchval("SELECT max(last_seq) FROM batches WHERE shard = 'A'")
        started = time.perf_counter()
        cluster.start_writer("A")
        await caught_up(nc, ["A"], cluster.postgres.dsn, timeout=300)
        end = await out_end(nc, "A")
        figures["writer_per_s"] = (end - before) / (time.perf_counter() - started)
        checked, fault = await verify(conn, "A", cluster.key.public_hex)
        assert fault is None and checked == end, fault
        await conn.close()
        await check_replay(nc, ["A"])
        await nc.close()
    finally:
        cluster.stop()
    return figures


async def failover(rounds: int, backlog: int) -> list[float]:
    """Seconds from an engine's kill -9 (restarted at once, as a supervisor would) to the first
    output of an order entered after the kill, with `backlog` inputs since its snapshot."""
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="cluster-bench-")), ["A"],
                           snapshot_every=10**9, writers=False)
    cluster.start_servers()
    times = []
    try:
        nc = await connect(cluster.nats.url)
        entry: OrderEntry = await cluster.open_market(nc)
        await preload(nc, "A", flow_by_shard(["A"], backlog)["A"])
        cluster.start_processes()
        await caught_up(nc, ["A"], None, timeout=300)
        flow = iter(demo.order_flow(rounds, seed=13))
        for _ in range(rounds):
            cluster.kill("shard A")
            killed = time.perf_counter()
            cluster.start_shard("A")
            order = next(flow)
            receipt = await entry.submit(order._replace(cl_ord_id="fo-" + order.cl_ord_id))
            while await out_end(nc, "A") < receipt.in_seq:
                await asyncio.sleep(0.002)
            times.append(time.perf_counter() - killed)
        await check_replay(nc, ["A"])
        await nc.close()
    finally:
        cluster.stop()
    return times


async def merged_caught_up(nc: Any, shards: list[str], timeout: float = 120) -> None:
    """Wait until every input has its output and OUT_ALL a copy of each (keys issued before
    a gateway starts are then known to it)."""
    await caught_up(nc, shards, None, timeout)
    js = nc.jetstream()
    deadline = time.monotonic() + timeout
    while True:
        outs = sum([(await js.stream_info(out_stream(s))).state.last_seq for s in shards])
        try:
            if (await js.stream_info(MERGED)).state.last_seq == outs:
                return
        except NotFoundError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("OUT_ALL did not catch up")
        await asyncio.sleep(0.05)


def bench_instruments(count: int = 8) -> list[Any]:
    """`count` instruments, the demo's three dealt round with new symbols (4 shards need 4)."""
    return [spec._replace(symbol=f"{spec.symbol}-{n}")
            for n in range(count // len(demo.INSTRUMENTS) + 1) for spec in demo.INSTRUMENTS][:count]


def ws_orders(count: int, instruments: list[Any], seed: int) -> list[dict[str, str]]:
    """The demo flow's orders on `instruments` as new_order arguments (decimal strings)."""
    specs = {spec.symbol: spec for spec in demo.INSTRUMENTS}
    alike = {base: [i.symbol for i in instruments if i.symbol.rsplit("-", 1)[0] == base]
             for base in specs}
    orders = []
    for n, order in enumerate(demo.order_flow(count, seed=seed)):
        decimals = specs[order.symbol].price_decimals
        symbols = alike[order.symbol] or [order.symbol]
        orders.append({"account": order.account, "sym": symbols[n % len(symbols)],
                       "side": Side(order.side).name, "qty": str(order.qty),
                       "px": format_price(order.price or 0, decimals),
                       "cl_ord_id": f"b{seed}-{n}"})
    return orders


async def through_gateway(shards: list[str], orders: int, latency_orders: int,
                          window: int) -> dict[str, float]:
    """Orders through a cluster gateway (websocket, MessagePack) -> IN -> engine -> OUT ->
    merger -> OUT_ALL -> gateway -> answer: one at a time (p50/p99 order -> ack), then every
    demo account pipelining `window` orders at once (orders/s, first sent to last answered)."""
    instruments = bench_instruments()
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="cluster-bench-")), shards,
                           snapshot_every=10**9, writers=False, instruments=instruments)
    cluster.start_servers()
    figures: dict[str, float] = {}
    try:
        nc = await connect(cluster.nats.url)
        entry = await cluster.open_market(nc)
        keys = await cluster.issue_keys(entry)
        cluster.start_processes()
        cluster.start_merger()
        await merged_caught_up(nc, shards)
        url = await cluster.start_gateway("gateway", order_rate=1e6)
        clients = {account: await Client.connect(url, "msgpack") for account in keys}
        for account, client in clients.items():
            await client.logon(keys[account])
        times = []
        for args in ws_orders(latency_orders, instruments, seed=21):
            args = {**args, "cl_ord_id": "lat-" + args["cl_ord_id"]}
            account = args.pop("account")
            started = time.perf_counter()
            response = await (await clients[account].send_request("new_order", args))
            times.append(time.perf_counter() - started)
            assert response["ok"] or response["error"]["code"] != "STATUS_UNKNOWN", response
        figures.update(_percentiles("ack", times))
        flow = ws_orders(orders, instruments, seed=22)
        by_account: dict[str, list[dict[str, str]]] = {account: [] for account in clients}
        for args in flow:
            by_account[args.pop("account")].append(args)
        answered = 0

        async def pipelined(client: Client, mine: list[dict[str, str]]) -> None:
            nonlocal answered
            for start in range(0, len(mine), window):
                futures = [await client.send_request("new_order", args)
                           for args in mine[start:start + window]]
                for response in await asyncio.gather(*futures):
                    answered += 1
                    assert response["ok"] or response["error"]["code"] != "STATUS_UNKNOWN"
        started = time.perf_counter()
        await asyncio.gather(*(pipelined(clients[a], by_account[a]) for a in clients))
        figures["orders_per_s"] = answered / (time.perf_counter() - started)
        assert answered == orders
        for client in clients.values():
            await client.close()
        await caught_up(nc, shards, None)
        await check_replay(nc, shards)
        await nc.close()
    finally:
        cluster.stop()
    return figures


async def failover_through_gateway(rounds: int) -> list[float]:
    """Seconds from an engine's kill -9 (restarted at once) to the gateway's answer to an order
    sent right after the kill."""
    instruments = bench_instruments(2)
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="cluster-bench-")), ["A"],
                           snapshot_every=1000, writers=False, instruments=instruments)
    cluster.start_servers()
    times = []
    try:
        nc = await connect(cluster.nats.url)
        entry = await cluster.open_market(nc)
        keys = await cluster.issue_keys(entry)
        cluster.start_processes()
        cluster.start_merger()
        await merged_caught_up(nc, ["A"])
        url = await cluster.start_gateway("gateway", order_rate=1e6)
        account, key = next(iter(keys.items()))
        client = await Client.connect(url, "msgpack")
        await client.logon(key)
        flow = [a for a in ws_orders(rounds * 20, instruments, seed=23) if a["account"] == account]
        for args in flow[:rounds]:
            args.pop("account")
            await (await client.send_request(
                "new_order", {**args, "cl_ord_id": "warm-" + args["cl_ord_id"]}))
            cluster.kill("shard A")
            killed = time.perf_counter()
            cluster.start_shard("A")
            response = await (await client.send_request("new_order", args))
            times.append(time.perf_counter() - killed)
            assert response["ok"] or response["error"]["code"] != "STATUS_UNKNOWN", response
        await client.close()
        await check_replay(nc, ["A"])
        await nc.close()
    finally:
        cluster.stop()
    return times


def _percentiles(name: str, samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {f"{name}_p50_ms": 1e3 * statistics.median(ordered),
            f"{name}_p99_ms": 1e3 * ordered[int(len(ordered) * 0.99) - 1]}


async def main_async(args: argparse.Namespace) -> None:
    if args.gateway:
        await gateway_figures(args)
        return
    print(f"throughput, {args.n} inputs per shard (IN preloaded, shards started after):")
    for shards in (["A"], ["A", "B"]):
        rates = [await throughput(shards, args.n) for _ in range(args.repeat)]
        cluster = statistics.median(r["cluster"] for r in rates)
        local = statistics.median(r["in_process"] for r in rates)
        print(f"  {len(shards)} shard(s): {cluster:,.0f} inputs/s through JetStream; same "
              f"engine in-process {local:,.0f}/s (ratio {cluster / local:.2f})")
    figures = await latency_and_ledger(args.latency_orders, args.n)
    print(f"closed loop, 1 shard + ledger writer, {args.latency_orders} orders one at a time:")
    print(f"  PubAck (received) p50 {figures['ack_p50_ms']:.2f} ms, p99 "
          f"{figures['ack_p99_ms']:.2f} ms; input -> output p50 {figures['output_p50_ms']:.2f} "
          f"ms, p99 {figures['output_p99_ms']:.2f} ms")
    print(f"  ledger writer: {figures['writer_per_s']:,.0f} outputs/s into PostgreSQL "
          f"(fsync on, 512 per transaction)")
    times = await failover(args.failover_rounds, args.n)
    print(f"failover after kill -9 of the engine ({args.n} inputs to replay, no snapshot), "
          f"{len(times)} rounds: median {statistics.median(times):.2f} s, max {max(times):.2f} s")
    print("all OUT streams byte-identical to single-process replays; ledger verified")


async def gateway_figures(args: argparse.Namespace) -> None:
    print(f"through a cluster gateway (websocket, MessagePack; no ledger writers), "
          f"{args.latency_orders} orders one at a time, then {args.n} orders pipelined "
          f"({args.window} in flight per account, 5 accounts):")
    for count in (1, 2, 4):
        shards = ["A", "B", "C", "D"][:count]
        runs = [await through_gateway(shards, args.n, args.latency_orders, args.window)
                for _ in range(args.repeat)]
        p50 = statistics.median(r["ack_p50_ms"] for r in runs)
        p99 = statistics.median(r["ack_p99_ms"] for r in runs)
        rate = statistics.median(r["orders_per_s"] for r in runs)
        print(f"  {count} shard(s): order -> ack p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
              f"{rate:,.0f} orders/s pipelined (runs: "
              + ", ".join(f"{r['orders_per_s']:,.0f}" for r in runs) + ")")
    times = await failover_through_gateway(args.failover_rounds)
    print(f"failover through the gateway after kill -9 of the engine (snapshot every 1,000), "
          f"{len(times)} rounds: median {statistics.median(times):.2f} s, max "
          f"{max(times):.2f} s")
    print("all OUT streams byte-identical to single-process replays")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="inputs per shard")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-orders", type=int, default=2_000)
    parser.add_argument("--failover-rounds", type=int, default=5)
    parser.add_argument("--gateway", action="store_true",
                        help="the end-to-end figures through a cluster gateway instead")
    parser.add_argument("--window", type=int, default=50, help="orders in flight per account")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.repeat, args.latency_orders, args.failover_rounds = 2_000, 1, 200, 2
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
