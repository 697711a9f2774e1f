"""Adapters that replay `bench.workloads` ops on peer matching engines from PyPI.

Peers (optional `bench` extra; a peer that is not installed is skipped):

* orderly-chaos -- C++17 price-time book through ctypes; integer ticks, native
  IOC market orders, cancel by our order id.
* liquibook -- SWIG wrapper of the C++ Liquibook engine; callbacks into Python
  for every accept / fill / cancel; market = price 0 + immediate-or-cancel.
* lightmatchingengine -- small pure-Python engine; assigns its own ids, and
  would rest a market order's remainder at price 0, so the adapter cancels it.

None of them knows accounts, so none prevents self-trades. A "trade" is one
fill between the incoming order and one resting order; `result()` returns
(trade_count, traded_qty), comparable with `workloads.generate_with_expected`.

Run: python -m bench.peers [--quick] [--n N] [--mix normal ...] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from bench.workloads import DEFAULT_N, MIXES, Op, generate_with_expected


class Peer(Protocol):
    name: str

    def apply(self, op: Op) -> None: ...

    def result(self) -> tuple[int, int]: ...


class OrderlyChaosPeer:
    name = "orderly-chaos"

    def __init__(self) -> None:
        import orderly_chaos as oc

        self.trades = self.qty = self.rejects = 0
        self._sides = {"B": oc.Side.BUY, "S": oc.Side.SELL}
        self._unknown = oc.UnknownOrderIdError
        self.book = oc.LimitOrderBook(on_trade=self._on_trade)

    def _on_trade(self, trade: Any) -> None:
        self.trades += 1
        self.qty += trade.quantity

    def apply(self, op: Op) -> None:
        if op[0] == "limit":
            self.book.limit(self._sides[op[2]], op[1], op[4], op[3])
        elif op[0] == "market":
            self.book.market(self._sides[op[2]], op[1], op[3])
        else:
            try:
                self.book.cancel(op[1])
            except self._unknown:
                self.rejects += 1

    def result(self) -> tuple[int, int]:
        return self.trades, self.qty


class LiquibookPeer:
    name = "liquibook"

    def __init__(self) -> None:
        import liquibook as lb

        peer = self

        class Listener(lb.OrderListener):  # type: ignore[misc]  # SWIG director: define all
            def on_fill(self, order: Any, matched: Any, qty: int, cost: int) -> None:
                peer.trades += 1
                peer.qty += qty

            def on_cancel_reject(self, order: Any, reason: str) -> None:
                peer.rejects += 1

            def on_accept(self, order: Any) -> None: ...
            def on_reject(self, order: Any, reason: str) -> None: ...
            def on_cancel(self, order: Any) -> None: ...
            def on_replace(self, order: Any, size_delta: int, new_price: int) -> None: ...
            def on_replace_reject(self, order: Any, reason: str) -> None: ...

        self.trades = self.qty = self.rejects = 0
        self._lb = lb
        self._listener = Listener()  # keep alive: the book holds a raw pointer
        self.book = lb.liquibook_book_OrderBook()  # the core book, no depth feed
        self.book.set_order_listener(self._listener)
        self.orders: dict[int, Any] = {}

    def apply(self, op: Op) -> None:
        if op[0] == "limit":
            order = self._lb.SimpleOrder(op[2] == "B", op[3], op[4])
            self.orders[op[1]] = order
            self.book.add(order)
        elif op[0] == "market":
            # The book reads IOC from add()'s argument, not from the order.
            ioc = self._lb.oc_immediate_or_cancel
            self.book.add(self._lb.SimpleOrder(op[2] == "B", 0, op[3], 0, ioc), ioc)
        else:
            order = self.orders.pop(op[1], None)
            if order is None:
                self.rejects += 1
            else:
                self.book.cancel(order)  # filled orders come back as cancel rejects

    def result(self) -> tuple[int, int]:
        return self.trades, self.qty


class LightMatchingEnginePeer:
    name = "lightmatchingengine"
    SYMBOL = "X"

    def __init__(self) -> None:
        import lightmatchingengine.lightmatchingengine as lme

        self.trades = self.qty = self.rejects = 0
        self.engine = lme.LightMatchingEngine()
        self._sides = {"B": lme.Side.BUY, "S": lme.Side.SELL}
        self.orders: dict[int, Any] = {}  # our id -> its Order (it numbers its own)

    def _add(self, side: str, price: int, qty: int) -> Any:
        order, trades = self.engine.add_order(self.SYMBOL, price, qty, self._sides[side])
        for t in trades:  # one aggregate row for the taker per level, one per maker
            if t.order_id != order.order_id:
                self.trades += 1
                self.qty += t.trade_qty
        return order

    def apply(self, op: Op) -> None:
        if op[0] == "limit":
            order = self._add(op[2], op[3], op[4])
            if order.leaves_qty:
                self.orders[op[1]] = order
        elif op[0] == "market":
            order = self._add(op[2], 0, op[3])  # price 0 means market
            if order.leaves_qty:  # otherwise it would rest at price 0
                self.engine.cancel_order(order.order_id, self.SYMBOL)
        else:
            order = self.orders.pop(op[1], None)
            # Its cancel_order asserts if a filled order's level is gone: check first.
            if order is None or not order.leaves_qty:
                self.rejects += 1
            else:
                self.engine.cancel_order(order.order_id, self.SYMBOL)

    def result(self) -> tuple[int, int]:
        return self.trades, self.qty


PEERS: tuple[type[Peer], ...] = (OrderlyChaosPeer, LiquibookPeer, LightMatchingEnginePeer)


def available_peers(log: Callable[[str], None] = print) -> list[type[Peer]]:
    """Adapter classes of the peers that import; logs one line per missing peer."""
    found: list[type[Peer]] = []
    for cls in PEERS:
        try:
            cls()
        except ImportError as e:
            log(f"skipping {cls.name}: {e} (pip install '.[bench]')")
        else:
            found.append(cls)
    return found


def run(make: type[Peer], ops: list[Op]) -> tuple[float, tuple[int, int]]:
    """Replay ops on a fresh peer; return (seconds, result)."""
    peer = make()
    apply = peer.apply
    gc.collect()
    start = time.perf_counter()
    for op in ops:
        apply(op)
    return time.perf_counter() - start, peer.result()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="100k ops per mix")
    p.add_argument("--n", type=int, default=None, help=f"ops per mix (default {DEFAULT_N:,})")
    p.add_argument("--mix", action="append", choices=MIXES, help="repeatable; default all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args(argv)
    n = args.n or (100_000 if args.quick else DEFAULT_N)
    peers = available_peers(log=lambda m: print(m, file=sys.stderr))
    for mix in args.mix or MIXES:
        ops, expected = generate_with_expected(mix, n, args.seed)
        print(f"{mix}: {n:,} ops, seed {args.seed}, reference trades/qty {expected}")
        for make in peers:
            for _ in range(args.repeat):
                secs, got = run(make, ops)
                flag = "" if got == expected else "  (differs from reference)"
                print(
                    f"  {make.name:<20} {n / secs:>12,.0f} ops/s  {secs:7.2f}s"
                    f"  trades {got[0]:,} qty {got[1]:,}{flag}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
