"""Small builders shared by the engine tests: a venue with instruments and accounts, orders."""

from __future__ import annotations

from typing import Any

import msgpack

from exchange.engine import snapshot
from exchange.engine.commands import AddAccount, AddInstrument, SubmitOrder
from exchange.engine.engine import Engine
from exchange.engine.enums import OrdType, Side, TimeInForce

SYMBOL = "PIPE"
# a1 and a2 trade for one firm (so self-trade prevention applies between them), b1 and c1 for
# two others.
ACCOUNTS = (("a1", "F1"), ("a2", "F1"), ("b1", "F2"), ("c1", "F3"))
# Notional (money, in 10**-6 of the currency) per price unit per lot of the default instrument:
# 20 t lots at 2 price decimals are 20 * 10**(6 - 2) (docs/engine.md, "Units"). Tests write a
# limit on it as `n * SCALE`, n in price units x lots.
SCALE = 20 * 10**4


def instrument(symbol: str = SYMBOL, **terms: Any) -> AddInstrument:
    """Steel pipe 114x6, tick 1 at 2 decimals, lots of 20 t; `terms` override any field."""
    spec = AddInstrument(0, symbol, "steel pipe", "114x6 A", "Constanta", "2025-03", "t", 20,
                         1, 2)
    return spec._replace(**terms)


def venue(*commands: Any, **terms: Any) -> Engine:
    """An engine with one instrument (its spec overridden by `terms`), the ACCOUNTS, and then
    `commands` applied."""
    engine = Engine()
    engine.apply(instrument(**terms))
    for account, firm in ACCOUNTS:
        engine.apply(AddAccount(0, account, firm))
    for command in commands:
        engine.apply(command)
    return engine


def buy(account: str, qty: int, price: int | None, cl_ord_id: str | None = None,
        **fields: Any) -> SubmitOrder:
    return order(Side.BUY, account, qty, price, cl_ord_id, **fields)


def sell(account: str, qty: int, price: int | None, cl_ord_id: str | None = None,
         **fields: Any) -> SubmitOrder:
    return order(Side.SELL, account, qty, price, cl_ord_id, **fields)


_counter = iter(range(1, 10**9))


def order(side: Side, account: str, qty: int, price: int | None, cl_ord_id: str | None = None,
          **fields: Any) -> SubmitOrder:
    """A limit order (market if price is None and no ord_type is given, then IOC by default)."""
    if price is None:
        fields.setdefault("ord_type", OrdType.MARKET)
        fields.setdefault("tif", TimeInForce.IOC)
    fields.setdefault("ts_us", 1)
    cl_ord_id = cl_ord_id or f"c{next(_counter)}"
    return SubmitOrder(account=account, cl_ord_id=cl_ord_id, symbol=fields.pop("symbol", SYMBOL),
                       side=side, qty=qty, price=price, **fields)


def kinds(events: list[Any]) -> list[str]:
    """The events' type names, in order."""
    return [type(event).__name__ for event in events]


def only(events: list[Any], cls: type) -> list[Any]:
    return [event for event in events if type(event) is cls]


def book(engine: Engine, symbol: str = SYMBOL) -> dict[str, list]:
    """Both sides as [(price, total, [order ids in time order])], best first (as Model.book)."""
    ladders = engine.books[symbol]
    return {
        side.name: [(level.price, level.total, list(level.orders)) for level in ladders.ladder(side)]
        for side in Side
    }


def state(engine: Engine) -> Any:
    """The engine's whole state (its snapshot) without the sequence counters and the clock,
    which every command advances, rejected or not."""
    header, *rest = msgpack.unpackb(snapshot.dump(engine))
    return [header[:1] + header[4:], *rest]
