"""`exchange trade`: a small trader's client over the websocket API.

    exchange trade buy WHEAT-M2-CTA-2703 5 209.50 [--tif GTC|DAY|GTD|IOC|FOK]
                   [--expire-at 30m | 2027-03-01T16:00 | TS_US] [--stp DECREMENT]
                   [--display-qty 1] [--post-only] [--cl-ord-id X]
    exchange trade sell SYM QTY [PX]          (no price: a market order, IOC)
    exchange trade cancel ORDER_ID | --cl-ord-id X
    exchange trade cancel-all [--sym SYM] [--side BUY|SELL]     (mass cancel)
    exchange trade replace ORDER_ID QTY PX
    exchange trade status ORDER_ID | --cl-ord-id X
    exchange trade orders [--sym SYM] | fills [--limit N] | account | instruments [--search W]
    exchange trade ticker SYM | history SYM   (24 h figures; latest trades)
    exchange trade watch SYM                  (live book, spread, own orders, trades; q quits)

`--url` and `--key` default to $EXCHANGE_URL and $EXCHANGE_KEY (as for `exchange admin`).
The public market (`watch`, `ticker`, `history`, `instruments`) needs no key where the venue's
market data is public (the default); with a key, `watch` also shows your orders. `--json` prints results as JSON. Exit codes as for `exchange admin`: 0 done, 1 the venue
refused, 2 usage, 3 the venue unreachable or the connection closed (said in words), 4 the key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from websockets.exceptions import ConnectionClosed

from exchange.cli.admin import parse_since
from exchange.cli.connection import (
    DEFAULT_URL,
    KEY_VARIABLE,
    URL_VARIABLE,
    Unreachable,
    api_key,
    closed_reason,
    connect,
    venue_url,
)
from exchange.cli.results import AUTH, OK, REFUSED, UNREACHABLE, USAGE, Failure, fields, table
from exchange.cli.watch import watch
from exchange.client import Client, ExchangeError

TIFS = ("GTC", "DAY", "GTD", "IOC", "FOK")
STP_MODES = ("CANCEL_INCOMING", "CANCEL_RESTING", "CANCEL_BOTH", "DECREMENT")
ORDER_COLUMNS = (("ORDER", "order_id"), ("CL_ORD_ID", "cl_ord_id"), ("SYMBOL", "sym"),
                 ("SIDE", "side"), ("TIF", "tif"), ("PX", "px"), ("QTY", "order_qty"),
                 ("CUM", "cum_qty"), ("LEAVES", "leaves_qty"), ("AVG", "avg_px"),
                 ("STATUS", "ord_status"))
FILL_COLUMNS = (("TIME (UTC)", "time"), ("TRADE", "trade_id"), ("SYMBOL", "sym"),
                ("SIDE", "side"), ("QTY", "qty"), ("PX", "px"), ("LIQUIDITY", "liquidity"),
                ("BUSTED", "busted"))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)  # before or after the action
    common.add_argument("--url", default=argparse.SUPPRESS,
                        help=f"the venue (default ${URL_VARIABLE} or {DEFAULT_URL})")
    common.add_argument("--key", default=argparse.SUPPRESS,
                        help=f"API key (default ${KEY_VARIABLE})")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print results as JSON")
    parser = subparsers.add_parser(
        "trade", parents=[common], help="place, cancel and watch orders (trader key)",
        description=__doc__.split("\n\n")[0], epilog="exit codes: 0 done, 1 refused, 2 usage, "
        "3 venue unreachable or connection closed, 4 wrong key")
    subparsers_of = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    class Actions:
        @staticmethod
        def add_parser(name: str, help: str) -> argparse.ArgumentParser:
            return subparsers_of.add_parser(name, parents=[common], help=help, description=help)

    actions = Actions
    for side in ("buy", "sell"):
        order = actions.add_parser(side, help=f"{side} (limit, or market without a price)")
        order.add_argument("sym")
        order.add_argument("qty")
        order.add_argument("px", nargs="?")
        order.add_argument("--tif", type=str.upper, choices=TIFS,
                           help="GTC (default with a price), DAY, GTD, IOC (default without), FOK")
        order.add_argument("--expire-at", help="GTD expiry: an age from now (30m, 2h, 1d), an "
                           "ISO time (UTC unless given) or ts_us; implies --tif GTD")
        order.add_argument("--stp", type=str.upper, choices=STP_MODES,
                           help="self-trade prevention (default CANCEL_INCOMING)")
        order.add_argument("--display-qty", help="iceberg: lots shown at a time")
        order.add_argument("--post-only", action="store_true", help="never take liquidity")
        order.add_argument("--cl-ord-id", help="your order id (a resend never trades twice)")
    cancel = actions.add_parser("cancel", help="cancel an order")
    cancel.add_argument("order_id", nargs="?")
    cancel.add_argument("--cl-ord-id")
    mass = actions.add_parser("cancel-all", help="cancel all your orders (of a symbol, a side)")
    mass.add_argument("--sym")
    mass.add_argument("--side", type=str.upper, choices=("BUY", "SELL"))
    replace = actions.add_parser("replace", help="new total quantity and price")
    replace.add_argument("order_id")
    replace.add_argument("qty")
    replace.add_argument("px")
    status = actions.add_parser("status", help="one order's status")
    status.add_argument("order_id", nargs="?")
    status.add_argument("--cl-ord-id")
    orders = actions.add_parser("orders", help="list your open orders")
    orders.add_argument("--sym")
    fills = actions.add_parser("fills", help="your latest fills (from the venue's ledger)")
    fills.add_argument("--sym")
    fills.add_argument("--limit", type=int, default=50, help="the latest N (default 50, "
                       "at most 200)")
    actions.add_parser("account", help="your limits, your firm's credit, kill switches")
    ticker = actions.add_parser("ticker", help="an instrument's last 24 hours")
    ticker.add_argument("sym")
    history = actions.add_parser("history", help="an instrument's latest trades")
    history.add_argument("sym")
    history.add_argument("--limit", type=int, default=20, help="the latest N (default 20)")
    instruments = actions.add_parser("instruments", help="list instruments")
    instruments.add_argument("--search", help="only those whose symbol, commodity, grade, "
                             "location or period has every one of these words")
    watcher = actions.add_parser("watch", help="live book, spread, own orders, trades; q quits")
    watcher.add_argument("sym")
    watcher.add_argument("--depth", type=int, default=10)
    parser.set_defaults(handler=run)


PUBLIC_ACTIONS = frozenset(("watch", "ticker", "history", "instruments"))  # no key needed
NEED_KEY = "an API key is needed: --key or $EXCHANGE_KEY"


def run(args: argparse.Namespace) -> int:
    try:
        key = api_key(getattr(args, "key", None))
        if not key and args.action not in PUBLIC_ACTIONS:
            raise Failure(AUTH, NEED_KEY)
        return asyncio.run(_run(args, venue_url(getattr(args, "url", None)), key))
    except Failure as exc:
        print(f"exchange trade: {exc}", file=sys.stderr)
        return exc.code


async def _run(args: argparse.Namespace, url: str, key: str | None) -> int:
    try:
        client = await connect(url)
    except Unreachable as exc:
        raise Failure(UNREACHABLE, str(exc)) from None
    try:
        principal: dict[str, Any] = {}
        try:
            if key:
                principal = await client.logon(key)
        except ExchangeError as exc:
            if exc.code in ("UNAUTHENTICATED", "FORBIDDEN"):
                raise Failure(AUTH, f"logon refused: {exc.msg}") from None
            raise
        args.account = principal.get("account")
        if args.action == "watch":
            await watch(client, args.sym, args.depth, principal.get("account"))
            return OK
        result, render = await ACTIONS[args.action](client, args)
        if getattr(args, "json", False):
            print(json.dumps(result, indent=2))
        else:
            render(result)
        return OK
    except ExchangeError as exc:
        if exc.code == "CLOSED":
            raise Failure(UNREACHABLE, closed_reason(client)) from None
        if exc.code == "UNAUTHENTICATED" and not key:  # a venue without public market data
            raise Failure(AUTH, f"{exc.msg}: {NEED_KEY}") from None
        raise Failure(REFUSED, f"{exc.code}: {exc.msg}") from None
    except (Unreachable, ConnectionClosed) as exc:
        reason = closed_reason(client) if isinstance(exc, ConnectionClosed) else str(exc)
        raise Failure(UNREACHABLE, reason) from None
    finally:
        await client.close()


# -- actions: each returns (result, render) ------------------------------------------------


def order_line(order: dict[str, Any]) -> str:
    return (f"#{order['order_id']} {order['cl_ord_id']} {order['side']} {order['sym']} "
            f"{order['order_qty']} @ {order['px'] or 'MKT'} {order.get('tif', '')}: "
            f"{order['ord_status']} filled {order['cum_qty']} (avg {order['avg_px'] or '-'}), "
            f"leaves {order['leaves_qty']}" + (" [resent]" if order.get("duplicate") else ""))


def _one_order(result: dict[str, Any]) -> None:
    print(order_line(result))


def expire_at_us(text: str, now_s: float) -> int:
    """ts_us of a GTD expiry: an age from now ("30m"), an ISO time or ts_us."""
    if text[-1:] in "smhd" and text[:-1].isascii() and text[:-1].isdigit():
        return 2 * int(now_s * 1_000_000) - parse_since(text, now_s)  # now + age
    return parse_since(text, now_s)


async def _new_order(client: Client, args: argparse.Namespace) -> Any:
    tif = args.tif or ("GTD" if args.expire_at else "GTC" if args.px else "IOC")
    if tif == "GTD" and not args.expire_at:
        raise Failure(USAGE, "--tif GTD needs --expire-at (e.g. 30m, or an ISO time)")
    expire = None if args.expire_at is None else expire_at_us(args.expire_at, time.time())
    order = await client.new_order(
        args.sym, args.action.upper(), args.qty, args.px, cl_ord_id=args.cl_ord_id,
        ord_type="LIMIT" if args.px else "MARKET", tif=tif, expire_at_us=expire,
        stp=args.stp, post_only=args.post_only or None, display_qty=args.display_qty)
    return order, _one_order


def _order_ref(args: argparse.Namespace) -> dict[str, str]:
    if bool(args.order_id) == bool(args.cl_ord_id):
        raise Failure(USAGE, f"{args.action} needs an ORDER_ID or --cl-ord-id (one of them)")
    return {"order_id": args.order_id} if args.order_id else {"orig_cl_ord_id": args.cl_ord_id}


async def _cancel(client: Client, args: argparse.Namespace) -> Any:
    ref = _order_ref(args)
    return await client.cancel_order(ref.get("order_id"), ref.get("orig_cl_ord_id")), _one_order


async def _cancel_all(client: Client, args: argparse.Namespace) -> Any:
    count = await client.mass_cancel(args.sym, args.side)
    return {"count": count}, lambda r: print(f"canceled {r['count']} orders")


async def _replace(client: Client, args: argparse.Namespace) -> Any:
    return await client.replace_order(args.qty, args.px, args.order_id), _one_order


async def _status(client: Client, args: argparse.Namespace) -> Any:
    if args.order_id:
        return await client.order_status(order_id=args.order_id), _one_order
    _order_ref(args)
    return await client.order_status(cl_ord_id=args.cl_ord_id, account=args.account), _one_order


async def _orders(client: Client, args: argparse.Namespace) -> Any:
    orders = await client.open_orders(args.sym)
    return orders, lambda r: table(r, ORDER_COLUMNS)


async def _fills(client: Client, args: argparse.Namespace) -> Any:
    """The account's latest fills, from the venue's ledger (`my_trades`)."""
    result = await client.request("my_trades", sym=args.sym, limit=args.limit)
    fills = [{**fill, "time": _clock(fill["ts_us"])} for fill in result["trades"]]
    return fills, lambda r: table(r, FILL_COLUMNS)


async def _account(client: Client, args: argparse.Namespace) -> Any:
    return await client.request("account_status"), fields


async def _ticker(client: Client, args: argparse.Namespace) -> Any:
    return await client.request("ticker", sym=args.sym), fields


async def _history(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("trades_history", sym=args.sym, limit=args.limit)
    trades = [{**trade, "time": _clock(trade["ts_us"])} for trade in result["trades"]]
    return trades, lambda r: table(r, (("TIME (UTC)", "time"), ("TRADE", "trade_id"),
                                       ("SIDE", "aggressor_side"), ("QTY", "qty"), ("PX", "px"),
                                       ("BUSTED", "busted")))


async def _instruments(client: Client, args: argparse.Namespace) -> Any:
    specs = list((await client.instruments(search=args.search)).values())
    return specs, lambda r: table(r, (
        ("SYMBOL", "sym"), ("STATE", "state"), ("TICK", "tick"), ("LOT", "lot_size"),
        ("UNIT", "unit"), ("COMMODITY", "commodity"), ("GRADE", "grade"),
        ("LOCATION", "location"), ("PERIOD", "delivery_period")))


def _clock(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


ACTIONS = {"buy": _new_order, "sell": _new_order, "cancel": _cancel, "cancel-all": _cancel_all,
           "replace": _replace, "status": _status, "orders": _orders, "fills": _fills,
           "account": _account, "ticker": _ticker, "history": _history,
           "instruments": _instruments}
