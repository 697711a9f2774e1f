"""Same commands, same events byte for byte, same digest; a snapshot midway changes nothing."""

from __future__ import annotations

import random
from typing import Any

from exchange.engine import codec, snapshot
from exchange.engine.commands import (
    AmendOrder,
    CancelOrder,
    ExpireOrders,
    MassCancel,
    SetTradingState,
    SubmitOrder,
)
from exchange.engine.engine import Engine
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce, TradingState
from tests.engine.helpers import instrument, venue

COUNT = 20_000
ACCOUNTS = ("a1", "a2", "b1", "c1")


# The states this workload was recorded with (tests/engine/test_golden.py): the call states
# came later and would change what the seeded choices pick.
_FIRST_STATES = (TradingState.OPEN, TradingState.HALTED, TradingState.CLOSED)


def workload(seed: int, count: int = COUNT) -> list[Any]:
    """A seeded mix of every order kind around a small price range, with cancels, amends,
    mass cancels, clock steps and state changes."""
    rng = random.Random(seed)
    commands: list[Any] = []
    ts = 0
    for _ in range(count):
        ts += rng.choice((0, 1, 1, 5))
        roll = rng.random()
        symbol = rng.choice(("PIPE", "WIRE"))
        account = rng.choice(ACCOUNTS)
        if roll < 0.6:
            tif = rng.choice((TimeInForce.GTC, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD,
                              TimeInForce.IOC, TimeInForce.FOK))
            market = rng.random() < 0.1
            commands.append(SubmitOrder(
                ts, account, f"c{rng.randrange(50)}", symbol, rng.choice(list(Side)),
                rng.randint(1, 20), None if market else rng.randint(95, 105),
                OrdType.MARKET if market else OrdType.LIMIT,
                rng.choice((TimeInForce.IOC, TimeInForce.FOK)) if market else tif,
                ts + rng.randint(1, 50) if tif is TimeInForce.GTD and not market else None,
                False, rng.choice((None, None, None, 3)) if tif.value <= 3 else None,
                rng.choice(list(StpMode))))
        elif roll < 0.75:
            commands.append(CancelOrder(ts, account, rng.randrange(1, len(commands) + 2)))
        elif roll < 0.9:
            commands.append(AmendOrder(ts, account, rng.randrange(1, len(commands) + 2),
                                       rng.randint(1, 20), rng.randint(95, 105)))
        elif roll < 0.95:
            commands.append(ExpireOrders(ts))
        elif roll < 0.98:
            commands.append(MassCancel(ts, account, rng.choice((None, symbol))))
        else:
            commands.append(SetTradingState(ts, symbol, rng.choice(_FIRST_STATES)))
    return commands


def fresh() -> Engine:
    return venue(instrument("WIRE"))


def run(engine: Engine, commands: list[Any]) -> bytes:
    return b"".join(codec.encode(event) for command in commands for event in engine.apply(command))


def test_the_same_commands_twice_give_byte_identical_events_and_equal_digests() -> None:
    commands = workload(seed=2025)
    first, second = fresh(), fresh()
    first_bytes, second_bytes = run(first, commands), run(second, commands)
    assert first_bytes == second_bytes and len(first_bytes) > COUNT * 20
    assert first.digest() == second.digest()
    assert first.next_trade_id > 1000  # the workload trades
    first.check()


def test_a_snapshot_at_the_middle_then_the_rest_equals_the_straight_run() -> None:
    commands = workload(seed=7)
    middle = len(commands) // 2
    straight = fresh()
    run(straight, commands[:middle])
    restored = snapshot.load(snapshot.dump(straight))
    assert restored.digest() == straight.digest()
    assert run(restored, commands[middle:]) == run(straight, commands[middle:])
    assert restored.digest() == straight.digest()
    restored.check()


def test_the_digest_follows_the_state_not_the_path() -> None:
    engine = fresh()
    empty = fresh()
    for command in workload(seed=3, count=50):
        engine.apply(command)
    assert engine.digest() != empty.digest()
    loaded = snapshot.load(snapshot.dump(engine))
    assert loaded.digest() == engine.digest()
