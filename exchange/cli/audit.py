"""`exchange audit verify|replay|export|checkpoint|rebuild FILE`: offline tools on a ledger file.

Exit codes: 0 the file checked out (or the tool did its job); 1 a failure, said in one line on
stderr naming the first bad seq where there is one; 2 bad usage. Long runs of verify, replay,
export and rebuild say how far they have got on stderr, at most once a second (`--quiet`: not
at all; exchange/cli/progress.py); results go to stdout, so a pipe or a file gets only those.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from exchange.cli.main import CliError
from exchange.cli.progress import Progress
from exchange.engine import Engine
from exchange.engine.instrument import format_price
from exchange.engine.order import Order
from exchange.ledger import LedgerError, audit, signing
from exchange.ledger.export import busted_trade_ids, export, iso_time


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="check, replay and export a ledger file")
    tools = parser.add_subparsers(dest="tool", required=True)

    verify = tools.add_parser("verify", help="check the hash chain and replay every command")
    verify.add_argument("file", help="a ledger file, the cluster's PostgreSQL DSN, or a file "
                                     "exported from it (exchange ledger-export)")
    verify.add_argument("--checkpoint", metavar="SEQ:HASH", type=_checkpoint_arg,
                        help="also require this recorded checkpoint to be in the chain")
    verify.add_argument("--pubkey", metavar="FILE",
                        help="the venue's public key (hex, as in LEDGER.key.pub, or PEM), got "
                             "from the venue: proves every batch and snapshot was signed by its "
                             "holder (without it: the key the ledger's meta names)")
    verify.add_argument("--chain-only", action="store_true",
                        help="check the hash chain, signatures and row hashes only, without "
                             "replaying")
    _quiet_flag(verify)
    verify.set_defaults(handler=run_verify)

    replay = tools.add_parser("replay", help="rebuild the books at a seq or time")
    replay.add_argument("file")
    replay.add_argument("--to", metavar="SEQ|TIME", help="a seq, or an ISO-8601 time (UTC)")
    replay.add_argument("--symbol", help="only this instrument's book")
    replay.add_argument("--depth", type=int, default=10, help="levels per side (default 10)")
    _quiet_flag(replay)
    replay.set_defaults(handler=run_replay)

    exporter = tools.add_parser("export", help="write trades or events as CSV or JSON lines")
    exporter.add_argument("file")
    exporter.add_argument("--what", choices=("trades", "events"), default="trades")
    exporter.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    exporter.add_argument("--from", dest="from_seq", type=int, default=1, metavar="SEQ")
    exporter.add_argument("--to", dest="to_seq", type=int, metavar="SEQ")
    _quiet_flag(exporter)
    exporter.set_defaults(handler=run_export)

    checkpoint = tools.add_parser("checkpoint", help="print the latest batch hash and seq")
    checkpoint.add_argument("file")
    checkpoint.set_defaults(handler=run_checkpoint)

    rebuild = tools.add_parser("rebuild", help="regenerate the accounts/trades/orders projections")
    rebuild.add_argument("file")
    _quiet_flag(rebuild)
    rebuild.set_defaults(handler=run_rebuild)


REBUILD_CHUNK = 20_000  # events projected per step (a progress line at most each step)


def _quiet_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _progress(args: argparse.Namespace, what: str) -> Progress | None:
    return None if args.quiet else Progress(f"{what} {args.file}", unit="seqs")


def run_verify(args: argparse.Namespace) -> int:
    from exchange.cli.cluster import cluster_ledger_verify  # a DSN or an export of one

    if (verdict := cluster_ledger_verify(args.file, args.pubkey)) is not None:
        return verdict
    key = None
    if args.pubkey is not None:
        try:
            key = signing.public_key(Path(args.pubkey).read_text(), args.pubkey)
        except OSError as exc:
            raise CliError(f"cannot read {args.pubkey}: {exc.strerror}") from None
        except LedgerError as exc:
            raise CliError(str(exc)) from None
    progress = _progress(args, "verify")
    try:
        summary = audit.verify(args.file, progress, args.checkpoint, not args.chain_only, key)
    except LedgerError as exc:
        raise CliError(f"verify FAILED: {exc}") from None
    finally:
        if progress is not None:
            progress.done()
    signer = (f"signed by the given key {summary.public_key}" if summary.key_given else
              f"signed by the key the ledger names, {summary.public_key} (checked against "
              "the ledger's own key: give --pubkey FILE to prove it is the venue's)")
    span = ("-" if summary.first_ts_us is None else
            f"{iso_time(summary.first_ts_us)} .. {iso_time(summary.last_ts_us or 0)}")
    if args.chain_only:
        print(f"OK (chain only, not replayed) {args.file}: {summary.batches} batches, "
              f"seqs 1..{summary.last_seq}")
        print(f"batches and {summary.snapshots} snapshots {signer}")
        print(f"head {summary.head_hash or '(empty ledger)'}")
        return 0
    busted = len(_ledger_call(busted_trade_ids, args.file))
    print(f"OK {args.file}: {summary.batches} batches, seqs 1..{summary.last_seq}, "
          f"{summary.commands} commands, {summary.events} events, {summary.trades} trades "
          f"({busted} busted), "
          f"{summary.instruments} instruments, {summary.accounts} accounts")
    print(f"time {span}")
    print(f"batches and {summary.snapshots} snapshots {signer}")
    behind = ("" if summary.projected_seq == summary.last_seq else
              f" (up to their mark, seq {summary.projected_seq}: the writer's next open "
              "catches them up)")
    print(f"projections accounts, trades, orders equal a rebuild{behind}")
    print(f"head {summary.head_hash or '(empty ledger)'}")
    return 0


def run_replay(args: argparse.Namespace) -> int:
    to_seq, to_ts = _point(args.to)
    progress = _progress(args, "replay")
    engine = _ledger_call(audit.replay_to, args.file, to_seq, to_ts, progress)
    if progress is not None:
        progress.done()
    if args.symbol is not None and args.symbol not in engine.books:
        raise CliError(f"no instrument {args.symbol!r} at that point")
    print(f"state after seq {engine.seq} (last command {engine.last_command_seq}), "
          f"time {iso_time(engine.now_us)}, digest {engine.digest()}")
    for symbol in sorted(engine.books):
        if args.symbol in (None, symbol):
            _print_book(engine, symbol, args.depth)
    _print_open_orders(engine, args.symbol)
    return 0


def run_export(args: argparse.Namespace) -> int:
    progress = _progress(args, "export")
    try:
        count = _ledger_call(export, args.file, args.what, args.format, sys.stdout,
                             args.from_seq, args.to_seq, progress)
    except BrokenPipeError:  # the reader (`| head`) has had enough: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if progress is not None:
        progress.done()
    print(f"exported {count} {args.what}", file=sys.stderr)
    return 0


def run_checkpoint(args: argparse.Namespace) -> int:
    head = _ledger_call(audit.checkpoint, args.file)
    if head is None:
        raise CliError(f"{args.file}: the ledger has no batches yet")
    print(f"seq {head.last_seq} batch {head.id} hash {head.hash}")
    print(f"(later: exchange audit verify {args.file} --checkpoint {head.last_seq}:{head.hash})")
    return 0


def run_rebuild(args: argparse.Namespace) -> int:
    progress = _progress(args, "rebuild")
    counts = _ledger_call(audit.rebuild, args.file, REBUILD_CHUNK, progress)
    if progress is not None:
        progress.done()
    print("rebuilt " + ", ".join(f"{name}: {count}" for name, count in counts.items()))
    return 0


def _ledger_call(function, *args):  # type: ignore[no-untyped-def]
    try:
        return function(*args)
    except LedgerError as exc:
        raise CliError(str(exc)) from None


def _checkpoint_arg(text: str) -> tuple[int, str]:
    seq, _, digest = text.partition(":")
    if not (seq.isascii() and seq.isdigit()) or len(digest) != 64:
        raise argparse.ArgumentTypeError("expected SEQ:HASH as printed by `audit checkpoint`")
    return int(seq), digest.lower()


def _point(text: str | None) -> tuple[int | None, int | None]:
    """(seq, ts_us) for a --to argument: digits are a seq, anything else an ISO time."""
    if text is None:
        return None, None
    if text.isascii() and text.isdigit():
        return int(text), None
    try:
        moment = datetime.fromisoformat(text)  # "Z" included, since Python 3.11
    except ValueError:
        raise CliError(f"--to {text!r}: neither a seq nor an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return None, (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _print_book(engine: Engine, symbol: str, depth: int) -> None:
    decimals = engine.instruments[symbol].spec.price_decimals
    instrument = engine.instruments[symbol]
    book = engine.books[symbol]
    print(f"\n{symbol}  ({instrument.state.name})")
    asks = list(book.asks)[:depth]
    for ladder_name, levels in (("ASK", reversed(asks)), ("BID", list(book.bids)[:depth])):
        for level in levels:
            orders = " ".join(f"#{o.order_id}:{o.account}:{o.visible}"
                              + (f"/{o.leaves}" if o.leaves != o.visible else "")
                              for o in level.orders.values())
            print(f"  {ladder_name} {format_price(level.price, decimals):>12} "
                  f"{level.total:>6}  {orders}")
    if not asks and not book.bids.levels:
        print("  (empty)")


def _print_open_orders(engine: Engine, symbol: str | None) -> None:
    print("\nopen orders")
    for name in sorted(engine.accounts):
        orders: list[Order] = [o for o in engine.accounts[name].open_orders.values()  # type: ignore[misc]
                               if symbol in (None, o.symbol)]  # type: ignore[attr-defined]
        print(f"  {name}: {len(orders)}")
        for order in orders:
            decimals = engine.instruments[order.symbol].spec.price_decimals
            print(f"    #{order.order_id} {order.cl_ord_id} {order.symbol} {order.side.name} "
                  f"{order.leaves}/{order.qty} @ {format_price(order.price or 0, decimals)} "
                  f"{order.tif.name}")
