"""`exchange trade watch SYM`: a live screen of one instrument in the terminal.

It shows the best bid and offer with the spread (in price and ticks), the book ladder with the
trader's own resting quantity at each level, the trader's open orders on the instrument, and the
latest trades with their times (UTC). The book is the client's `LocalBook` (checksummed);
own orders follow the account's execution reports; trades arrive on the `trades` channel.

Drawing: the screen is a list of lines (`render`, pure); `Screen.draw` rewrites only the lines
that differ from what is on the terminal, so a quiet market costs no output at all. On a
terminal, `q` quits (the keyboard is read in cbreak mode and restored on the way out); Ctrl-C
quits anywhere. A closed connection ends the watch with the reason in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import termios
import tty
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from exchange.cli.connection import Unreachable, closed_reason
from exchange.cli.results import REFUSED, Failure
from exchange.client import Client
from exchange.engine.instrument import format_price, parse_price

REDRAW_S = 0.1
TRADES_SHOWN = 10
TERMINAL_STATUSES = ("FILLED", "CANCELED", "REJECTED", "EXPIRED")


@dataclass
class View:
    """What the screen shows, kept up to date from the pushes."""

    symbol: str
    spec: dict[str, Any]
    depth: int
    account: str | None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # own open, by order_id
    trades: list[dict[str, Any]] = field(default_factory=list)  # newest last

    def on_report(self, report: dict[str, Any]) -> None:
        if report.get("sym") != self.symbol or report.get("order_id") is None:
            return
        if report["ord_status"] in TERMINAL_STATUSES:
            self.orders.pop(report["order_id"], None)
        else:
            self.orders[report["order_id"]] = report

    def on_trades(self, push: dict[str, Any]) -> None:
        if push.get("sym") == self.symbol:
            self.trades += push["trades"]
            del self.trades[:-TRADES_SHOWN]


def spread_line(spec: dict[str, Any], bids: list, asks: list) -> str:
    """'bid 209.50 x 5   ask 210.00 x 3   spread 0.50 (2 ticks)' (exact: integer price units)."""
    decimals = spec["price_decimals"]
    bid = f"bid {bids[0][0]} x {bids[0][1]}" if bids else "bid -"
    ask = f"ask {asks[0][0]} x {asks[0][1]}" if asks else "ask -"
    if not (bids and asks):
        return f"{bid}   {ask}   spread -"
    units = parse_price(asks[0][0], decimals) - parse_price(bids[0][0], decimals)
    tick = parse_price(spec["tick"], decimals)
    return f"{bid}   {ask}   spread {format_price(units, decimals)} ({units // tick} ticks)"


def _clock(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1e6, UTC).strftime("%H:%M:%S.%f")[:-3]


def render(view: View, bids: list, asks: list, seq: int | None) -> list[str]:
    """The screen's lines for the current state (pure)."""
    spec = view.spec
    mine: dict[tuple[str, str], int] = {}
    for order in view.orders.values():
        where = ("bid" if order["side"] == "BUY" else "ask", order["px"])
        mine[where] = mine.get(where, 0) + int(order["leaves_qty"])
    state = spec.get("state", "")
    title = (f"{view.symbol}  {state}  {spec['commodity']}, {spec['grade']}, "
             f"{spec['location']}, {spec['delivery_period']}  (book seq {seq})   q quits")
    lines = [title,
             spread_line(spec, bids, asks), "",
             f"{'MINE':>6} {'BID QTY':>9} {'PRICE':>12} {'ASK QTY':<9} {'MINE':<6}"]
    for px, qty in reversed(asks):
        own = mine.get(("ask", px), "")
        lines.append(f"{'':>6} {'':>9} {px:>12} {qty:<9} {own!s:<6}".rstrip())
    lines.append(f"{'':>6} {'':>9} {'-' * 12}")
    for px, qty in bids:
        own = mine.get(("bid", px), "")
        lines.append(f"{own!s:>6} {qty:>9} {px:>12}")
    lines += ["", f"my open orders ({view.account}):" if view.account else "my open orders: -"]
    for order in sorted(view.orders.values(), key=lambda o: int(o["order_id"])):
        lines.append(f"  #{order['order_id']:<6} {order['side']:4} {order['leaves_qty']:>6} "
                     f"@ {order['px']:>10}  {order['tif']:3} {order['ord_status']}")
    lines += ["", "recent trades (UTC):"]
    for trade in reversed(view.trades):
        lines.append(f"  {_clock(trade['ts_us'])}  {trade['aggressor_side']:4} "
                     f"{trade['qty']:>6} @ {trade['px']}")
    return lines


class Screen:
    """A terminal showing a list of lines; `draw` sends only the lines that changed."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown: list[str] = []

    def start(self) -> None:
        self.out.write("\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J")  # alternate screen, no cursor

    def stop(self) -> None:
        self.out.write("\x1b[?25h\x1b[?1049l")
        self.out.flush()

    def draw(self, lines: list[str]) -> int:
        """Rewrite the lines that differ; the number rewritten."""
        changed = 0
        for row, line in enumerate(lines):
            if row >= len(self.shown) or self.shown[row] != line:
                self.out.write(f"\x1b[{row + 1};1H{line}\x1b[K")
                changed += 1
        if len(lines) < len(self.shown):
            self.out.write(f"\x1b[{len(lines) + 1};1H\x1b[J")
            changed += 1
        if changed:
            self.out.flush()
        self.shown = list(lines)
        return changed


@contextlib.contextmanager
def keys_pressed(stop: asyncio.Event) -> Iterator[None]:
    """While inside, 'q' on a terminal's keyboard sets `stop` (cbreak mode, restored after)."""
    stdin = sys.stdin
    if not stdin.isatty():
        yield
        return
    fd = stdin.fileno()
    saved = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()

    def read() -> None:
        if b"q" in os.read(fd, 64).lower():
            stop.set()

    tty.setcbreak(fd)
    loop.add_reader(fd, read)
    try:
        yield
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def watch(client: Client, symbol: str, depth: int, account: str | None) -> None:
    """Show `symbol` live until `q`, Ctrl-C, or the connection closes (Unreachable)."""
    specs = await client.instruments(sym=symbol)
    if symbol not in specs:
        similar = await client.request("instruments", prefix=symbol[:4], limit=5)
        close = [spec["sym"] for spec in similar["instruments"]]
        hint = f"; similar: {', '.join(close)}" if close else ""
        raise Failure(REFUSED, f"no instrument {symbol!r} on this venue "
                          f"(`exchange trade instruments --search TEXT` lists them){hint}")
    view = View(symbol, specs[symbol], depth, account)
    book = await client.subscribe_book(symbol)
    await client.subscribe("trades", symbol)
    recent = await client.request("trades_history", sym=symbol, limit=TRADES_SHOWN)
    view.on_trades({"sym": symbol, "trades": [t for t in recent["trades"] if not t["busted"]]})
    if account is not None:
        await client.subscribe_exec()
        for order in await client.open_orders(symbol):
            view.on_report(order)
    stop = asyncio.Event()
    screen = Screen(sys.stdout)
    screen.start()
    try:
        with keys_pressed(stop):
            while not stop.is_set() and not client.closed.is_set():
                _drain(client, view)
                screen.draw(render(view, book.bids(depth), book.asks(depth), book.seq))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), REDRAW_S)
    finally:
        screen.stop()
    if client.closed.is_set() and not stop.is_set():
        raise Unreachable(closed_reason(client))


def _drain(client: Client, view: View) -> None:
    while not client.exec_reports.empty():
        view.on_report(client.exec_reports.get_nowait())
    while not client.pushes.empty():
        push = client.pushes.get_nowait()
        if push.get("ch") == "trades":
            view.on_trades(push)
