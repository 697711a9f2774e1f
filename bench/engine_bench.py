"""Engine throughput, side by side with peer engines from PyPI, on the same seeded workloads.

    python -m bench.engine_bench [--quick] [--n N] [--mix M] [--repeat R] [--seed S]

For each mix (bench/workloads.py) it generates the ops once, then replays them through our
engine and every installed peer (the `bench` extra: `pip install -e '.[bench]'`), alternating
runs so that noise on this shared machine hits all of them alike, and prints commands/s and the
ratio of ours to each peer.

It also proves our run was right: the first `--verify` ops go through the naive reference model
(tests/engine/model.py) beside the engine and every event must agree; each full run must end
with the same digest as the first.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time

from bench.peers import Peer, available_peers
from bench.workloads import ACCOUNTS, DEFAULT_N, MIXES, Op, generate
from exchange.engine import (
    AddAccount,
    AddInstrument,
    CancelOrder,
    Command,
    Engine,
    OrderAccepted,
    OrdType,
    Side,
    SubmitOrder,
    TimeInForce,
    TradeExecuted,
)

SYMBOL = "X"
SIDES = {"B": Side.BUY, "S": Side.SELL}


def setup_commands() -> list[Command]:
    instrument = AddInstrument(0, SYMBOL, "wheat", "No.2", "Constanta", "2027-03", "t", 20,
                               1, 0, 1, 1_000_000)
    return [instrument, *(AddAccount(0, account, f"FIRM-{account}") for account in ACCOUNTS)]


def to_command(op: Op, ts_us: int, order_ids: dict[int, tuple[int, str]]) -> Command:
    """The engine command for a workload op; `order_ids` maps op ids to engine order ids."""
    if op[0] == "limit":
        _, op_id, side, price, qty, account = op
        return SubmitOrder(ts_us, account, str(op_id), SYMBOL, SIDES[side], qty, price)
    if op[0] == "market":
        _, op_id, side, qty, account = op
        return SubmitOrder(ts_us, account, str(op_id), SYMBOL, SIDES[side], qty, None,
                           OrdType.MARKET, TimeInForce.IOC)
    # The workload's cancels carry no account: send the owner's, as a gateway would.
    order_id, account = order_ids.get(op[1], (0, ACCOUNTS[0]))
    return CancelOrder(ts_us, account, order_id)


class OurEngine:
    """Our engine behind the same adapter shape as the peers (bench.peers.Peer)."""

    name = "exchange (ours)"

    def __init__(self) -> None:
        self.engine = Engine()
        for command in setup_commands():
            self.engine.apply(command)
        self.order_ids: dict[int, tuple[int, str]] = {}
        self.ts_us = 0
        self.trades = 0
        self.traded_qty = 0

    def apply(self, op: Op) -> None:
        self.ts_us += 1
        events = self.engine.apply(to_command(op, self.ts_us, self.order_ids))  # type: ignore[arg-type]
        first = events[0]
        if type(first) is OrderAccepted:
            self.order_ids[op[1]] = (first.order_id, first.account)  # type: ignore[misc]
        for event in events:
            if type(event) is TradeExecuted:
                self.trades += 1
                self.traded_qty += event.qty

    def result(self) -> tuple[int, int]:
        return self.trades, self.traded_qty


def replay(make: type[Peer | OurEngine], ops: list[Op]) -> tuple[float, object]:
    """Seconds to replay `ops` on a fresh engine, and the engine adapter."""
    adapter = make()
    apply = adapter.apply
    gc.collect()
    gc.disable()  # a collection pause inside one run and not another is noise, not speed
    try:
        start = time.perf_counter()
        for op in ops:
            apply(op)
        return time.perf_counter() - start, adapter
    finally:
        gc.enable()


def verify_against_model(ops: list[Op]) -> None:
    """Every event of the engine equals the naive model's on `ops`; raise if not."""
    from tests.engine.model import Model, normalized

    engine, model = Engine(), Model()
    ids: dict[int, tuple[int, str]] = {}
    for ts_us, command in enumerate(setup_commands()):
        assert normalized(engine.apply(command)) == normalized(model.apply(command))
    for ts_us, op in enumerate(ops, start=1):
        command = to_command(op, ts_us, ids)
        events = engine.apply(command)
        if normalized(events) != normalized(model.apply(command)):
            raise AssertionError(f"engine and model disagree at op {ts_us}: {op}")
        if type(events[0]) is OrderAccepted:
            ids[op[1]] = (events[0].order_id, events[0].account)  # type: ignore[misc]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100k ops per mix")
    parser.add_argument("--n", type=int, default=None, help=f"ops per mix ({DEFAULT_N:,})")
    parser.add_argument("--mix", action="append", choices=MIXES, help="repeatable; default all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--verify", type=int, default=20_000, help="ops checked against the model")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args(argv)
    n = args.n or (100_000 if args.quick else DEFAULT_N)
    peers = [] if args.no_peers else available_peers(log=lambda m: print(m, file=sys.stderr))
    for mix in args.mix or MIXES:
        ops = generate(mix, n, args.seed)
        verify_against_model(ops[: args.verify])
        print(f"{mix}: {n:,} ops, seed {args.seed}; first {min(args.verify, n):,} ops agree "
              f"with the reference model", flush=True)
        runners: list[type[Peer | OurEngine]] = [OurEngine, *peers]
        rates: dict[str, list[float]] = {make.name: [] for make in runners}
        digests = set()
        for _ in range(args.repeat):
            for make in runners:
                seconds, adapter = replay(make, ops)
                rates[make.name].append(n / seconds)
                if isinstance(adapter, OurEngine):
                    digests.add(adapter.engine.digest())
                    ours = adapter.result()
        assert len(digests) == 1, "runs of the same ops ended in different states"
        best_ours = statistics.median(rates[OurEngine.name])
        print(f"  {OurEngine.name:<22} {best_ours:>10,.0f} cmds/s  trades {ours[0]:,} "
              f"qty {ours[1]:,}  digest {digests.pop()[:16]}")
        for make in peers:
            rate = statistics.median(rates[make.name])
            print(f"  {make.name:<22} {rate:>10,.0f} cmds/s  ours/peer {best_ours / rate:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
