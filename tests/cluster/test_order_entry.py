"""Order entry for gateways on a real nats-server: routes from the KV bucket, an order stored
once however often it is resent, per-shard commands, and per-shard credit allocations."""

from __future__ import annotations

import pytest

from exchange.cluster.names import MSG_ID, in_stream
from exchange.cluster.order_entry import UnroutableCommand
from exchange.cluster.replica import Replica
from exchange.cluster.servers import NatsServer
from exchange.cluster.shard import connect
from exchange.cluster.topology import read_routes, set_routes
from exchange.engine.codec import decode
from exchange.engine.commands import CancelOrder, MassCancel, SubmitOrder
from exchange.engine.enums import Side
from exchange.engine.events import OrderAccepted, OrderRejected
from exchange.engine.reasons import Reject
from tests.cluster.harness import SYMBOLS, inputs_of, last_seq, open_venue


def buy(n: int, symbol: str, qty: int = 1, price: int = 100, account: str = "a1") -> SubmitOrder:
    return SubmitOrder(n, account, f"c{n}", symbol, Side.BUY, qty, price)


async def test_orders_go_to_their_instruments_shard_and_a_resend_is_stored_once(
        nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url)
    entry = await open_venue(nc)
    assert await read_routes(nc.jetstream()) == SYMBOLS
    first = await entry.submit(buy(1, "PIPE-B"))
    again = await entry.submit(buy(1, "PIPE-B"))
    assert first.shard == "B" and not first.duplicate
    assert again == first._replace(duplicate=True)
    inputs = await inputs_of(nc, "B")
    assert [m.headers[MSG_ID] for m in inputs if m.headers and MSG_ID in m.headers].count(
        "a1:c1") == 1
    assert decode(inputs[first.in_seq - 1].data) == buy(1, "PIPE-B")
    assert (await entry.submit(buy(2, "PIPE-A"))).shard == "A"
    await nc.close()


async def test_a_new_route_is_read_on_a_miss_and_an_unrouted_symbol_is_refused(
        nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url)
    entry = await open_venue(nc)
    with pytest.raises(UnroutableCommand):
        await entry.submit(buy(1, "COPPER"))
    await set_routes(nc.jetstream(), {"COPPER": "B"})
    assert (await entry.submit(buy(2, "COPPER"))).shard == "B"
    with pytest.raises(UnroutableCommand):
        await entry.submit(CancelOrder(3, "a1", 1))  # order ids are per shard: name it
    assert (await entry.submit(CancelOrder(3, "a1", 1), shard="A")).shard == "A"
    with pytest.raises(UnroutableCommand):
        await entry.broadcast(buy(4, "PIPE-A"))
    before = [await last_seq(nc, in_stream(s)) for s in ("A", "B")]
    receipts = await entry.broadcast(MassCancel(5, "a1"))
    assert [r.in_seq for r in receipts] == [n + 1 for n in before]
    await nc.close()


async def test_the_engine_rejects_a_second_live_order_with_the_same_cl_ord_id(
        nats_server: NatsServer) -> None:
    """Past the duplicate window (a fresh message id here) the engine's check is the one."""
    nc = await connect(nats_server.url)
    entry = await open_venue(nc, {"PIPE-A": "A"})
    await entry.submit(buy(1, "PIPE-A"))
    await entry.submit(buy(1, "PIPE-A"), msg_id="after the window")
    replica = Replica()
    outcomes = [replica.engine.apply(decode(m.data))[0] for m in await inputs_of(nc, "A")]
    assert type(outcomes[-2]) is OrderAccepted
    assert type(outcomes[-1]) is OrderRejected
    assert outcomes[-1].reason == Reject.DUPLICATE_ORDER
    await nc.close()


async def test_credit_is_allocated_per_shard_and_each_shard_enforces_its_own(
        nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url)
    entry = await open_venue(nc, {"PIPE-A": "A", "PIPE-B": "B"})
    scale = 20 * 10**4  # notional per price unit per lot (harness.instrument)
    await entry.allocate_credit(1, "F1", {"A": 1_000 * scale, "B": 300 * scale})
    for n, symbol in enumerate(("PIPE-A", "PIPE-B"), start=10):
        await entry.submit(buy(n, symbol, qty=5, price=100))  # 500 price units x lots each
    outcomes = {}
    for shard in ("A", "B"):
        replica = Replica()
        outcomes[shard] = [replica.engine.apply(decode(m.data))[0]
                           for m in await inputs_of(nc, shard)][-1]
    assert type(outcomes["A"]) is OrderAccepted
    assert type(outcomes["B"]) is OrderRejected and outcomes["B"].reason == Reject.CREDIT_LIMIT
    await nc.close()
