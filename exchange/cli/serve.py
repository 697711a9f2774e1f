"""`exchange serve`: run the venue — the websocket gateway on a durable ledger.

`exchange serve --demo` (= `make run`) also lists the demo instruments and opens the demo
accounts (on a fresh ledger), issues fresh demo API keys (revoking the previous run's), runs a
demo trading day on one instrument (exchange/demo_day.py: pre-open, opening auction,
continuous trading, closing auction, in phases of `--demo-phase-seconds`), and prints how to
connect. `--operator-key-file FILE` gives a venue its first operator key: unless
FILE already holds a live operator key, one is issued (recorded in the ledger as
`operator:bootstrap`) and written to FILE, readable by its owner only. Keys are engine
commands like every other operator action, so the ledger shows who made each one.

The ledger's own files sit beside it: `LEDGER.key`, the venue's Ed25519 signing key (made on a
new ledger's first start, mode 0600; `--signing-key` puts it elsewhere), `LEDGER.key.pub`, its
public key for auditors, and `LEDGER.head`, the last batch committed. A ledger that does not
check out at start (tampered, truncated, badly signed, a replay that parts from it) is refused
in one line naming the seq, exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import ssl
import sys
from pathlib import Path

from exchange import demo
from exchange.cli.connection import KEY_VARIABLE, URL_VARIABLE
from exchange.cli.main import CliError
from exchange.demo_day import DAY_SYMBOL, DEFAULT_PHASE_S, DemoDay
from exchange.engine import Command, RevokeKey
from exchange.gateway.config import GatewayConfig
from exchange.gateway.jobs import now_us
from exchange.gateway.keys import new_key
from exchange.gateway.server import Server
from exchange.ledger import LedgerError
from exchange.web import pages

DEMO_KEYS = (("demo-agro1", "trader", "AGRO-1"), ("demo-mill1", "trader", "MILL-1"),
             ("demo-steel1", "trader", "STEEL-1"), ("demo-operator", "operator", None),
             ("demo-auditor", "auditor", None))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the venue (websocket gateway + ledger)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--ledger", type=Path, default=Path("var/exchange.db"),
                        help="ledger file (created if absent); beside it LEDGER.head, the last "
                             "batch committed, which a ledger must not fall short of")
    parser.add_argument("--signing-key", type=Path, metavar="FILE",
                        help="the venue's Ed25519 key that signs every batch and snapshot "
                             "(default LEDGER.key; made with LEDGER.key.pub, the public key "
                             "for auditors, when a new ledger starts)")
    parser.add_argument("--cert", help="TLS certificate (PEM) to serve wss://")
    parser.add_argument("--key", help="TLS private key (PEM)")
    parser.add_argument("--demo", action="store_true",
                        help="list the demo market and issue demo API keys")
    parser.add_argument("--demo-phase-seconds", type=int, default=DEFAULT_PHASE_S,
                        metavar="SECONDS", help=f"the demo day's phases on {DAY_SYMBOL}: "
                        f"pre-open, then continuous for twice this, then the closing call "
                        f"(default {DEFAULT_PHASE_S})")
    parser.add_argument("--operator-key-file", type=Path,
                        help="keep a live operator key in this file (issued if needed)")
    parser.add_argument("--order-rate", type=float, default=GatewayConfig.order_rate,
                        help="order operations per second per account")
    parser.add_argument("--conn-rate", type=float, default=GatewayConfig.conn_rate,
                        help="messages per second per connection")
    parser.add_argument("--http-port", type=int, metavar="N",
                        help="serve the market page on this port too (0: any free port); it "
                             "is always on the API port")
    parser.add_argument("--no-public-market-data", dest="public_market_data",
                        action="store_false",
                        help="market data, history and the instrument list only after a logon "
                             "(default: public, as on most venues)")
    parser.add_argument("--ready-file", type=Path,
                        help="write the URL here once listening (for scripts and tests)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.cert) != bool(args.key):
        raise CliError("--cert and --key go together")
    if not 1 <= args.demo_phase_seconds <= 3600:
        raise CliError("--demo-phase-seconds: 1 to 3600")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    config = GatewayConfig(
        host=args.host, port=args.port, certfile=args.cert, keyfile=args.key,
        order_rate=args.order_rate, order_burst=2 * args.order_rate,
        conn_rate=args.conn_rate, conn_burst=2 * args.conn_rate,
        public_market_data=args.public_market_data)
    try:
        asyncio.run(_serve(args, config))
    except LedgerError as exc:
        raise CliError(f"ledger {args.ledger} refused: {exc}") from None
    except OSError as exc:
        raise CliError(str(exc)) from None
    return 0


async def _serve(args: argparse.Namespace, config: GatewayConfig) -> None:
    server = Server(args.ledger, config, args.signing_key)
    venue = await server.open()
    demo_keys: list[tuple[str, str | None, str]] = []
    revoked = 0
    day = None
    if args.demo:
        if not venue.engine.instruments:
            await server.setup(demo.setup(now_us()), "operator:demo")
        demo_keys, revoked = await _demo_keys(server)
        day = await _demo_day(server, args.demo_phase_seconds)
    if args.operator_key_file:
        await _operator_key(server, args.operator_key_file)
    await server.start()
    page = None if args.http_port is None else await pages.serve_page(
        config.host, args.http_port, server.port, _page_tls(config))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    http_url = server.url.replace("ws", "http", 1)
    if page is not None:
        page_port = page.sockets[0].getsockname()[1]
        http_url = f"{http_url.rsplit(':', 1)[0]}:{page_port}/  (and on the API port)"
    else:
        http_url += "/  (same port)"
    market = "public" if config.public_market_data else "after a logon only"
    print(f"exchange listening on {server.url} (ledger {args.ledger}, "
          f"seq {venue.engine.last_command_seq}; market data {market})\n"
          f"market page: {http_url}", flush=True)
    if demo_keys:
        _print_demo(server, demo_keys, revoked, args.ledger)
    if day is not None:
        _print_day(day)
        seeding = loop.create_task(day.run(venue))
    if args.ready_file:
        args.ready_file.write_text(server.url)
    failed = loop.create_task(server.serve_forever())
    stopping = loop.create_task(stop.wait())
    await asyncio.wait((failed, stopping), return_when=asyncio.FIRST_COMPLETED)
    if page is not None:
        page.close()
        await page.wait_closed()
    if day is not None:
        seeding.cancel()
    await server.close()
    if failed.done() and failed.exception() is not None:
        raise CliError(str(failed.exception()))


def _page_tls(config: GatewayConfig) -> ssl.SSLContext | None:
    """The page's port speaks https when the API speaks wss, with the same certificate."""
    if not (config.certfile and config.keyfile):
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(config.certfile, config.keyfile)
    return context


async def _demo_keys(server: Server) -> tuple[list[tuple[str, str | None, str]], int]:
    """(role, account, API key) of fresh demo keys, one per DEMO_KEYS entry, issued in one batch
    with the previous run's demo keys revoked (their secrets were printed to a terminal), and
    how many were revoked."""
    assert server.venue is not None
    ts_us, keys = now_us(), server.venue.engine.keys
    commands: list[Command] = [
        RevokeKey(ts_us, key_id) for key_id, key in keys.items()
        if not key.revoked and any(key_id.startswith(f"{base}-") for base, _, _ in DEMO_KEYS)]
    revoked = len(commands)
    issued = []
    for base, role, account in DEMO_KEYS:
        command, api_key = new_key(ts_us, role, account, f"{base}-{os.urandom(3).hex()}")
        commands.append(command)
        issued.append((role, account, api_key))
    await server.setup(commands, "operator:demo")
    return issued, revoked


async def _demo_day(server: Server, phase_s: int) -> DemoDay | None:
    """Start the demo day now (its call, schedule and seeded orders, durable before the venue
    listens); None if the demo instrument is not listed here."""
    venue = server.venue
    assert venue is not None
    if DAY_SYMBOL not in venue.engine.instruments:
        return None
    day = DemoDay(now_us(), phase_s)
    by_origin: dict[str, list[Command]] = {}
    for command in day.start_commands():
        account = getattr(command, "account", None)
        by_origin.setdefault("operator:demo" if account is None else f"account:{account}",
                             []).append(command)
    for origin, commands in by_origin.items():
        await server.setup(commands, origin)
    venue.schedule.checked_us = day.start_us  # its times from the start, however late we listen
    return day


def _print_day(day: DemoDay) -> None:
    print(f"demo day on {DAY_SYMBOL} (UTC):")
    for at, what in day.timetable():
        print(f"  {at}  {what}")
    print(flush=True)


async def _operator_key(server: Server, path: Path) -> None:
    assert server.venue is not None
    try:
        held = server.venue.keys.verify(path.read_text().strip())
    except FileNotFoundError:
        held = None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    if held is not None and held.role == "operator":
        return
    command, api_key = new_key(now_us(), "operator", None)
    await server.setup([command], "operator:bootstrap")
    if command.key_id not in server.venue.engine.keys:
        raise CliError("the venue refused the bootstrap operator key")
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    owner_only = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # a few bytes, once, before the venue listens: blocking the loop here costs nothing
    with open(owner_only, "w") as handle:  # noqa: ASYNC230
        handle.write(api_key + "\n")
    os.replace(temp, path)
    print(f"operator key {command.key_id} written to {path}", flush=True)


DEMO_INSTRUMENTS_SHOWN = 10


def command_name(argv0: str | None = None) -> str:
    """How to run `exchange` from here, as the user would paste it: `exchange` if that is what
    the shell finds, else the path of the script that runs now (`.venv/bin/exchange`), else
    `python -m exchange` with this interpreter."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    script = Path(argv0)
    if script.name == "exchange" and script.exists():
        found = shutil.which("exchange")
        if found and Path(found).resolve() == script.resolve():
            return "exchange"
        try:
            return str(script.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(script.resolve())
    return f"{sys.executable} -m exchange"


def _print_demo(server: Server, keys: list[tuple[str, str | None, str]], revoked: int,
                ledger: Path) -> None:
    assert server.venue is not None
    specs = server.venue.tracker.specs
    print(f"\ninstruments ({len(specs)}):")
    for symbol, spec in list(specs.items())[:DEMO_INSTRUMENTS_SHOWN]:
        print(f"  {symbol:24} {spec.commodity}, {spec.grade}, {spec.location}, "
              f"{spec.delivery_period}; lot {spec.lot_size} {spec.unit}")
    if len(specs) > DEMO_INSTRUMENTS_SHOWN:
        print(f"  ... and {len(specs) - DEMO_INSTRUMENTS_SHOWN} more "
              "(`trade instruments --search TEXT` finds them)")
    print("\ndemo API keys (new on every start"
          + (f"; the {revoked} demo keys of the previous run are revoked):" if revoked else "):"))
    by_role: dict[str, str] = {}
    for role, account, api_key in keys:
        print(f"  {role:8} {account or '':8} {api_key}")
        by_role.setdefault(role, api_key)
    exchange, url = command_name(), server.url
    trader, operator = by_role["trader"], by_role["operator"]
    print(f"\ntry (paste):\n"
          f"  {exchange} trade --url {url} --key {trader} buy WHEAT-M2-CTA-2703 5 209.50\n"
          f"  {exchange} trade --url {url} --key {trader} watch WHEAT-M2-CTA-2703\n"
          f"  {exchange} admin --url {url} --key {operator} instruments list\n"
          f"  {exchange} audit verify {ledger}\n"
          f"or, for `trade`, set them once:  export {URL_VARIABLE}={url} {KEY_VARIABLE}={trader}"
          "\n", flush=True)
