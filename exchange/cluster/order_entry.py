"""Order entry into the cluster, for gateways: route a command to its shard's IN stream.

`OrderEntry.submit(command)` publishes the command's codec record to `in.<shard>` and returns
once JetStream has acknowledged it (the PubAck: the input is stored, at sequence `in_seq`):
only then may a gateway tell its client "received". An order goes out with `Nats-Msg-Id =
<account>:<cl_ord_id>`, and a publish that fails or times out is sent again with the same id
until it is acknowledged, so a resend within the streams' duplicate window is stored once (the
receipt says `duplicate`). Past that window the engine's own check of the account's live
cl_ord_ids is the authority: a second input of the same order is rejected there, in OUT.

Routing: an instrument's commands go to the shard the ROUTES bucket names for its symbol (read
at open, read again on a miss). Order ids are numbered per shard, so a cancel or an amend names
its shard (the one whose OUT reported the order). Commands about accounts, firms, keys and the
day go to every shard (`broadcast`); a firm's credit limit is an allocation per shard
(`allocate_credit`, docs/cluster.md).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, NamedTuple

from nats.aio.client import Client
from nats.js import JetStreamContext

from exchange.cluster.names import MSG_ID, ORIGIN, in_subject, order_id
from exchange.cluster.topology import read_routes
from exchange.engine.codec import encode
from exchange.engine.commands import (
    AddAccount,
    AddInstrument,
    AmendOrder,
    CancelOrder,
    ExpireOrders,
    IssueKey,
    MassCancel,
    RevokeKey,
    SetAccountLimits,
    SetCreditLimit,
    SetKillSwitch,
    SetPriceBand,
    SetTradingState,
    StartTradingDay,
    SubmitOrder,
)

BY_SYMBOL = (SubmitOrder, AddInstrument, SetTradingState, SetPriceBand)
EVERY_SHARD = (AddAccount, SetAccountLimits, SetKillSwitch, StartTradingDay, ExpireOrders,
               IssueKey, RevokeKey)


class Receipt(NamedTuple):
    shard: str
    in_seq: int  # the input's sequence in IN_<shard>: its output is OUT_<shard>'s in_seq
    duplicate: bool  # the same Nats-Msg-Id was stored before (at in_seq)


class UnroutableCommand(ValueError):
    """The command names no shard: an unrouted symbol, or a per-shard command without one."""


class OrderEntry:
    """One gateway's publisher into the shards' IN streams."""

    def __init__(self, js: JetStreamContext, routes: dict[str, str], shards: list[str],
                 retry_for: float = 30.0, ack_timeout: float = 2.0) -> None:
        self.js = js
        self.routes = dict(routes)
        self.shards = shards
        self.retry_for = retry_for
        self.ack_timeout = ack_timeout

    @classmethod
    async def open(cls, nc: Client, shards: list[str] | None = None, **options: Any
                   ) -> OrderEntry:
        """Read the route map; `shards` defaults to every shard it names."""
        js = nc.jetstream()
        routes = await read_routes(js)
        return cls(js, routes, shards or sorted(set(routes.values())), **options)

    async def shard_of(self, symbol: str) -> str:
        if symbol not in self.routes:
            self.routes = await read_routes(self.js)
        try:
            return self.routes[symbol]
        except KeyError:
            raise UnroutableCommand(f"no shard is routed for instrument {symbol!r}") from None

    async def submit(self, command: Any, shard: str | None = None, msg_id: str | None = None,
                     origin: str | None = None) -> Receipt:
        """Store `command` in its shard's IN; return once acknowledged. `shard` is required for
        cancels, amends and a mass cancel of every instrument (or use `broadcast`)."""
        if shard is None:
            symbol = command.symbol if isinstance(command, (*BY_SYMBOL, MassCancel)) else None
            if symbol is not None:
                shard = await self.shard_of(symbol)
            else:
                raise UnroutableCommand(f"{type(command).__name__} needs a shard")
        if msg_id is None and isinstance(command, (SubmitOrder, AmendOrder)) \
                and command.cl_ord_id is not None:
            msg_id = order_id(command.account, command.cl_ord_id)
        return await self.publish(shard, encode(command), msg_id, origin)

    async def broadcast(self, command: Any, msg_id: str | None = None,
                        origin: str | None = None) -> list[Receipt]:
        """Store `command` in every shard's IN (accounts, keys, the day, mass cancels)."""
        if not isinstance(command, (*EVERY_SHARD, MassCancel, CancelOrder)):
            raise UnroutableCommand(f"{type(command).__name__} is not sent to every shard")
        payload = encode(command)
        return [await self.publish(shard, payload, msg_id and f"{msg_id}@{shard}", origin)
                for shard in self.shards]

    async def allocate_credit(self, ts_us: int, firm: str, limits: dict[str, int | None],
                              origin: str | None = None) -> list[Receipt]:
        """Set the firm's credit limit on each shard named in `limits` (its allocation)."""
        return [await self.publish(shard, encode(SetCreditLimit(ts_us, firm, limit)), None,
                                   origin) for shard, limit in limits.items()]

    async def publish(self, shard: str, payload: bytes, msg_id: str | None,
                      origin: str | None) -> Receipt:
        """Publish until acknowledged, for at most `retry_for` seconds (then the last error).
        Without a `msg_id` a retry could store the input twice, so there is none."""
        headers = {}
        if msg_id is not None:
            headers[MSG_ID] = msg_id
        if origin is not None:
            headers[ORIGIN] = origin
        deadline = time.monotonic() + self.retry_for
        while True:
            try:
                ack = await self.js.publish(in_subject(shard), payload, timeout=self.ack_timeout,
                                            headers=headers or None)
                return Receipt(shard, ack.seq, bool(ack.duplicate))
            except Exception:
                if msg_id is None or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
