"""Kill -9 under load, at random moments, of an engine shard, a ledger writer, a gateway, the
merger and nats-server (R1), and zombie engines (paused, replaced, then resumed beside their
replacement), two shards, two gateways with traders on both (moving to the other gateway when
theirs dies): afterwards every acknowledged order is in IN exactly once, every input has
exactly one output in OUT at its slot, OUT is byte-identical to a single-process replay of IN
through a fresh engine, OUT_ALL holds each output once in its shard's order, PostgreSQL holds
every output exactly once in a chain that verifies, and each trader's execution reports ran
1, 2, 3 ... without a gap or a repeat, every reported fill one of the ledger's trades."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import asyncpg

from exchange.client import Client
from exchange.cluster.merged import MERGED, MERGED_SUBJECTS, merged_subject, to_local
from exchange.cluster.names import MSG_ID, ORIGIN, in_stream, order_id, out_stream
from exchange.cluster.order_entry import OrderEntry, Receipt
from exchange.cluster.pg_ledger import head, verify
from exchange.cluster.replica import decode_output, replay
from exchange.cluster.servers import NatsServer
from exchange.cluster.shard import connect
from exchange.cluster.topology import read_stream
from exchange.engine.codec import decode
from exchange.engine.events import TradeExecuted
from exchange.ledger.schema import body_records
from exchange.ledger.signing import VenueKey
from tests.cluster.harness import (
    SHARDS,
    SYMBOLS,
    Process,
    eventually,
    gateway_process,
    gateway_url,
    inputs_of,
    issue_keys,
    last_seq,
    merger_process,
    open_venue,
    order,
    outputs_of,
    shard_process,
    writer_process,
)
from tests.cluster.ws_load import WsTrader

ROUNDS = int(os.environ.get("CLUSTER_KILL_ROUNDS", "24"))
GATEWAYS = ("gateway 0", "gateway 1")
TRADERS = ("a2", "c1")
SEED = int(os.environ.get("CLUSTER_KILL_SEED", "13"))


class Load:
    """Orders at a steady pace on every instrument, each resent now and then with its
    cl_ord_id (as a gateway retrying after a lost answer); every receipt is kept."""

    def __init__(self, entry: OrderEntry, rng: random.Random) -> None:
        self.entry = entry
        self.rng = rng
        self.receipts: dict[str, Receipt] = {}
        self.resends = 0
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        n, symbols = 0, sorted(SYMBOLS)
        sent: list = []
        while not self.stopping.is_set():
            if sent and self.rng.random() < 0.05:
                command = self.rng.choice(sent)
                receipt = await self.entry.submit(command, origin=f"account:{command.account}")
                assert receipt.duplicate
                assert receipt == self.receipts[order_id(command.account, command.cl_ord_id)]._replace(
                    duplicate=True)
                self.resends += 1
                continue
            command = order(n, self.rng.choice(symbols), self.rng)
            receipt = await self.entry.submit(command, origin=f"account:{command.account}")
            self.receipts[order_id(command.account, command.cl_ord_id)] = receipt
            sent.append(command)
            n += 1
            await asyncio.sleep(0.002)


async def test_kill_9_of_shards_writers_and_nats_loses_and_repeats_nothing(
        nats_server: NatsServer, pg_dsn: str, signing_key: tuple[Path, VenueKey],
        tmp_path: Path) -> None:
    rng = random.Random(SEED)
    nc = await connect(nats_server.url)
    entry = await open_venue(nc)
    keys = await issue_keys(entry)
    processes: dict[str, Process] = {}
    for shard in SHARDS:
        processes[f"shard {shard}"] = shard_process(nats_server.url, shard, tmp_path, 150).start()
        processes[f"writer {shard}"] = writer_process(nats_server.url, pg_dsn, shard,
                                                      signing_key[0], tmp_path).start()
    processes["merger"] = merger_process(nats_server.url, tmp_path).start()
    for name in GATEWAYS:
        processes[name] = gateway_process(nats_server.url, tmp_path, name.replace(" ", "")).start()

    async def urls() -> list[str]:
        return [await gateway_url(tmp_path, name.replace(" ", "")) for name in GATEWAYS]
    await urls()
    traders = [WsTrader(account, keys[account], urls, sorted(SYMBOLS), random.Random(SEED + i))
               for i, account in enumerate(TRADERS)]
    trading = [asyncio.create_task(trader.run()) for trader in traders]
    load = Load(entry, rng)
    loading = asyncio.create_task(load.run())
    kills: dict[str, int] = {}
    started = time.monotonic()
    try:
        for _ in range(ROUNDS):
            await asyncio.sleep(rng.uniform(0.15, 0.6))
            victim = rng.choice([*processes, "nats-server", *(f"zombie {s}" for s in SHARDS)])
            if victim in GATEWAYS:
                (tmp_path / f"{victim.replace(' ', '')}.url").unlink(missing_ok=True)
            kills[victim] = kills.get(victim, 0) + 1
            if victim.startswith("zombie"):
                await zombie(processes, victim.split()[1], nats_server.url, tmp_path, rng)
            elif victim == "nats-server":
                nats_server.kill()
                await asyncio.sleep(rng.uniform(0, 0.3))
                nats_server.start()
            else:
                processes[victim].kill()
                await asyncio.sleep(rng.uniform(0, 0.3))
                processes[victim].start()
            for name, process in processes.items():  # nothing may die but by our hand
                assert process.alive(), f"{name} exited {process.process.returncode}: " \
                    f"{process.log.read_text()[-2000:]}"
        load.stopping.set()
        for trader in traders:
            trader.stopping.set()
        await loading
        await asyncio.gather(*trading)
        await all_written(nc, pg_dsn)
        trades = await check_everything(nc, pg_dsn, load.receipts, signing_key[1].public_hex)
        await check_traders(nc, traders, trades, (await urls())[0], keys)
    finally:
        load.stopping.set()
        for trader in traders:
            trader.stopping.set()
        for process in processes.values():
            process.stop()
    print(f"{ROUNDS} rounds in {time.monotonic() - started:.1f} s, kills {kills}, "
          f"{len(load.receipts)} orders, {load.resends} resends, "
          f"{sum(len(t.answered) for t in traders)} orders through gateways, "
          f"{sum(t.moves for t in traders)} gateway moves")
    assert len(kills) >= 3 and load.resends > 0
    await nc.close()


async def check_traders(nc: object, traders: list[WsTrader], trades: dict[str, set[int]],
                        url: str, keys: dict[str, str]) -> None:
    """Each order a gateway answered is in IN once; each trader's reports ran without a gap or
    a repeat and are exactly what a fresh subscription from 0 gets; every reported fill is one
    of the ledger's trades."""
    ids = [m.headers.get(MSG_ID) for shard in SHARDS for m in await inputs_of(nc, shard)
           if m.headers]
    for trader in traders:
        assert not trader.faults, trader.faults
        assert trader.answered, f"{trader.account} got no answer"
        for cl_ord_id in trader.answered:
            assert ids.count(order_id(trader.account, cl_ord_id)) == 1, cl_ord_id
        client = await Client.connect(url)
        await client.logon(keys[trader.account])
        last = (await client.subscribe_exec(resume_from_exec_seq=0))["exec_seq"]
        fresh = [await asyncio.wait_for(client.exec_reports.get(), 10) for _ in range(last)]
        await client.close()
        assert [r["exec_seq"] for r in fresh] == list(range(1, last + 1))
        assert trader.reports == fresh[:len(trader.reports)]
        for report in fresh:
            if report["exec_type"] == "TRADE":
                local, index = to_local(int(report["trade_id"]))
                assert local in trades[SHARDS[index]], report


async def zombie(processes: dict[str, Process], shard: str, url: str, log_dir: Path,
                 rng: random.Random) -> None:
    """Pause shard's engine, start its replacement, resume the old one beside it for a while
    (both consuming IN and publishing to OUT), then kill -9 the old one."""
    old = processes[f"shard {shard}"]
    old.pause()
    await asyncio.sleep(rng.uniform(0.1, 0.4))
    processes[f"shard {shard}"] = shard_process(url, shard, log_dir, 150).start()
    await asyncio.sleep(rng.uniform(0.2, 0.6))
    old.resume()
    await asyncio.sleep(rng.uniform(0.1, 0.5))
    old.kill()


async def all_written(nc: object, dsn: str) -> None:
    conn = await asyncpg.connect(dsn)

    async def outputs_and_ledger_caught_up() -> bool:
        for shard in SHARDS:
            end = await last_seq(nc, in_stream(shard))
            found = await head(conn, shard)
            if await last_seq(nc, out_stream(shard)) != end or found is None \
                    or found.last_seq != end:
                return False
        outputs = [await last_seq(nc, out_stream(shard)) for shard in SHARDS]
        return await last_seq(nc, MERGED) == sum(outputs)
    try:
        await eventually(outputs_and_ledger_caught_up, timeout=60, every=0.2)
    finally:
        await conn.close()


async def check_everything(nc: object, dsn: str, receipts: dict[str, Receipt],
                           public_key: str) -> dict[str, set[int]]:
    """The checks of OUT, OUT_ALL and PostgreSQL; each shard's trade ids."""
    conn = await asyncpg.connect(dsn)
    merged = await read_stream(nc, MERGED_SUBJECTS, await last_seq(nc, MERGED))  # type: ignore[arg-type]
    trade_ids = {}
    try:
        for shard in SHARDS:
            inputs, outputs = await inputs_of(nc, shard), await outputs_of(nc, shard)
            ids = [m.headers.get(MSG_ID) for m in inputs if m.headers]
            orders = [i for i in ids if i and not i.endswith(f"@{shard}")]
            assert len(orders) == len(set(orders)), "an order is in IN twice"
            acked = {key: r.in_seq for key, r in receipts.items() if r.shard == shard}
            assert {i: m.metadata.sequence.stream for m in inputs
                    if (i := m.headers and m.headers.get(MSG_ID)) in acked} == acked
            assert [m.headers[MSG_ID] for m in outputs] == [
                f"{shard}:{k}" for k in range(1, len(inputs) + 1)]
            expected = replay([(m.data, m.headers.get(ORIGIN) if m.headers else None)
                               for m in inputs])
            assert [m.data for m in outputs] == expected
            copies = [m for m in merged if m.subject == merged_subject(shard)]
            assert [m.headers[MSG_ID] for m in copies] == [m.headers[MSG_ID] for m in outputs]
            assert [m.data for m in copies] == expected
            rows = await conn.fetch("SELECT out_seq, body FROM events WHERE shard = $1 "
                                    "ORDER BY out_seq", shard)
            assert [r["out_seq"] for r in rows] == list(range(1, len(inputs) + 1))
            assert [bytes(r["body"]) for r in rows] == [decode_output(o).body or b""
                                                        for o in expected]
            trades = [(record.trade_id, out_seq) for out_seq, o in enumerate(expected, start=1)
                      if (body := decode_output(o).body)
                      for record in map(decode, body_records(body))
                      if type(record) is TradeExecuted]
            assert trades, "the load made no trades"
            assert [tuple(r) for r in await conn.fetch(
                "SELECT trade_id, out_seq FROM trades WHERE shard = $1 ORDER BY trade_id",
                shard)] == trades
            assert await verify(conn, shard, public_key) == (len(inputs), None)
            trade_ids[shard] = {trade_id for trade_id, _ in trades}
    finally:
        await conn.close()
    return trade_ids
