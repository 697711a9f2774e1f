"""Seeded command histories for ledger tests, and a helper that writes them to a ledger.

`history(n, seed)` gives `n` commands after the demo setup: limit orders of every time in force,
post-only, icebergs, every self-trade mode, market orders, cancels and amends of live orders,
mass cancels, halts and resumptions, band changes and clock advances (GTD expiries). Targets
are chosen from a shadow engine, so the same arguments always give the same list.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from pathlib import Path

from exchange import demo
from exchange.engine import (
    AmendOrder,
    CancelOrder,
    Command,
    Engine,
    ExpireOrders,
    MassCancel,
    OrdType,
    SetPriceBand,
    SetTradingState,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
    TradingState,
)
from exchange.ledger import Batch, Entry, Ledger

ACCOUNTS = [a.account for a in demo.ACCOUNTS]


def history(n: int, seed: int = 1) -> list[Command]:
    """The demo setup, then `n` seeded commands of a rich mix."""
    rng = random.Random(seed)
    shadow = Engine()
    commands: list[Command] = []
    for command in demo.setup():
        shadow.apply(command)
        commands.append(command)
    ts = 1_000_000
    for n_done in range(n):
        ts += rng.randint(0, 2_000)
        command = next_command(rng, shadow, ts, n_done)
        shadow.apply(command)
        commands.append(command)
    return commands


def next_command(rng: random.Random, engine: Engine, ts: int, tag: object) -> Command:
    """One seeded command for the state `engine` is in; `tag` makes client order ids unique."""
    spec = rng.choice(demo.INSTRUMENTS)
    symbol, tick, ref = spec.symbol, spec.tick_size, spec.reference_price or 0
    account = rng.choice(ACCOUNTS)
    roll = rng.random()
    live = engine.orders
    halted = [s for s, i in engine.instruments.items() if i.state is not TradingState.OPEN]
    if halted and rng.random() < 0.1:
        return SetTradingState(ts, halted[0], TradingState.OPEN)
    if roll < 0.15 and live:
        order = live[rng.choice(list(live)[-200:])]
        return CancelOrder(ts, order.account, order.order_id)
    if roll < 0.22 and live:
        order = live[rng.choice(list(live)[-200:])]
        price = order.price + rng.randint(-2, 2) * tick  # type: ignore[operator]
        return AmendOrder(ts, order.account, order.order_id, max(1, order.qty + rng.randint(-3, 3)),
                          price)
    if roll < 0.221:
        return MassCancel(ts, account, rng.choice((None, symbol)))
    if roll < 0.23:
        state = engine.instruments[symbol].state
        target = TradingState.OPEN if state is not TradingState.OPEN else rng.choice(
            (TradingState.HALTED, TradingState.OPEN))
        return SetTradingState(ts, symbol, target)
    if roll < 0.232:
        return SetPriceBand(ts, symbol, ref + rng.randint(-3, 3) * tick,
                            rng.choice((None, 300, 500)))
    if roll < 0.24:
        return ExpireOrders(ts + rng.randint(0, 50_000))
    side = rng.choice((Side.BUY, Side.SELL))
    lean = -1 if side is Side.BUY else 1
    qty = rng.randint(1, 12)
    stp = rng.choice(list(StpMode))
    if roll < 0.28:
        return SubmitOrder(ts, account, f"h{tag}", symbol, side, qty, None, OrdType.MARKET,
                           rng.choice((TimeInForce.IOC, TimeInForce.FOK)), stp=stp)
    price = ref + lean * rng.randint(-3, 8) * tick
    tif = rng.choice((TimeInForce.GTC, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD,
                      TimeInForce.IOC, TimeInForce.FOK))
    expire = ts + rng.randint(1, 60_000) if tif is TimeInForce.GTD else None
    resting = tif in (TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD)
    display = rng.randint(1, qty) if resting and rng.random() < 0.1 else None
    post_only = resting and rng.random() < 0.1
    return SubmitOrder(ts, account, f"h{tag}", symbol, side, qty, price, OrdType.LIMIT, tif, expire,
                       post_only, display, stp)


def entries(commands: Iterable[Command], engine: Engine | None = None) -> list[Entry]:
    """Apply `commands` to `engine` (a new one if None) and return their entries."""
    engine = engine if engine is not None else Engine()
    result = []
    for command in commands:
        events = engine.apply(command)
        result.append(Entry(engine.last_command_seq, command, events, "system"))
    return result


def write(path: Path, commands: list[Command], batch_size: int = 50,
          snapshot_every: int = 100_000, snapshots_at: Iterable[int] = ()) -> Engine:
    """Write `commands` to a new ledger at `path` in batches; snapshot after the batches whose
    index is in `snapshots_at`. Returns the engine after them all."""
    return asyncio.run(_write(path, commands, batch_size, snapshot_every, set(snapshots_at)))


async def _write(path: Path, commands: list[Command], batch_size: int, snapshot_every: int,
                 snapshots_at: set[int]) -> Engine:
    ledger = await Ledger.open(path, snapshot_every=snapshot_every)
    engine = await ledger.recover()
    for index, start in enumerate(range(0, len(commands), batch_size)):
        batch = entries(commands[start:start + batch_size], engine)
        await ledger.append(Batch(batch, engine.digest()))
        if index in snapshots_at:
            await ledger.snapshot(engine)
    await ledger.close()
    return engine
