"""Stop and stop-limit orders: held off the book, invisible, until a trade reaches them
(docs/engine.md, "Stop orders").

`Stops` holds every stop of one engine. Invariants: each held stop is in `by_id` and in its
instrument's side list exactly once; a buy list is sorted by (stop price, order id), a sell
list by (-stop price, order id), so the stops a trade reaches are a prefix; the stop's
cl_ord_id is live for its account (in `live_cl_ord_ids`, beside its resting orders);
`engine.stop_count == len(by_id)`; `parts` is the sum modulo 2**256 of the held stops' digest
parts (SHA-256 of the MessagePack of their canonical tuples).

A trade at price p triggers the buy stops with stop price <= p and the sell stops with stop
price >= p, in order-id order; `cascade` runs after a command, over its trades in order, and
enters each triggered stop as a new order (which may trade and trigger more), first triggered
first, until none is left: a fixed point reached in at most as many entries as there were
stops. Costs: holding or taking out a stop O(S) in its side's stops (a list insert); a trade
O(1) plus O(k log k) for the k stops it triggers.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import deque
from typing import TYPE_CHECKING, Any

import msgpack

from exchange.engine import validation
from exchange.engine.commands import SubmitOrder, SubmitStopOrder
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce
from exchange.engine.events import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    StopOrderAccepted,
    StopTriggered,
    TradeExecuted,
)
from exchange.engine.pretrade import STATE_REJECT, check_limits
from exchange.engine.reasons import CancelReason, Reject
from exchange.engine.stream import text_field

if TYPE_CHECKING:
    from exchange.engine.engine import Engine

BUY = Side.BUY
_MODULUS = 2**256
_pack = msgpack.Packer(autoreset=True).pack


class HeldStop:
    __slots__ = ("account", "cl_ord_id", "order_id", "price", "qty", "side", "stop_price",
                 "stp", "symbol", "tif")

    def __init__(self, order_id: int, cmd: SubmitStopOrder) -> None:
        self.order_id = order_id
        self.account, self.cl_ord_id, self.symbol = cmd.account, cmd.cl_ord_id, cmd.symbol
        self.side, self.qty, self.stop_price = Side(cmd.side), cmd.qty, cmd.stop_price
        self.price, self.tif, self.stp = cmd.price, TimeInForce(cmd.tif), StpMode(cmd.stp)

    @property
    def ord_type(self) -> OrdType:
        return OrdType.STOP if self.price is None else OrdType.STOP_LIMIT

    def key(self) -> tuple[int, int]:
        """Its place in its side's list: the stops a rising (buy) or falling (sell) price
        reaches first come first."""
        return (self.stop_price if self.side is BUY else -self.stop_price, self.order_id)

    def canonical(self) -> tuple:
        return (self.order_id, self.account, self.cl_ord_id, self.symbol, int(self.side),
                self.qty, self.stop_price, self.price, int(self.tif), int(self.stp))

    def part(self) -> int:
        return int.from_bytes(hashlib.sha256(_pack(self.canonical())).digest(), "big")


class Stops:
    __slots__ = ("by_id", "parts", "sides")

    def __init__(self) -> None:
        self.by_id: dict[int, HeldStop] = {}
        self.sides: dict[tuple[str, Side], list[tuple[int, int]]] = {}
        self.parts = 0

    # -- holding -----------------------------------------------------------------------------

    def submit(self, engine: Engine, cmd: SubmitStopOrder) -> None:
        """Check a stop order as a new order would be checked (what can be known before it
        triggers), then hold it: StopOrderAccepted, or OrderRejected with the reason."""
        reason = self.reject_reason(engine, cmd)
        if reason is not None:
            engine.emit(OrderRejected, text_field(cmd.account), text_field(cmd.cl_ord_id),
                        text_field(cmd.symbol), reason)
            return
        stop = HeldStop(engine.next_order_id, cmd)
        engine.next_order_id += 1
        self.hold(engine, stop)
        engine.emit(StopOrderAccepted, stop.order_id, stop.account, stop.cl_ord_id,
                    stop.symbol, stop.side, stop.ord_type, stop.qty, stop.stop_price,
                    stop.price, stop.tif, stop.stp)

    def reject_reason(self, engine: Engine, cmd: SubmitStopOrder) -> Reject | None:
        reason = validation.stop_fields(cmd)
        if reason is not None:
            return reason
        account = engine.accounts.get(cmd.account)
        if account is None:
            return Reject.UNKNOWN_ACCOUNT
        instrument = engine.instruments.get(cmd.symbol)
        if instrument is None:
            return Reject.UNKNOWN_INSTRUMENT
        if account.blocked or account.firm_ref.blocked:
            return Reject.BLOCKED
        if instrument.state in STATE_REJECT:
            return STATE_REJECT[instrument.state]
        if not instrument.min_qty <= cmd.qty <= instrument.max_qty:
            return (Reject.QUANTITY_BELOW_MIN if cmd.qty < instrument.min_qty
                    else Reject.QUANTITY_ABOVE_MAX)
        stop = cmd.stop_price
        last = engine.books[cmd.symbol].last_price
        if (stop % instrument.tick_size or not instrument.min_price <= stop <= instrument.max_price
                or (last is not None and (stop <= last if cmd.side == BUY else stop >= last))):
            return Reject.INVALID_STOP_PRICE
        if cmd.price is not None:
            reason = engine.check_price(cmd.price, instrument)
            if reason is not None:
                return reason
        if cmd.tif not in (TimeInForce.GTC, TimeInForce.DAY):
            return Reject.INVALID_TIF
        reason = check_limits(account, instrument, cmd.side, cmd.qty, cmd.price)
        if reason is not None:
            return reason
        if cmd.cl_ord_id in account.live_cl_ord_ids:
            return Reject.DUPLICATE_ORDER
        return None

    def hold(self, engine: Engine, stop: HeldStop) -> None:
        self.by_id[stop.order_id] = stop
        bisect.insort(self.sides.setdefault((stop.symbol, stop.side), []), stop.key())
        engine.accounts[stop.account].live_cl_ord_ids[stop.cl_ord_id] = stop.order_id
        engine.stop_count += 1
        engine.calls.tracked.add(stop.symbol)
        self.parts = (self.parts + stop.part()) % _MODULUS

    def release(self, engine: Engine, stop: HeldStop) -> None:
        """Take a stop out of every index (no event)."""
        del self.by_id[stop.order_id]
        held = self.sides[(stop.symbol, stop.side)]
        del held[bisect.bisect_left(held, stop.key())]
        del engine.accounts[stop.account].live_cl_ord_ids[stop.cl_ord_id]
        engine.stop_count -= 1
        self.parts = (self.parts - stop.part()) % _MODULUS

    # -- leaving without a trigger -----------------------------------------------------------

    def cancel(self, engine: Engine, order_id: int, account: str,
               reason: CancelReason = CancelReason.REQUESTED) -> bool:
        """Cancel the account's held stop `order_id`; False if it holds none of that id."""
        stop = self.by_id.get(order_id)
        if stop is None or stop.account != account:
            return False
        self.release(engine, stop)
        engine.emit(OrderCanceled, stop.order_id, stop.account, stop.symbol, stop.qty, reason)
        return True

    def of_accounts(self, accounts: set[str], symbol: str | None = None,
                    side: Any = None) -> list[HeldStop]:
        return [stop for stop in self.by_id.values() if stop.account in accounts
                and (symbol is None or stop.symbol == symbol)
                and (side is None or stop.side == side)]

    def expire_day(self, engine: Engine, symbol: str) -> None:
        """DAY stops of an instrument that closes expire, in order-id order."""
        for stop in [s for s in self.by_id.values()
                     if s.symbol == symbol and s.tif is TimeInForce.DAY]:
            self.release(engine, stop)
            engine.emit(OrderExpired, stop.order_id, stop.account, stop.symbol, stop.qty)

    # -- triggering --------------------------------------------------------------------------

    def cascade(self, engine: Engine, events: list[Any]) -> None:
        """Trigger and enter stops for the trades in `events` (the current command's), and
        for the trades of the orders they become, until no held stop is reached."""
        waiting: deque[tuple[HeldStop, int]] = deque()
        looked = 0
        while True:
            while looked < len(events):
                event = events[looked]
                looked += 1
                if type(event) is TradeExecuted and self.by_id:
                    waiting.extend((stop, event.price)
                                   for stop in self.reached(engine, event.symbol, event.price))
            if not waiting:
                return
            stop, price = waiting.popleft()
            self.enter(engine, stop, price, events)

    def reached(self, engine: Engine, symbol: str, price: int) -> list[HeldStop]:
        """The held stops a trade at `price` triggers, taken out, in order-id order."""
        found = []
        for side, key in ((Side.BUY, price), (Side.SELL, -price)):
            held = self.sides.get((symbol, side))
            while held and held[0][0] <= key:
                found.append(self.by_id[held[0][1]])
                self.release(engine, found[-1])
        return sorted(found, key=lambda stop: stop.order_id)

    def enter(self, engine: Engine, stop: HeldStop, price: int, events: list[Any]) -> None:
        """StopTriggered, then the order the stop becomes, entered as a new order."""
        at = len(events)
        engine.emit(StopTriggered, stop.order_id, stop.account, stop.symbol, price, None)
        new_order_id = engine.next_order_id
        market = stop.price is None
        engine.submit_order(SubmitOrder(
            engine.now_us, stop.account, stop.cl_ord_id, stop.symbol, stop.side, stop.qty,
            stop.price, OrdType.MARKET if market else OrdType.LIMIT,
            TimeInForce.IOC if market else stop.tif, None, False, None, stop.stp))
        if type(events[at + 1]) is OrderAccepted:
            events[at] = events[at]._replace(new_order_id=new_order_id)

    # -- state -------------------------------------------------------------------------------

    def dump(self) -> list[tuple]:
        return [stop.canonical() for stop in self.by_id.values()]

    def load(self, engine: Engine, rows: list[Any]) -> None:
        for order_id, *fields in rows:
            account, cl_ord_id, symbol, side, qty, stop_price, price, tif, stp = fields
            self.hold(engine, HeldStop(order_id, SubmitStopOrder(
                0, account, cl_ord_id, symbol, side, qty, stop_price, price, tif, stp)))
