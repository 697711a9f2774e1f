"""`exchange shard`, `exchange ledger-writer` and `exchange cluster-demo`: the scale-out cluster's
processes (docs/cluster.md). They need the `cluster` extra (nats-py, asyncpg), imported only
when one of them runs, so the rest of the CLI works without it."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from exchange.cli.main import CliError
from exchange.cluster import options

GATEWAY = "serve the websocket protocol on the cluster (stateless: run any number)"
MERGER = "copy every shard's OUT into OUT_ALL, fenced (one per cluster)"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    engine = subparsers.add_parser("shard", help=options.SHARD, description=options.SHARD)
    options.add_shard_arguments(engine)
    engine.set_defaults(handler=_shard)
    writer = subparsers.add_parser("ledger-writer", help=options.WRITER,
                                   description=options.WRITER)
    options.add_writer_arguments(writer)
    writer.set_defaults(handler=_writer)
    gateway = subparsers.add_parser("cluster-gateway", help=GATEWAY, description=GATEWAY)
    gateway_arguments(gateway)
    gateway.set_defaults(handler=_gateway)
    merger = subparsers.add_parser("merger", help=MERGER, description=MERGER)
    merger.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    merger.set_defaults(handler=_merger)
    check = subparsers.add_parser(
        "ledger-verify", help="verify a PostgreSQL ledger of the cluster, shard by shard",
        description="Check each shard's chain from its first row: links, hashes, signatures, "
                    "rows without gaps, and a replay of every command through a fresh engine "
                    "giving every body byte for byte and every digest. Exit 1 on a fault.")
    check.add_argument("dsn", help="PostgreSQL DSN of the ledger")
    check.add_argument("--shard", action="append", help="only these shards (default: all)")
    check.add_argument("--pubkey", type=Path,
                       help="the venue's public key (hex or PEM), given separately; without "
                            "it, the key the ledger itself names")
    check.set_defaults(handler=_verify)
    exporter = subparsers.add_parser(
        "ledger-export", help="copy the cluster's PostgreSQL ledger into one file",
        description="Copy the ledger's tables (one consistent snapshot) into a new SQLite "
                    "file that `exchange audit verify FILE` checks offline.")
    exporter.add_argument("dsn", help="PostgreSQL DSN of the ledger")
    exporter.add_argument("file", type=Path, help="the file to write (must not exist)")
    exporter.set_defaults(handler=_export)
    demo = subparsers.add_parser(
        "cluster-demo", help="a local two-shard cluster trading the demo flow",
        description="Start nats-server, PostgreSQL, two engine shards and their ledger writers "
                    "on 127.0.0.1, trade the demo order flow, verify the ledger, stop.")
    demo.add_argument("--dir", type=Path, help="data and logs (default: a new temporary dir)")
    demo.add_argument("--shards", default="A,B", help="shard names, comma-separated")
    demo.add_argument("--orders", type=int, default=2_000)
    demo.add_argument("--keep", action="store_true", help="keep running until Ctrl-C")
    demo.add_argument("--gateway-port", type=int, default=8765,
                      help="the cluster gateway's port (0: any free one)")
    demo.set_defaults(handler=_demo)


def gateway_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0: any free port")
    parser.add_argument("--ready-file", help="written with the gateway's URL once it listens")
    parser.add_argument("--order-rate", type=float, default=200.0,
                        help="order operations per second per account (burst: twice that)")


def _gateway(args: argparse.Namespace) -> int:
    from exchange.cluster import gateway

    return asyncio.run(gateway.serve(args))


def _merger(args: argparse.Namespace) -> int:
    from exchange.cluster import merger

    return asyncio.run(merger.serve(args.nats))


def _shard(args: argparse.Namespace) -> int:
    from exchange.cluster import shard

    return asyncio.run(shard.serve(options.shard_config(args)))


def _writer(args: argparse.Namespace) -> int:
    from exchange.cluster import pg_ledger

    return pg_ledger.run(options.writer_config(args))


def _verify(args: argparse.Namespace) -> int:
    from exchange.cluster.pg_ledger import verify_ledger

    return asyncio.run(verify_ledger(args.dsn, args.shard, args.pubkey))


def _export(args: argparse.Namespace) -> int:
    from exchange.cluster.pg_audit import export

    try:
        counts = asyncio.run(export(args.dsn, args.file))
    except FileExistsError as exc:
        raise CliError(str(exc)) from None
    print(f"exported to {args.file}: " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    return 0


def cluster_ledger_verify(target: str, pubkey: str | None) -> int | None:
    """`exchange audit verify` of the cluster's ledger: a PostgreSQL DSN, or a file exported
    from one; None for anything else (the SQLite ledger's own verify takes it)."""
    key = Path(pubkey) if pubkey is not None else None
    if target.startswith(("postgresql://", "postgres://")):
        from exchange.cluster.pg_ledger import verify_ledger

        return asyncio.run(verify_ledger(target, None, key))
    from exchange.cluster.pg_audit import is_export, verify_file

    if not is_export(Path(target)):
        return None
    return asyncio.run(verify_file(Path(target), key))


def _demo(args: argparse.Namespace) -> int:
    from exchange.cluster.local import run_demo

    directory = args.dir or Path(tempfile.mkdtemp(prefix="exchange-cluster-"))
    return run_demo(directory, args.shards.split(","), args.orders, args.keep,
                    args.gateway_port)
