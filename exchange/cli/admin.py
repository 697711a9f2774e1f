"""`exchange admin …`: run the venue as a market operator, over the websocket API with an operator key.

Each command is one request (an import is a few hundred chunks and a commit) to the running
server (`--url`, or $EXCHANGE_URL; default ws://127.0.0.1:8765) after a logon with an operator
key (`--key`, `--key-file`, or $EXCHANGE_KEY: the same convention as `exchange trade`). Output is an aligned table, or the response's
result as JSON with `--json`. Errors are one line on stderr, with an exit code a script can test:

    0 done    1 the venue refused (or a bad input file)    2 usage
    3 the venue could not be reached, or dropped the connection    4 wrong or non-operator key

A CSV import streams (`csv_import`): each chunk goes out as soon as it is read, the venue checks
every row as it arrives, and the last chunk commits them all as one engine command; a bad line
anywhere is named (its line in the file) and imports nothing. Exit codes, failures and tables
are in `results`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed

from exchange.cli.admin_phases import add_commands as add_phase_commands
from exchange.cli.connection import (
    DEFAULT_URL,
    KEY_VARIABLE,
    Unreachable,
    api_key,
    connect,
    describe_close,
    venue_url,
)
from exchange.cli.csv_import import check_file, import_file
from exchange.cli.results import AUTH, OK, REFUSED, UNREACHABLE, USAGE, Failure, done, fields, table
from exchange.client import Client, ExchangeError
from exchange.engine.enums import TradingState
from exchange.engine.schedule import SCHEDULABLE

AUTH_CODES = ("UNAUTHENTICATED", "FORBIDDEN")
LIMIT_FLAGS = ("max_order_qty", "max_order_notional", "max_open_orders")
MONEY_HELP = "an amount of the venue currency, up to 6 decimals (e.g. 2000000.00)"

Action = Callable[[Client, argparse.Namespace], Awaitable[Any]]


# -- the parser --------------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS,
                        help=f"the venue (default $EXCHANGE_URL or {DEFAULT_URL})")
    common.add_argument("--key", default=argparse.SUPPRESS,
                        help="operator API key (default $EXCHANGE_KEY)")
    common.add_argument("--key-file", type=Path, default=argparse.SUPPRESS,
                        help="read the operator API key from this file")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the result as JSON")
    common.add_argument("--timeout", type=float, default=argparse.SUPPRESS,
                        help="seconds to wait for the venue (default 60)")
    admin = subparsers.add_parser(
        "admin", parents=[common], help="operate the venue (operator key)",
        description=__doc__.split("\n\n")[0], epilog="exit codes: 0 done, 1 refused, 2 usage, "
        "3 venue unreachable, 4 wrong or non-operator key")
    groups = admin.add_subparsers(dest="admin_group", required=True, metavar="COMMAND")

    def command(parent: Any, name: str, action: Action, help: str) -> argparse.ArgumentParser:
        parser = parent.add_parser(name, parents=[common], help=help, description=help)
        parser.set_defaults(handler=run, action=action)
        return parser

    def group(name: str, help: str) -> Any:
        parser = groups.add_parser(name, help=help, description=help)
        return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")

    _instrument_commands(group("instruments", "list, change and bulk-load instruments"), command)
    _firm_commands(group("firms", "member firms and their credit limits"), command)
    _account_commands(group("accounts", "trading accounts and their limits"), command)
    keys = group("keys", "API keys: issue, list, revoke")
    p = command(keys, "issue", _issue_key, "issue an API key (its secret is printed once)")
    p.add_argument("--role", required=True, choices=("trader", "operator", "auditor"))
    p.add_argument("--account", help="the account a trader key acts for")
    command(keys, "list", _list_keys, "list API keys (never their secrets)")
    p = command(keys, "revoke", _revoke_key, "revoke a key; its connections are closed at once")
    p.add_argument("key_id")
    p = command(groups, "kill-switch", _kill_switch,
                "cancel all orders of a firm or account and block new ones (--release lifts it)")
    p.add_argument("scope", choices=("firm", "account"))
    p.add_argument("name")
    p.add_argument("--release", action="store_true", help="release the kill switch")
    p = command(groups, "bust-trade", _bust_trade, "cancel a trade of the current trading day")
    p.add_argument("trade_id")
    p.add_argument("--reason", required=True)
    command(groups, "start-day", _start_day,
            "start a new trading day: net bought for credit limits starts again at zero")
    p = command(groups, "book", _book, "an instrument's book, levels with order counts")
    p.add_argument("symbol")
    p.add_argument("--depth", type=int, default=10)
    p = command(groups, "orders", _orders, "open orders of an account or a firm")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--account")
    who.add_argument("--firm")
    p.add_argument("--symbol")
    p.add_argument("--all", action="store_true", help="finished orders too, newest first")
    p.add_argument("--limit", type=int, default=1000)
    p = command(groups, "trades", _trades, "trades from the ledger, oldest first")
    p.add_argument("--symbol")
    p.add_argument("--since", help="ts_us, ISO time (UTC unless given), or an age: 30s 15m 2h 1d")
    p.add_argument("--limit", type=int, default=1000)
    command(groups, "stats", _stats, "connections, activity over the last minute, ledger")


def _instrument_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command(sub, "add", _add_instrument, "list one instrument")
    p.add_argument("symbol")
    for flag in ("commodity", "grade", "location", "period", "unit"):
        p.add_argument(f"--{flag}", required=True)
    p.add_argument("--lot", required=True, help="units per lot, e.g. 20")
    p.add_argument("--tick", required=True, help="price tick as a decimal, e.g. 0.25")
    p.add_argument("--decimals", required=True, help="price decimals, e.g. 2")
    p.add_argument("--min-qty", help="lots (default 1)")
    p.add_argument("--max-qty", help="lots (default 1000000)")
    p.add_argument("--reference-px", help="reference price for the band")
    p.add_argument("--band-ticks", help="band: ticks either side of the reference")
    p.add_argument("--min-px", help="lowest price allowed (default: one tick; zero or negative "
                   "prices only where this allows them)")
    p.add_argument("--max-px", help="highest price allowed (default: the most at which "
                   "max-qty lots stay within one order's notional bound, docs/engine.md)")
    p.add_argument("--state", choices=[s.name for s in sorted(SCHEDULABLE)])
    p = command(sub, "list", _list_instruments, "list instruments, filtered")
    for flag in ("commodity", "location", "period"):
        p.add_argument(f"--{flag}")
    p.add_argument("--state", choices=[s.name for s in TradingState])
    p.add_argument("--limit", type=int, help="at most this many (default: every one)")
    p = command(sub, "show", _show_instrument, "one instrument with its book summary")
    p.add_argument("symbol")
    p = command(sub, "set-band", _set_band, "set (or --clear) the price band, in ticks")
    p.add_argument("symbol")
    band = p.add_mutually_exclusive_group(required=True)
    band.add_argument("--ticks", help="ticks either side of the reference price")
    band.add_argument("--clear", action="store_true", help="remove the band")
    p.add_argument("--reference-px", help="also set the reference price")
    p = command(sub, "set-reference-price", _set_reference, "set the band's reference price")
    p.add_argument("symbol")
    p.add_argument("price")
    for name, state, help in (("halt", "HALTED", "halt trading (cancels still allowed)"),
                              ("resume", "OPEN", "open trading"),
                              ("close", "CLOSED", "close trading; DAY orders expire")):
        p = command(sub, name, _set_state, help)
        p.add_argument("symbol")
        p.set_defaults(state=state)
    add_phase_commands(sub, command)  # phase, schedule (admin_phases.py)
    p = command(sub, "import", import_file, "list instruments from a CSV file, all or none")
    p.add_argument("file", type=Path, help="CSV with a header: symbol, commodity, grade, "
                   "location, delivery_period, unit, lot_size, tick, price_decimals, "
                   "[min_qty, max_qty, reference_px, band_ticks, min_px, max_px]")
    p.add_argument("--check", action="store_true", help="check the file only; send nothing")


def _limit_flags(parser: argparse.ArgumentParser) -> None:
    for name in LIMIT_FLAGS:
        what = MONEY_HELP if name == "max_order_notional" else "a whole number"
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=f"{what}, or 'none'")


def _firm_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command(sub, "add", _add_firm, "add a firm with its first account")
    p.add_argument("firm")
    p.add_argument("--account", required=True)
    _limit_flags(p)
    command(sub, "list", _list_firms, "list firms")
    p = command(sub, "show", _show_firm, "one firm and its accounts")
    p.add_argument("firm")
    p = command(sub, "set-credit-limit", _set_credit_limit,
                "max open buy notional + net bought notional today, in the venue currency")
    p.add_argument("firm")
    p.add_argument("limit", help=f"{MONEY_HELP}, or 'none'")


def _account_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command(sub, "add", _add_account, "add an account (to a new or existing firm)")
    p.add_argument("account")
    p.add_argument("--firm", required=True)
    _limit_flags(p)
    p = command(sub, "list", _list_accounts, "list accounts")
    p.add_argument("--firm")
    p = command(sub, "show", _show_account, "one account")
    p.add_argument("account")
    p = command(sub, "set-limits", _set_limits, "change an account's limits (others kept)")
    p.add_argument("account")
    _limit_flags(p)


# -- running -----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    try:
        if getattr(args, "check", False):
            checked = check_file(args.file)
            result, render = {"checked": checked}, done(f"{args.file}: {checked} rows are good")
        else:
            result, render = asyncio.run(_run(args, _key(args)))
    except Failure as exc:
        print(f"exchange admin: {exc}", file=sys.stderr)
        return exc.code
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2))
    else:
        render(result)
    return OK


def _key(args: argparse.Namespace) -> str:
    key_file = getattr(args, "key_file", None)
    if key_file is not None:
        try:
            return key_file.read_text().strip()
        except OSError as exc:
            raise Failure(AUTH, f"cannot read the key file: {exc.strerror}") from None
    key = api_key(getattr(args, "key", None))
    if not key:
        raise Failure(AUTH, f"no operator key: use --key, --key-file or ${KEY_VARIABLE}")
    return key


async def _run(args: argparse.Namespace, key: str) -> tuple[Any, Callable[[Any], None]]:
    url = venue_url(getattr(args, "url", None))
    timeout = getattr(args, "timeout", 60.0)
    try:
        async with asyncio.timeout(timeout):
            client = await _connect(url)
            try:
                await _logon(client, key)
                return await args.action(client, args)  # type: ignore[no-any-return]
            finally:
                await client.close()
    except TimeoutError:
        raise Failure(UNREACHABLE, f"no answer from {url} within {timeout:g} s") from None
    except ConnectionClosed as exc:
        close = exc.rcvd
        raise Failure(UNREACHABLE, describe_close(
            None if close is None else close.code,
            None if close is None else close.reason)) from None
    except ExchangeError as exc:
        if exc.code == "CLOSED":
            raise Failure(UNREACHABLE, describe_close(*_close_of(exc.msg))) from None
        raise Failure(REFUSED, f"{exc.code}: {exc.msg}") from None


def _close_of(reason: str) -> tuple[int | None, str]:
    """(code, reason) from the client's "1008 API key revoked" close text."""
    code, _, said = reason.partition(" ")
    return (int(code), said) if code.isascii() and code.isdigit() else (None, reason)


async def _connect(url: str) -> Client:
    try:
        return await connect(url, encoding="msgpack", ping_interval=None)
    except Unreachable as exc:
        raise Failure(UNREACHABLE, str(exc)) from None


async def _logon(client: Client, key: str) -> None:
    try:
        principal = await client.logon(key)
    except ExchangeError as exc:
        if exc.code in AUTH_CODES:
            raise Failure(AUTH, f"logon refused: {exc.msg}") from None
        raise
    if principal.get("role") != "operator":
        raise Failure(AUTH, f"a {principal.get('role')} key: the admin commands need an "
                            "operator key")


# -- instruments -------------------------------------------------------------------------------


async def _add_instrument(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request(
        "add_instrument", sym=args.symbol, commodity=args.commodity, grade=args.grade,
        location=args.location, delivery_period=args.period, unit=args.unit,
        lot_size=args.lot, tick=args.tick, price_decimals=args.decimals, min_qty=args.min_qty,
        max_qty=args.max_qty, reference_px=args.reference_px, band_ticks=args.band_ticks,
        min_px=args.min_px, max_px=args.max_px, state=args.state)
    return result, done(f"listed {args.symbol}")


INSTRUMENT_COLUMNS = (("SYMBOL", "sym"), ("COMMODITY", "commodity"), ("GRADE", "grade"),
                      ("LOCATION", "location"), ("PERIOD", "delivery_period"),
                      ("LOT", "lot_size"), ("UNIT", "unit"), ("TICK", "tick"),
                      ("REF", "reference_px"), ("BAND", "band_ticks"), ("STATE", "state"))


async def _list_instruments(client: Client, args: argparse.Namespace) -> Any:
    """Every matching instrument (or the first --limit), following the op's pages."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.request("list_instruments", commodity=args.commodity,
                                    location=args.location, period=args.period,
                                    state=args.state, cursor=cursor)
        found += page["instruments"]
        cursor = page["next_cursor"]
        if cursor is None or (args.limit is not None and len(found) >= args.limit):
            break
    result = {"instruments": found[:args.limit], "total": page["total"]}

    def render(result: Any) -> None:
        table(result["instruments"], INSTRUMENT_COLUMNS)
        shown = len(result["instruments"])
        if shown < result["total"]:
            print(f"({shown} of {result['total']}; see --limit)")

    return result, render


async def _show_instrument(client: Client, args: argparse.Namespace) -> Any:
    return await client.request("show_instrument", sym=args.symbol), fields


async def _set_band(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("set_price_band", sym=args.symbol, band_ticks=args.ticks,
                                  clear=args.clear or None, reference_px=args.reference_px)
    return result, done(f"{args.symbol}: price band set")


async def _set_reference(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("set_price_band", sym=args.symbol, reference_px=args.price)
    return result, done(f"{args.symbol}: reference price {args.price}")


async def _set_state(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("set_trading_state", sym=args.symbol, state=args.state)
    return result, done(f"{args.symbol}: {args.state}")


# -- firms and accounts ------------------------------------------------------------------------


def _limits(args: argparse.Namespace) -> dict[str, str]:
    return {name: getattr(args, name) for name in LIMIT_FLAGS if getattr(args, name) is not None}


async def _add_firm(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("add_account", account=args.account, firm=args.firm,
                                  **_limits(args))
    return result, done(f"firm {args.firm} with account {args.account}")


async def _add_account(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("add_account", account=args.account, firm=args.firm,
                                  **_limits(args))
    return result, done(f"account {args.account} of {args.firm}")


FIRM_COLUMNS = (("FIRM", "firm"), ("ACCOUNTS", "accounts"), ("CREDIT LIMIT", "credit_limit"),
                ("NET BOUGHT", "net_bought"), ("OPEN BUY", "open_buy_notional"),
                ("BLOCKED", "blocked"))
ACCOUNT_COLUMNS = (("ACCOUNT", "account"), ("FIRM", "firm"), ("MAX QTY", "max_order_qty"),
                   ("MAX NOTIONAL", "max_order_notional"), ("MAX OPEN", "max_open_orders"),
                   ("OPEN", "open_orders"), ("BLOCKED", "blocked"))


async def _list_firms(client: Client, args: argparse.Namespace) -> Any:
    return await client.request("list_firms"), lambda r: table(r["firms"], FIRM_COLUMNS)


async def _show_firm(client: Client, args: argparse.Namespace) -> Any:
    def render(result: Any) -> None:
        fields({key: value for key, value in result.items() if key != "accounts"})
        print()
        table(result["accounts"], ACCOUNT_COLUMNS)

    return await client.request("show_firm", firm=args.firm), render


async def _set_credit_limit(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("set_credit_limit", firm=args.firm, credit_limit=args.limit)
    return result, done(f"{args.firm}: credit limit {args.limit}")


async def _list_accounts(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("list_accounts", firm=args.firm)
    return result, lambda r: table(r["accounts"], ACCOUNT_COLUMNS)


async def _show_account(client: Client, args: argparse.Namespace) -> Any:
    return await client.request("show_account", account=args.account), fields


async def _set_limits(client: Client, args: argparse.Namespace) -> Any:
    limits = _limits(args)
    if not limits:
        raise Failure(USAGE, "set-limits: give at least one of --max-order-qty, "
                             "--max-order-notional, --max-open-orders")
    result = await client.request("set_account_limits", account=args.account, **limits)
    return result, done(f"{args.account}: limits set")


# -- keys, kill switch, busts ------------------------------------------------------------------


async def _issue_key(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("issue_key", role=args.role, account=args.account)

    def render(result: Any) -> None:
        print(result["api_key"])
        print(f"(key {result['key_id']}: the secret is shown only now)", file=sys.stderr)

    return result, render


async def _list_keys(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("list_keys")
    return result, lambda r: table(r["keys"], (("KEY ID", "key_id"), ("ROLE", "role"),
                                               ("ACCOUNT", "account"), ("REVOKED", "revoked")))


async def _revoke_key(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("revoke_key", key_id=args.key_id)
    return result, done(f"key {args.key_id} revoked")


async def _kill_switch(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("set_kill_switch", scope=args.scope, name=args.name,
                                  engaged=not args.release)
    if args.release:
        return result, done(f"{args.scope} {args.name}: kill switch released")
    return result, lambda r: print(f"{args.scope} {args.name}: kill switch engaged, "
                                   f"{r['canceled']} orders canceled")


async def _bust_trade(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("bust_trade", trade_id=args.trade_id, reason=args.reason)
    return result, done(f"trade {args.trade_id} busted")


async def _start_day(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("start_trading_day")
    return result, lambda r: print(f"trading day started; {r['trades_closed']} trades of the "
                                   f"previous day can no longer be busted")


# -- views -------------------------------------------------------------------------------------


async def _book(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("book", sym=args.symbol, depth=args.depth)

    def render(result: Any) -> None:
        bids, asks = result["bids"], result["asks"]
        rows = []
        for n in range(max(len(bids), len(asks))):
            bid = bids[n] if n < len(bids) else {}
            ask = asks[n] if n < len(asks) else {}
            rows.append({"bo": bid.get("orders", ""), "bq": bid.get("qty", ""),
                         "bp": bid.get("px", ""), "ap": ask.get("px", ""),
                         "aq": ask.get("qty", ""), "ao": ask.get("orders", "")})
        print(f"{result['sym']} ({result['state']})")
        table(rows, (("ORDERS", "bo"), ("BID QTY", "bq"), ("BID", "bp"), ("ASK", "ap"),
                     ("ASK QTY", "aq"), ("ORDERS", "ao")))

    return result, render


ORDER_COLUMNS = (("ORDER", "order_id"), ("CL_ORD_ID", "cl_ord_id"), ("ACCOUNT", "account"),
                 ("SYMBOL", "sym"), ("SIDE", "side"), ("PX", "px"), ("QTY", "order_qty"),
                 ("CUM", "cum_qty"), ("LEAVES", "leaves_qty"), ("STATUS", "ord_status"))


async def _orders(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("list_orders", account=args.account, firm=args.firm,
                                  sym=args.symbol, closed=args.all or None, limit=args.limit)
    return result, lambda r: table(r["orders"], ORDER_COLUMNS)


async def _trades(client: Client, args: argparse.Namespace) -> Any:
    since = None if args.since is None else parse_since(args.since, time.time())
    trades: list[dict[str, Any]] = []
    cursor = None
    while True:  # the op's pages, up to --limit trades
        page = await client.request("list_trades", sym=args.symbol, since_us=since,
                                    limit=args.limit - len(trades), cursor=cursor)
        trades += page["trades"]
        cursor = page["next_cursor"]
        if cursor is None or len(trades) >= args.limit:
            break
    result = {"trades": trades}
    for trade in result["trades"]:
        trade["time"] = datetime.fromtimestamp(trade["ts_us"] / 1e6, UTC).strftime(
            "%Y-%m-%d %H:%M:%S.%f")
    return result, lambda r: table(r["trades"], (
        ("TRADE", "trade_id"), ("TIME (UTC)", "time"), ("SYMBOL", "sym"), ("PX", "px"),
        ("QTY", "qty"), ("BUYER", "buy_account"), ("SELLER", "sell_account"),
        ("AGGRESSOR", "aggressor_side"), ("BUSTED", "busted")))


_AGE = re.compile(r"(\d+)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now_s: float) -> int:
    """ts_us for "1700000000000000" (ts_us), "2026-11-27T10:00" (UTC unless an offset is
    given) or an age like "15m"; Failure(USAGE) for anything else."""
    if text.isascii() and text.isdigit():
        return int(text)
    age = _AGE.fullmatch(text)
    if age is not None:
        return int((now_s - int(age.group(1)) * _UNIT_S[age.group(2)]) * 1_000_000)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Failure(USAGE, f"--since {text!r}: give ts_us, an ISO time or an age "
                             "like 15m") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


async def _stats(client: Client, args: argparse.Namespace) -> Any:
    def render(result: Any) -> None:
        fields({key: value for key, value in result.items() if key != "sessions_by_firm"})
        print()
        table([{"who": who, "n": n} for who, n in result["sessions_by_firm"].items()],
              (("SESSIONS OF", "who"), ("COUNT", "n")))

    return await client.request("stats"), render
