"""Every op of the gateway's op table on a cluster gateway, over real websockets: each one
works or is answered `NOT_SUPPORTED` (docs/cluster.md), and the connection stays open. A new
op fails `test_every_op_works_or_is_not_supported` until it has sample arguments here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exchange.client import Client, ExchangeError
from exchange.cluster.gateway import ClusterGateway
from exchange.cluster.gateway_venue import NOT_ON_A_CLUSTER
from exchange.cluster.servers import NatsServer
from exchange.cluster.shard import connect
from exchange.cluster.topology import set_routes
from exchange.gateway.keys import new_key
from exchange.gateway.ops import OPS
from exchange.gateway.protocol import Code
from tests.cluster.harness import (
    SYMBOLS,
    issue_keys,
    merger_process,
    open_venue,
    settled,
    shard_process,
)
from tests.cluster.test_gateway import GATEWAY_CONFIG

ROW = ["UREA-A", "urea", "46% N", "CFR Antwerp", "2027-09", "t", "100", "0.50", "2", "1", "100",
       None, None]


def samples(trade_id: str, order_id: str, key_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """op -> (who calls it: an account, "operator" or "auditor"; arguments that work)."""
    return {
        "logon": ("a1", {}),  # the logon itself (the key is filled in)
        "ping": ("a1", {}),
        "instruments": ("a1", {"sym": "PIPE-A"}),
        "new_order": ("a1", {"cl_ord_id": "n1", "sym": "PIPE-A", "side": "BUY", "qty": "1",
                             "px": "0.50"}),
        "cancel_order": ("a1", {"order_id": order_id}),
        "replace_order": ("a1", {"orig_cl_ord_id": "rest2", "qty": "2", "px": "0.60"}),
        "mass_cancel": ("a2", {"sym": "PIPE-B"}),
        "cancel_all_after": ("a1", {"timeout_ms": 0}),
        "order_status": ("a1", {"orig_cl_ord_id": "rest2"}),
        "open_orders": ("a1", {}),
        "subscribe": ("a1", {"ch": "book", "sym": "PIPE-A"}),
        "unsubscribe": ("a1", {"ch": "book", "sym": "PIPE-A"}),
        "set_trading_state": ("operator", {"sym": "WIRE-B", "state": "OPEN"}),
        "add_instrument": ("operator", {
            "sym": "ROD-A", "commodity": "steel rod", "grade": "B500", "location": "Constanta",
            "delivery_period": "2025-03", "unit": "t", "lot_size": "20", "tick": "0.01",
            "price_decimals": "2"}),
        "import_instruments": ("operator", {"import_id": "i1", "rows": [ROW], "more": False}),
        "list_instruments": ("operator", {}),
        "show_instrument": ("operator", {"sym": "PIPE-A"}),
        "set_price_band": ("operator", {"sym": "PIPE-A", "clear": True}),
        "set_volatility_bands": ("operator", {"sym": "WIRE-A", "dynamic_ticks": "none",
                                              "static_ticks": "none", "call_ms": "1000"}),
        "set_phase": ("operator", {"sym": "WIRE-A", "phase": "open"}),
        "set_schedule": ("operator", {"sym": "WIRE-A", "clear": True}),
        "show_schedule": ("operator", {"sym": "WIRE-A"}),
        "add_account": ("operator", {"account": "d1", "firm": "F1"}),
        "set_account_limits": ("operator", {"account": "c1", "max_open_orders": "50"}),
        "set_credit_limit": ("operator", {"firm": "F3", "credit_limit": "1000000.00"}),
        "list_firms": ("operator", {}),
        "show_firm": ("operator", {"firm": "F1"}),
        "list_accounts": ("operator", {}),
        "show_account": ("operator", {"account": "a1"}),
        "set_kill_switch": ("operator", {"scope": "account", "name": "c1", "engaged": False}),
        "bust_trade": ("operator", {"trade_id": trade_id, "reason": "test"}),
        "start_trading_day": ("operator", {}),
        "issue_key": ("operator", {"role": "auditor"}),
        "revoke_key": ("operator", {"key_id": key_id}),
        "list_keys": ("operator", {}),
        "book": ("operator", {"sym": "PIPE-A"}),
        "list_orders": ("operator", {"account": "a1"}),
        "list_trades": ("operator", {}),
        "stats": ("operator", {}),
        "trades_history": ("a1", {"sym": "PIPE-A"}),
        "candles": ("a1", {"sym": "PIPE-A", "interval": "1m"}),
        "ticker": ("a1", {"sym": "PIPE-A"}),
        "account_status": ("a1", {}),
        "my_trades": ("a1", {}),
        "order_history": ("a1", {}),
    }


async def test_every_op_works_or_is_not_supported(nats_server: NatsServer,
                                                 tmp_path: Path) -> None:
    shards = [shard_process(nats_server.url, shard, tmp_path).start() for shard in "AB"]
    shards.append(merger_process(nats_server.url, tmp_path).start())
    nc = await connect(nats_server.url)
    gateway = ClusterGateway(nats_server.url, GATEWAY_CONFIG)
    try:
        entry = await open_venue(nc)
        await set_routes(nc.jetstream(), {**SYMBOLS, "ROD-A": "A", "UREA-A": "A"})
        keys = await issue_keys(entry)
        for role in ("operator", "auditor"):
            command, keys[role] = new_key(0, role, None, key_id=f"k{role}")
            await entry.broadcast(command)
        spare, _ = new_key(0, "trader", "c1", key_id="spare")
        await entry.broadcast(spare)
        await settled(nc)
        await gateway.start()
        clients: dict[str, Client] = {}

        async def client(who: str) -> Client:
            if who not in clients:
                clients[who] = await Client.connect(gateway.url)
                await clients[who].logon(keys[who])
            return clients[who]

        buyer, seller = await client("a1"), await client("b1")
        await buyer.new_order("PIPE-A", "BUY", "1", "1.00", cl_ord_id="hit")
        await seller.new_order("PIPE-A", "SELL", "1", "1.00", cl_ord_id="hit")
        rest = await buyer.new_order("PIPE-A", "BUY", "1", "0.40", cl_ord_id="rest1")
        await buyer.new_order("PIPE-B", "BUY", "1", "0.40", cl_ord_id="rest2")
        trades = (await buyer.request("trades_history", sym="PIPE-A"))["trades"]
        table = samples(trades[0]["trade_id"], rest["order_id"], "spare")
        assert sorted(table) == sorted(OPS), "every op needs a sample here"
        refused, wrong = set(), {}
        for op, (who, args) in table.items():
            if op == "logon":
                fresh = await Client.connect(gateway.url)
                answer = await (await fresh.send_request("logon", {"api_key": keys[who]}))
                await fresh.close()
            else:
                session = await client(who)
                try:
                    answer = await (await session.send_request(op, args))
                    await session.request("ping")
                except ExchangeError as exc:  # the connection closed (1011: internal error)
                    wrong[op] = str(exc)
                    del clients[who]
                    continue
            if answer["ok"]:
                continue
            if answer["error"]["code"] == Code.NOT_SUPPORTED:
                refused.add(op)
            else:
                wrong[op] = answer["error"]
        assert wrong == {}, str(wrong)
        assert refused == set(NOT_ON_A_CLUSTER)
        for session in clients.values():
            await session.close()
    finally:
        await gateway.close()
        for shard in shards:
            shard.stop()
        await nc.close()
