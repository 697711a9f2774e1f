"""The demo market: a few commodity instruments, firms and accounts, and a seeded order flow.

Used by `exchange serve --demo` and by tests and benchmarks that want a realistic venue.
Everything here is a plain list of engine commands, so it runs anywhere the engine does.
"""

from __future__ import annotations

import random

from exchange.engine import AddAccount, AddInstrument, Command, Side, SubmitOrder

INSTRUMENTS: tuple[AddInstrument, ...] = (
    # wheat, milling grade 2, FOB Constanta, March 2027: 20 t lots, price per t in EUR, 0.25 tick
    AddInstrument(0, "WHEAT-M2-CTA-2703", "wheat", "milling No.2", "FOB Constanta", "2027-03",
                  "t", 20, 25, 2, 1, 500, 21_000, 400),
    # steel pipe 114x6 grade A ex-warehouse Constanta, March 2027: 20 t lots, EUR/t, 1.00 tick
    AddInstrument(0, "PIPE-114X6-A-CTA-2703", "steel pipe 114x6", "A", "EXW Constanta",
                  "2027-03", "t", 20, 100, 2, 1, 200, 78_000, 100),
    # granular urea 46% N, CFR Antwerp, Q2 2027: 100 t lots, EUR/t, 0.50 tick
    AddInstrument(0, "UREA-46-ANR-27Q2", "urea", "46% N granular", "CFR Antwerp", "2027-Q2",
                  "t", 100, 50, 2, 1, 100, 38_500, 200),
)

ACCOUNTS: tuple[AddAccount, ...] = (
    AddAccount(0, "AGRO-1", "AGROTRADE", max_order_qty=200),
    AddAccount(0, "AGRO-2", "AGROTRADE", max_order_qty=200),
    AddAccount(0, "MILL-1", "DANUBE-MILLS", max_order_qty=200),
    AddAccount(0, "STEEL-1", "BALKAN-STEEL", max_order_qty=100),
    AddAccount(0, "FERT-1", "NORD-FERT", max_order_qty=100),
)


def setup(ts_us: int = 0) -> list[Command]:
    """The commands that list the demo instruments and open the demo accounts."""
    commands: list[Command] = [*INSTRUMENTS, *ACCOUNTS]
    return [command._replace(ts_us=ts_us) for command in commands]


def order_flow(count: int, seed: int = 7, start_us: int = 1_000_000) -> list[SubmitOrder]:
    """`count` limit orders around each instrument's reference price, reproducible by seed."""
    rng = random.Random(seed)
    orders = []
    for n in range(count):
        spec = rng.choice(INSTRUMENTS)
        account = rng.choice(ACCOUNTS).account
        side = rng.choice((Side.BUY, Side.SELL))
        lean = -1 if side is Side.BUY else 1
        ticks = lean * rng.randint(-2, 8)
        price = (spec.reference_price or 0) + ticks * spec.tick_size
        orders.append(SubmitOrder(start_us + n * 1000, account, f"demo-{n}", spec.symbol, side,
                                  rng.randint(1, 10), price))
    return orders
