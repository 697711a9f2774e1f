"""`exchange audit …` as an auditor runs it: real processes on real files, one-line errors."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from exchange.ledger import Ledger, LedgerError
from tests.ledger.history import history, write
from tests.ledger.rowtable import entry_table


def audit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", MAIN, "audit", *map(str, args)],
                          capture_output=True, text=True, timeout=120, check=False)


MAIN = "import sys; from exchange.cli.main import main; sys.exit(main())"  # as the console script


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "venue.db"
    write(path, history(500, seed=31), batch_size=25)
    return path


def test_verify_prints_a_summary_and_exits_zero(ledger: Path) -> None:
    done = audit("verify", ledger)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"OK {ledger}: 21 batches") and "508 commands" in done.stdout


def test_verify_of_a_tampered_file_names_the_seq_in_one_line(ledger: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(ledger, copy)
    with entry_table(copy) as conn:
        gone, after = conn.execute(
            "SELECT seq, (SELECT min(seq) FROM events b WHERE b.seq > a.seq) "
            "FROM events a WHERE seq >= 777 ORDER BY seq LIMIT 1").fetchone()
        conn.execute(f"DELETE FROM events WHERE seq = {gone}")
    done = audit("verify", copy, "--quiet")
    assert done.returncode == 1
    assert done.stderr.strip() == (f"exchange: verify FAILED: seq {gone}: missing (the next row "
                                   f"is seq {after})")


@pytest.mark.parametrize("content, message", [
    (b"", "empty file, not a ledger"),
    (b"this is not a database at all" * 10, "not a SQLite database"),
])
def test_bad_files_get_one_clear_line(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(content)
    for tool in ("verify", "checkpoint", "export", "replay", "rebuild"):
        done = audit(tool, bad)
        assert done.returncode == 1 and message in done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_sqlite_file_of_another_schema_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    done = audit("verify", other)
    assert done.returncode == 1 and "not a ledger" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("version, message", [
    ("1", "schema version 1 (one row per event, unsigned), this program reads 4"),
    ("2", "schema version 2 (unsigned batches), this program reads 4 and does not migrate"),
    ("3", "schema version 3 (one row per command), this program reads 4 and does not migrate"),
    ("5", "schema version 5, this program reads 4"),
])
def test_another_schema_version_is_refused_by_the_cli_and_the_writer(
        ledger: Path, tmp_path: Path, version: str, message: str) -> None:
    copy = tmp_path / f"v{version}.db"
    shutil.copy(ledger, copy)
    conn = sqlite3.connect(copy)
    conn.execute(f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'")
    conn.commit()
    done = audit("verify", copy)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(LedgerError, match=f"schema version {version}"):
        asyncio.run(Ledger.open(copy))
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(LedgerError, match="empty file"):
        asyncio.run(Ledger.open(empty))


def test_a_missing_file_is_not_created_by_the_auditor(tmp_path: Path) -> None:
    done = audit("verify", tmp_path / "absent.db")
    assert done.returncode == 1 and "no such file" in done.stderr
    assert not (tmp_path / "absent.db").exists()


def test_checkpoint_prints_the_head_and_verify_accepts_it(ledger: Path) -> None:
    done = audit("checkpoint", ledger)
    assert done.returncode == 0
    words = done.stdout.split()
    seq, digest = words[1], words[5]
    assert audit("verify", ledger, "--checkpoint", f"{seq}:{digest}").returncode == 0
    wrong = f"{seq}:{'0' * 64}"
    done = audit("verify", ledger, "--checkpoint", wrong)
    assert done.returncode == 1 and f"seq {seq}" in done.stderr


def test_export_trades_as_csv_with_decimal_prices(ledger: Path) -> None:
    done = audit("export", ledger, "--what", "trades", "--format", "csv")
    assert done.returncode == 0
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows and all("." in row["price"] and row["qty"].isdigit() for row in rows)
    assert all(row["buyer_firm"] and row["seller_firm"] for row in rows)
    db = sqlite3.connect(ledger)
    assert len(rows) == db.execute("SELECT count(*) FROM trades").fetchone()[0]


def test_export_events_as_jsonl_within_a_seq_range(ledger: Path) -> None:
    done = audit("export", ledger, "--what", "events", "--format", "jsonl", "--from", "100",
                 "--to", "199")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["seq"] for line in lines] == list(range(100, 200))
    accepted = next(line for line in lines if line["type"] == "OrderAccepted")
    assert isinstance(accepted["fields"]["price"], str) and accepted["fields"]["side"] in (
        "BUY", "SELL")


def test_replay_prints_books_and_open_orders_at_a_seq(ledger: Path) -> None:
    done = audit("replay", ledger, "--to", "600", "--symbol", "WHEAT-M2-CTA-2703")
    assert done.returncode == 0, done.stderr
    assert "state after seq" in done.stdout and "WHEAT-M2-CTA-2703" in done.stdout
    assert "open orders" in done.stdout and "PIPE-114X6" not in done.stdout
    at_time = audit("replay", ledger, "--to", "1970-01-01T00:00:01.200000Z")
    assert at_time.returncode == 0 and "time 1970-01-01T00:00:01.1" in at_time.stdout
    assert audit("replay", ledger, "--to", "yesterday").returncode == 1


def test_rebuild_regenerates_the_projections(ledger: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(ledger, copy)
    conn = sqlite3.connect(copy)
    conn.execute("DELETE FROM trades")
    conn.commit()
    done = audit("rebuild", copy)
    assert done.returncode == 0 and "trades:" in done.stdout
    assert conn.execute("SELECT count(*) FROM trades").fetchone()[0] > 0
    assert audit("verify", copy).returncode == 0


def test_verify_with_the_venues_public_key_says_so_and_without_it_says_whose_key_it_used(
        ledger: Path, tmp_path: Path) -> None:
    public = Path(f"{ledger}.key.pub")
    done = audit("verify", ledger, "--pubkey", public, "--quiet")
    assert done.returncode == 0, done.stderr
    assert f"signed by the given key {public.read_text().strip()}" in done.stdout
    assert "projections accounts, trades, orders equal a rebuild" in done.stdout
    done = audit("verify", ledger, "--quiet")
    assert "checked against the ledger's own key" in done.stdout
    other = tmp_path / "other.pub"
    other.write_text("ab" * 32 + "\n")  # a valid point, but not the venue's key
    done = audit("verify", ledger, "--pubkey", other, "--quiet")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("exchange: verify FAILED: seq 1: batch 1 is not signed")
    other.write_text("not a key")
    done = audit("verify", ledger, "--pubkey", other, "--quiet")
    assert done.returncode == 1 and "not an Ed25519 public key" in done.stderr
