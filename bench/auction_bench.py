"""The uncross of a big call: a book of N orders collected in PRE_OPEN, then SetTradingState(OPEN).

    python -m bench.auction_bench [--orders N] [--repeat R] [--seed S]

The workload (seeded): one instrument (tick 1), 8 accounts of 8 firms; N limit GTC orders,
half bids and half asks, prices uniform in 900..1100 for bids and 950..1150 for asks (so about
a quarter of each side crosses), quantities 1..50, one in ten an iceberg with a peak of 5. They
are entered in PRE_OPEN (not timed: each order also publishes new indicative figures, which is
timed separately as "an order in the call"), then the open is timed: the uncross price over all
levels and the trades at it, with their events.

It proves each run right: the traded quantity equals the AuctionUncrossed volume, the price and
volume equal auction.uncross on the book as it was, the book is not crossed afterwards, and every
run ends with the same digest.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time

from exchange.engine import (
    AddAccount,
    AddInstrument,
    Engine,
    SetTradingState,
    Side,
    SubmitOrder,
    TradeExecuted,
    TradingState,
)
from exchange.engine.auction import uncross
from exchange.engine.events import AuctionUncrossed

SYMBOL = "X"
ACCOUNTS = [f"t{i}" for i in range(8)]


def call_book(orders: int, seed: int) -> Engine:
    engine = Engine()
    engine.apply(AddInstrument(0, SYMBOL, "wheat", "No.2", "Constanta", "2027-03", "t", 20, 1, 0,
                               1, 1_000_000, 1000))
    for number, account in enumerate(ACCOUNTS):
        engine.apply(AddAccount(0, account, f"F{number}"))
    engine.apply(SetTradingState(0, SYMBOL, TradingState.PRE_OPEN))
    rng = random.Random(seed)
    for n in range(orders):
        side = Side.BUY if n % 2 else Side.SELL
        price = rng.randint(900, 1100) if side is Side.BUY else rng.randint(950, 1150)
        display = 5 if rng.random() < 0.1 else None
        qty = rng.randint(1, 50)
        engine.apply(SubmitOrder(1, rng.choice(ACCOUNTS), f"c{n}", SYMBOL, side, qty, price,
                                 display_qty=display if display and display < qty else None))
    return engine


def timed_open(orders: int, seed: int) -> tuple[float, float, str, tuple[int, int, int]]:
    """Seconds for one order in the full call, seconds for the open; the digest after; the
    uncross's (price, volume, trades)."""
    engine = call_book(orders, seed)
    book = engine.books[SYMBOL]
    bids = [(level.price, sum(o.leaves for o in level.orders.values())) for level in book.bids]
    asks = [(level.price, sum(o.leaves for o in level.orders.values())) for level in book.asks]
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        engine.apply(SubmitOrder(2, ACCOUNTS[0], "one", SYMBOL, Side.BUY, 1, 900))
        one_order = time.perf_counter() - start
        bids.append((900, 1))
        start = time.perf_counter()
        events = engine.apply(SetTradingState(3, SYMBOL, TradingState.OPEN))
        seconds = time.perf_counter() - start
    finally:
        gc.enable()
    result = next(e for e in events if type(e) is AuctionUncrossed)
    trades = [e for e in events if type(e) is TradeExecuted]
    expected = uncross(sorted(bids, reverse=True), sorted(asks), None)
    assert expected is not None and (result.price, result.volume) == expected[:2]
    assert sum(t.qty for t in trades) == result.volume
    assert all(t.price == result.price for t in trades)
    best_bid, best_ask = book.bids.best(), book.asks.best()
    assert best_bid is None or best_ask is None or best_bid.price < best_ask.price
    engine.check()
    return one_order, seconds, engine.digest(), (result.price, result.volume, len(trades))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    opens, singles, digests = [], [], set()
    for _ in range(args.repeat):
        one_order, seconds, digest, (price, volume, trades) = timed_open(args.orders, args.seed)
        opens.append(seconds)
        singles.append(one_order)
        digests.add(digest)
    assert len(digests) == 1, "runs of the same call ended in different states"
    print(f"{args.orders:,} orders in the call, seed {args.seed}: uncross at {price}, "
          f"{volume:,} lots in {trades:,} trades")
    print(f"  open (uncross + events): median {statistics.median(opens) * 1e3:.1f} ms "
          f"(min {min(opens) * 1e3:.1f}, max {max(opens) * 1e3:.1f}) over {args.repeat} runs")
    print(f"  one order in the full call (with its figures): median "
          f"{statistics.median(singles) * 1e3:.2f} ms")
    print(f"  digest {digests.pop()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
