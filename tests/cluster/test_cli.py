"""The cluster's subcommands: `exchange cluster-demo` runs a two-shard venue end to end, and
the CLI registers them without importing nats-py or asyncpg."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exchange.cluster.local import caught_up
from exchange.cluster.servers import NatsServer
from exchange.cluster.shard import connect
from exchange.cluster.topology import ensure_shard


def test_cluster_demo_trades_on_two_shards_and_its_ledger_verifies(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "exchange.cli.main", "cluster-demo", "--dir",
                           str(tmp_path / "demo"), "--orders", "300"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("300 orders through 2 shards" in line for line in lines)
    assert [line.split(":")[0] for line in lines if line.endswith("ledger verifies")] == [
        "shard A", "shard B"]


def test_the_cli_knows_the_cluster_commands_without_importing_their_clients() -> None:
    code = ("import sys; from exchange.cli.main import build_parser; p = build_parser(); "
            "p.parse_args(['shard', '--shard', 'A']); "
            "p.parse_args(['ledger-writer', '--shard', 'A', '--dsn', 'x', '--signing-key', 'k']); "
            "p.parse_args(['ledger-verify', 'postgresql://x', '--shard', 'A']); "
            "print(sorted({'nats', 'asyncpg'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


async def test_waiting_for_the_ledger_before_its_writer_made_the_tables_waits(
        nats_server: NatsServer, pg_dsn: str) -> None:
    """Regression: the demo failed (UnboundLocalError) when it looked before the writers had started."""
    nc = await connect(nats_server.url)
    await ensure_shard(nc.jetstream(), "A")
    with pytest.raises(TimeoutError, match="not caught up"):
        await caught_up(nc, ["A"], pg_dsn, timeout=0.3)
    await nc.close()
