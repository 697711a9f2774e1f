"""Crash safety: a writer killed with SIGKILL at random moments loses nothing it acknowledged.

Each round starts a child writer on the same ledger file (it recovers, then appends batches and
prints each acknowledged seq), kills it after a random delay, and checks on reopen that every
acknowledged seq is there, the chain verifies, and recovery reaches the last batch's digest.
ROUNDS rounds run by default (EXCHANGE_KILL_ROUNDS overrides), split over two ledger files
killed side by side (two cores); a full replay verify of each ends it.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from exchange.ledger import audit, recover_file

ROUNDS = int(os.environ.get("EXCHANGE_KILL_ROUNDS", "50"))
ROOT = Path(__file__).resolve().parents[2]


def run_and_kill(path: Path, seed: int, delay: float) -> int:
    """Start a writer, kill it `delay` s after it is ready; the last seq it acknowledged."""
    child = subprocess.Popen([sys.executable, "-m", "tests.ledger.kill_child", str(path),
                              str(seed)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    ready = child.stdout.readline()
    assert ready.startswith("ready"), child.stderr.read() if child.stderr else ready
    try:
        child.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    lines = child.stdout.read().split("\n")
    complete = [int(line) for line in lines[:-1]]  # a last line without "\n" was not acked
    return max(complete, default=int(ready.split()[1]))


def test_every_acknowledged_seq_survives_sigkill(tmp_path: Path) -> None:
    lanes = 2
    with ThreadPoolExecutor(lanes) as pool:
        results = list(pool.map(kill_rounds, [tmp_path / f"venue-{lane}.db" for lane in
                                              range(lanes)], range(lanes),
                                [ROUNDS // lanes + (lane < ROUNDS % lanes) for lane in
                                 range(lanes)]))
    assert sum(rounds for rounds, _ in results) == ROUNDS
    assert all(acked > 1_000 for _, acked in results)


def kill_rounds(path: Path, lane: int, rounds: int) -> tuple[int, int]:
    rng = random.Random(2024 + lane)
    acked = 0
    for round_no in range(rounds):
        acked = max(acked, run_and_kill(path, seed=lane * 1000 + round_no,
                                        delay=rng.uniform(0.0, 0.2)))
        conn = sqlite3.connect(path)
        ends_there, last = conn.execute(
            "SELECT (SELECT count(*) FROM batches WHERE last_seq = ?), "
            "(SELECT max(last_seq) FROM batches)", (acked,)).fetchone()
        conn.close()
        # a batch ends at every acked seq, and the rows tile the chain: every seq up to it is there
        assert ends_there == 1 or acked <= 0, f"round {round_no}: no batch ends at acked {acked}"
        assert last >= acked
        audit.verify(path, replay=False)
    summary = audit.verify(path)
    assert summary.last_seq >= acked
    assert recover_file(path).digest() == sqlite3.connect(path).execute(
        "SELECT digest FROM batches ORDER BY id DESC LIMIT 1").fetchone()[0]
    return rounds, acked
