"""`exchange serve` on a ledger it must refuse: one line naming the seq, exit code 1, no
traceback (a real process, as an operator runs it)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest

from exchange.engine import codec
from exchange.ledger.schema import body_records
from tests.ledger.history import history, write
from tests.ledger.rowtable import entry_table


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "venue.db"
    write(path, history(300, seed=23), batch_size=20, snapshots_at=[3])
    return path


@pytest.fixture
def ledger(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "venue.db"
    for suffix in ("", ".key", ".head"):
        shutil.copy(f"{pristine}{suffix}", f"{copy}{suffix}")
    return copy


def serve(ledger: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", MAIN, "serve", "--port", "0", "--ledger", str(ledger)],
        capture_output=True, text=True, timeout=60, check=False)


MAIN = "import sys; from exchange.cli.main import main; sys.exit(main())"  # as the console script




def changed_event(conn: sqlite3.Connection) -> int:
    """Change the last record of the last row (after the snapshot); its seq."""
    seq, body = conn.execute("SELECT seq, body FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    records = body_records(body)
    event = codec.decode(records[-1])
    records[-1] = codec.encode(event._replace(ts_us=event.ts_us + 1))
    changed = msgpack.Packer().pack_array_header(len(records)) + b"".join(records)
    conn.execute("UPDATE events SET body = ? WHERE seq = ?", (changed, seq))
    return seq + len(records) - 1


def bad_signature(conn: sqlite3.Connection) -> int:
    first = conn.execute("SELECT first_seq FROM batches ORDER BY id DESC LIMIT 1").fetchone()[0]
    conn.execute("UPDATE batches SET signature = '00' WHERE id = (SELECT max(id) FROM batches)")
    return int(first)


def truncated(conn: sqlite3.Connection) -> int:
    first = conn.execute("SELECT first_seq FROM batches ORDER BY id DESC LIMIT 1").fetchone()[0]
    conn.execute("DELETE FROM batches WHERE first_seq >= ?", (first,))
    return int(first)


def changed_snapshot(conn: sqlite3.Connection) -> int:
    seq = conn.execute("SELECT max(seq) FROM snapshots").fetchone()[0]
    conn.execute("UPDATE snapshots SET body = x'00' WHERE seq = ?", (seq,))
    return int(seq)


@pytest.mark.parametrize("tamper, words", [
    (changed_event, "differs from the replayed"),
    (bad_signature, "is not signed by the venue key"),
    (truncated, "truncated"),
    (changed_snapshot, "engine state does not match its hash"),
])
def test_serve_refuses_a_bad_ledger_in_one_line_naming_the_seq(
        ledger: Path, tamper: object, words: str) -> None:
    with entry_table(ledger) as conn:
        seq = tamper(conn)  # type: ignore[operator]
    done = serve(ledger)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"exchange: ledger {ledger} refused: seq {seq}: ")
    assert words in lines[0]
