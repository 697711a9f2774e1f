"""`exchange shard`, `exchange ledger-writer` and `exchange cluster-demo`: the scale-out cluster's
processes (docs/cluster.md). They need the `cluster` extra (nats-py, asyncpg), imported only
when one of them runs, so the rest of the CLI works without it."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from exchange.cluster import options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    engine = subparsers.add_parser("shard", help=options.SHARD, description=options.SHARD)
    options.add_shard_arguments(engine)
    engine.set_defaults(handler=_shard)
    writer = subparsers.add_parser("ledger-writer", help=options.WRITER,
                                   description=options.WRITER)
    options.add_writer_arguments(writer)
    writer.set_defaults(handler=_writer)
    demo = subparsers.add_parser(
        "cluster-demo", help="a local two-shard cluster trading the demo flow",
        description="Start nats-server, PostgreSQL, two engine shards and their ledger writers "
                    "on 127.0.0.1, trade the demo order flow, verify the ledger, stop.")
    demo.add_argument("--dir", type=Path, help="data and logs (default: a new temporary dir)")
    demo.add_argument("--shards", default="A,B", help="shard names, comma-separated")
    demo.add_argument("--orders", type=int, default=2_000)
    demo.add_argument("--keep", action="store_true", help="keep running until Ctrl-C")
    demo.set_defaults(handler=_demo)


def _shard(args: argparse.Namespace) -> int:
    from exchange.cluster import shard

    return asyncio.run(shard.serve(options.shard_config(args)))


def _writer(args: argparse.Namespace) -> int:
    from exchange.cluster import pg_ledger

    return pg_ledger.run(options.writer_config(args))


def _demo(args: argparse.Namespace) -> int:
    from exchange.cluster.local import run_demo

    directory = args.dir or Path(tempfile.mkdtemp(prefix="exchange-cluster-"))
    return run_demo(directory, args.shards.split(","), args.orders, args.keep)
