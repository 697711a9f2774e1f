"""`exchange audit verify` on the cluster's PostgreSQL ledger (a DSN) and on a file exported from
it (`exchange ledger-export`): the chain, the signatures, a replay of every event and the trades;
a changed row or a missing trade in the file is named."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from exchange.cluster.servers import NatsServer
from exchange.ledger.signing import VenueKey
from tests.cluster.test_pg_ledger import run_writer, venue_with_outputs, written


def exchange(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exchange", *args], check=False,
                          capture_output=True,
                          text=True, timeout=120)


async def test_audit_verify_checks_a_dsn_and_its_export_and_names_what_was_changed(
        nats_server: NatsServer, pg_dsn: str, signing_key: tuple[Path, VenueKey],
        tmp_path: Path) -> None:
    await venue_with_outputs(nats_server.url, 120)
    writer, task = await run_writer(nats_server.url, pg_dsn, signing_key[0])
    await written(pg_dsn, 120)
    writer.stopping.set()
    await task
    pub = str(signing_key[0].with_name(signing_key[0].name + ".pub"))
    checked = exchange("audit", "verify", pg_dsn, "--pubkey", pub)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("shard A: ") and " outputs verify" in checked.stdout
    export = tmp_path / "ledger.export"
    done = exchange("ledger-export", pg_dsn, str(export))
    assert done.returncode == 0, done.stderr
    assert "trades" in done.stdout
    again = exchange("audit", "verify", str(export), "--pubkey", pub)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == checked.stdout.splitlines()[0]
    assert exchange("ledger-export", pg_dsn, str(export)).returncode == 1  # never overwritten

    db = sqlite3.connect(export)
    db.execute("DELETE FROM trades WHERE rowid = (SELECT max(rowid) FROM trades)")
    db.commit()
    missing = exchange("audit", "verify", str(export), "--pubkey", pub)
    assert missing.returncode == 1 and "FAIL: the trades table differs" in missing.stdout
    db.execute("UPDATE events SET origin = 'x' WHERE out_seq = 30")
    db.commit()
    db.close()
    changed = exchange("audit", "verify", str(export))
    assert changed.returncode == 1 and "rows do not match its hash" in changed.stdout
