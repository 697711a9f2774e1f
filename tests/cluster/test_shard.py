"""The engine shard on a real nats-server: one fenced output per input, equal to a replay;
restart from a snapshot publishes only what OUT lacks; a zombie cannot write out of place."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from nats.js.errors import APIError

from exchange.cluster.names import (
    EXPECTED_LAST_SEQ,
    MSG_ID,
    WRONG_LAST_SEQUENCE,
    ShardConfig,
    in_subject,
    out_stream,
    out_subject,
)
from exchange.cluster.replica import Replica, decode_output, replay
from exchange.cluster.servers import NatsServer
from exchange.cluster.shard import Shard, connect, load_snapshot
from exchange.cluster.topology import snapshot_store
from tests.cluster.harness import (
    SYMBOLS,
    eventually,
    inputs_of,
    last_seq,
    open_venue,
    order,
    outputs_of,
)


async def run_shard(url: str, shard: str, **options: object) -> tuple[Shard, asyncio.Task]:
    engine = Shard(ShardConfig(url, shard, **options))  # type: ignore[arg-type]
    return engine, asyncio.create_task(engine.run())


async def stop(engine: Shard, task: asyncio.Task) -> None:
    engine.stopping.set()
    await task


async def caught_up(nc: object, shard: str) -> None:
    async def outputs_match_inputs() -> bool:
        return await last_seq(nc, out_stream(shard)) == await last_seq(nc, f"IN_{shard}")
    await eventually(outputs_match_inputs)


async def check_outputs(nc: object, shard: str) -> list[bytes]:
    """OUT holds one output per input, each at its slot with its id, equal to a replay."""
    inputs, outputs = await inputs_of(nc, shard), await outputs_of(nc, shard)
    assert [m.headers[MSG_ID] for m in outputs] == [f"{shard}:{k}"
                                                    for k in range(1, len(inputs) + 1)]
    expected = replay([(m.data, None) for m in inputs])
    assert [m.data for m in outputs] == expected
    return expected


async def test_each_input_gets_one_output_at_its_slot_equal_to_a_replay(
        nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url)
    entry = await open_venue(nc)
    rng = random.Random(1)
    engine, task = await run_shard(nats_server.url, "A", snapshot_every=50)
    for n in range(300):
        await entry.submit(order(n, rng.choice(["PIPE-A", "WIRE-A"]), rng))
    await caught_up(nc, "A")
    await stop(engine, task)
    outputs = await check_outputs(nc, "A")
    assert any(b"\xcc\xcb" in o or decode_output(o).body for o in outputs)
    await nc.close()


async def test_an_input_that_is_not_a_command_takes_its_slot_and_changes_nothing(
        nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url)
    await open_venue(nc, {"PIPE-A": "A"})
    js = nc.jetstream()
    await js.publish(in_subject("A"), b"\xc1 not msgpack")
    await js.publish(in_subject("A"), b"")
    engine, task = await run_shard(nats_server.url, "A")
    await caught_up(nc, "A")
    await stop(engine, task)
    outputs = await check_outputs(nc, "A")
    assert decode_output(outputs[-1]).body is None
    assert decode_output(outputs[-1]).digest == decode_output(outputs[-3]).digest
    await nc.close()


async def test_restart_from_a_snapshot_publishes_only_what_out_lacks(
        nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url)
    entry = await open_venue(nc)
    rng = random.Random(2)
    engine, task = await run_shard(nats_server.url, "A", snapshot_every=40)
    for n in range(150):
        await entry.submit(order(n, "PIPE-A", rng))
    await caught_up(nc, "A")
    await stop(engine, task)
    snapshot = await load_snapshot(await snapshot_store(nc.jetstream()), "A")
    assert snapshot is not None and snapshot.in_seq == 120  # the newest multiple of 40
    for n in range(150, 200):  # arrive while the shard is down
        await entry.submit(order(n, "PIPE-A", rng))
    engine, task = await run_shard(nats_server.url, "A", snapshot_every=40)
    await caught_up(nc, "A")
    await stop(engine, task)
    await check_outputs(nc, "A")  # exactly one per input: the replayed ones were not re-sent
    await nc.close()


async def test_a_zombie_cannot_write_twice_or_out_of_place(nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url)
    entry = await open_venue(nc, {"PIPE-A": "A"})
    rng = random.Random(3)
    for n in range(20):
        await entry.submit(order(n, "PIPE-A", rng))
    engine, task = await run_shard(nats_server.url, "A")
    await caught_up(nc, "A")
    await stop(engine, task)
    js, end = nc.jetstream(), await last_seq(nc, out_stream("A"))
    # a zombie that lags republishes outputs OUT has: duplicates, acked at their slots, unwritten
    for slot in (end, end - 3):
        ack = await js.publish(out_subject("A"), b"stale", headers={
            MSG_ID: f"A:{slot}", EXPECTED_LAST_SEQ: str(slot - 1)})
        assert ack.duplicate and ack.seq == slot
    # one that skipped ahead, or lags past the duplicate window (its id forgotten: a fresh id
    # stands for that), is refused by the sequence fence
    for slot, msg_id in ((end + 2, f"A:{end + 2}"), (end - 3, "A:forgotten")):
        with pytest.raises(APIError) as refused:
            await js.publish(out_subject("A"), b"zombie", headers={
                MSG_ID: msg_id, EXPECTED_LAST_SEQ: str(slot - 1)})
        assert refused.value.err_code == WRONG_LAST_SEQUENCE
    assert await last_seq(nc, out_stream("A")) == end
    await check_outputs(nc, "A")
    await nc.close()


async def test_two_engines_on_one_shard_still_leave_one_output_per_input(
        nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url)
    entry = await open_venue(nc, {"PIPE-A": "A"})
    rng = random.Random(4)
    first = await run_shard(nats_server.url, "A", window=8)
    second = await run_shard(nats_server.url, "A", window=8)
    for n in range(200):
        await entry.submit(order(n, "PIPE-A", rng))
    await caught_up(nc, "A")
    await asyncio.sleep(0.3)
    await stop(*first)
    await stop(*second)
    await check_outputs(nc, "A")
    await nc.close()


def test_a_snapshot_restores_the_replica_exactly(tmp_path: Path) -> None:
    from exchange.engine.codec import encode
    from exchange.engine.commands import AddAccount
    from tests.cluster.harness import ACCOUNTS, instrument

    replica = Replica()
    rng = random.Random(5)
    inputs = [encode(instrument("PIPE-A"))] + [encode(AddAccount(0, a, f)) for a, f in ACCOUNTS]
    inputs += [encode(order(n, "PIPE-A", rng)) for n in range(100)]
    for payload in inputs[:60]:
        replica.apply(payload)
    restored = Replica.load(replica.dump())
    assert restored.in_seq == 60
    assert [restored.apply(p) for p in inputs[60:]] == [replica.apply(p) for p in inputs[60:]]
    assert SYMBOLS["PIPE-A"] == "A"
