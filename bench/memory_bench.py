"""Engine memory: bytes per resting order and per empty book, by tracemalloc.

    python -m bench.memory_bench [--orders N] [--books K]

Resting orders: bench.ledger_bench.resting_orders (one instrument, ten accounts, prices spread
over ~100,000 levels, nothing trades), measured from after the setup to after the orders and a
digest. Empty books: K listed instruments, measured around making each one's book (an order's
first touch). tracemalloc sees Python's allocators, which the compiled types use too; the
ladders' C key arrays (8 bytes a level) are outside it.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc

from bench.ledger_bench import resting_orders
from exchange.engine import AddInstrument, Engine


def per_resting_order(count: int) -> float:
    commands = resting_orders(count)
    setup, orders = commands[:11], commands[11:]
    engine = Engine()
    for command in setup:
        engine.apply(command)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for command in orders:
        engine.apply(command)
    engine.digest()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(engine.orders) == count
    return (after - before) / count


def per_empty_book(count: int) -> float:
    engine = Engine()
    specs = [AddInstrument(0, f"I{k}", "wheat", "No.2", "Constanta", "2027-03", "t", 20, 1, 2,
                           1, 1000) for k in range(count)]
    for spec in specs:
        engine.apply(spec)
    engine.digest()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for spec in specs:
        engine.books[spec.symbol]  # made on first use
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--books", type=int, default=20_000)
    args = parser.parse_args(argv)
    print(f"per resting order: {per_resting_order(args.orders):.0f} bytes")
    print(f"per empty book: {per_empty_book(args.books):.0f} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
