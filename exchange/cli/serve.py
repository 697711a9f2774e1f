"""`exchange serve`: run the venue. Until the gateway lands, `--demo` runs the seeded demo
market through the engine and prints its trades and final books."""

from __future__ import annotations

import argparse

from exchange import demo
from exchange.engine import Engine, TradeExecuted
from exchange.engine.instrument import format_price


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the venue")
    parser.add_argument("--demo", action="store_true", help="list the demo market")
    parser.add_argument("--orders", type=int, default=200, help="demo orders to run")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    engine = Engine()
    for command in demo.setup():
        engine.apply(command)
    decimals = {spec.symbol: spec.price_decimals for spec in demo.INSTRUMENTS}
    trades = 0
    for order in demo.order_flow(args.orders):
        for event in engine.apply(order):
            if isinstance(event, TradeExecuted):
                trades += 1
                print(f"trade #{event.trade_id} {event.symbol} {event.qty} lots @ "
                      f"{format_price(event.price, decimals[event.symbol])} "
                      f"({event.maker_account} / {event.taker_account})")
    for symbol, book in engine.books.items():
        print(f"\n{symbol}")
        for ladder in (book.asks, book.bids):
            for level in list(ladder)[:5]:
                print(f"  {ladder.side.name:4} {format_price(level.price, decimals[symbol]):>10}"
                      f" {level.total:>5}")
    print(f"\n{trades} trades, digest {engine.digest()}")
    return 0
