"""The command-line options of the cluster's processes, and the configs they make.

Light on purpose (argparse and names.py only): the `exchange` CLI registers these without
importing nats-py or asyncpg, which only the processes themselves need.
"""

from __future__ import annotations

import argparse

from exchange.cluster.names import ShardConfig, WriterConfig

SHARD = "run one engine shard between IN_<shard> and OUT_<shard>"
WRITER = "copy a shard's OUT into the PostgreSQL ledger"


def add_shard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    parser.add_argument("--shard", required=True, help="shard name (IN_<shard>, OUT_<shard>)")
    parser.add_argument("--snapshot-every", type=int, default=10_000, metavar="N")
    parser.add_argument("--window", type=int, default=256, help="outputs in flight")
    parser.add_argument("--ready-file", help="written once caught up with IN")


def shard_config(args: argparse.Namespace) -> ShardConfig:
    return ShardConfig(args.nats, args.shard, args.snapshot_every, args.window,
                       ready_file=args.ready_file)


def add_writer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    parser.add_argument("--dsn", required=True, help="PostgreSQL DSN")
    parser.add_argument("--shard", required=True)
    parser.add_argument("--signing-key", required=True, help="the venue's Ed25519 key (PEM)")
    parser.add_argument("--batch", type=int, default=512, help="outputs per transaction")
    parser.add_argument("--ready-file", help="written once connected")


def writer_config(args: argparse.Namespace) -> WriterConfig:
    return WriterConfig(args.nats, args.dsn, args.shard, args.signing_key, args.batch,
                        ready_file=args.ready_file)
