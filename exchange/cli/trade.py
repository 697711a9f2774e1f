"""`exchange trade`: a small trader's client over the websocket API.

    exchange trade --key KEY buy WHEAT-M2-CTA-2703 5 209.50 [--tif IOC] [--cl-ord-id X]
    exchange trade --key KEY sell SYM QTY [PX]        (no price: a market order, IOC)
    exchange trade --key KEY cancel ORDER_ID | --cl-ord-id X
    exchange trade --key KEY replace ORDER_ID QTY PX
    exchange trade --key KEY orders | instruments
    exchange trade --key KEY watch SYM                (live book and trades; Ctrl-C ends)

`--url` and `--key` default to $EXCHANGE_URL and $EXCHANGE_KEY.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from exchange.cli.main import CliError
from exchange.client import Client, ExchangeError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("trade", help="place, cancel and watch orders")
    parser.add_argument("--url", default=os.environ.get("EXCHANGE_URL", "ws://127.0.0.1:8765"))
    parser.add_argument("--key", default=os.environ.get("EXCHANGE_KEY"))
    actions = parser.add_subparsers(dest="action", required=True)
    for side in ("buy", "sell"):
        order = actions.add_parser(side, help=f"{side} (limit, or market without a price)")
        order.add_argument("sym")
        order.add_argument("qty")
        order.add_argument("px", nargs="?")
        order.add_argument("--tif", default=None, help="GTC (default), DAY, IOC, FOK")
        order.add_argument("--post-only", action="store_true")
        order.add_argument("--display-qty")
        order.add_argument("--cl-ord-id")
    cancel = actions.add_parser("cancel", help="cancel an order")
    cancel.add_argument("order_id", nargs="?")
    cancel.add_argument("--cl-ord-id")
    replace = actions.add_parser("replace", help="new total quantity and price")
    replace.add_argument("order_id")
    replace.add_argument("qty")
    replace.add_argument("px")
    actions.add_parser("orders", help="list open orders")
    actions.add_parser("instruments", help="list instruments")
    watch = actions.add_parser("watch", help="live book and trades")
    watch.add_argument("sym")
    watch.add_argument("--depth", type=int, default=10)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.key:
        raise CliError("an API key is needed: --key or $EXCHANGE_KEY")
    try:
        return asyncio.run(_run(args))
    except ExchangeError as exc:
        raise CliError(f"{exc.code}: {exc.msg}") from None
    except OSError as exc:
        raise CliError(f"cannot connect to {args.url}: {exc}") from None


async def _run(args: argparse.Namespace) -> int:
    client = await Client.connect(args.url)
    try:
        await client.logon(args.key)
        if args.action in ("buy", "sell"):
            order = await client.new_order(
                args.sym, args.action.upper(), args.qty, args.px, cl_ord_id=args.cl_ord_id,
                ord_type="LIMIT" if args.px else "MARKET",
                tif=args.tif or ("GTC" if args.px else "IOC"),
                post_only=args.post_only or None, display_qty=args.display_qty)
            print(_order_line(order))
        elif args.action == "cancel":
            if not (args.order_id or args.cl_ord_id):
                raise CliError("cancel needs an ORDER_ID or --cl-ord-id")
            print(_order_line(await client.cancel_order(args.order_id, args.cl_ord_id)))
        elif args.action == "replace":
            print(_order_line(await client.replace_order(args.qty, args.px, args.order_id)))
        elif args.action == "orders":
            for order in await client.open_orders():
                print(_order_line(order))
        elif args.action == "instruments":
            for spec in (await client.instruments()).values():
                print(f"{spec['sym']:24} {spec['state']:7} tick {spec['tick']:>6} lot "
                      f"{spec['lot_size']} {spec['unit']}  {spec['commodity']}, {spec['grade']},"
                      f" {spec['location']}, {spec['delivery_period']}")
        else:
            await _watch(client, args.sym, args.depth)
    finally:
        await client.close()
    return 0


def _order_line(order: dict[str, Any]) -> str:
    return (f"#{order['order_id']} {order['cl_ord_id']} {order['side']} {order['sym']} "
            f"{order['order_qty']} @ {order['px'] or 'MKT'}: {order['ord_status']} "
            f"filled {order['cum_qty']} (avg {order['avg_px'] or '-'}), leaves "
            f"{order['leaves_qty']}" + (" [resent]" if order.get("duplicate") else ""))


async def _watch(client: Client, symbol: str, depth: int) -> None:
    book = await client.subscribe_book(symbol)
    await client.subscribe("trades", symbol)
    trades: list[str] = []
    while True:
        try:
            push = await asyncio.wait_for(client.pushes.get(), 0.5)
        except TimeoutError:
            push = None
        if push is not None and push.get("ch") == "trades":
            for trade in push["trades"]:
                trades.append(f"{trade['aggressor_side']:4} {trade['qty']:>5} @ {trade['px']}")
            del trades[:-depth]
        if client.closed.is_set():
            raise CliError(f"disconnected: {client.close_reason}")
        _draw(symbol, book.asks(depth), book.bids(depth), trades, book.seq)


def _draw(symbol: str, asks: list, bids: list, trades: list[str], seq: int | None) -> None:
    lines = [f"{symbol}  seq {seq}", f"{'bid qty':>10} {'price':>12} {'ask qty':<10}"]
    lines += [f"{'':>10} {px:>12} {qty:<10}" for px, qty in reversed(asks)]
    lines += [f"{qty:>10} {px:>12}" for px, qty in bids]
    lines += ["", "last trades:", *reversed(trades)]
    sys.stdout.write("\x1b[H\x1b[2J" + "\n".join(lines) + "\n")
    sys.stdout.flush()
